# ElastosCapsule.cmake - build C capsules for wasm32-wasi with Debian's clang-14 + wasi-libc, and
# pack them into signed artifacts with the elastos tool.
#
#   elastos_guest_library()                       # builds libelastos-guest.a for wasm32-wasi
#   elastos_add_capsule(NAME name DIR srcdir SOURCES a.c b.c [KEY keyfile] [OUTPUT file])
#
# The capsule directory (srcdir) holds capsule.json; the module is built as <entry> (from the
# manifest) into a staging directory together with capsule.json, then packed to OUTPUT
# (default ${CMAKE_BINARY_DIR}/capsules/NAME.capsule) with KEY (default: the build's dev key).
# Works from any CMake project: it needs only clang-14, llvm-ar-14, wasi-libc, and elastos.
include_guard(GLOBAL)

find_program(ELASTOS_WASM_CC NAMES clang-14 REQUIRED)
find_program(ELASTOS_WASM_AR NAMES llvm-ar-14 llvm-ar REQUIRED)
set(ELASTOS_WASM_CFLAGS --target=wasm32-wasi -O2 -Wall -Wextra -Werror -std=c17 CACHE STRING "")
# --stack-first puts the 64 KiB C stack below the static data: a capsule that overruns its stack
# then traps (exit 134) at address 0 instead of silently overwriting libc's and the SDK's static
# data, which is where wasm-ld puts the stack by default (a 66 KiB frame in kv did that).
set(ELASTOS_WASM_LDFLAGS -Wl,--stack-first -Wl,--strip-debug CACHE STRING "")
set(ELASTOS_GUEST_DIR ${CMAKE_CURRENT_LIST_DIR} CACHE INTERNAL "")

