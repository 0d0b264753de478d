"""What counts as an attempt's method: the code it changed and ran, without comments or dead text.

Method consistency (:mod:`gym_core.scoring.consistency`) compares attempts by their code, not by every
byte they changed; otherwise identical filler written in every attempt (notes, logs, a large comment)
makes any two methods look the same. This module decides, in one place:

* which files are code (:data:`CODE_EXTENSIONS`, or a ``#!`` line); data, notes, logs and outputs never
  count;
* what of a code file is code (:func:`code_lines`): comments, docstrings, bare string statements and blank
  lines are dropped (Python through :mod:`tokenize`, other languages by their comment syntax);
* which workspace files an attempt executed (:func:`executed_files`): the files its shell commands ran
  (``python train.py``, ``bash run.sh``, ``Rscript fit.R``, ``./run.sh``...), with the local modules and
  scripts those import, source or run in turn. ``docs/metrics.md`` says what this still cannot see.
"""

from __future__ import annotations

import ast
import io
import json
import posixpath
import re
import shlex
import tokenize
from collections.abc import Iterable, Mapping

#: File extensions that hold code, with the comment syntax of each language: line-comment prefixes, and
#: block comment delimiters. The one list method consistency uses (``.ipynb``: the code cells).
CODE_EXTENSIONS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    ".py": (("#",), ()),
    ".ipynb": (("#",), ()),
    ".sh": (("#",), ()),
    ".bash": (("#",), ()),
    ".zsh": (("#",), ()),
    ".r": (("#",), ()),
    ".jl": (("#",), (("#=", "=#"),)),
    ".pl": (("#",), ()),
    ".rb": (("#",), ()),
    ".c": (("//",), (("/*", "*/"),)),
    ".h": (("//",), (("/*", "*/"),)),
    ".cc": (("//",), (("/*", "*/"),)),
    ".cpp": (("//",), (("/*", "*/"),)),
    ".cxx": (("//",), (("/*", "*/"),)),
    ".hpp": (("//",), (("/*", "*/"),)),
    ".cu": (("//",), (("/*", "*/"),)),
    ".rs": (("//",), (("/*", "*/"),)),
    ".go": (("//",), (("/*", "*/"),)),
    ".java": (("//",), (("/*", "*/"),)),
    ".scala": (("//",), (("/*", "*/"),)),
    ".kt": (("//",), (("/*", "*/"),)),
    ".swift": (("//",), (("/*", "*/"),)),
    ".js": (("//",), (("/*", "*/"),)),
    ".mjs": (("//",), (("/*", "*/"),)),
    ".ts": (("//",), (("/*", "*/"),)),
    ".m": (("%",), (("%{", "%}"),)),
    ".lua": (("--",), (("--[[", "]]"),)),
    ".sql": (("--",), (("/*", "*/"),)),
}

#: Commands that run the file named by one of their arguments (after their own options).
RUNNERS = frozenset(
    {
        "python", "python3", "ipython", "pypy3", "bash", "sh", "zsh", "dash", "source", ".", "rscript",
        "r", "julia", "node", "ts-node", "deno", "bun", "perl", "ruby", "lua", "octave", "matlab",
        "torchrun", "deepspeed", "pytest", "papermill", "gcc", "g++", "cc", "c++", "clang", "clang++",
        "nvcc", "rustc", "javac", "java", "kotlinc", "scala",
    }
)  # fmt: skip
#: Commands that only wrap another: the command they run follows their own options.
WRAPPERS = frozenset(
    {"env", "time", "timeout", "nohup", "nice", "ionice", "stdbuf", "exec", "command", "xvfb-run", "srun"}
)
#: Commands whose subcommand runs the command or script that follows its options (``uv run python
#: train.py``, ``go run main.go``, ``accelerate launch --num_processes 2 train.py``).
SUBCOMMANDS: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        ("uv", "poetry", "pipenv", "conda", "mamba", "micromamba", "pixi", "go", "cargo"), frozenset({"run"})
    ),
    "accelerate": frozenset({"launch"}),
    "jupyter": frozenset({"execute", "nbconvert", "run"}),
}
#: Options of a wrapper, and their values (``nice -n 10``, ``timeout 60``, ``timeout 5m``).
_WRAPPER_ARG = re.compile(r"^(-.*|\d+(\.\d+)?[smhd]?)$")

