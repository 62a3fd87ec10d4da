# The reference SoC's RTL, for bridge/sim (the Verilator model) and tests/bridge (lint, synth).
set(KMRIG_SOC_RTL_DIR ${CMAKE_CURRENT_LIST_DIR})
set(KMRIG_SOC_RTL_TOP kmrig_soc)
set(KMRIG_SOC_RTL_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/kmrig_soc.v
    ${CMAKE_CURRENT_LIST_DIR}/kmrig_wb_interconnect.v
    ${CMAKE_CURRENT_LIST_DIR}/kmrig_enum_rom.v
    ${CMAKE_CURRENT_LIST_DIR}/kmrig_sysid.v
    ${CMAKE_CURRENT_LIST_DIR}/kmrig_timer.v
    ${CMAKE_CURRENT_LIST_DIR}/kmrig_intc.v
    ${CMAKE_CURRENT_LIST_DIR}/kmrig_uart16550.v
    ${CMAKE_CURRENT_LIST_DIR}/kmrig_dma.v
    ${CMAKE_CURRENT_LIST_DIR}/kmrig_sysdma.v
    ${CMAKE_CURRENT_LIST_DIR}/kmrig_dma_arbiter.v)
set(KMRIG_SOC_RTL_INCLUDE_DIRS ${CMAKE_CURRENT_LIST_DIR}/gen)
set(KMRIG_SOC_RTL_GENERATED
    ${CMAKE_CURRENT_LIST_DIR}/gen/kmrig_soc_map.vh
    ${CMAKE_CURRENT_LIST_DIR}/gen/kmrig_soc_rom.vh)
# The bridge frame engine and kmrig_soc_bridge, the top that puts it in front of the SoC
# (docs/rtl.md, "Bridge"); the sim model is built from this top.
set(KMRIG_SOC_BRIDGE_TOP kmrig_soc_bridge)
set(KMRIG_SOC_BRIDGE_SOURCES
    ${KMRIG_SOC_RTL_SOURCES}
    ${CMAKE_CURRENT_LIST_DIR}/bridge/kmrig_soc_bridge.v
    ${CMAKE_CURRENT_LIST_DIR}/bridge/kmrig_bridge.v
    ${CMAKE_CURRENT_LIST_DIR}/bridge/kmrig_bridge_rx.v
    ${CMAKE_CURRENT_LIST_DIR}/bridge/kmrig_bridge_exec.v
    ${CMAKE_CURRENT_LIST_DIR}/bridge/kmrig_bridge_tx.v
    ${CMAKE_CURRENT_LIST_DIR}/bridge/kmrig_bridge_irq.v
    ${CMAKE_CURRENT_LIST_DIR}/bridge/kmrig_bridge_dma.v
    ${CMAKE_CURRENT_LIST_DIR}/bridge/kmrig_bridge_ram4.v)
set(KMRIG_SOC_BRIDGE_INCLUDE_DIRS ${CMAKE_CURRENT_LIST_DIR}/gen ${CMAKE_CURRENT_LIST_DIR}/bridge)
# The PHYs (docs/rtl.md, "PHYs") and the tops that put one in front of kmrig_soc_bridge: the
# models the ftdi transport is tested against (bridge/sim/phy_model.cpp) and board builds.
set(KMRIG_PHY_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/phy/kmrig_phy_ft245.v
    ${CMAKE_CURRENT_LIST_DIR}/phy/kmrig_phy_uart.v
    ${CMAKE_CURRENT_LIST_DIR}/phy/kmrig_phy_afifo.v
    ${CMAKE_CURRENT_LIST_DIR}/phy/kmrig_phy_rst_sync.v)
set(KMRIG_SOC_FT245_SOURCES ${KMRIG_SOC_BRIDGE_SOURCES} ${KMRIG_PHY_SOURCES}
    ${CMAKE_CURRENT_LIST_DIR}/phy/kmrig_soc_phy_core.v
    ${CMAKE_CURRENT_LIST_DIR}/phy/kmrig_soc_ft245.v)
set(KMRIG_SOC_UART_SOURCES ${KMRIG_SOC_BRIDGE_SOURCES} ${KMRIG_PHY_SOURCES}
    ${CMAKE_CURRENT_LIST_DIR}/phy/kmrig_soc_phy_core.v
    ${CMAKE_CURRENT_LIST_DIR}/phy/kmrig_soc_uart.v)
