"""The report of a run, computed once per state of the run and served from memory after.

A report restores and diffs the final snapshot of every successful attempt (``method_consistency``), which
takes seconds for a large run; the viewer asks for it on every visit. :class:`ReportCache` keeps the
rendered text per run and format, keyed by the run's *fingerprint*: its status and, per episode, its status,
step and evaluation counts and last write. Any new step, evaluation, attempt or status change gives a new
fingerprint, so a stale report is never served; reading the fingerprint costs two small queries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

# The server renders HTML reports: load their plotting (matplotlib) when the app starts, not in the
# first request (the command line loads it only for `rgym report --format html`).
import gym_core.report.html  # noqa: F401
from gym_core.report import render_report
from gym_core.report.store_loader import load_run_data
from gym_core.store import TraceStore

#: Reports kept (run and format pairs); the least recently used goes first.
MAX_ENTRIES = 64


def run_fingerprint(store: TraceStore, run_id: str) -> tuple[Any, ...]:
    """What changes whenever anything the report of ``run_id`` reads changes."""
    run = store.get_run(run_id)
    episodes = tuple(
        (e.id, e.status, e.updated_at, e.n_steps, e.n_evals, e.final_raw, e.best_raw)
        for e in store.list_episodes(run_id)
    )
    return (run.status, run.finished_at, run.k, run.task_checksum, episodes)


class ReportCache:
    """Rendered reports by (run id, format), each valid for one fingerprint of its run. Thread-safe."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], tuple[tuple[Any, ...], str]] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[tuple[str, str], threading.Lock] = {}
        self.computed = 0
        """How many reports were computed (not served from the cache)."""

    def render(self, store: TraceStore, run_id: str, fmt: str) -> str:
        """The report of ``run_id`` (any unique prefix) in ``fmt``, as ``rgym report --format fmt`` renders it.

        Raises:
            NotFoundError: no such run.
        """
        full_id = store.resolve_run_id(run_id)
        key = (full_id, fmt)
        with self._lock:
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:  # one computation per report at a time; the others wait for it and reuse it
            fingerprint = run_fingerprint(store, full_id)
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None and hit[0] == fingerprint:
                    self._entries.move_to_end(key)
                    return hit[1]
            # Kept under the fingerprint read before loading: a change while it loads makes the next
            # request compute it again.
            text = render_report([load_run_data(store, full_id)], fmt)
            with self._lock:
                self.computed += 1
                self._entries[key] = (fingerprint, text)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return text
