"""rgym's grader for a task imported from MLGym: MLGym's own ``evaluate.py`` behind rgym's grader contract.

This file is copied verbatim into an imported task's ``eval/`` folder by ``rgym tasks import mlgym`` and runs
in the grader sandbox (standard library only; ``evaluate.py`` brings its own imports)::

    python /eval/rgym_mlgym_grade.py /submission

It reads ``rgym_mlgym.json`` beside it and adapts MLGym's conventions to rgym's (see docs/importing.md):

* **Paths.** MLGym's scripts read ``/home/agent/workspace/...`` or paths relative to the workspace. The
  adapter builds a private *view* of that workspace in ``$TMPDIR`` (MLGym's evaluation files from
  ``/eval/mlgym``, the hidden files from ``/eval/data`` under ``data/``, the submitted files) and runs
  ``evaluate.py`` there, with the hard-coded workspace path replaced by the view's path.
* **Splits.** ``RGYM_SPLIT=private`` grades what MLGym grades (the whole test set; for a game, the private
  seed). ``public`` grades a fixed hidden half of the test rows (``split.id_column``), or the public seed.
* **Output.** MLGym prints a JSON object such as ``{"accuracy": 0.77}`` or ``{"Score": 1.02}``; the key named
  by ``metric`` becomes ``{"score": ...}`` on the last line; the other keys are kept as diagnostics.
* **Code submissions.** For a strategy task MLGym imports the agent's module (``from strategy import
  row_strategy``) into ``evaluate.py``'s own process. Here that module is a proxy: each call crosses a pipe
  to the agent's code, which runs through ``$RGYM_SUBMISSION_RUNNER`` as another user who cannot read
  ``/eval``. Values cross as JSON, tuples kept as tuples.

Exit codes: 0 with the score line; 1 with one line on stderr for an invalid submission (a missing file, a
malformed CSV, a strategy that crashes, breaks the protocol or runs out of time, or a move ``evaluate.py``
refuses); 2 when the grader itself cannot work (misuse, a broken ``evaluate.py``).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
import random
import select
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

HERE = Path(__file__).resolve().parent
CONFIG_FILE = "rgym_mlgym.json"
MAX_LINE = 1 << 20
"""Longest reply line a submitted program may send (bytes)."""
MAX_REASON = 300


class Invalid(Exception):
    """The submission is invalid: exit 1 with this message."""


class Broken(Exception):
    """The grader cannot work: exit 2 with this message."""


def _invalid(message: str) -> NoReturn:
    print(message.splitlines()[0][:MAX_REASON] if message.strip() else "invalid submission", file=sys.stderr)
    sys.exit(1)


def _broken(message: str) -> NoReturn:
    print(f"grader error: {message}"[:2000], file=sys.stderr)
    sys.exit(2)


# --- the workspace view ------------------------------------------------------------------------------


def build_view(config: dict[str, Any], submission: Path, eval_root: Path, split: str) -> Path:
    """A private copy of MLGym's workspace as ``evaluate.py`` expects it, for one split."""
    view = Path(tempfile.mkdtemp(prefix="mlgym-view-"))
    shutil.copytree(eval_root / "mlgym", view, dirs_exist_ok=True)
    hidden = eval_root / "data"
    if hidden.is_dir():
        shutil.copytree(hidden, view / "data", dirs_exist_ok=True)
    for rel in config.get("submission", []):
        src = submission / rel
        if src.is_file() and not src.is_symlink():
            target = view / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
    split_config = config.get("split") or {}
    if split_config.get("kind") == "rows":
        _split_rows(split_config, view, split)
    return view


def _public_row(salt: str, row_id: str) -> bool:
    return hashlib.sha256(f"{salt}:{row_id}".encode()).digest()[0] < 128


def _read_csv(path: Path, label: str) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            return list(reader.fieldnames or []), rows
    except FileNotFoundError:
        raise Invalid(f"{label} is missing from the submission") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise Invalid(f"{label} is not a readable CSV file: {exc}") from None


def _write_csv(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _split_rows(split_config: dict[str, Any], view: Path, split: str) -> None:
    """Check the submission covers every hidden row once; keep the split's rows in both files."""
    truth_path = view / split_config["truth"]
    sub_label = split_config["submission"]
    id_column = split_config["id_column"]
    truth_fields, truth = _read_csv(truth_path, split_config["truth"])
    fields, rows = _read_csv(view / sub_label, sub_label)
    if id_column not in fields:
        raise Invalid(f"{sub_label}: the column {id_column} is missing (columns: {', '.join(fields)[:120]})")
    expected = {row[id_column] for row in truth}
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2):
        row_id = row.get(id_column) or ""
        if row_id in seen:
            raise Invalid(f"{sub_label}: line {number}: {id_column} {row_id[:40]} appears twice")
        if row_id not in expected:
            raise Invalid(f"{sub_label}: line {number}: {id_column} {row_id[:40]} is not a test id")
        seen.add(row_id)
    if len(seen) != len(expected):
        raise Invalid(f"{sub_label}: {len(expected) - len(seen)} test id(s) of {len(expected)} are missing")
    if split == "private":
        return  # the whole test set, as MLGym grades it
    salt = str(split_config["salt"])
    _write_csv(truth_path, truth_fields, [r for r in truth if _public_row(salt, r[id_column])])
    _write_csv(view / sub_label, fields, [r for r in rows if _public_row(salt, r[id_column])])


