#!/usr/bin/env bash
# Sets up what the tests need and runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# The generic-frame data shipped with the crash parser must be what the
# script makes from Debian's linux-source-6.1.
bash scripts/check-generic-frames.sh
cargo test --workspace --release
