"""The exec channel (gym_core/sandbox/exec_channel.py): one long-lived process per sandbox runs its commands.

Against the real backends: commands share one channel but each runs in a fresh process tree; an agent that
kills or stops its channel only slows itself (the step completes, the next one opens a new channel); the
agent can neither reach the channel's pipes nor its memory, so it cannot forge a later command's result.
And against a scripted transport: a frame for another request, stray bytes, or lengths that do not add up
break the channel rather than becoming a result.
"""

from __future__ import annotations

import json
import struct
import threading
import time
from typing import Any

import pytest

from gym_core.errors import ChannelBrokenError
from gym_core.sandbox.base import Sandbox
from gym_core.sandbox.exec_channel import CHANNEL_LOST, MAGIC, ExecChannel
from gym_core.settings import get_settings
from tests.sandbox.conftest import SandboxFactory, running_processes


def _with_channel(make_sandbox: SandboxFactory) -> Any:
    sb: Any = make_sandbox()
    if getattr(sb, "isolation", None) is not None and sb.isolation.value != "bubblewrap":
        pytest.skip("the local backend's channel needs bubblewrap")
    assert sb.channel_pid is not None, "a sandbox without a submission runner starts with its channel"
    return sb


def test_commands_share_one_channel_but_each_runs_in_a_fresh_tree(make_sandbox: SandboxFactory) -> None:
    sb = _with_channel(make_sandbox)
    channel = sb.channel_pid
    first = sb.exec("export KEPT=yes; cd /tmp; echo $$", timeout_s=20)
    second = sb.exec("echo $$ $KEPT $PWD $PPID", timeout_s=20)
    shell_pid, kept, cwd, parent = second.stdout.split()
    assert shell_pid != first.stdout.strip()  # a fresh bash
    assert (kept, cwd, int(parent)) == ("yes", "/tmp", channel)
    assert sb.channels_opened == 1 and sb.channel_pid == channel


def test_commands_inherit_none_of_the_channels_descriptors(make_sandbox: SandboxFactory) -> None:
    sb = _with_channel(make_sandbox)
    r = sb.exec_argv(["python3", "-c", "import os; print(sorted(os.listdir('/proc/self/fd')))"], timeout_s=20)
    assert r.stdout.strip() == "['0', '1', '2', '3']"  # 3: the listing itself


def test_agent_killing_its_channel_mid_command_completes_the_step(make_sandbox: SandboxFactory) -> None:
    sb = _with_channel(make_sandbox)
    sb.exec("export KEPT=yes", timeout_s=20)
    r = sb.exec("echo before; sleep 1000 & kill -9 $PPID; sleep 1000", timeout_s=60)
    assert r.exit_code is None and not r.timed_out
    # "before" is kept if the channel forwarded it before it died; whether it did is a race the command
    # cannot observe (test_a_broken_channel_keeps_what_streamed_in pins the keeping with a scripted channel)
    assert r.stdout in ("", "before\n")
    assert r.stderr == CHANNEL_LOST.decode()
    assert running_processes(sb) == []  # the broken channel's command tree was swept
    after = sb.exec("echo $KEPT", timeout_s=20)
    assert after.stdout == "yes\n" and after.exit_code == 0
    assert sb.channels_opened == 2 and sb.channel_pid is not None


def test_a_channel_opened_on_a_passing_thread_outlives_it(make_sandbox: SandboxFactory) -> None:
    """Inspect, warm pools and vector envs start sandboxes on worker threads that end soon after. The
    channel's parent-death signal fires when the thread that forked it exits, so forking it there would
    lose the next command's output to a dead channel."""
    made: list[Any] = []
    starter = threading.Thread(target=lambda: made.append(make_sandbox()))
    starter.start()
    starter.join()
    assert made, "the sandbox did not start on the thread"
    sb = made[0]
    if getattr(sb, "isolation", None) is not None and sb.isolation.value != "bubblewrap":
        pytest.skip("the local backend's channel needs bubblewrap")
    channel = sb.channel_pid
    r = sb.exec("echo alive", timeout_s=20)
    assert (r.stdout, r.exit_code) == ("alive\n", 0)
    assert sb.channels_opened == 1 and sb.channel_pid == channel


