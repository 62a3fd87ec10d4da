# KmrigSim.cmake - Verilator models of SoC tops with kmrig's simulation harness
# (bridge/sim/kmrig_simsoc.cpp, C API in kmrig/simsoc.h and kmrig/sim_model.h). docs/rtl.md,
# "Models" and docs/own-rtl.md.
#
# kmrig_add_sim_model(NAME <target> TOP <module> SOURCES <file.v>...
#                     [MODEL <name>] [C_PREFIX <prefix>] [PREFIX <class>] [MAP_DIR <dir>]
#                     [INCLUDE_DIRS <dir>...] [VERILATOR_ARGS <arg>...] [NO_TRACE])
#
#   Creates the static library <target>: the top verilated (class <PREFIX>, default V<TOP>),
#   the harness compiled for it with its C functions renamed to <C_PREFIX>_* (default <target>),
#   and the model's table (kmrig/sim_model.h), registered under MODEL (default <TOP>) when a
#   program that links the library starts. MAP_DIR holds the SoC's kmrig_soc_map.h as
#   rtl/gen_soc.py writes it (default: the reference SoC's, bridge/sim/gen). The top must follow
#   the port contract of rtl/kmrig_soc.v (docs/rtl.md, "Simulation ports"). FST tracing is
#   compiled in unless NO_TRACE; it costs nothing until a model is opened with waves_path set.
#   The Verilator runtime is not in the library: it is in kmrig_simcore (with the kmrig_simsoc_*
#   dispatchers and the registry), which the library links, so a program links any number of
#   models and one runtime.
#
# kmrig_add_user_soc(NAME <name> TOP <module> RTL <file.v>... HARDWARE_ID <id>
#                    WINDOW mem|io SIZE <bytes> IRQ <line> [DMA] [NEXT_EVENT]
#                    [INSTANCE <name>] [BASE <addr>] [VENDOR <id16>] [DEVICE <id16>] [SOC_ID <id32>]
#                    [SOC_VERSION <v32>] [REGISTERS <block.json>] [INCLUDE_DIRS <dir>...]
#                    [JSON <soc.json>])
#
#   Builds the sim model <name> of a SoC made of the bridge core (enumeration ROM, sysid,
#   interrupt controller, the DMA port) and the user's peripheral TOP: a Wishbone B4 classic
#   slave with a level interrupt, optionally a DMA master (DMA) and the skip ports (NEXT_EVENT).
#   It writes <name>.json (extending rtl/soc.json), runs rtl/gen_soc.py on it at configure time
#   (the SoC top <name>_soc.v, its ROM with the peripheral's entry, the C map <name>_map.h) and
#   calls kmrig_add_sim_model. Link the library with kmrig::sim and open the target
#   "sim:model=<name>". JSON <file> gives a whole SoC description instead of the keywords
#   (several peripherals). Sets <name>_SOC_TOP, <name>_SOC_SOURCES and <name>_SOC_INCLUDE_DIRS
#   in the caller's scope: the same top for a board flow (with SIM_SKIP = 0) or a lint.
#   docs/own-rtl.md is the guide.
#
# Models are built as plain C++: the sanitizer flags that cmake/KmrigSanitizers.cmake adds with
# add_compile_options are removed, and -fshort-wchar never reaches them (the harness
# static_asserts a 4-byte wchar_t). Programs that link them still link with the sanitizer
# runtime, so a sanitized test may use them.
#
# One build of the models for every configuration: with KMRIG_MODELS_DIR set (the presets set
# it to build/models), this tree builds no model itself. It configures that directory as a
# models-only tree of the same sources (KMRIG_MODELS_ONLY=ON, RelWithDebInfo), imports the
# libraries it exports, and builds it (a no-op when up to date; RTL changes rebuild it there)
# before anything links a model. kmrig_add_sim_model and kmrig_add_user_soc then do nothing for
# a model that was imported.
include_guard(GLOBAL)

