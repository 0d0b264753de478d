"""The local backend when rgym runs as a normal user (the tests are root, so they run rgym as another uid).

Each case is a small script run with ``setpriv`` as an unprivileged uid that owns nothing but its own home
folder, printing one JSON object the test asserts on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gym_core.sandbox.uids import uid_range
from tests.sandbox.conftest import as_root, python_reachable_by_others

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "tasks"
#: A uid no user, sandbox or other test has (outside the sandbox range).
USER_UID = 1_990_000_000 + os.getpid() % 1_000_000

pytestmark = pytest.mark.skipif(not as_root(), reason="running rgym as another user needs root")

RunAsUser = Callable[..., dict[str, Any]]


#: Forks sleeping children until fork fails, says so with a file, then holds them.
FILL_PIDS = """
import os, time
try:
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
except OSError:
    pass
open("full", "w").close()
time.sleep(25)
"""


@pytest.fixture
def as_user() -> Iterator[RunAsUser]:
    """Run a Python script as USER_UID with a home of its own; returns the JSON its last line prints."""
    assert USER_UID not in uid_range()
    home = Path(tempfile.mkdtemp(prefix="rgym-user-", dir="/var/tmp"))
    os.chown(home, USER_UID, USER_UID)
    home.chmod(0o700)

    def run(script: str, *, env: dict[str, str] | None = None, timeout: float = 300) -> dict[str, Any]:
        path = home / "script.py"
        path.write_text(textwrap.dedent(script))
        os.chown(path, USER_UID, USER_UID)
        full_env = {
            "HOME": str(home),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "RGYM_DATA_DIR": str(home / "data"),
            "RGYM_TASKS_PATH": str(FIXTURES),
            "PYTHONPATH": str(REPO),
            **(env or {}),
        }
        argv = [
            *python_reachable_by_others(home / ".base-python"),
            "setpriv",
            f"--reuid={USER_UID}",
            f"--regid={USER_UID}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            sys.executable,
            str(path),
        ]
        proc = subprocess.run(argv, env=full_env, cwd=home, capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))

    yield run
    subprocess.run(["pkill", "-KILL", "-U", str(USER_UID)], check=False)
    shutil.rmtree(home, ignore_errors=True)


def test_without_bubblewrap_a_normal_user_is_refused_unless_opted_in(as_user: RunAsUser) -> None:
    out = as_user(
        """
        import json, os, warnings
        import gym_core.sandbox.local_backend as lb
        from gym_core.errors import BackendUnavailableError
        from gym_core.sandbox import Limits, SandboxConfig
        from gym_core.settings import get_settings

        lb.bubblewrap_usable = lambda: False
        cfg = SandboxConfig(limits=Limits(memory_mb=256, pids=64, disk_mb=32))
        out = {}
        try:
            lb.LocalSandbox(cfg).start()
            out["refused"] = None
        except BackendUnavailableError as exc:
            out["refused"] = str(exc)
        os.environ["RGYM_ALLOW_WEAK_ISOLATION"] = "1"
        get_settings.cache_clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sb = lb.LocalSandbox(cfg)
            sb.start()
        out["warning"] = " ".join(str(w.message) for w in caught)
        out["uid"] = sb.exec("id -u").stdout.strip()
        sb.stop()
        print(json.dumps(out))
        """
    )
    assert out["refused"] and "--allow-weak-isolation" in out["refused"] and "as you" in out["refused"]
    assert "can read and write whatever you can" in out["warning"]
    assert out["uid"] == str(USER_UID)


def test_the_cli_refusal_is_one_line_with_the_way_out(as_user: RunAsUser) -> None:
    out = as_user(
        """
        import contextlib, io, json, sys
        import gym_core.sandbox.local_backend as lb
        from gym_core.cli.main import main

        lb.bubblewrap_usable = lambda: False
        results = {}
        for extra in ([], ["--allow-weak-isolation"]):
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                code = main(["run", "tiny-mean", "--agent", "noop", "--backend", "local", "--no-progress",
                             "--no-report", "--store", "sqlite:///cli.db", *extra])
            results[" ".join(extra) or "plain"] = [code, err.getvalue()]
        print(json.dumps(results))
        """
    )
    code, err = out["plain"]
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--allow-weak-isolation" in errors[0]
    assert "Traceback" not in err
    code, err = out["--allow-weak-isolation"]
    assert "needs bubblewrap" not in err  # the sandbox started (grading then needs bubblewrap: refused)


def test_parallel_attempts_of_a_normal_user_do_not_starve_each_other(as_user: RunAsUser) -> None:
    """A holds every process its budget allows; B's bash and validate still work (item 3)."""
    if shutil.which("bwrap") is None:
        pytest.skip("needs bubblewrap")
    out = as_user(
        """
        import json, os, threading, time
        from gym_core.env.research_env import ResearchEnv

        task = "tiny-mean"
        a = ResearchEnv(task, backend="local", store="sqlite:///a.db")
        b = ResearchEnv(task, backend="local", store="sqlite:///b.db")
        a.reset(seed=0)
        b.reset(seed=0)
        a.step({"tool": "write_file", "path": "fill.py", "content": os.environ["FILL"]})
        fill = "python3 fill.py"
        t = threading.Thread(target=a.step, args=({"tool": "bash", "command": fill, "timeout_s": 25},))
        t.start()
        full = a._sandbox.host_workspace / "full"
        deadline = time.monotonic() + 60
        while not full.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        out = {"a_full": full.exists()}
        obs = b.step({"tool": "bash", "command": "echo 9 > answer.txt && echo ok"})[0]
        out["b_bash"] = obs["output"]
        obs = b.step({"tool": "validate"})[0]
        out["b_score"] = obs["score"]
        out["b_validate"] = obs["output"]
        t.join()
        a.close()
        b.close()
        print(json.dumps(out))
        """,
        env={"FILL": FILL_PIDS},
    )
    assert out["a_full"]
    assert out["b_bash"].strip() == "ok"
    assert out["b_score"] is not None, out["b_validate"]


def test_cleanup_never_chmods_through_an_agents_symlink(as_user: RunAsUser) -> None:
    """The agent leaves a read-only folder holding a link to one of your files; closing the env
    deletes the folder without touching the file (item 6)."""
    if shutil.which("bwrap") is None:
        pytest.skip("needs bubblewrap")
    out = as_user(
        """
        import json, os, pathlib
        from gym_core.env.research_env import ResearchEnv

        victim = pathlib.Path("victim.txt").resolve()
        victim.write_text("mine")
        victim.chmod(0o644)
        env = ResearchEnv("tiny-mean", backend="local", store="sqlite:///t.db")
        env.reset(seed=0)
        scratch = env._sandbox._scratch
        env.step({"tool": "bash", "command": f"mkdir trap && ln -s {victim} trap/link && chmod 555 trap && ls trap"})
        nested = env.step({"tool": "bash", "command": "unshare -Ur true && echo nested-userns"})[0]["output"]
        env.close()
        print(json.dumps({"mode": oct(victim.stat().st_mode & 0o777), "left": scratch.exists(),
                          "text": victim.read_text(), "nested": "nested-userns" in nested}))
        """
    )
    assert out == {"mode": "0o644", "left": False, "text": "mine", "nested": False}
