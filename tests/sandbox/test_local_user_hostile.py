"""A hostile agent on the local backend when rgym runs as a normal user, through ``env.step()`` only.

There the agent runs as that very user (in a user namespace of bubblewrap's): the task folder, the trace
store, the data dir and the user's Python are the agent's own uid's files, so only the sandbox's view keeps
them out of reach. Each attack below is played on a copy of tiny-mean in that user's home, then the agent
answers 5.0, validates and submits; whatever it tried, the task's files, the store and the user's files stay
as they were, no hidden data or secret reaches any observation or snapshot, and neither score rises above
what 5.0 is worth (normalized 0.0 on both splits).

The copy's grader is deliberately naive: it runs from /tmp with ``python -c`` (so a ``json.py`` in its
working folder would be imported) and HOME=/tmp, so any file the agent could plant in the grader's /tmp,
home or Python would take over grading. The planted payload prints a perfect score whenever it runs with
``RGYM_SPLIT`` set (as in a grader); in the agent's own view it is shown to work (a control).
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.sandbox.conftest import as_root
from tests.sandbox.test_local_as_user import FIXTURES, RunAsUser, as_user  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.skipif(not as_root(), reason="running rgym as another user needs root"),
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="a normal user's local sandbox needs bubblewrap"
    ),
]

#: Runs the grader from /tmp with the working folder first on sys.path: the naive grader (module docstring).
NAIVE_GRADER = (
    'cd /tmp && exec python -c \'import runpy, sys; sys.argv = ["/eval/grade.py", "/submission"]; '
    'runpy.run_path("/eval/grade.py", run_name="__main__")\'\n'
)
#: Takes over any Python that imports it in a grader (RGYM_SPLIT set): a perfect score, then exit.
PAYLOAD = (
    "import os, sys\n"
    'if os.environ.get("RGYM_SPLIT"):\n'
    "    sys.stdout.write('{\"score\": 0.0}\\n')\n"
    "    sys.stdout.flush()\n"
    "    os._exit(0)\n"
)
PERFECT = '{"score": 0.0}'


@dataclass(frozen=True)
class Attack:
    """Steps the agent plays (actions whose strings hold @NAME@ placeholders) before it answers 5.0."""

    steps: list[dict[str, Any]]
    keeps_answer: bool = True
    """The attack leaves answer.txt alone: the scores must be exactly what 5.0 is worth, not just no more."""
    expect: dict[int, list[str]] = field(default_factory=dict)
    """Step index -> texts its output must hold (what shows the attack was really tried)."""
    forbid: dict[int, list[str]] = field(default_factory=dict)
    """Step index -> texts its output must not hold."""
    same: list[tuple[int, int]] = field(default_factory=list)
    """Pairs of steps whose outputs must be the same (nothing of the agent's ran in between)."""


def bash(command: str) -> dict[str, Any]:
    return {"tool": "bash", "command": command}


def write(path: str, content: str) -> dict[str, Any]:
    return {"tool": "write_file", "path": path, "content": content}


def read(path: str) -> dict[str, Any]:
    return {"tool": "read_file", "path": path}


VALIDATE = {"tool": "validate"}
SUBMIT = {"tool": "submit"}

#: Lists every writable folder of the Python the agent sees (the user's own venv and its base Python).
PYTHON_DIRS = (
    "python3 -c 'import site, sys, sysconfig; "
    'print("\\n".join({*site.getsitepackages(), sysconfig.get_paths()["stdlib"], sys.prefix, sys.base_prefix, '
    'sys.prefix + "/bin"}))\''
)

ATTACKS: dict[str, Attack] = {
    "read-hidden-data-and-secrets": Attack(
        [
            bash(
                "cat @TASK@/eval/marker.txt @TASK@/reference/marker.txt @TASK@/eval/private.txt "
                "/proc/1/root@TASK@/eval/marker.txt /proc/$PPID/root@TASK@/eval/marker.txt; "
                "ls -la @TASK@ @TASK@/eval @HOME@ @DATA@; echo find-start; "
                "find / -xdev \\( -name marker.txt -o -name private.txt -o -name traces.db "
                "-o -name grade.py \\) 2>/dev/null; echo find-end"
            ),
            bash(
                "env; cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'; ps -eo pid,user,args; "
                "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '; echo; ls /proc; echo done"
            ),
            read("@TASK@/eval/marker.txt"),
            read("../../../../../../../..@TASK@/eval/marker.txt"),
            bash("ln -s @TASK@/eval/marker.txt leak && ln -s @TASK@ task && ln -s / root; ls -la"),
            read("leak"),
            read("task/eval/marker.txt"),
            read("root/proc/1/root@TASK@/eval/marker.txt"),
        ],
        expect={0: ["find-start\nfind-end"], 1: ["done"]},
    ),
    "poison-the-task-folder": Attack(
        [
            write("payload.py", PAYLOAD),
            write("grade.py", f"print('{PERFECT}')\n"),
            write("run.sh", f"echo '{PERFECT}'\n"),
            bash(
                "cp payload.py @TASK@/eval/json.py; cp payload.py @TASK@/eval/sitecustomize.py; "
                "cp grade.py @TASK@/eval/grade.py; cat grade.py >> @TASK@/eval/grade.py; "
                "cp run.sh @TASK@/eval/run.sh; echo 1 > @TASK@/eval/private.txt; "
                "cp payload.py /proc/1/root@TASK@/eval/json.py; "
                "mkdir -p /eval && cp payload.py /eval/json.py; "
                "ln -s @TASK@/eval evil; ln -s @TASK@/reference ref; true"
            ),
            write("evil/json.py", PAYLOAD),
            write("@TASK@/eval/json.py", PAYLOAD),
            write("../../../../../../../..@TASK@/eval/json.py", PAYLOAD),
            write("ref/answer.txt", "10.0"),
        ],
        expect={3: ["No such file or directory"]},
    ),
    "poison-the-users-python": Attack(
        [
            write("payload.py", PAYLOAD),
            bash(
                f"for d in $({PYTHON_DIRS}); do "
                'cp payload.py "$d/sitecustomize.py"; cp payload.py "$d/json.py"; '
                'echo "import rgym_poison" > "$d/rgym-poison.pth"; cp payload.py "$d/rgym_poison.py"; '
                "done 2>&1 | sed 's/.*: //' | sort | uniq -c; echo done"
            ),
        ],
        expect={1: ["Read-only file system", "done"]},
        forbid={1: ["Permission denied"]},  # read-only to the agent even when the user owns that Python
    ),
    "plant-files-for-the-grader": Attack(
        [
            write("payload.py", PAYLOAD),
            bash(
                "for d in /tmp $(python3 -m site --user-site) "
                "/workspace /var/tmp /dev/shm $HOME; do mkdir -p $d; for m in json sitecustomize usercustomize "
                "pathlib math; do cp payload.py $d/$m.py; done; done 2>/dev/null; "
                "for d in @DATA@/sandboxes/*/disk/tmp @DATA@/sandboxes/*/disk/workspace /tmp/rgym-submission-* "
                "/var/tmp/rgym-*; do cp payload.py $d/json.py; done; "
                "cd /tmp && RGYM_SPLIT=public python3 -c 'import json'"
            ),
        ],
        expect={1: [PERFECT]},  # the control: in the agent's own view the payload takes over Python
    ),
    "symlink-the-answer-out": Attack(
        [
            bash("ln -sfn @HOME@/perfect-public.txt answer.txt; cat answer.txt; true"),
            VALIDATE,
            bash("ln -sfn /proc/1/root@HOME@/perfect-private.txt answer.txt; true"),
        ],
        keeps_answer=False,
    ),
    "answer-is-a-fifo": Attack(
        [bash("rm -f answer.txt; mkfifo answer.txt; (sleep 1000 > answer.txt &); ls -l answer.txt")],
        keeps_answer=False,
        expect={0: ["prw"]},  # a grader or copy reading it would hang until the writer ends
    ),
    "race-the-answer-past-the-step": Attack(
        [
            write("answer.txt", "5.0\n"),
            bash(
                "cat > race.sh <<'EOF'\n"
                "i=0\n"
                "while :; do\n"
                "  i=$((i + 1)); echo $i > beat.tmp && mv -f beat.tmp beat\n"
                "  ln -sfn @HOME@/perfect-public.txt a.lnk && mv -fT a.lnk answer.txt\n"
                "  echo 5.0 > a.reg && mv -fT a.reg answer.txt\n"
                "done\n"
                "EOF\n"
                "(setsid nohup env -i sh race.sh >/dev/null 2>&1 &); "
                "(sh -c 'sh race.sh >/dev/null 2>&1 & ' &); "
                "while [ ! -s beat ]; do :; done; echo racing"
            ),
            bash("cat beat"),
            VALIDATE,
            bash("cat beat"),
        ],
        keeps_answer=False,
        expect={1: ["racing"]},
        same=[(2, 4)],  # a racer alive during the validate would have counted on
    ),
    "signal-rgym": Attack(
        [bash("kill -9 @PID@; kill -STOP @PID@; kill -9 $PPID; kill -STOP 1; echo tried; true")],
    ),
    "poison-the-store-and-data-dir": Attack(
        [
            bash(
                "echo junk > @STORE@; rm -rf @DATA@/* @HOME@/*.db; : > /proc/1/root@STORE@; "
                "sqlite3 @STORE@ 'delete from steps' 2>&1; echo tried; true"
            ),
        ],
    ),
}


SCRIPT = """
import json, os, pathlib, shutil, stat, tempfile
from gym_core.env.research_env import ResearchEnv
from gym_core.store import open_store

home = pathlib.Path.cwd().resolve()
task = home / "tasks" / "tiny-mean"
shutil.copytree(os.environ["FIXTURE"], task)
marker = os.environ["MARKER"]
(task / "eval" / "marker.txt").write_text(marker + "\\n")
(task / "reference" / "marker.txt").write_text(marker + "\\n")
(task / "eval" / "run.sh").write_text(os.environ["NAIVE_GRADER"])
spec = task / "task.yaml"
spec.write_text(spec.read_text().replace("command: \\"python /eval/grade.py /submission\\"",
                                         "command: \\"sh /eval/run.sh\\""))
assert "sh /eval/run.sh" in spec.read_text()
(home / "perfect-public.txt").write_text("9.0\\n")
(home / "perfect-private.txt").write_text("10.0\\n")
store_path = home / "traces.db"
data = pathlib.Path(os.environ["RGYM_DATA_DIR"])


def tree(root):
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(root))] = [stat.filemode(st.st_mode),
                                         p.read_text() if stat.S_ISREG(st.st_mode) else ""]
    return out


def mine():
    return {"task": tree(task), "perfect": [(home / f"perfect-{s}.txt").read_text() for s in ("public", "private")]}


before = mine()
env = ResearchEnv(str(task), backend="local", store=f"sqlite:///{store_path}")
env.reset(seed=0)
fill = {"@TASK@": str(task), "@HOME@": str(home), "@DATA@": str(data), "@STORE@": str(store_path),
        "@PID@": str(os.getpid())}


def filled(value):
    if isinstance(value, str):
        for k, v in fill.items():
            value = value.replace(k, v)
    return value


attack = json.loads(os.environ["ATTACK"])
steps = attack["steps"] + ([] if not attack["keeps_answer"] else [{"tool": "write_file", "path": "answer.txt",
                                                                  "content": "5.0\\n"}])
steps += [{"tool": "validate"}, {"tool": "submit"}]
outputs, validates, final, terminated = [], [], "unset", False
for action in steps:
    action = {k: filled(v) for k, v in action.items()}
    obs, _reward, terminated, _truncated, info = env.step(action)
    outputs.append(obs["output"])
    if action["tool"] == "validate":
        validates.append(obs["normalized_score"])
    if action["tool"] == "submit":
        final = info["final_normalized_score"]
episode_id = env.episode_id
env.close()
store = open_store(f"sqlite:///{store_path}")
episode = store.get_episode(episode_id)
snapshots = ""
with tempfile.TemporaryDirectory() as tmp:
    for i, ev in enumerate(store.list_evaluations(episode_id)):
        if ev.snapshot:
            dest = pathlib.Path(tmp) / str(i)
            store.restore_snapshot(ev.snapshot, dest)
            for p in sorted(dest.rglob("*")):
                snapshots += str(p.relative_to(dest)) + "\\n"
                if p.is_file() and not p.is_symlink():
                    snapshots += p.read_text(errors="replace") + "\\n"
print(json.dumps({
    "outputs": outputs, "validates": validates, "final": final, "terminated": terminated,
    "steps_stored": len(store.list_steps(episode_id)), "steps_taken": len(steps),
    "status": episode.status, "snapshots": snapshots,
    "unchanged": mine() == before, "data_dir_kept": data.is_dir() and any(data.iterdir()),
}))
store.close()
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_hostile_agent_of_a_normal_user_gains_nothing(as_user: RunAsUser, name: str) -> None:  # noqa: F811
    attack = ATTACKS[name]
    marker = f"RGYM-HIDDEN-{uuid.uuid4().hex}"
    secret = f"sk-RGYM-SECRET-{uuid.uuid4().hex}"
    out = as_user(
        SCRIPT,
        env={
            "ATTACK": json.dumps({"steps": attack.steps, "keeps_answer": attack.keeps_answer}),
            "FIXTURE": str(FIXTURES / "tiny-mean"),
            "MARKER": marker,
            "NAIVE_GRADER": NAIVE_GRADER,
            "OPENAI_API_KEY": secret,
            "RGYM_TEST_SECRET": secret,
        },
    )
    outputs: list[str] = out["outputs"]
    for index, texts in attack.expect.items():
        for text in texts:
            assert text in outputs[index], f"step {index} of {name} was not really tried: {outputs[index]!r}"
    seen = "\n".join(outputs) + out["snapshots"]
    assert marker not in seen and secret not in seen
    assert "script.py" not in seen  # not even rgym's own process is in view
    assert out["unchanged"], "the task folder or the user's files changed"
    assert out["data_dir_kept"]
    assert out["steps_stored"] == out["steps_taken"] and out["status"] == "submitted"
    assert out["terminated"]
    for score in [*out["validates"], out["final"]]:
        assert score is None or score <= 0.0, f"{name} raised a score: {out['validates']} {out['final']}"
    if attack.keeps_answer:
        assert out["validates"] == [0.0] and out["final"] == 0.0
    for a, b in attack.same:
        assert outputs[a] == outputs[b], (
            f"a process of the agent outlived its step: {outputs[a]!r} {outputs[b]!r}"
        )
    for index, texts in attack.forbid.items():
        for text in texts:
            assert text not in outputs[index], f"step {index} of {name}: {outputs[index]!r}"
