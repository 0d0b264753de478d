"""Agents out of process (``rgym run --agent-isolation process``, docs/agents.md).

With ``process`` isolation every attempt's agent lives in a fresh child process, sandboxed as the local
backend sandboxes commands (:mod:`gym_core.sandbox.local_backend`): bubblewrap gives it fresh pid, ipc and
uts namespaces (a user namespace too when rgym is not root; as root it drops to a uid of its own from
:mod:`gym_core.sandbox.uids`), ``--die-with-parent`` and a session of its own, over a read-only view of the
system, the Python that runs rgym, rgym's own packages and a copy of the agent's code, with a private
``/tmp`` (:func:`agent_view`). As root without bubblewrap, the local backend's namespaces mode builds the
same view (``unshare`` and a chroot, then ``setpriv`` to the agent's uid). Task folders (``eval/``, ``reference/``), the trace store and the rgym data dir are not in that
view, and the grader runs in the runner's process, which the agent cannot reach: it only answers
``reset``/``act`` requests over a pipe (:mod:`gym_core.runner.agent_worker`).

The runner's side is :class:`ProcessAgent`, an ordinary :class:`~rgym_agents.base.Agent`, so an attempt is
driven exactly as in thread mode. The child dies with its attempt: ``close()`` kills its process group and
its uid's processes (a daemon it forked included, since the pid namespace ends with it); a runner killed
with ``kill -9`` takes it along (``PR_SET_PDEATHSIG``); Ctrl-C reaches the runner only (the child has a
session of its own) and the runner then stops it. The agent keeps the host's network (an agent calls its
model's API); the commands it sends run in the task's sandbox, which has none.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import importlib.util
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import gym_core
import rgym_agents
from gym_core import faults
from gym_core.errors import AgentError, AgentHostError, ConfigError
from gym_core.runner.agent_worker import encode_message, read_message
from gym_core.runner.attempt import AgentCrashed, AgentNotAnAction, not_an_action_message
from gym_core.sandbox.lasting_spawn import popen_lasting
from gym_core.sandbox.leases import Lease
from gym_core.sandbox.local_backend import (
    _ROOT_SCRIPT,
    ETC_ENTRIES,
    _setpriv,
    _unshare_argv,
    bubblewrap_usable,
    namespaces_usable,
)
from gym_core.sandbox.uids import claim_uid, kill_uid, release_uid
from gym_core.settings import get_settings
from rgym_agents.base import Action, Observation, TaskInfo
from rgym_agents.loader import AgentFactory, _split_module_arg, agent_factory

#: Seconds the child may take to import and build the agent.
BUILD_DEADLINE_S = 60.0
#: Seconds the child may take to close its agent before it is killed.
CLOSE_DEADLINE_S = 5.0
#: Bytes the agent may write to its stdout and stderr in one attempt; more ends the attempt.
OUTPUT_LIMIT = 16 * 1024 * 1024
#: Output kept for the record of a failure (the last bytes).
OUTPUT_TAIL = 8 * 1024
#: Where the copy of the agent's code appears inside its sandbox.
AGENT_CODE = "/rgym/agent"
#: Files of an agent's folder copied into its sandbox (code and small config, never data or stores).
CODE_SUFFIXES = frozenset({".py", ".pyi", ".json", ".jsonl", ".yaml", ".yml", ".toml", ".txt", ".md", ".cfg"})
#: The most files, and bytes, of an agent's folder that are copied.
MAX_CODE_FILES = 2000
MAX_CODE_BYTES = 64 * 1024 * 1024
#: Environment variables the agent never gets (the store's password, the engine, rgym's own settings).
_HIDDEN_ENV_PREFIXES = ("RGYM_", "DOCKER_", "PG", "SSH_", "XDG_", "LD_", "PYTHON", "VIRTUAL_ENV")
_HIDDEN_ENV = frozenset({"DATABASE_URL", "HOME", "PATH", "TMPDIR", "PWD", "OLDPWD", "SHELL", "MAIL"})
_PATH = "/usr/local/bin:/usr/bin:/bin"
_PR_SET_PDEATHSIG = 1


class AgentIsolation(enum.StrEnum):
    """Where an attempt's agent runs (``rgym run --agent-isolation``)."""

    THREAD = "thread"
    """In a thread of rgym's own process (trusted code only: it could reach the grader)."""
    PROCESS = "process"
    """In a sandboxed child process per attempt (see the module docstring)."""


