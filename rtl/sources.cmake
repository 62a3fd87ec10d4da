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
