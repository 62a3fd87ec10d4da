# kmrig_add_suite: builds a regression suite for `kmrig run` and ctest (docs/cli.md, "Suites").
#
#   kmrig_add_suite(NAME
#       SOURCES file.c...                 C test files: cmocka tests + KMRIG_SUITE_MAIN (kmrig/suite.h)
#       [LIBS lib...]                     drivers and whatever else the tests link
#       [RESOURCE_GROUP "fpga_boards:1"]  a board per test run from ctest's resource pool
#       [TARGET uri]                      the target ctest runs it on when no board is given
#       [LABELS label...] [TIMEOUT seconds]
#       [OUTPUT_DIRECTORY dir]            default: ${CMAKE_BINARY_DIR}/kmrig-suites
#       [INSTALL])                        install into ${CMAKE_INSTALL_LIBEXECDIR}/kmrig/suites
#
# The suite program lands in kmrig-suites/ of the build tree, where `kmrig run NAME` finds it when
# run from that directory (or with KMRIG_SUITE_PATH), and is registered with ctest as one test
# NAME that runs every test of the suite, each in its own process (exit 77 = every test skipped);
# call enable_testing() (or include(CTest)) before, as for any add_test.
# With RESOURCE_GROUP, `ctest --resource-spec-file boards.json -j N` hands each run a board
# (CTEST_RESOURCE_GROUP_*; the suite maps the board's id to a URI through KMRIG_BOARD_<ID>).
include_guard(GLOBAL)
include(GNUInstallDirs)

function(kmrig_add_suite name)
    cmake_parse_arguments(S "INSTALL" "RESOURCE_GROUP;TARGET;TIMEOUT;OUTPUT_DIRECTORY"
        "SOURCES;LIBS;LABELS" ${ARGN})
    if(NOT S_SOURCES)
        message(FATAL_ERROR "kmrig_add_suite(${name}): SOURCES is required")
    endif()
    if(NOT S_OUTPUT_DIRECTORY)
        set(S_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/kmrig-suites)
    endif()
    if(NOT S_TIMEOUT)
        set(S_TIMEOUT 900)
    endif()
    add_executable(${name} ${S_SOURCES})
    target_link_libraries(${name} PRIVATE kmrig::suite ${S_LIBS})
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${S_OUTPUT_DIRECTORY})
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS "kmrig-suite;${S_LABELS}" TIMEOUT ${S_TIMEOUT}
        SKIP_RETURN_CODE 77)
    if(S_RESOURCE_GROUP)
        set_tests_properties(${name} PROPERTIES RESOURCE_GROUPS "${S_RESOURCE_GROUP}")
    endif()
    if(S_TARGET)
        set_tests_properties(${name} PROPERTIES ENVIRONMENT "KMRIG_DEFAULT_TARGET=${S_TARGET}")
    endif()
    if(S_INSTALL)
        install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/kmrig/suites)
    endif()
endfunction()
