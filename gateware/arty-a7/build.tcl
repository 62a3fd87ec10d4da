# build.tcl - Vivado non-project flow for kmrig on the Digilent Arty A7-35T (xc7a35ticsg324-1L).
# NOT built in CI (Vivado is not free software and is not on the build machines); docs/boards.md,
# "Arty A7-35T (Vivado, not in CI)". Run from the repository root:
#
#   python3 rtl/gen_soc.py --user gateware/arty-a7/board_soc.json --out build/arty-a7/gen
#   vivado -mode batch -source gateware/arty-a7/build.tcl
#
# The link is the board's FT2232H channel B in UART mode (USB-UART, pins D10/A9), 3 Mbaud at a
# 48 MHz system clock from the 100 MHz oscillator through an MMCM. The Artix-7 has room for the
# whole reference SoC, but the board SoC here is generated like the iCE40 boards' (no DMA master:
# the bridge is built without its DMA port); add dma0/sysdma to board_soc.json's peripherals as
# the generator learns them. Outputs in build/arty-a7/: kmrig_arty.bit, utilisation and timing
# reports; the script stops with an error when timing is not met (WNS < 0).

set root [file normalize [file dirname [info script]]/../..]
set out  $root/build/arty-a7
set gen  $out/gen
file mkdir $out

if {![file exists $gen/kmrig_board_soc.v]} {
    error "run: python3 rtl/gen_soc.py --user gateware/arty-a7/board_soc.json --out $gen"
}

set_part xc7a35ticsg324-1L

set rtl $root/rtl
read_verilog [list \
    $rtl/kmrig_wb_interconnect.v $rtl/kmrig_enum_rom.v $rtl/kmrig_sysid.v $rtl/kmrig_timer.v \
    $rtl/kmrig_intc.v $rtl/kmrig_uart16550.v \
    $rtl/bridge/kmrig_bridge.v $rtl/bridge/kmrig_bridge_rx.v $rtl/bridge/kmrig_bridge_exec.v \
    $rtl/bridge/kmrig_bridge_tx.v $rtl/bridge/kmrig_bridge_irq.v $rtl/bridge/kmrig_bridge_dma.v \
    $rtl/bridge/kmrig_bridge_ram4.v \
    $rtl/phy/kmrig_phy_uart.v $rtl/phy/kmrig_phy_rst_sync.v \
    $root/gateware/common/kmrig_board_core.v $gen/kmrig_board_soc.v \
    $root/gateware/arty-a7/arty_top.v]
read_xdc $root/gateware/arty-a7/arty.xdc

# the board's map and ROM first, then the protocol constants and the CRC helpers
set incs [list $gen $rtl/gen $rtl/bridge]
synth_design -top arty_top -include_dirs $incs -flatten_hierarchy rebuilt
opt_design
place_design
route_design

report_utilization    -file $out/kmrig_arty-utilisation.txt
report_timing_summary -file $out/kmrig_arty-timing.txt -max_paths 10
report_clock_interaction -file $out/kmrig_arty-clocks.txt

set wns [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -setup]]
if {$wns < 0} {
    error "timing not met: worst setup slack $wns ns (see $out/kmrig_arty-timing.txt)"
}
write_bitstream -force $out/kmrig_arty.bit
puts "kmrig: wrote $out/kmrig_arty.bit (worst setup slack $wns ns)"
