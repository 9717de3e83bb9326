//go:build !wasip1

// transport_native.go - the native transport (vm capsules): the inherited, bidirectional
// descriptor whose number is in ELASTOS_RUNTIME_FD, one JSON message per line. The SDK never
// closes it (the *os.File is kept for the life of the process, so no finalizer closes it).
package elastos

import (
	"os"
	"strconv"
	"syscall"
)

var runtimeFile *os.File

func defaultTransport() (transport, error) {
	s, ok := os.LookupEnv("ELASTOS_RUNTIME_FD")
	if !ok {
		return nil, transportErr("not running under elastos: ELASTOS_RUNTIME_FD is not set")
	}
	fd, err := strconv.ParseInt(s, 10, 32)
	if err != nil || fd < 0 || s == "" || s[0] == '+' || (len(s) > 1 && s[0] == '0') {
		return nil, transportErr("ELASTOS_RUNTIME_FD=%q is not a descriptor number", s)
	}
	var st syscall.Stat_t
	if syscall.Fstat(int(fd), &st) != nil {
		return nil, transportErr("ELASTOS_RUNTIME_FD=%d is not an open descriptor", fd)
	}
	runtimeFile = os.NewFile(uintptr(fd), "elastos-runtime")
	return &lineTransport{rw: runtimeFile}, nil
}
