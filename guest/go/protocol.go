// protocol.go - the runtime protocol's messages (docs/protocol.md): RuntimeRequest and its
// encoder, RuntimeResponse and its strict decoder, and the parameter types. The encoder writes
// the exact bytes of the C and Rust SDKs (keys in the documented order, no whitespace);
// tests/data/protocol-vectors.txt proves it (vectors_test.go).
package elastos

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxMessage is the protocol's limit on one message, in bytes (without the line transport's
// "\n").
const MaxMessage = 1 << 20

// ---- parameters ------------------------------------------------------------------------

// CapabilityConstraints is the requested scope of a capability (request_capability's
// constraints; also what a DecisionRequest shows the shell). Zero fields are unset and not
// sent (max_uses and expiry_secs are at least 1 on the wire); with none set no constraints
// object is sent.
type CapabilityConstraints struct {
	MaxUses     uint32 // how many uses the token allows; 0: unset
	ExpirySecs  uint64 // the token's lifetime in seconds from issue; 0: unset
	Delegatable *bool  // whether the token may be delegated; nil: unset (see Flag)
}

// Flag returns a pointer to b, for CapabilityConstraints.Delegatable.
func Flag(b bool) *bool { return &b }

// IsEmpty reports whether no constraint is set.
func (k CapabilityConstraints) IsEmpty() bool {
	return k.MaxUses == 0 && k.ExpirySecs == 0 && k.Delegatable == nil
}

// LaunchLimits narrow the launched capsule's manifest resource_limits (0: unset, not sent).
type LaunchLimits struct {
	MemoryMB uint64
	CPUMs    uint64
	WallMs   uint64
}

// EnvVar is one environment variable of a LaunchConfig.
type EnvVar struct {
	Name, Value string
}

// LaunchConfig says how to launch a capsule (shell and launcher capsules): by CID and/or name
// (at least one), with arguments, environment (sent in order; names must differ) and narrowing
// limits. Empty Args, Env and Limits are not sent.
type LaunchConfig struct {
	CID    string
	Name   string
	Args   []string
	Env    []EnvVar
	Limits LaunchLimits
}

// GrantScope is the scope of a shell's grant.
type GrantScope string

// The grant scopes (docs/protocol.md "The shell").
const (
	ScopeOnce   GrantScope = "once"   // a token good for one use
	ScopeRun    GrantScope = "run"    // a token for this instance; later identical requests granted too
	ScopeAlways GrantScope = "always" // as ScopeRun, and the shell records a persistent policy entry
)

// ---- requests --------------------------------------------------------------------------

// RuntimeRequest is one of the request types below (Ping, GetRuntimeInfo, RequestCapability,
// ...). The set is closed: the interface has unexported methods.
type RuntimeRequest interface {
	// RequestType is the wire tag ("ping", "storage_read", ...).
	RequestType() string
	// responseType is the tag of the request's success response.
	responseType() string
	encodeFields(o *objWriter) error
}

// The requests, one type each; fields in encoding order. An empty optional string (ReplyTo)
// and a zero Max are not sent.
type (
	Ping              struct{}
	GetRuntimeInfo    struct{}
	RequestCapability struct {
		Resource, Action string
		Constraints      CapabilityConstraints
	}
	StorageRead  struct{ Token, Path string }
	StorageWrite struct {
		Token, Path string
		Content     []byte
	}
	StorageList   struct{ Token, Path string }
	StorageDelete struct{ Token, Path string }
	FetchContent  struct{ Token, URI string }
	SendMessage   struct {
		Token, To string
		Payload   []byte
		ReplyTo   string
	}
	ReceiveMessages struct{ Max uint64 }
	ProviderCall    struct {
		Token, URI string
		Body       Value
	}
	LaunchCapsule      struct{ Config LaunchConfig }
	StopCapsule        struct{ CapsuleID string }
	ListCapsules       struct{}
	GetDecisionRequest struct{}
	GrantCapability    struct {
		RequestID uint64
		Scope     GrantScope
	}
	DenyCapability struct {
		RequestID uint64
		Reason    string
	}
	RevokeCapability struct{ TokenID string }
	// GetProviderCall (provider capsules only): the next call to serve.
	GetProviderCall    struct{}
	AnswerProviderCall struct {
		CallID uint64
		Result Value
	}
	FailProviderCall struct {
		CallID        uint64
		Code, Message string
	}
)

