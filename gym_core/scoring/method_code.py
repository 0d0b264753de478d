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
import contextlib
import fnmatch
import io
import json
import posixpath
import re
import tokenize
import warnings
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
    {
        "env",
        "time",
        "timeout",
        "nohup",
        "nice",
        "ionice",
        "stdbuf",
        "exec",
        "command",
        "builtin",
        "xvfb-run",
        "srun",
        "xargs",
    }
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

_PY_VERSIONED = re.compile(r"^(python|pypy)[0-9.]*$")
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
        if line.strip():  # a shell script's #! line is a comment: cut to ""
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
        commands: the attempt's shell commands, in order (its ``bash`` actions). They run in one session:
            a ``cd``, an exported variable or a link made by one command holds for the next ones.
        workspace: path -> text of the final workspace (paths relative to /workspace).

    Returns:
        The code files run (``python train.py``, ``bash run.sh``, ``Rscript x.R``, ``./run.sh``,
        ``python -m pkg.mod``, ``python < x.py``, ``cat x.py | python``, ``make``, ``pytest``...), plus,
        transitively, the local Python modules they import (and the workspace code files they name in a
        string), the scripts a shell script runs and the files an R script ``source()``s; None when the
        commands name no workspace file (then every changed code file counts).
    """
    shell = _Shell()
    found: set[str] = set()
    for command in commands:
        found |= _run_by(command, workspace, shell)
    if not found:
        return None
    todo = sorted(found)
    while todo:
        path = todo.pop()
        for dep in _dependencies(path, workspace) - found:
            found.add(dep)
            todo.append(dep)
    return frozenset(found)


class _Memo:
    """What is read once per trace: whether a script hands its arguments on, the makefiles read."""

    def __init__(self) -> None:
        self.forwards: dict[str, bool] = {}
        self.made: set[tuple[str, str]] = set()


class _Shell:
    """What the agent's shell session carries from one command to the next, as far as it can be read."""

    def __init__(self) -> None:
        #: The folders the shell may be in, the likeliest first: a ``cd`` into a folder that may not exist
        #: (it failed, and the shell stayed where it was) keeps the folders before it as fallbacks.
        self.cwds: tuple[str, ...] = ("",)
        self.oldpwd: tuple[str, ...] = ("",)
        self.stack: list[tuple[str, ...]] = []
        self.env: dict[str, str] = {}
        #: absolute path -> the absolute path it is a copy of or a link to (``cp``, ``ln -s``, ``cat a > b``):
        #: files on disk, shared by every subshell.
        self.links: dict[str, str] = {}
        #: folders known to exist outside the workspace (``mkdir``), and the workspace's own folders
        self.dirs: set[str] = {"/", _HOME}
        self.folders: set[str] | None = None
        self.depth = 0
        self.memo = _Memo()

    def subshell(self) -> _Shell:
        """A copy whose ``cd`` and variables do not reach back (``( ... )``, a pipeline, ``&``)."""
        sub = _Shell()
        sub.cwds, sub.oldpwd, sub.stack = self.cwds, self.oldpwd, list(self.stack)
        sub.env, sub.links, sub.dirs, sub.folders = dict(self.env), self.links, self.dirs, self.folders
        sub.depth, sub.memo = self.depth, self.memo
        return sub

    def restore(self, saved: _Shell) -> None:
        self.cwds, self.oldpwd, self.stack, self.env = saved.cwds, saved.oldpwd, saved.stack, saved.env


# --- reading a shell command: words, operators, quotes, substitutions, here-documents ---------------------

#: Operators that end a simple command (``(`` and ``)`` also open and close a subshell).
_CONTROL = frozenset({";", "&", "&&", "||", "|", "|&", "\n", ";;", ";&", ";;&", "(", ")"})
_REDIRECTIONS = frozenset({"<", ">", ">>", ">|", "<>", "<<", "<<-", "<<<", "<&", ">&", "&>", "&>>"})
_OPERATORS = sorted(_CONTROL | _REDIRECTIONS, key=len, reverse=True)
_OPERATOR = re.compile("|".join(re.escape(o) for o in _OPERATORS))
_META = frozenset(";&|()<> \t\r\n")
#: Reserved words before a command (``if python x.py; then``, ``do python x.py; done``, ``{ ...; }``).
_KEYWORDS = frozenset({"{", "}", "!", "if", "then", "else", "elif", "fi", "do", "done", "while", "until"})


