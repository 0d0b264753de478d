"""The raw Docker stream protocol: hijacked connections of ``exec`` and ``attach``, and their frames.

Docker's ``POST /exec/{id}/start`` and ``POST /containers/{id}/attach`` answer with an HTTP upgrade, after
which the connection carries the process's stdin one way and its stdout and stderr the other, multiplexed
in frames (when there is no TTY): an 8-byte header (stream id 1 or 2, 3 pad bytes, big-endian size) then
the payload.

On a unix socket we speak the upgrade request ourselves and read the response head byte by byte: docker-py
parses it through a buffered reader that may swallow the first bytes of the stream (an exec that fails at
once, e.g. an unknown user, would lose its only output). Other transports go through docker-py.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from gym_core.errors import SandboxError

STDOUT = 1
STDERR = 2


def _open_upgraded(api: Any, path: str, body: bytes, what: str) -> socket.socket:
    """POST ``path`` on the engine's unix socket with an upgrade, and return the raw connection."""
    socket_path = api._custom_adapter.socket_path
    head = (
        f"POST /v{api._version}{path} HTTP/1.1\r\n"
        "Host: docker\r\nContent-Type: application/json\r\n"
        f"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(60)
        sock.connect(socket_path)
        sock.sendall(head + body)
        response = b""
        while not response.endswith(b"\r\n\r\n"):
            byte = sock.recv(1)
            if not byte:
                break
            response += byte
        status_line = response.split(b"\r\n", 1)[0].decode(errors="replace")
        parts = status_line.split()
        if len(parts) < 2 or parts[1] not in ("101", "200"):
            detail = sock.recv(4096).decode(errors="replace").strip()
            raise SandboxError(f"docker {what} could not start: {status_line} {detail}".strip())
        sock.settimeout(None)
    except OSError as exc:
        sock.close()
        raise SandboxError(f"docker {what} could not start: {exc}") from exc
    except BaseException:
        sock.close()
        raise
    return sock


def _on_unix_socket(api: Any) -> bool:
    return bool(getattr(getattr(api, "_custom_adapter", None), "socket_path", None))


def open_exec_stream(api: Any, exec_id: str) -> tuple[Any, socket.socket]:
    """Start a created exec and return (the object to close, its raw connection)."""
    if not _on_unix_socket(api):
        sock_io = api.exec_start(exec_id, socket=True, tty=False)
        return sock_io, getattr(sock_io, "_sock", sock_io)
    sock = _open_upgraded(api, f"/exec/{exec_id}/start", b'{"Detach": false, "Tty": false}', "exec")
    return sock, sock


def open_attach_stream(api: Any, container_id: str) -> tuple[Any, socket.socket]:
    """Attach to a container's main process (stdout and stderr, from now on; call it before start)."""
    if not _on_unix_socket(api):
        params = {"stdout": 1, "stderr": 1, "stream": 1, "logs": 0}
        sock_io = api.attach_socket(container_id, params=params)
        return sock_io, getattr(sock_io, "_sock", sock_io)
    path = f"/containers/{container_id}/attach?stream=1&stdout=1&stderr=1&logs=0"
    sock = _open_upgraded(api, path, b"", "attach")
    return sock, sock


def read_frames(sock: socket.socket, sink: Callable[[int, bytes], None]) -> None:
    """Feed every frame's payload to ``sink(stream_id, data)`` until the connection ends."""
    buf = b""
    need_header = True
    stream, size = 0, 0
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except OSError:
            return
        if not chunk:
            return
        buf += chunk
        while True:
            if need_header:
                if len(buf) < 8:
                    break
                stream, size = struct.unpack(">BxxxL", buf[:8])
                buf = buf[8:]
                need_header = False
            if not buf and size:
                break
            take = buf[:size]
            buf = buf[len(take) :]
            size -= len(take)
            sink(stream, take)
            if size == 0:
                need_header = True
            else:
                break


def write_stdin(sock: socket.socket, data: bytes) -> None:
    """Feed stdin then half-close, so the command sees EOF."""
    try:
        view = memoryview(data)
        for i in range(0, len(view), 1 << 20):
            sock.sendall(view[i : i + (1 << 20)])
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return  # the command exited without reading all of it, or we hung up after a timeout


def close_stream(closer: Any, sock: socket.socket) -> None:
    """Hang up a hijacked connection (never raises)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(Exception):
        closer.close()


def wait_exit_code(api: Any, exec_id: str, *, within_s: float = 5.0) -> int | None:
    """The exit code of a finished exec (None when it still runs after ``within_s``)."""
    deadline = time.monotonic() + within_s
    while True:
        info = api.exec_inspect(exec_id)
        if not info.get("Running", False) or time.monotonic() > deadline:
            code = info.get("ExitCode")
            return None if code is None else int(code)
        time.sleep(0.02)
