// client.go - RuntimeClient: the channel to the runtime, its request numbering and the typed
// calls. The transports are in transport_wasm.go (the elastos.call import) and
// transport_native.go (the inherited descriptor of vm capsules); both move one request and
// return one response, and everything else (ids, broken channels, error responses, type checks)
// is decided here once, as in the C and Rust SDKs.
package elastos

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// CapsuleInfo is the running capsule's identity, from the environment the runtime sets.
type CapsuleInfo struct {
	Name string // ELASTOS_CAPSULE_NAME: the manifest's name
	ID   string // ELASTOS_CAPSULE_ID: this instance's id, fresh for every launch
}

// CapsuleInfoFromEnv reads ELASTOS_CAPSULE_NAME and ELASTOS_CAPSULE_ID; ok is false when
// either is missing or empty (the program is not running as a capsule).
func CapsuleInfoFromEnv() (info CapsuleInfo, ok bool) {
	info = CapsuleInfo{os.Getenv("ELASTOS_CAPSULE_NAME"), os.Getenv("ELASTOS_CAPSULE_ID")}
	return info, info.Name != "" && info.ID != ""
}

// transport moves one request (line is the message plus "\n") and returns the response
// message without its newline, valid until the next exchange. A failure says whether it is
// a protocol error (else transport) and whether the channel is unusable after it.
type transport interface {
	exchange(line []byte) ([]byte, *xferError)
}

type xferError struct {
	protocol, broken bool
	msg              string
}

func (e *xferError) err() error {
	if e.protocol {
		return protocolErr("%s", e.msg)
	}
	return transportErr("%s", e.msg)
}

// lineTransport: the request plus "\n" out, one line back (at most 1 MiB before its "\n").
// Bytes after that line stay buffered for the next exchange (where they show up as a wrong id).
type lineTransport struct {
	rw   io.ReadWriter
	buf  []byte
	used int // the line returned last time, with its '\n'
}

func (t *lineTransport) exchange(line []byte) ([]byte, *xferError) {
	t.buf = t.buf[t.used:]
	t.used = 0
	for len(line) > 0 {
		n, err := t.rw.Write(line)
		if err != nil {
			return nil, &xferError{msg: "writing to the runtime channel: " + err.Error(), broken: true}
		}
		line = line[n:]
	}
	scan := 0
	chunk := make([]byte, 64*1024)
	for {
		for i := scan; i < len(t.buf); i++ {
			if t.buf[i] == '\n' {
				t.used = i + 1
				return t.buf[:i], nil
			}
		}
		scan = len(t.buf)
		if len(t.buf) > MaxMessage {
			return nil, &xferError{protocol: true, broken: true, msg: "response line longer than the 1 MiB message limit"}
		}
		want := MaxMessage + 1 - len(t.buf)
		if want > len(chunk) {
			want = len(chunk)
		}
		n, err := t.rw.Read(chunk[:want])
		t.buf = append(t.buf, chunk[:n]...)
		if n > 0 {
			continue
		}
		if err == io.EOF || err == nil {
			where := ""
			if len(t.buf) > 0 {
				where = " in the middle of a response"
			}
			return nil, &xferError{msg: "the runtime closed the channel" + where, broken: true}
		}
		return nil, &xferError{msg: "reading from the runtime channel: " + err.Error(), broken: true}
	}
}

// channel is one runtime channel and its request numbering (1, 2, 3, ...).
type channel struct {
	mu     sync.Mutex
	t      transport
	nextID uint64
	broken string
}

func newChannel(t transport) *channel { return &channel{t: t, nextID: 1} }

// exchange encodes a request with the next id, moves it and checks the envelope: a response
// with id 0 was not counted by the runtime (the id is reused); any other wrong id makes the
// channel unusable; an error response is returned as *RuntimeError. Returns the success
// response's type and object.
func (ch *channel) exchange(encode func(id uint64) ([]byte, error)) (string, Value, error) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	id := ch.nextID
	msg, err := encode(id)
	if err != nil {
		return "", Value{}, err
	}
	if ch.broken != "" {
		return "", Value{}, transportErr("the runtime channel is unusable after an earlier failure: %s", ch.broken)
	}
	resp, xe := ch.t.exchange(append(msg, '\n'))
	ch.nextID = id + 1 // the runtime has seen the request (or is gone)
	if xe != nil {
		if xe.broken && ch.broken == "" {
			ch.broken = xe.msg
		}
		return "", Value{}, xe.err()
	}
	rid, obj, t, err := parseEnvelope(resp)
	if err != nil && t != "error" {
		return "", Value{}, err
	}
	if rid != id {
		if rid == 0 {
			ch.nextID = id
			if t == "error" {
				return "", Value{}, err
			}
		} else {
			ch.broken = fmt.Sprintf("a response carried id %d for request %d", rid, id)
		}
		return "", Value{}, protocolErr("id %d does not match request id %d", rid, id)
	}
	return t, obj, err
}

