# ElastosVmCapsule.cmake - build native vm capsules (docs/vm.md): a static x86-64 binary (C with
# musl-gcc, else gcc -static, with the guest SDK compiled in; Rust with Debian's cargo and
# +crt-static), turned into an initramfs by `elastos build-rootfs`, then packed and signed.
#
#   elastos_add_vm_capsule(NAME name DIR srcdir SOURCES a.c ... [KEY keyfile] [OUTPUT file])
#   elastos_add_rust_vm_capsule(NAME name DIR cargo-package-dir [KEY keyfile] [OUTPUT file])
#
# DIR/capsule.json (type vm, entry rootfs.cpio) replaces the manifest build-rootfs writes.
include_guard(GLOBAL)

find_program(ELASTOS_VM_CC NAMES musl-gcc)
if(NOT ELASTOS_VM_CC)
  set(ELASTOS_VM_CC ${CMAKE_C_COMPILER})
endif()
set(ELASTOS_VM_GUEST_DIR ${CMAKE_CURRENT_LIST_DIR} CACHE INTERNAL "")

function(elastos_add_vm_capsule)
  cmake_parse_arguments(C "" "NAME;DIR;KEY;OUTPUT" "SOURCES" ${ARGN})
  if(NOT C_KEY)
    set(C_KEY ${CMAKE_BINARY_DIR}/keys/publisher.key)
  endif()
  if(NOT C_OUTPUT)
    set(C_OUTPUT ${CMAKE_BINARY_DIR}/capsules/${C_NAME}.capsule)
  endif()
  set(srcs)
  foreach(s ${C_SOURCES})
    list(APPEND srcs ${C_DIR}/${s})
  endforeach()
  file(GLOB sdk CONFIGURE_DEPENDS ${ELASTOS_VM_GUEST_DIR}/src/*.c)
  file(GLOB deps CONFIGURE_DEPENDS ${ELASTOS_VM_GUEST_DIR}/src/* ${ELASTOS_VM_GUEST_DIR}/include/elastos/*.h ${C_DIR}/*)
  set(stage ${CMAKE_BINARY_DIR}/capsules/${C_NAME}.stage)
  set(bin ${CMAKE_BINARY_DIR}/capsules/${C_NAME}.bin)
  add_custom_command(OUTPUT ${C_OUTPUT}
    COMMAND ${ELASTOS_VM_CC} -static -Os -std=c17 -Wall -Wextra -Werror -I${ELASTOS_VM_GUEST_DIR}/include
            ${srcs} ${sdk} -o ${bin}
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${stage}
    COMMAND $<TARGET_FILE:elastos-cli> build-rootfs ${bin} --name ${C_NAME} -o ${stage}
    COMMAND ${CMAKE_COMMAND} -E copy ${C_DIR}/capsule.json ${stage}/capsule.json
    COMMAND $<TARGET_FILE:elastos-cli> pack ${stage} --key ${C_KEY} -o ${C_OUTPUT}
    DEPENDS ${deps} ${C_KEY} elastos-cli elastos-vm-init ${CMAKE_BINARY_DIR}/bin/elastos-vm-init elastos-dev-key
    VERBATIM)
  add_custom_target(capsule-${C_NAME} ALL DEPENDS ${C_OUTPUT})
endfunction()

function(elastos_add_rust_vm_capsule)
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
            sh ${CMAKE_SOURCE_DIR}/guest/rust/build-vm-capsule.sh ${C_DIR} ${C_OUTPUT} ${C_KEY}
    DEPENDS ${rs} ${C_DIR}/Cargo.toml ${C_DIR}/capsule.json ${C_KEY} elastos-cli elastos-vm-init ${CMAKE_BINARY_DIR}/bin/elastos-vm-init elastos-dev-key
    VERBATIM)
  add_custom_target(capsule-${C_NAME} ALL DEPENDS ${C_OUTPUT})
endfunction()
