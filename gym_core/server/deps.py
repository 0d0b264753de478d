"""Dependencies shared by the routes: the one trace store the app was created with, its report cache, and the
``since`` filter of the lists."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request

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


def get_since(
    since: Annotated[
        datetime | None,
        Query(description="Only those started at or after this time (ISO 8601; UTC when it names no zone)."),
    ] = None,
) -> datetime | None:
    """The ``since`` query parameter, timezone-aware (the store compares aware times)."""
    return since if since is None or since.tzinfo is not None else since.replace(tzinfo=UTC)


SinceDep = Annotated[datetime | None, Depends(get_since)]