// The process's channel: every client from Open shares it and its numbering, as the runtime
// counts requests per capsule.
var (
	globalMu sync.Mutex
	global   *channel
)

// RuntimeClient is the channel to the runtime: it sends a RuntimeRequest and receives the
// matching RuntimeResponse, in the wire format of docs/protocol.md. In wasm (GOOS=wasip1) it
// uses the host import elastos.call; natively (vm capsules) the inherited descriptor named by
// ELASTOS_RUNTIME_FD, one JSON message per line. Stdio stays free for the capsule. Its methods
// are safe for concurrent use (calls are serialized).
type RuntimeClient struct {
	ch *channel
}

// Open returns a client on the process's runtime channel, or an error wrapping ErrTransport
// when the program is not running under elastos (natively: ELASTOS_RUNTIME_FD unset,
// malformed, or not an open descriptor). In wasm it always succeeds. The channel is never
// closed.
func Open() (*RuntimeClient, error) {
	globalMu.Lock()
	defer globalMu.Unlock()
	if global == nil {
		t, err := defaultTransport()
		if err != nil {
			return nil, err
		}
		global = newChannel(t)
	}
	return &RuntimeClient{global}, nil
}

// NewClient returns a client on its own line channel over rw (a socket, a pipe pair, a test
// double): one JSON message per line, requests numbered from 1.
func NewClient(rw io.ReadWriter) *RuntimeClient {
	return &RuntimeClient{newChannel(&lineTransport{rw: rw})}
}

// Call sends req and returns its response, which must be req's success type (Pong for Ping,
// ...; else ErrProtocol). An error response is returned as a *RuntimeError.
func (c *RuntimeClient) Call(req RuntimeRequest) (RuntimeResponse, error) {
	t, obj, err := c.ch.exchange(func(id uint64) ([]byte, error) { return EncodeRequest(id, req) })
	if err != nil {
		return nil, err
	}
	if want := req.responseType(); t != want {
		return nil, protocolErr("type %q where %q was expected", clip(t), want)
	}
	return decodeBody(t, obj)
}

// CallRaw sends a request the SDK may not know: req is the inner request object (any JSON
// object with a string "type"). It returns the inner response object, whatever its type; an
// error response is returned as a *RuntimeError.
func (c *RuntimeClient) CallRaw(req Value) (Value, error) {
	_, obj, err := c.ch.exchange(func(id uint64) ([]byte, error) { return encodeRaw(id, req) })
	return obj, err
}

// call is Call with the response type asserted (Call has checked it already).
func call[T RuntimeResponse](c *RuntimeClient, req RuntimeRequest) (T, error) {
	var zero T
	r, err := c.Call(req)
	if err != nil {
		return zero, err
	}
	v, ok := r.(T)
	if !ok {
		return zero, protocolErr("unexpected response type %q", r.ResponseType())
	}
	return v, nil
}

// Ping: ping -> pong.
func (c *RuntimeClient) Ping() error { _, err := call[Pong](c, Ping{}); return err }

// RuntimeInfo: get_runtime_info -> runtime_info.
func (c *RuntimeClient) RuntimeInfo() (RuntimeInfo, error) {
	return call[RuntimeInfo](c, GetRuntimeInfo{})
}

// RequestCapability asks for action on resource (a URI or a pattern ending in "/*"), narrowed
// by constraints (the zero value: none): request_capability -> capability_token.
func (c *RuntimeClient) RequestCapability(resource, action string, constraints CapabilityConstraints) (CapabilityToken, error) {
	return call[CapabilityToken](c, RequestCapability{resource, action, constraints})
}

// StorageRead reads path, a full URI (localhost://storage/notes/a.txt): storage_read ->
// storage_data.
func (c *RuntimeClient) StorageRead(token, path string) ([]byte, error) {
	r, err := call[StorageData](c, StorageRead{token, path})
	return r.Data, err
}

// StorageWrite writes content to path: storage_write -> ok.
func (c *RuntimeClient) StorageWrite(token, path string, content []byte) error {
	_, err := call[OK](c, StorageWrite{token, path, content})
	return err
}