# Where the harness, the RTL and the headers are: next to this file in the source tree, or where
# the installed package put them (kmrigConfig.cmake sets the global property KMRIG_SIM_DATA_DIR).
# A macro, called at the start of each function, so that every directory sees the same paths.
macro(_kmrig_sim_dirs)
    get_property(_kmrig_data GLOBAL PROPERTY KMRIG_SIM_DATA_DIR)
    if(_kmrig_data)
        set(KMRIG_SIM_HARNESS_DIR ${_kmrig_data}/sim)
        set(KMRIG_SIM_RTL_DIR ${_kmrig_data}/rtl)
        get_property(KMRIG_SIM_INCLUDE_DIR GLOBAL PROPERTY KMRIG_SIM_INCLUDE_DIR)
    else()
        get_filename_component(KMRIG_SIM_HARNESS_DIR
            ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../bridge/sim ABSOLUTE)
        get_filename_component(KMRIG_SIM_RTL_DIR ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../rtl ABSOLUTE)
        set(KMRIG_SIM_INCLUDE_DIR ${KMRIG_SIM_HARNESS_DIR}/include)
    endif()
endmacro()

# Removes the global sanitizer flags and -fshort-wchar from a model target.
function(_kmrig_sim_plain_cxx target)
    get_target_property(opts ${target} COMPILE_OPTIONS)
    if(opts)
        list(REMOVE_ITEM opts ${KMRIG_SANITIZE_FLAGS} -fshort-wchar)
        set_property(TARGET ${target} PROPERTY COMPILE_OPTIONS "${opts}")
    endif()
    set_property(TARGET ${target} PROPERTY POSITION_INDEPENDENT_CODE ON)
endfunction()

# kmrig_simcore: the Verilator runtime, the kmrig_simsoc_* dispatchers and the model registry,
# once per program.
function(_kmrig_sim_core)
    _kmrig_sim_dirs()
    if(TARGET kmrig_simcore OR TARGET kmrig::kmrig_simcore)
        return() # built here, or the installed package's
    endif()
    if(NOT verilator_FOUND)
        find_package(verilator HINTS $ENV{VERILATOR_ROOT} /usr/share/verilator REQUIRED)
    endif()
    find_package(Threads REQUIRED)
    _kmrig_sim_check_dispatch()
    set(vinc ${VERILATOR_ROOT}/include)
    add_library(kmrig_simcore STATIC ${KMRIG_SIM_HARNESS_DIR}/simsoc_api.c
        ${vinc}/verilated.cpp ${vinc}/verilated_threads.cpp ${vinc}/verilated_fst_c.cpp)
    target_include_directories(kmrig_simcore PUBLIC
        $<BUILD_INTERFACE:${KMRIG_SIM_INCLUDE_DIR}>
        $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/kmrig>
        PRIVATE ${vinc} ${vinc}/vltstd)
    # The runtime as verilate() would compile it for a model with FST tracing (its code does not
    # depend on VM_TRACE; models with and without tracing share it).
    target_compile_definitions(kmrig_simcore PRIVATE VM_COVERAGE=0 VM_SC=0 VM_TRACE=1
        VM_TRACE_FST=1 VM_TRACE_VCD=0)
    target_compile_options(kmrig_simcore PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${VERILATOR_CFLAGS}>)
    target_compile_features(kmrig_simcore PRIVATE cxx_std_11)
    target_link_libraries(kmrig_simcore PUBLIC z Threads::Threads ${VERILATOR_MT_CFLAGS})
    _kmrig_sim_plain_cxx(kmrig_simcore)
    set_property(GLOBAL APPEND PROPERTY KMRIG_SIM_MODEL_TARGETS kmrig_simcore)
endfunction()

# Every function of kmrig/simsoc.h needs a dispatcher in simsoc_api.c (and so a hook in
# kmrig/sim_model.h and its line in sim_model.c): without one, a program that calls it would not
# link once a model is renamed. Say so at configure time, naming the function.
function(_kmrig_sim_check_dispatch)
    set(h ${KMRIG_SIM_INCLUDE_DIR}/kmrig/simsoc.h)
    set(api ${KMRIG_SIM_HARNESS_DIR}/simsoc_api.c)
    set(table ${KMRIG_SIM_HARNESS_DIR}/sim_model.c)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${h} ${api} ${table})
    file(READ ${h} htext)
    file(READ ${api} atext)
    file(READ ${table} ttext)
    string(REGEX MATCHALL "\n[a-z_ ]+[ *]kmrig_simsoc_[a-z0-9_]+\\(" decls "${htext}")
    foreach(d IN LISTS decls)
        string(REGEX REPLACE ".*(kmrig_simsoc_[a-z0-9_]+)\\($" "\\1" fn "${d}")
        if(NOT atext MATCHES "[ *]${fn}\\(" OR (NOT fn MATCHES "_(create|open|strerror)$"
                AND NOT ttext MATCHES "= ${fn},"))
            message(SEND_ERROR "kmrig/simsoc.h declares ${fn}, which has no dispatcher in "
                "bridge/sim/simsoc_api.c or no entry in bridge/sim/sim_model.c: add its hook to "
                "struct kmrig_sim_model_ops (kmrig/sim_model.h), its line in the table "
                "(sim_model.c) and the dispatcher (simsoc_api.c)")
        endif()
    endforeach()
