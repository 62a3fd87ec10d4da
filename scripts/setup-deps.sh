#!/usr/bin/env bash
# Installs what kmrig needs to build and test on Debian 12 (bookworm), if it is missing.
# Runs apt-get as root, or through sudo. Idempotent: does nothing when everything is present.
set -euo pipefail

packages=(
    build-essential cmake pkg-config git ca-certificates python3
    libcmocka-dev libusb-1.0-0-dev libftdi1-dev libexpat1-dev
    verilator zlib1g-dev yosys nextpnr-ice40 fpga-icestorm
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "kmrig setup: missing packages (${missing[*]}) and no root or sudo to install them" >&2
    exit 1
fi
echo "kmrig setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