_PY_VERSIONED = re.compile(r"^python\d+(\.\d+)?$")
_SEPARATORS = re.compile(r"\|\||&&|[;|&\n()]")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_ROOT = "/workspace"
_WORKSPACE = _ROOT + "/"
#: Where ``cd`` and ``~`` lead: HOME is /tmp for the agent's commands in every backend, outside the workspace.
_HOME = "/tmp"
_SHELLS = frozenset({"bash", "sh", "zsh", "dash"})


def _language(path: str, text: str) -> str | None:
    """The key of :data:`CODE_EXTENSIONS` for a file, ``".sh"``/``".py"`` for a script with a ``#!`` line
    naming that interpreter (``".sh"`` for any other), or None when it is not code."""
    ext = posixpath.splitext(path)[1].lower()
    if ext in CODE_EXTENSIONS:
        return ext
    if text.startswith("#!"):
        return ".py" if "python" in text.split("\n", 1)[0] else ".sh"
    return None


def is_code(path: str, text: str) -> bool:
    """True when ``path`` (its extension, or a ``#!`` first line) holds code."""
    return _language(path, text) is not None


def code_lines(path: str, text: str) -> list[str]:
    """The code of a file, one logical line each, without comments, docstrings or blank lines.

    Non-code files have no code lines. Python that does not tokenize (a half-written file) falls back to
    the ``#`` rule of the other languages.
    """
    lang = _language(path, text)
    if lang is None:
        return []
    if lang == ".ipynb":
        text = _notebook_code(text)
        lang = ".py"
    if lang == ".py":
        lines = _python_code(text)
        if lines is not None:
            return lines
    prefixes, blocks = CODE_EXTENSIONS[lang]
    for start, end in blocks:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), " ", text, flags=re.DOTALL)
    out = []
    for line in text.splitlines():
        for prefix in prefixes:
            # a comment starts a word: `#` in `$#` or `a#b` is not one (shell, R)
            match = re.search(r"(^|\s)" + re.escape(prefix), line)
            if match is not None:
                line = line[: match.start()]
        if line.strip() and not (lang == ".sh" and line.startswith("#!")):
            out.append(line.rstrip())
    return out


def _notebook_code(text: str) -> str:
    """The code cells of a Jupyter notebook, one after another ("" when it is not a notebook)."""
    try:
        cells = json.loads(text).get("cells")  # anything but a list of cells has none
    except (ValueError, AttributeError):
        return ""
    parts = []
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            parts.append("".join(source) if isinstance(source, list) else str(source))
    # IPython magics and shell escapes are not Python; they are kept as code, minus their prefix
    return "\n".join(re.sub(r"(?m)^\s*[!%]+", "", part) for part in parts)


