"""The filtering proxy on its own, between sockets of this test (the Docker wiring is in test_blocked_urls)."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from gym_core.sandbox.egress_proxy import (
    BAD_REQUEST,
    BLOCKED_URL,
    LOCAL_ADDRESS,
    DestinationPolicy,
    EgressProxy,
)


class _Site(http.server.BaseHTTPRequestHandler):
    """The paper's site: answers with what it was asked, and keeps every request line it saw."""

    seen: ClassVar[list[tuple[str, str, str]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).seen.append((self.command, self.path, self.headers.get("Host", "")))
        out = f"{self.command} {self.path} host={self.headers.get('Host')} body={body.decode()}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site() -> Iterator[int]:
    _Site.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _resolver(host: str, port: int) -> list[str]:
    """paper.test and mirror.test are this machine (as a CDN alias would be); IPs resolve to themselves."""
    if host in ("paper.test", "mirror.test", "localhost"):
        return ["127.0.0.1"]
    try:
        socket.inet_aton(host)
    except OSError:
        return []
    return [socket.inet_ntoa(socket.inet_aton(host))]  # 2130706433 -> 127.0.0.1, as getaddrinfo does


@pytest.fixture
def proxy(site: int) -> Iterator[EgressProxy]:
    px = EgressProxy(
        [f"paper.test:{site}/paper/*"], policy=DestinationPolicy(allow=["127.0.0.1"]), resolver=_resolver
    )
    px.start()
    yield px
    px.close()


def _ask(proxy: EgressProxy, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def _get(proxy: EgressProxy, url: str, *headers: str) -> bytes:
    head = "\r\n".join([f"GET {url} HTTP/1.1", *headers, "", ""])
    return _ask(proxy, head.encode())


def test_an_allowed_url_is_fetched_and_a_blocked_one_refused_and_recorded(
    proxy: EgressProxy, site: int
) -> None:
    ok = _get(proxy, f"http://paper.test:{site}/code/ok", f"Host: paper.test:{site}")
    assert ok.startswith(b"HTTP/1.0 200") and b"GET /code/ok host=paper.test" in ok
    refused = _get(proxy, f"http://paper.test:{site}/paper/1234", f"Host: paper.test:{site}")
    assert refused.startswith(b"HTTP/1.1 403") and b"blocked by the task (blocked_urls)" in refused
    assert [s[1] for s in _Site.seen] == ["/code/ok"]  # the site never saw the blocked request
    [refusal], dropped = proxy.take_refusals()
    assert dropped == 0 and refusal.reason == BLOCKED_URL and refusal.method == "GET"
    assert refusal.target == f"http://paper.test:{site}/paper/1234"
    assert refusal.pattern == f"paper.test:{site}/paper/*"
    assert proxy.take_refusals() == ([], 0)  # taken once


@pytest.mark.parametrize(
    "spelling",
    [
        "http://127.0.0.1:{port}/paper/1",  # the blocked host's address
        "http://2130706433:{port}/paper/1",  # the same address as one number
        "http://mirror.test:{port}/paper/1",  # another name for the same address
        "http://PAPER.test.:{port}/x/../paper/1",
        "http://paper.test:{port}/paper%2F1",
    ],
)
def test_other_spellings_of_a_blocked_url_are_refused(proxy: EgressProxy, site: int, spelling: str) -> None:
    refused = _get(proxy, spelling.format(port=site))
    assert refused.startswith(b"HTTP/1.1 403"), refused
    assert _Site.seen == []


def test_the_host_header_cannot_name_another_site_and_one_connection_carries_one_request(
    proxy: EgressProxy, site: int
) -> None:
    # an allowed URL with a blocked host in Host, then a pipelined request for the blocked page
    raw = (
        f"GET http://localhost:{site}/code/ok HTTP/1.1\r\nHost: paper.test:{site}\r\n\r\n"
        f"GET /paper/1 HTTP/1.1\r\nHost: paper.test:{site}\r\n\r\n"
    ).encode()
    px = EgressProxy(
        ["paper.test/paper/*"], policy=DestinationPolicy(allow=["127.0.0.0/8"]), resolver=_resolver
    )
    px.start()
    try:
        answer = _ask(px, raw)
    finally:
        px.close()
    assert b"host=localhost:" in answer
    assert [(s[1], s[2]) for s in _Site.seen] == [("/code/ok", f"localhost:{site}")]


def test_a_tunnel_to_a_blocked_host_is_refused_and_to_another_host_relays(
    proxy: EgressProxy, site: int
) -> None:
    refused = _ask(proxy, f"CONNECT paper.test:{site} HTTP/1.1\r\n\r\n".encode())
    assert refused.startswith(b"HTTP/1.1 403")
    refused_ip = _ask(proxy, f"CONNECT 127.0.0.1:{site} HTTP/1.1\r\n\r\n".encode())
    assert refused_ip.startswith(b"HTTP/1.1 403")  # the blocked host's address, as a tunnel
    assert [r.method for r in proxy.take_refusals()[0]] == ["CONNECT", "CONNECT"]
    px = EgressProxy(["elsewhere.test/x"], policy=DestinationPolicy(allow=["127.0.0.1"]), resolver=_resolver)
    px.start()
    try:
        tunnelled = _ask(
            px,
            f"CONNECT localhost:{site} HTTP/1.1\r\n\r\nGET /inside HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
        )
    finally:
        px.close()
    assert tunnelled.startswith(b"HTTP/1.1 200 Connection established") and b"GET /inside" in tunnelled


def test_local_addresses_are_refused_unless_allowed(site: int) -> None:
    px = EgressProxy(["elsewhere.test/paper/*"], resolver=_resolver)
    px.start()
    try:
        refused = _get(px, f"http://localhost:{site}/code/ok")
        refused_tunnel = _ask(px, f"CONNECT localhost:{site} HTTP/1.1\r\n\r\n".encode())
        reasons = [r.reason for r in px.take_refusals()[0]]
    finally:
        px.close()
    assert refused.startswith(b"HTTP/1.1 403") and b"a local or reserved address" in refused
    assert refused_tunnel.startswith(b"HTTP/1.1 403")
    assert reasons == [LOCAL_ADDRESS, LOCAL_ADDRESS] and _Site.seen == []
    policy = DestinationPolicy(local=["203.0.113.0/24"], allow=["10.1.2.3:3128"])
    assert not policy.permits("169.254.169.254", 80) and not policy.permits("::ffff:127.0.0.1", 80)
    assert not policy.permits("203.0.113.9", 443) and policy.permits("198.51.99.1", 443)
    assert policy.permits("10.1.2.3", 3128) and not policy.permits("10.1.2.3", 22)
    # the plain egress firewall's ranges, no more: private and shared ranges refused, public ones not
    default = DestinationPolicy()
    assert not any(default.permits(a, 80) for a in ("10.0.0.1", "172.17.0.1", "192.168.1.1", "100.64.0.1"))
    assert not default.permits("fe80::1", 80) and not default.permits("fd00::1", 80)
    assert default.permits("93.184.216.34", 80) and default.permits("2606:4700::1111", 443)


def test_requests_a_proxy_does_not_take_are_refused(proxy: EgressProxy, site: int) -> None:
    origin_form = _ask(proxy, f"GET /paper/1 HTTP/1.1\r\nHost: paper.test:{site}\r\n\r\n".encode())
    assert origin_form.startswith(b"HTTP/1.1 400") and b"this is a proxy" in origin_form
    chunked = _ask(
        proxy,
        f"POST http://paper.test:{site}/upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode(),
    )
    assert chunked.startswith(b"HTTP/1.1 411")
    body = b"x=1"
    posted = _ask(
        proxy,
        f"POST http://paper.test:{site}/upload HTTP/1.1\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body,
    )
    assert b"POST /upload" in posted and b"body=x=1" in posted
    assert [r.reason for r in proxy.take_refusals()[0]] == [BAD_REQUEST]
