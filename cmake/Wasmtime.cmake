# Builds Wasmtime's C API (crates.io wasmtime-c-api-impl, pinned by third_party/wasmtime/Cargo.lock)
# as a static library with Cargo, into a target dir cached outside the clone, and exposes it as
# the imported target `wasmtime`. Headers come from the crate's build script (OUT_DIR/include).
set(ELASTOS_CARGO_TARGET_DIR "$ENV{HOME}/.cache/elastos/cargo-target" CACHE PATH "Cargo target dir for Wasmtime")
set(WASMTIME_STAGE "${CMAKE_BINARY_DIR}/wasmtime")
set(WASMTIME_LIB "${WASMTIME_STAGE}/lib/libelastos_wasmtime.a")

# Build at configure time, so the headers exist before any C file is compiled; Cargo is
# incremental, so a warm configure costs about a second.
execute_process(
  COMMAND bash "${CMAKE_SOURCE_DIR}/scripts/build-wasmtime.sh" "${ELASTOS_CARGO_TARGET_DIR}" "${WASMTIME_STAGE}"
  RESULT_VARIABLE wasmtime_rc)
if(NOT wasmtime_rc EQUAL 0)
  message(FATAL_ERROR "building Wasmtime's C API failed (see output above)")
endif()

add_library(wasmtime STATIC IMPORTED GLOBAL)
set_target_properties(wasmtime PROPERTIES
  IMPORTED_LOCATION "${WASMTIME_LIB}"
  INTERFACE_INCLUDE_DIRECTORIES "${WASMTIME_STAGE}/include"
  INTERFACE_LINK_LIBRARIES "Threads::Threads;dl;m")
