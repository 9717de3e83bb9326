# SystemTrust.cmake - cmake -P script: writes OUT, the system trust store (lib/trust.c), naming
# the publisher in PUB (the shipping key that signs the shipped shell capsule), mode 0644 in a
# directory of mode 0755 (the runtime ignores a store that others could write).
#   cmake -DPUB=<publisher.pub> -DOUT=<share/elastos/trust/publishers> -P SystemTrust.cmake
file(READ ${PUB} key)
string(STRIP "${key}" key)
if(NOT key MATCHES "^ed25519:[0-9a-f]+$")
  message(FATAL_ERROR "${PUB}: not a public key file")
endif()
get_filename_component(dir ${OUT} DIRECTORY)
file(MAKE_DIRECTORY ${dir})
file(CHMOD ${dir} DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
     WORLD_READ WORLD_EXECUTE)
file(WRITE ${OUT}.tmp "# elastos system trust store (read-only): the publisher of the shipped shell capsule\n${key} elastos-shell\n")
file(CHMOD ${OUT}.tmp PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(RENAME ${OUT}.tmp ${OUT})
