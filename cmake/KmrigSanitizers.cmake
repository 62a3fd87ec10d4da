# KMRIG_SANITIZE applies to the runtime, bridge and tests. Verilated models are built without
# sanitizers (they are plain generated C++ driven under the link lock) so that one model build
# serves every preset.
set(KMRIG_SANITIZE_FLAGS "")
if(KMRIG_SANITIZE)
    foreach(s IN LISTS KMRIG_SANITIZE)
        list(APPEND KMRIG_SANITIZE_FLAGS -fsanitize=${s})
    endforeach()
    list(APPEND KMRIG_SANITIZE_FLAGS -fno-omit-frame-pointer)
    if("undefined" IN_LIST KMRIG_SANITIZE)
        list(APPEND KMRIG_SANITIZE_FLAGS -fno-sanitize-recover=undefined)
    endif()
    add_compile_options(${KMRIG_SANITIZE_FLAGS})
    add_link_options(${KMRIG_SANITIZE_FLAGS})
endif()
