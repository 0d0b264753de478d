"""The persistent shell session, and the small in-sandbox scripts the backends run.

Design: there is no long-lived bash reading commands from a pipe (one ``exit``, ``exec``, ``kill -9 $$`` or
stuck read would end or wedge it). Every command runs in a *fresh* ``bash`` that first restores the session
state (working directory, exported variables) from a state file, runs the command with ``eval``, and saves
the state again from an EXIT trap. So:

- ``cd`` and ``export`` survive between commands, as in a terminal;
- a timeout kills one fresh process tree, and the next command starts clean from the last saved state;
- ``exit 3`` or ``kill -9 $$`` end only that command (after a SIGKILL the state of that command is lost,
  as it would be for a killed terminal).

The state file lives in the sandbox, owned by the agent user. The agent can edit it, but it only ever runs
as the agent, inside the sandbox, so tampering gains nothing it could not do directly; it is still checked
to be a regular file (not a symlink) before it is sourced, and a broken file only resets the session.
"""

from __future__ import annotations

#: Folder (inside the sandbox) holding the session state file.
STATE_DIR = "/tmp/.rgym"
STATE_FILE = f"{STATE_DIR}/session.sh"

#: First line of every script: the command's processes are the memory cgroup's first OOM victims, before
#: the Docker sandbox's supervisor (whose death would end the sandbox). Raising is allowed to anybody.
OOM_FIRST = "echo 500 > /proc/self/oom_score_adj 2>/dev/null"

#: Variables never carried from one command to the next (bash keeps them itself, or they are ours): they lose
#: their export mark just before the state is saved (the shell is exiting), so ``declare -px``, a builtin,
#: prints all the others without a subshell (a fork per command, on a loaded machine 10 ms or more).
_NOT_CARRIED = "PWD OLDPWD SHLVL _ RGYM_EXEC_ID RGYM_WS COLUMNS LINES BASH_ENV BASH_XTRACEFD BASH_COMPAT BASH_LOADABLES_PATH"

#: argv[2] of ``bash -c``: $1 = the command, $2 = the state file, $3 = the workspace root, and $4 = "keep" when
#: the caller moves ``$2.new`` over ``$2`` itself once the command has ended (the exec channel does: one
#: ``rename`` instead of an ``mv`` process per command).
SESSION_SCRIPT = rf"""
{OOM_FIRST}
__rgym_state="$2" __rgym_id="$RGYM_EXEC_ID" __rgym_ws="$RGYM_WS"
if [ -f "$__rgym_state" ] && [ ! -L "$__rgym_state" ]; then
  . "$__rgym_state" >/dev/null 2>&1 || true
fi
export RGYM_EXEC_ID="$__rgym_id" RGYM_WS="$__rgym_ws" 2>/dev/null
cd -- "${{__RGYM_CWD:-$3}}" 2>/dev/null || cd -- "$3"
unset __RGYM_CWD __rgym_id __rgym_ws
__rgym_save() {{
  export -n {_NOT_CARRIED} 2>/dev/null
  {{
    printf '__RGYM_CWD=%q\n' "$PWD"
    declare -px
  }} > "$__rgym_state.new" 2>/dev/null || return
  [ "$__rgym_keep" = keep ] || mv -f -- "$__rgym_state.new" "$__rgym_state" 2>/dev/null
}}
[ -d "${{__rgym_state%/*}}" ] || mkdir -p -- "${{__rgym_state%/*}}" 2>/dev/null
trap __rgym_save EXIT
__rgym_cmd="$1" __rgym_keep="$4"
set --
eval "$__rgym_cmd"
"""

# Exit codes of the file scripts, mapped to errors by the Python side.
RC_NOT_FOUND = 44
RC_ESCAPES = 45
RC_IS_DIR = 46
RC_PERMISSION = 47
RC_TOO_BIG = 48

#: Read a file: $1 path, $2 max bytes, $3 root it must stay under ("/" for none).
READ_SCRIPT = rf"""
{OOM_FIRST}
p="$1"; max="$2"; root="$3"
real=$(realpath -e -- "$p" 2>/dev/null) || {{ echo "No such file or directory: $p" >&2; exit {RC_NOT_FOUND}; }}
if [ "$root" != / ]; then case "$real" in "$root"|"$root"/*) ;; *) echo "$p: resolves outside $root" >&2; exit {RC_ESCAPES};; esac; fi
[ -d "$real" ] && {{ echo "Is a directory: $p" >&2; exit {RC_IS_DIR}; }}
[ -r "$real" ] || {{ echo "Permission denied: $p" >&2; exit {RC_PERMISSION}; }}
size=$(stat -c %s -- "$real") || exit {RC_PERMISSION}
[ "$size" -gt "$max" ] && {{ echo "$size" >&2; exit {RC_TOO_BIG}; }}
exec cat -- "$real"
"""

#: Write stdin to a file: $1 path, $2 root it must stay under ("/" for none).
WRITE_SCRIPT = rf"""
{OOM_FIRST}
p="$1"; root="$2"
real=$(realpath -m -- "$p" 2>/dev/null) || {{ echo "$p: not a valid path" >&2; exit {RC_ESCAPES}; }}
if [ "$root" != / ]; then case "$real" in "$root"/*) ;; *) echo "$p: resolves outside $root" >&2; exit {RC_ESCAPES};; esac; fi
[ -d "$real" ] && {{ echo "Is a directory: $p" >&2; exit {RC_IS_DIR}; }}
mkdir -p -- "$(dirname -- "$real")" 2>/dev/null || {{ echo "Permission denied: $p" >&2; exit {RC_PERMISSION}; }}
if [ -e "$real" ] && [ ! -w "$real" ]; then echo "Permission denied: $p" >&2; exit {RC_PERMISSION}; fi
cat > "$real" 2>/dev/null || {{ echo "Permission denied (or disk full): $p" >&2; exit {RC_PERMISSION}; }}
"""


#: List paths ($2...) under the workspace root $1, never following links: one NUL-ended record per entry,
#: "<type>\t<apparent size>\t<path>" (find's %y: f file, d folder, l link, p fifo, s socket, b/c device).
LIST_SCRIPT = rf"""
{OOM_FIRST}
root="$1"; shift
cd -- "$root" || exit 1
exec find "$@" -printf '%y\t%s\t%p\0'
"""

#: Tar the paths read NUL-separated from stdin (each "./"-prefixed), relative to the workspace root $1:
#: no recursion (the host lists what to copy), links archived as links, holes of sparse files kept as holes.
TAR_LIST_SCRIPT = rf"""
{OOM_FIRST}
cd -- "$1" || exit 1
exec tar --null --no-recursion --sparse --ignore-failed-read -cf - -T -
"""

#: Bytes $3 .. $3+$4 of the regular file $2 ("./"-prefixed) under the workspace root $1, never through a
#: link: a file too large for one transfer is copied in ranges.
RANGE_SCRIPT = rf"""
{OOM_FIRST}
root="$1"; p="$2"; off="$3"; len="$4"
rroot=$(realpath -e -- "$root") || exit 1
real=$(realpath -e -- "$root/$p" 2>/dev/null) || exit {RC_NOT_FOUND}
[ "$real" = "$rroot/${{p#./}}" ] || exit {RC_ESCAPES}
[ -f "$real" ] || exit {RC_PERMISSION}
exec dd if="$real" iflag=skip_bytes,count_bytes,fullblock,nofollow bs=1M skip="$off" count="$len" status=none
"""