def _python_code(text: str) -> list[str] | None:
    """Python's logical lines as their tokens, without comments and string-only statements (docstrings
    and bare strings, which do nothing); None when the text does not tokenize."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
    lines: list[str] = []
    current: list[tokenize.TokenInfo] = []
    for token in tokens:
        if token.type in skip:
            continue
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            kept = [t for t in current if t.type != tokenize.ENDMARKER]
            # a statement of string literals alone: a docstring, or text parked in the code
            if kept and not all(t.type in _STRING_TYPES for t in kept):
                lines.append(" ".join(t.string for t in kept))
            current = []
            continue
        current.append(token)
    return lines


_STRING_TYPES = frozenset(
    {tokenize.STRING}
    | {
        getattr(tokenize, name)
        for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
        if hasattr(tokenize, name)
    }
)


# --- what the trace executed --------------------------------------------------------------------------


def executed_files(commands: Iterable[str], workspace: Mapping[str, str]) -> frozenset[str] | None:
    """The workspace files the shell ``commands`` executed, with what those import, source or run.

    Args:
        commands: the attempt's shell commands, in order (its ``bash`` actions).
        workspace: path -> text of the final workspace (paths relative to /workspace).

    Returns:
        The code files run (``python train.py``, ``bash run.sh``, ``Rscript x.R``, ``./run.sh``,
        ``python -m pkg.mod``...), plus, transitively, the local Python modules they import, the scripts a
        shell script runs and the files an R script ``source()``s; None when the commands name no
        workspace file (then every changed code file counts).
    """
    found: set[str] = set()
    for command in commands:
        found |= _run_by(command, workspace, cwd="")
    if not found:
        return None
    todo = sorted(found)
    while todo:
        path = todo.pop()
        for dep in _dependencies(path, workspace) - found:
            found.add(dep)
            todo.append(dep)
    return frozenset(found)


def _absolute(cwd: str, arg: str) -> str:
    """The absolute, normalized path ``arg`` names from ``cwd`` (relative to the workspace root, or absolute)."""
    if arg == "~" or arg.startswith("~/"):
        arg = _HOME + arg[1:]
    return posixpath.normpath(posixpath.join(_ROOT, cwd, arg))


def _resolve(arg: str, cwd: str, workspace: Mapping[str, str]) -> str | None:
    """The workspace path ``arg`` names from ``cwd``, when it is a code file of the workspace."""
    path = _absolute(cwd, arg)
    if not path.startswith(_WORKSPACE) or path[len(_WORKSPACE) :] not in workspace:
        return None
    path = path[len(_WORKSPACE) :]
    return path if is_code(path, workspace[path]) else None


def _module(name: str, base: str, workspace: Mapping[str, str]) -> str | None:
    """The workspace file of a Python module ``a.b`` seen from folder ``base``."""
    rel = name.replace(".", "/")
    for candidate in (f"{rel}.py", f"{rel}/__init__.py"):
        path = posixpath.normpath(posixpath.join(base, candidate))
        if path in workspace:
            return path
    return None


def _module_files(name: str, base: str, workspace: Mapping[str, str], *, main: bool = False) -> set[str]:
    """The workspace files importing ``a.b.c`` from ``base`` runs: each package's ``__init__`` on the way,
    the module itself, and with ``main`` (``python -m``) a package's ``__main__``."""
    parts = [p for p in name.split(".") if p]
    found = set()
    for i in range(1, len(parts) + 1):
        module = _module(".".join(parts[:i]), base, workspace)
        if module is not None:
            found.add(module)
    if main and parts:
        path = posixpath.normpath(posixpath.join(base, *parts, "__main__.py"))
        if path in workspace:
            found.add(path)
    return found


def _run_by(command: str, workspace: Mapping[str, str], cwd: str) -> set[str]:
    """Workspace code files one shell command runs (a ``cd`` within it is followed)."""
    found: set[str] = set()
    for segment in _SEPARATORS.split(command):
        try:
            argv = shlex.split(segment, comments=True)
        except ValueError:
            argv = segment.split()
        wrapped = False
        while argv:
            if _ASSIGNMENT.match(argv[0]) or (wrapped and _WRAPPER_ARG.match(argv[0])):
                argv = argv[1:]
            elif argv[0] in WRAPPERS:
                argv, wrapped = argv[1:], True
            elif len(argv) > 1 and argv[1] in SUBCOMMANDS.get(posixpath.basename(argv[0]).lower(), ()):
                argv, wrapped = argv[2:], True
            else:
                break
        if not argv:
            continue
        head = posixpath.basename(argv[0]).lower()
        if head == "cd":
            cwd = _cd(cwd, argv[1] if len(argv) > 1 else "~")
            continue
        own = _resolve(argv[0], cwd, workspace)
        if own is not None:  # ./run.sh, or a script run by its own name
            found.add(own)
            continue
        if head not in RUNNERS and not _PY_VERSIONED.match(head):
            continue
        runs = _target(head, argv[1:])
        if runs is None:
            continue
        kind, target = runs
        if kind == "module":
            found |= _module_files(target, cwd, workspace, main=True)
        elif kind == "code" and head in _SHELLS:
            found |= _run_by(target, workspace, cwd)
        elif kind == "code" and _is_python(head):
            found |= _python_imports(target, posixpath.join(cwd, "-c"), workspace)
        elif kind == "script":
            path = _resolve(target, cwd, workspace)
            if path is not None:
                found.add(path)
    return found


