// response.go - RuntimeResponse and its strict decoder (docs/protocol.md): unknown fields are
// ignored, null counts as absent for an optional field, and an unknown type, a missing or
// mistyped field, invalid base64 and anything that is not strict JSON are ErrProtocol. Strings
// in typed fields are valid UTF-8 without NUL characters, as in the C SDK.
package elastos

import (
	"encoding/base64"
	"strings"
)

// RuntimeResponse is one of the success response types below. (An error response is returned
// as a *RuntimeError instead.)
type RuntimeResponse interface {
	// ResponseType is the wire tag ("pong", "storage_data", ...).
	ResponseType() string
}

// RuntimeInfo is runtime_info: what the runtime says about itself and the capsule.
type RuntimeInfo struct {
	Version, CapsuleName, CapsuleID string
}

// CapabilityToken is capability_token: an issued capability.
type CapabilityToken struct {
	Token     string // the opaque token to pass to later requests
	TokenID   string // its id (for revocation, audit)
	ExpiresAt uint64 // when it expires (Unix seconds); 0: it does not
}

// Message is one received message.
type Message struct {
	ID        string
	From      string // the sending capsule's name
	Payload   []byte
	Timestamp uint64 // Unix seconds
	ReplyTo   string // the message it answers; "": none
}

// DecisionRequest is decision_request: a capsule's pending capability request, for the shell.
type DecisionRequest struct {
	RequestID                                           uint64
	CapsuleName, CapsuleID, Publisher, Resource, Action string
	Constraints                                         CapabilityConstraints
}

// ProviderRequest is provider_request: the call a provider capsule is to serve (never the
// consumer's token). Caller is the consumer's address (NAME@PUBLISHER_ID, set by the runtime),
// Op the uri after the scheme, Body the consumer's body.
type ProviderRequest struct {
	CallID                                               uint64
	Scheme, Caller, CallerInstance, Resource, Action, Op string
	Body                                                 Value
}

// The success responses (the request each answers is in docs/protocol.md's catalogue).
type (
	Pong              struct{}
	OK                struct{}
	StorageData       struct{ Data []byte }
	StorageEntries    struct{ Entries []string } // storage_list: names; directories end in "/"
	Content           struct{ Data []byte }
	Messages          struct{ Messages []Message }
	ProviderResult    struct{ Result Value }
	CapsuleLaunched   struct{ CapsuleID string }
	CapsuleList       struct{ Capsules []Value }
	CapabilityGranted struct{ TokenID string }
)

func (Pong) ResponseType() string              { return "pong" }
func (OK) ResponseType() string                { return "ok" }
func (RuntimeInfo) ResponseType() string       { return "runtime_info" }
func (CapabilityToken) ResponseType() string   { return "capability_token" }
func (StorageData) ResponseType() string       { return "storage_data" }
func (StorageEntries) ResponseType() string    { return "storage_list" }
func (Content) ResponseType() string           { return "content" }
func (Messages) ResponseType() string          { return "messages" }
func (ProviderResult) ResponseType() string    { return "provider_result" }
func (CapsuleLaunched) ResponseType() string   { return "capsule_launched" }
func (CapsuleList) ResponseType() string       { return "capsule_list" }
func (DecisionRequest) ResponseType() string   { return "decision_request" }
func (CapabilityGranted) ResponseType() string { return "capability_granted" }
func (ProviderRequest) ResponseType() string   { return "provider_request" }

// clip is a printable, bounded rendering of an untrusted tag for error messages.
func clip(s string) string {
	var b strings.Builder
	n := 0
	for _, c := range s {
		if n == 40 {
			b.WriteString("...")
			break
		}
		if c == ' ' || (c > ' ' && c < 0x7f) {
			b.WriteRune(c)
		} else {
			b.WriteByte('?')
		}
		n++
	}
	return b.String()
}