def evaluate_source(config: dict[str, Any], view: Path) -> str:
    """``evaluate.py`` with MLGym's hard-coded workspace path pointing at the view."""
    source = (view / str(config["evaluate"])).read_text(encoding="utf-8")
    for root in config.get("workspace_paths", ["/home/agent/workspace"]):
        source = source.replace(str(root), str(view))
    return source


def metrics_from(output: str) -> dict[str, Any]:
    """The last line of ``output`` that is a JSON object (MLGym's scripts print one)."""
    for line in reversed(output.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    raise Broken(f"evaluate.py printed no JSON object; its output ends: {output.strip()[-300:]!r}")


def score_line(config: dict[str, Any], metrics: dict[str, Any]) -> str:
    """rgym's score line from MLGym's metrics, matching the metric's key without regard to case."""
    wanted = str(config["metric"]).lower()
    matches = [key for key in metrics if key.lower() == wanted]
    if not matches:
        raise Broken(f"evaluate.py reported {sorted(metrics)}, not the metric {config['metric']!r}")
    value = metrics[matches[0]]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Invalid(f"the submission scores a non-finite {config['metric']} ({value!r})")
    details = {f"mlgym_{k}": v for k, v in metrics.items() if isinstance(v, (int, float, str, bool))}
    return json.dumps({"score": float(value), **details})


# --- file submissions -----------------------------------------------------------------------------


def grade_files(config: dict[str, Any], view: Path, timeout_s: float) -> str:
    """Run ``evaluate.py`` as MLGym does, in the view; its exit 1 and stderr mean an invalid submission."""
    script = view / "_rgym_evaluate.py"
    script.write_text(evaluate_source(config, view), encoding="utf-8")
    argv = [
        sys.executable,
        script.name,
        *[arg.replace("{view}", str(view)) for arg in config.get("args", [])],
    ]
    try:
        proc = subprocess.run(
            argv, cwd=view, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise Broken(f"evaluate.py did not finish in {timeout_s:.0f} s") from None
    if proc.returncode == 1:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        raise Invalid(lines[-1] if lines else "evaluate.py refused the submission")
    if proc.returncode != 0:
        raise Broken(f"evaluate.py exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return score_line(config, metrics_from(proc.stdout))


# --- code submissions -----------------------------------------------------------------------------

CHILD = r"""
import importlib, json, random, sys
sys.path.insert(0, ".")
random.seed(int(sys.argv[1]))
try:
    import numpy
    numpy.random.seed(int(sys.argv[1]) % (2**32))
except Exception:
    pass

def decode(v):
    if isinstance(v, dict) and "__tuple__" in v:
        return tuple(decode(x) for x in v["__tuple__"])
    if isinstance(v, list):
        return [decode(x) for x in v]
    return v

def encode(v):
    if isinstance(v, tuple):
        return {"__tuple__": [encode(x) for x in v]}
    if isinstance(v, list):
        return [encode(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    raise TypeError(f"returned a {type(v).__name__}, which is not a number, a string, a list or a tuple")

import os
reply_fd = os.dup(1)
os.dup2(2, 1)  # whatever the submission prints goes where stderr goes, never into the protocol
sys.stdout = sys.stderr
requests = sys.stdin.buffer
modules = {}
while True:
    line = requests.readline()
    if not line:
        break
    request = json.loads(line)
    try:
        name = request["module"]
        if name not in modules:
            modules[name] = importlib.import_module(name)
        fn = getattr(modules[name], request["function"])
        reply = {"id": request["id"], "ok": encode(fn(*decode(request["args"])))}
    except BaseException as exc:
        reply = {"id": request["id"], "error": f"{type(exc).__name__}: {exc}"}
    data = (json.dumps(reply) + "\n").encode()
    while data:
        data = data[os.write(reply_fd, data):]
"""


def _encode(value: Any) -> Any:
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(x) for x in value]}
    if isinstance(value, list):
        return [_encode(x) for x in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "__tuple__" in value:
        return tuple(_decode(x) for x in value["__tuple__"])
    if isinstance(value, list):
        return [_decode(x) for x in value]
    return value


class Submitted:
    """The agent's program, started through the runner, answering one call per line."""

    def __init__(self, runner: list[str], submission: Path, seed: int, deadline: float) -> None:
        self.deadline = deadline
        self.calls = 0
        self.proc = subprocess.Popen(
            [*runner, "python3", "-c", CHILD, str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=submission,
            start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        os.set_blocking(self._out, False)
        self._buffer = b""

    def call(self, module: str, function: str, args: tuple[Any, ...]) -> Any:
        self.calls += 1
        where = f"{module}.{function} (call {self.calls})"
        message = {"id": self.calls, "module": module, "function": function, "args": _encode(list(args))}
        request = (json.dumps(message) + "\n").encode()
        view = memoryview(request)
        while view:
            self._wait(select.POLLOUT, self._in, where)
            try:
                written = os.write(self._in, view)
            except BrokenPipeError:
                raise Invalid(f"{where}: the submitted program exited") from None
            view = view[written:]
        while b"\n" not in self._buffer:
            self._wait(select.POLLIN, self._out, where)
            chunk = os.read(self._out, 65536)
            if not chunk:
                raise Invalid(f"{where}: the submitted program exited without answering")
            self._buffer += chunk
            if len(self._buffer) > MAX_LINE:
                raise Invalid(f"{where}: the answer is longer than {MAX_LINE} bytes")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            reply = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Invalid(f"{where}: the answer is not a JSON line") from None
        if not isinstance(reply, dict) or reply.get("id") != self.calls:
            raise Invalid(f"{where}: the answer is not the reply to this call")
        if "error" in reply:
            raise Invalid(f"{where} raised {str(reply['error'])[:200]}")
        return _decode(reply.get("ok"))

    def _wait(self, event: int, fd: int, where: str) -> None:
        poller = select.poll()
        poller.register(fd, event)
        left = self.deadline - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            raise Invalid(f"{where}: the submitted program ran out of time")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, 9)
            self.proc.wait()


def _proxy_module(name: str, submitted: Submitted, on_call: Callable[[], None]) -> types.ModuleType:
    module = types.ModuleType(name)

    def attribute(function: str) -> Callable[..., Any]:
        if function.startswith("__"):
            raise AttributeError(function)

        def call(*args: Any) -> Any:
            on_call()
            return submitted.call(name, function, args)

        return call

    module.__getattr__ = attribute  # type: ignore[method-assign]
    return module


def grade_code(config: dict[str, Any], view: Path, submission: Path, split: str, timeout_s: float) -> str:
    """Run ``evaluate.py`` in this process with the submitted modules as proxies to the isolated program."""
    runner_env = os.environ.get("RGYM_SUBMISSION_RUNNER")
    if not runner_env:
        raise Broken("RGYM_SUBMISSION_RUNNER is not set: refusing to run submitted code without isolation")
    seeds = config["seeds"][split]
    submitted = Submitted(
        shlex.split(runner_env), submission, int(seeds["submission"]), time.monotonic() + timeout_s
    )
    called = False

    def note_call() -> None:
        nonlocal called
        called = True

    saved_modules = dict(sys.modules)
    saved_path = list(sys.path)
    saved_cwd = os.getcwd()
    stdout = io.StringIO()
    try:
        for name in config["modules"]:
            sys.modules[name] = _proxy_module(name, submitted, note_call)
        sys.path.insert(0, str(view))
        os.chdir(view)
        random.seed(int(seeds["grader"]))
        with contextlib.suppress(ImportError):
            import numpy

            numpy.random.seed(int(seeds["grader"]) % (2**32))
        code = compile(evaluate_source(config, view), str(view / config["evaluate"]), "exec")
        namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(view / config["evaluate"])}
        try:
            with contextlib.redirect_stdout(stdout):
                exec(code, namespace)
        except Invalid:
            raise
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise Invalid(f"evaluate.py stopped the game (exit {exc.code})") from None
        except Exception as exc:
            if called:  # a move the game refuses, e.g. "Strategies must be either 0 or 1"
                raise Invalid(f"evaluate.py refused a move: {type(exc).__name__}: {exc}") from None
            raise Broken(
                f"evaluate.py failed before calling the submission: {type(exc).__name__}: {exc}"
            ) from None
    finally:
        submitted.close()
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for name in config["modules"]:
            sys.modules.pop(name, None)
        sys.modules.update({k: v for k, v in saved_modules.items() if k not in sys.modules})
    if not called:
        raise Broken("evaluate.py never called the submission")
    return score_line(config, metrics_from(stdout.getvalue()))


def main(argv: list[str]) -> None:
    """Grade the submission folder ``argv[1]`` on the split ``$RGYM_SPLIT`` names."""
    if len(argv) != 2:
        _broken(f"usage: {Path(argv[0]).name} SUBMISSION_DIR")
    split = os.environ.get("RGYM_SPLIT", "private")
    if split not in ("public", "private"):
        _broken(f"RGYM_SPLIT must be public or private, got {split!r}")
    os.umask(0o077)
    submission = Path(argv[1])
    try:
        config = json.loads((HERE / CONFIG_FILE).read_text(encoding="utf-8"))
        missing = [rel for rel in config.get("submission", []) if not (submission / rel).is_file()]
        if missing:
            raise Invalid(f"{missing[0]} is missing from the submission")
        view = build_view(config, submission, HERE, split)
        timeout_s = float(config.get("timeout_s", 600))
        if config["kind"] == "code":
            line = grade_code(config, view, submission, split, timeout_s)
        else:
            line = grade_files(config, view, timeout_s)
    except Invalid as exc:
        _invalid(str(exc))
    except Broken as exc:
        _broken(str(exc))
    except (OSError, KeyError, ValueError, json.JSONDecodeError) as exc:
        _broken(f"{type(exc).__name__}: {exc}")
    print(line)


if __name__ == "__main__":
    main(sys.argv)
