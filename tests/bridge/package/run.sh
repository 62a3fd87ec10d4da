#!/bin/sh
# package_user_soc: installs the kmrig build tree $1 into $2/prefix, then configures, builds and
# runs the user project next to this script against it (find_package(kmrig) +
# kmrig_add_user_soc). Exit 77 (skip) when no Verilator model is installed.
set -eu
build=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
if [ ! -f "$work/prefix/lib/cmake/kmrig/kmrigSimTargets.cmake" ]; then
    echo "SKIP: kmrig was built without Verilator"; exit 77
fi
cmake -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DKMRIG_EXAMPLE_RTL="$here/../../../fixtures/crc_soc" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$work/build" --parallel 2 >/dev/null
"$work/build/user_main"