// parseEnvelope checks {"id":N,"response":{"type":T,...}} and returns the id, the response
// object and its type; an error response becomes a *RuntimeError (with a non-empty code
// without NUL and a string message).
func parseEnvelope(msg []byte) (uint64, Value, string, error) {
	if len(msg) > MaxMessage {
		return 0, Value{}, "", protocolErr("longer than the 1 MiB message limit")
	}
	root, err := ParseJSON(msg)
	if err != nil {
		return 0, Value{}, "", protocolErr("%v", err)
	}
	if root.Kind != Object {
		return 0, Value{}, "", protocolErr("not a JSON object")
	}
	idv, _ := root.Get("id")
	id, ok := idv.Uint64()
	if !ok {
		return 0, Value{}, "", protocolErr(`no valid "id"`)
	}
	obj, ok := root.Get("response")
	if !ok || obj.Kind != Object {
		return id, Value{}, "", protocolErr(`no "response" object`)
	}
	t, ok := obj.Get("type")
	if !ok || t.Kind != String {
		return id, Value{}, "", protocolErr(`no "type" string`)
	}
	if t.Str == "error" {
		code, ok1 := obj.Get("code")
		m, ok2 := obj.Get("message")
		if !ok1 || !ok2 || code.Kind != String || m.Kind != String || code.Str == "" ||
			strings.ContainsRune(code.Str, 0) {
			return id, Value{}, "", protocolErr(`an error without string "code" and "message"`)
		}
		return id, obj, "error", &RuntimeError{Code: code.Str, Message: m.Str}
	}
	return id, obj, t.Str, nil
}

// DecodeResponse decodes a response message strictly and returns its id and the response; an
// error response is returned as a *RuntimeError (with the id).
func DecodeResponse(msg []byte) (uint64, RuntimeResponse, error) {
	id, obj, t, err := parseEnvelope(msg)
	if err != nil {
		return id, nil, err
	}
	r, err := decodeBody(t, obj)
	return id, r, err
}

// field is a member; an optional member sent as null counts as absent.
func field(obj Value, key string) (Value, bool) {
	v, ok := obj.Get(key)
	if !ok || v.Kind == Null {
		return Value{}, false
	}
	return v, true
}

func optStr(obj Value, key string) (string, bool, error) {
	v, ok := field(obj, key)
	switch {
	case !ok:
		return "", false, nil
	case v.Kind != String:
		return "", false, protocolErr("field %q is not a string", key)
	case strings.ContainsRune(v.Str, 0):
		return "", false, protocolErr("field %q contains a NUL character", key)
	}
	return v.Str, true, nil
}

func reqStr(obj Value, key string) (string, error) {
	s, ok, err := optStr(obj, key)
	if err == nil && !ok {
		err = protocolErr("field %q is missing", key)
	}
	return s, err
}

func optU64(obj Value, key string) (uint64, bool, error) {
	v, ok := field(obj, key)
	if !ok {
		return 0, false, nil
	}
	n, ok := v.Uint64()
	if !ok {
		return 0, false, protocolErr("field %q is not an integer in 0..2^64-1", key)
	}
	return n, true, nil
}

func reqU64(obj Value, key string) (uint64, error) {
	n, ok, err := optU64(obj, key)
	if err == nil && !ok {
		err = protocolErr("field %q is missing", key)
	}
	return n, err
}

// decodeBase64 is strict standard base64 with padding (no newlines, canonical final bits).
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, base64.CorruptInputError(0)
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}

func reqBytes(obj Value, key string) ([]byte, error) {
	v, ok := field(obj, key)
	if !ok {
		return nil, protocolErr("field %q is missing", key)
	}
	if v.Kind != String {
		return nil, protocolErr("field %q is not a string", key)
	}
	b, err := decodeBase64(v.Str)
	if err != nil {
		return nil, protocolErr("field %q is not valid base64", key)
	}
	return b, nil
}

func reqArray(obj Value, key string) ([]Value, error) {
	v, ok := field(obj, key)
	if !ok || v.Kind != Array {
		return nil, protocolErr("field %q is not an array", key)
	}
	return v.Items, nil
}

