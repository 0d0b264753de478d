"""Running one ``docker build`` with its output streamed to a progress callback and a log file."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException

from gym_core.errors import ImageError
from gym_core.settings import get_settings

#: Receives one line of build output (or a phase description) at a time.
ProgressFn = Callable[[str], None]


def no_progress(line: str) -> None:
    """A progress callback that drops every line."""


@dataclass(frozen=True)
class ImageResult:
    """The outcome of making sure an image exists."""

    tag: str
    image_id: str
    built: bool
    """False when the image was already up to date and nothing was built."""


def build_log_path(tag: str) -> Path:
    """Where the full output of building ``tag`` is kept (the newest build only)."""
    safe = tag.replace("/", "_").replace(":", "_")
    return get_settings().data_dir / "logs" / f"image-{safe}.log"


def stream_build(
    client: docker.DockerClient,
    *,
    tag: str,
    progress: ProgressFn,
    **build_args: Any,
) -> str:
    """``docker build`` through the low-level API, returning the image id.

    Args:
        client: the engine.
        tag: the tag the image gets.
        progress: receives every output line.
        build_args: passed to ``APIClient.build`` (path, dockerfile, buildargs, labels, network_mode...).

    Raises:
        ImageError: the build failed; the message quotes its last error line, the hint names the log.
    """
    log_path = build_log_path(tag)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    recent: deque[str] = deque(maxlen=40)
    image_id: str | None = None
    error: str | None = None
    with log_path.open("w", encoding="utf-8") as log:
        try:
            for chunk in client.api.build(tag=tag, rm=True, forcerm=True, decode=True, **build_args):
                if "stream" in chunk:
                    for line in str(chunk["stream"]).splitlines():
                        if line.strip():
                            log.write(line + "\n")
                            recent.append(line)
                            progress(line)
                if "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                    image_id = str(chunk["aux"]["ID"])
                if "error" in chunk:
                    error = str(chunk["error"]).strip()
                    log.write(error + "\n")
        except (APIError, DockerException) as exc:
            error = str(exc).splitlines()[0]
    if error is not None or image_id is None:
        raise ImageError(
            f"building {tag} failed: {_explain(error, recent)}",
            hint=f"full build log: {log_path}",
        )
    return image_id


def _explain(error: str | None, recent: deque[str]) -> str:
    """The most telling line: pip's or the user's own ERROR line beats Docker's 'returned a non-zero code'."""
    for line in reversed(recent):
        if line.lstrip().startswith(("ERROR:", "error:", "E:")):
            return line.strip() + (f" ({error})" if error else "")
    return error or "the engine returned no image id"
