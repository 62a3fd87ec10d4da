#!/bin/sh
# Lint and synthesis check of the reference SoC and of the bridge top around it:
#   verilator --lint-only -Wall on kmrig_soc and on kmrig_soc_bridge (waivers are inline, each
#   with its reason)
#   yosys synth_ice40 -top kmrig_soc, as simulated (SIM_SKIP=1) and as on a board (SIM_SKIP=0),
#   and -top kmrig_soc_bridge as on a board
#   the PHYs (rtl/phy): verilator -Wall on the tops kmrig_soc_ft245 and kmrig_soc_uart (PHY +
#   bridge + SoC), yosys synth_ice40 -top kmrig_phy_ft245, kmrig_phy_uart and kmrig_phy_spi
#   the bridge as the boards reduce it (gateware/common/kmrig_board_core.v: no DMA port, 32-bit
#   timestamps inside, 2 gaps, no read-back): verilator -Wall on kmrig_bridge with those parameters
# Usage: rtl/lint.sh [verilator|yosys]...   (default: both). VERILATOR / YOSYS override the
# tool paths. Exit status 77 (ctest SKIP_RETURN_CODE) when a requested tool is missing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
VERILATOR=${VERILATOR:-verilator}
YOSYS=${YOSYS:-yosys}
SOURCES="kmrig_soc.v kmrig_wb_interconnect.v kmrig_enum_rom.v kmrig_sysid.v kmrig_timer.v kmrig_intc.v \
    kmrig_uart16550.v kmrig_dma.v kmrig_sysdma.v kmrig_dma_arbiter.v"
BRIDGE="bridge/kmrig_soc_bridge.v bridge/kmrig_bridge.v bridge/kmrig_bridge_rx.v \
    bridge/kmrig_bridge_exec.v bridge/kmrig_bridge_tx.v bridge/kmrig_bridge_irq.v \
    bridge/kmrig_bridge_dma.v bridge/kmrig_bridge_ram4.v"
PHY="phy/kmrig_phy_ft245.v phy/kmrig_phy_uart.v phy/kmrig_phy_afifo.v phy/kmrig_phy_rst_sync.v \
    phy/kmrig_phy_spi.v"
PHYTOPS="phy/kmrig_soc_phy_core.v phy/kmrig_soc_ft245.v phy/kmrig_soc_uart.v"
checks=${*:-verilator yosys}
cd "$here"

for check in $checks; do
    case $check in
    verilator)
        if ! command -v "$VERILATOR" >/dev/null 2>&1; then
            echo "SKIP: $VERILATOR not found"; exit 77
        fi
        # shellcheck disable=SC2086
        "$VERILATOR" --lint-only -Wall -Igen --top-module kmrig_soc $SOURCES
        echo "verilator --lint-only -Wall (kmrig_soc): clean"
        # shellcheck disable=SC2086
        "$VERILATOR" --lint-only -Wall -Igen -Ibridge --top-module kmrig_soc_bridge $SOURCES $BRIDGE
        echo "verilator --lint-only -Wall (kmrig_soc_bridge): clean"
        for top in kmrig_soc_ft245 kmrig_soc_uart; do
            # shellcheck disable=SC2086
            "$VERILATOR" --lint-only -Wall -Igen -Ibridge --top-module $top $SOURCES $BRIDGE \
                $PHY $PHYTOPS
            echo "verilator --lint-only -Wall ($top): clean"
        done
        # shellcheck disable=SC2086
        "$VERILATOR" --lint-only -Wall --top-module kmrig_phy_spi $PHY
        echo "verilator --lint-only -Wall (kmrig_phy_spi): clean"
        # shellcheck disable=SC2086
        "$VERILATOR" --lint-only -Wall -Igen -Ibridge --top-module kmrig_bridge -GHAS_DMA=0 \
            -GTS_W=32 -GSKIPS=2 -GRESCAN=0 -GIRQ_N=4 -GREQUIRE_CRC=1 $BRIDGE
        echo "verilator --lint-only -Wall (kmrig_bridge reduced as on the boards): clean"
        ;;
    yosys)
        if ! command -v "$YOSYS" >/dev/null 2>&1; then
            echo "SKIP: $YOSYS not found"; exit 77
        fi
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        for skip in 1 0; do
            sh ./yosys-retry.sh "$YOSYS" -q -l "$tmp/yosys$skip.log" -p "read_verilog -Igen $SOURCES; \
                chparam -set SIM_SKIP $skip kmrig_soc; synth_ice40 -top kmrig_soc; \
                tee -o $tmp/stat$skip.txt stat" >/dev/null
            echo "yosys synth_ice40 (SIM_SKIP=$skip):"
            sed -n '/Number of cells/,/^$/p' "$tmp/stat$skip.txt"
        done
        sh ./yosys-retry.sh "$YOSYS" -q -l "$tmp/yosysb.log" -p "read_verilog -Igen -Ibridge $SOURCES $BRIDGE; \
            chparam -set SIM_SKIP 0 kmrig_soc_bridge; synth_ice40 -top kmrig_soc_bridge; \
            tee -o $tmp/statb.txt stat" >/dev/null
        echo "yosys synth_ice40 (kmrig_soc_bridge, SIM_SKIP=0):"
        sed -n '/Number of cells/,/^$/p' "$tmp/statb.txt"
        for top in kmrig_phy_ft245 kmrig_phy_uart kmrig_phy_spi; do
            sh ./yosys-retry.sh "$YOSYS" -q -l "$tmp/yosys_$top.log" -p "read_verilog $PHY; \
                synth_ice40 -top $top; tee -o $tmp/stat_$top.txt stat" >/dev/null
            echo "yosys synth_ice40 ($top):"
            sed -n '/Number of cells/,/^$/p' "$tmp/stat_$top.txt"
        done
        if grep "^Warning" "$tmp"/yosys*.log; then
            echo "FAIL: yosys warnings"; exit 1
        fi
        ;;
    *)
        echo "usage: $0 [verilator|yosys]..." >&2; exit 2
        ;;
    esac
done