class _Token:
    __slots__ = ("heredoc", "op", "subs", "text")

    def __init__(self, text: str, *, op: bool = False, subs: list[str] | None = None) -> None:
        self.text = text
        self.op = op
        #: the commands of the ``$(...)`` and backquote substitutions inside a word: they run too
        self.subs = subs or []
        #: on the delimiter word of a here-document: its body
        self.heredoc: str | None = None


def _lex(s: str) -> list[_Token]:
    """The words and operators of a shell command, quotes removed, as bash reads them (roughly: no
    aliases, no expansion but what :func:`_expand` does)."""
    tokens: list[_Token] = []
    pending: list[tuple[_Token, bool, bool]] = []  # here-document delimiters waiting for their bodies
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c in " \t\r":
            i += 1
        elif s.startswith("\\\n", i):
            i += 2
        elif c == "#":  # a comment starts a word
            end = s.find("\n", i)
            i = n if end < 0 else end
        else:
            match = _OPERATOR.match(s, i)
            if match is not None:
                op = match.group()
                tokens.append(_Token(op, op=True))
                i += len(op)
                if op == "\n" and pending:
                    i = _read_heredocs(s, i, pending)
                continue
            token, i, quoted = _word(s, i)
            if token.text.isdigit() and s[i : i + 1] in ("<", ">"):
                continue  # the file descriptor of a redirection (2>err)
            if tokens and tokens[-1].op and tokens[-1].text in ("<<", "<<-"):
                pending.append((token, tokens[-1].text == "<<-", quoted))
            tokens.append(token)
    return tokens


def _read_heredocs(s: str, i: int, pending: list[tuple[_Token, bool, bool]]) -> int:
    """Read the bodies of the here-documents opened on the line that just ended; the index after them."""
    for token, strip_tabs, quoted in pending:
        lines = []
        while i < len(s):
            end = s.find("\n", i)
            line, i = (s[i:], len(s)) if end < 0 else (s[i:end], end + 1)
            if (line.lstrip("\t") if strip_tabs else line) == token.text:
                break
            lines.append(line)
        token.heredoc = "".join(line + "\n" for line in lines)
        if not quoted:  # `$(...)` in an unquoted here-document runs
            token.subs.extend(_substitutions(token.heredoc))
    pending.clear()
    return i


def _paren_end(s: str, i: int) -> int:
    """The index just past the ``)`` matching the ``(`` at ``s[i]`` (the end of ``s`` when unmatched)."""
    depth = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            end = s.find("'", i + 1)
            i = len(s) if end < 0 else end + 1
            continue
        if c == '"':  # a `)` or `'` in a double-quoted string is text: $(echo ")"; python x.py)
            i = _quote_end(s, i + 1) + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(s)


def _quote_end(s: str, i: int) -> int:
    """The index of the ``"`` that closes a double-quoted string whose text starts at ``s[i]`` (the end of
    ``s`` when none does): an escaped ``\\"``, or a ``"`` inside a ``$(...)`` in it, does not close it."""
    while i < len(s) and s[i] != '"':
        i = _paren_end(s, i + 1) if s.startswith("$(", i) else i + (2 if s[i] == "\\" else 1)
    return i


def _brace_end(s: str, i: int) -> tuple[int, list[str]]:
    """The index just past the ``}`` that closes a ``${`` whose text starts at ``s[i]`` (the end of ``s`` when
    none does), and the commands of the substitutions in it: a ``}`` in quotes, in a ``$(...)`` or in a
    nested ``${...}`` does not close it, and a ``$(...)`` in single quotes is text."""
    depth, subs = 1, []
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
        elif s.startswith("$(", i):
            end = _paren_end(s, i + 1)
            subs.append(s[i + 2 : end - 1])
            i = end
        elif s.startswith("${", i):
            depth, i = depth + 1, i + 2
        elif c == '"':
            end = _quote_end(s, i + 1)
            subs.extend(_substitutions(s[i + 1 : end]))
            i = end + 1
        elif c in "'`":
            end = s.find(c, i + 1)
            end = len(s) if end < 0 else end
            if c == "`":
                subs.append(s[i + 1 : end])
            i = end + 1
        else:
            i += 1
            if c == "}":
                depth -= 1
                if depth == 0:
                    return i, subs
    return len(s), subs


def _substitutions(text: str) -> list[str]:
    """The commands of the ``$(...)`` and backquote substitutions in a text (a double-quoted string)."""
    subs, i = [], 0
    while i < len(text):
        if text.startswith("$(", i):
            end = _paren_end(text, i + 1)
            subs.append(text[i + 2 : end - 1])
            i = end
        elif text[i] == "`":
            end = text.find("`", i + 1)
            end = len(text) if end < 0 else end
            subs.append(text[i + 1 : end])
            i = end + 1
        else:
            i += 2 if text[i] == "\\" else 1
    return subs


