#!/usr/bin/env bash
# The main job: installs missing packages, builds kmrig, then on the built-in model (the sim
# target): `kmrig info` (the target and its enumerated devices), `kmrig run` (the bundled
# regression suite for the reference SoC, JUnit report in build/default/refsoc-junit.xml) and
# the timer-driver demo. Arguments go to the demo (--ticks N, --period-us N, --target URI, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset default >/dev/null
cmake --build --preset default -j "$jobs" --target kmrig refsoc kmrig-demo
echo "=== kmrig info"
build/default/host/cli/kmrig info
echo "=== kmrig run"
build/default/host/cli/kmrig run --junit build/default/refsoc-junit.xml
echo "=== kmrig-demo"
exec build/default/fixtures/kmrig-demo "$@"