// StorageList lists a directory (directories end in "/"): storage_list -> storage_list.
func (c *RuntimeClient) StorageList(token, path string) ([]string, error) {
	r, err := call[StorageEntries](c, StorageList{token, path})
	return r.Entries, err
}

// StorageDelete deletes path: storage_delete -> ok.
func (c *RuntimeClient) StorageDelete(token, path string) error {
	_, err := call[OK](c, StorageDelete{token, path})
	return err
}

// FetchContent fetches uri (elastos://cid/...): fetch_content -> content.
func (c *RuntimeClient) FetchContent(token, uri string) ([]byte, error) {
	r, err := call[Content](c, FetchContent{token, uri})
	return r.Data, err
}

// SendMessage sends payload to the capsule named to; replyTo ("" for none) names the message
// this one answers: send_message -> ok.
func (c *RuntimeClient) SendMessage(token, to string, payload []byte, replyTo string) error {
	_, err := call[OK](c, SendMessage{token, to, payload, replyTo})
	return err
}

// ReceiveMessages takes up to max queued messages (0: the runtime's default):
// receive_messages -> messages.
func (c *RuntimeClient) ReceiveMessages(max uint64) ([]Message, error) {
	r, err := call[Messages](c, ReceiveMessages{max})
	return r.Messages, err
}

// ProviderCall calls a provider (elastos://ai/chat, ...) with body, any JSON value sent
// compactly with keys in order: provider_call -> provider_result.
func (c *RuntimeClient) ProviderCall(token, uri string, body Value) (Value, error) {
	r, err := call[ProviderResult](c, ProviderCall{token, uri, body})
	return r.Result, err
}

// LaunchCapsule launches a capsule and returns the new instance's id: launch_capsule ->
// capsule_launched.
func (c *RuntimeClient) LaunchCapsule(config LaunchConfig) (string, error) {
	r, err := call[CapsuleLaunched](c, LaunchCapsule{config})
	return r.CapsuleID, err
}

// StopCapsule: stop_capsule -> ok.
func (c *RuntimeClient) StopCapsule(capsuleID string) error {
	_, err := call[OK](c, StopCapsule{capsuleID})
	return err
}

// ListCapsules: list_capsules -> capsule_list (objects whose shape the runtime defines).
func (c *RuntimeClient) ListCapsules() ([]Value, error) {
	r, err := call[CapsuleList](c, ListCapsules{})
	return r.Capsules, err
}

// GetDecisionRequest (shell only): get_decision_request -> decision_request.
func (c *RuntimeClient) GetDecisionRequest() (DecisionRequest, error) {
	return call[DecisionRequest](c, GetDecisionRequest{})
}

// GrantCapability (shell only) returns the issued token's id: grant_capability ->
// capability_granted.
func (c *RuntimeClient) GrantCapability(requestID uint64, scope GrantScope) (string, error) {
	r, err := call[CapabilityGranted](c, GrantCapability{requestID, scope})
	return r.TokenID, err
}

// DenyCapability (shell only): deny_capability -> ok.
func (c *RuntimeClient) DenyCapability(requestID uint64, reason string) error {
	_, err := call[OK](c, DenyCapability{requestID, reason})
	return err
}

// RevokeCapability (shell only): revoke_capability -> ok.
func (c *RuntimeClient) RevokeCapability(tokenID string) error {
	_, err := call[OK](c, RevokeCapability{tokenID})
	return err
}

// GetProviderCall (provider capsules only): get_provider_call -> provider_request, the call to
// serve. After the previous call was answered it waits for the next one; an error with code
// not_found ("no more calls") when there will be none: the provider then exits.
func (c *RuntimeClient) GetProviderCall() (ProviderRequest, error) {
	return call[ProviderRequest](c, GetProviderCall{})
}

// AnswerProviderCall: answer_provider_call -> ok; result (any JSON value) is the consumer's
// provider_result. Once per call.
func (c *RuntimeClient) AnswerProviderCall(callID uint64, result Value) error {
	_, err := call[OK](c, AnswerProviderCall{callID, result})
	return err
}

// FailProviderCall: fail_provider_call -> ok; the consumer gets an error with code (a protocol
// code) and "provider: <message>". Once per call.
func (c *RuntimeClient) FailProviderCall(callID uint64, code, message string) error {
	_, err := call[OK](c, FailProviderCall{callID, code, message})
	return err
}
