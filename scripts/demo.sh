#!/usr/bin/env bash
# The README's first command: on a fresh Debian 12 machine, installs what is
# missing (apt), builds culprit, makes the kernel scenario (Debian's
# linux-source-6.1 plus 29 commits, one of which adds a WARNING the
# reproducer reaches) and bisects it to its culprit.
#
# Usage: bash scripts/demo.sh [fix]
#   fix: look for the commit that fixed the crash instead.
# The scenario, builds and logs go to $CULPRIT_DEMO_DIR (default
# ~/.cache/culprit-demo); a second run reuses them and resumes a bisection
# that was interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
demo="${CULPRIT_DEMO_DIR:-${HOME:?set HOME or CULPRIT_DEMO_DIR}/.cache/culprit-demo}"
mode="${1:-cause}"
case "$mode" in
  cause|fix) ;;
  *) echo "usage: bash scripts/demo.sh [cause|fix]" >&2; exit 2 ;;
esac

bash scripts/deps.sh
if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust first (https://rustup.rs), then run this again" >&2
  exit 1
fi
cargo build --release --bin culprit

mkdir -p "$demo"
# The scenario is made again when its script or patches changed.
version="$(cat tests/kernel/make-scenario.sh tests/kernel/patches/*.patch | sha256sum | cut -c1-16)"
if [ "$(cat "$demo/scenario-version" 2>/dev/null)" != "$version" ]; then
  rm -rf "$demo/linux" "$demo/work" "$demo/linux.partial"
fi
if [ ! -d "$demo/linux/.git" ]; then
  echo "making the kernel scenario in $demo/linux (a few minutes)"
  bash tests/kernel/make-scenario.sh "$demo/linux.partial"
  mv "$demo/linux.partial" "$demo/linux"
  echo "$version" > "$demo/scenario-version"
fi

# The example job, with the demo directory's repository, work directory and
# outcome, and the scenario's files named by absolute path.
example=examples/kernel-demo.toml
[ "$mode" = fix ] && example=examples/kernel-demo-fix.toml
job="$demo/$mode.toml"
sed -e "s|^repo = .*|repo = \"$demo/linux\"|" \
    -e "s|^workdir = .*|workdir = \"$demo/work\"|" \
    -e "s|^json = .*|json = \"$demo/$mode.json\"|" \
    -e "s|^config = .*|config = \"$root/tests/kernel/config\"|" \
    -e "s|^c = .*|c = \"$root/tests/kernel/repro.c\"|" \
    "$example" > "$job"

status=0
target/release/culprit bisect "$job" || status=$?
echo
echo "job: $job"
echo "outcome (JSON): $demo/$mode.json"
echo "consoles and build logs: $demo/work"
exit "$status"