func (Ping) RequestType() string               { return "ping" }
func (GetRuntimeInfo) RequestType() string     { return "get_runtime_info" }
func (RequestCapability) RequestType() string  { return "request_capability" }
func (StorageRead) RequestType() string        { return "storage_read" }
func (StorageWrite) RequestType() string       { return "storage_write" }
func (StorageList) RequestType() string        { return "storage_list" }
func (StorageDelete) RequestType() string      { return "storage_delete" }
func (FetchContent) RequestType() string       { return "fetch_content" }
func (SendMessage) RequestType() string        { return "send_message" }
func (ReceiveMessages) RequestType() string    { return "receive_messages" }
func (ProviderCall) RequestType() string       { return "provider_call" }
func (LaunchCapsule) RequestType() string      { return "launch_capsule" }
func (StopCapsule) RequestType() string        { return "stop_capsule" }
func (ListCapsules) RequestType() string       { return "list_capsules" }
func (GetDecisionRequest) RequestType() string { return "get_decision_request" }
func (GrantCapability) RequestType() string    { return "grant_capability" }
func (DenyCapability) RequestType() string     { return "deny_capability" }
func (RevokeCapability) RequestType() string   { return "revoke_capability" }
func (GetProviderCall) RequestType() string    { return "get_provider_call" }
func (AnswerProviderCall) RequestType() string { return "answer_provider_call" }
func (FailProviderCall) RequestType() string   { return "fail_provider_call" }

func (Ping) responseType() string               { return "pong" }
func (GetRuntimeInfo) responseType() string     { return "runtime_info" }
func (RequestCapability) responseType() string  { return "capability_token" }
func (StorageRead) responseType() string        { return "storage_data" }
func (StorageWrite) responseType() string       { return "ok" }
func (StorageList) responseType() string        { return "storage_list" }
func (StorageDelete) responseType() string      { return "ok" }
func (FetchContent) responseType() string       { return "content" }
func (SendMessage) responseType() string        { return "ok" }
func (ReceiveMessages) responseType() string    { return "messages" }
func (ProviderCall) responseType() string       { return "provider_result" }
func (LaunchCapsule) responseType() string      { return "capsule_launched" }
func (StopCapsule) responseType() string        { return "ok" }
func (ListCapsules) responseType() string       { return "capsule_list" }
func (GetDecisionRequest) responseType() string { return "decision_request" }
func (GrantCapability) responseType() string    { return "capability_granted" }
func (DenyCapability) responseType() string     { return "ok" }
func (RevokeCapability) responseType() string   { return "ok" }
func (GetProviderCall) responseType() string    { return "provider_request" }
func (AnswerProviderCall) responseType() string { return "ok" }
func (FailProviderCall) responseType() string   { return "ok" }

// objWriter writes one JSON object's members; the first invalid string it is given is kept
// as err (strings must be UTF-8).
type objWriter struct {
	b     *strings.Builder
	first bool
	err   error
}

func openObj(b *strings.Builder) *objWriter {
	b.WriteByte('{')
	return &objWriter{b: b, first: true}
}

func (o *objWriter) key(k string) *strings.Builder {
	if !o.first {
		o.b.WriteByte(',')
	}
	o.first = false
	writeString(o.b, k)
	o.b.WriteByte(':')
	return o.b
}

func (o *objWriter) str(k, v string) {
	if !utf8.ValidString(v) && o.err == nil {
		o.err = invalidErr("%s: not valid UTF-8", k)
	}
	writeString(o.key(k), v)
}

func (o *objWriter) u64(k string, v uint64) { o.key(k).WriteString(strconv.FormatUint(v, 10)) }

func (o *objWriter) bytes(k string, v []byte) {
	b := o.key(k)
	b.WriteByte('"')
	b.WriteString(base64.StdEncoding.EncodeToString(v))
	b.WriteByte('"')
}

func (o *objWriter) close() { o.b.WriteByte('}') }

// checkBytes refuses byte arguments that cannot fit a message anyway (before encoding them).
func checkBytes(n int) error {
	if n > MaxMessage/4*3 {
		return errTooLarge()
	}
	return nil
}

