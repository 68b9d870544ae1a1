#!/usr/bin/env bash
# Build the real Dockerfile and run the image against local peers, with no Docker engine and no image
# registry: a Debian bookworm base made by debootstrap (cached as a tarball), buildah for the build and
# `buildah run` for the container (podman run cannot set rlimits in this kind of sandbox). The checks
# themselves live in scripts/container_smoke.py: uid 10001, the image's own HEALTHCHECK, /metrics, a
# `/cloudops status web-1` answered in its thread, nothing written outside /tmp.
#
# Usage (as root): scripts/container-smoke.sh          # or: make container-smoke
# Env: SMOKE_CACHE (default .cache/container-smoke), IMAGE (default localhost/smart-cloudops-ai:smoke),
#      DEBIAN_MIRROR (default: the host's apt mirror, else deb.debian.org), PIP_CONF / CA_DIR (the host's
#      pip configuration file and CA folder, mounted into the build so `pip` inside it reaches the index),
#      KEEP_IMAGE=0 to remove the image afterwards.
# Figures here: first run on a new machine ~4.5 min (apt ~40 s, debootstrap ~2 min, build ~90 s, checks
# ~15 s); later runs ~20 s (cached rootfs and layers), ~30 s after a code change. Superseded layers
# stay in buildah's store as the cache: `buildah rmi --prune` frees them (the next build is cold).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SMOKE_CACHE:-$ROOT/.cache/container-smoke}"
BASE_IMAGE="localhost/cloudops-debian-py:bookworm-slim"
BASE_TAR="$CACHE/debian-bookworm-python3-slim.tar"
IMAGE="${IMAGE:-localhost/smart-cloudops-ai:smoke}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'container-smoke: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (buildah with chroot isolation and debootstrap)"
[ -x "$PYTHON" ] || die "no $PYTHON: run 'make test' (or create .venv) first; the driver uses the project's emulators"

missing=()
for tool in buildah podman debootstrap; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
  say "installing ${missing[*]} from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$CACHE"

# --- base image: Debian bookworm + python3 (the rootfs tarball is cached, the import is cheap) ---
if ! podman image exists "$BASE_IMAGE"; then
  if [ ! -s "$BASE_TAR" ]; then
    mirror="${DEBIAN_MIRROR:-}"
    if [ -z "$mirror" ]; then
      mirror="$(grep -hoE '^URIs: *https?://[^ ]+/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null \
                | head -n1 | sed -E 's/^URIs: *//')" || true
      mirror="${mirror:-http://deb.debian.org/debian}"
    fi
    rootfs="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
    trap 'rm -rf "$rootfs"' EXIT
    say "debootstrap bookworm (minbase + python3) from $mirror"
    t0=$(date +%s)
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      bookworm "$rootfs" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
    # The package caches and lists are not part of a base image, nor documentation, manual pages and
    # translations (~50 MB; Debian's slim images leave them out too).
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
           "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
    tar -C "$rootfs" -cf "$BASE_TAR.part" . && mv "$BASE_TAR.part" "$BASE_TAR"
    rm -rf "$rootfs"; trap - EXIT
    say "debootstrap took $(( $(date +%s) - t0 )) s; cached at $BASE_TAR"
  fi
  say "importing $BASE_TAR as $BASE_IMAGE"
  podman import --quiet "$BASE_TAR" "$BASE_IMAGE" >/dev/null
fi

# --- build: the repository's Dockerfile, unchanged, on that base ---
build_args=(--build-arg "BASE_IMAGE=$BASE_IMAGE"
            --build-arg "VERSION=$(sed -nE 's/^version *= *"([^"]+)".*/\1/p' "$ROOT/pyproject.toml" | head -n1)"
            --build-arg "REVISION=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
            --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
mounts=()
CA_DIR="${CA_DIR:-/etc/ssl/certs}"
[ -d "$CA_DIR" ] && mounts+=(-v "$CA_DIR:$CA_DIR:ro")
if [ -z "${PIP_CONF:-}" ]; then
  for candidate in "${PIP_CONFIG_FILE:-}" /etc/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf"; do
    if [ -n "$candidate" ] && [ -f "$candidate" ]; then PIP_CONF="$candidate"; break; fi
  done
fi
# Mounted at /etc/pip.conf, the path pip reads for every user inside the build.
[ -n "${PIP_CONF:-}" ] && mounts+=(-v "$PIP_CONF:/etc/pip.conf:ro")

say "buildah bud -> $IMAGE"
t0=$(date +%s%N)
# --format docker: the OCI image format has no HEALTHCHECK, and the smoke test runs the image's own.
buildah bud --isolation chroot --pull=never --network host --format docker --layers --quiet \
  "${mounts[@]}" "${build_args[@]}" -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT" >"$CACHE/build.log" 2>&1 \
  || { tail -n 30 "$CACHE/build.log" >&2; die "build failed (log: $CACHE/build.log)"; }
build_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
build_s="$(( build_ms / 1000 )).$(( build_ms % 1000 / 100 ))"
size_bytes=$(podman image inspect --format '{{.Size}}' "$IMAGE")
say "built in ${build_s} s; image size $(( size_bytes / 1024 / 1024 )) MiB (uncompressed)"

# --- run it against the Slack emulator, moto and the model server ---
status=0
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" "$ROOT/scripts/container_smoke.py" --image "$IMAGE" --build-seconds "$build_s" \
  --image-bytes "$size_bytes" || status=$?
if [ "${KEEP_IMAGE:-1}" = 0 ]; then buildah rmi "$IMAGE" >/dev/null 2>&1 || true; fi
exit "$status"
