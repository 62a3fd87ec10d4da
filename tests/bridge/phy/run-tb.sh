#!/bin/sh
# run-tb.sh VERILATOR WORKDIR TOP SOURCES... - builds a self-checking Verilog testbench with
# verilator --binary --timing in WORKDIR and runs it; its exit status is the test's. The
# testbench prints "N passed, M failed" and calls $fatal on a failure.
set -eu
verilator=$1; work=$2; top=$3
shift 3
mkdir -p "$work"
cd "$work"
"$verilator" --binary --timing -Wno-fatal -Wno-lint -Wno-style --top-module "$top" -o "$top" \
    "$@" >build.log 2>&1 || { cat build.log; exit 1; }
exec "./obj_dir/$top"