endfunction()

# True in `out` when `target` exists as an imported target (a model from KMRIG_MODELS_DIR).
function(_kmrig_sim_imported target out)
    set(${out} FALSE PARENT_SCOPE)
    if(TARGET ${target})
        get_target_property(imp ${target} IMPORTED)
        if(imp)
            set(${out} TRUE PARENT_SCOPE)
        endif()
    endif()
endfunction()

# Writes the header that renames the harness's C functions to <prefix>_*: every function that
# kmrig/simsoc.h declares (so a function added there is renamed without a change here).
function(_kmrig_sim_rename_header path prefix)
    _kmrig_sim_dirs()
    set(h ${KMRIG_SIM_INCLUDE_DIR}/kmrig/simsoc.h)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${h})
    file(READ ${h} text)
    string(REGEX MATCHALL "kmrig_simsoc_[a-z0-9_]+\\(" calls "${text}")
    list(REMOVE_DUPLICATES calls)
    set(body "/* generated by cmake/KmrigSim.cmake for the model with C prefix ${prefix} */\n")
    string(APPEND body "#define KMRIG_SIM_MODEL_TABLE ${prefix}_model\n")
    string(APPEND body "#ifdef __cplusplus\n#define kmrig_simsoc ${prefix}\n#else\n")
    string(APPEND body "#define kmrig_simsoc kmrig_sim_impl\n#endif\n")
    foreach(c IN LISTS calls)
        string(REGEX REPLACE "^kmrig_simsoc_([a-z0-9_]+)\\($" "\\1" fn "${c}")
        string(APPEND body "#define kmrig_simsoc_${fn} ${prefix}_${fn}\n")
    endforeach()
    file(CONFIGURE OUTPUT ${path} CONTENT "${body}" @ONLY)
endfunction()

