//go:build wasip1

// transport_wasm.go - the wasm transport: the host import elastos.call(req, req_len, resp,
// resp_cap) -> n. A response longer than the buffer is kept by the runtime and fetched with
// call(0, 0, buf, n) (docs/protocol.md "Transport").
package elastos

import "unsafe"

//go:wasmimport elastos call
func hostCall(req unsafe.Pointer, reqLen int32, resp unsafe.Pointer, respCap int32) int32

// callBuf is the first response buffer (grown to fit a larger response once one arrives).
const callBuf = 16384

type callTransport struct {
	buf []byte
}

func defaultTransport() (transport, error) { return &callTransport{make([]byte, callBuf)}, nil }

func (t *callTransport) exchange(line []byte) ([]byte, *xferError) {
	req := line[:len(line)-1] // no '\n' on this transport; both lengths are far inside int32
	n := hostCall(unsafe.Pointer(&req[0]), int32(len(req)), unsafe.Pointer(&t.buf[0]), int32(len(t.buf)))
	if n < 0 {
		return nil, &xferError{msg: "elastos.call failed", broken: true}
	}
	if int(n) > len(t.buf) {
		if int(n) > MaxMessage {
			return nil, &xferError{protocol: true, msg: "response exceeds the 1 MiB message limit"}
		}
		big := make([]byte, n)
		if m := hostCall(nil, 0, unsafe.Pointer(&big[0]), n); m != n {
			return nil, &xferError{protocol: true, msg: "fetching the kept response failed"}
		}
		t.buf = big
	}
	return t.buf[:n], nil
}
