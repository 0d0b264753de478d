"""``rgym serve`` as a real process: it listens, answers, and stops cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gym_core.cli.main import main
from gym_core.store import open_store
from gym_core.store.tokens import list_tokens
from tests.server.traces import Filled

REPO_ROOT = Path(__file__).resolve().parents[2]


def _start(store_url: str, *extra: str) -> tuple[subprocess.Popen[str], str, str]:
    """A running ``rgym serve``, its base URL, and the admin token of the URL it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gym_core.cli.main", "serve", "--port", "0", "--store", store_url, *extra],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the process prints its address once it listens; EOF if it died
    if not line.startswith("rgym serve: "):
        proc.kill()
        pytest.fail(f"rgym serve did not start: {line!r} {proc.communicate()[1]}")
    opening = proc.stdout.readline()
    assert opening.startswith("rgym serve: open http://") and "?token=rgym_" in opening, opening
    return proc, line.split()[2].rstrip("/"), opening.strip().rsplit("?token=", 1)[1]


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_then_stops_cleanly(store_url: str, filled: Filled, stop: signal.Signals) -> None:
    proc, base, token = _start(store_url)
    try:
        assert base.startswith("http://127.0.0.1:")
        status, body = _get(base + "/healthz")  # the one API endpoint open without a token
        assert status == 200 and json.loads(body)["status"] == "ok"
        assert _get(base + "/api/runs")[0] == 401
        status, body = _get(base + "/api/runs", token)
        assert [r["id"] for r in json.loads(body)] == [filled.other_run_id, filled.run_id]
        proc.send_signal(stop)
        _, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, 130, -stop), stderr
    with open_store(store_url) as store:  # the server's own admin token died with it
        assert list_tokens(store) == []
    assert "Traceback" not in stderr
    port = int(base.rsplit(":", 1)[1])
    with socket.socket() as probe:  # the port is free again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def test_a_busy_port_is_one_line_and_exit_2(
    store_url: str, filled: Filled, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port), "--store", store_url]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err


def test_an_unresolvable_host_is_one_line_and_exit_2(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--host", "no-such-host.invalid", "--store", store_url]) == 2
    assert "--host no-such-host.invalid" in capsys.readouterr().err


def test_serve_is_listed_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--host" in out and "--port" in out and "--store" in out and "127.0.0.1" in out
