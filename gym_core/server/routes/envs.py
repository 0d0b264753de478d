"""``/api/envs``: Gymnasium environments driven over HTTP, with the semantics of ``env.reset()`` and
``env.step()`` (see :mod:`gym_core.server.live` and the client :class:`gym_core.remote.RemoteEnv`).

``POST /api/envs`` creates an environment for a task (by id only: a client never names a folder on the
server), ``POST /api/envs/{id}/reset`` starts an episode, ``POST /api/envs/{id}/step`` takes one action,
``GET /api/envs/{id}`` says where it stands, and ``DELETE /api/envs/{id}`` closes it and finishes its run.
Observations and infos are those of the local environment, as JSON. Grader diagnostics are never in
them: validate's feedback is the score alone, as in the local environment.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from gym_core.env.budget import loosened, resolve_budget
from gym_core.env.perturbations import Perturbations
from gym_core.server.auth import current_token, owner_filter
from gym_core.server.live import LiveSession, LiveSessions, SessionLimitError
from gym_core.store.tokens import Role
from gym_core.tasks.discovery import discover
from gym_core.tasks.spec import TASK_ID_PATTERN

router = APIRouter(prefix="/envs", tags=["environments"])
tasks_router = APIRouter(prefix="/tasks", tags=["environments"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnvCreate(_Body):
    """A new environment: the task, and the overrides ``gym.make`` would take."""

    task: str = Field(pattern=TASK_ID_PATTERN, description="The task id (as `rgym tasks list` shows it).")
    version: int | None = Field(None, ge=1, description="Refuse unless the server's task has this version.")
    budget: dict[str, Any] | None = Field(None, description='Budget overrides, e.g. {"wall_time_s": 600}.')
    seed: int | None = Field(None, ge=0, description="Default seed of the first reset.")
    perturb: dict[str, Any] | None = Field(None, description="Perturbations (see docs/agents.md).")
    agent: str = Field("remote", max_length=200, description="The agent's name, recorded with the run.")


class EnvState(BaseModel):
    """Where an environment stands."""

    id: str
    task_id: str
    task_version: int
    backend: str
    run_id: str | None
    episode_id: str | None
    budget: dict[str, Any]


class ResetRequest(_Body):
    seed: int | None = Field(None, ge=0)
    options: dict[str, Any] | None = None


class ResetResponse(BaseModel):
    observation: dict[str, Any]
    info: dict[str, Any]


class StepRequest(_Body):
    action: Any = Field(description="An action, as a JSON object or a JSON string (see docs/agents.md).")


class StepResponse(BaseModel):
    observation: dict[str, Any]
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]


def get_sessions(request: Request) -> LiveSessions:
    sessions: LiveSessions | None = getattr(request.app.state, "live", None)
    if sessions is None:
        raise HTTPException(404, "this server runs no environments (start rgym serve with --envs)")
    return sessions


SessionsDep = Annotated[LiveSessions, Depends(get_sessions)]


def _state(session: LiveSession) -> EnvState:
    env = session.env
    return EnvState(
        id=session.id,
        task_id=env.task.id,
        task_version=env.task.spec.version,
        backend=env.backend,
        run_id=env.run_id,
        episode_id=env.episode_id,
        budget=env.budget.model_dump(mode="json"),
    )


def _refuse_a_looser_budget(body: EnvCreate, request: Request) -> None:
    """An agent's environment keeps the task's limits: an agent token may tighten the budget, never loosen
    it (more validate calls decode hidden data; more memory, processes, time or the network escape the
    limits). The operator (an admin token) may set any budget."""
    if current_token(request).role is Role.ADMIN:
        return
    task = discover().tasks.get(body.task)
    if task is None:
        return  # the environment's own lookup says so
    budget = resolve_budget(task.spec.budget, body.budget, Perturbations.parse(body.perturb), task_id=task.id)
    looser = loosened(task.spec.budget, budget)
    if looser:
        raise HTTPException(
            403,
            f"an agent token may tighten the task's budget, not loosen it: {', '.join(looser)} "
            f"(task {task.id}); ask the server's operator for a run with a larger budget",
        )


@router.post("", status_code=201)
def create_env(body: EnvCreate, sessions: SessionsDep, request: Request) -> EnvState:
    """Create an environment for a task. Its sandbox starts at the first reset.

    An agent token may only tighten the task's budget (see :func:`_refuse_a_looser_budget`).
    """
    _refuse_a_looser_budget(body, request)
    try:
        session = sessions.create(
            owner=current_token(request).id,
            task=body.task,
            version=body.version,
            budget=body.budget,
            seed=body.seed,
            perturb=body.perturb,
            agent=body.agent,
        )
    except SessionLimitError as exc:
        raise HTTPException(429, str(exc)) from exc
    return _state(session)


@router.get("/{env_id}")
def get_env(env_id: str, sessions: SessionsDep, request: Request) -> EnvState:
    """Where an environment stands: its run and current episode."""
    return _state(sessions.get(env_id, owner=owner_filter(request)))


@router.post("/{env_id}/reset")
def reset_env(env_id: str, body: ResetRequest, sessions: SessionsDep, request: Request) -> ResetResponse:
    """``env.reset(seed=..., options=...)``: a new episode in a fresh sandbox; one still running ends
    truncated, graded and counted, as locally."""
    session = sessions.get(env_id, owner=owner_filter(request))
    options = {k: v for k, v in (body.options or {}).items() if k not in ("episode_index", "retry_of")}
    obs, info = sessions.call(session, lambda env: env.reset(seed=body.seed, options=options))
    return ResetResponse(observation=jsonable_encoder(obs), info=jsonable_encoder(info))


@router.post("/{env_id}/step")
def step_env(env_id: str, body: StepRequest, sessions: SessionsDep, request: Request) -> StepResponse:
    """``env.step(action)``: one action; a malformed action is an error observation, as locally."""
    session = sessions.get(env_id, owner=owner_filter(request))
    obs, reward, terminated, truncated, info = sessions.call(session, lambda env: env.step(body.action))
    return StepResponse(
        observation=jsonable_encoder(obs),
        reward=float(reward),
        terminated=bool(terminated),
        truncated=bool(truncated),
        info=jsonable_encoder(info),
    )


@router.delete("/{env_id}")
def close_env(env_id: str, sessions: SessionsDep, request: Request) -> EnvState:
    """``env.close()``: a running episode ends truncated (graded, counted), the run finished, the sandbox
    removed."""
    session = sessions.get(env_id, owner=owner_filter(request))
    state = _state(session)
    sessions.close(env_id, owner=owner_filter(request))
    return state


class TaskSummary(BaseModel):
    """A task a client may create an environment for."""

    id: str
    version: int
    gym_id: str
    metric: str
    direction: str


@tasks_router.get("")
def list_tasks(_sessions: SessionsDep) -> list[TaskSummary]:
    """The tasks of this server, by id (``gym_id`` is what ``gym.make`` takes)."""
    found = discover().tasks
    return [
        TaskSummary(
            id=task.id,
            version=task.spec.version,
            gym_id=f"rgym/{task.id}-v{task.spec.version}",
            metric=task.spec.metric.name,
            direction=task.spec.metric.direction.value,
        )
        for task in sorted(found.values(), key=lambda t: t.id)
    ]
