# ElastosGuestConfig.cmake - find_package(ElastosGuest) for capsule projects built with the
# installed C guest SDK (wasm32-wasi): the imported target ElastosGuest::sdk (headers and
# libelastos-guest.a) and ELASTOS_GUEST_INCLUDE_DIR / ELASTOS_GUEST_LIBRARY. Build a module with
# clang-14 --target=wasm32-wasi, then `elastos pack DIR --key KEY`.
get_filename_component(_eg_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(ELASTOS_GUEST_INCLUDE_DIR "${_eg_prefix}/share/elastos/wasm32-wasi/include")
set(ELASTOS_GUEST_LIBRARY "${_eg_prefix}/share/elastos/wasm32-wasi/lib/libelastos-guest.a")
if(NOT TARGET ElastosGuest::sdk)
  add_library(ElastosGuest::sdk STATIC IMPORTED)
  set_target_properties(ElastosGuest::sdk PROPERTIES
    IMPORTED_LOCATION "${ELASTOS_GUEST_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${ELASTOS_GUEST_INCLUDE_DIR}")
endif()
find_program(ELASTOS_EXECUTABLE elastos HINTS "${_eg_prefix}/bin")
set(ElastosGuest_FOUND TRUE)
