#!/usr/bin/env bash
# The main job: installs missing packages, builds kmrig, then on the built-in model (the sim
# target): `kmrig info` (the target and its enumerated devices), `kmrig run` (the bundled
# regression suite for the reference SoC, JUnit report in build/default/refsoc-junit.xml),
# `kmrig bench` (DMA throughput, register and ISR latency, the sustainable interrupt rate, with
# the timing of an FT245 USB 2.0 link: build/default/bench.json and build/default/bench.svg) and
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
echo "=== kmrig bench"
build/default/host/cli/kmrig bench --link-profile ft245 --json build/default/bench.json \
    --plot build/default/bench.svg
echo "=== kmrig-demo"
build/default/fixtures/kmrig-demo "$@"
echo
echo "reports: JUnit build/default/refsoc-junit.xml, bench JSON build/default/bench.json," \
    "bench plot build/default/bench.svg (open it in a browser)"