function(elastos_guest_library)
  set(out ${CMAKE_BINARY_DIR}/guest/libelastos-guest.a)
  file(GLOB srcs CONFIGURE_DEPENDS ${ELASTOS_GUEST_DIR}/src/*.c)
  set(objs)
  foreach(src ${srcs})
    get_filename_component(n ${src} NAME_WE)
    set(obj ${CMAKE_BINARY_DIR}/guest/obj/${n}.o)
    add_custom_command(OUTPUT ${obj}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/guest/obj
      COMMAND ${ELASTOS_WASM_CC} ${ELASTOS_WASM_CFLAGS} -I${ELASTOS_GUEST_DIR}/include -c ${src} -o ${obj}
      DEPENDS ${src} ${ELASTOS_GUEST_DIR}/include/elastos/guest.h VERBATIM)
    list(APPEND objs ${obj})
  endforeach()
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E rm -f ${out}
    COMMAND ${ELASTOS_WASM_AR} rcs ${out} ${objs}
    DEPENDS ${objs} VERBATIM)
  add_custom_target(elastos-guest ALL DEPENDS ${out})
  # The build's development key signs the example and test capsules; never a release key.
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/keys/publisher.key
    COMMAND test -f ${CMAKE_BINARY_DIR}/keys/publisher.key || $<TARGET_FILE:elastos-cli> keygen --out ${CMAKE_BINARY_DIR}/keys
    VERBATIM)
  add_custom_target(elastos-dev-key DEPENDS ${CMAKE_BINARY_DIR}/keys/publisher.key)
  add_dependencies(elastos-dev-key elastos-cli)
  set(ELASTOS_GUEST_LIB ${out} PARENT_SCOPE)
  set_property(GLOBAL PROPERTY ELASTOS_GUEST_LIB ${out})
endfunction()

function(elastos_add_capsule)
  cmake_parse_arguments(C "" "NAME;DIR;KEY;OUTPUT" "SOURCES" ${ARGN})
  get_property(guestlib GLOBAL PROPERTY ELASTOS_GUEST_LIB)
  if(NOT C_KEY)
    set(C_KEY ${CMAKE_BINARY_DIR}/keys/publisher.key)
  endif()
  if(NOT C_OUTPUT)
    set(C_OUTPUT ${CMAKE_BINARY_DIR}/capsules/${C_NAME}.capsule)
  endif()
  file(READ ${C_DIR}/capsule.json manifest)
  string(JSON entry GET "${manifest}" entry)
  set(stage ${CMAKE_BINARY_DIR}/capsules/${C_NAME}.stage)
  set(srcs)
  foreach(s ${C_SOURCES})
    list(APPEND srcs ${C_DIR}/${s})
  endforeach()
  add_custom_command(OUTPUT ${C_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${stage}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${stage}
    COMMAND ${ELASTOS_WASM_CC} ${ELASTOS_WASM_CFLAGS} -I${ELASTOS_GUEST_DIR}/include ${srcs} ${guestlib}
            ${ELASTOS_WASM_LDFLAGS} -o ${stage}/${entry}
    COMMAND ${CMAKE_COMMAND} -E copy ${C_DIR}/capsule.json ${stage}/capsule.json
    COMMAND $<TARGET_FILE:elastos-cli> pack ${stage} --key ${C_KEY} -o ${C_OUTPUT}
    DEPENDS ${srcs} ${C_DIR}/capsule.json ${guestlib} ${C_KEY} elastos-cli elastos-guest elastos-dev-key
    VERBATIM)
  add_custom_target(capsule-${C_NAME} ALL DEPENDS ${C_OUTPUT})
endfunction()

# elastos_add_rust_capsule(NAME name DIR srcdir [KEY keyfile] [OUTPUT file]): a Rust capsule built
# by guest/rust/build-capsule.sh (Debian's cargo + rustc 1.63 for wasm32-wasi) and packed.
function(elastos_add_rust_capsule)
  cmake_parse_arguments(C "" "NAME;DIR;KEY;OUTPUT" "" ${ARGN})
  if(NOT C_KEY)
    set(C_KEY ${CMAKE_BINARY_DIR}/keys/publisher.key)
  endif()
  if(NOT C_OUTPUT)
    set(C_OUTPUT ${CMAKE_BINARY_DIR}/capsules/${C_NAME}.capsule)
  endif()
  file(GLOB_RECURSE rs CONFIGURE_DEPENDS ${C_DIR}/src/*.rs ${CMAKE_SOURCE_DIR}/guest/rust/elastos-guest/src/*.rs)
  add_custom_command(OUTPUT ${C_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -E env ELASTOS=$<TARGET_FILE:elastos-cli>
            sh ${CMAKE_SOURCE_DIR}/guest/rust/build-capsule.sh ${C_DIR} ${C_OUTPUT} ${C_KEY}
    DEPENDS ${rs} ${C_DIR}/Cargo.toml ${C_DIR}/capsule.json ${C_KEY} elastos-cli elastos-dev-key
    VERBATIM)
  add_custom_target(capsule-${C_NAME} ALL DEPENDS ${C_OUTPUT})
endfunction()

# elastos_add_data_capsule(NAME name DIR srcdir [KEY keyfile] [OUTPUT file]): a data capsule (a
# capsule.json of type data naming its entry file and viewer, plus the content) packed as it is.
function(elastos_add_data_capsule)
  cmake_parse_arguments(C "" "NAME;DIR;KEY;OUTPUT" "" ${ARGN})
  if(NOT C_KEY)
    set(C_KEY ${CMAKE_BINARY_DIR}/keys/publisher.key)
  endif()
  if(NOT C_OUTPUT)
    set(C_OUTPUT ${CMAKE_BINARY_DIR}/capsules/${C_NAME}.capsule)
  endif()
  file(GLOB_RECURSE files CONFIGURE_DEPENDS ${C_DIR}/*)
  add_custom_command(OUTPUT ${C_OUTPUT}
    COMMAND $<TARGET_FILE:elastos-cli> pack ${C_DIR} --key ${C_KEY} -o ${C_OUTPUT}
    DEPENDS ${files} ${C_KEY} elastos-cli elastos-dev-key
    VERBATIM)
  add_custom_target(capsule-${C_NAME} ALL DEPENDS ${C_OUTPUT})
endfunction()
