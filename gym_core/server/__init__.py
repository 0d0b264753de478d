"""``rgym serve``: a read-only HTTP API over the trace store and a web trace viewer for evaluators.

Build the app with :func:`create_app`; the CLI runs it under uvicorn.
"""

from __future__ import annotations

from gym_core.server.app import create_app

__all__ = ["create_app"]
