// vectors_test.go - the shared protocol vectors (tests/data/protocol-vectors.txt) over an
// in-memory pipe: every request line must be exactly what this SDK writes for the call the
// vector describes, and every response must decode to the values the C and Rust SDKs' tests
// expect (tests/unit/test_guest_sdk.c, guest/rust/elastos-guest/tests/common).
package elastos

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
)

// E is the vectors' awkward string (see the file's header).
const E = "We\"ird\\name\n\t\r\b\f\x01\x1f\x7f \u00e9\u65e5\u672c\U0001F600/"

const cid = "bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq"

type vector struct{ kind, name, json string }

func loadVectors(t *testing.T) []vector {
	data, err := os.ReadFile("../../tests/data/protocol-vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		parts := strings.SplitN(line, " ", 3)
		if len(parts) != 3 || (parts[0] != "request" && parts[0] != "response") {
			t.Fatalf("bad vector line %q", line)
		}
		vs = append(vs, vector{parts[0], parts[1], parts[2]})
	}
	return vs
}

func mustJSON(t *testing.T, s string) Value {
	v, err := ParseJSON([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// step is one call of the session and the check of what it returned.
type step struct {
	name string
	run  func(c *RuntimeClient) (any, error)
	want any    // the decoded result, or nil
	code string // the runtime error code expected instead
}

func session(t *testing.T) []step {
	u64max := uint64(18446744073709551615)
	body := mustJSON(t, `{"model":"llama","messages":[{"role":"user","content":`+StringValue(E).String()+`}],"temperature":0.7,"max_tokens":256,"stream":false,"stop":null,"n":-1}`)
	return []step{
		{"ping", func(c *RuntimeClient) (any, error) { return nil, c.Ping() }, nil, ""},
		{"get_runtime_info", func(c *RuntimeClient) (any, error) { return c.RuntimeInfo() },
			RuntimeInfo{"0.1.0", "hello", "hello-7f3a"}, ""},
		{"request_capability", func(c *RuntimeClient) (any, error) {
			return c.RequestCapability("localhost://storage/notes/*", "read", CapabilityConstraints{})
		}, CapabilityToken{"tok.AAA", "tid-1", 0}, ""},
		{"request_capability_constraints", func(c *RuntimeClient) (any, error) {
			return c.RequestCapability("elastos://ai/chat", "execute", CapabilityConstraints{3, 3600, Flag(false)})
		}, CapabilityToken{"tok.BBB", "tid-2", 1767225600}, ""},
		{"request_capability_delegatable", func(c *RuntimeClient) (any, error) {
			return c.RequestCapability("localhost://storage/shared/*", "write", CapabilityConstraints{Delegatable: Flag(true)})
		}, CapabilityToken{"tok.CCC", "tid-3", 0}, ""},
		{"request_capability_unset", func(c *RuntimeClient) (any, error) {
			return c.RequestCapability("elastos://cid/*", "read", CapabilityConstraints{})
		}, CapabilityToken{"tok.DDD", "tid-4", 0}, ""},
		{"storage_read", func(c *RuntimeClient) (any, error) {
			return c.StorageRead("tok.AAA", "localhost://storage/notes/today.txt")
		}, []byte("Hello, world!"), ""},
		{"storage_read_escapes", func(c *RuntimeClient) (any, error) {
			return c.StorageRead("tok.AAA", "localhost://storage/"+E)
		}, []byte{}, ""},
		{"storage_write_pad0", func(c *RuntimeClient) (any, error) {
			return nil, c.StorageWrite("tok.AAA", "localhost://storage/notes/a.bin", []byte("abc"))
		}, nil, ""},
		{"storage_write_pad1", func(c *RuntimeClient) (any, error) {
			return nil, c.StorageWrite("tok.AAA", "localhost://storage/notes/a.bin", []byte("hello"))
		}, nil, ""},
		{"storage_write_pad2", func(c *RuntimeClient) (any, error) {
			return nil, c.StorageWrite("tok.AAA", "localhost://storage/notes/a.bin", []byte{0, 1, 0xfe, 0xff})
		}, nil, ""},
		{"storage_write_empty", func(c *RuntimeClient) (any, error) {
			return nil, c.StorageWrite("tok.AAA", "localhost://storage/notes/a.bin", nil)
		}, nil, ""},
		{"storage_list", func(c *RuntimeClient) (any, error) {
			return c.StorageList("tok.AAA", "localhost://storage/notes")
		}, []string{"a.txt", "sub/", "caf\u00e9 \"q\".txt"}, ""},
		{"storage_list_empty", func(c *RuntimeClient) (any, error) {
			return c.StorageList("tok.AAA", "localhost://storage/empty")
		}, []string{}, ""},
		{"storage_delete", func(c *RuntimeClient) (any, error) {
			return nil, c.StorageDelete("tok.AAA", "localhost://storage/notes/a.bin")
		}, nil, ""},
		{"fetch_content", func(c *RuntimeClient) (any, error) {
			return c.FetchContent("tok.AAA", "elastos://cid/"+cid)
		}, []byte("Hello world"), ""},
		{"send_message", func(c *RuntimeClient) (any, error) {
			return nil, c.SendMessage("tok.AAA", "peer", []byte{0xff, 0, 0x80, 0x7f, 0x41}, "")
		}, nil, ""},
		{"send_message_reply", func(c *RuntimeClient) (any, error) {
			return nil, c.SendMessage("tok.AAA", E, []byte("hi"), "msg-7")
		}, nil, ""},
		{"receive_messages", func(c *RuntimeClient) (any, error) { return c.ReceiveMessages(10) },
			[]Message{{"msg-1", "peer", []byte("hi"), 1767225600, ""}, {"msg-2", "caf\u00e9", []byte("abc"), 0, "msg-7"}}, ""},
		{"receive_messages_default", func(c *RuntimeClient) (any, error) { return c.ReceiveMessages(0) },
			[]Message{}, ""},
		{"provider_call", func(c *RuntimeClient) (any, error) {
			r, err := c.ProviderCall("tok.AAA", "elastos://ai/chat", body)
			return r.String(), err
		}, `{"text":"café 😀","tokens":[1,2,3],"score":-1.5e3,"done":true,"extra":null}`, ""},
		{"provider_call_empty", func(c *RuntimeClient) (any, error) {
			r, err := c.ProviderCall("tok.AAA", "elastos://ai/models", mustJSON(t, "{ }"))
			return r.String(), err
		}, `"plain"`, ""},
		{"launch_capsule", func(c *RuntimeClient) (any, error) {
			return c.LaunchCapsule(LaunchConfig{CID: cid, Args: []string{"--flag", E, ""},
				Env:    []EnvVar{{"LANG", "C.UTF-8"}, {"GREETING", "héllo \"x\""}},
				Limits: LaunchLimits{MemoryMB: 64, WallMs: 5000}})
		}, "hello-0002", ""},
		{"launch_capsule_name", func(c *RuntimeClient) (any, error) {
			return c.LaunchCapsule(LaunchConfig{Name: "hello"})
		}, "hello-0003", ""},
		{"launch_capsule_limits", func(c *RuntimeClient) (any, error) {
			return c.LaunchCapsule(LaunchConfig{CID: cid, Name: "hello", Limits: LaunchLimits{16, 1000, 2000}})
		}, "hello-0004", ""},
		{"stop_capsule", func(c *RuntimeClient) (any, error) { return nil, c.StopCapsule("hello-0002") }, nil, ""},
		{"list_capsules", func(c *RuntimeClient) (any, error) {
			l, err := c.ListCapsules()
			return ArrayValue(l...).String(), err
		}, `[{"capsule_id":"hello-0003","name":"hello","state":"running"}]`, ""},
		{"list_capsules_empty", func(c *RuntimeClient) (any, error) {
			l, err := c.ListCapsules()
			return len(l), err
		}, 0, ""},
		{"get_decision_request", func(c *RuntimeClient) (any, error) { return c.GetDecisionRequest() },
			DecisionRequest{42, "notes", "notes-0001", "ed25519:3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29",
				"localhost://storage/notes/*", "write", CapabilityConstraints{1, 60, Flag(false)}}, ""},
		{"get_decision_request_unconstrained", func(c *RuntimeClient) (any, error) { return c.GetDecisionRequest() },
			DecisionRequest{u64max, "caf\u00e9", "cafe-0009", "ed25519:3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29",
				"elastos://ai/chat", "execute", CapabilityConstraints{}}, ""},
		{"grant_capability", func(c *RuntimeClient) (any, error) { return c.GrantCapability(42, ScopeOnce) }, "tid-42", ""},
		{"deny_capability", func(c *RuntimeClient) (any, error) { return nil, c.DenyCapability(u64max, E) }, nil, ""},
		{"revoke_capability", func(c *RuntimeClient) (any, error) { return nil, c.RevokeCapability("tid-42") }, nil, ""},
		{"storage_read_denied", func(c *RuntimeClient) (any, error) {
			return c.StorageRead("tok.AAA", "localhost://storage/secret.txt")
		}, "no token covers localhost://storage/secret.txt for read", "denied"},
		{"storage_write_limit", func(c *RuntimeClient) (any, error) {
			return nil, c.StorageWrite("tok.AAA", "localhost://storage/big.bin", []byte("abc"))
		}, "quota \"64 MiB\" exceeded\n\u00e9", "limit"},
		{"fetch_content_expired", func(c *RuntimeClient) (any, error) {
			return c.FetchContent("tok.OLD", "elastos://cid/"+cid)
		}, "token expired", "expired"},
		{"revoke_capability_unknown", func(c *RuntimeClient) (any, error) { return nil, c.RevokeCapability("tid-999") },
			"no token tid-999", "not_found"},
		{"send_message_revoked", func(c *RuntimeClient) (any, error) {
			return nil, c.SendMessage("tok.REV", "peer", []byte("hi"), "")
		}, "token tid-7 was revoked", "revoked"},
		{"get_provider_call", func(c *RuntimeClient) (any, error) {
			p, err := c.GetProviderCall()
			return fmt.Sprint(p.CallID, " ", p.Scheme, " ", p.Caller, " ", p.CallerInstance, " ", p.Resource, " ",
				p.Action, " ", p.Op, " ", p.Body.String()), err
		}, "7 elastos://kv/ kv-cli@a7b3d8fd6543d43f a353d75764540f19771ce05531e989ff elastos://kv/get execute get " +
			`{"key":"café","n":[1,-2.5e1,null]}`, ""},
		{"answer_provider_call", func(c *RuntimeClient) (any, error) {
			return nil, c.AnswerProviderCall(7, mustJSON(t, `{ "value" : `+StringValue(E).String()+` , "ok" : true }`))
		}, nil, ""},
		{"fail_provider_call", func(c *RuntimeClient) (any, error) {
			return nil, c.FailProviderCall(u64max, "not_found", E)
		}, nil, ""},
	}
}

// TestVectorSession runs the whole file as one session: the peer checks each request line
// byte for byte and answers with the response vector.
func TestVectorSession(t *testing.T) {
	vs := loadVectors(t)
	steps := session(t)
	if len(vs) != 2*len(steps) {
		t.Fatalf("%d vectors for %d steps", len(vs), len(steps))
	}
	mine, peer := net.Pipe()
	defer mine.Close()
	errs := make(chan string, 1)
	go func() {
		defer peer.Close()
		r := bufio.NewReader(peer)
		for i := 0; i < len(vs); i += 2 {
			line, err := r.ReadString('\n')
			if err != nil {
				errs <- "peer: " + err.Error()
				return
			}
			if got := strings.TrimSuffix(line, "\n"); got != vs[i].json {
				errs <- "request " + vs[i].name + ":\n got " + got + "\nwant " + vs[i].json
				return
			}
			if _, err := peer.Write([]byte(vs[i+1].json + "\n")); err != nil {
				errs <- "peer: " + err.Error()
				return
			}
		}
		errs <- ""
	}()
	c := NewClient(mine)
	for i, s := range steps {
		if vs[2*i].name != s.name || vs[2*i+1].name != s.name {
			t.Fatalf("step %d is %s, vectors say %s/%s", i, s.name, vs[2*i].name, vs[2*i+1].name)
		}
		got, err := s.run(c)
		if s.code != "" {
			var re *RuntimeError
			if !errors.As(err, &re) || re.Code != s.code || re.Message != s.want {
				t.Fatalf("%s: got %v, want runtime error %s: %q", s.name, err, s.code, s.want)
			}
			if !errors.Is(err, &RuntimeError{Code: s.code}) || Code(err) != s.code {
				t.Fatalf("%s: errors.Is by code fails", s.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.want != nil && !reflect.DeepEqual(got, s.want) {
			t.Fatalf("%s:\n got %#v\nwant %#v", s.name, got, s.want)
		}
	}
	if e := <-errs; e != "" {
		t.Fatal(e)
	}
}

// TestVectorsDirect: each request vector comes out of EncodeRequest, each response vector
// decodes with DecodeResponse (no client involved).
func TestVectorsDirect(t *testing.T) {
	vs := loadVectors(t)
	reqs := map[string]RuntimeRequest{
		"ping":                     Ping{},
		"list_capsules":            ListCapsules{},
		"storage_read_escapes":     StorageRead{"tok.AAA", "localhost://storage/" + E},
		"receive_messages_default": ReceiveMessages{},
	}
	ids := map[string]uint64{"ping": 1, "list_capsules": 27, "storage_read_escapes": 8, "receive_messages_default": 20}
	n := 0
	for _, v := range vs {
		if v.kind == "request" {
			if r, ok := reqs[v.name]; ok {
				got, err := EncodeRequest(ids[v.name], r)
				if err != nil || string(got) != v.json {
					t.Fatalf("%s: %s %v", v.name, got, err)
				}
			}
			continue
		}
		id, r, err := DecodeResponse([]byte(v.json))
		isErr := strings.HasSuffix(v.name, "_denied") || strings.HasSuffix(v.name, "_limit") ||
			strings.HasSuffix(v.name, "_expired") || strings.HasSuffix(v.name, "_unknown") ||
			strings.HasSuffix(v.name, "_revoked")
		if id < 1 || id > 41 || (isErr != (err != nil)) || (!isErr && r == nil) {
			t.Fatalf("%s: id %d, %v, %v", v.name, id, r, err)
		}
		n++
	}
	if n != 41 {
		t.Fatalf("%d responses", n)
	}
}

// TestRefusals: what the SDK refuses locally, and malformed responses.
func TestRefusals(t *testing.T) {
	for _, r := range []RuntimeRequest{
		LaunchCapsule{LaunchConfig{}},
		LaunchCapsule{LaunchConfig{Name: "x", Env: []EnvVar{{"A", "1"}, {"A", "2"}}}},
		GrantCapability{1, "forever"},
		StorageWrite{"t", "localhost://storage/x", make([]byte, MaxMessage)},
		StorageRead{"t", "bad \xff utf-8"},
	} {
		if _, err := EncodeRequest(1, r); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%#v: %v", r, err)
		}
	}
	for _, bad := range []string{
		`{"id":1,"response":{"type":"pong"}} x`,
		`{"id":1,"id":1,"response":{"type":"pong"}}`,
		`{"id":1,"response":{"type":"storage_data","data":"YWJ"}}`,
		`{"id":1,"response":{"type":"storage_data","data":"YW\nJj"}}`,
		`{"id":1,"response":{"type":"nope"}}`,
		`{"id":-1,"response":{"type":"pong"}}`,
		`{"id":1,"response":{"type":"runtime_info","version":"1","capsule_name":"a\u0000","capsule_id":"x"}}`,
		`{"id":1,"response":{"type":"error","code":"","message":"m"}}`,
		`{"id":1,"response":{"type":"storage_data","data":"\ud800"}}`,
		`{"id":1,"response":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`,
		"{\"id\":1,\"response\":{\"type\":\"pong\",\"x\":\"\xff\"}}",
	} {
		if _, _, err := DecodeResponse([]byte(bad)); !errors.Is(err, ErrProtocol) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestIDs: a response with id 0 does not use up the id; any other wrong id breaks the channel.
func TestIDs(t *testing.T) {
	mine, peer := net.Pipe()
	defer mine.Close()
	go func() {
		defer peer.Close()
		r := bufio.NewReader(peer)
		for _, resp := range []string{
			`{"id":0,"response":{"type":"error","code":"bad_request","message":"unreadable"}}`,
			`{"id":1,"response":{"type":"pong"}}`,
			`{"id":7,"response":{"type":"pong"}}`,
		} {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			peer.Write([]byte(resp + "\n"))
		}
	}()
	c := NewClient(mine)
	if err := c.Ping(); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("id 0: %v", err)
	}
	if err := c.Ping(); err != nil { // id 1 again
		t.Fatalf("reused id: %v", err)
	}
	if err := c.Ping(); !errors.Is(err, ErrProtocol) {
		t.Fatalf("wrong id: %v", err)
	}
	if err := c.Ping(); !errors.Is(err, ErrTransport) {
		t.Fatalf("after a wrong id: %v", err)
	}
	if err := NewClient(closed{}).Ping(); !errors.Is(err, ErrTransport) {
		t.Fatalf("closed channel: %v", err)
	}
}

// closed is a channel the runtime has closed: writes vanish, reads see EOF.
type closed struct{}

func (closed) Write(p []byte) (int, error) { return len(p), nil }
func (closed) Read([]byte) (int, error)    { return 0, io.EOF }
