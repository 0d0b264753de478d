"""What a step keeps inline: long action texts are cut like outputs, and put back together whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gym_core.store import INLINE_TEXT_CAP, TraceStore, open_store
from gym_core.store.inline import ACTION_JSON_CAP, cut_action
from gym_core.store.quota import ArtifactQuota

BIG = "y" * (3 * INLINE_TEXT_CAP)


@pytest.fixture
def store(tmp_path: Path) -> TraceStore:
    return open_store(f"sqlite:///{tmp_path / 'traces.db'}")


def _episode(store: TraceStore) -> str:
    run = store.create_run(
        task_id="t",
        task_version=1,
        task_checksum="c",
        agent="a",
        config={},
        backend="local",
        budget={},
        perturbations={},
        k=1,
        seed=None,
    )
    return store.start_episode(run, index=0, seed=0)


def _record(store: TraceStore, episode: str, index: int, action: Any, quota: ArtifactQuota | None) -> None:
    store.record_step(
        episode,
        index=index,
        action=action,
        observation={"output": "ok"},
        exit_code=0,
        started_at=datetime.now(UTC),
        duration_s=0.0,
        agent_time_s=None,
        flags={},
        usage={},
        quota=quota,
    )


@pytest.mark.parametrize(
    "action",
    [
        {"tool": "write_file", "path": "a.txt", "content": BIG},
        "not json " + BIG,
        {"tool": "x", "many": ["z" * 1000] * 200},  # no long field, but long JSON
        {"tool": "bash", "command": "ls"},
    ],
)
def test_actions_come_back_whole(store: TraceStore, action: Any) -> None:
    episode = _episode(store)
    _record(store, episode, 0, action, ArtifactQuota(100 * INLINE_TEXT_CAP))
    stored = store.get_step(episode, 0)
    assert len(json.dumps(stored.action)) <= ACTION_JSON_CAP + 1024
    assert store.get_step_action(episode, 0) == (action, [])


def test_values_a_json_column_cannot_hold_are_stored_as_text(store: TraceStore) -> None:
    episode = _episode(store)
    _record(store, episode, 0, {"tool": "write_file", "path": b"bytes", "content": {1, 2}}, None)
    assert store.get_step(episode, 0).action == {
        "tool": "write_file",
        "path": "b'bytes'",
        "content": "{1, 2}",
    }


def test_past_the_quota_the_step_says_what_it_did_not_keep(store: TraceStore) -> None:
    episode = _episode(store)
    quota = ArtifactQuota(len(BIG) + 10)
    action = {"tool": "write_file", "path": "a.txt", "content": BIG}
    _record(store, episode, 0, action, quota)
    _record(store, episode, 1, action | {"content": BIG + "2"}, quota)
    first, second = store.list_steps(episode)
    assert "action.content" in first.overflow and "artifact_quota_spent" not in first.flags
    assert "action.content" not in second.overflow
    assert second.flags["artifact_quota_spent"] == ["action.content"]
    assert "was not kept: the episode's artifact quota" in second.action["content"]
    assert store.get_step_action(episode, 1) == (second.action, ["action.content"])
    assert quota.used_bytes == len(BIG)


def test_short_actions_are_kept_as_they_are() -> None:
    assert cut_action({"tool": "bash", "command": "ls"}) == ({"tool": "bash", "command": "ls"}, {})
    assert cut_action("short text") == ("short text", {})
