#!/bin/sh
# yosys-retry.sh YOSYS ARGS... - runs yosys, and runs it again (3 tries in all) when it failed
# only because its ABC subprocess crashed: Debian 12's berkeley-abc aborts now and then on the
# same netlist that passes on the next run ("ABC: execution of command ... failed: return code
# 134"), a fault of the tool, not of the design. Each retry is printed; any other failure ends
# the run with yosys's status.
set -u
out=$(mktemp)
trap 'rm -f "$out"' EXIT
try=1
while :; do
    "$@" >"$out" 2>&1
    status=$?
    cat "$out"
    [ "$status" -eq 0 ] && exit 0
    if [ "$try" -lt 3 ] && grep -q "ABC: execution of command .* failed: return code" "$out"; then
        echo "yosys-retry: ABC crashed (try $try of 3); running yosys again" >&2
        try=$((try + 1))
        continue
    fi
    exit "$status"
done
