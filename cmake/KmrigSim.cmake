# KmrigSim.cmake - build a Verilator model of an RTL top together with kmrig's simulation
# harness (bridge/sim/kmrig_simsoc.cpp, C API in kmrig/simsoc.h).
#
# kmrig_add_sim_model(NAME <target> TOP <module> SOURCES <file.v>...
#                     [PREFIX <class>] [INCLUDE_DIRS <dir>...] [VERILATOR_ARGS <arg>...]
#                     [NO_TRACE])
#
# Creates the static library <target>: the top verilated once per build (class <PREFIX>,
# default V<TOP>, so several models have distinct class names), the Verilator runtime and the
# harness. The top must follow the port contract of rtl/kmrig_soc.v (docs/rtl.md, "Simulation
# ports"). FST tracing is compiled in unless NO_TRACE; it costs nothing until a model is
# created with waves_path set.
#
# The library is built as plain C++: the sanitizer flags that cmake/KmrigSanitizers.cmake adds
# with add_compile_options are removed from its COMPILE_OPTIONS, and -fshort-wchar never
# reaches it (it does not link kmrig::driver; the harness static_asserts a 4-byte wchar_t).
# Programs that link it still link with the sanitizer runtime, so a sanitized test may use it.
#
# Limitation: the harness defines the kmrig_simsoc_* symbols and verilate() compiles the
# Verilator runtime into each library, so one program links at most one such library.
include_guard(GLOBAL)

set(KMRIG_SIM_HARNESS_DIR ${CMAKE_CURRENT_LIST_DIR}/../bridge/sim)

function(kmrig_add_sim_model)
    cmake_parse_arguments(S "NO_TRACE" "NAME;TOP;PREFIX" "SOURCES;INCLUDE_DIRS;VERILATOR_ARGS"
                          ${ARGN})
    if(NOT S_NAME OR NOT S_TOP OR NOT S_SOURCES)
        message(FATAL_ERROR "kmrig_add_sim_model: NAME, TOP and SOURCES are required")
    endif()
    if(NOT S_PREFIX)
        set(S_PREFIX V${S_TOP})
    endif()
    set(trace TRACE_FST)
    if(S_NO_TRACE)
        set(trace "")
    endif()

    add_library(${S_NAME} STATIC ${KMRIG_SIM_HARNESS_DIR}/kmrig_simsoc.cpp)
    target_include_directories(${S_NAME}
        PUBLIC ${KMRIG_SIM_HARNESS_DIR}/include ${KMRIG_SIM_HARNESS_DIR}/gen)
    target_compile_definitions(${S_NAME} PRIVATE
        KMRIG_SIM_TOP_CLASS=${S_PREFIX} KMRIG_SIM_TOP_HEADER="${S_PREFIX}.h")
    # Single-threaded model; X handling tuned for speed (reset initialises every register).
    verilate(${S_NAME} ${trace}
        SOURCES ${S_SOURCES}
        TOP_MODULE ${S_TOP}
        PREFIX ${S_PREFIX}
        INCLUDE_DIRS ${S_INCLUDE_DIRS}
        VERILATOR_ARGS --x-assign fast --x-initial fast -Wno-fatal ${S_VERILATOR_ARGS})

    get_target_property(opts ${S_NAME} COMPILE_OPTIONS)
    if(opts)
        list(REMOVE_ITEM opts ${KMRIG_SANITIZE_FLAGS} -fshort-wchar)
        set_property(TARGET ${S_NAME} PROPERTY COMPILE_OPTIONS "${opts}")
    endif()
    set_property(TARGET ${S_NAME} PROPERTY POSITION_INDEPENDENT_CODE ON)
endfunction()
