"""A task's blocked_urls, enforced for real in Docker against a hostile agent.

The "paper's site" is an HTTP server of this test on the host (every interface, one port). The agent's
sandbox (``network: egress``, blocked_urls naming the site's /paper/ pages) fetches an allowed page through
its proxy, is refused the blocked one, and tries to go around the proxy: without it (``--noproxy``), by the
host's addresses, by the blocked host's address and other spellings, on other ports, by raw sockets. Every
refusal is in the step's trace and in the agent's output. No packet leaves this machine.
"""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from gym_core.env.research_env import ResearchEnv
from gym_core.sandbox.docker_network import (
    CHAIN_FILTER_INPUT,
    FILTERED_NETWORK,
    PROXY_RULE_COMMENT,
    remove_filtered_network,
)
from gym_core.settings import get_settings
from gym_core.store import open_store
from tests.sandbox.conftest import as_root

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tasks" / "tiny-mean"

pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.skipif(
        not as_root() or shutil.which("iptables") is None or shutil.which("ip") is None,
        reason="egress sandboxes need root, iptables and iproute2",
    ),
]


class _Site(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        body = f"the page {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site() -> Iterator[int]:
    _Site.seen = []
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _host_addresses() -> list[str]:
    out = subprocess.run(
        ["ip", "-j", "-4", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    return [
        a["local"] for link in json.loads(out) for a in link.get("addr_info", []) if a["local"] != "127.0.0.1"
    ]


PROBE = r"""
import json, os, socket, sys, urllib.error, urllib.request

def fetch(url, proxy=True):
    handlers = [] if proxy else [urllib.request.ProxyHandler({})]  # --noproxy
    try:
        with urllib.request.build_opener(*handlers).open(url, timeout=10) as r:
            return [r.status, r.read().decode()]
    except urllib.error.HTTPError as e:
        return [e.code, e.read().decode()]
    except Exception as e:
        return ["error", type(e).__name__]

def raw(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=5) as s:
            s.sendall(b"GET /paper/1 HTTP/1.0\r\n\r\n")
            return ["connected", s.recv(100).decode(errors="replace")]
    except OSError as e:
        return ["error", type(e).__name__]

port, gateway, proxy_port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
hosts = sys.argv[4:]
out = {
    "allowed": fetch(f"http://localhost:{port}/code/ok"),
    "blocked": fetch(f"http://localhost:{port}/paper/1"),
    "blocked_by_ip": fetch(f"http://127.0.0.1:{port}/paper/1"),
    "blocked_as_number": fetch(f"http://2130706433:{port}/paper/1"),
    "blocked_escaped": fetch(f"http://LOCALHOST.:{port}/code/..%2Fpaper%2F1"),
    "noproxy_gateway": fetch(f"http://{gateway}:{port}/paper/1", proxy=False),
    "raw_gateway": raw(gateway, port),
    "raw_gateway_other_port": raw(gateway, 22),
    "raw_proxy_port": raw(gateway, proxy_port),
    "raw_hosts": {h: raw(h, port) for h in hosts},
    "raw_outside": raw("198.51.100.7", 80),
    "proxy_env": os.environ.get("HTTP_PROXY"),
}
print(json.dumps(out))
"""


def _egress_task(tmp_path: Path, port: int) -> Path:
    root = tmp_path / "tiny-mean"
    shutil.copytree(FIXTURE, root)
    spec = yaml.safe_load((root / "task.yaml").read_text())
    spec["budget"]["network"] = "egress"
    spec["budget"]["wall_time_s"] = 300
    spec["budget"]["command_timeout_s"] = 120
    spec["blocked_urls"] = [f"localhost:{port}/paper/*"]
    (root / "task.yaml").write_text(yaml.safe_dump(spec))
    return root


def _proxy_rules() -> list[str]:
    out = subprocess.run(["iptables", "-w", "-S", CHAIN_FILTER_INPUT], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if PROXY_RULE_COMMENT in line]


def test_blocked_urls_hold_against_a_hostile_agent_and_are_traced(
    docker_client: Any, site: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RGYM_EGRESS_PROXY_ALLOW", f"127.0.0.1:{site}")  # the site stands for the outside
    get_settings.cache_clear()
    rules_before = _proxy_rules()
    store = open_store(f"sqlite:///{tmp_path / 'traces.db'}")
    env = ResearchEnv(
        _egress_task(tmp_path, site), backend="docker", store=store, labels={"rgym.test": uuid.uuid4().hex}
    )
    try:
        _obs, info = env.reset(seed=0)
        gateway = docker_client.api.inspect_network(FILTERED_NETWORK)["IPAM"]["Config"][0]["Gateway"]
        [rule] = [r for r in _proxy_rules() if r not in rules_before]
        proxy_port = int(rule.split("--dport ")[1].split()[0])
        env.step({"tool": "write_file", "path": "probe.py", "content": PROBE})
        args = " ".join([str(site), gateway, str(proxy_port), *_host_addresses()])
        obs = env.step({"tool": "bash", "command": f"python probe.py {args}"})[0]
        probe = json.loads(obs["output"].splitlines()[0])
        episode_id = info["episode_id"]
    finally:
        env.close()
    try:
        assert probe["allowed"] == [200, "the page /code/ok"]
        assert probe["proxy_env"] == f"http://{gateway}:{proxy_port}"
        for name in ("blocked", "blocked_by_ip", "blocked_as_number", "blocked_escaped"):
            status, body = probe[name]
            assert status == 403 and "blocked by the task (blocked_urls)" in body, (name, probe[name])
        # around the proxy: nothing answers, not even the proxy's own host on the site's port
        assert probe["noproxy_gateway"][0] == "error"
        assert probe["raw_gateway"][0] == "error" and probe["raw_gateway_other_port"][0] == "error"
        assert all(r[0] == "error" for r in probe["raw_hosts"].values()), probe["raw_hosts"]
        assert probe["raw_outside"][0] == "error"
        assert probe["raw_proxy_port"][0] == "connected"  # the one way out: the control that the host answers
        assert _Site.seen == ["/code/ok"]  # the site never saw a blocked request

        # the agent was told, and the evaluator sees every refusal in the step's trace
        assert "[rgym network] refused GET http://localhost:" in obs["output"]
        steps = store.list_steps(episode_id)
        flags = steps[1].flags
        refused = flags["blocked_requests"]
        assert flags["blocked_requests_count"] == len(refused) == 5
        blocked = [r for r in refused if r["reason"] == "blocked_url"]
        assert len(blocked) == 4 and {r["pattern"] for r in blocked} == {f"localhost:{site}/paper/*"}
        assert any(r["target"] == f"http://localhost:{site}/paper/1" for r in blocked)
        [odd] = [r for r in refused if r["reason"] != "blocked_url"]
        assert odd["reason"] == "bad_request"  # the raw GET sent to the proxy as if it were the site
        assert _proxy_rules() == rules_before  # the sandbox's rule went with it
    finally:
        store.close()
        remove_filtered_network(docker_client)  # unless a live run uses it
