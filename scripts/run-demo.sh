#!/usr/bin/env bash
# The main job: installs missing packages, builds kmrig and runs the demo on the built-in model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset default >/dev/null
cmake --build --preset default -j "$jobs" --target kmrig-demo
exec build/default/fixtures/kmrig-demo "$@"
