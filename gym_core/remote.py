"""A Gymnasium environment whose episodes run on an ``rgym serve`` somewhere else.

:class:`RemoteEnv` has the spaces, ``reset``, ``step`` and ``close`` of the local
:class:`~gym_core.env.research_env.ResearchEnv`; the server holds the sandbox and records the trace
into its store. Any Gymnasium agent works against it unchanged::

    import gymnasium as gym
    import gym_core
    env = gym.make("rgym/tiny-mean-v1", remote="http://127.0.0.1:8000", token="...")
    obs, info = env.reset(seed=0)

Errors come back as the same :mod:`gym_core.errors` the local environment raises, with the server's one
line: a step before reset is an :class:`EpisodeError`, an unknown task a :class:`TaskNotFoundError`.
Only the standard library is used, so a remote agent needs nothing but ``gym_core``'s own dependencies.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import gymnasium as gym

from gym_core.env.spaces import action_space, observation_space
from gym_core.errors import (
    ConfigError,
    EpisodeError,
    NotFoundError,
    RgymError,
    TaskNotFoundError,
)

#: Seconds to wait for one answer; a step may run a command for its whole timeout, so this is generous.
DEFAULT_TIMEOUT_S = 3600.0


class RemoteError(RgymError):
    """The server refused a call or could not be reached."""


class RemoteEnv(gym.Env[dict[str, Any], str]):
    """A research task as a Gymnasium environment, run by an rgym server.

    Args:
        task: the task id on the server.
        remote: the server's base URL, e.g. ``http://127.0.0.1:8000``.
        token: an agent (or admin) API token, sent as ``Authorization: Bearer``; default ``RGYM_TOKEN``.
        version: refuse unless the server's task has this version (``gym.make`` passes the id's ``-vN``).
        budget, seed, perturb, agent: as for :class:`ResearchEnv`.
        timeout_s: the longest wait for one answer.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - Gymnasium declares it an instance attribute

    def __init__(
        self,
        task: str,
        *,
        remote: str,
        token: str | None = None,
        version: int | None = None,
        budget: dict[str, Any] | None = None,
        seed: int | None = None,
        perturb: dict[str, Any] | None = None,
        agent: str = "remote",
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        super().__init__()
        parsed = urllib.parse.urlsplit(remote)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"remote={remote!r}: expected a URL such as http://127.0.0.1:8000")
        self._base = remote.rstrip("/")
        self._token = token if token is not None else os.environ.get("RGYM_TOKEN")
        self._timeout = timeout_s
        self.action_space = action_space()
        self.observation_space = observation_space()
        body = {"task": task, "version": version, "budget": budget, "seed": seed, "perturb": perturb}
        state = self._call("POST", "/api/envs", {**body, "agent": agent})
        self.env_id: str = state["id"]
        self.task_id: str = state["task_id"]
        self.backend: str = state["backend"]
        self.budget: dict[str, Any] = state["budget"]
        self._closed = False

    @property
    def run_id(self) -> str | None:
        """The run the server records this environment's episodes under (after the first reset)."""
        run_id: str | None = self._call("GET", f"/api/envs/{self.env_id}")["run_id"]
        return run_id

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a new episode in a fresh sandbox on the server."""
        super().reset(seed=seed)
        answer = self._call("POST", f"/api/envs/{self.env_id}/reset", {"seed": seed, "options": options})
        return answer["observation"], answer["info"]

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """Run one action on the server."""
        answer = self._call("POST", f"/api/envs/{self.env_id}/step", {"action": action})
        return (
            answer["observation"],
            float(answer["reward"]),
            bool(answer["terminated"]),
            bool(answer["truncated"]),
            answer["info"],
        )

    def close(self) -> None:
        """Close the environment on the server and finish its run. A running episode ends as the agent's:
        ``truncated``, its workspace graded, counted (docs/api.md, "Ending an episode early")."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        with contextlib.suppress(NotFoundError):  # the server already closed it (idle, or restarted)
            self._call("DELETE", f"/api/envs/{self.env_id}")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(self._base + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise _error(exc, method, path) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteError(
                f"cannot reach the rgym server at {self._base}: {reason}",
                hint="is `rgym serve --envs` running there?",
            ) from None


def _error(exc: urllib.error.HTTPError, method: str, path: str) -> RgymError:
    try:
        detail = str(json.loads(exc.read()).get("detail", "")) or exc.reason
    except (ValueError, AttributeError):
        detail = str(exc.reason)
    if exc.code == 409:
        return EpisodeError(detail)
    if exc.code == 404 and path == "/api/envs":
        return TaskNotFoundError(detail)
    if exc.code == 404:
        return NotFoundError(detail)
    if exc.code == 400:
        return ConfigError(detail)
    return RemoteError(f"{method} {path}: HTTP {exc.code}: {detail}")
