"""The Docker backend: one hardened container per sandbox, commands run with ``docker exec``.

Hardening (README.md, "Security model"): the task image, no network (``network_mode=none``) unless the task asks for
egress, which gets rgym's own egress network (:mod:`gym_core.sandbox.docker_network`: the outside, never
the host, private ranges or link-local addresses), or, when the task has ``blocked_urls``, a network whose one
way out is the sandbox's own filtering proxy (:mod:`gym_core.sandbox.egress_proxy`); cpu/memory(+swap)/pids limits, a disk limit
(:mod:`gym_core.sandbox.disk`), commands as uid 1000 with no capabilities and ``no-new-privileges``, a
read-only root filesystem with a writable /workspace and a tmpfs /tmp (at most half the memory limit, so
filling it is ENOSPC, not an OOM kill), docker-init as PID 1 so orphans are reaped, and labels for `rgym gc`.
Every command raises its own ``oom_score_adj`` (:mod:`gym_core.sandbox.shell_session`), so an OOM kill
takes the agent's processes, never the supervisor.

The container's main process is rgym's supervisor (:mod:`gym_core.sandbox.docker_supervisor`). It ends
the container after ``wall_time_s``, so a sandbox whose owner vanished still stops by itself; it kills
every process of the container on request (the sweep), and it reports the container's own cgroup
figures. Nothing here reads the host's cgroup files, so cgroup v1 and v2 hosts behave alike.

Commands go through the sandbox's exec channel (:mod:`gym_core.sandbox.exec_channel`): a long-lived
process started with the container as the agent's uid, over one attached exec socket. It runs each command
in a fresh process tree, kills the tree on timeout, and sweeps the agent's processes after the last running
command (as the agent's uid: ``kill(-1)``), so a step costs no engine call at all. When the channel is down
(the agent killed it, it stalled, or another command is running), a command uses one exec of its own, as
follows, and the supervisor's root sweep after it; the next command opens a new channel.

Commands use the low-level exec API over the raw hijacked socket (:mod:`gym_core.sandbox.docker_exec`):
one thread drains the multiplexed stream (keeping ``cap`` bytes a stream), one feeds stdin, and the caller
waits with a deadline. When a command ends (or times out) and no other command of the sandbox is running,
the supervisor sweeps the container: background jobs end with the command that started them, escaped
daemons (``setsid``, ``env -i``, double forks) included, as on the local backend. The CPU time, memory
peak and OOM kills of the command come from the supervisor's readings before and after it.

Code submissions (``SandboxConfig.submission_runner``, see :mod:`gym_core.sandbox.submission_runner`):
the sandbox's own commands (the grader) run as root inside the container, but with only the capabilities
the runner needs, still with ``no-new-privileges``, a read-only root and no network. Every mount that is
not ``shared_with_runner`` (/eval) is bound from a private copy whose top folder is mode 0700, and root gets
a private scratch folder ($TMPDIR, mode 0700). ``RGYM_SUBMISSION_RUNNER`` drops to another uid with
``setpriv``: the program cannot read /eval or the grader's files, memory, environment or descriptors, nor
signal or trace the grader or the supervisor. Only such a sandbox runs commands as root: in every other
one (the agent's above all) root is the supervisor's alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from gym_core.errors import ChannelBrokenError, SandboxError
from gym_core.images.engine import docker_client
from gym_core.sandbox.base import WORKSPACE, RawResult, SandboxConfig, SandboxHealth, SandboxRole, Usage
from gym_core.sandbox.command_sandbox import CommandSandbox
from gym_core.sandbox.disk import disk_used_mb, loop_disk_supported, make_loop_disk, unmount
from gym_core.sandbox.docker_exec import (
    STDERR,
    close_stream,
    open_exec_stream,
    read_frames,
    wait_exit_code,
    write_stdin,
)
from gym_core.sandbox.docker_network import (
    allow_proxy,
    container_ip,
    egress_dns_servers,
    ensure_egress_network,
    ensure_filtered_network,
    host_subnets,
    revoke_proxy,
)
from gym_core.sandbox.docker_supervisor import SUPERVISOR_SCRIPT, Reading, Supervisor
from gym_core.sandbox.egress_proxy import DestinationPolicy, EgressProxy, Refusal
from gym_core.sandbox.exec_channel import (
    CHANNEL_SCRIPT,
    MAX_STDIN_BYTES,
    DockerSocketTransport,
    ExecChannel,
    channel_result,
    run_or_lose,
)
from gym_core.sandbox.labels import sandbox_labels
from gym_core.sandbox.leases import Lease, remove_tree
from gym_core.sandbox.output import CappedBuffer
from gym_core.sandbox.registry import sandbox
from gym_core.sandbox.submission_runner import (
    DOCKER_CAPS,
    PRIVATE_TMP,
    docker_prefix,
    private_copy,
    runner_uid,
)
from gym_core.settings import get_settings
from gym_core.tasks.spec import Network

AGENT_UID = 1000
#: How long a command's output may keep flowing after its main process exited (background jobs that
#: hold the pipe open would otherwise keep the call waiting until the timeout).
_DRAIN_GRACE_S = 0.5
#: A container with this few free pids or fewer (or a tenth of its limit) has run out of processes: the
#: agent's doing (see ``DockerSandbox.diagnose``).
_PIDS_HEADROOM = 2
#: Users a command may not run as: the supervisor runs as root inside the container (a sandbox with a
#: submission runner is the exception: its grader runs as root, and the submitted code as another uid).
_ROOT_USERS = frozenset({"0", "root"})
#: Namespaced sysctls of every container (its own IPC namespace): a System V shared memory segment is
#: destroyed as soon as no process has it attached. Without this a segment outlives the process that made
#: it, pinned and charged to the container's memory limit, where no OOM kill can free it: an agent's
#: segment would outlive the command (and the sweep), and a submitted program's would eat the memory of
#: the grader that runs it (its grader OOM-killed, the submission regraded).
IPC_SYSCTLS = {"kernel.shm_rmid_forced": "1"}
#: After this many channels that would not open, a sandbox runs every command with one exec.
_CHANNEL_ATTEMPTS = 3


@sandbox("docker")
class DockerSandbox(CommandSandbox):
    """A hardened container per sandbox (see the module docstring)."""

    name = "docker"

    def __init__(self, config: SandboxConfig, *, client: Any | None = None) -> None:
        super().__init__(config)
        self.sandbox_id = uuid.uuid4().hex[:12]
        self._client = client
        self._container_id: str | None = None
        self._scratch = get_settings().sandbox_dir / f"docker-{self.sandbox_id}"
        self._disk_dir: Path | None = None
        self._supervisor: Supervisor | None = None
        self._peak_mb = 0.0
        self._commands = 0
        self._deadline: float | None = None
        # commands in flight, and whether a sweep runs: a sweep kills everything, so commands wait for it
        self._gate = threading.Condition()
        self._running = 0
        self._sweeping = False
        self._runner_uid: int | None = None
        self._pids_at_failure: int | None = None  # what the engine counted when an exec failed
        self._supervisor_stalled = False  # it did not answer a sweep, under the sandbox's own load
        self._proxy: EgressProxy | None = None  # the filtering proxy of an egress sandbox with blocked_urls
        self._proxy_rule: tuple[str, str, int] | None = None  # (container ip, gateway, port) let through
        # the exec channel (module docstring): None while down; opened in the background at start
        self._channel: ExecChannel | None = None
        self._channel_busy = False
        self._channel_failures = 0
        self._channel_opener: threading.Thread | None = None
        self._channels_opened = 0
        self._channel_host_pid: int | None = None
        self._root_sweep_due = False  # a command ran as another uid than the channel's: the root sweeps
        self._supervisor_stale = False  # channel commands ran since the supervisor's latest reading
        self._cpu_ns_seen: int | None = None
        self._last_oom = 0  # the most OOM kills any reading showed

    # --- lifecycle ---------------------------------------------------------------------------------

    @property
    def container_id(self) -> str | None:
        """The container's id once started."""
        return self._container_id

    @property
    def workspace_root(self) -> str:
        """Commands see the workspace at /workspace."""
        return WORKSPACE

    @property
    def runner_prefix(self) -> tuple[str, ...] | None:
        """``setpriv`` down to ``RUNNER_UID`` with nothing left (see the module docstring)."""
        return None if self._runner_uid is None else docker_prefix(self._runner_uid)

    @property
    def _own_user(self) -> str:
        """Who commands run as unless told otherwise: the agent, or root in a runner sandbox."""
        return "0:0" if self.config.submission_runner else f"{AGENT_UID}:{AGENT_UID}"

    def start(self) -> None:
        """Create and start the container, with /workspace populated from ``config.workspace_src``."""
        if self._container_id is not None:
            return
        import docker.errors
        from docker.types import DeviceRequest
        from docker.types import Mount as DockerMount

        client = self._client or docker_client()
        self._client = client
        cfg, lim = self.config, self.config.limits
        try:
            client.images.get(cfg.image)
        except docker.errors.ImageNotFound as exc:
            raise SandboxError(
                f"image {cfg.image} is not in the local Docker engine", hint="run `rgym images build`"
            ) from exc
        if cfg.workspace_src is not None and not cfg.workspace_src.is_dir():
            raise SandboxError(f"{cfg.workspace_src}: workspace folder does not exist")

        runner = cfg.submission_runner
        if runner and any(not m.read_only and not m.shared_with_runner for m in cfg.mounts):
            raise SandboxError("a sandbox with a submission runner keeps its private mounts read-only")

        lease = Lease(sandbox_id=self.sandbox_id, backend=self.name)
        lease.save(self._scratch)
        mounts: list[Any] = []
        # /tmp and /dev/shm are memory: kept to part of the limit, filling them is ENOSPC, not an OOM kill
        tmp_mb, shm_mb = max(1, min(lim.disk_mb, lim.memory_mb // 2)), max(1, min(64, lim.memory_mb // 8))
        tmpfs = {"/tmp": f"rw,nosuid,nodev,size={tmp_mb}m,mode=1777"}
        env = {"HOME": "/tmp", **cfg.env}
        if runner:
            tmpfs[PRIVATE_TMP] = f"rw,nosuid,nodev,size={tmp_mb}m,uid=0,gid=0,mode=0700"
            env.update(HOME=PRIVATE_TMP, TMPDIR=PRIVATE_TMP)
        try:
            if loop_disk_supported():
                disk = self._scratch / "disk"
                lease.mounts.append(str(disk))
                lease.save(self._scratch)
                make_loop_disk(self._scratch / "disk.img", disk, lim.disk_mb)
                self._disk_dir = disk
                ws = disk / "workspace"
                ws.mkdir()
                if cfg.workspace_src is not None:
                    shutil.copytree(cfg.workspace_src, ws, symlinks=True, dirs_exist_ok=True)
                _chown_tree(ws, AGENT_UID)
                mounts.append(DockerMount(WORKSPACE, str(ws), type="bind", read_only=False))
            else:
                # not root: a tmpfs, which counts against the memory limit (documented in disk.py)
                tmpfs[WORKSPACE] = (
                    f"rw,nosuid,nodev,size={lim.disk_mb}m,uid={AGENT_UID},gid={AGENT_UID},mode=755"
                )
            for i, m in enumerate(cfg.mounts):
                if not m.source.exists():
                    raise SandboxError(f"{m.source}: mount source does not exist")
                source = m.source.resolve()
                if runner and not m.shared_with_runner:
                    source = private_copy(source, self._scratch / f"private-{i}")
                mounts.append(DockerMount(m.target, str(source), type="bind", read_only=m.read_only))
            labels = sandbox_labels(cfg)
            device_requests = (
                [DeviceRequest(count=lim.gpus, capabilities=[["gpu"]])] if lim.gpus > 0 else None
            )
            sysctls = dict(IPC_SYSCTLS)
            network: dict[str, Any] = {"network_mode": "none"}
            gateway: str | None = None
            if lim.network == Network.EGRESS and cfg.blocked_urls:
                # one way out: this sandbox's own filtering proxy (docker_network's module docstring)
                net, gateway = ensure_filtered_network(client)
                self._proxy = EgressProxy(cfg.blocked_urls, bind_host=gateway, policy=proxy_policy())
                self._proxy.start()
                env.update(proxy_environment(self._proxy.url))
                network = {"network": net}
                sysctls["net.ipv6.conf.all.disable_ipv6"] = "1"  # no route around the rules
            elif lim.network == Network.EGRESS:
                network = {"network": ensure_egress_network(client), "dns": egress_dns_servers() or None}
                sysctls["net.ipv6.conf.all.disable_ipv6"] = "1"  # no route around the rules
            lifetime = str(int(lim.wall_time_s) + 1) if lim.wall_time_s else "infinity"
            container = client.containers.create(
                cfg.image,
                command=["bash", "-c", SUPERVISOR_SCRIPT, "rgym-supervisor", lifetime],
                name=f"rgym-{cfg.role.value}-{self.sandbox_id}",
                # the supervisor is root with CAP_KILL alone; commands run as AGENT_UID (exec's user), or
                # as root with the runner's capabilities in a sandbox with a submission runner
                user="0:0",
                working_dir=WORKSPACE,
                environment=env,
                labels=labels,
                read_only=True,
                tmpfs=tmpfs,
                mounts=mounts,
                cap_drop=["ALL"],
                cap_add=list(DOCKER_CAPS) if runner else ["KILL"],
                security_opt=["no-new-privileges"],
                cgroupns="private",
                ipc_mode="private",  # the container's own IPC namespace, which IPC_SYSCTLS tune
                sysctls=sysctls,
                shm_size=f"{shm_mb}m",
                pids_limit=lim.pids,
                mem_limit=f"{lim.memory_mb}m",
                memswap_limit=f"{lim.memory_mb}m",
                nano_cpus=int(lim.cpus * 1e9),
                init=True,
                device_requests=device_requests,
                detach=True,
                **network,
            )
            self._container_id = container.id
            if runner:
                self._runner_uid = runner_uid()
            lease.container_id = container.id
            lease.save(self._scratch)
            supervisor = Supervisor(client.api, container.id)
            supervisor.attach()
            self._supervisor = supervisor
            container.start()
            if self._proxy is not None and gateway is not None:
                rule = (container_ip(client, container.id), gateway, self._proxy.port)
                allow_proxy(*rule)
                self._proxy_rule = rule
            supervisor.wait_ready()
            if lim.wall_time_s:
                self._deadline = time.monotonic() + lim.wall_time_s
            if self._disk_dir is None and cfg.workspace_src is not None:
                self._populate_via_tar(cfg.workspace_src)
            if self._channel_wanted:
                # nothing of the agent's runs yet: the channel becomes non-dumpable before anything could
                opener = threading.Thread(target=self._open_channel, daemon=True, name="rgym-channel-open")
                self._channel_opener = opener
                opener.start()
        except docker.errors.APIError as exc:
            self.stop()
            raise SandboxError(f"docker could not start the sandbox: {exc.explanation or exc}") from exc
        except BaseException:
            self.stop()
            raise

    def _populate_via_tar(self, src: Path) -> None:
        import io
        import tarfile

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(src, arcname=".")
        raw = self.exec_argv_raw(
            ["tar", "-x", "--no-same-owner", "-C", WORKSPACE, "-f", "-"],
            stdin=buf.getvalue(),
            timeout_s=600,
            user=f"{AGENT_UID}:{AGENT_UID}",
        )
        if raw.exit_code != 0:
            raise SandboxError(
                f"could not populate /workspace: {raw.stderr.decode(errors='replace').strip()}"
            )

    def stop(self) -> None:
        """Remove the container (killing everything in it), unmount the disk, delete scratch space."""
        self._join_opener()
        cid, self._container_id = self._container_id, None
        self._runner_uid = None
        if cid is not None and self._client is not None:
            with contextlib.suppress(Exception):
                self._client.api.remove_container(cid, force=True, v=True)
        if self._supervisor is not None:
            self._supervisor.close()
            self._supervisor = None
        rule, self._proxy_rule = self._proxy_rule, None
        if rule is not None:
            revoke_proxy(*rule)
        if self._proxy is not None:
            self._proxy.close()  # its refusals stay readable (take_network_refusals)
        self._drop_channel()
        if self._disk_dir is not None:
            if not unmount(self._disk_dir):
                return  # never delete files under a live mount; the lease lets `rgym gc` retry
            self._disk_dir = None
        if self._scratch.exists():
            remove_tree(self._scratch)

    @property
    def alive(self) -> bool:
        """True while the container runs."""
        if self._container_id is None or self._client is None:
            return False
        try:
            state = self._client.api.inspect_container(self._container_id)["State"]
        except Exception:
            return False
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return False
        return bool(state.get("Running"))

    def usage(self) -> Usage:
        """CPU seconds and peak memory from the container's own cgroup (via the supervisor); disk used."""
        latest = self._supervisor.latest if self._supervisor is not None else None
        cpu_ns = max(
            latest.cpu_ns if latest is not None and latest.cpu_ns is not None else 0, self._cpu_ns_seen or 0
        )
        cpu = cpu_ns / 1e9
        peak = latest.peak_bytes / (1024 * 1024) if latest is not None and latest.peak_bytes else 0.0
        disk = disk_used_mb(self._disk_dir) if self._disk_dir is not None else 0.0
        return Usage(
            cpu_s=cpu, peak_memory_mb=max(self._peak_mb, peak), disk_mb=disk, commands=self._commands
        )

    def take_network_refusals(self) -> tuple[list[Refusal], int]:
        """What the filtering proxy refused since the last call (egress with ``blocked_urls`` only)."""
        return self._proxy.take_refusals() if self._proxy is not None else ([], 0)

    def diagnose(self) -> SandboxHealth:
        """After an operation failed: what the engine says of the container, and whether the agent did it.

        * the container is gone (removed, or the engine does not know it): the environment's, as is an
          engine that does not answer (nothing in the sandbox can remove its container);
        * it was OOM-killed: the agent's (its processes filled the memory limit);
        * its wall time is over: the agent's (its time budget);
        * it is not running otherwise: the environment's (killed from outside; from inside, the agent's uid
          can signal neither docker-init nor the supervisor, whose end is the container's);
        * its processes are at or near the pids limit, now or when the failure happened, or its supervisor
          stalled (it shares the sandbox's memory and CPU limits): the agent's;
        * else it runs, and the failure is not the agent's doing.
        """
        import docker.errors

        if self._container_id is None or self._client is None:
            return SandboxHealth(
                alive=False, agent_could_cause=False, reason="the sandbox was stopped by rgym"
            )
        cid = self._container_id[:12]
        try:
            state = self._client.api.inspect_container(self._container_id)["State"]
        except docker.errors.NotFound:
            return SandboxHealth(
                alive=False, agent_could_cause=False, reason=f"container {cid} is gone (removed from outside)"
            )
        except Exception as exc:
            return SandboxHealth(
                alive=False, agent_could_cause=False, reason=f"the engine does not answer: {_first_line(exc)}"
            )
        running = bool(state.get("Running")) and not state.get("Paused")
        if state.get("OOMKilled"):
            return SandboxHealth(
                alive=running, agent_could_cause=True, reason=f"container {cid} was OOM-killed (memory limit)"
            )
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return SandboxHealth(
                alive=False, agent_could_cause=True, reason="the sandbox's wall time is over"
            )
        if not running:
            how = state.get("Error") or f"exit code {state.get('ExitCode')}"
            status = state.get("Status") or "not running"
            return SandboxHealth(
                alive=False,
                agent_could_cause=False,
                reason=f"container {cid} is {status} ({how}): stopped from outside",
            )
        if self._supervisor_stalled:
            return SandboxHealth(
                alive=True,
                agent_could_cause=True,
                reason="its supervisor did not answer a sweep (it shares the sandbox's memory and CPU limits)",
            )
        limit = self.config.limits.pids
        pids = max(self._pids_at_failure or 0, self._pids_now() or 0)
        self._pids_at_failure = None
        if pids >= limit - max(_PIDS_HEADROOM, limit // 10):
            return SandboxHealth(
                alive=True,
                agent_could_cause=True,
                reason=f"its processes reached the pids limit ({pids} of {limit})",
            )
        return SandboxHealth(
            alive=True, agent_could_cause=False, reason=f"container {cid} runs ({pids} processes)"
        )

    def _pids_now(self) -> int | None:
        """How many tasks the container's cgroup holds, as the engine counts them (None when it cannot)."""
        if self._container_id is None or self._client is None:
            return None
        import docker.errors

        api = self._client.api
        try:
            try:
                stats = api.stats(self._container_id, stream=False, one_shot=True)
            except docker.errors.InvalidVersion:  # an engine older than API 1.41 samples for a second
                stats = api.stats(self._container_id, stream=False)
            return int(stats["pids_stats"]["current"])
        except Exception:
            return None

    # --- commands ----------------------------------------------------------------------------------

    def _require_alive(self) -> None:
        if self._container_id is None:
            raise SandboxError("the docker sandbox is not running", hint="start() it first")
        channel = self._channel
        if (
            channel is not None
            and not channel.broken
            and (self._deadline is None or time.monotonic() < self._deadline)
        ):
            return  # it answered the last command: the container runs (no engine call needed)
        if not self.alive:
            raise SandboxError(
                "the docker sandbox has stopped (wall time over, or the container was removed)",
                hint="start a new sandbox",
            )

    def _begin_command(self) -> Reading | None:
        """Count a command in (after any sweep in progress); the reading its figures start from."""
        with self._gate:
            self._gate.wait_for(lambda: not self._sweeping)
            self._running += 1
            return self._supervisor.latest if self._supervisor is not None else None

    def _end_command(self, marker: str, user: str, *, timed_out: bool) -> Reading | None:
        """Count a command out: sweep when it was the last one running, else kill only its own processes."""
        with self._gate:
            self._running -= 1
            last = self._running == 0
            if last:
                self._sweeping = True
        supervisor = self._supervisor
        try:
            if supervisor is None:
                return None
            if last:
                self._drop_channel()  # the root sweep kills it; the next command opens a new one
                self._root_sweep_due = False
                reading = supervisor.sweep()
                if reading is None and self.alive:
                    reading = supervisor.sweep()  # once more: memory or CPU pressure may have stalled it
                if reading is None and self.alive:
                    # the sandbox's own processes can starve the supervisor (it shares their limits)
                    self._supervisor_stalled = True
                    raise SandboxError(
                        f"sandbox {self._container_id and self._container_id[:12]}: its supervisor did not "
                        "answer a sweep; stopping it",
                        hint="start a new sandbox",
                    )
                return reading
            # a command's processes end with it even while others run, as on the channel and the local
            # backend (which end its process group): here by its marker
            self._kill_marked(marker, user)
            return supervisor.report()
        finally:
            if last:
                with self._gate:
                    self._sweeping = False
                    self._gate.notify_all()

    def _run_raw(
        self,
        argv: list[str],
        *,
        stdin: bytes | None,
        user: str | None,
        cwd: str,
        env: dict[str, str],
        timeout_s: float | None,
        cap: int,
    ) -> RawResult:
        assert self._client is not None and self._container_id is not None
        self._join_opener()  # no command of the agent's runs while a channel opens
        user = user or self._own_user
        if user.split(":", 1)[0] in _ROOT_USERS and not self.config.submission_runner:
            raise SandboxError(
                f"the docker backend cannot run commands as {user!r}: inside the sandbox root is "
                "reserved for rgym's supervisor (and for the grader of code submissions)"
            )
        api = self._client.api
        if self._deadline is not None:
            left = max(0.0, self._deadline - time.monotonic())
            timeout_s = left if timeout_s is None else min(timeout_s, left)
        marker = uuid.uuid4().hex
        home = PRIVATE_TMP if self.config.submission_runner else "/tmp"
        full_env = {"HOME": home, **env, "RGYM_EXEC_ID": marker, "RGYM_WS": WORKSPACE}
        if (
            self._channel_wanted
            and user == self._own_user
            and (stdin is None or len(stdin) <= MAX_STDIN_BYTES)
            and self._claim_channel()
        ):
            return self._run_on_channel(
                argv, stdin=stdin, cwd=cwd, env=full_env, timeout_s=timeout_s, cap=cap, marker=marker
            )
        if user != self._own_user:
            self._root_sweep_due = True  # the channel's sweep (the agent's uid) would not reach it
        if self._supervisor_stale and self._supervisor is not None:
            self._supervisor.report()  # so the command's figures start from now, not before channel commands
            self._supervisor_stale = False
        import docker.errors

        before = self._begin_command()
        timed_out = False
        try:
            started = time.monotonic()
            try:
                exec_id = api.exec_create(
                    self._container_id,
                    argv,
                    stdout=True,
                    stderr=True,
                    stdin=stdin is not None,
                    tty=False,
                    environment=full_env,
                    workdir=cwd,
                    user=user,
                )["Id"]
                closer, raw_sock = open_exec_stream(api, exec_id)
            except docker.errors.DockerException as exc:
                # The container died, was removed by hand, the engine went away, or the container has no
                # process left to give (its pids limit): counted now, before the sweep, for diagnose()
                self._pids_at_failure = self._pids_now()
                reason = _first_line(exc)
                raise SandboxError(
                    f"sandbox {self._container_id[:12]} cannot run commands: {reason}"
                ) from exc
            out, err = CappedBuffer(cap), CappedBuffer(cap)

            def sink(stream: int, data: bytes) -> None:
                (err if stream == STDERR else out).feed(data)

            reader = threading.Thread(target=read_frames, args=(raw_sock, sink), daemon=True)
            reader.start()
            writer: threading.Thread | None = None
            if stdin is not None:
                writer = threading.Thread(target=write_stdin, args=(raw_sock, stdin), daemon=True)
                writer.start()

            deadline = None if timeout_s is None else started + timeout_s
            exited_at: float | None = None
            next_check = started + 0.2
            while reader.is_alive():
                reader.join(0.02)
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    timed_out = reader.is_alive()
                    break
                if now >= next_check:
                    next_check = now + 0.2
                    if not api.exec_inspect(exec_id).get("Running", False):
                        exited_at = exited_at or now
                        if now - exited_at >= _DRAIN_GRACE_S:
                            break
        except BaseException:
            self._end_command(marker, user, timed_out=True)
            raise
        # a command's processes end with it (background jobs included), as on the local backend:
        # nothing an agent starts outlives its step, so nothing runs unaccounted between steps
        after = self._end_command(marker, user, timed_out=timed_out)
        reader.join(2.0)
        close_stream(closer, raw_sock)
        reader.join(2.0)
        if writer is not None:
            writer.join(2.0)
        exit_code = None if timed_out else wait_exit_code(api, exec_id)
        duration = time.monotonic() - started
        figures = self._supervisor.window(before, after) if self._supervisor is not None else None
        if figures is not None and figures.peak_memory_mb is not None:
            self._peak_mb = max(self._peak_mb, figures.peak_memory_mb)
        self._commands += 1
        return RawResult(
            exit_code=exit_code,
            stdout=out.getvalue(),
            stderr=err.getvalue(),
            duration_s=duration,
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            timed_out=timed_out,
            oom_killed=figures.oom_killed if figures else False,
            cpu_s=figures.cpu_s if figures else None,
            peak_memory_mb=figures.peak_memory_mb if figures else None,
        )

    # --- the exec channel ----------------------------------------------------------------------------

    @property
    def _channel_wanted(self) -> bool:
        """Sandboxes of many commands (the agent's, Inspect's) use a channel; a grader runs one command, and
        one exec costs it less than opening a channel."""
        return (
            self.config.role in (SandboxRole.AGENT, SandboxRole.INSPECT)
            and not self.config.submission_runner
            and get_settings().exec_channel
            and self._channel_failures < _CHANNEL_ATTEMPTS
        )

    @property
    def channels_opened(self) -> int:
        """How many exec channels this sandbox has opened (a new one after each break)."""
        return self._channels_opened

    @property
    def channel_pid(self) -> int | None:
        """The pid of the open channel inside the sandbox (None while it is down)."""
        self._join_opener()
        channel = self._channel
        return None if channel is None or channel.broken else int(channel.hello.get("pid", 0)) or None

    @property
    def channel_host_pids(self) -> frozenset[int]:
        """The open channel's process as the host sees it (what a leftover-process check leaves out)."""
        if self.channel_pid is None or self._channel_host_pid is None:
            return frozenset()
        return frozenset({self._channel_host_pid})

    def _join_opener(self) -> None:
        opener = self._channel_opener
        if opener is not None and opener is not threading.current_thread():
            opener.join()
            self._channel_opener = None

    def _open_channel(self) -> None:
        """Start a channel as the agent's uid over one attached exec (call it with no agent process alive)."""
        if self._client is None or self._container_id is None:
            return
        from docker.errors import DockerException

        api = self._client.api
        try:
            exec_id = api.exec_create(
                self._container_id,
                ["python3", "-I", "-S", "-c", CHANNEL_SCRIPT],
                stdin=True,
                stdout=True,
                stderr=True,
                tty=False,
                user=f"{AGENT_UID}:{AGENT_UID}",
                workdir=WORKSPACE,
            )["Id"]
            closer, sock = open_exec_stream(api, exec_id)
            channel = ExecChannel(DockerSocketTransport(closer, sock))
            channel.open()
            self._channel_host_pid = int(api.exec_inspect(exec_id).get("Pid") or 0) or None
        except (ChannelBrokenError, SandboxError, DockerException, OSError):
            self._channel_failures += 1
            return
        self._channel = channel
        self._channels_opened += 1
        self._channel_failures = 0

    def _drop_channel(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()

    def _claim_channel(self) -> bool:
        """Take the channel for one command when no other command runs (counted in, as ``_begin_command``)."""
        self._join_opener()
        with self._gate:
            self._gate.wait_for(lambda: not self._sweeping)
            if self._channel_busy or self._running:
                return False
            self._channel_busy = True
            self._running += 1
        if self._channel is None or self._channel.broken:
            self._drop_channel()
            self._open_channel()  # no other command runs and the last one ended with a sweep: none of its
            # processes is left to reach the new channel before it is non-dumpable
            if self._channel is None:
                with self._gate:
                    self._channel_busy = False
                    self._running -= 1
                    self._gate.notify_all()
                return False
        return True

    def _run_on_channel(
        self,
        argv: list[str],
        *,
        stdin: bytes | None,
        cwd: str,
        env: dict[str, str],
        timeout_s: float | None,
        cap: int,
        marker: str,
    ) -> RawResult:
        channel = self._channel
        assert channel is not None
        started = time.monotonic()
        try:
            reply = run_or_lose(
                channel,
                argv,
                env=env,
                inherit_env=True,
                cwd=cwd,
                timeout_s=timeout_s,
                cap=cap,
                stdin=stdin,
                marker=marker,
            )
        except BaseException:
            self._drop_channel()
            self._end_on_channel(root=True)
            raise
        self._supervisor_stale = True
        self._end_on_channel(root=reply is None, clean=reply is not None and reply.clean)
        self._commands += 1
        if reply is None and not self.alive:  # not the agent's doing: the container is gone or stopped
            raise SandboxError(
                "the docker sandbox has stopped (wall time over, or the container was removed)",
                hint="start a new sandbox",
            )
        if reply is None:  # the agent killed (or stopped) its channel while the command ran
            swept = self._supervisor.latest if self._supervisor is not None else None
            lost_to_oom = bool(swept and swept.oom_kills and self._oom_before(swept.oom_kills))
            return channel_result(channel, None, started=started, oom_killed=lost_to_oom)
        before, after = reply.before or {}, reply.after or {}
        cpu_s = peak_mb = None
        if before.get("cpu_ns") is not None and after.get("cpu_ns") is not None:
            cpu_s = max(0, int(after["cpu_ns"] or 0) - int(before["cpu_ns"] or 0)) / 1e9
            self._cpu_ns_seen = max(self._cpu_ns_seen or 0, int(after["cpu_ns"] or 0))
        peak_b, peak_a = before.get("peak"), after.get("peak")
        peak = peak_a if peak_a is not None and peak_b is not None and peak_a > peak_b else reply.high
        if peak is not None:
            peak_mb = peak / (1024 * 1024)
            self._peak_mb = max(self._peak_mb, peak_mb)
        oom_b, oom_a = before.get("oom"), after.get("oom")
        if oom_a is not None:
            self._last_oom = max(self._last_oom, int(oom_a))
        oom = oom_a is not None and oom_b is not None and oom_a > oom_b
        return channel_result(
            channel, reply, started=started, oom_killed=oom, cpu_s=cpu_s, peak_memory_mb=peak_mb
        )

    def _oom_before(self, oom_kills: int) -> bool:
        """True when ``oom_kills`` is more than any count seen before (an OOM kill since then)."""
        seen = self._last_oom
        self._last_oom = max(seen, oom_kills)
        return oom_kills > seen

    def _end_on_channel(self, *, root: bool, clean: bool = False) -> None:
        """Count a channel command out; the last one running sweeps: by the channel, or by the supervisor
        (``root``: the channel broke, or a command ran as another uid). ``clean``: the channel saw none of
        the agent's processes left, so there is nothing to sweep."""
        with self._gate:
            self._running -= 1
            self._channel_busy = False
            last = self._running == 0
            if last:
                self._sweeping = True
            else:
                self._gate.notify_all()
        if not last:
            return
        try:
            channel = self._channel
            if not root and not self._root_sweep_due and channel is not None and not channel.broken:
                if clean:
                    return
                try:
                    left, _ = channel.sweep()
                    if left == 0:
                        return
                except ChannelBrokenError:
                    pass
            self._drop_channel()  # the root sweep kills it too
            self._root_sweep_due = False
            supervisor = self._supervisor
            if supervisor is not None:
                reading = supervisor.sweep()
                if reading is None and self.alive:
                    reading = supervisor.sweep()
                if reading is None and self.alive:
                    self._supervisor_stalled = True
                self._supervisor_stale = False
        finally:
            with self._gate:
                self._sweeping = False
                self._gate.notify_all()

    def _kill_marked(self, marker: str, user: str) -> None:
        """Kill one command's processes while others run: from inside, as its user, by its marker.

        Best effort (a process that cleared its environment escapes it); the sweep after the last running
        command gets everything anyway.
        """
        assert self._client is not None and self._container_id is not None
        with contextlib.suppress(Exception):
            kid = self._client.api.exec_create(
                self._container_id, ["bash", "-c", _KILL_BY_MARKER, "rgym-kill", marker], user=user
            )["Id"]
            self._client.api.exec_start(kid)


def proxy_policy() -> DestinationPolicy:
    """Where a filtering proxy may connect: not local ranges nor the host's subnets (what the egress firewall
    refuses), but for ``RGYM_EGRESS_PROXY_ALLOW``."""
    allow = get_settings().egress_proxy_allow or ""
    return DestinationPolicy(
        local=host_subnets(exclude=()), allow=[a.strip() for a in allow.split(",") if a.strip()]
    )


def proxy_environment(url: str) -> dict[str, str]:
    """The variables that send curl, pip, git, requests and urllib through the proxy."""
    return {
        "HTTP_PROXY": url,
        "HTTPS_PROXY": url,
        "http_proxy": url,
        "https_proxy": url,
        "ALL_PROXY": url,
        "all_proxy": url,
        "NO_PROXY": "",
        "no_proxy": "",
    }


def _first_line(exc: BaseException) -> str:
    """An engine error's own explanation, or its first line."""
    text = getattr(exc, "explanation", None) or str(exc)
    return (str(text).splitlines() or [type(exc).__name__])[0]


_KILL_BY_MARKER = r"""
for round in 1 2 3 4 5; do
  found=
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = "$$" ] && continue
    if grep -qz "^RGYM_EXEC_ID=$1\$" "$p/environ" 2>/dev/null; then kill -9 "$pid" 2>/dev/null && found=1; fi
  done
  [ -z "$found" ] && break
done
"""


def _chown_tree(root: Path, uid: int) -> None:
    """Give the agent user the workspace (lchown: links themselves, never their targets)."""
    os.lchown(root, uid, uid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, uid)