@pytest.mark.slow
def test_agent_stopping_its_channel_costs_it_only_time(make_sandbox: SandboxFactory) -> None:
    sb = _with_channel(make_sandbox)
    r = sb.exec("kill -STOP $PPID; echo stopped", timeout_s=1)
    assert r.exit_code is None and r.stderr.endswith(CHANNEL_LOST.decode())
    assert sb.exec("echo fine", timeout_s=20).stdout == "fine\n"
    assert sb.channels_opened == 2


def test_agent_cannot_reach_the_channels_pipes_or_memory(make_sandbox: SandboxFactory) -> None:
    """A forged reply for the next request, written where the host reads, would be taken as its result:
    the channel is non-dumpable, so its descriptors, memory and environment are closed to the agent."""
    sb = _with_channel(make_sandbox)
    forge = (
        "import json, os, struct, sys\n"
        "meta = json.dumps({'exit_code': 0, 'timed_out': False, 'duration_s': 0, 'out_total': 6,"
        " 'err_total': 0, 'out_len': 6, 'err_len': 0}).encode()\n"
        "body = struct.pack('>I', len(meta)) + meta + b'forged'\n"
        "frame = b'RGC1' + struct.pack('>II', int(sys.argv[2]), len(body)) + body\n"
        "ch = sys.argv[1]\n"
        "for what, mode in (('fd/1', 'wb'), ('fd/0', 'rb'), ('mem', 'rb'), ('environ', 'rb')):\n"
        "    try:\n"
        "        with open(f'/proc/{ch}/{what}', mode, buffering=0) as fh:\n"
        "            fh.write(frame) if mode == 'wb' else fh.read(64)\n"
        "        print('reached', what)\n"
        "    except PermissionError as exc:\n"
        "        print('refused', what, type(exc).__name__)\n"
        "print(sorted(os.listdir(f'/proc/{ch}/fd')) if os.access(f'/proc/{ch}/fd', os.R_OK) else 'no fd')\n"
    )
    sb.write_file("forge.py", forge)
    r = sb.exec("python3 forge.py $PPID 1000", timeout_s=20)
    assert "reached" not in r.stdout, r.stdout
    assert r.stdout.count("refused") == 4 and r.stdout.strip().endswith("no fd")
    nxt = sb.exec("echo genuine", timeout_s=20)
    assert nxt.stdout == "genuine\n" and nxt.exit_code == 0
    assert sb.channels_opened == 1


def test_concurrent_commands_both_complete(make_sandbox: SandboxFactory) -> None:
    """One command holds the channel; the other runs with an exec of its own, and neither kills the other."""
    sb = _with_channel(make_sandbox)
    results: dict[str, Any] = {}

    def run(name: str, command: str) -> None:
        results[name] = sb.exec(command, timeout_s=60)

    slow = threading.Thread(target=run, args=("slow", "sleep 2; echo slow"))
    slow.start()
    time.sleep(0.3)  # not synchronisation: either order is correct, this only makes overlap likely
    run("fast", "echo fast")
    slow.join()
    assert results["slow"].stdout == "slow\n" and results["fast"].stdout == "fast\n"
    assert running_processes(sb) == []


