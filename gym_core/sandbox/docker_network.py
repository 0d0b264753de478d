"""The network of ``network: egress`` Docker sandboxes: the outside, never the host or the local network.

Docker's default bridge lets a container reach the host's services, the LAN and the cloud metadata
address (169.254.169.254). Egress sandboxes get rgym's own bridge network instead:

- ``rgym-egress`` (bridge interface ``rgym-egress0``), labelled ``rgym.managed=1``, with inter-container
  traffic off (two sandboxes on it cannot talk to each other) and IPv6 off in the container;
- firewall rules (iptables) for packets coming in on that bridge: to the host itself (any of its
  addresses) they are rejected (chain ``RGYM-EGRESS-IN``, jumped to from ``INPUT``); forwarded ones to
  private, shared, link-local, loopback, multicast and reserved ranges and to every subnet the host is
  directly attached to are rejected (chain ``RGYM-EGRESS-FWD``, jumped to from ``DOCKER-USER``, which
  Docker evaluates before its own rules). Everything else is routed (and masqueraded) by Docker as usual.

Name resolution: the container asks Docker's embedded DNS server (127.0.0.11, inside the container),
which forwards to the servers rgym gives the container: ``RGYM_EGRESS_DNS`` when set, else the host's
upstream resolvers (the IPv4 nameservers of /etc/resolv.conf, or of systemd-resolved's upstream list when
the host only lists its 127.0.0.x stub). Those servers, on port 53 only, are the one exception to the
rules above, so a resolver on the LAN keeps working. With none found, Docker's public defaults apply.

Filtered egress (a task with ``blocked_urls``): the sandbox joins ``rgym-filtered`` (bridge
``rgym-filter0``) instead, where nothing is routed at all (chain ``RGYM-FILTER-FWD`` rejects every
forwarded packet from the bridge) and the host refuses everything from it (chain ``RGYM-FILTER-IN``) but
one TCP port per sandbox: its own filtering proxy (:mod:`gym_core.sandbox.egress_proxy`), which listens on
the bridge's gateway address and is allowed for that container's address only. No DNS, no other port, no
other host: ``--noproxy``, IP literals, raw sockets and other sandboxes' proxies all meet a reject.

Installing the rules needs root (CAP_NET_ADMIN) on the host: as a normal user egress sandboxes are refused.
They stay until reboot; ``rgym gc`` removes the networks and their rules when no container uses them.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gym_core.errors import SandboxError
from gym_core.sandbox.base import LABEL_MANAGED, LABEL_ROLE
from gym_core.sandbox.local_ranges import BLOCKED_RANGES
from gym_core.settings import get_settings

EGRESS_NETWORK = "rgym-egress"
EGRESS_BRIDGE = "rgym-egress0"
CHAIN_FORWARD = "RGYM-EGRESS-FWD"
CHAIN_INPUT = "RGYM-EGRESS-IN"
FILTERED_NETWORK = "rgym-filtered"
FILTERED_BRIDGE = "rgym-filter0"
CHAIN_FILTER_FORWARD = "RGYM-FILTER-FWD"
CHAIN_FILTER_INPUT = "RGYM-FILTER-IN"
#: The comment on a rule that lets one sandbox reach its proxy (so stale ones can be found).
PROXY_RULE_COMMENT = "rgym-egress-proxy"
_LOCK = Path("/run/lock/rgym-egress.lock")
#: Where the host's resolvers are listed: its own file, then systemd-resolved's upstream list.
RESOLV_CONFS = (Path("/etc/resolv.conf"), Path("/run/systemd/resolve/resolv.conf"))
#: How a rule's packets are refused: at once, so a connect() fails fast rather than hanging.
_REJECT = ["-j", "REJECT", "--reject-with", "icmp-admin-prohibited"]

Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


def egress_dns_servers() -> list[str]:
    """The DNS servers egress sandboxes forward to (see the module docstring); [] for Docker's defaults."""
    configured = get_settings().egress_dns
    if configured:
        return [s.strip() for s in configured.split(",") if s.strip()]
    for conf in RESOLV_CONFS:
        servers = _ipv4_nameservers(conf)
        if servers:
            return servers
    return []


def _ipv4_nameservers(conf: Path) -> list[str]:
    try:
        lines = conf.read_text().splitlines()
    except OSError:
        return []
    servers = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            with contextlib.suppress(ValueError):
                addr = ipaddress.ip_address(parts[1])
                if addr.version == 4 and not addr.is_loopback:
                    servers.append(str(addr))
    return servers


