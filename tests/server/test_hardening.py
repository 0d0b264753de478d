"""The server's hardening: Host checks against DNS rebinding, credentials redacted, reports cached per run."""

from __future__ import annotations

import http.client
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gym_core.redact import redact
from gym_core.server import create_app
from gym_core.server import report_cache as report_cache_module
from gym_core.server.hosts import AllowedHosts
from gym_core.settings import get_settings
from gym_core.store import open_store
from tests.server.auth_helpers import bearer
from tests.server.conftest import BASE_URL
from tests.server.test_serve_cli import _start
from tests.server.traces import Filled

LEAKY = (
    "connect failed: https://alice:sk-live-0123456789@llm.example/v1/chat (also ftp://tok@files.example/x)"
)


# --- Host header --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bind", "names", "host", "allowed"),
    [
        ("127.0.0.1", [], "127.0.0.1:8000", True),
        ("127.0.0.1", [], "localhost:8000", True),
        ("127.0.0.1", [], "[::1]:8000", True),
        ("127.0.0.1", [], "attacker.example:8000", False),
        ("127.0.0.1", [], "attacker.example", False),
        ("127.0.0.1", [], "10.0.0.5:8000", False),
        ("127.0.0.1", [], "", False),
        ("127.0.0.1", ["traces.lab.example"], "TRACES.lab.example:8000", True),
        ("127.0.0.1", [".lab.example"], "a.lab.example", True),
        ("127.0.0.1", [".lab.example"], "a.lab.example.attacker.example", False),
        ("127.0.0.1", [".lab.example"], "evil-lab.example", False),
        ("0.0.0.0", [], "192.168.1.20:8000", True),
        ("0.0.0.0", [], "[fe80::1]:8000", True),
        ("0.0.0.0", [], "attacker.example", False),
        ("0.0.0.0", [], "localhost:8000", True),
        ("0.0.0.0", [], "rgym:8000", False),
        ("10.1.2.3", [], "10.1.2.3:8000", True),
        ("10.1.2.3", [], "10.9.9.9:8000", False),
    ],
)
def test_allowed_hosts(bind: str, names: list[str], host: str, allowed: bool) -> None:
    assert AllowedHosts(bind, names).permits(host) is allowed


def test_a_foreign_host_gets_a_400_on_every_path(store_url: str, filled: Filled) -> None:
    headers = bearer(store_url)  # even with a valid token
    with TestClient(
        create_app(store_url), base_url="http://rebound.attacker.example", headers=headers
    ) as client:
        for path in ("/", "/healthz", "/login", "/api/runs", f"/api/runs/{filled.run_id}/export.jsonl"):
            response = client.get(path)
            assert response.status_code == 400, path
            assert "rebound.attacker.example" in response.json()["detail"]
            assert filled.run_id not in response.text


