"""Dependencies shared by the routes: the one trace store the app was created with, and its report cache."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gym_core.server.report_cache import ReportCache
from gym_core.store import TraceStore


def get_store(request: Request) -> TraceStore:
    """The trace store opened by :func:`gym_core.server.app.create_app`."""
    store: TraceStore = request.app.state.store
    return store


StoreDep = Annotated[TraceStore, Depends(get_store)]


def get_report_cache(request: Request) -> ReportCache:
    """The report cache of :func:`gym_core.server.app.create_app`."""
    cache: ReportCache = request.app.state.reports
    return cache


ReportCacheDep = Annotated[ReportCache, Depends(get_report_cache)]