def host_subnets(exclude: Sequence[str] = (EGRESS_BRIDGE,)) -> list[str]:
    """Every IPv4 subnet this host is directly attached to (its LANs), from ``ip -j addr``."""
    ip = shutil.which("ip")
    if ip is None:
        return []
    try:
        out = subprocess.run([ip, "-j", "-4", "addr", "show"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    return subnets_of(out.stdout, exclude=exclude)


def subnets_of(ip_json: str, *, exclude: Sequence[str] = (EGRESS_BRIDGE,)) -> list[str]:
    """The IPv4 subnets in ``ip -j -4 addr`` output, but loopback and the ``exclude`` interfaces."""
    try:
        links = json.loads(ip_json or "[]")
    except ValueError:
        return []
    nets: list[str] = []
    for link in links:
        if link.get("ifname") in exclude:
            continue
        for info in link.get("addr_info", []):
            with contextlib.suppress(KeyError, ValueError):
                net = ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}").network
                if not net.is_loopback and str(net) not in nets:
                    nets.append(str(net))
    return nets


def firewall_rules(dns: Sequence[str], lan: Sequence[str]) -> dict[str, list[list[str]]]:
    """The rules of the two chains, as iptables arguments after ``-A <chain>``.

    Args:
        dns: DNS servers the sandbox may reach on port 53, wherever they are.
        lan: the host's own subnets, refused like the private ranges.
    """
    allow_dns = [
        ["-d", server, "-p", proto, "-m", proto, "--dport", "53", "-j", "RETURN"]
        for server in dns
        for proto in ("udp", "tcp")
    ]
    refused = list(BLOCKED_RANGES) + [n for n in lan if n not in BLOCKED_RANGES]
    return {
        CHAIN_FORWARD: [*allow_dns, *(["-d", net, *_REJECT] for net in refused), ["-j", "RETURN"]],
        CHAIN_INPUT: [*allow_dns, _REJECT],
    }


def _default_runner(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True, timeout=60)


def install_firewall(
    bridge: str,
    dns: Sequence[str],
    lan: Sequence[str],
    *,
    run: Runner = _default_runner,
    forward_hook: str | None = None,
) -> None:
    """Make (or remake) the two chains and hook them for packets coming in on ``bridge``. Idempotent.

    Args:
        run: runs one ``iptables`` command given its arguments (tests pass one for their own namespace).
        forward_hook: the chain to jump from for forwarded packets; default DOCKER-USER when it exists,
            else FORWARD.

    Raises:
        SandboxError: a rule could not be installed.
    """

    def must(args: list[str]) -> None:
        proc = run(args)
        if proc.returncode != 0:
            raise SandboxError(
                f"cannot install the egress firewall (iptables {' '.join(args)}): {proc.stderr.strip()}",
                hint="egress sandboxes need root and iptables on the host",
            )

    if forward_hook is None:
        forward_hook = "DOCKER-USER" if run(["-S", "DOCKER-USER"]).returncode == 0 else "FORWARD"
    for chain, rules in firewall_rules(dns, lan).items():
        if run(["-S", chain]).returncode != 0:
            must(["-N", chain])
        wanted = [f"-A {chain} " + " ".join(r) for r in rules]
        current = [line for line in run(["-S", chain]).stdout.splitlines() if line.startswith("-A ")]
        if [_normal(line) for line in current] != [_normal(line) for line in wanted]:
            must(["-F", chain])
            for rule in rules:
                must(["-A", chain, *rule])
    for hook, chain in ((forward_hook, CHAIN_FORWARD), ("INPUT", CHAIN_INPUT)):
        jump = ["-i", bridge, "-j", chain]
        if run(["-C", hook, *jump]).returncode != 0:
            must(["-I", hook, "1", *jump])


def _normal(rule: str) -> str:
    """A rule as ``iptables -S`` prints it, comparable with one we wrote (it adds /32 to hosts)."""
    return " ".join(w[:-3] if w.endswith("/32") else w for w in rule.split())


def remove_firewall(bridge: str = EGRESS_BRIDGE, *, run: Runner = _default_runner) -> None:
    """Unhook and delete the two chains (never raises)."""
    for hook, chain in (("DOCKER-USER", CHAIN_FORWARD), ("FORWARD", CHAIN_FORWARD), ("INPUT", CHAIN_INPUT)):
        while run(["-C", hook, "-i", bridge, "-j", chain]).returncode == 0:
            if run(["-D", hook, "-i", bridge, "-j", chain]).returncode != 0:
                break
    for chain in (CHAIN_FORWARD, CHAIN_INPUT):
        run(["-F", chain])
        run(["-X", chain])


@contextlib.contextmanager
def _machine_lock() -> Any:
    """One process at a time sets the network up (parallel attempts start egress sandboxes together)."""
    _LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(_LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_egress_network(client: Any) -> str:
    """The egress network's name, after making sure it and its firewall rules are in place.

    Raises:
        SandboxError: not root, no iptables, or the engine refused to make the network.
    """
    if os.geteuid() != 0 or shutil.which("iptables") is None:
        raise SandboxError(
            "egress sandboxes need root and iptables on the host: rgym installs firewall rules that keep "
            "them away from the host, the local network and 169.254.169.254",
            hint="run rgym as root, or give the task network: none",
        )
    import docker.errors

    with _machine_lock():
        try:
            client.api.inspect_network(EGRESS_NETWORK)
        except docker.errors.NotFound:
            client.api.create_network(
                EGRESS_NETWORK,
                driver="bridge",
                options={
                    "com.docker.network.bridge.name": EGRESS_BRIDGE,
                    "com.docker.network.bridge.enable_icc": "false",
                    "com.docker.network.bridge.enable_ip_masquerade": "true",
                },
                labels={LABEL_MANAGED: "1", LABEL_ROLE: "egress-network"},
                check_duplicate=True,
            )
        install_firewall(EGRESS_BRIDGE, egress_dns_servers(), host_subnets())
    return EGRESS_NETWORK


def remove_egress_network(client: Any, *, dry_run: bool = False) -> bool:
    """Remove the egress network and its rules when no container uses it. True when it was removed."""
    import docker.errors

    try:
        info = client.api.inspect_network(EGRESS_NETWORK)
    except docker.errors.NotFound:
        return False
    except Exception:
        return False
    if info.get("Containers") or (info.get("Labels") or {}).get(LABEL_MANAGED) != "1":
        return False
    if dry_run:
        return True
    with _machine_lock():
        try:
            client.api.remove_network(EGRESS_NETWORK)
        except docker.errors.APIError:
            return False  # a sandbox joined it meanwhile
        if os.geteuid() == 0 and shutil.which("iptables"):
            remove_firewall()
    return True


# --- filtered egress: a network with one way out, the sandbox's proxy ------------------------------


def _proxy_rule(container_ip: str, gateway: str, port: int) -> list[str]:
    return [
        "-s",
        container_ip,
        "-d",
        gateway,
        "-p",
        "tcp",
        "-m",
        "tcp",
        "--dport",
        str(port),
        "-m",
        "comment",
        "--comment",
        PROXY_RULE_COMMENT,
        "-j",
        "ACCEPT",
    ]


def install_filter_firewall(
    bridge: str, *, run: Runner = _default_runner, forward_hook: str | None = None
) -> None:
    """Make the two chains of the filtered network and hook them for ``bridge``. Idempotent; the proxy
    rules of live sandboxes are kept.

    Raises:
        SandboxError: a rule could not be installed.
    """

    def must(args: list[str]) -> None:
        proc = run(args)
        if proc.returncode != 0:
            raise SandboxError(
                f"cannot install the filtered egress firewall (iptables {' '.join(args)}): {proc.stderr.strip()}",
                hint="egress sandboxes need root and iptables on the host",
            )

    if forward_hook is None:
        forward_hook = "DOCKER-USER" if run(["-S", "DOCKER-USER"]).returncode == 0 else "FORWARD"
    for chain in (CHAIN_FILTER_FORWARD, CHAIN_FILTER_INPUT):
        if run(["-S", chain]).returncode != 0:
            must(["-N", chain])
        rules = [line for line in run(["-S", chain]).stdout.splitlines() if line.startswith("-A ")]
        last = f"-A {chain} " + " ".join(_REJECT)
        if not rules or rules[-1] != last:
            must(["-A", chain, *_REJECT])  # the catch-all reject ends the chain
    for hook, chain in ((forward_hook, CHAIN_FILTER_FORWARD), ("INPUT", CHAIN_FILTER_INPUT)):
        jump = ["-i", bridge, "-j", chain]
        if run(["-C", hook, *jump]).returncode != 0:
            must(["-I", hook, "1", *jump])


def allow_proxy(container_ip: str, gateway: str, port: int, *, run: Runner = _default_runner) -> None:
    """Let one container reach its proxy (and nothing else of the host).

    Raises:
        SandboxError: the rule could not be installed.
    """
    proc = run(["-I", CHAIN_FILTER_INPUT, "1", *_proxy_rule(container_ip, gateway, port)])
    if proc.returncode != 0:
        raise SandboxError(f"cannot open the egress proxy to the sandbox: {proc.stderr.strip()}")


def revoke_proxy(container_ip: str, gateway: str, port: int, *, run: Runner = _default_runner) -> None:
    """Remove the rule :func:`allow_proxy` made (never raises)."""
    rule = _proxy_rule(container_ip, gateway, port)
    for _ in range(10):
        if run(["-D", CHAIN_FILTER_INPUT, *rule]).returncode != 0:
            break


def prune_proxy_rules(live_ips: set[str], *, run: Runner = _default_runner) -> int:
    """Remove proxy rules of containers no longer on the filtered network (a crashed run's); how many."""
    removed = 0
    for line in run(["-S", CHAIN_FILTER_INPUT]).stdout.splitlines():
        words = line.split()
        if PROXY_RULE_COMMENT not in line or "-s" not in words:
            continue
        source = words[words.index("-s") + 1].removesuffix("/32")
        if source not in live_ips and run(["-D", *words[1:]]).returncode == 0:
            removed += 1
    return removed


def remove_filter_firewall(bridge: str = FILTERED_BRIDGE, *, run: Runner = _default_runner) -> None:
    """Unhook and delete the filtered network's chains (never raises)."""
    for hook, chain in (
        ("DOCKER-USER", CHAIN_FILTER_FORWARD),
        ("FORWARD", CHAIN_FILTER_FORWARD),
        ("INPUT", CHAIN_FILTER_INPUT),
    ):
        while run(["-C", hook, "-i", bridge, "-j", chain]).returncode == 0:
            if run(["-D", hook, "-i", bridge, "-j", chain]).returncode != 0:
                break
    for chain in (CHAIN_FILTER_FORWARD, CHAIN_FILTER_INPUT):
        run(["-F", chain])
        run(["-X", chain])


def _live_ips(info: dict[str, Any]) -> set[str]:
    ips = set()
    for container in (info.get("Containers") or {}).values():
        addr = str(container.get("IPv4Address") or "").split("/")[0]
        if addr:
            ips.add(addr)
    return ips


def filtered_gateway(info: dict[str, Any]) -> str:
    """The filtered network's gateway address (the host's side of the bridge), where proxies listen."""
    for config in (info.get("IPAM") or {}).get("Config") or []:
        gateway = config.get("Gateway")
        if gateway and ":" not in gateway:
            return str(gateway).split("/")[0]
    ip = shutil.which("ip")
    if ip is not None:
        out = subprocess.run(
            [ip, "-j", "-4", "addr", "show", "dev", FILTERED_BRIDGE], capture_output=True, text=True
        )
        for link in json.loads(out.stdout or "[]"):
            for addr in link.get("addr_info", []):
                return str(addr["local"])
    raise SandboxError(f"the {FILTERED_NETWORK} network has no IPv4 gateway address")


def ensure_filtered_network(client: Any) -> tuple[str, str]:
    """The filtered network's name and gateway, after making sure it and its rules are in place.

    Raises:
        SandboxError: not root, no iptables, or the engine refused to make the network.
    """
    if os.geteuid() != 0 or shutil.which("iptables") is None:
        raise SandboxError(
            "egress sandboxes with blocked_urls need root and iptables on the host: rgym installs firewall "
            "rules that leave them one way out, their filtering proxy",
            hint="run rgym as root, or give the task network: none",
        )
    import docker.errors

    with _machine_lock():
        try:
            info = client.api.inspect_network(FILTERED_NETWORK)
        except docker.errors.NotFound:
            client.api.create_network(
                FILTERED_NETWORK,
                driver="bridge",
                options={
                    "com.docker.network.bridge.name": FILTERED_BRIDGE,
                    "com.docker.network.bridge.enable_icc": "false",
                    "com.docker.network.bridge.enable_ip_masquerade": "false",
                },
                labels={LABEL_MANAGED: "1", LABEL_ROLE: "filtered-egress-network"},
                check_duplicate=True,
            )
            info = client.api.inspect_network(FILTERED_NETWORK)
        install_filter_firewall(FILTERED_BRIDGE)
        prune_proxy_rules(_live_ips(info))
    return FILTERED_NETWORK, filtered_gateway(info)


def container_ip(client: Any, container_id: str, network: str = FILTERED_NETWORK) -> str:
    """The container's IPv4 address on ``network``.

    Raises:
        SandboxError: it has none.
    """
    info = client.api.inspect_container(container_id)
    addr = ((info.get("NetworkSettings") or {}).get("Networks") or {}).get(network, {}).get("IPAddress")
    if not addr:
        raise SandboxError(f"container {container_id[:12]} has no address on {network}")
    return str(addr)


def remove_filtered_network(client: Any, *, dry_run: bool = False) -> bool:
    """Remove the filtered network and its rules when no container uses it. True when it was removed."""
    import docker.errors

    try:
        info = client.api.inspect_network(FILTERED_NETWORK)
    except Exception:
        return False
    if info.get("Containers") or (info.get("Labels") or {}).get(LABEL_MANAGED) != "1":
        return False
    if dry_run:
        return True
    with _machine_lock():
        try:
            client.api.remove_network(FILTERED_NETWORK)
        except docker.errors.APIError:
            return False
        if os.geteuid() == 0 and shutil.which("iptables"):
            remove_filter_firewall()
    return True
