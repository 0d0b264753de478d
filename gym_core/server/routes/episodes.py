"""``/api/episodes``: one episode with its evaluations, its steps, and a step's full output."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from gym_core.server.deps import StoreDep
from gym_core.server.schemas import EpisodeDetail, RunSummary
from gym_core.store import StepPublic

router = APIRouter(prefix="/episodes", tags=["episodes"])


@router.get("/{episode_id}")
def get_episode(episode_id: str, store: StoreDep) -> EpisodeDetail:
    """An episode (any unique id prefix), its run and its evaluations."""
    episode = store.get_episode(store.resolve_episode_id(episode_id))
    return EpisodeDetail(
        episode=episode,
        run=RunSummary.of(store.get_run(episode.run_id)),
        evaluations=store.list_evaluations(episode.id),
    )


#: The most steps one request returns when it asks for a page.
MAX_PAGE = 1000


@router.get("/{episode_id}/steps")
def list_steps(
    episode_id: str,
    store: StoreDep,
    after: Annotated[
        int | None,
        Query(ge=-1, description="Cursor: only steps with a greater index (the last index already seen)."),
    ] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_PAGE, description=f"At most this many steps (1 to {MAX_PAGE}).")
    ] = None,
) -> list[StepPublic]:
    """The steps of an episode in order: all of them, or with ``limit`` one page after the cursor ``after``
    (the next page starts after the last index returned; a page shorter than ``limit`` is the last).
    Long outputs are cut; ``overflow`` names the fields that were."""
    return store.list_steps(store.resolve_episode_id(episode_id), after=after, limit=limit)


@router.get("/{episode_id}/steps/{index}/output")
def get_step_output(
    episode_id: str,
    index: Annotated[int, Path(ge=0, description="The step's index in its episode.")],
    store: StoreDep,
    field: Annotated[
        str, Query(pattern=r"^[a-z_]{1,40}$", description="Which text field of the observation.")
    ] = "output",
) -> Response:
    """The full text of a step's output (or another observation field), even when the stored copy was cut.

    Served as ``text/plain`` (never as HTML, whatever the agent printed).
    """
    text = store.get_step_output(store.resolve_episode_id(episode_id), index, field)
    return Response(_utf8(text), media_type="text/plain; charset=utf-8")


def _utf8(text: str) -> bytes:
    """The bytes of ``text``: undecodable bytes the store kept as surrogates come back as they were."""
    try:
        return text.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:  # a surrogate outside the escape range: no bytes to restore
        return text.encode("utf-8", errors="replace")
