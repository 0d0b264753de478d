"""Settings read from the environment (prefix ``RGYM_``) and an optional ``.env`` file."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository root when rgym runs from a checkout; its tasks/ are shipped with it.
REPO_ROOT = Path(__file__).resolve().parent.parent

SHIPPED_TASKS = REPO_ROOT / "tasks"
"""The tasks shipped with rgym: always the last folder of the task search path."""


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("rgym", appauthor=False))


class Settings(BaseSettings):
    """Every knob of rgym that is not a per-run option."""

    model_config = SettingsConfigDict(env_prefix="RGYM_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    """Where rgym keeps its default trace store, wheelhouse, sandbox scratch space and artifacts."""

    store: str | None = None
    """Trace store URL (``sqlite:///path.db`` or ``postgresql+psycopg://...``); default: SQLite in data_dir."""

    tasks_path: str | None = None
    """Folders to find tasks in, separated by os.pathsep (default: ./tasks); the shipped tasks follow."""

    backend: str | None = None
    """Default sandbox backend: docker when an engine answers, else local."""

    base_image: str = "rgym/base:py3.11"
    """Tag of the base image every task image extends."""

    base_bootstrap: str = "auto"
    """How to make the base image: auto (pull when a registry answers, else debootstrap), pull, debootstrap."""

    debian_mirror: str | None = None
    """Debian mirror for debootstrap; default: the first one in this machine's apt sources."""

    wheelhouse: Path | None = None
    """Override of the wheelhouse folder (RGYM_WHEELHOUSE); default: ~/.cache/rgym/wheelhouse."""

    output_cap_bytes: int = 64 * 1024
    """Bytes of stdout and of stderr kept per command; the rest is dropped and marked truncated."""

    cgroup_v1: bool = True
    """Use the host's cgroup v1 files where they exist (the local backend's limits and usage figures).

    ``RGYM_CGROUP_V1=off`` makes rgym behave as on a host with cgroup v2 only (Debian 12, current Ubuntu):
    CI runs the sandbox tests in both modes. The Docker backend never reads host cgroup files.
    """

    exec_channel: bool = True
    """Run a sandbox's commands through its exec channel (one long-lived process inside the sandbox, see
    ``gym_core.sandbox.exec_channel``); ``RGYM_EXEC_CHANNEL=off`` runs every command with one exec of its own,
    as a sandbox does anyway while its channel is down."""

    allow_weak_isolation: bool = False
    """Let the local backend run without bubblewrap as a normal user (``--allow-weak-isolation``).

    The agent then runs as you: it can read and write whatever you can.
    """

    sandbox_uid_base: int = 2_000_000_000
    """First of the 65536 uids the local backend gives its sandboxes, one each, when rgym runs as root."""

    egress_dns: str | None = None
    """DNS servers for ``network: egress`` sandboxes, comma separated (default: the host's upstream ones)."""

    egress_proxy_allow: str | None = None
    """Local addresses the filtering proxy of egress sandboxes with ``blocked_urls`` may still reach, comma
    separated: ``10.1.2.3``, ``10.1.0.0/16`` or ``10.1.2.3:3128`` (e.g. a package mirror on the LAN).
    Everything else local (the host, private ranges, link-local) stays refused."""

    episode_artifact_quota_mb: float = Field(default=256.0, ge=0)
    """Megabytes one episode may add to the trace store as artifacts: the full content of its ``write_file``
    actions and the workspace snapshots of its ``validate`` calls (RGYM_EPISODE_ARTIFACT_QUOTA_MB). Past it,
    a step keeps only its inline copy (flag ``artifact_quota_spent``) and a validate snapshot keeps no files
    (marked truncated); the submission's snapshot is always taken, within ``snapshot_cap_mb``."""

    snapshot_cap_mb: float = Field(default=64.0, ge=0)
    """Largest workspace snapshot, in megabytes of tar, taken at each evaluation (RGYM_SNAPSHOT_CAP_MB).
    Files that do not fit are left out and the snapshot is marked truncated, with the list of what it
    omits."""

    serve_allowed_hosts: str = ""
    """Comma-separated ``Host`` names ``rgym serve`` answers to besides its bind address (and, bound to
    loopback, ``localhost``); a name starting with ``.`` allows its subdomains (RGYM_SERVE_ALLOWED_HOSTS)."""

    faults: str | None = None
    """Chaos testing only (RGYM_FAULTS): operations to fail on purpose, e.g. ``exec_refused=1`` (see
    :mod:`gym_core.faults`)."""

    def serve_allowed_host_names(self) -> list[str]:
        """The names of ``serve_allowed_hosts``."""
        return [name.strip() for name in self.serve_allowed_hosts.split(",") if name.strip()]

    @property
    def default_store_url(self) -> str:
        """The store every entry point uses when none is given: ``traces.db`` in data_dir."""
        return f"sqlite:///{self.data_dir / 'traces.db'}"

    @property
    def store_url(self) -> str:
        """The trace store URL in force: RGYM_STORE, else :attr:`default_store_url`."""
        return self.store or self.default_store_url

    @property
    def wheelhouse_dir(self) -> Path:
        """Host-side folder of wheels that task images install from (pip cannot reach an index there).

        A user cache, not under data_dir: wheels are worth keeping across stores and test runs.
        """
        if self.wheelhouse:
            return self.wheelhouse.expanduser()
        return Path(platformdirs.user_cache_dir("rgym", appauthor=False)) / "wheelhouse"

    @property
    def sandbox_dir(self) -> Path:
        """Host-side scratch space of sandboxes (workspaces, disk images)."""
        return self.data_dir / "sandboxes"

    def task_search_path(self) -> list[Path]:
        """The folders tasks are discovered in, in order; the first folder with an id wins.

        RGYM_TASKS_PATH (default: ./tasks), then the tasks shipped with rgym, which therefore stay visible
        and can be overridden by a task of the same id earlier on the path.
        """
        if self.tasks_path:
            head = [Path(p).expanduser() for p in self.tasks_path.split(os.pathsep) if p]
        else:
            head = [Path.cwd() / "tasks"]
        unique: list[Path] = []
        for p in [*head, SHIPPED_TASKS]:
            if p.resolve() not in [u.resolve() for u in unique]:
                unique.append(p)
        return unique


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call ``get_settings.cache_clear()`` after changing env vars)."""
    return Settings()