ISOLATIONS = (AgentIsolation.PROCESS.value, AgentIsolation.THREAD.value)


def default_isolation(agent_spec: str) -> AgentIsolation:
    """``process`` for a user's own code (``module:``); ``thread`` for the built-in agents, which are rgym's
    own code and never execute what they receive (docs/agents.md says why)."""
    kind = agent_spec.strip().partition(":")[0].strip().lower()
    return AgentIsolation.PROCESS if kind == "module" else AgentIsolation.THREAD


def resolve_isolation(value: str | None, agent_spec: str) -> AgentIsolation:
    """The isolation asked for (or the agent's default), checked to be possible on this machine.

    Raises:
        ConfigError: an unknown value, or ``process`` where no separate uid can be had.
    """
    if value is None or not str(value).strip():
        isolation = default_isolation(agent_spec)
    else:
        try:
            isolation = AgentIsolation(str(value).strip().lower())
        except ValueError:
            raise ConfigError(
                f"--agent-isolation {value!r} is not one of {', '.join(ISOLATIONS)}",
                hint="use --agent-isolation process (a sandboxed child process) or thread",
            ) from None
    if isolation is AgentIsolation.PROCESS:
        check_process_isolation()
    return isolation


def check_process_isolation() -> None:
    """Refuse ``process`` isolation where the agent cannot get a uid and namespaces of its own.

    Raises:
        ConfigError: bubblewrap is missing or cannot make namespaces here (not root, no user namespaces).
    """
    if bubblewrap_usable() or namespaces_usable():
        return
    why = (
        "bubblewrap (bwrap) is not installed"
        if shutil.which("bwrap") is None
        else "bubblewrap cannot make namespaces here (not root, and user namespaces are off)"
    )
    raise ConfigError(
        f"--agent-isolation process needs a separate uid for the agent, but {why}",
        hint="apt-get install bubblewrap (or run as root), or pass --agent-isolation thread to run the agent "
        "inside rgym's process (only for code you trust)",
    )


# --- what the agent's sandbox holds ------------------------------------------------------------------


