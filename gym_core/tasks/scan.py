"""Reading the ids and versions of the task folders along a path, without loading any spec.

Cheap enough for every ``import gym_core`` (see :mod:`gym_core.registration`): no pydantic, no validation;
loading and checking a task is :mod:`gym_core.tasks.loader`'s job.
"""

from __future__ import annotations

import re
from pathlib import Path

SPEC_FILE = "task.yaml"

_ID_LINE = re.compile(r"""^id:[ \t]*(["']?)([a-z0-9]+(?:-[a-z0-9]+)*)\1[ \t]*(?:#.*)?$""", re.MULTILINE)
_VERSION_LINE = re.compile(r"^version:[ \t]*([0-9]+)[ \t]*(?:#.*)?$", re.MULTILINE)


def _id_and_version(spec_path: Path) -> tuple[str, int] | None:
    """A task.yaml's top-level ``id`` and ``version``, read without validating the rest (None if unreadable)."""
    try:
        text = spec_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    id_match, version_match = _ID_LINE.search(text), _VERSION_LINE.search(text)
    if id_match and version_match:
        return id_match.group(2), int(version_match.group(1))
    import yaml  # an unusual layout (flow style, anchors): parse it, still without validating

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), str) and type(data.get("version")) is int:
        return data["id"], data["version"]
    return None


def scan_task_ids(search_path: list[Path] | None = None) -> dict[tuple[str, int], Path]:
    """``(id, version) -> folder`` of every task folder along the path, without loading the specs.

    Cheap enough for every ``import gym_core``; the first folder that holds an id wins, as in
    :func:`discover`. Folders whose id or version cannot be read are left to ``rgym tasks validate``.
    """
    if search_path is None:
        from gym_core.settings import get_settings

        search_path = get_settings().task_search_path()
    paths = search_path
    found: dict[tuple[str, int], Path] = {}
    seen: set[str] = set()
    for base in paths:
        if not base.is_dir():
            continue
        for folder in sorted(p for p in base.iterdir() if (p / SPEC_FILE).is_file()):
            key = _id_and_version(folder / SPEC_FILE)
            if key is None or key[0] in seen:
                continue
            seen.add(key[0])
            found[key] = folder
    return found