def _word(s: str, i: int) -> tuple[_Token, int, bool]:
    """The word starting at ``s[i]``, quotes removed: its token, the index after it, and whether any of it
    was quoted. An unclosed quote runs to the end of the command."""
    out: list[str] = []
    subs: list[str] = []
    quoted = False
    n = len(s)
    while i < n and s[i] not in _META:
        c = s[i]
        plain = _PLAIN.match(s, i)
        if plain:
            out.append(plain.group())
            i = plain.end()
        elif c == "\\":
            if s[i + 1 : i + 2] != "\n":
                out.append(s[i + 1 : i + 2])
            i, quoted = i + 2, True
        elif c == "'" or s.startswith("$'", i):
            start = i + 1 if c == "'" else i + 2
            end = start
            while end < n and s[end] != "'":
                end += 1 if c == "'" or s[end] != "\\" else 2
            text = s[start:end]
            if c == "$":  # $'\x70ython': C escapes (an unknown one, `\q`, stays as typed, as in bash)
                with contextlib.suppress(UnicodeDecodeError, ValueError), warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    text = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
            out.append(text)
            i, quoted = end + 1, True
        elif c == '"':
            j, part = i + 1, []
            while j < n and s[j] != '"':
                if s[j] == "\\" and j + 1 < n:
                    if s[j + 1] != "\n":
                        part.append(s[j + 1] if s[j + 1] in '"\\$`' else s[j : j + 2])
                    j += 2
                elif s.startswith("$(", j):
                    end = _paren_end(s, j + 1)
                    part.append(s[j:end])
                    j = end
                else:
                    part.append(s[j])
                    j += 1
            text = "".join(part)
            # read as typed, before the escapes are undone: "\$(x)" is text, "\\$(x)" runs x
            subs.extend(_substitutions(s[i + 1 : j]))
            out.append(text)
            i, quoted = j + 1, True
        elif s.startswith("$(", i):
            end = _paren_end(s, i + 1)
            subs.append(s[i + 2 : end - 1])
            out.append(s[i:end])
            i = end
        elif c == "`":
            end = s.find("`", i + 1)
            end = n if end < 0 else end
            subs.append(s[i + 1 : end])
            out.append(s[i : end + 1])
            i = end + 1
        elif s.startswith("${", i):  # ${OUT:-$(python train.py)} runs train.py when OUT is unset
            end, inner = _brace_end(s, i + 2)
            subs.extend(inner)
            out.append(s[i:end])
            i = end
        else:
            out.append(c)
            i += 1
    return _Token("".join(out), subs=subs), i, quoted


#: A run of characters that mean nothing special in a word.
_PLAIN = re.compile(r"[^;&|()<> \t\r\n\\'\"$`]+")
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_BRACES = re.compile(r"\{([^{},]*),[^{}]*\}")