function(kmrig_add_sim_model)
    _kmrig_sim_dirs()
    cmake_parse_arguments(S "NO_TRACE" "NAME;TOP;PREFIX;C_PREFIX;MODEL;MAP_DIR"
                          "SOURCES;INCLUDE_DIRS;VERILATOR_ARGS" ${ARGN})
    if(NOT S_NAME OR NOT S_TOP OR NOT S_SOURCES)
        message(FATAL_ERROR "kmrig_add_sim_model: NAME, TOP and SOURCES are required")
    endif()
    _kmrig_sim_imported(${S_NAME} imported)
    if(imported)
        return() # built once, in KMRIG_MODELS_DIR
    endif()
    if(NOT S_PREFIX)
        set(S_PREFIX V${S_TOP})
    endif()
    if(NOT S_C_PREFIX)
        set(S_C_PREFIX ${S_NAME})
    endif()
    if(NOT S_MODEL)
        set(S_MODEL ${S_TOP})
    endif()
    if(NOT S_MAP_DIR)
        set(S_MAP_DIR ${KMRIG_SIM_HARNESS_DIR}/gen)
    endif()
    if(NOT S_C_PREFIX MATCHES "^[A-Za-z_][A-Za-z0-9_]*$" OR S_C_PREFIX STREQUAL "kmrig_simsoc")
        message(FATAL_ERROR "kmrig_add_sim_model(${S_NAME}): C_PREFIX '${S_C_PREFIX}' must be a C "
                            "identifier other than kmrig_simsoc")
    endif()
    set(trace TRACE_FST)
    if(S_NO_TRACE)
        set(trace "")
    endif()
    _kmrig_sim_core()
    if(NOT COMMAND verilate)
        find_package(verilator HINTS $ENV{VERILATOR_ROOT} /usr/share/verilator REQUIRED)
    endif()

    set(rename ${CMAKE_CURRENT_BINARY_DIR}/${S_NAME}_sim/kmrig_sim_rename.h)
    _kmrig_sim_rename_header(${rename} ${S_C_PREFIX})
    add_library(${S_NAME} STATIC ${KMRIG_SIM_HARNESS_DIR}/kmrig_simsoc.cpp
        ${KMRIG_SIM_HARNESS_DIR}/sim_model.c)
    target_include_directories(${S_NAME} BEFORE PRIVATE ${S_MAP_DIR})
    target_include_directories(${S_NAME} PUBLIC $<BUILD_INTERFACE:${KMRIG_SIM_INCLUDE_DIR}>)
    target_compile_options(${S_NAME} PRIVATE "SHELL:-include ${rename}")
    target_compile_definitions(${S_NAME} PRIVATE
        KMRIG_SIM_TOP_CLASS=${S_PREFIX} KMRIG_SIM_TOP_HEADER="${S_PREFIX}.h"
        KMRIG_SIM_MODEL_NAME="${S_MODEL}" KMRIG_SIM_MODEL_TOP="${S_TOP}"
        KMRIG_SIM_MODEL_PREFIX="${S_C_PREFIX}")
    # Single-threaded model; X handling tuned for speed (reset initialises every register).
    verilate(${S_NAME} ${trace}
        SOURCES ${S_SOURCES}
        TOP_MODULE ${S_TOP}
        PREFIX ${S_PREFIX}
        INCLUDE_DIRS ${S_INCLUDE_DIRS}
        VERILATOR_ARGS --x-assign fast --x-initial fast -Wno-fatal ${S_VERILATOR_ARGS})
    # verilate() adds the Verilator runtime to every model; it is in kmrig_simcore instead.
    get_target_property(srcs ${S_NAME} SOURCES)
    list(FILTER srcs EXCLUDE REGEX "/include/verilated[a-z_]*\\.cpp$")
    set_property(TARGET ${S_NAME} PROPERTY SOURCES ${srcs})
    # ... and makes the Verilated headers public; only the harness includes them.
    get_target_property(incs ${S_NAME} INTERFACE_INCLUDE_DIRECTORIES)
    list(FILTER incs INCLUDE REGEX "^\\$<")
    set_property(TARGET ${S_NAME} PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${incs}")
    if(TARGET kmrig_simcore)
        target_link_libraries(${S_NAME} PUBLIC kmrig_simcore)
    else()
        target_link_libraries(${S_NAME} PUBLIC kmrig::kmrig_simcore) # the installed package's
    endif()
    # Nothing refers to the table: name it, so that the linker takes it (and its registration)
    # from the archive in every program that links the model.
    target_link_options(${S_NAME} INTERFACE "LINKER:--undefined=${S_C_PREFIX}_model")
    _kmrig_sim_plain_cxx(${S_NAME})
    set_property(GLOBAL APPEND PROPERTY KMRIG_SIM_MODEL_TARGETS ${S_NAME})
endfunction()

function(kmrig_add_user_soc)
    _kmrig_sim_dirs()
    cmake_parse_arguments(U "DMA;NEXT_EVENT"
        "NAME;TOP;INSTANCE;HARDWARE_ID;WINDOW;SIZE;IRQ;BASE;VENDOR;DEVICE;SOC_ID;SOC_VERSION;REGISTERS;JSON"
        "RTL;INCLUDE_DIRS" ${ARGN})
    if(NOT U_NAME OR NOT U_RTL)
        message(FATAL_ERROR "kmrig_add_user_soc: NAME and RTL are required")
    endif()
    if(NOT U_NAME MATCHES "^[a-z][a-z0-9_]*$")
        message(FATAL_ERROR "kmrig_add_user_soc: NAME '${U_NAME}' must be a lower-case C "
                            "identifier (it names the model, its C prefix and its top)")
    endif()
    set(gen ${CMAKE_CURRENT_BINARY_DIR}/${U_NAME}_gen)
    set(core_rtl kmrig_wb_interconnect.v kmrig_enum_rom.v kmrig_sysid.v kmrig_intc.v)
    list(TRANSFORM core_rtl PREPEND ${KMRIG_SIM_RTL_DIR}/)
    _kmrig_sim_imported(${U_NAME} imported)
    if(imported) # generated in the models tree, at the same place
        file(RELATIVE_PATH rel ${CMAKE_BINARY_DIR} ${CMAKE_CURRENT_BINARY_DIR})
        set(gen ${KMRIG_MODELS_DIR}/${rel}/${U_NAME}_gen)
    endif()
    # For a board build of the same top (yosys, a vendor flow) and for lint.
    set(${U_NAME}_SOC_TOP ${U_NAME}_soc PARENT_SCOPE)
    set(${U_NAME}_SOC_SOURCES ${gen}/${U_NAME}_soc.v ${core_rtl} ${U_RTL} PARENT_SCOPE)
    set(${U_NAME}_SOC_INCLUDE_DIRS ${gen} ${U_INCLUDE_DIRS} PARENT_SCOPE)
    if(imported)
        return()
    endif()
    if(U_JSON)
        get_filename_component(json ${U_JSON} ABSOLUTE)
    else()
        foreach(req TOP HARDWARE_ID WINDOW SIZE)
            if(NOT DEFINED U_${req})
                message(FATAL_ERROR "kmrig_add_user_soc(${U_NAME}): ${req} is required (or JSON)")
            endif()
        endforeach()
        if(NOT U_WINDOW MATCHES "^(mem|io)$")
            message(FATAL_ERROR "kmrig_add_user_soc(${U_NAME}): WINDOW must be mem or io")
        endif()
        if(NOT DEFINED U_IRQ)
            set(U_IRQ 0)
        endif()
        if(NOT DEFINED U_INSTANCE)
            set(U_INSTANCE dev0)
        endif()
        if(NOT DEFINED U_BASE)
            if(U_WINDOW STREQUAL "io")
                set(U_BASE 0x300)
            else()
                set(U_BASE 0x10000)
            endif()
        endif()
        foreach(kv "VENDOR;0x4B4D" "DEVICE;0x0100" "SOC_ID;0x4B4D5553" "SOC_VERSION;0x00010000")
            list(GET kv 0 k)
            list(GET kv 1 v)
            if(NOT DEFINED U_${k})
                set(U_${k} ${v})
            endif()
        endforeach()
        set(dma false)
        if(U_DMA)
            set(dma true)
        endif()
        set(next false)
        if(U_NEXT_EVENT)
            set(next true)
        endif()
        string(REPLACE "\\" "\\\\" hwid "${U_HARDWARE_ID}")
        set(block "")
        if(U_REGISTERS)
            get_filename_component(regs ${U_REGISTERS} ABSOLUTE)
            set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${regs})
            set(block ", \"registers_file\": \"${regs}\"")
        endif()
        set(json ${gen}/${U_NAME}.json)
        file(CONFIGURE OUTPUT ${json} CONTENT "{
  \"comment\": \"written by kmrig_add_user_soc (cmake/KmrigSim.cmake)\",
  \"extends\": \"soc.json\",
  \"soc\": {\"name\": \"${U_NAME}\", \"id\": \"${U_SOC_ID}\", \"version\": \"${U_SOC_VERSION}\"},
  \"peripherals\": [
    {\"name\": \"${U_INSTANCE}\", \"block\": \"${U_TOP}\", \"module\": \"${U_TOP}\", \"hwid\": \"${hwid}\",
     \"vendor\": \"${U_VENDOR}\", \"device\": \"${U_DEVICE}\", \"space\": \"${U_WINDOW}\",
     \"base\": \"${U_BASE}\", \"size\": \"${U_SIZE}\", \"irq\": ${U_IRQ}, \"dma\": ${dma},
     \"core\": false, \"next_event\": ${next}${block}}
  ]
}
" @ONLY)
    endif()

    find_package(Python3 COMPONENTS Interpreter REQUIRED)
    set(gen_py ${KMRIG_SIM_RTL_DIR}/gen_soc.py)
    execute_process(COMMAND ${Python3_EXECUTABLE} ${gen_py} --user ${json} --out ${gen}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(rc)
        message(FATAL_ERROR "kmrig_add_user_soc(${U_NAME}): rtl/gen_soc.py failed:\n${out}")
    endif()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
        ${json} ${gen_py} ${KMRIG_SIM_RTL_DIR}/soc.json)
    if(NOT EXISTS ${gen}/${U_NAME}_soc.v)
        message(FATAL_ERROR "kmrig_add_user_soc(${U_NAME}): the SoC in ${json} is not named "
                            "${U_NAME} (its \"soc\": {\"name\": ...} must be NAME)")
    endif()
    kmrig_add_sim_model(NAME ${U_NAME}
        TOP ${U_NAME}_soc
        MODEL ${U_NAME}
        C_PREFIX ${U_NAME}
        PREFIX V${U_NAME}_soc
        MAP_DIR ${gen}/harness
        SOURCES ${gen}/${U_NAME}_soc.v ${core_rtl} ${U_RTL}
        INCLUDE_DIRS ${gen} ${U_INCLUDE_DIRS})
    target_include_directories(${U_NAME} PUBLIC $<BUILD_INTERFACE:${gen}/include>)