#: Interpreter options that take a value as the next argument (python -W ignore, -X dev).
_OPTIONS_WITH_VALUE = frozenset({"-W", "-X"})


def _is_python(head: str) -> bool:
    return head.startswith(("python", "pypy", "ipython"))


def _inline_options(head: str) -> dict[str, str]:
    """The options of a runner after which it runs inline code (``python -c``, ``bash -c``, ``Rscript -e``)
    or a module (``python -m``) instead of a script file."""
    if _is_python(head):
        return {"-c": "code", "-m": "module"}
    if head in _SHELLS:
        return {"-c": "code"}  # bash -e is errexit: a script follows
    if head == "torchrun":
        return {"-m": "module"}
    if head in ("rscript", "r", "julia", "node", "bun", "perl", "ruby", "lua"):
        return {"-e": "code"}
    return {}


def _target(head: str, args: list[str]) -> tuple[str, str] | None:
    """What a runner runs, read from its own options up to its first positional argument: ``("script",
    path)`` (that argument, or ``--file=PATH``), ``("code", text)`` after an inline-code option,
    ``("module", name)`` after ``-m``, or None. What follows is the script's or code's own
    arguments, which name data, never code that runs (``python solve.py notes.py``, ``python train.py -c
    config.yaml``); a bare number is an option's value (``torchrun --nproc_per_node 2 train.py``)."""
    inline = _inline_options(head)
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
        elif arg in inline:
            return (inline[arg], args[i + 1]) if i + 1 < len(args) else None
        elif arg.startswith("--file="):
            return "script", arg.split("=", 1)[1]
        elif arg in _OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-") and not _NUMBER.match(arg):
            return "script", arg
    return None


def _cd(cwd: str, target: str) -> str:
    """The folder ``cd target`` leads to from ``cwd``: relative to the workspace root ("" for the root), or
    absolute outside the workspace (``cd ~``), where no workspace file resolves."""
    path = _absolute(cwd, target)
    if path == _ROOT:
        return ""
    return path[len(_WORKSPACE) :] if path.startswith(_WORKSPACE) else path


def _dependencies(path: str, workspace: Mapping[str, str]) -> set[str]:
    """What a code file of the workspace runs in turn: Python imports, scripts a shell script runs,
    files an R script sources."""
    text = workspace[path]  # every path found is a workspace file
    base = posixpath.dirname(path)
    lang = _language(path, text)
    if lang in (".py", ".ipynb"):
        return _python_imports(_notebook_code(text) if lang == ".ipynb" else text, path, workspace)
    if lang in (".sh", ".bash", ".zsh"):
        found: set[str] = set()
        for line in code_lines(path, text):
            found |= _run_by(line, workspace, cwd=base)
        return found
    if lang == ".r":
        found = set()
        for name in re.findall(r"""source\(\s*["']([^"']+)["']""", text):
            resolved = _resolve(name, base, workspace)
            if resolved is not None:
                found.add(resolved)
        return found
    return set()


def _python_imports(text: str, path: str, workspace: Mapping[str, str]) -> set[str]:
    """Local modules a Python file imports: by name from its folder and the workspace root, or relative."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set()
    here = posixpath.dirname(path)
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[tuple[str, str]] = []  # (module, folder to look from)
        if isinstance(node, ast.Import):
            names = [(alias.name, base) for alias in node.names for base in (here, "")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here
                for _ in range(node.level - 1):
                    base = posixpath.dirname(base)
                names = [(f"{node.module}.{a.name}" if node.module else a.name, base) for a in node.names]
            elif node.module:
                names = [(f"{node.module}.{a.name}", base) for a in node.names for base in (here, "")]
        # `from a.b import c`: c is a module (a/b/c.py) or a name of a.b; a and a.b run either way
        for name, base in names:
            found |= _module_files(name, base, workspace)
    return found
