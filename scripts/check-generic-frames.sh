#!/usr/bin/env bash
# Proves crates/report/data/generic-frames.txt is what
# scripts/gen-generic-frames.py makes from Debian's linux-source-6.1:
# regenerates it into a temporary file and compares. Exit 0 when current,
# 1 with a diff when not, 2 when the source tarball is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shipped="$here/../crates/report/data/generic-frames.txt"
tarball="${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}"
if [ ! -f "$tarball" ]; then
  echo "check-generic-frames: $tarball is missing (install linux-source-6.1: scripts/deps.sh)" >&2
  exit 2
fi
fresh="$(mktemp)"
trap 'rm -f "$fresh"' EXIT
python3 "$here/gen-generic-frames.py" --source "$tarball" -o "$fresh"
if ! diff -u "$shipped" "$fresh"; then
  echo "check-generic-frames: $shipped is out of date; run scripts/gen-generic-frames.py" >&2
  exit 1
fi
echo "check-generic-frames: $shipped is current"
