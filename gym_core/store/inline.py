"""What a step keeps inline, and what goes to artifacts: long texts of observations and of actions.

A step row holds every text cut to about :data:`INLINE_TEXT_CAP` bytes (head, a marker, tail); the full text
is an artifact named in the step's ``overflow``, under the observation field's name (``output``) or, for the
action, under ``action.<field>`` (a field of a dict action, e.g. ``action.content`` of a ``write_file``),
``action`` (an action given as a string) or ``action.json`` (a dict action still too long once its fields are
cut, stored as its cut JSON text). :func:`full_action` puts an action back together.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from gym_core.store import artifacts

#: Text fields of an observation or an action longer than this are cut inline; the full text is kept as an
#: artifact (for actions: within the episode's artifact quota).
INLINE_TEXT_CAP: Final = 16 * 1024
#: A dict action whose JSON is still longer than this once its fields are cut is stored as cut JSON text.
ACTION_JSON_CAP: Final = 4 * INLINE_TEXT_CAP

ACTION_KEY: Final = "action"
ACTION_JSON_KEY: Final = "action.json"
ACTION_FIELD_PREFIX: Final = "action."


@dataclass(frozen=True)
class Cut:
    """One text cut for the step row, with the full text that goes to an artifact."""

    short: str
    full: bytes
    digest: str


def cut_text(value: str, cap: int = INLINE_TEXT_CAP) -> Cut | None:
    """The cut of ``value`` when it is longer than ``cap`` bytes, else None."""
    if len(value) <= cap // 4:  # cheap pre-check: a UTF-8 character is at most 4 bytes
        return None
    short = artifacts.cap_text(value, cap)
    if short is None:
        return None
    full = value.encode("utf-8", errors="surrogateescape")
    return Cut(short, full, artifacts.sha256_hex(full))


def not_kept(cut: Cut, why: str, cap: int = INLINE_TEXT_CAP) -> str:
    """The inline text of a cut whose full text was not stored (the marker says why)."""
    text = cut.full.decode("utf-8", errors="surrogateescape")
    return (
        artifacts.cap_text(text, cap, kept=f"the full text ({len(cut.full)} bytes) was not kept: {why}")
        or text
    )


def cut_observation(observation: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Cut]]:
    """The observation with long text fields cut, and the cuts by field name."""
    obs = dict(observation)
    cuts: dict[str, Cut] = {}
    for key, value in obs.items():
        if isinstance(value, str) and (cut := cut_text(value)) is not None:
            cuts[key] = cut
            obs[key] = cut.short
    return obs, cuts


def cut_action(action: Any) -> tuple[Any, dict[str, Cut]]:
    """The action as stored (long texts cut, JSON-safe), and the cuts by overflow key."""
    if isinstance(action, str):
        cut = cut_text(action)
        return (action, {}) if cut is None else (cut.short, {ACTION_KEY: cut})
    if not isinstance(action, Mapping):
        action = repr(action)
        return cut_action(action)
    stored: dict[str, Any] = {}
    cuts: dict[str, Cut] = {}
    for key, value in action.items():
        if isinstance(value, str) and (cut := cut_text(value)) is not None:
            cuts[f"{ACTION_FIELD_PREFIX}{key}"] = cut
            stored[str(key)] = cut.short
        else:
            stored[str(key)] = value
    text = json.dumps(stored, default=repr, ensure_ascii=False)
    if len(text) > ACTION_JSON_CAP:
        whole = json.dumps(dict(action), default=repr, ensure_ascii=False)
        cut = cut_text(whole, ACTION_JSON_CAP)
        if cut is not None:
            return cut.short, {ACTION_JSON_KEY: cut}
    # Values the JSON column cannot hold (bytes, objects of a hostile agent) are stored as their repr.
    safe: Any = json.loads(text)
    return safe, cuts


def is_action_key(key: str) -> bool:
    """True for the overflow keys of actions (as opposed to observation fields)."""
    return key == ACTION_KEY or key.startswith(ACTION_FIELD_PREFIX)


def full_action(
    stored: Any, overflow: Mapping[str, str], not_kept_keys: list[str], fetch: Callable[[str], bytes]
) -> tuple[Any, list[str]]:
    """The action as the agent gave it, from the stored one and its artifacts.

    Returns:
        (the action, the overflow keys whose full text was not kept: the action is incomplete when any).
    """
    missing = [key for key in not_kept_keys if is_action_key(key)]

    def text(key: str) -> str:
        return fetch(overflow[key]).decode("utf-8", errors="surrogateescape")

    if ACTION_KEY in overflow:
        return text(ACTION_KEY), missing
    if ACTION_JSON_KEY in overflow:
        return json.loads(text(ACTION_JSON_KEY)), missing
    if not isinstance(stored, dict):
        return stored, missing
    action = dict(stored)
    for key in overflow:
        if key.startswith(ACTION_FIELD_PREFIX):
            action[key[len(ACTION_FIELD_PREFIX) :]] = text(key)
    return action, missing
