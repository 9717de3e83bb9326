// go-captest - tests/capsules/captest written with the Go guest SDK, so that the capability
// enforcement matrix (tests/cli/test_capabilities.sh, run a second time with CAPTEST set to
// this capsule) holds for Go capsules too. Same operations, same output, one line each:
// "OP: ok [detail]" or "OP: error CODE MESSAGE" (see captest.c for the list).
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	elastos "elastos-guest"
)

//go:wasmimport elastos call
func rawCall(req unsafe.Pointer, reqLen int32, resp unsafe.Pointer, respCap int32) int32

var (
	c     *elastos.RuntimeClient
	token string
)

// fail prints an operation's error the way captest.c does: the runtime's code and message, or
// the SDK's kind.
func fail(op string, err error) {
	var re *elastos.RuntimeError
	switch {
	case errors.As(err, &re):
		fmt.Printf("%s: error %s %s\n", op, re.Code, re.Message)
	case errors.Is(err, elastos.ErrInvalidArgument):
		fmt.Printf("%s: error invalid %v\n", op, err)
	case errors.Is(err, elastos.ErrProtocol):
		fmt.Printf("%s: error protocol %v\n", op, err)
	default:
		fmt.Printf("%s: error transport %v\n", op, err)
	}
}

func digit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// step runs the operation at args[0] and returns how many arguments it used (0: bad script).
func step(args []string) int {
	op, n := args[0], len(args)
	switch {
	case op == "req" && n > 2:
		var k elastos.CapabilityConstraints
		used := 3
		if n > used && digit(args[used]) {
			v, _ := strconv.Atoi(args[used])
			k.MaxUses = uint32(v)
			used++
		}
		if n > used && digit(args[used]) {
			v, _ := strconv.Atoi(args[used])
			k.ExpirySecs = uint64(v)
			used++
		}
		t, err := c.RequestCapability(args[1], args[2], k)
		if err != nil {
			fail("req", err)
		} else {
			token = t.Token
			fmt.Printf("req: ok %s\n", t.TokenID)
		}
		return used
	case op == "writebig" && n > 2:
		kib, _ := strconv.Atoi(args[2])
		report("writebig", "", c.StorageWrite(token, args[1], []byte(strings.Repeat("x", kib*1024))))
		return 3
	case op == "settoken" && n > 1:
		token = args[1]
		fmt.Println("settoken: ok")
		return 2
	case op == "envtoken":
		t, ok := os.LookupEnv("ELASTOS_OPEN_TOKEN")
		token = t
		status := "ok"
		if !ok {
			status = "error none"
		}
		fmt.Printf("envtoken: %s %s\n", status, os.Getenv("ELASTOS_OPEN_URI"))
		return 1
	case op == "printtoken":
		fmt.Printf("token: %s\n", token)
		return 1
	case op == "read" && n > 1:
		d, err := c.StorageRead(token, args[1])
		report("read", " "+string(d), err)
		return 2
	case op == "write" && n > 2:
		report("write", "", c.StorageWrite(token, args[1], []byte(args[2])))
		return 3
	case op == "list" && n > 1:
		e, err := c.StorageList(token, args[1])
		detail := ""
		for _, x := range e {
			detail += " " + x
		}
		report("list", detail, err)
		return 2
	case op == "delete" && n > 1:
		report("delete", "", c.StorageDelete(token, args[1]))
		return 2
	case op == "fetch" && n > 1:
		d, err := c.FetchContent(token, args[1])
		report("fetch", fmt.Sprintf(" %d bytes", len(d)), err)
		return 2
	case op == "call" && n > 2:
		body, err := elastos.ParseJSON([]byte(args[2]))
		var res elastos.Value
		if err == nil {
			res, err = c.ProviderCall(token, args[1], body)
		}
		report("call", " "+res.String(), err)
		return 3
	case op == "send" && n > 2:
		report("send", "", c.SendMessage(token, args[1], []byte(args[2]), ""))
		return 3
	case op == "forge" && n > 1 && token != "":
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		accepted := 0
		for k := 0; k < len(token); k++ {
			pos := strings.IndexByte(alphabet, token[k])
			if pos < 0 {
				pos = 0
			}
			f := token[:k] + string(alphabet[(pos+1)%64]) + token[k+1:]
			if _, err := c.StorageRead(f, args[1]); err == nil {
				accepted++
			}
		}
		fmt.Printf("forge: ok %d of %d accepted\n", accepted, len(token))
		return 2
	case op == "repeat" && n > 3 && args[2] == "read":
		times, _ := strconv.Atoi(args[1])
		okc := 0
		for k := 0; k < times; k++ {
			if _, err := c.StorageRead(token, args[3]); err == nil {
				okc++
			}
		}
		fmt.Printf("repeat: ok %d of %d\n", okc, times)
		return 4
	case op == "raw" && n > 1:
		m := []byte(args[1])
		buf := make([]byte, 1<<16)
		var p unsafe.Pointer
		if len(m) > 0 {
			p = unsafe.Pointer(&m[0])
		}
		r := rawCall(p, int32(len(m)), unsafe.Pointer(&buf[0]), int32(len(buf)-1))
		if r < 0 || int(r) >= len(buf) {
			r = 0
		}
		fmt.Printf("raw: %s\n", buf[:r])
		return 2
	case op == "ping":
		if c.Ping() == nil {
			fmt.Println("ping: ok")
		} else {
			fmt.Println("ping: error")
		}
		return 1
	case op == "info":
		i, err := c.RuntimeInfo()
		report("info", fmt.Sprintf(" %s %s %s", i.Version, i.CapsuleName, i.CapsuleID), err)
		return 1
	case op == "sleep" && n > 1:
		ms, _ := strconv.Atoi(args[1])
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Println("sleep: ok")
		return 2
	case op == "readin": // one read of stdin (the test's handshake: it returns when the test writes)
		b := make([]byte, 16)
		k, _ := os.Stdin.Read(b)
		fmt.Printf("readin: ok %d\n", k)
		return 1
	case op == "fsfill" && n > 1: // N KiB through plain WASI file writes
		kib, _ := strconv.Atoi(args[1])
		done, err := fsfill(kib)
		status := "ok"
		if err != nil || done != kib {
			status = "error"
		}
		fmt.Printf("fsfill: %s %d KiB\n", status, done)
		return 2
	case op == "fs":
		if d, err := os.Open("/storage"); err == nil {
			d.Close()
			fmt.Println("fs: ok")
		} else {
			fmt.Println("fs: error no /storage")
		}
		return 1
	}
	return 0
}

func fsfill(kib int) (int, error) {
	f, err := os.Create("/storage/fsfill.bin")
	if err != nil {
		return 0, err
	}
	chunk := make([]byte, 1024)
	done := 0
	for ; done < kib; done++ {
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return done, err
		}
	}
	return done, f.Close()
}

// report prints "OP: ok DETAIL" or the error.
func report(op, detail string, err error) {
	if err != nil {
		fail(op, err)
	} else {
		fmt.Printf("%s: ok%s\n", op, detail)
	}
}

func main() {
	var err error
	if c, err = elastos.Open(); err != nil {
		fmt.Println("open: error no runtime")
		os.Exit(2)
	}
	for args := os.Args[1:]; len(args) > 0; {
		used := step(args)
		if used == 0 {
			fmt.Printf("%s: error bad_script\n", args[0])
			os.Exit(64)
		}
		args = args[used:]
	}
}
