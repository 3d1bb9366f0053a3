#!/usr/bin/env bash
# The README's first command: on a fresh Debian 12 machine, installs what is
# missing, builds culprit, creates the kernel scenario repository and runs
# its cause bisection to the culprit ("prctl: factor out scratch value
# checking"). With --fix it then runs the fix bisection too.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

scripts/deps.sh
# Debian 12's cargo is older than culprit's minimum Rust: use rustup's.
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
if ! command -v cargo >/dev/null; then
  command -v curl >/dev/null || { sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo;
    $sudo_cmd apt-get install -y -qq curl ca-certificates; }
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  . "$HOME/.cargo/env"
fi
cargo build --release -p culprit

demo="$root/target/kernel-demo"
if [ ! -d "$demo/linux/.git" ]; then
  rm -rf "$demo/linux"
  mkdir -p "$demo"
  tests/kernel/make-scenario.sh "$demo/linux"
fi

target/release/culprit bisect examples/kernel-demo.toml
if [ "${1:-}" = "--fix" ]; then
  target/release/culprit bisect examples/kernel-demo-fix.toml
fi
