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
    """Folders to find tasks in, separated by os.pathsep; default: ./tasks plus the shipped tasks."""

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

    @property
    def store_url(self) -> str:
        """The trace store URL in force."""
        if self.store:
            return self.store
        return f"sqlite:///{self.data_dir / 'traces.db'}"

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
        """The folders tasks are discovered in, in order; the first folder with an id wins."""
        if self.tasks_path:
            return [Path(p).expanduser() for p in self.tasks_path.split(os.pathsep) if p]
        paths = [Path.cwd() / "tasks", REPO_ROOT / "tasks"]
        unique: list[Path] = []
        for p in paths:
            if p.resolve() not in [u.resolve() for u in unique]:
                unique.append(p)
        return unique


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call ``get_settings.cache_clear()`` after changing env vars)."""
    return Settings()
