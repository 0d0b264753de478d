"""The rgym sandbox conformance suite: every case runs against both backends (docker and local), each
with the host's cgroup v1 files and in the forced no-v1 mode (see conftest.py).

Hostile cases check three things each: the attack is contained, the result says clearly what happened,
and nothing is left running afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_core.errors import (
    BackendUnavailableError,
    OutputLimitExceededError,
    SandboxFileNotFoundError,
    SandboxIsADirectoryError,
    SandboxPathError,
)
from gym_core.sandbox import Limits, Mount, SandboxRole
from gym_core.sandbox.docker_backend import DockerSandbox
from gym_core.tasks.spec import Network
from tests.sandbox.conftest import SMALL, SandboxFactory, has_cgroup_limits, running_processes

# --- commands and the shell session ----------------------------------------------------------------


def test_exec_reports_stdout_stderr_and_exit_code(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    r = sb.exec("echo out; echo err >&2; exit 7", timeout_s=20)
    assert (r.stdout, r.stderr, r.exit_code) == ("out\n", "err\n", 7)
    assert not r.timed_out and not r.oom_killed and not r.ok
    assert r.duration_s > 0


def test_workspace_is_populated_and_is_the_starting_directory(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox(files={"data/train.csv": "a,b\n", "baseline.py": "print(1)\n"})
    r = sb.exec("pwd; cat data/train.csv; ls", timeout_s=20)
    assert r.stdout.splitlines()[0] == "/workspace" or r.stdout.splitlines()[0].endswith("/workspace")
    assert "a,b" in r.stdout and "baseline.py" in r.stdout


def test_session_keeps_cwd_and_exported_variables(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    assert sb.exec("mkdir -p sub/dir && cd sub/dir && export GREETING='hi there'", timeout_s=20).ok
    r = sb.exec('pwd; echo "$GREETING"', timeout_s=20)
    assert r.stdout.splitlines()[0].endswith("/workspace/sub/dir")
    assert r.stdout.splitlines()[1] == "hi there"


def test_session_survives_exit_and_the_shell_killing_itself(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    sb.exec("cd /tmp && export KEEP=1", timeout_s=20)
    assert sb.exec("exit 3", timeout_s=20).exit_code == 3
    assert sb.exec("kill -9 $$", timeout_s=20).exit_code == 137
    r = sb.exec("pwd; echo $KEEP", timeout_s=20)
    assert r.stdout == "/tmp\n1\n"


def test_per_call_env_and_stdin(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    r = sb.exec("echo $ONE; cat", env={"ONE": "1"}, stdin=b"\x00\xffraw", timeout_s=20)
    assert r.stdout.startswith("1\n") and r.stdout.endswith("raw")


def test_exec_argv_runs_outside_the_session(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    sb.exec("mkdir -p sub && cd sub", timeout_s=20)
    r = sb.exec_argv(["pwd"], timeout_s=20)
    assert r.stdout.strip().endswith("/workspace")
    assert sb.exec_argv(["ls"], cwd="sub", timeout_s=20).ok


def test_binary_and_invalid_utf8_output_is_decoded_not_fatal(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    r = sb.exec(r"printf '\xff\xfe\x00ok \xc3\xa9'", timeout_s=20)
    assert r.exit_code == 0
    assert r.stdout.endswith("ok é") and "\ufffd" in r.stdout


def test_output_is_capped_and_marked_truncated(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox(output_cap_bytes=1000)
    r = sb.exec("head -c 5000 /dev/zero | tr '\\0' a; head -c 3000 /dev/zero >&2", timeout_s=20)
    assert len(r.stdout) == 1000 and r.stdout_truncated
    assert len(r.stderr) == 1000 and r.stderr_truncated


@pytest.mark.cgroups
def test_usage_is_recorded(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    r = sb.exec("python3 -c 'x = bytearray(40 << 20); sum(range(3_000_000))'", timeout_s=60)
    assert r.ok, r.stderr
    assert r.cpu_s is not None and r.cpu_s > 0
    assert r.peak_memory_mb is not None and r.peak_memory_mb >= 40
    u = sb.usage()
    assert u.commands >= 1 and u.cpu_s > 0 and u.peak_memory_mb >= 40


# --- timeouts --------------------------------------------------------------------------------------


@pytest.mark.cgroups
def test_timeout_kills_the_whole_tree_and_the_shell_stays_usable(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    r = sb.exec("sleep 1000 & (sleep 1001 &) ; setsid sleep 1002 & sleep 1003", timeout_s=1)
    assert r.timed_out and r.exit_code is None and r.duration_s < 10
    assert running_processes(sb) == []
    assert sb.exec("echo alive", timeout_s=20).stdout == "alive\n"


#: Ways a background job escapes its shell: a subshell's orphan, a new session, a cleared environment
#: (no RGYM_EXEC_ID marker), a double fork with closed streams. Each must still end with its command.
ESCAPES = [
    "(setsid env -i sh -c 'while :; do sleep 1; done' >/dev/null 2>&1 &)",
    "env -i sh -c 'sleep 1000' >/dev/null 2>&1 &",
    "nohup setsid env -i sleep 1001 </dev/null >/dev/null 2>&1 &",
    "(( (exec -a innocent env -i sleep 1002 </dev/null >/dev/null 2>&1 &) &) &)",
]


@pytest.mark.cgroups
@pytest.mark.parametrize("escape", ESCAPES)
def test_escaped_background_jobs_end_with_their_command(make_sandbox: SandboxFactory, escape: str) -> None:
    sb = make_sandbox()
    r = sb.exec(f"{escape}\necho started", timeout_s=20)
    assert r.stdout.endswith("started\n") and not r.timed_out
    assert running_processes(sb) == []
    # and on the timeout path too
    r = sb.exec(f"{escape}\nsleep 1000", timeout_s=1)
    assert r.timed_out
    assert running_processes(sb) == []
    assert sb.exec("echo alive", timeout_s=20).stdout == "alive\n"


@pytest.mark.cgroups
def test_infinite_loop_times_out(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    r = sb.exec("while :; do :; done", timeout_s=1)
    assert r.timed_out
    assert running_processes(sb) == []


def test_fast_signal_death_is_not_a_timeout(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    r = sb.exec_argv(["sh", "-c", "kill -TERM $$"], timeout_s=30)
    assert r.exit_code == 143 and not r.timed_out


# --- hostile resource use --------------------------------------------------------------------------


#: Forks children that sleep until fork fails; prints how many it made and the errno of the failure.
_FILL_PIDS = """
import os, time
made = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        made += 1
except OSError as exc:
    print(made, exc.errno)
