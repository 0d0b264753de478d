"""Auth of ``rgym serve``: every role against every endpoint, tokens as cookies, revocation, ownership."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gym_core.cli.main import main
from gym_core.server import create_app
from gym_core.server.live import LiveSessions, research_env_factory
from gym_core.settings import get_settings
from gym_core.store import open_store
from gym_core.store.tokens import Role, check_token, create_token, list_tokens, revoke_token
from tests.server.auth_helpers import token_for
from tests.server.traces import Filled

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"

#: Who may call what, written out by hand (the server's own table is not consulted).
AGENT, VIEWER, ADMIN = "agent", "viewer", "admin"
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("get", "/api/runs"): {VIEWER, ADMIN},
    ("get", "/api/runs/{run_id}"): {VIEWER, ADMIN},
    ("get", "/api/runs/{run_id}/report"): {VIEWER, ADMIN},
    ("get", "/api/runs/{run_id}/report.html"): {VIEWER, ADMIN},
    ("get", "/api/runs/{run_id}/export.jsonl"): {VIEWER, ADMIN},
    ("get", "/api/episodes/{episode_id}"): {VIEWER, ADMIN},
    ("get", "/api/episodes/{episode_id}/steps"): {VIEWER, ADMIN},
    ("get", "/api/episodes/{episode_id}/steps/{index}/output"): {VIEWER, ADMIN},
    ("get", "/api/compare"): {VIEWER, ADMIN},
    ("get", "/api/compare.html"): {VIEWER, ADMIN},
    ("get", "/api/suite-runs"): {VIEWER, ADMIN},
    ("get", "/api/compare-suites"): {VIEWER, ADMIN},
    ("get", "/api/compare-suites.html"): {VIEWER, ADMIN},
    ("get", "/api/history"): {VIEWER, ADMIN},
    ("get", "/api/history.html"): {VIEWER, ADMIN},
    ("get", "/api/tasks"): {AGENT, VIEWER, ADMIN},
    ("post", "/api/envs"): {AGENT, ADMIN},
    ("get", "/api/envs/{env_id}"): {AGENT, ADMIN},
    ("post", "/api/envs/{env_id}/reset"): {AGENT, ADMIN},
    ("post", "/api/envs/{env_id}/step"): {AGENT, ADMIN},
    ("delete", "/api/envs/{env_id}"): {AGENT, ADMIN},
    ("get", "/api/tokens"): {ADMIN},
    ("post", "/api/tokens"): {ADMIN},
    ("delete", "/api/tokens/{token_id}"): {ADMIN},
    ("get", "/healthz"): {AGENT, VIEWER, ADMIN, "none", "revoked"},
}


@pytest.fixture
def app_and_url(
    store_url: str, filled: Filled, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, str]]:
    monkeypatch.setenv("RGYM_TASKS_PATH", str(FIXTURES))
    get_settings.cache_clear()
    live = LiveSessions(research_env_factory(store_url, "local"), max_sessions=4)
    with TestClient(
        create_app(store_url, live=live), base_url="http://127.0.0.1", raise_server_exceptions=False
    ) as client:
        yield client, store_url


def _concrete(path: str, filled: Filled) -> str:
    values = {
        "run_id": filled.run_id,
        "episode_id": filled.submitted,
        "index": "0",
        "env_id": "01ZZZZZZZZZZZZZZZZZZZZZZZZ",
        "token_id": "01ZZZZZZZZZZZZZZZZZZZZZZZZ",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def test_every_endpoint_is_in_the_matrix(app_and_url: tuple[TestClient, str]) -> None:
    client, _ = app_and_url
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    served = {(method, path) for path, operations in paths.items() for method in operations}
    assert served == set(EXPECTED)


@pytest.mark.parametrize("role", [AGENT, VIEWER, ADMIN, "none", "revoked"])
def test_every_role_against_every_endpoint(
    app_and_url: tuple[TestClient, str], filled: Filled, role: str
) -> None:
    client, url = app_and_url
    headers: dict[str, str] = {}
    if role == "revoked":
        secret = token_for(url, Role.ADMIN)
        with open_store(url) as store:
            (token,) = [t for t in list_tokens(store) if check_token(store, secret) and t.role is Role.ADMIN]
            revoke_token(store, token.id)
        headers = {"Authorization": f"Bearer {secret}"}
    elif role != "none":
        headers = {"Authorization": f"Bearer {token_for(url, role)}"}
    bodies = {"/api/envs": {"task": "nope"}, "/api/tokens": {"role": "viewer", "name": "x"}}
    for (method, path), allowed in sorted(EXPECTED.items()):
        target = _concrete(path, filled)
        response = client.request(method.upper(), target, headers=headers, json=bodies.get(path))
        if role in allowed:
            assert response.status_code not in (401, 403), (role, method, path, response.text)
        elif role in ("none", "revoked"):
            assert response.status_code == 401, (role, method, path, response.status_code)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert "token" in response.json()["detail"]
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)
            assert f"a {role} token may not" in response.json()["detail"]


def test_the_viewer_page_needs_a_token_and_the_printed_url_sets_a_cookie(
    app_and_url: tuple[TestClient, str],
) -> None:
    client, url = app_and_url
    # A browser without a token lands on the static login page.
    response = client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    login = client.get("/login")
    assert login.status_code == 200 and "<script" not in login.text
    assert "form-action 'self'" in login.headers["content-security-policy"]
    # The URL rgym serve prints swaps the token for an HttpOnly, SameSite=Strict cookie.
    secret = token_for(url, Role.VIEWER)
    response = client.get(f"/?token={secret}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"rgym_token={secret}") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    client.cookies.set("rgym_token", secret)
    assert client.get("/api/runs").status_code == 200
    client.cookies.clear()
    # The schema is for every role, but not for anyone without a token.
    assert client.get("/openapi.json").status_code == 401
    agent = {"Authorization": f"Bearer {token_for(url, Role.AGENT)}"}
    assert "/api/envs" in client.get("/openapi.json", headers=agent).json()["paths"]
    # A bad token on the login form says so on the page, and sets nothing.
    response = client.post("/login", data={"token": "rgym_wrong"}, follow_redirects=False)
    assert (
        response.status_code == 200 and "not valid" in response.text and "set-cookie" not in response.headers
    )


def test_an_agent_drives_only_its_own_environments(app_and_url: tuple[TestClient, str]) -> None:
    client, url = app_and_url
    alice = {"Authorization": f"Bearer {token_for(url, Role.AGENT)}"}
    bob = {"Authorization": f"Bearer {token_for(url, Role.AGENT)}"}
    admin = {"Authorization": f"Bearer {token_for(url, Role.ADMIN)}"}
    env = client.post("/api/envs", json={"task": "tiny-mean"}, headers=alice).json()
    assert client.get(f"/api/envs/{env['id']}", headers=alice).status_code == 200
    for method, suffix in (("GET", ""), ("POST", "/reset"), ("POST", "/step"), ("DELETE", "")):
        body = {"action": {"tool": "submit"}} if suffix == "/step" else ({} if method == "POST" else None)
        response = client.request(method, f"/api/envs/{env['id']}{suffix}", headers=bob, json=body)
        assert response.status_code == 404, (method, suffix)  # the same answer as for no such env
    assert client.get(f"/api/envs/{env['id']}", headers=admin).status_code == 200
    assert client.delete(f"/api/envs/{env['id']}", headers=alice).status_code == 200


def test_tokens_are_stored_hashed_and_revocation_is_immediate(app_and_url: tuple[TestClient, str]) -> None:
    client, url = app_and_url
    admin = {"Authorization": f"Bearer {token_for(url, Role.ADMIN)}"}
    created = client.post("/api/tokens", json={"role": "viewer", "name": "ci"}, headers=admin).json()
    secret = created["secret"]
    assert secret.startswith("rgym_") and len(secret) >= 40
    with open_store(url) as store, store._read() as session:
        from sqlalchemy import text

        dumped = " ".join(str(row) for row in session.execute(text("SELECT * FROM api_tokens")))
    assert secret not in dumped and secret[5:] not in dumped
    viewer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/runs", headers=viewer).status_code == 200
    listed = client.get("/api/tokens", headers=admin).json()
    assert all("secret" not in t for t in listed)
    assert client.delete(f"/api/tokens/{created['token']['id']}", headers=admin).status_code == 200
    assert client.get("/api/runs", headers=viewer).status_code == 401
    bad = client.post("/api/tokens", json={"role": "root", "name": "x"}, headers=admin)
    assert bad.status_code == 422


def test_tokens_cli_creates_lists_and_revokes(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tokens", "create", "--role", "agent", "--name", "ci agent", "--store", store_url]) == 0
    out = capsys.readouterr()
    secret = out.out.strip()
    assert secret.startswith("rgym_") and "shown once" in out.err
    with open_store(store_url) as store:
        token = check_token(store, secret)
    assert token is not None and token.role is Role.AGENT and token.name == "ci agent"
    assert main(["tokens", "list", "--store", store_url]) == 0
    listing = capsys.readouterr().out
    assert token.id in listing and "ci agent" in listing and secret not in listing
    assert main(["tokens", "revoke", token.id[:12], "--store", store_url]) == 0
    with open_store(store_url) as store:
        assert check_token(store, secret) is None
    assert main(["tokens", "create", "--role", "root", "--store", store_url]) == 2
    assert "unknown role 'root'" in capsys.readouterr().err
    assert main(["tokens", "revoke", "nope!", "--store", store_url]) == 2


def test_a_token_never_checks_out_by_prefix_or_digest(store_url: str) -> None:
    with open_store(store_url) as store:
        token, secret = create_token(store, Role.ADMIN, "x")
        assert check_token(store, secret[:-1]) is None
        assert check_token(store, secret + "x") is None
        assert check_token(store, "rgym_") is None
        import hashlib

        assert check_token(store, hashlib.sha256(secret.encode()).hexdigest()) is None
        checked = check_token(store, secret)
        assert checked is not None and checked.id == token.id
        assert token.role is Role.ADMIN