def _expand(word: str, shell: _Shell) -> str:
    """A word with the variables the session knows (HOME, PWD, OLDPWD, and those it set) substituted, and a
    brace expansion reduced to its first alternative (``{solve,x}.py``: ``solve.py`` comes first)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        known = {
            "HOME": _HOME,
            "PWD": _absolute(shell.cwds[0], "."),
            "OLDPWD": _absolute(shell.oldpwd[0], "."),
        }
        return shell.env.get(name, known.get(name, match.group(0)))

    if "$" in word:
        word = _VARIABLE.sub(value, word)
    return _BRACES.sub(r"\1", word) if "{" in word else word


# --- what one command runs ----------------------------------------------------------------------------


def _run_by(command: str, workspace: Mapping[str, str], shell: _Shell) -> set[str]:
    """Workspace code files one shell command runs; ``shell`` follows its ``cd``, variables and links."""
    if shell.depth > _MAX_DEPTH:
        return set()
    shell.depth += 1
    try:
        return _run_commands(_lex(command), workspace, shell)
    finally:
        shell.depth -= 1


def _run_commands(tokens: list[_Token], workspace: Mapping[str, str], shell: _Shell) -> set[str]:
    found: set[str] = set()
    saved: list[_Shell] = []  # the session before each open subshell
    previous: list[str] | None = None  # the command piping into this one
    i = 0
    while i < len(tokens):
        words: list[_Token] = []
        redirections: list[tuple[str, _Token | None]] = []
        while i < len(tokens) and not (tokens[i].op and tokens[i].text in _CONTROL):
            token = tokens[i]
            if token.op:
                target = tokens[i + 1] if i + 1 < len(tokens) and not tokens[i + 1].op else None
                redirections.append((token.text, target))
                i += 1 if target is None else 2
            else:
                words.append(token)
                i += 1
        separator = tokens[i].text if i < len(tokens) else ""
        i += 1
        for token in words + [t for _, t in redirections if t is not None]:
            for sub in token.subs:
                found |= _run_by(sub, workspace, shell.subshell())
        in_pipeline = separator in ("|", "|&") or previous is not None
        here = shell.subshell() if in_pipeline or separator == "&" else shell
        found |= _simple(words, redirections, workspace, here, previous)
        previous = [_expand(w.text, shell) for w in words] if separator in ("|", "|&") else None
        if separator == "(":
            saved.append(shell.subshell())
        elif separator == ")" and saved:
            shell.restore(saved.pop())
    return found


#: Options of wrappers that take a value as the next argument (``timeout -s KILL 10``, ``env -u X``).
_WRAPPER_VALUE_OPTIONS: dict[str, frozenset[str]] = {
    "env": frozenset({"-u", "--unset"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "ionice": frozenset({"-c", "-n", "-p", "--class", "--classdata"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "xargs": frozenset({"-I", "-d", "-E", "-a", "-s", "-L", "-n", "-P"}),
    "srun": frozenset({"-n", "-N", "-c", "-p", "-t", "-J", "-o", "-e", "-A", "-q", "-w", "--partition"}),
}
#: Depth of nested commands read (``bash -c``, ``$(...)``, a here-document): deeper ones are not read.
_MAX_DEPTH = 16
#: ``python -m`` modules that run the script that follows their own options.
_LAUNCHER_MODULES = frozenset(
    {"torch.distributed.run", "torch.distributed.launch", "cProfile", "profile", "pdb", "trace", "scalene"}
)
_MAKEFILES = ("GNUmakefile", "makefile", "Makefile")
_STDIN = frozenset({"-", "/dev/stdin"})


def _simple(
    words: list[_Token],
    redirections: list[tuple[str, _Token | None]],
    workspace: Mapping[str, str],
    shell: _Shell,
    previous: list[str] | None,
) -> set[str]:
    """Workspace code files one simple command (no operators) runs."""
    argv = [_expand(w.text, shell) for w in words]
    found: set[str] = set()
    wrapper = ""  # the wrapper whose options are being read
    while argv:
        base = posixpath.basename(argv[0])
        if _ASSIGNMENT.match(argv[0]):
            name, _, value = argv[0].partition("=")
            shell.env[name] = value  # a variable for this command or the session: either way, known
            argv = argv[1:]
        elif argv[0] in _KEYWORDS:
            argv = argv[1:]
        elif argv[0] == "function":  # function NAME { ...; }
            argv = argv[2:]
        elif wrapper == "env" and argv[0] in ("-C", "--chdir") and len(argv) > 1:
            shell = shell.subshell()  # env -C DIR: the command runs there
            _chdir(shell, argv[1], workspace)
            argv = argv[2:]
        elif wrapper == "env" and argv[0] in ("-S", "--split-string") and len(argv) > 1:
            argv = [t.text for t in _lex(argv[1]) if not t.op] + argv[2:]  # env -S 'python x.py'
        elif argv[0] in _WRAPPER_VALUE_OPTIONS.get(wrapper, ()):
            argv = argv[2:]
        elif wrapper and _WRAPPER_ARG.match(argv[0]):
            argv = argv[1:]
        elif base in WRAPPERS:
            if base == "xargs" and previous and posixpath.basename(previous[0]) in ("echo", "printf"):
                argv = [*argv, *previous[1:]]  # echo run.py | xargs python: the words piped become arguments
            argv, wrapper = argv[1:], base
        elif len(argv) > 1 and argv[1] in SUBCOMMANDS.get(base.lower(), ()):
            argv, wrapper = argv[2:], base
        else:
            break
    if not argv:
        return found
    head = posixpath.basename(argv[0]).lower()
    args = argv[1:]
    stdin_files = [t.text for op, t in redirections if op == "<" and t is not None]
    stdin_text = [
        (t.heredoc or "") if op in ("<<", "<<-") else t.text
        for op, t in redirections
        if op in ("<<", "<<-", "<<<") and t is not None
    ]
    # cat x.py | python; a `<` or here-document of the command's own replaces what the pipe brings
    if previous and posixpath.basename(previous[0]) == "cat" and not stdin_files and not stdin_text:
        stdin_files = [a for a in previous[1:] if not a.startswith("-")]
    if head in ("cd", "pushd", "popd"):
        _cd_command(head, args, shell, workspace)
        return found
    if head == "mkdir":
        shell.dirs.update(_absolute(shell.cwds[0], a) for a in args if not a.startswith("-"))
        return found
    if head == "export":
        for arg in args:
            if _ASSIGNMENT.match(arg):
                name, _, value = arg.partition("=")
                shell.env[name] = value
        return found
    if head in ("cp", "ln", "mv", "install", "cat", "tee"):
        _record_copy(head, args, redirections, shell, workspace)
        return found
    if head == "eval":
        found |= _run_by(" ".join(args), workspace, shell)
    if head == "make":
        return _make(args, workspace, shell)
    if head in RUNNERS or _PY_VERSIONED.match(head) or head == "eval":
        # python -c "$(cat solve.py)", eval "$(cat run.sh)": the file catted is the code run
        for word in words[1:]:
            for sub in word.subs:
                catted = _lex(sub)
                if catted and catted[0].text in ("cat", "<"):
                    found |= _resolve_all((t.text for t in catted[1:] if not t.op), shell, workspace)
    own = _resolve(argv[0], shell, workspace)
    if own:  # ./run.sh, or a script run by its own name
        return found | own | _forwarded(own, args, shell, workspace)
    if head in ("pytest", "py.test"):
        return found | _pytest(args, shell, workspace)
    if head not in RUNNERS and not _PY_VERSIONED.match(head):
        return found
    runs = _target(head, args)
    if runs is not None and runs[0] == "module" and runs[1] in (*_LAUNCHER_MODULES, "pytest"):
        start = next((k for k, a in enumerate(args) if a.endswith(runs[1])), len(args))
        rest = args[start + 1 :]
        if runs[1] == "pytest":
            return found | _pytest(rest, shell, workspace)
        # python -m cProfile -o out.prof train.py: the first of its arguments that is a code file
        for arg in rest:
            paths = _resolve(arg, shell, workspace) if not arg.startswith("-") else set()
            if paths:
                return found | paths
        return found
    if runs is None or (runs[0] == "script" and runs[1] in _STDIN):
        # no script named: it reads its code from stdin (python < x.py, cat x.py | python, a here-document),
        # and the arguments are its own (python - ARGS, bash -s ARGS)
        piped = _resolve_all(stdin_files, shell, workspace)
        found |= piped | _forwarded(piped, args, shell, workspace)
        for text in stdin_text:
            if head in _SHELLS:
                found |= _run_by(text, workspace, shell.subshell())
            elif _is_python(head):
                found |= _python_imports(text, posixpath.join(shell.cwds[0], "-"), workspace)
        return found
    kind, target = runs
    if kind == "module":
        for cwd in shell.cwds:
            found |= _module_files(target, cwd, workspace, main=True)
    elif kind == "code" and head in _SHELLS:
        found |= _run_by(target, workspace, shell.subshell())
    elif kind == "code" and _is_python(head):
        found |= _python_imports(target, posixpath.join(shell.cwds[0], "-c"), workspace)
    elif kind == "script":
        paths = _resolve(target, shell, workspace)
        found |= paths
        rest = args[args.index(target) + 1 :] if target in args else []
        found |= _forwarded(paths, rest, shell, workspace)
    return found


def _resolve(arg: str, shell: _Shell, workspace: Mapping[str, str]) -> set[str]:
    """The workspace code files ``arg`` names from the folders the shell may be in (through the copies and
    links the session made, and a glob such as ``sol*.py``)."""
    found = set()
    for cwd in shell.cwds:
        path = _absolute(cwd, arg)
        for _ in range(8):  # the path itself, and what it is a copy of, or a link to (and so on)
            if path.startswith(_WORKSPACE):
                rel = path[len(_WORKSPACE) :]
                if any(ch in rel for ch in "*?["):  # the shell runs the first file the glob matches
                    depth = rel.count("/")
                    matches = sorted(
                        p for p in workspace if p.count("/") == depth and fnmatch.fnmatchcase(p, rel)
                    )
                    rel = matches[0] if matches else rel
                if rel in workspace and is_code(rel, workspace[rel]):
                    found.add(rel)
            dest = next((d for d in shell.links if path == d or path.startswith(d + "/")), None)
            if dest is None:
                break
            path = shell.links[dest] + path[len(dest) :]
    return found


def _resolve_all(args: Iterable[str], shell: _Shell, workspace: Mapping[str, str]) -> set[str]:
    found: set[str] = set()
    for arg in args:
        found |= _resolve(arg, shell, workspace)
    return found


_ARGV_USE = re.compile(r"\bargv\b|\bargparse\b")
_DYNAMIC_RUN = re.compile(
    r"\b(exec|eval|compile|__import__|import_module|run_path|run_module|system|popen|Popen|run|call|"
    r"check_call|check_output|exec[lv]p?e?|spawn[lv]p?e?|spec_from_file_location|SourceFileLoader)\s*\("
)
_SHELL_ARGS = re.compile(r"\$(\{?[1-9@*]|\{?#)")


def _forwarded(scripts: set[str], args: list[str], shell: _Shell, workspace: Mapping[str, str]) -> set[str]:
    """The script arguments that are code the scripts run: only when a script hands its arguments on
    (a shell script's ``$1``/``$@``; a Python script reading ``sys.argv`` that executes code dynamically:
    ``exec(open(sys.argv[1]).read())``, ``subprocess.run([...sys.argv[1]])``). Otherwise an argument is
    data (``python solve.py notes.py``)."""
    forwards = False
    for path in scripts:
        if path not in shell.memo.forwards:  # read each script once, however often it runs
            lang = _language(path, workspace[path])
            code = "\n".join(code_lines(path, workspace[path]))
            if lang in (".sh", ".bash", ".zsh"):
                shell.memo.forwards[path] = _SHELL_ARGS.search(code) is not None
            else:
                dynamic = _ARGV_USE.search(code) is not None and _DYNAMIC_RUN.search(code) is not None
                shell.memo.forwards[path] = lang == ".py" and dynamic
        forwards |= shell.memo.forwards[path]
    return _resolve_all((a for a in args if not a.startswith("-")), shell, workspace) if forwards else set()


def _cd_command(head: str, args: list[str], shell: _Shell, workspace: Mapping[str, str]) -> None:
    """Follow ``cd DIR``, ``cd -``, ``pushd DIR`` and ``popd``."""
    args = [a for a in args if a not in ("-L", "-P", "-e", "--")]
    if head == "popd":
        if shell.stack:
            shell.oldpwd, shell.cwds = shell.cwds, shell.stack.pop()
        return
    if head == "pushd":
        if not args:
            return
        shell.stack.append(shell.cwds)
    target = args[0] if args else "~"
    if target == "-":
        shell.cwds, shell.oldpwd = shell.oldpwd, shell.cwds
        return
    _chdir(shell, target, workspace)


def _chdir(shell: _Shell, target: str, workspace: Mapping[str, str]) -> None:
    """Move the shell to ``target``. When that folder may not exist (no workspace file lies in it and it is
    not a folder known outside), the ``cd`` may have failed: the folders before it stay as fallbacks."""
    if shell.folders is None:
        shell.folders = {posixpath.dirname(p) for p in workspace}
        for folder in list(shell.folders):
            while folder:
                folder = posixpath.dirname(folder)
                shell.folders.add(folder)
    new = []
    for cwd in shell.cwds:
        path = _cd(cwd, target)
        # bash enters the folder the path leads to once `.` and `..` are read (`cd ./././sub` of any length),
        # but not one whose absolute path reaches PATH_MAX (4096): that `cd` fails, and the shell stays
        new.append(path if len(path if path.startswith("/") else _WORKSPACE + path) < 4096 else cwd)
    shell.oldpwd = shell.cwds
    certain = new[0] in shell.dirs if new[0].startswith("/") else new[0] in shell.folders
    shell.cwds = (new[0],) if certain else tuple(dict.fromkeys((*new, *shell.cwds)))[:4]


def _record_copy(
    head: str,
    args: list[str],
    redirections: list[tuple[str, _Token | None]],
    shell: _Shell,
    workspace: Mapping[str, str],
) -> None:
    """Remember where ``cp a b``, ``ln -s a b``, ``mv a b``, ``cat a > b`` and ``tee`` put a copy of a file."""
    options = [a for a in args if a.startswith("-")]
    paths = [a for a in args if not a.startswith("-")]
    if head in ("cat", "tee"):
        outputs = [t.text for op, t in redirections if op in (">", ">>", ">|", "&>") and t is not None]
        sources = [t.text for op, t in redirections if op == "<" and t is not None]
        if head == "cat":
            sources, dests = sources + paths, outputs
        else:
            dests = paths + outputs
        if len(sources) != 1:
            return
        src = _absolute(shell.cwds[0], sources[0])
        for dest in dests:
            shell.links[_absolute(shell.cwds[0], dest)] = src
        return
    if len(paths) != 2:
        return
    source, dest = paths
    symbolic = head == "ln" and (
        any("s" in o for o in options if not o.startswith("--")) or "--symbolic" in options
    )
    dest_abs = _absolute(shell.cwds[0], dest)
    into_folder = (
        dest.endswith("/")
        or dest_abs in shell.dirs
        or any(
            p.startswith(dest_abs[len(_WORKSPACE) :] + "/")
            for p in workspace
            if dest_abs.startswith(_WORKSPACE)
        )
    )
    if into_folder:
        dest_abs = posixpath.join(dest_abs, posixpath.basename(source.rstrip("/")))
    # a symbolic link's relative target is read from the link's folder (an absolute one from anywhere)
    src_abs = _absolute(posixpath.dirname(dest_abs) if symbolic else shell.cwds[0], source)
    if src_abs != dest_abs:
        shell.links[dest_abs] = src_abs


def _make(args: list[str], workspace: Mapping[str, str], shell: _Shell) -> set[str]:
    """What ``make`` runs: every recipe of the makefile (``-f``, ``-C``), read as shell commands."""
    if args and args[-1] in ("-C", "--directory", "-f", "--file", "--makefile"):
        return set()  # `make -f` without its file: make stops on the missing value and runs nothing
    sub = shell.subshell()
    makefile: str | None = None
    for i, arg in enumerate(args):
        value = args[i + 1] if i + 1 < len(args) else ""
        if arg in ("-C", "--directory"):
            _chdir(sub, value, workspace)
        elif arg.startswith("-C") and len(arg) > 2:
            _chdir(sub, arg[2:], workspace)
        elif arg in ("-f", "--file", "--makefile"):
            makefile = value
    found: set[str] = set()
    for cwd in sub.cwds:
        names = [makefile] if makefile else list(_MAKEFILES)
        for name in names:
            path = _absolute(cwd, name)
            rel = path[len(_WORKSPACE) :]
            if not path.startswith(_WORKSPACE) or rel not in workspace:
                continue
            if (rel, cwd) in shell.memo.made:  # read once: a recipe running make again ends there
                break
            shell.memo.made.add((rel, cwd))
            text = workspace[rel]
            for line in text.splitlines():
                assignment = re.match(r"^\s*([A-Za-z_]\w*)\s*[:?+]?=\s*(.*)$", line)
                if assignment:
                    sub.env[assignment.group(1)] = assignment.group(2).strip()
            recipes = "\n".join(
                line.lstrip("\t").lstrip("@-+ ") for line in text.splitlines() if line.startswith("\t")
            )
            recipes = re.sub(r"\$\((\w+)\)", r"${\1}", recipes).replace("$$", "$")
            found |= _run_by(recipes, workspace, sub)
            break
    return found


_PYTEST_VALUE_OPTIONS = frozenset(
    {"-k", "-m", "-p", "-c", "-o", "-W", "--rootdir", "--confcutdir", "--deselect", "--ignore", "--basetemp"}
)


def _pytest(args: list[str], shell: _Shell, workspace: Mapping[str, str]) -> set[str]:
    """What ``pytest`` runs: the test files it is given or finds in the folders it is given (the current
    one by default), with the ``conftest.py`` files on their way."""
    targets, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in _PYTEST_VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            targets.append(arg.split("::", 1)[0])
    found: set[str] = set()
    for cwd in shell.cwds:
        for target in targets or ["."]:
            path = _absolute(cwd, target)
            if path == _ROOT:
                folder = ""
            elif path.startswith(_WORKSPACE):
                folder = path[len(_WORKSPACE) :]
            else:
                continue
            if folder in workspace:  # a file: the walk up starts at its own folder's conftest.py
                found.add(folder)
            else:
                for rel in workspace:
                    name = posixpath.basename(rel)
                    inside = folder == "" or rel.startswith(folder + "/")
                    is_test = name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))
                    if inside and (is_test or name == "conftest.py"):
                        found.add(rel)
            while folder:
                folder = posixpath.dirname(folder)
                if posixpath.join(folder, "conftest.py") in workspace:
                    found.add(posixpath.join(folder, "conftest.py"))
    return {p for p in found if is_code(p, workspace[p])}


def _absolute(cwd: str, arg: str) -> str:
    """The absolute, normalized path ``arg`` names from ``cwd`` (relative to the workspace root, or absolute)."""
    if arg == "~" or arg.startswith("~/"):
        arg = _HOME + arg[1:]
    path = posixpath.normpath(posixpath.join(_ROOT, cwd, arg))
    return "/" + path.lstrip("/")  # `//workspace` is `/workspace`


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


#: Interpreter options that take a value as the next argument (python -W ignore, -X dev,
#: --check-hash-based-pycs always).
_OPTIONS_WITH_VALUE = frozenset({"-W", "-X", "--check-hash-based-pycs"})


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
    ``("module", name)`` after ``-m`` (an empty text or name when the option has none: ``python -c``
    stops, ``python -c ''`` runs nothing, and neither reads a script from stdin), ``("script", "-")`` for
    ``python - ARGS``, or None (no script named, or ``bash -s ARGS``: the runner reads stdin). What follows
    is the script's or code's own arguments, which name data, never code that runs (``python solve.py notes.py``, ``python train.py -c
    config.yaml``); a bare number is an option's value (``torchrun --nproc_per_node 2 train.py``).
    Short options may be grouped (``python -uc CODE``, ``python -mpkg``, ``bash -lc CODE``)."""
    inline = _inline_options(head)
    skip = False
    shell_code = False  # bash -c: the first argument after the options is the code
    shell_stdin = False  # bash -s: the commands come from stdin, the arguments are the positional parameters
    for i, arg in enumerate(args):
        if skip:
            skip = False
        elif arg in inline:  # without its value the interpreter stops: nothing runs, stdin is not read
            return inline[arg], (args[i + 1] if i + 1 < len(args) else "")
        elif arg == "-" and _is_python(head):  # python - ARGS: the script is stdin (for bash, - is --)
            return "script", arg
        elif arg.startswith("--file="):
            return "script", arg.split("=", 1)[1]
        elif arg in _OPTIONS_WITH_VALUE or (head in _SHELLS and arg in ("+o", "-O", "+O")):  # -o: below
            skip = True
        elif head in _SHELLS and arg.startswith("-") and not arg.startswith("--") and len(arg) > 1:
            shell_code |= "c" in arg[1:]  # bash -lc CODE, bash -euxo pipefail, bash -s ARGS
            shell_stdin |= "s" in arg[1:]
            skip = arg.endswith("o")  # -o pipefail, -euo pipefail
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2 and _is_python(head):
            for j, flag in enumerate(arg[1:], start=2):  # python -uc CODE, -mpkg, -Wignore
                if "-" + flag in inline:
                    return inline["-" + flag], arg[j:] or (args[i + 1] if i + 1 < len(args) else "")
                if "-" + flag in _OPTIONS_WITH_VALUE:
                    skip = not arg[j:]
                    break
        elif not arg.startswith("-") and not _NUMBER.match(arg):
            if shell_stdin and not shell_code:
                return None
            return ("code" if shell_code else "script"), arg
    return ("code", "") if shell_code else None  # bash -ec without its code stops, as python -c does


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
        shell = _Shell()
        shell.cwds = (base,)
        return _run_by(text, workspace, shell)
    if lang == ".r":
        found: set[str] = set()
        shell = _Shell()
        shell.cwds = (base,)
        for name in re.findall(r"""source\(\s*["']([^"']+)["']""", text):
            found |= _resolve(name, shell, workspace)
        return found
    return set()


def _python_imports(text: str, path: str, workspace: Mapping[str, str]) -> set[str]:
    """Local modules a Python file imports (by name from its folder and the workspace root, or relative),
    and the workspace code files it names in a string (``exec(open("x.py").read())``,
    ``subprocess.run(["python", "x.py"])``, ``runpy.run_path("x.py")``, ``import_module("x")``)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # deep nesting overflows the parser
        return set()
    here = posixpath.dirname(path)
    found: set[str] = set()
    places = _Shell()
    places.cwds = tuple(dict.fromkeys((here, "")))
    dynamic_import = "import_module" in text or "__import__" in text
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
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and 0 < len(node.value) < 4096:
            value = node.value.strip()
            if any(ch in value for ch in "./"):  # a file name may hold a newline too
                found |= _resolve(value, places, workspace)
            if dynamic_import and re.fullmatch(r"[A-Za-z_][\w.]*", value):
                names = [(value, base) for base in (here, "")]
        # `from a.b import c`: c is a module (a/b/c.py) or a name of a.b; a and a.b run either way
        for name, base in names:
            found |= _module_files(name, base, workspace)
    return found