"""


@pytest.mark.cgroups
def test_pids_limit_holds(make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    sb = make_sandbox(limits=Limits(memory_mb=512, pids=40, disk_mb=32))
    sb.write_file("fill.py", _FILL_PIDS)
    r = sb.exec("python3 fill.py", timeout_s=60)
    made, errno = (int(x) for x in r.stdout.split())
    assert errno == 11  # EAGAIN: the limit, not some other failure
    assert 30 <= made < 40  # the sandbox's few own processes count too
    assert running_processes(sb) == []  # the sleeping children ended with the command
    assert sb.exec("echo alive", timeout_s=20).stdout == "alive\n"


_PY_FORK_BOMB = "python3 -c 'import os\nwhile True:\n    try: os.fork()\n    except OSError: pass'"


@pytest.mark.cgroups
@pytest.mark.slow
def test_fork_bomb_is_contained(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    r = sb.exec(_PY_FORK_BOMB, timeout_s=5)
    assert r.timed_out and r.exit_code is None  # a bomb never ends by itself: the timeout ends it
    assert r.duration_s < 30  # and the kill is prompt, however full the pids limit is
    assert running_processes(sb) == []
    assert sb.exec("echo survived", timeout_s=30).stdout == "survived\n"
    r = sb.exec(":(){ :|:& };:", timeout_s=5)  # the shell classic: its top level returns at once
    assert running_processes(sb) == []
    assert sb.exec("echo survived", timeout_s=30).stdout == "survived\n"


@pytest.mark.cgroups
@pytest.mark.slow
def test_memory_hog_is_reported_as_oom_killed(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    r = sb.exec("python3 -c 'b = [bytearray(16 << 20) for _ in range(64)]'", timeout_s=60)
    assert not r.ok
    if has_cgroup_limits(sb):
        assert r.oom_killed and r.exit_code == 137
    else:  # no cgroup: RLIMIT_AS makes the allocation fail instead (documented)
        assert not r.oom_killed and "MemoryError" in r.stderr
    assert sb.exec("echo survived", timeout_s=30).stdout == "survived\n"


#: Pins 96 MiB in a System V shared memory segment it never removes (no IPC_RMID), then exits, or with
#: "hold" stays attached in the background until killed.
_PIN_SHM = """\
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
size = 96 << 20
segment = libc.shmget(0, ctypes.c_size_t(size), 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
assert segment >= 0, ctypes.get_errno()
address = libc.shmat(segment, None, 0)
assert address not in (None, ctypes.c_void_p(-1).value), ctypes.get_errno()
ctypes.memset(address, 1, size)
print("pinned", segment, flush=True)
while len(sys.argv) > 1:
    time.sleep(1)
"""


@pytest.mark.cgroups
@pytest.mark.slow
def test_shared_memory_does_not_outlive_its_command(make_sandbox: SandboxFactory) -> None:
    """A segment left behind would stay pinned (charged to the sandbox, out of any OOM kill's reach) after
    the command and its sweep: three of them would fill this 256 MiB sandbox. Each ends with its command."""
    sb = make_sandbox(files={"pin.py": _PIN_SHM})
    for _ in range(2):
        r = sb.exec("python3 pin.py", timeout_s=60)
        assert r.ok and not r.oom_killed and r.stdout.startswith("pinned"), r.stderr
    # attached by a background job that the command's end (its sweep) kills
    r = sb.exec(
        "python3 pin.py hold > /tmp/held & until grep -q pinned /tmp/held; do sleep 0.1; done; echo held",
        timeout_s=60,
    )
    assert r.ok and r.stdout == "held\n", r.stderr
    assert running_processes(sb) == []
    count = "tail -n +2 /proc/sysvipc/shm | wc -l"
    r = sb.exec(f"python3 pin.py && {count}", timeout_s=60)
    assert r.ok and not r.oom_killed, r.stderr
    if isinstance(sb, DockerSandbox):  # kernel.shm_rmid_forced: gone with the last process attached
        assert r.stdout.split()[-1] == "0"
    # local: each command has an IPC namespace of its own, which ends with it (docs: the local limits)
    assert sb.exec(count, timeout_s=20).stdout.strip() == "0"


#: Four busy processes for 3 s of wall time: CPU time over wall time is how many cores they got.
_BUSY = "python3 -c 'import time\nt = time.time()\nwhile time.time() - t < 3: pass' &" * 4 + " wait"


@pytest.mark.cgroups
def test_cpu_limit_holds(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox(limits=Limits(cpus=0.25, memory_mb=256, pids=64, disk_mb=32))
    if not has_cgroup_limits(sb):
        pytest.skip("the local backend has no CPU rate limit without cgroups (documented in the README)")
    r = sb.exec(_BUSY, timeout_s=60)
    assert r.ok, r.stderr
    assert r.cpu_s is not None
    # four loops would take up to 2 cores (both of this machine's) without the limit; a quarter with it
    assert 0.05 < r.cpu_s / r.duration_s < 0.25 * 1.5


@pytest.mark.slow
def test_output_flood_is_drained_without_blocking(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    r = sb.exec("head -c 100000000 /dev/zero; echo done >&2", timeout_s=60)
    assert r.exit_code == 0 and not r.timed_out
    assert r.stdout_truncated and len(r.stdout) == sb.config.output_cap_bytes
    assert r.stderr == "done\n"


def test_filling_the_disk_gives_enospc(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox(limits=Limits(memory_mb=256, pids=64, disk_mb=32))
    r = sb.exec("dd if=/dev/zero of=big bs=1M count=100", timeout_s=60)
    assert r.exit_code != 0
    assert "No space left" in r.stderr or "File too large" in r.stderr
    assert sb.exec("rm big && echo ok", timeout_s=20).stdout == "ok\n"


def test_network_is_unreachable(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    r = sb.exec("tail -n +3 /proc/net/dev | cut -d: -f1", timeout_s=20)
    assert r.stdout.split() == ["lo"]
    r = sb.exec(
        "tail -n +2 /proc/net/route; tail -n +2 /proc/net/ipv6_route 2>/dev/null | grep -v ' lo$'",
        timeout_s=20,
    )
    assert r.stdout.strip() == ""  # no route at all: no packet can leave, none is sent by the probe below
    probe = "import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)"
    r = sb.exec(f'python3 -c "{probe}"', timeout_s=20)
    assert r.exit_code != 0 and "unreachable" in r.stderr.lower()


def test_egress_on_the_local_backend_is_refused(backend: str, make_sandbox: SandboxFactory) -> None:
    if backend != "local":
        pytest.skip("docker egress has its own tests (test_egress.py)")
    with pytest.raises(BackendUnavailableError, match="docker backend"):
        make_sandbox(limits=Limits(memory_mb=256, pids=64, disk_mb=32, network=Network.EGRESS))


@pytest.mark.cgroups
def test_agent_is_unprivileged_and_root_fs_is_read_only(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    status = sb.exec(
        "id -u; grep -E '^(Cap(Inh|Prm|Eff|Amb)|NoNewPrivs):' /proc/self/status", timeout_s=20
    ).stdout
    lines = status.splitlines()
    assert lines[0] != "0"
    fields = dict(line.split(":\t") for line in lines[1:])
    assert fields == {
        "CapInh": "0000000000000000",
        "CapPrm": "0000000000000000",
        "CapEff": "0000000000000000",
        "CapAmb": "0000000000000000",
        "NoNewPrivs": "1",
    }
    for target in ("/etc/rgym-pwned", "/usr/rgym-pwned", "/rgym-pwned"):
        r = sb.exec(f"touch {target}", timeout_s=20)
        assert r.exit_code != 0, target
    assert sb.exec("touch /tmp/ok /workspace/ok", timeout_s=20).ok


def test_eval_mount_only_in_the_sandbox_that_asks(make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    (eval_dir / "labels.csv").write_text("secret\n")
    eval_dir.chmod(0o755)
    agent = make_sandbox()
    assert agent.exec("ls /eval", timeout_s=20).exit_code != 0
    grader = make_sandbox(mounts=(Mount(eval_dir, "/eval"),), role=SandboxRole.GRADER)
    assert grader.exec("cat /eval/labels.csv", timeout_s=20).stdout == "secret\n"
    assert grader.exec("touch /eval/x", timeout_s=20).exit_code != 0


# --- files -----------------------------------------------------------------------------------------


def test_write_then_read_file_round_trips_bytes(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    sb.write_file("deep/er/f.bin", b"\x00\xff\xc3\x28")
    assert sb.read_file("deep/er/f.bin") == b"\x00\xff\xc3\x28"
    sb.write_file("/workspace/t.txt", "héllo")
    assert sb.read_file("t.txt") == "héllo".encode()
    assert sb.exec("cat t.txt", timeout_s=20).stdout == "héllo"


def test_file_errors_are_clear(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    with pytest.raises(SandboxFileNotFoundError, match=r"missing\.txt"):
        sb.read_file("missing.txt")
    sb.exec("mkdir adir && head -c 2048 /dev/zero > big", timeout_s=20)
    with pytest.raises(SandboxIsADirectoryError):
        sb.read_file("adir")
    with pytest.raises(OutputLimitExceededError):
        sb.read_file("big", max_bytes=1024)


@pytest.mark.parametrize("path", ["../../etc/passwd", "../x", "/etc/passwd", "a/../../x", ""])
def test_write_file_refuses_paths_out_of_the_workspace(make_sandbox: SandboxFactory, path: str) -> None:
    sb = make_sandbox()
    with pytest.raises(SandboxPathError):
        sb.write_file(path, "x")


def test_files_refuse_symlinks_out_of_the_workspace(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    sb.exec("ln -s /etc/passwd pw && ln -s /tmp tmplink", timeout_s=20)
    with pytest.raises(SandboxPathError):
        sb.read_file("pw")
    with pytest.raises(SandboxPathError):
        sb.write_file("tmplink/x", "nope")


def test_copy_out_is_safe(make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    sb = make_sandbox()
    sb.exec(
        "echo 1,2 > predictions.csv && ln -s /etc/passwd passwd.csv && mkdir -p out && echo x > out/a "
        "&& ln -s ../predictions.csv out/link && mkfifo fifo",
        timeout_s=20,
    )
    dest = tmp_path / "sub"
    report = sb.copy_out(["predictions.csv", "passwd.csv", "../../etc", "/etc/passwd", "nope", "fifo"], dest)
    assert report.copied == ("predictions.csv",)
    refused = dict(report.refused)
    assert set(refused) == {"passwd.csv", "../../etc", "/etc/passwd", "nope", "fifo"}
    assert "link" in refused["passwd.csv"]
    assert (dest / "predictions.csv").read_text() == "1,2\n"
    assert not (dest / "passwd.csv").exists() and not (tmp_path / "etc").exists()

    snap = sb.copy_out(None, tmp_path / "snap")
    assert {"predictions.csv", "out/a"} <= set(snap.copied)
    assert not (tmp_path / "snap" / "out" / "link").exists()


def test_copy_out_is_bounded(make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    sb = make_sandbox()
    sb.exec("head -c 3000 /dev/zero > a && head -c 3000 /dev/zero > b", timeout_s=20)
    report = sb.copy_out(["a", "b"], tmp_path / "o", max_bytes=4000)
    assert report.copied == ("a",) and report.total_bytes == 3000
    assert "cap" in dict(report.refused)["b"]


# --- lifecycle -------------------------------------------------------------------------------------


@pytest.mark.cgroups
def test_stop_is_idempotent_and_frees_everything(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox()
    sb.exec("sleep 1000 &", timeout_s=20)
    sb.stop()
    assert not sb.alive
    sb.stop()
    from gym_core.settings import get_settings

    leftovers = list(get_settings().sandbox_dir.glob("*")) if get_settings().sandbox_dir.exists() else []
    assert leftovers == []


def test_wall_time_ends_the_sandbox(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox(limits=Limits(memory_mb=256, pids=64, disk_mb=32, wall_time_s=2))
    r = sb.exec("sleep 30", timeout_s=30)
    assert r.timed_out or r.exit_code != 0
    assert not sb.alive


_ = SMALL