def test_without_the_channel_commands_use_one_exec_each(
    make_sandbox: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RGYM_EXEC_CHANNEL", "off")
    get_settings.cache_clear()
    sb: Sandbox = make_sandbox()
    assert getattr(sb, "channel_pid", None) is None
    sb.exec("export KEPT=yes; cd /tmp", timeout_s=20)
    r = sb.exec("echo $KEPT $PWD", timeout_s=20)
    assert r.stdout == "yes /tmp\n"
    assert getattr(sb, "channels_opened", 0) == 0


# --- the host's side against a scripted transport ---------------------------------------------------------


class ScriptedTransport:
    """Plays back bytes as if the channel wrote them."""

    def __init__(self, *frames: bytes) -> None:
        self.data = bytearray(b"".join(frames))
        self.sent: list[bytes] = []
        self.closed = False
        self.stray = False

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def read_exact(self, size: int, deadline: float | None) -> bytes:
        if len(self.data) < size:
            raise ChannelBrokenError("the channel ended")
        out = bytes(self.data[:size])
        del self.data[:size]
        return out

    def pending(self) -> bool:
        return self.stray

    def diagnostics(self) -> str:
        return ""

    def close(self) -> None:
        self.closed = True


def _frame(seq: int, meta: dict[str, Any], body: bytes = b"", magic: bytes = MAGIC) -> bytes:
    m = json.dumps(meta).encode()
    payload = struct.pack(">I", len(m)) + m + body
    return magic + struct.pack(">II", seq, len(payload)) + payload


HELLO = _frame(0, {"hello": "rgym-channel", "pid": 7})


def _reply(seq: int, out: bytes = b"ok", **over: Any) -> bytes:
    meta = {
        "exit_code": 0,
        "timed_out": False,
        "duration_s": 0.01,
        "out_total": len(out),
        "err_total": 0,
        "out_len": len(out),
        "err_len": 0,
        "out_kept": len(out),
        "err_kept": 0,
        "clean": True,
    }
    meta.update(over)
    return _frame(seq, meta, out)


def _run(channel: ExecChannel) -> Any:
    return channel.run(
        ["true"], env={}, inherit_env=True, cwd="/", timeout_s=5, cap=100, stdin=None, marker="m"
    )


def test_a_genuine_reply_is_the_result() -> None:
    channel = ExecChannel(ScriptedTransport(HELLO, _reply(1, b"out")))
    assert channel.open()["pid"] == 7
    reply = _run(channel)
    assert (reply.exit_code, reply.stdout, reply.clean) == (0, b"out", True)


def test_streamed_chunks_make_the_output() -> None:
    chunks = (_frame(1, {"chunk": 1}, b"he"), _frame(1, {"chunk": 2}, b"e"), _frame(1, {"chunk": 1}, b"llo"))
    final = _reply(1, b"", out_len=0, out_kept=5, err_kept=1, out_total=9, err_total=1)
    channel = ExecChannel(ScriptedTransport(HELLO, *chunks, final))
    channel.open()
    reply = _run(channel)
    assert (reply.stdout, reply.stderr, reply.stdout_truncated, reply.stderr_truncated) == (
        b"hello",
        b"e",
        True,
        False,
    )


def test_a_broken_channel_keeps_what_streamed_in() -> None:
    channel = ExecChannel(ScriptedTransport(HELLO, _frame(1, {"chunk": 1}, b"partial")))
    channel.open()
    with pytest.raises(ChannelBrokenError):
        _run(channel)
    assert channel.partial == (b"partial", b"")


@pytest.mark.parametrize(
    ("frames", "stray"),
    [
        ((_reply(2, b"forged"),), False),  # a frame for a later request
        ((_reply(1, b"forged", out_len=3),), False),  # lengths that do not add up
        ((_frame(1, {"chunk": 1}, b"abc"), _reply(1, b"", out_len=0, out_kept=9)), False),  # nor chunks
        ((_frame(1, {"exit_code": 0}, magic=b"XXXX"),), False),  # not a reply frame
        ((), False),  # the channel ended
        ((_reply(1),), True),  # bytes arrived before any request asked for them
    ],
    ids=["later-seq", "bad-lengths", "bad-chunk-lengths", "bad-magic", "ended", "stray-bytes"],
)
def test_anything_but_the_expected_reply_breaks_the_channel(frames: tuple[bytes, ...], stray: bool) -> None:
    transport = ScriptedTransport(HELLO, *frames)
    channel = ExecChannel(transport)
    channel.open()
    transport.stray = stray
    with pytest.raises(ChannelBrokenError):
        _run(channel)
    assert channel.broken and transport.closed
    with pytest.raises(ChannelBrokenError):  # and it stays broken: the backend opens a new one
        _run(channel)
