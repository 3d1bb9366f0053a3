#!/usr/bin/env bash
# Sets up what the tests need and runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo test --workspace --release