def test_configured_names_are_answered(
    store_url: str, filled: Filled, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RGYM_SERVE_ALLOWED_HOSTS", "traces.lab.example, other.example")
    get_settings.cache_clear()
    headers = bearer(store_url)
    with TestClient(
        create_app(store_url), base_url="http://traces.lab.example:8000", headers=headers
    ) as client:
        assert client.get("/api/runs").status_code == 200


def _raw_get(base: str, path: str, host: str, token: str) -> tuple[int, bytes]:
    address = base.removeprefix("http://")
    name, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(name, int(port), timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host)
        conn.putheader("Authorization", f"Bearer {token}")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_rgym_serve_refuses_a_rebound_host(store_url: str, filled: Filled) -> None:
    proc, base, token = _start(store_url, "--allowed-host", "traces.lab.example")
    try:
        status, body = _raw_get(base, "/api/runs", "attacker.example:8000", token)
        assert status == 400 and filled.run_id.encode() not in body
        status, body = _raw_get(base, "/api/runs", "traces.lab.example", token)
        assert status == 200 and filled.run_id.encode() in body
        status, _ = _raw_get(base, "/api/runs", base.removeprefix("http://"), token)
        assert status == 200
    finally:
        _stop(proc)


# --- credentials ------------------------------------------------------------------------------------


def test_redact_hides_url_credentials_and_secret_env_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-secret-42")
    text = redact(LEAKY + " key sk-env-secret-42; mail a@b.example; https://host.example/p@th")
    assert "alice" not in text and "sk-live" not in text and "tok@" not in text
    assert "https://***@llm.example/v1/chat" in text and "ftp://***@files.example/x" in text
    assert "sk-env-secret-42" not in text and "key ***;" in text
    assert "a@b.example" in text and "https://host.example/p@th" in text, "no credentials there"
    assert redact('{"u":"https://u:p@h/x","v":"y@z"}') == '{"u":"https://***@h/x","v":"y@z"}'


def test_stored_errors_are_redacted(store_url: str) -> None:
    store = open_store(store_url)
    try:
        run = store.create_run(
            task_id="t",
            task_version=1,
            task_checksum="c",
            agent="llm:m",
            config={},
            backend="local",
            budget={},
            perturbations={},
            k=1,
            seed=None,
        )
        episode = store.start_episode(run, index=0, seed=0)
        store.finish_episode(episode, status="crashed", final_raw=None, final_normalized=None, error=LEAKY)
        error = store.get_episode(episode).error or ""
    finally:
        store.close()
    assert "sk-live" not in error and "alice" not in error and "https://***@llm.example" in error


def test_the_api_serves_no_credentials(
    store_url: str, filled: Filled, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Recorded before errors were redacted, or printed by the agent: the store holds them as they were.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-secret-42")
    store = open_store(store_url)
    try:
        episode = store.start_episode(filled.run_id, index=1, seed=1)
        store.record_step(
            episode,
            index=0,
            action={"tool": "bash", "command": "env"},
            observation={"output": LEAKY + "\nOPENAI_API_KEY=sk-env-secret-42\n" + "pad\n" * 5000},
            exit_code=0,
            started_at=datetime.now(UTC),
            duration_s=0.1,
            agent_time_s=None,
            flags={},
            usage={},
        )
    finally:
        store.close()
    with TestClient(create_app(store_url), base_url=BASE_URL, headers=bearer(store_url)) as client:
        bodies = [
            client.get(f"/api/episodes/{episode}/steps").content,
            client.get(f"/api/episodes/{episode}/steps/0/output").content,
            client.get(f"/api/runs/{filled.run_id}/export.jsonl").content,
        ]
        full = client.get(f"/api/episodes/{episode}/steps/0/output")
    for body in bodies:
        assert b"https://***@llm.example" in body
        assert b"sk-live" not in body and b"alice" not in body and b"sk-env-secret-42" not in body
    assert int(full.headers["content-length"]) == len(full.content)


# --- report cache -----------------------------------------------------------------------------------


def test_the_report_is_computed_once_per_state_of_the_run(
    store_url: str, filled: Filled, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    loads: list[str] = []
    real = report_cache_module.load_run_data

    def counting(store, run_id, **kwargs):  # type: ignore[no-untyped-def]
        loads.append(run_id)
        return real(store, run_id, **kwargs)

    monkeypatch.setattr(report_cache_module, "load_run_data", counting)
    with TestClient(create_app(store_url), base_url=BASE_URL, headers=bearer(store_url)) as client:
        first = client.get(f"/api/runs/{filled.run_id}/report")
        again = client.get(f"/api/runs/{filled.run_id[:10]}/report")
        assert first.status_code == again.status_code == 200 and first.json() == again.json()
        assert loads == [filled.run_id]
        client.get(f"/api/runs/{filled.run_id}/report.html")
        assert len(loads) == 2, "each format is cached on its own"
        # The run changes: a resumed attempt records a step. The next report sees it.
        store = open_store(store_url)
        try:
            episode = store.start_episode(filled.run_id, index=1, seed=1)
            store.finish_episode(episode, status="submitted", final_raw=0.0, final_normalized=1.0)
        finally:
            store.close()
        changed = client.get(f"/api/runs/{filled.run_id}/report")
        assert len(loads) == 3 and changed.json() != first.json()
        client.get(f"/api/runs/{filled.run_id}/report")
        assert len(loads) == 3
    assert json.dumps(changed.json())