func errTooLarge() error { return invalidErr("the request exceeds the 1 MiB message limit") }

func (r Ping) encodeFields(*objWriter) error               { return nil }
func (r GetRuntimeInfo) encodeFields(*objWriter) error     { return nil }
func (r ListCapsules) encodeFields(*objWriter) error       { return nil }
func (r GetDecisionRequest) encodeFields(*objWriter) error { return nil }

func (r RequestCapability) encodeFields(o *objWriter) error {
	o.str("resource", r.Resource)
	o.str("action", r.Action)
	if k := r.Constraints; !k.IsEmpty() {
		c := openObj(o.key("constraints"))
		if k.MaxUses != 0 {
			c.u64("max_uses", uint64(k.MaxUses))
		}
		if k.ExpirySecs != 0 {
			c.u64("expiry_secs", k.ExpirySecs)
		}
		if k.Delegatable != nil {
			c.key("delegatable").WriteString(strconv.FormatBool(*k.Delegatable))
		}
		c.close()
	}
	return nil
}

func (r StorageRead) encodeFields(o *objWriter) error   { return tokenPath(o, r.Token, r.Path) }
func (r StorageList) encodeFields(o *objWriter) error   { return tokenPath(o, r.Token, r.Path) }
func (r StorageDelete) encodeFields(o *objWriter) error { return tokenPath(o, r.Token, r.Path) }

func tokenPath(o *objWriter, token, path string) error {
	o.str("token", token)
	o.str("path", path)
	return nil
}

func (r StorageWrite) encodeFields(o *objWriter) error {
	if err := checkBytes(len(r.Content)); err != nil {
		return err
	}
	o.str("token", r.Token)
	o.str("path", r.Path)
	o.bytes("content", r.Content)
	return nil
}

func (r FetchContent) encodeFields(o *objWriter) error {
	o.str("token", r.Token)
	o.str("uri", r.URI)
	return nil
}

func (r SendMessage) encodeFields(o *objWriter) error {
	if err := checkBytes(len(r.Payload)); err != nil {
		return err
	}
	o.str("token", r.Token)
	o.str("to", r.To)
	o.bytes("payload", r.Payload)
	if r.ReplyTo != "" {
		o.str("reply_to", r.ReplyTo)
	}
	return nil
}

func (r ReceiveMessages) encodeFields(o *objWriter) error {
	if r.Max != 0 {
		o.u64("max", r.Max)
	}
	return nil
}

func (r ProviderCall) encodeFields(o *objWriter) error {
	// body sits at depth 3 of the envelope; a message nests at most MaxDepth deep.
	if r.Body.depth() > MaxDepth-2 {
		return invalidErr("provider_call body: nesting too deep")
	}
	if err := r.Body.validUTF8(); err != nil {
		return err
	}
	o.str("token", r.Token)
	o.str("uri", r.URI)
	writeValue(o.key("body"), r.Body)
	return nil
}

func (r LaunchCapsule) encodeFields(o *objWriter) error {
	c := r.Config
	if c.CID == "" && c.Name == "" {
		return invalidErr("launch config needs a cid or a name")
	}
	for i, e := range c.Env {
		for _, f := range c.Env[:i] {
			if f.Name == e.Name {
				return invalidErr("launch config: env names must differ")
			}
		}
	}
	w := openObj(o.key("config"))
	if c.CID != "" {
		w.str("cid", c.CID)
	}
	if c.Name != "" {
		w.str("name", c.Name)
	}
	if len(c.Args) > 0 {
		b := w.key("args")
		b.WriteByte('[')
		for i, a := range c.Args {
			if i > 0 {
				b.WriteByte(',')
			}
			if !utf8.ValidString(a) {
				return invalidErr("args: not valid UTF-8")
			}
			writeString(b, a)
		}
		b.WriteByte(']')
	}
	if len(c.Env) > 0 {
		e := openObj(w.key("env"))
		for _, v := range c.Env {
			if !utf8.ValidString(v.Name) {
				return invalidErr("env: not valid UTF-8")
			}
			e.str(v.Name, v.Value)
		}
		e.close()
		if e.err != nil {
			return e.err
		}
	}
	if l := c.Limits; l != (LaunchLimits{}) {
		lw := openObj(w.key("limits"))
		if l.MemoryMB != 0 {
			lw.u64("memory_mb", l.MemoryMB)
		}
		if l.CPUMs != 0 {
			lw.u64("cpu_ms", l.CPUMs)
		}
		if l.WallMs != 0 {
			lw.u64("wall_ms", l.WallMs)
		}
		lw.close()
	}
	w.close()
	return w.err
}