endfunction()

# Models-only tree (KMRIG_MODELS_ONLY): writes kmrig-models.cmake, which importing trees include.
function(kmrig_export_models)
    get_property(targets GLOBAL PROPERTY KMRIG_SIM_MODEL_TARGETS)
    export(TARGETS ${targets} FILE ${CMAKE_BINARY_DIR}/kmrig-models.cmake)
endfunction()

# Install rules of the tree that builds the models: kmrig_simcore and the reference model (the
# example user SoCs are not installed) in the export set kmrigSimTargets, as kmrig::kmrig_simcore
# and kmrig::kmrig_simsoc; kmrigConfig.cmake includes it.
function(kmrig_install_models)
    include(GNUInstallDirs)
    install(TARGETS kmrig_simcore kmrig_simsoc EXPORT kmrigSimTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
    install(EXPORT kmrigSimTargets NAMESPACE kmrig::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kmrig)
endfunction()

# Importing tree (KMRIG_MODELS_DIR set): configures the models tree if needed, imports its
# libraries and builds it before anything that links them.
function(kmrig_import_models dir)
    get_filename_component(dir ${dir} ABSOLUTE)
    message(STATUS "kmrig: Verilator models from ${dir} (built once for every configuration)")
    execute_process(COMMAND ${CMAKE_COMMAND} -S ${CMAKE_SOURCE_DIR} -B ${dir}
        -G ${CMAKE_GENERATOR} -DKMRIG_MODELS_ONLY=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
        -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER} -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
        RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(rc OR NOT EXISTS ${dir}/kmrig-models.cmake)
        message(FATAL_ERROR "kmrig: configuring the models tree ${dir} failed:\n${out}")
    endif()
    include(${dir}/kmrig-models.cmake)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${dir}/kmrig-models.cmake)
    get_property(targets DIRECTORY ${CMAKE_SOURCE_DIR} PROPERTY IMPORTED_TARGETS)
    set(libs "")
    foreach(t IN LISTS targets)
        get_target_property(loc ${t} IMPORTED_LOCATION_RELWITHDEBINFO)
        if(loc)
            list(APPEND libs ${loc})
            set_property(TARGET ${t} PROPERTY IMPORTED_GLOBAL TRUE)
        endif()
    endforeach()
    # Its own job count (a make jobserver does not reach a command run from a custom target).
    cmake_host_system_information(RESULT jobs QUERY NUMBER_OF_LOGICAL_CORES)
    add_custom_target(kmrig_models
        COMMAND ${CMAKE_COMMAND} -E env --unset=MAKEFLAGS --unset=MFLAGS
                ${CMAKE_COMMAND} --build ${dir} --parallel ${jobs}
        BYPRODUCTS ${libs}
        COMMENT "Building the Verilator models in ${dir}" VERBATIM)
    foreach(t IN LISTS targets)
        get_target_property(loc ${t} IMPORTED_LOCATION_RELWITHDEBINFO)
        if(loc)
            add_dependencies(${t} kmrig_models)
        endif()
    endforeach()
    # `cmake --install` of this tree installs the models tree's libraries too.
    install(CODE "execute_process(COMMAND \"${CMAKE_COMMAND}\" --install \"${dir}\"
        --prefix \"\${CMAKE_INSTALL_PREFIX}\" RESULT_VARIABLE rc)
    if(rc)
        message(FATAL_ERROR \"installing the models tree ${dir} failed\")
    endif()")
endfunction()
