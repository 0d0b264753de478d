"""The filtering HTTP(S) proxy of an egress sandbox whose task has ``blocked_urls``.

The sandbox has no route anywhere but to this proxy (see :mod:`gym_core.sandbox.docker_network`), which
runs in the rgym process, one per sandbox, and is the sandbox's only way out:

- plain HTTP (``GET http://host/path``): the full URL is matched against the patterns
  (:mod:`gym_core.sandbox.url_patterns`); the request goes upstream in origin form with ``Host`` set to
  the URL's own authority and ``Connection: close``, so one connection carries one checked request (no
  pipelined second request, no virtual-host smuggling). A request body is relayed by its
  ``Content-Length``; a chunked request body is refused (411);
- HTTPS (``CONNECT host:443``): only the host is known (the path is encrypted), so the tunnel is refused
  when any pattern could match a URL on that host (or on the host under any port);
- a target named by an IP address, or by any name that resolves to an address of a host a pattern names
  (``http://93.184.216.34/...``, ``http://2130706433/...``, a CDN alias), is checked as that host too;
- every destination is resolved here, once, and the connection goes to the very address checked (no DNS
  rebinding): the ranges the plain egress network refuses (:mod:`gym_core.sandbox.local_ranges`: private,
  shared, loopback, link-local, multicast, reserved), the host's own subnets and every IPv6 address that is
  not global are refused, but for ``RGYM_EGRESS_PROXY_ALLOW``.

Every refusal gets a clear answer (``403``, a body saying why) and is kept as a :class:`Refusal` until the
owner takes it (:meth:`EgressProxy.take_refusals`); the environment records it in the step's trace.
"""

from __future__ import annotations

import contextlib
import ipaddress
import select
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from gym_core.sandbox.local_ranges import BLOCKED_RANGES
from gym_core.sandbox.url_patterns import UrlPatterns, canonical_host

#: A refusal's reasons.
BLOCKED_URL = "blocked_url"
LOCAL_ADDRESS = "local_address"
BAD_REQUEST = "bad_request"
UNREACHABLE = "unreachable"

