"""Schemathesis against ``/openapi.json``: whatever a client sends, within the schema or not, no endpoint
answers with a server error (an admin token reaches every endpoint; environments run on the local
backend with the fixture tasks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from gym_core.server import create_app
from gym_core.server.live import LiveSessions, research_env_factory
from gym_core.settings import get_settings
from gym_core.store import open_store
from gym_core.store.tokens import Role, create_token
from tests.server.traces import fill

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"
pytestmark = pytest.mark.slow

_ADMIN: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
        get_settings.cache_clear()
        yield _schema(tmp_path_factory)
    get_settings.cache_clear()


def _schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'traces.db'}"
    with open_store(url) as store:
        fill(store)
        _, secret = create_token(store, Role.ADMIN, "schemathesis")
    _ADMIN["Authorization"] = f"Bearer {secret}"
    # Schemathesis sends Host: testserver, a name the app answers to only when told.
    live = LiveSessions(research_env_factory(url, "local"), max_sessions=2)
    app = create_app(url, live=live, allowed_hosts=["testserver"])
    return schemathesis.openapi.from_asgi("/openapi.json", app, headers=_ADMIN)


def test_no_input_makes_a_server_error(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15  # every endpoint is fuzzed, not a few that loaded
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=_ADMIN, checks=[not_a_server_error])

        try:
            fuzz()
        except Exception as exc:  # collect every endpoint's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:400]}")
    assert failures == []
