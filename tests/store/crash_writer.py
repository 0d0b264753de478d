"""Child process of the kill -9 test: writes steps of one episode forever, printing each committed index.

Usage: python -m tests.store.crash_writer STORE_URL

It owns its run too, the way the process running ``rgym run`` does.
"""

from __future__ import annotations

import sys

from gym_core.store import open_store
from tests.store.factory import new_run, step_kwargs


def main() -> None:
    """Start a run and an episode, print their ids, then print each step index once it is committed."""
    store = open_store(sys.argv[1])
    run_id = new_run(store)
    episode_id = store.start_episode(run_id, index=0, seed=0)
    print(f"episode {run_id} {episode_id}", flush=True)
    index = 0
    while True:
        store.record_step(episode_id, **step_kwargs(index))
        print(f"step {index}", flush=True)
        index += 1


if __name__ == "__main__":
    main()
