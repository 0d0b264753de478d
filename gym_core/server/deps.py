"""Dependencies shared by the routes: the one trace store the app was created with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gym_core.store import TraceStore


def get_store(request: Request) -> TraceStore:
    """The trace store opened by :func:`gym_core.server.app.create_app`."""
    store: TraceStore = request.app.state.store
    return store


StoreDep = Annotated[TraceStore, Depends(get_store)]
