#!/usr/bin/env bash
# Builds the offline base image the Docker end-to-end test runs on: a minimal Debian
# (debootstrap, python3 only) imported with `docker import` and tagged as the FROM line the
# Dockerfile generator emits for the test's cog.yaml (python:3.11-slim for python_version 3.11).
# No registry is reachable in CI, so this stands in for the real python image.
#
# Usage: scripts/e2e_base_image.sh [TAG...]      (default TAG: python:3.11-slim)
# Env:   COG_E2E_CACHE  where the rootfs tarball is cached (default ~/.cache/cog-e2e)
#        COG_E2E_SUITE  Debian suite (default bookworm, whose python3 is 3.11)
#        DOCKER         docker client to use (default: docker)
set -euo pipefail

tags=("$@")
if [ ${#tags[@]} -eq 0 ]; then tags=("python:3.11-slim"); fi
docker_cmd="${DOCKER:-docker}"
suite="${COG_E2E_SUITE:-bookworm}"
cache="${COG_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cog-e2e}"
tarball="$cache/debian-$suite-python3.tar"

# Already there? Nothing to do.
missing=()
for tag in "${tags[@]}"; do
  if ! "$docker_cmd" image inspect "$tag" >/dev/null 2>&1; then missing+=("$tag"); fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "e2e base image: ${tags[*]} already present"
  exit 0
fi

if [ ! -s "$tarball" ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "e2e base image: installing debootstrap" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  # Use the mirror apt is configured with (the only Debian mirror reachable here).
  mirror="$(grep -rhoE '^(URIs:|deb) +[a-z]+://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -v -- '-security' | grep -i debian | head -n1 | awk '{print $2}' || true)"
  mirror="${COG_E2E_MIRROR:-${mirror:-http://deb.debian.org/debian}}"
  mkdir -p "$cache"
  rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs"' EXIT
  echo "e2e base image: debootstrap $suite from $mirror (cached at $tarball)" >&2
  debootstrap --variant=minbase --include=python3,ca-certificates "$suite" "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -n 30 "$cache/debootstrap.log" >&2; exit 1; }
  ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi

first="${missing[0]}"
echo "e2e base image: importing $tarball as $first" >&2
"$docker_cmd" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  "$tarball" "$first" >/dev/null
for tag in "${missing[@]:1}"; do "$docker_cmd" tag "$first" "$tag"; done
echo "e2e base image: ready as ${missing[*]}"