def secret_paths(task_roots: Iterable[Path] = ()) -> list[Path]:
    """What the agent must never see: every task folder on the search path, the run's task folder, the rgym
    data dir (sandboxes, default store) and a SQLite store named by ``RGYM_STORE``."""
    settings = get_settings()
    found: list[Path] = [*settings.task_search_path(), *task_roots, settings.data_dir]
    store = settings.store or ""
    if store.startswith("sqlite:///"):
        db = Path(store.removeprefix("sqlite:///"))
        found += [db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")]
    out: list[Path] = []
    for path in found:
        with contextlib.suppress(OSError):
            resolved = path.expanduser().resolve()
            if resolved not in out:
                out.append(resolved)
    return out


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


@dataclass
class AgentCode:
    """The agent's code, as the child sees it: the spec to build and the folders to put on ``sys.path``."""

    spec: str
    path: list[str] = field(default_factory=list)
    staged: Path | None = None
    """A private copy of the user's code (bound read-only at :data:`AGENT_CODE`); removed at close."""


def hidden_from_agent(path: Path, secrets: list[Path], *, home: Path) -> bool:
    """True when ``path`` must stay out of the agent's sandbox.

    Everything under a secret path is hidden (the data dir, a store, the task search path), except, when
    the agent's own folder ``home`` lies in a task folder (a task's ``exploits/``), that task folder's files
    outside its ``eval/`` and ``reference/``.
    """
    path = path.resolve()
    for secret in secrets:
        if not _under(path, secret):
            continue
        task = next(
            (p for p in (path, *path.parents) if _under(p, secret) and (p / "task.yaml").is_file()), None
        )
        if task is None or not _under(home, task):
            return True
        if _under(path, task / "eval") or _under(path, task / "reference"):
            return True
    return False


def _copy_code(src: Path, dst: Path, secrets: list[Path], budget: list[int]) -> None:
    """Copy ``src`` (a file or folder) to ``dst``: code files only, nothing hidden, within ``budget``."""
    home = src.resolve() if src.is_dir() else src.resolve().parent
    if src.is_file():
        sources = [(src, dst)]
    else:
        sources = []
        for dirpath, dirnames, filenames in os.walk(src):
            here = Path(dirpath)
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not d.startswith((".", "__pycache__"))
                and not (here / d / "pyvenv.cfg").exists()
                and not hidden_from_agent(here / d, secrets, home=home)
            )
            for name in sorted(filenames):
                path = here / name
                if Path(name).suffix in CODE_SUFFIXES and path.is_file() and not path.is_symlink():
                    sources.append((path, dst / path.relative_to(src)))
    for path, target in sources:
        if hidden_from_agent(path, secrets, home=home):
            continue
        size = path.stat().st_size
        budget[0] -= 1
        budget[1] -= size
        if budget[0] < 0 or budget[1] < 0:
            raise AgentError(
                f"the agent's folder {src} holds more than {MAX_CODE_FILES} code files or "
                f"{MAX_CODE_BYTES // (1024 * 1024)} MiB, all copied into its sandbox for every attempt",
                hint="put the agent in a folder of its own, or install it as a package (module:pkg.mod:Class)",
            )
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        shutil.copyfile(path, target)
        target.chmod(0o644)


def stage_agent_code(spec: str, secrets: list[Path], into: Path | None = None) -> AgentCode:
    """The code a ``module:`` agent needs, copied out of the user's folders (secrets left out).

    A file agent (``module:dir/agent.py:Cls``) gets the code files of its folder, so it can import its
    neighbours; a package agent (``module:pkg.mod:Cls``) gets its top-level package, unless that is installed
    in rgym's own Python (which the sandbox shows anyway). Built-in agents need nothing. The copy goes to
    ``into`` (default: a new temporary folder).

    Raises:
        AgentError: the spec is malformed, the file or package is missing, or the folder is too big.
    """
    kind, _, arg = spec.strip().partition(":")
    if kind.strip().lower() != "module":
        return AgentCode(spec)
    target, class_name = _split_module_arg(arg.strip())
    is_file = target.endswith(".py") or "/" in target or "\\" in target
    if is_file:
        file = Path(target)
        if not file.is_file():
            raise AgentError(f"module:{arg.strip()}: file not found: {file}")
        if hidden_from_agent(file, secrets, home=file.resolve().parent):
            raise AgentError(
                f"module:{arg.strip()}: {file} lies in a folder hidden from agents (a task's eval/ or "
                "reference/, a task folder, or the rgym data dir)",
                hint="keep the agent's code in a folder of its own",
            )
        sources = [(file.parent, "")]
        inner = f"module:{AGENT_CODE}/{file.name}:{class_name}"
    else:
        top = target.split(".")[0]
        try:
            found = importlib.util.find_spec(top)  # a top-level name: nothing of it runs here
        except (ImportError, ValueError) as exc:
            raise AgentError(f"module:{arg.strip()}: cannot find {top}: {exc}") from exc
        if found is None:
            raise AgentError(
                f"module:{arg.strip()}: no module named {top!r}", hint="is it installed or on PYTHONPATH?"
            )
        inner = spec.strip()
        locations = list(found.submodule_search_locations or [])
        if not locations and found.origin:
            sources = [(Path(found.origin), Path(found.origin).name)]
        else:
            sources = [(Path(loc), top) for loc in locations]
        if all(_installed(src) for src, _ in sources):
            return AgentCode(inner)
    if into is not None:
        into.mkdir(parents=True)
        staged = into
    else:
        staged = Path(tempfile.mkdtemp(prefix="rgym-agent-code-"))
    try:
        staged.chmod(0o755)
        budget = [MAX_CODE_FILES, MAX_CODE_BYTES]
        for src, name in sources:
            _copy_code(src, staged / name if name else staged, secrets, budget)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return AgentCode(inner, [AGENT_CODE], staged)


