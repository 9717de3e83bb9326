# ElastosGoCapsule.cmake - Go capsules with the Go guest SDK (guest/go), built by
# guest/go/build-capsule.sh (wasm: GOOS=wasip1 GOARCH=wasm; vm: CGO_ENABLED=0 GOOS=linux, made
# into a vm capsule by `elastos build-rootfs`), offline, and packed with the build's key.
#
#   elastos_add_go_capsule(NAME name DIR go-package-dir [MANIFEST capsule.json] [KEY keyfile]
#                          [OUTPUT file])
# MANIFEST (default DIR/capsule.json) picks wasm or vm, so one source can make both.
# The output's stage directory stays next to it as <output without .capsule>.stage.
find_program(ELASTOS_GO go HINTS /usr/local/go/bin)
if(NOT ELASTOS_GO)
  message(FATAL_ERROR "Go 1.21 or later is required for the Go capsules (go on PATH or in /usr/local/go)")
endif()

function(elastos_add_go_capsule)
  cmake_parse_arguments(C "" "NAME;DIR;MANIFEST;KEY;OUTPUT" "" ${ARGN})
  if(NOT C_MANIFEST)
    set(C_MANIFEST ${C_DIR}/capsule.json)
  endif()
  if(NOT C_KEY)
    set(C_KEY ${CMAKE_BINARY_DIR}/keys/publisher.key)
  endif()
  if(NOT C_OUTPUT)
    set(C_OUTPUT ${CMAKE_BINARY_DIR}/capsules/${C_NAME}.capsule)
  endif()
  file(GLOB go CONFIGURE_DEPENDS ${C_DIR}/*.go ${C_DIR}/go.mod ${CMAKE_SOURCE_DIR}/guest/go/*.go
       ${CMAKE_SOURCE_DIR}/guest/go/go.mod)
  add_custom_command(OUTPUT ${C_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -E env ELASTOS=$<TARGET_FILE:elastos-cli> GO=${ELASTOS_GO}
            GOCACHE=$ENV{HOME}/.cache/elastos/go-build
            sh ${CMAKE_SOURCE_DIR}/guest/go/build-capsule.sh ${C_DIR} ${C_OUTPUT} ${C_KEY} ${C_MANIFEST}
    DEPENDS ${go} ${C_MANIFEST} ${CMAKE_SOURCE_DIR}/guest/go/build-capsule.sh ${C_KEY} elastos-cli
            elastos-vm-init ${CMAKE_BINARY_DIR}/bin/elastos-vm-init elastos-dev-key
    VERBATIM)
  add_custom_target(capsule-${C_NAME} ALL DEPENDS ${C_OUTPUT})
endfunction()