// decodeBody decodes the fields of a success response of type t.
func decodeBody(t string, obj Value) (RuntimeResponse, error) {
	var err error
	str := func(o Value, k string) string { // the first error wins
		s, e := reqStr(o, k)
		if err == nil {
			err = e
		}
		return s
	}
	switch t {
	case "pong":
		return Pong{}, nil
	case "ok":
		return OK{}, nil
	case "runtime_info":
		r := RuntimeInfo{str(obj, "version"), str(obj, "capsule_name"), str(obj, "capsule_id")}
		return r, err
	case "capability_token":
		r := CapabilityToken{Token: str(obj, "token"), TokenID: str(obj, "token_id")}
		if err != nil {
			return nil, err
		}
		r.ExpiresAt, _, err = optU64(obj, "expires_at")
		return r, err
	case "storage_data", "content":
		data, err := reqBytes(obj, "data")
		if t == "content" {
			return Content{data}, err
		}
		return StorageData{data}, err
	case "storage_list":
		items, err := reqArray(obj, "entries")
		entries := []string{}
		for _, e := range items {
			if e.Kind != String || strings.ContainsRune(e.Str, 0) {
				return nil, protocolErr(`field "entries" holds a non-string or a NUL`)
			}
			entries = append(entries, e.Str)
		}
		return StorageEntries{entries}, err
	case "messages":
		items, err := reqArray(obj, "messages")
		if err != nil {
			return nil, err
		}
		msgs := []Message{}
		for _, m := range items {
			if m.Kind != Object {
				return nil, protocolErr(`field "messages" holds a non-object`)
			}
			msg, err := decodeMessage(m)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, msg)
		}
		return Messages{msgs}, nil
	case "provider_result":
		v, ok := obj.Get("result") // null is a result like any other here
		if !ok {
			return nil, protocolErr(`field "result" is missing`)
		}
		return ProviderResult{v}, nil
	case "capsule_launched":
		r := CapsuleLaunched{str(obj, "capsule_id")}
		return r, err
	case "capsule_list":
		items, err := reqArray(obj, "capsules")
		return CapsuleList{items}, err
	case "decision_request":
		return decodeDecision(obj)
	case "provider_request":
		return decodeProviderRequest(obj)
	case "capability_granted":
		r := CapabilityGranted{str(obj, "token_id")}
		return r, err
	}
	return nil, protocolErr("unknown response type %q", clip(t))
}

func decodeMessage(m Value) (Message, error) {
	var msg Message
	var err error
	if msg.ID, err = reqStr(m, "id"); err != nil {
		return msg, err
	}
	if msg.From, err = reqStr(m, "from"); err != nil {
		return msg, err
	}
	if msg.Payload, err = reqBytes(m, "payload"); err != nil {
		return msg, err
	}
	if msg.Timestamp, err = reqU64(m, "timestamp"); err != nil {
		return msg, err
	}
	msg.ReplyTo, _, err = optStr(m, "reply_to")
	return msg, err
}

func decodeProviderRequest(obj Value) (RuntimeResponse, error) {
	var p ProviderRequest
	var err error
	if p.CallID, err = reqU64(obj, "call_id"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"scheme", &p.Scheme}, {"caller", &p.Caller}, {"caller_instance", &p.CallerInstance},
		{"resource", &p.Resource}, {"action", &p.Action}, {"op", &p.Op}} {
		if *f.dst, err = reqStr(obj, f.key); err != nil {
			return nil, err
		}
	}
	b, ok := obj.Get("body")
	if !ok {
		return nil, protocolErr(`field "body" is missing`)
	}
	p.Body = b
	return p, nil
}

func decodeDecision(obj Value) (RuntimeResponse, error) {
	var d DecisionRequest
	var err error
	if d.RequestID, err = reqU64(obj, "request_id"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"capsule_name", &d.CapsuleName}, {"capsule_id", &d.CapsuleID}, {"publisher", &d.Publisher},
		{"resource", &d.Resource}, {"action", &d.Action}} {
		if *f.dst, err = reqStr(obj, f.key); err != nil {
			return nil, err
		}
	}
	k, ok := field(obj, "constraints")
	if !ok {
		return d, nil
	}
	if k.Kind != Object {
		return nil, protocolErr(`field "constraints" is not an object`)
	}
	n, _, err := optU64(k, "max_uses")
	if err != nil {
		return nil, err
	}
	if n > 1<<32-1 {
		return nil, protocolErr(`field "max_uses" is larger than 2^32-1`)
	}
	d.Constraints.MaxUses = uint32(n)
	if d.Constraints.ExpirySecs, _, err = optU64(k, "expiry_secs"); err != nil {
		return nil, err
	}
	if b, ok := field(k, "delegatable"); ok {
		if b.Kind != Bool {
			return nil, protocolErr(`field "delegatable" is not a boolean`)
		}
		d.Constraints.Delegatable = Flag(b.Bool)
	}
	return d, nil
}