def _installed(path: Path) -> bool:
    resolved = path.resolve()
    return any(_under(resolved, Path(p).resolve()) for p in {sys.prefix, sys.base_prefix})


#: One mount of the agent's view: (kind, source, target); kinds as ``LocalSandbox._view``'s, plus ``tmpfs``
#: (source: its mode).
ViewEntry = tuple[str, str, str]


def agent_view(code: AgentCode, secrets: list[Path]) -> list[ViewEntry]:
    """The agent's filesystem, in mount order (compare ``LocalSandbox._view``): the system read-only, a
    private /tmp, the Python that runs rgym, rgym's packages, the copy of the agent's code; every secret
    that lies in a bound folder is covered up by a later, empty mount."""
    view: list[ViewEntry] = [("ro", "/usr", "/usr")]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            view.append(("symlink", os.readlink(top), top))
        elif os.path.isdir(top):
            view.append(("ro", top, top))
    view.append(("dir", "", "/etc"))
    for entry in (*ETC_ENTRIES, "passwd", "group"):
        src = Path("/etc", entry)
        if src.is_dir() or src.is_file():
            view.append(("ro", str(src), str(src)))
    view += [("proc", "", "/proc"), ("dev", "", "/dev"), ("tmpfs", "1777", "/tmp")]
    bound: list[Path] = []
    made: set[str] = {"/", "/usr", "/etc", "/tmp"}
    packages = [Path(gym_core.__file__).resolve().parent, Path(rgym_agents.__file__).resolve().parent]
    for src in sorted({Path(sys.prefix), Path(sys.base_prefix), *packages}):
        if _under(src, Path("/usr")) or any(_under(src, b) for b in bound):
            continue
        for parent in reversed(src.parents[:-1]):
            if str(parent) not in made:
                made.add(str(parent))
                view.append(("dir", "", str(parent)))
        view.append(("ro", str(src), str(src)))
        bound.append(src)
    for secret in secrets:
        if any(_under(secret, b) for b in bound) and secret.exists():
            view.append(
                ("tmpfs", "0755", str(secret)) if secret.is_dir() else ("ro", "/dev/null", str(secret))
            )
    if code.staged is not None:
        view += [("dir", "", str(Path(AGENT_CODE).parent)), ("ro", str(code.staged), AGENT_CODE)]
    return view


def _bwrap_args(view: list[ViewEntry]) -> list[str]:
    args: list[str] = []
    for kind, src, target in view:
        if kind == "ro":
            args += ["--ro-bind", src, target]
        elif kind == "rw":
            args += ["--bind", src, target]
        elif kind == "tmpfs":
            args += ["--perms", src, "--tmpfs", target]
        elif kind == "symlink":
            args += ["--symlink", src, target]
        else:  # dir, proc, dev
            args += [f"--{kind}", target]
    return args