func (r StopCapsule) encodeFields(o *objWriter) error {
	o.str("capsule_id", r.CapsuleID)
	return nil
}

func (r GrantCapability) encodeFields(o *objWriter) error {
	switch r.Scope {
	case ScopeOnce, ScopeRun, ScopeAlways:
	default:
		return invalidErr("grant scope must be once, run or always")
	}
	o.u64("request_id", r.RequestID)
	o.str("scope", string(r.Scope))
	return nil
}

func (r DenyCapability) encodeFields(o *objWriter) error {
	o.u64("request_id", r.RequestID)
	o.str("reason", r.Reason)
	return nil
}

func (r RevokeCapability) encodeFields(o *objWriter) error {
	o.str("token_id", r.TokenID)
	return nil
}

func (r GetProviderCall) encodeFields(*objWriter) error { return nil }

func (r AnswerProviderCall) encodeFields(o *objWriter) error {
	if r.Result.depth() > MaxDepth-2 {
		return invalidErr("answer_provider_call result: nesting too deep")
	}
	if err := r.Result.validUTF8(); err != nil {
		return err
	}
	o.u64("call_id", r.CallID)
	writeValue(o.key("result"), r.Result)
	return nil
}

func (r FailProviderCall) encodeFields(o *objWriter) error {
	o.u64("call_id", r.CallID)
	o.str("code", r.Code)
	o.str("message", r.Message)
	return nil
}

// validUTF8 checks every string and key in v.
func (v Value) validUTF8() error {
	if v.Kind == String && !utf8.ValidString(v.Str) {
		return invalidErr("a JSON string is not valid UTF-8")
	}
	for _, it := range v.Items {
		if err := it.validUTF8(); err != nil {
			return err
		}
	}
	for _, m := range v.Members {
		if !utf8.ValidString(m.Key) {
			return invalidErr("a JSON key is not valid UTF-8")
		}
		if err := m.Value.validUTF8(); err != nil {
			return err
		}
	}
	return nil
}

// EncodeRequest is the message for req with this id, {"id":ID,"request":{"type":...}}, in the
// protocol's canonical encoding. It fails (ErrInvalidArgument) for a request the protocol
// cannot carry: a LaunchConfig without cid and name or with a repeated env name, an unknown
// grant scope, a body nested too deep, a string that is not UTF-8, or a message over 1 MiB.
func EncodeRequest(id uint64, req RuntimeRequest) ([]byte, error) {
	var b strings.Builder
	b.WriteString(`{"id":`)
	b.WriteString(strconv.FormatUint(id, 10))
	b.WriteString(`,"request":`)
	o := openObj(&b)
	o.str("type", req.RequestType())
	if err := req.encodeFields(o); err != nil {
		return nil, err
	}
	if o.err != nil {
		return nil, o.err
	}
	o.close()
	b.WriteByte('}')
	if b.Len() > MaxMessage {
		return nil, errTooLarge()
	}
	return []byte(b.String()), nil
}

// encodeRaw is the envelope of a raw request object (which must have a string "type").
func encodeRaw(id uint64, req Value) ([]byte, error) {
	if t, ok := req.Get("type"); req.Kind != Object || !ok || t.Kind != String {
		return nil, invalidErr(`a request must be an object with a string "type"`)
	}
	if req.depth() > MaxDepth-1 {
		return nil, invalidErr("the request nests too deep")
	}
	if err := req.validUTF8(); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(`{"id":`)
	b.WriteString(strconv.FormatUint(id, 10))
	b.WriteString(`,"request":`)
	writeValue(&b, req)
	b.WriteByte('}')
	if b.Len() > MaxMessage {
		return nil, errTooLarge()
	}
	return []byte(b.String()), nil
}
