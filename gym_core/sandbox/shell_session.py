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

#: Variables never carried from one command to the next (bash keeps them itself, or they are ours).
_NOT_CARRIED = "PWD|OLDPWD|SHLVL|_|RGYM_EXEC_ID|RGYM_WS|BASH_*|COLUMNS|LINES"

#: argv[2] of ``bash -c``: $1 = the command, $2 = the state file, $3 = the workspace root.
SESSION_SCRIPT = rf"""
__rgym_state="$2"
if [ -f "$__rgym_state" ] && [ ! -L "$__rgym_state" ]; then
  . "$__rgym_state" >/dev/null 2>&1 || true
fi
cd -- "${{__RGYM_CWD:-$3}}" 2>/dev/null || cd -- "$3"
unset __RGYM_CWD
__rgym_save() {{
  local __rgym_v
  {{
    printf '__RGYM_CWD=%q\n' "$PWD"
    for __rgym_v in $(compgen -e); do
      case "$__rgym_v" in {_NOT_CARRIED}) continue ;; esac
      declare -p "$__rgym_v" 2>/dev/null
    done
  }} > "$__rgym_state.new" 2>/dev/null && mv -f -- "$__rgym_state.new" "$__rgym_state" 2>/dev/null
}}
mkdir -p -- "${{__rgym_state%/*}}" 2>/dev/null
trap __rgym_save EXIT
__rgym_cmd="$1"
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
p="$1"; root="$2"
real=$(realpath -m -- "$p" 2>/dev/null) || {{ echo "$p: not a valid path" >&2; exit {RC_ESCAPES}; }}
if [ "$root" != / ]; then case "$real" in "$root"/*) ;; *) echo "$p: resolves outside $root" >&2; exit {RC_ESCAPES};; esac; fi
[ -d "$real" ] && {{ echo "Is a directory: $p" >&2; exit {RC_IS_DIR}; }}
mkdir -p -- "$(dirname -- "$real")" 2>/dev/null || {{ echo "Permission denied: $p" >&2; exit {RC_PERMISSION}; }}
if [ -e "$real" ] && [ ! -w "$real" ]; then echo "Permission denied: $p" >&2; exit {RC_PERMISSION}; fi
cat > "$real" 2>/dev/null || {{ echo "Permission denied (or disk full): $p" >&2; exit {RC_PERMISSION}; }}
"""

#: Tar paths ($2...) relative to the workspace root $1 to stdout; never dereferences links.
TAR_SCRIPT = r"""
root="$1"; shift
cd -- "$root" || exit 1
exec tar -cf - --ignore-failed-read -- "$@"
"""
