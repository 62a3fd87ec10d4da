#!/usr/bin/env bash
# The whole test suite: installs missing packages, then builds and tests three configurations:
# default (RelWithDebInfo), asan (ASan + UBSan, every test) and tsan (ThreadSanitizer, the
# concurrency tests labelled "tsan"). Each test binary runs every test in its own process.
# The Verilator models are built once, in build/models, and shared by the three presets
# (docs/rtl.md, "Models"): the first preset's build builds them, the others find them done.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
presets=${KMRIG_PRESETS:-default asan tsan}
status=0
for preset in $presets; do
    echo "=== kmrig: configure, build and test preset '$preset' ==="
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j "$jobs"
    if ! ctest --preset "$preset" -j "$jobs"; then
        status=1
    fi
done
exit $status