_HEAD_LIMIT = 64 * 1024
_HEAD_TIMEOUT_S = 30.0
_CONNECT_TIMEOUT_S = 20.0
_IDLE_TIMEOUT_S = 600.0
_MAX_CONNECTIONS = 64
_MAX_REFUSALS = 1000
_DNS_TTL_S = 60.0
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
        "host",
    }
)
Resolver = Callable[[str, int], list[str]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Refusal:
    """One request the proxy refused."""

    at: str
    """When, ISO 8601 UTC."""
    method: str
    """``GET``, ``CONNECT``..."""
    target: str
    """The URL asked for, or ``host:port`` for a tunnel."""
    reason: str
    """``blocked_url`` (a pattern matched), ``local_address``, ``bad_request`` or ``unreachable``."""
    pattern: str | None = None
    """The blocked_urls pattern that matched."""

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the trace."""
        return asdict(self)

    def describe(self) -> str:
        """One line for the agent (the pattern is not shown: only that the task blocks it)."""
        what = {
            BLOCKED_URL: "blocked by the task (blocked_urls)",
            LOCAL_ADDRESS: "a local or reserved address (the host, a private network, link-local): not reachable",
            BAD_REQUEST: "not a proxy request this sandbox may make",
            UNREACHABLE: "could not be resolved or reached",
        }.get(self.reason, self.reason)
        return f"{self.method} {self.target}: {what}"


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (IPv4 first), [] when it does not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    addrs: list[str] = []
    for family, *_rest, sockaddr in infos:
        addr = str(sockaddr[0])
        if addr not in addrs and family in (socket.AF_INET, socket.AF_INET6):
            addrs.append(addr)
    return sorted(addrs, key=lambda a: ":" in a)


class DestinationPolicy:
    """Which addresses the proxy connects to: none of the local ones (as the egress firewall refuses), but
    the allowed exceptions.

    Args:
        local: refused networks beyond :data:`~gym_core.sandbox.local_ranges.BLOCKED_RANGES` (the host's
            own subnets).
        allow: exceptions, ``IP``, ``CIDR`` or ``IP:port`` (``RGYM_EGRESS_PROXY_ALLOW``).
    """

    def __init__(self, local: Sequence[str] = (), allow: Sequence[str] = ()) -> None:
        self.local: list[Network] = [ipaddress.ip_network(n, strict=False) for n in (*BLOCKED_RANGES, *local)]
        self.allow: list[tuple[Network, int | None]] = [_allow_entry(a) for a in allow]

    def permits(self, addr: str, port: int) -> bool:
        """True when the proxy may connect to ``addr:port``."""
        ip: Address = ipaddress.ip_address(addr)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        for net, allowed_port in self.allow:
            if ip in net and (allowed_port is None or allowed_port == port):
                return True
        if isinstance(ip, ipaddress.IPv6Address) and not ip.is_global:
            return False  # loopback, link-local, unique-local, ... (sandboxes have no IPv6 of their own)
        return not any(ip in n for n in self.local if n.version == ip.version)


def _allow_entry(text: str) -> tuple[Network, int | None]:
    """``10.1.2.3``, ``10.1.0.0/16``, ``10.1.2.3:3128`` or ``[fd00::1]:3128``."""
    text = text.strip()
    port: int | None = None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else None
        text = host
    elif text.count(":") == 1:
        text, port_text = text.split(":")
        port = int(port_text)
    return ipaddress.ip_network(text, strict=False), port


class EgressProxy:
    """One sandbox's filtering proxy (see the module docstring). Start it, give the sandbox its address."""

    def __init__(
        self,
        patterns: Sequence[str],
        *,
        bind_host: str = "127.0.0.1",
        policy: DestinationPolicy | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.patterns = UrlPatterns(patterns)
        self.bind_host = bind_host
        self.policy = policy or DestinationPolicy()
        self.resolve = resolver
        self._refusals: list[Refusal] = []
        self._dropped = 0
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._slots = threading.BoundedSemaphore(_MAX_CONNECTIONS)
        self._blocked_ips: dict[str, set[str]] = {}
        self._blocked_ips_at = 0.0

    # --- lifecycle ---------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port it listens on (after start)."""
        assert self._server is not None, "start() the proxy first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://<bind host>:<port>``: what HTTP_PROXY and HTTPS_PROXY say."""
        return f"http://{self.bind_host}:{self.port}"

    def start(self) -> int:
        """Listen on ``bind_host`` (an ephemeral port) and serve in daemon threads; the port."""
        if self._server is None:
            proxy = self

            class Handler(socketserver.BaseRequestHandler):
                def handle(self) -> None:
                    proxy._serve(self.request)

            class Server(socketserver.ThreadingTCPServer):
                daemon_threads = True
                allow_reuse_address = True
                request_queue_size = 64

            self._server = Server((self.bind_host, 0), Handler)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
            )
            self._thread.start()
        return self.port

    def close(self) -> None:
        """Stop listening and cut every open connection."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def take_refusals(self) -> tuple[list[Refusal], int]:
        """The refusals since the last call, and how many more were not kept (past 1000)."""
        with self._lock:
            taken, self._refusals = self._refusals, []
            dropped, self._dropped = self._dropped, 0
        return taken, dropped

    # --- decisions ---------------------------------------------------------------------------------

    def _refuse(self, method: str, target: str, reason: str, pattern: str | None = None) -> Refusal:
        refusal = Refusal(
            at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            method=method,
            target=target[:2000],
            reason=reason,
            pattern=pattern,
        )
        with self._lock:
            if len(self._refusals) < _MAX_REFUSALS:
                self._refusals.append(refusal)
            else:
                self._dropped += 1
        return refusal

    def _hosts_at(self, addrs: Sequence[str]) -> set[str]:
        """The hosts named by patterns that resolve to any of ``addrs`` (re-resolved every minute)."""
        now = time.monotonic()
        if now - self._blocked_ips_at > _DNS_TTL_S:
            table: dict[str, set[str]] = {}
            for name in self.patterns.literal_hosts():
                for addr in self.resolve(name, 443):
                    table.setdefault(addr, set()).add(name)
            with self._lock:
                # union with what was seen before: round-robin DNS gives a few addresses at a time
                for addr, names in table.items():
                    self._blocked_ips.setdefault(addr, set()).update(names)
                self._blocked_ips_at = now
        with self._lock:
            return {name for addr in addrs for name in self._blocked_ips.get(addr, ())}

    def check_url(self, url: str, addrs: Sequence[str]) -> str | None:
        """The pattern blocking ``url`` (also as every blocked host sharing its addresses), or None."""
        pattern = self.patterns.match_url(url)
        if pattern is not None:
            return pattern
        parts = urlsplit(url)
        for name in sorted(self._hosts_at(addrs)):
            port = f":{parts.port}" if parts.port else ""
            alias = parts._replace(netloc=f"{name}{port}").geturl()
            pattern = self.patterns.match_url(alias)
            if pattern is not None:
                return pattern
        return None

    def check_host(self, host: str, port: int, addrs: Sequence[str]) -> str | None:
        """The pattern refusing a tunnel to ``host:port`` (any port of a blocked host counts), or None."""
        for name in [host, *sorted(self._hosts_at(addrs))]:
            for p in (port, 443, 80):
                pattern = self.patterns.match_host(name, p)
                if pattern is not None:
                    return pattern
        return None

    # --- serving -----------------------------------------------------------------------------------

    def _serve(self, client: socket.socket) -> None:
        if not self._slots.acquire(blocking=False):
            _answer(client, 503, "rgym proxy: too many connections from this sandbox at once")
            return
        with self._lock:
            self._open.add(client)
        upstream: socket.socket | None = None
        try:
            client.settimeout(_HEAD_TIMEOUT_S)
            head, rest = _read_head(client)
            if head is None:
                return
            upstream = self._handle(client, head, rest)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with self._lock:
                        self._open.discard(sock)
                    with contextlib.suppress(OSError):
                        sock.close()
            self._slots.release()

    def _handle(self, client: socket.socket, head: bytes, rest: bytes) -> socket.socket | None:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            refusal = self._refuse("?", lines[0][:200], BAD_REQUEST)
            _answer(client, 400, refusal.describe())
            return None
        method, target, _version = parts
        headers = [tuple(line.split(":", 1)) for line in lines[1:] if ":" in line]
        if method.upper() == "CONNECT":
            return self._tunnel(client, target, rest)
        return self._forward(client, method, target, headers, rest)  # type: ignore[arg-type]

    def _tunnel(self, client: socket.socket, target: str, rest: bytes) -> socket.socket | None:
        host, port = _split_host_port(target)
        if host is None or port is None:
            _answer(client, 400, self._refuse("CONNECT", target, BAD_REQUEST).describe())
            return None
        addrs = self.resolve(host, port)
        pattern = self.check_host(host, port, addrs)
        if pattern is not None:
            _answer(client, 403, self._refuse("CONNECT", target, BLOCKED_URL, pattern).describe())
            return None
        upstream = self._connect(client, "CONNECT", target, addrs, port)
        if upstream is None:
            return None
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest:
            upstream.sendall(rest)
        _relay(client, upstream, both_ways=True)
        return upstream

    def _forward(
        self,
        client: socket.socket,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        rest: bytes,
    ) -> socket.socket | None:
        parts = urlsplit(target)
        if parts.scheme.lower() != "http" or not parts.hostname:
            why = (
                "use CONNECT for https"
                if parts.scheme.lower() == "https"
                else "send absolute http:// URLs (this is a proxy)"
            )
            refusal = self._refuse(method, target, BAD_REQUEST)
            _answer(client, 400, f"{refusal.describe()} ({why})")
            return None
        try:
            port = parts.port or 80
        except ValueError:
            _answer(client, 400, self._refuse(method, target, BAD_REQUEST).describe())
            return None
        addrs = self.resolve(parts.hostname, port)
        try:
            pattern = self.check_url(target, addrs)
        except ValueError:
            _answer(client, 400, self._refuse(method, target, BAD_REQUEST).describe())
            return None
        if pattern is not None:
            _answer(client, 403, self._refuse(method, target, BLOCKED_URL, pattern).describe())
            return None
        names = {k.strip().lower(): v.strip() for k, v in headers}
        if "transfer-encoding" in names:
            _answer(client, 411, "rgym proxy: send request bodies with a Content-Length")
            return None
        try:
            length = int(names.get("content-length", "0"))
        except ValueError:
            length = -1
        if length < 0:
            _answer(client, 400, self._refuse(method, target, BAD_REQUEST).describe())
            return None
        upstream = self._connect(client, method, target, addrs, port)
        if upstream is None:
            return None
        authority = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        if parts.port:
            authority += f":{parts.port}"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        out = [f"{method} {path} HTTP/1.1", f"Host: {authority}"]
        out += [f"{k.strip()}: {v.strip()}" for k, v in headers if k.strip().lower() not in _HOP_BY_HOP]
        out.append("Connection: close")
        upstream.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
        body = rest[:length]
        if body:
            upstream.sendall(body)
        left = length - len(body)
        client.settimeout(_IDLE_TIMEOUT_S)
        while left > 0:
            chunk = client.recv(min(65536, left))
            if not chunk:
                break
            upstream.sendall(chunk)
            left -= len(chunk)
        # the answer, until the server closes; nothing more is read from the client (one request only)
        _relay(upstream, client, both_ways=False)
        return upstream

    def _connect(
        self, client: socket.socket, method: str, target: str, addrs: Sequence[str], port: int
    ) -> socket.socket | None:
        if not addrs:
            _answer(client, 502, self._refuse(method, target, UNREACHABLE).describe())
            return None
        permitted = [a for a in addrs if self.policy.permits(a, port)]
        if not permitted:
            _answer(client, 403, self._refuse(method, target, LOCAL_ADDRESS).describe())
            return None
        for addr in permitted:
            try:
                upstream = socket.create_connection((addr, port), timeout=_CONNECT_TIMEOUT_S)
            except OSError:
                continue
            with self._lock:
                self._open.add(upstream)
            upstream.settimeout(_IDLE_TIMEOUT_S)
            return upstream
        _answer(client, 502, self._refuse(method, target, UNREACHABLE).describe())
        return None


def _split_host_port(target: str) -> tuple[str | None, int | None]:
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = target.rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        return None, None
    if not host or not 0 < port < 65536:
        return None, None
    return canonical_host(host) or None, port


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > _HEAD_LIMIT:
            _answer(sock, 431, "rgym proxy: request head too large")
            return None, b""
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _answer(sock: socket.socket, status: int, message: str) -> None:
    reason = {
        400: "Bad Request",
        403: "Forbidden",
        411: "Length Required",
        431: "Request Header Fields Too Large",
        502: "Bad Gateway",
        503: "Service Unavailable",
    }.get(status, "Error")
    body = f"rgym: {message}\n".encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nX-Rgym-Refused: 1\r\nConnection: close\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        sock.sendall(head.encode("latin-1") + body)


def _relay(a: socket.socket, b: socket.socket, *, both_ways: bool) -> None:
    """Copy a -> b (and b -> a when ``both_ways``) until one side closes or stays idle too long."""
    pairs = {a: b, b: a} if both_ways else {a: b}
    while True:
        readable, _, _ = select.select(list(pairs), [], [], _IDLE_TIMEOUT_S)
        if not readable:
            return
        for src in readable:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            pairs[src].sendall(data)