def _agent_env() -> dict[str, str]:
    """The agent's environment: the runner's, without rgym's settings, the store, the engine and the like
    (``RGYM_LLM_*``, the LLM agent's own settings, stay)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith("RGYM_LLM_") or not (k.startswith(_HIDDEN_ENV_PREFIXES) or k in _HIDDEN_ENV)
    }
    env.update(PATH=_PATH, HOME="/tmp", TMPDIR="/tmp", PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    env.setdefault("LANG", "C.UTF-8")
    return env


def _namespace_flags() -> list[str]:
    flags = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        flags = ["--unshare-user", *flags]
        from gym_core.sandbox.local_backend import _bwrap_can

        if _bwrap_can("--disable-userns"):
            flags.append("--disable-userns")
    return flags


def _die_with_runner() -> Callable[[], None]:
    libc = ctypes.CDLL(None, use_errno=True)

    def run() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # bwrap dies with the runner, even on kill -9

    return run


# --- the runner's side -------------------------------------------------------------------------------


class ProcessAgent:
    """An agent in a sandboxed child process: each call is a request over a pipe (module docstring)."""

    def __init__(
        self, spec: str, *, stop: threading.Event | None = None, task_roots: Iterable[Path] = ()
    ) -> None:
        self.name = spec
        self.tolerant_actions = True  # the child refuses a non-action itself, naming the value
        self.uid: int | None = None
        self._stop = stop
        self._usage: dict[str, Any] = {}
        self._output = _Tail(OUTPUT_TAIL)
        self._flooded = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._io = threading.Lock()
        self._new_root: Path | None = None
        self._code = AgentCode(spec)
        # Everything this agent holds on the host, under a lease: if the runner is killed with kill -9,
        # the next run (or `rgym gc`) frees the uid and deletes the folder (gym_core.sandbox.cleanup).
        self._lease = Lease(sandbox_id=uuid.uuid4().hex[:12], backend="agent-process")
        self._scratch = get_settings().sandbox_dir / f"agent-{self._lease.sandbox_id}"
        secrets = secret_paths(task_roots)
        try:
            self._lease.save(self._scratch)
            self._code = stage_agent_code(spec, secrets, into=self._scratch / "code")
            self._start(secrets)
            hello = self._call(
                {"op": "build", "spec": self._code.spec, "path": self._code.path}, "build", BUILD_DEADLINE_S
            )
        except BaseException:
            self.close()
            raise
        if isinstance(hello, dict) and hello.get("name"):
            self.name = str(hello["name"])

    def _start(self, secrets: list[Path]) -> None:
        faults.check("agent_start", "cannot start the agent's process")
        if os.geteuid() == 0:
            self.uid = claim_uid()
            self._lease.uid = self.uid
            self._lease.save(self._scratch)
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        worker = [
            sys.executable,
            "-I",
            "-m",
            "gym_core.runner.agent_worker",
            str(to_child_r),
            str(from_child_w),
        ]
        view = agent_view(self._code, secrets)
        env: dict[str, str] | None = None
        if bubblewrap_usable():
            argv = ["bwrap", *_namespace_flags(), "--die-with-parent", "--new-session", "--clearenv"]
            for key, value in sorted(_agent_env().items()):
                argv += ["--setenv", key, value]
            argv += [*_bwrap_args(view), "--chdir", "/tmp", *_setpriv(self.uid), *worker]
        else:  # root without bubblewrap: the local backend's namespaces mode (check_process_isolation)
            assert self.uid is not None
            self._new_root = self._scratch / "root"
            self._new_root.mkdir(mode=0o700)
            argv = [
                *[a for a in _unshare_argv() if a != "--net"],
                sys.executable,
                "-I",
                "-S",
                "-c",
                _ROOT_SCRIPT,
                json.dumps(view),
                str(self._new_root),
                "/tmp",
                "--",
                *_setpriv(self.uid),
                *worker,
            ]
            env = _agent_env()
        try:
            # forked from a lasting thread: its parent-death signal ties it to the thread that forks it
            self._proc = popen_lasting(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(to_child_r, from_child_w),
                start_new_session=True,  # Ctrl-C in the terminal reaches the runner, never the agent
                preexec_fn=_die_with_runner(),
                cwd="/",
                env=env,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._drain = threading.Thread(target=self._read_output, name="rgym-agent-output", daemon=True)
        self._drain.start()

    def _read_output(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        total = 0
        while True:
            try:
                chunk = os.read(self._proc.stdout.fileno(), 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            total += len(chunk)
            self._output.feed(chunk)
            if total > OUTPUT_LIMIT and not self._flooded:
                self._flooded = True
                self._kill()

    # --- requests -------------------------------------------------------------------------------------

    def _call(self, request: dict[str, Any], what: str, deadline_s: float | None = None) -> Any:
        """Send ``request`` and wait for its reply: the agent's result, or its failure raised here.

        One call at a time: a hung act() keeps its (abandoned) thread here until close() kills the child.
        """
        with self._io:
            return self._call_locked(request, what, deadline_s)

    def _call_locked(self, request: dict[str, Any], what: str, deadline_s: float | None) -> Any:
        proc = self._proc
        if proc is None:
            raise AgentCrashed(f"agent.{what}(): the agent's process is gone", details="")
        try:
            data = encode_message(request)
        except (TypeError, ValueError) as exc:
            raise AgentError(f"agent.{what}(): cannot send the request: {exc}") from exc
        try:
            self._write_all(data)
        except OSError:
            self._ended(what)
        ends = None if deadline_s is None else time.monotonic() + deadline_s
        while True:
            if self._stop is not None and self._stop.is_set():
                self._kill()
                raise KeyboardInterrupt
            ready, _, _ = select.select([self._from_child], [], [], 0.2)
            if ready:
                break
            if ends is not None and time.monotonic() > ends:
                self._kill()
                raise AgentError(f"agent.{what}() did not return within {deadline_s:.0f}s")
            if proc.poll() is not None:
                ready, _, _ = select.select([self._from_child], [], [], 0)
                if not ready:
                    self._ended(what)
                break
        try:
            reply = read_message(self._from_child)
        except (OSError, ValueError) as exc:
            self._kill()
            raise AgentCrashed(
                f"agent.{what}(): unreadable reply from the agent's process: {exc}", details=""
            ) from exc
        if reply is None:
            self._ended(what)
        if "error" in reply:
            err = reply["error"] if isinstance(reply["error"], dict) else {}
            kind, message = str(err.get("type", "Exception")), str(err.get("message", ""))
            if what == "build":
                raise AgentError(message or kind)
            raise AgentCrashed(
                f"agent.{what}() raised {kind}: {message}", details=str(err.get("traceback", ""))
            )
        return reply.get("ok")

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._to_child, view)
            view = view[written:]

    def _ended(self, what: str) -> NoReturn:
        """The child went away: say how, with the end of what it printed."""
        if self._stop is not None and self._stop.is_set():
            raise KeyboardInterrupt
        proc = self._proc
        code = None
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = proc.wait(timeout=5)
        self._drain.join(timeout=5)
        tail = self._output.text()
        if self._flooded:
            why = f"wrote more than {OUTPUT_LIMIT // (1024 * 1024)} MiB to stdout/stderr and was stopped"
        elif code is not None and code < 0:
            why = f"was killed by signal {-code}"
        else:
            why = f"exited with code {code}"
        if what == "build":  # e.g. the import failed before the worker could answer
            last = f": {tail.strip().splitlines()[-1][:200]}" if tail.strip() else ""
            raise AgentError(f"building the agent: its process {why}{last}")
        raise AgentCrashed(f"agent.{what}(): the agent's process {why}", details=tail)

    # --- the Agent protocol ---------------------------------------------------------------------------

    def reset(self, task: TaskInfo, *, seed: int | None) -> None:
        """Start the agent's episode (in its process)."""
        self._call({"op": "reset", "task": asdict(task), "seed": seed}, "reset")

    def act(self, observation: Observation) -> Action | str:
        """The agent's next action, checked by the child to be one (or tolerated)."""
        reply = self._call({"op": "act", "obs": observation}, "act")
        reply = reply if isinstance(reply, dict) else {}
        usage = reply.get("usage")
        self._usage = usage if isinstance(usage, dict) else {}
        if "not_action" in reply:
            bad = reply["not_action"] if isinstance(reply["not_action"], dict) else {}
            raise AgentNotAnAction(not_an_action_message(str(bad.get("repr")), str(bad.get("type"))))
        action = reply.get("action")
        return action if isinstance(action, (dict, str)) else str(action)

    def step_usage(self) -> dict[str, Any]:
        """Usage the last act() reported."""
        return self._usage

    def close(self) -> None:
        """Let the agent close, then end its process, everything it started, and its uid's claim."""
        if self._closed:
            return
        self._closed = True
        proc = self._proc
        idle = self._io.acquire(blocking=False)  # else a hung act() is still waiting for its reply
        if idle:
            self._io.release()
        stopping = self._stop is not None and self._stop.is_set()
        if idle and proc is not None and proc.poll() is None and not stopping:
            with contextlib.suppress(Exception):
                self._call({"op": "close"}, "close", CLOSE_DEADLINE_S)
        self._kill()
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        # The pipes close once no call uses them (a call in flight sees the child's end within a moment):
        # an fd number closed under a waiting thread could be reused by another attempt's pipe.
        if self._io.acquire(timeout=5):
            try:
                for fd in (getattr(self, "_to_child", None), getattr(self, "_from_child", None)):
                    if fd is not None:
                        with contextlib.suppress(OSError):
                            os.close(fd)
            finally:
                self._io.release()
        if proc is not None and proc.stdout is not None:
            self._drain.join(timeout=5)
            proc.stdout.close()
        if self.uid is not None:
            release_uid(self.uid)  # kills whatever still runs as the agent's uid
        # the code copy, and the namespaces mode's mount point (its mounts lived in the agent's namespace)
        shutil.rmtree(self._scratch, ignore_errors=True)

    def _kill(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # bwrap; its pid namespace, the agent's tree, ends with it
        if self.uid is not None:
            kill_uid(self.uid)

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            with contextlib.suppress(Exception):
                self.close()


class _Tail:
    """The last ``cap`` bytes of a stream."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._data = b""
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> None:
        with self._lock:
            self._data = (self._data + data)[-self.cap :]

    def text(self) -> str:
        with self._lock:
            return self._data.decode("utf-8", "replace")


@dataclass(frozen=True)
class ProcessAgentFactory:
    """Builds a :class:`ProcessAgent` per attempt; nothing of the agent's code runs in rgym's process."""

    spec: str
    stop: threading.Event | None = None
    task_roots: tuple[Path, ...] = ()

    def __call__(self) -> ProcessAgent:
        """A new agent process. What its code does (a constructor that raises, a missing file) is the
        agent's :class:`AgentError`; anything else that stops the process from starting is the host's.

        Raises:
            AgentError: the agent failed to build.
            AgentHostError: rgym could not start the process.
        """
        try:
            return ProcessAgent(self.spec, stop=self.stop, task_roots=self.task_roots)
        except AgentError:
            raise
        except Exception as exc:
            raise AgentHostError(f"cannot start the agent's process: {type(exc).__name__}: {exc}") from exc


def isolated_factory(
    spec: str,
    isolation: AgentIsolation,
    *,
    stop: threading.Event | None = None,
    task_roots: Iterable[Path] = (),
) -> AgentFactory:
    """The factory for ``spec`` under ``isolation``.

    A built-in agent's spec is checked here as in thread mode (rgym's own code); a ``module:`` agent's only
    for its form, since importing it would run the user's code in rgym's process: its child imports it.
    """
    if isolation is AgentIsolation.THREAD:
        return agent_factory(spec)
    if spec.strip().partition(":")[0].strip().lower() != "module":
        agent_factory(spec)
    return ProcessAgentFactory(spec.strip(), stop, tuple(task_roots))
