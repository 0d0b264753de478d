"""Egress sandboxes reach the outside, never the host, private ranges or link-local addresses.

No test here sends a packet beyond this machine's loopback: the Docker network is checked by its settings
and rules, and live connections are only made between network namespaces the test creates itself (a
router playing the host, with the very rules rgym installs, and made-up "internet", LAN, metadata and DNS
hosts behind it), none of which is connected to a real interface.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gym_core.errors import SandboxError
from gym_core.sandbox import Limits, SandboxConfig, docker_network
from gym_core.sandbox.base import LABEL_RUN
from gym_core.sandbox.docker_network import (
    BLOCKED_RANGES,
    CHAIN_FORWARD,
    CHAIN_INPUT,
    EGRESS_BRIDGE,
    EGRESS_NETWORK,
    egress_dns_servers,
    firewall_rules,
    install_firewall,
    remove_egress_network,
    subnets_of,
)
from gym_core.settings import get_settings
from gym_core.tasks.spec import Network
from tests.sandbox.conftest import as_root

needs_netns = pytest.mark.skipif(
    not as_root() or shutil.which("ip") is None or shutil.which("iptables") is None,
    reason="needs root, iproute2 and iptables",
)

# --- the rules -------------------------------------------------------------------------------------


def test_the_rules_let_dns_through_and_refuse_everything_local() -> None:
    rules = firewall_rules(["10.0.0.53"], ["192.0.2.0/24", "10.0.0.0/8"])
    forward, inbound = rules[CHAIN_FORWARD], rules[CHAIN_INPUT]
    allow = [
        ["-d", "10.0.0.53", "-p", "udp", "-m", "udp", "--dport", "53", "-j", "RETURN"],
        ["-d", "10.0.0.53", "-p", "tcp", "-m", "tcp", "--dport", "53", "-j", "RETURN"],
    ]
    assert forward[:2] == allow and inbound[:2] == allow  # first, or the private range would refuse them
    refused = [r[1] for r in forward[2:-1]]
    assert refused == [*BLOCKED_RANGES, "192.0.2.0/24"]  # the host's LAN too, once
    for must in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"):
        assert must in refused
    assert all(r[2:] == ["-j", "REJECT", "--reject-with", "icmp-admin-prohibited"] for r in forward[2:-1])
    assert forward[-1] == ["-j", "RETURN"]
    assert inbound[2:] == [["-j", "REJECT", "--reject-with", "icmp-admin-prohibited"]]  # the host: nothing


def test_the_hosts_subnets_come_from_its_interfaces() -> None:
    ip_json = """[
      {"ifname": "lo", "addr_info": [{"local": "127.0.0.1", "prefixlen": 8}]},
      {"ifname": "eth0", "addr_info": [{"local": "192.0.2.2", "prefixlen": 24}]},
      {"ifname": "wlan0", "addr_info": [{"local": "10.1.2.3", "prefixlen": 16}]},
      {"ifname": "rgym-egress0", "addr_info": [{"local": "172.30.0.1", "prefixlen": 16}]}
    ]"""
    assert subnets_of(ip_json) == ["192.0.2.0/24", "10.1.0.0/16"]


def test_dns_servers_are_the_hosts_upstream_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stub, upstream = tmp_path / "resolv.conf", tmp_path / "upstream.conf"
    stub.write_text("nameserver 127.0.0.53\noptions edns0\n")
    upstream.write_text("# systemd\nnameserver 10.0.0.2\nnameserver fd00::1\nnameserver 9.9.9.9\n")
    monkeypatch.setattr(docker_network, "RESOLV_CONFS", (stub, upstream))
    assert egress_dns_servers() == ["10.0.0.2", "9.9.9.9"]  # the stub skipped, IPv6 too (no IPv6 inside)
    monkeypatch.setenv("RGYM_EGRESS_DNS", "1.1.1.1, 8.8.8.8")
    get_settings.cache_clear()
    assert egress_dns_servers() == ["1.1.1.1", "8.8.8.8"]


def test_egress_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker_network.os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxError, match="need root"):
        docker_network.ensure_egress_network(client=None)


# --- the rules, live, between namespaces of this test ----------------------------------------------

_SERVER = textwrap.dedent(
    """
    import socket, sys, threading
    def serve(addr, port):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen()
        while True:
            c, _ = s.accept()
            c.sendall(b"hi")
            c.close()
    for spec in sys.argv[1:]:
        addr, port = spec.rsplit(":", 1)
        threading.Thread(target=serve, args=(addr, int(port)), daemon=True).start()
    print("up", flush=True)
    threading.Event().wait()
    """
)
_CLIENT = textwrap.dedent(
    """
    import socket, sys
    for spec in sys.argv[1:]:
        addr, port = spec.rsplit(":", 1)
        try:
            with socket.create_connection((addr, int(port)), timeout=3) as c:
                print(spec, c.recv(2).decode())
        except OSError as exc:
            print(spec, type(exc).__name__)
    """
)


class Topology:
    """Namespaces of one test: ``sb`` (the sandbox) behind ``rt`` (the host), with ``wan`` and ``lan``."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns = {name: f"rgymt-{name}-{tag}" for name in ("rt", "sb", "wan", "lan")}
        self.servers: list[subprocess.Popen[str]] = []

    def sh(self, ns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["ip", "netns", "exec", self.ns[ns], *argv], capture_output=True, text=True, timeout=60
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{ns}: {' '.join(argv)}: {proc.stderr}")
        return proc

    def build(self) -> None:
        for name in self.ns.values():
            subprocess.run(["ip", "netns", "add", name], check=True)
        links = [  # (router side, far namespace, router address, far address)
            (EGRESS_BRIDGE, "sb", "10.200.0.1/24", "10.200.0.2/24"),
            ("rgymt-wan", "wan", "198.51.100.1/24", "198.51.100.2/24"),
            ("rgymt-lan", "lan", "10.77.0.1/24", "10.77.0.2/24"),
        ]
        for near, far, near_ip, far_ip in links:
            subprocess.run(
                [
                    "ip",
                    "link",
                    "add",
                    "rgymt-tmp",
                    "netns",
                    self.ns["rt"],
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "eth0",
                    "netns",
                    self.ns[far],
                ],
                check=True,
            )
            self.sh("rt", "ip", "link", "set", "rgymt-tmp", "name", near)
            self.sh("rt", "ip", "addr", "add", near_ip, "dev", near)
            self.sh("rt", "ip", "link", "set", near, "up")
            self.sh(far, "ip", "addr", "add", far_ip, "dev", "eth0")
            self.sh(far, "ip", "link", "set", "eth0", "up")
            self.sh(far, "ip", "link", "set", "lo", "up")
            self.sh(far, "ip", "route", "add", "default", "via", near_ip.split("/")[0])
        self.sh("rt", "ip", "link", "set", "lo", "up")
        self.sh("rt", "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # beyond the uplink: a "public" host; on the LAN: a DNS server and the metadata address
        self.sh("wan", "ip", "addr", "add", "203.0.113.10/32", "dev", "lo")
        self.sh("rt", "ip", "route", "add", "203.0.113.0/24", "via", "198.51.100.2")
        for extra in ("10.77.0.53/32", "169.254.169.254/32"):
            self.sh("lan", "ip", "addr", "add", extra, "dev", "lo")
        self.sh("rt", "ip", "route", "add", "169.254.169.254/32", "via", "10.77.0.2")
        # what Docker makes: a DOCKER-USER chain the FORWARD chain jumps to first
        self.sh("rt", "iptables", "-w", "-N", "DOCKER-USER")
        self.sh("rt", "iptables", "-w", "-A", "FORWARD", "-j", "DOCKER-USER")

    def serve(self, ns: str, *specs: str) -> None:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns[ns], sys.executable, "-c", _SERVER, *specs],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.servers.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"

    def connect(self, *specs: str) -> dict[str, str]:
        out = self.sh("sb", sys.executable, "-c", _CLIENT, *specs).stdout
        return dict(line.split(" ", 1) for line in out.splitlines())

    def tear_down(self) -> None:
        for proc in self.servers:
            proc.kill()
            proc.wait()
        for name in self.ns.values():
            subprocess.run(["ip", "netns", "delete", name], check=False)


@pytest.fixture
def topology() -> Iterator[Topology]:
    topo = Topology()
    try:
        topo.build()
        yield topo
    finally:
        topo.tear_down()


@needs_netns
def test_live_connections_through_the_rules(topology: Topology) -> None:
    def iptables(args: list[str]) -> subprocess.CompletedProcess[str]:
        return topology.sh("rt", "iptables", "-w", *args, check=False)

    lan = subnets_of(topology.sh("rt", "ip", "-j", "-4", "addr", "show").stdout)
    assert sorted(lan) == ["10.77.0.0/24", "198.51.100.0/24"]
    topology.serve("wan", "203.0.113.10:80", "198.51.100.2:80")
    topology.serve("lan", "10.77.0.2:80", "10.77.0.53:53", "10.77.0.53:80", "169.254.169.254:80")
    topology.serve("rt", "10.200.0.1:8080", "198.51.100.1:8080", "10.77.0.1:8080")
    targets = [
        "203.0.113.10:80",  # the outside
        "10.77.0.53:53",  # the DNS server, on port 53 only
        "10.77.0.2:80",  # a LAN host
        "10.77.0.53:80",
        "169.254.169.254:80",  # cloud metadata
        "198.51.100.2:80",  # a neighbour on the host's uplink subnet
        "10.200.0.1:8080",  # the host, through the gateway address
        "198.51.100.1:8080",  # the host, through its other addresses
        "10.77.0.1:8080",
    ]
    before = topology.connect(*targets)
    assert set(before.values()) == {"hi"}  # without rules every one answers: the test can tell
    install_firewall(EGRESS_BRIDGE, ["10.77.0.53"], lan, run=iptables)
    again: list[list[str]] = []

    def recording(args: list[str]) -> subprocess.CompletedProcess[str]:
        again.append(args)
        return iptables(args)

    install_firewall(EGRESS_BRIDGE, ["10.77.0.53"], lan, run=recording)
    assert not [a for a in again if a[0] in ("-F", "-A", "-I", "-N")]  # in place already: nothing rewritten
    assert iptables(["-S", "DOCKER-USER"]).stdout.count(CHAIN_FORWARD) == 1
    after = topology.connect(*targets)
    assert after.pop("203.0.113.10:80") == "hi"
    assert after.pop("10.77.0.53:53") == "hi"
    assert set(after.values()) == {"OSError"}, after  # refused at once (EHOSTUNREACH), not timed out
    docker_network.remove_firewall(run=iptables)
    assert topology.connect("10.77.0.2:80") == {"10.77.0.2:80": "hi"}


# --- the Docker network ----------------------------------------------------------------------------


def _iptables_rules(chain: str) -> list[str]:
    out = subprocess.run(["iptables", "-w", "-S", chain], capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if line.startswith("-A ")]


@pytest.mark.docker
@needs_netns
def test_docker_egress_sandboxes_get_rgyms_network(docker_client: Any) -> None:
    from gym_core.sandbox.docker_backend import DockerSandbox

    if docker_client.api.networks(names=[EGRESS_NETWORK]) and any(
        c for c in docker_client.api.inspect_network(EGRESS_NETWORK).get("Containers", {})
    ):
        pytest.skip("the egress network is in use by a live run")
    cfg = SandboxConfig(
        limits=Limits(memory_mb=256, pids=64, disk_mb=32, network=Network.EGRESS),
        labels={LABEL_RUN: f"test-{uuid.uuid4().hex[:10]}"},
    )
    sb = DockerSandbox(cfg)
    try:
        sb.start()
        net = docker_client.api.inspect_network(EGRESS_NETWORK)
        assert net["Labels"]["rgym.managed"] == "1"
        assert net["Options"]["com.docker.network.bridge.name"] == EGRESS_BRIDGE
        assert net["Options"]["com.docker.network.bridge.enable_icc"] == "false"
        assert sb.container_id in net["Containers"]
        host_config = docker_client.api.inspect_container(sb.container_id)["HostConfig"]
        assert host_config["NetworkMode"] == EGRESS_NETWORK
        assert (host_config["Dns"] or []) == egress_dns_servers()
        # the rules rgym wants are the ones in force, hooked for this bridge only
        wanted = firewall_rules(egress_dns_servers(), docker_network.host_subnets())
        for chain in (CHAIN_FORWARD, CHAIN_INPUT):
            assert [docker_network._normal(r) for r in _iptables_rules(chain)] == [
                docker_network._normal(f"-A {chain} " + " ".join(r)) for r in wanted[chain]
            ]
        assert f"-A DOCKER-USER -i {EGRESS_BRIDGE} -j {CHAIN_FORWARD}" in _iptables_rules("DOCKER-USER")
        assert f"-A INPUT -i {EGRESS_BRIDGE} -j {CHAIN_INPUT}" in _iptables_rules("INPUT")
        # inside: Docker's embedded resolver, a default route, no IPv6 (so no way around the IPv4 rules)
        r = sb.exec(
            "grep ^nameserver /etc/resolv.conf; cat /proc/sys/net/ipv6/conf/all/disable_ipv6; "
            'awk \'$2 == "00000000" {print "default"}\' /proc/net/route; grep -c . /proc/net/if_inet6 || true',
            timeout_s=20,
        )
        assert r.stdout.split() == ["nameserver", "127.0.0.11", "1", "default", "0"]
    finally:
        sb.stop()
        for _ in range(50):
            if remove_egress_network(docker_client):
                break
            time.sleep(0.1)
    assert not docker_client.api.networks(names=[EGRESS_NETWORK])
    assert _iptables_rules(CHAIN_FORWARD) == [] and CHAIN_FORWARD not in " ".join(
        _iptables_rules("DOCKER-USER")
    )
