#!/usr/bin/env bash
# Build the rgym base image without any container registry: debootstrap a Debian minbase root
# filesystem with Python, add the `agent` user and /opt/venv, and `docker import` it.
#
# Usage: containers/base/bootstrap.sh [--tag TAG] [--mirror URL] [--suite SUITE]
#   TAG     default $RGYM_BASE_IMAGE or rgym/base:py3.11
#   URL     default $RGYM_DEBIAN_MIRROR or the first Debian archive in this machine's apt sources
#   SUITE   default bookworm (its python3 is 3.11, which the tag promises)
# Needs root (debootstrap, chroot) and a Docker engine. The image contract is documented in
# containers/base/README.md; containers/base/Dockerfile is the same image built from python:3.11-slim.
set -euo pipefail

TAG="${RGYM_BASE_IMAGE:-rgym/base:py3.11}"
MIRROR="${RGYM_DEBIAN_MIRROR:-}"
SUITE="bookworm"
PACKAGES="python3,python3-venv,procps,ca-certificates"

phase() { echo "==> $*"; }
die() { echo "bootstrap.sh: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --tag) TAG="${2:?--tag needs a value}"; shift 2 ;;
        --mirror) MIRROR="${2:?--mirror needs a value}"; shift 2 ;;
        --suite) SUITE="${2:?--suite needs a value}"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done

# The first main archive of this machine's apt sources: deb822 URIs: lines, then one-line deb lines.
machine_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /-security\/?$/) { print $i; exit } }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i !~ /=/) { if ($i !~ /-security\/?$/) print $i; break } }' "$f"
    done
}

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot need it)"
command -v docker >/dev/null || die "the docker CLI is missing; run scripts/ensure-docker"
docker info >/dev/null 2>&1 || die "no Docker engine answers; run scripts/ensure-docker"
if [ -z "$MIRROR" ]; then
    MIRROR="$(machine_mirror | head -n 1)"
    [ -n "$MIRROR" ] || die "no Debian mirror in /etc/apt sources; pass --mirror URL or set RGYM_DEBIAN_MIRROR"
fi
if ! command -v debootstrap >/dev/null; then
    phase "installing debootstrap"
    [ -f /etc/debian_version ] || die "debootstrap is missing and this is not Debian; install it"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/rgym-rootfs.XXXXXX")"
ROOT="$WORK/rootfs"
cleanup() {
    # debootstrap mounts /proc and /sys in the target; an interrupted run leaves them mounted, and
    # rm -rf must never follow them into the host's.
    local mnt
    for mnt in $(awk -v r="$WORK/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "$mnt" 2>/dev/null || true
    done
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

phase "debootstrap --variant=minbase $SUITE from $MIRROR (takes a few minutes)"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR"

phase "adding user agent (uid 1000), /opt/venv and /workspace"
chroot "$ROOT" groupadd --gid 1000 agent
chroot "$ROOT" useradd --uid 1000 --gid 1000 --create-home --home-dir /home/agent --shell /bin/bash agent
chroot "$ROOT" python3 -m venv /opt/venv
chmod -R a+rX "$ROOT/opt/venv"
mkdir -p "$ROOT/workspace"
chown 1000:1000 "$ROOT/workspace"

phase "trimming the root filesystem"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/* "$ROOT"/var/cache/debconf/*-old \
    "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* \
    "$ROOT"/var/log/*.log "$ROOT"/var/log/apt/* "$ROOT"/tmp/* "$ROOT"/root/.cache
# Bytecode stays: with PYTHONDONTWRITEBYTECODE=1, every run would recompile the stdlib it imports.

phase "docker import as $TAG"
# /dev, /proc and /sys are provided by the engine at run time; their contents are not image data.
tar --numeric-owner -C "$ROOT" --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -c . |
    docker import \
        --change 'ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV VIRTUAL_ENV=/opt/venv' \
        --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
        --change 'ENV PYTHONUNBUFFERED=1' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'WORKDIR /workspace' \
        --change 'LABEL rgym.base=1' \
        --change "LABEL rgym.base.method=debootstrap" \
        --change "LABEL rgym.base.suite=$SUITE" \
        --change 'CMD ["/bin/bash"]' \
        --message "rgym base image: debootstrap $SUITE minbase + python3" \
        - "$TAG" >/dev/null

phase "checking $TAG"
docker run --rm --network none --user 1000:1000 --label rgym.bootstrap-check=1 "$TAG" \
    python3 -c 'import sys, venv; assert sys.prefix == "/opt/venv", sys.prefix; print("python", sys.version.split()[0])'
phase "done: $TAG"
