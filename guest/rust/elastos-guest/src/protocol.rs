//! The runtime protocol's messages (`docs/protocol.md`): [`RuntimeRequest`] and its encoder,
//! [`RuntimeResponse`] and its strict decoder, and the parameter types.

use crate::base64;
use crate::error::Error;
use crate::json::{self, Value};

/// The protocol's limit on one message, in bytes (without the line transport's `\n`).
pub const MAX_MESSAGE: usize = 1_048_576;

// ---- parameters -----------------------------------------------------------------------------

/// The requested scope of a capability (`constraints` of `request_capability`; also what a
/// [`DecisionRequest`] shows the shell). Unset fields are not sent; with none set no
/// `constraints` object is sent.
///
/// ```
/// use elastos_guest::CapabilityConstraints;
/// let once = CapabilityConstraints::new().max_uses(1).expiry_secs(60);
/// assert_eq!(once.max_uses, Some(1));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapabilityConstraints {
    /// How many uses the token allows (at least 1).
    pub max_uses: Option<u32>,
    /// The token's lifetime in seconds from issue (at least 1).
    pub expiry_secs: Option<u64>,
    /// Whether the token may be delegated.
    pub delegatable: Option<bool>,
}

impl CapabilityConstraints {
    /// No constraint set.
    pub fn new() -> CapabilityConstraints {
        CapabilityConstraints::default()
    }

    /// Sets `max_uses`.
    pub fn max_uses(mut self, n: u32) -> CapabilityConstraints {
        self.max_uses = Some(n);
        self
    }

    /// Sets `expiry_secs`.
    pub fn expiry_secs(mut self, secs: u64) -> CapabilityConstraints {
        self.expiry_secs = Some(secs);
        self
    }

    /// Sets `delegatable`.
    pub fn delegatable(mut self, yes: bool) -> CapabilityConstraints {
        self.delegatable = Some(yes);
        self
    }

    /// True when no field is set (nothing would be sent).
    pub fn is_empty(&self) -> bool {
        self.max_uses.is_none() && self.expiry_secs.is_none() && self.delegatable.is_none()
    }
}

/// Resource limits for a launch (`limits` of a [`LaunchConfig`]): the names of the manifest's
/// `resource_limits`; they can only narrow the manifest's. Unset fields are not sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaunchLimits {
    /// Memory in MiB.
    pub memory_mb: Option<u64>,
    /// CPU time in milliseconds.
    pub cpu_ms: Option<u64>,
    /// Wall-clock time in milliseconds.
    pub wall_ms: Option<u64>,
}

impl LaunchLimits {
    /// True when no limit is set (no `limits` object is sent).
    pub fn is_empty(&self) -> bool {
        self.memory_mb.is_none() && self.cpu_ms.is_none() && self.wall_ms.is_none()
    }
}

/// How to launch a capsule (shell and launcher capsules): by CID and/or name, with arguments,
/// environment and narrowing limits.
///
/// ```
/// use elastos_guest::LaunchConfig;
/// let cfg = LaunchConfig::by_name("hello").arg("--flag").env("LANG", "C.UTF-8").memory_mb(64);
/// assert_eq!(cfg.name.as_deref(), Some("hello"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchConfig {
    /// The capsule's CID.
    pub cid: Option<String>,
    /// The capsule's name (at least one of `cid` and `name` is required).
    pub name: Option<String>,
    /// Its arguments (not sent when empty).
    pub args: Vec<String>,
    /// Its environment, name -> value, sent in this order as a JSON object (names must
    /// differ; not sent when empty).
    pub env: Vec<(String, String)>,
    /// Limits narrowing the manifest's (not sent when none is set).
    pub limits: LaunchLimits,
}

impl LaunchConfig {
    /// A launch of the capsule with this CID.
    pub fn by_cid(cid: impl Into<String>) -> LaunchConfig {
        LaunchConfig {
            cid: Some(cid.into()),
            ..LaunchConfig::default()
        }
    }

    /// A launch of the capsule with this name.
    pub fn by_name(name: impl Into<String>) -> LaunchConfig {
        LaunchConfig {
            name: Some(name.into()),
            ..LaunchConfig::default()
        }
    }

    /// Also sets the name (with [`by_cid`](LaunchConfig::by_cid): both are sent).
    pub fn with_name(mut self, name: impl Into<String>) -> LaunchConfig {
        self.name = Some(name.into());
        self
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl Into<String>) -> LaunchConfig {
        self.args.push(arg.into());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> LaunchConfig {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Sets `limits.memory_mb`.
    pub fn memory_mb(mut self, v: u64) -> LaunchConfig {
        self.limits.memory_mb = Some(v);
        self
    }

    /// Sets `limits.cpu_ms`.
    pub fn cpu_ms(mut self, v: u64) -> LaunchConfig {
        self.limits.cpu_ms = Some(v);
        self
    }

    /// Sets `limits.wall_ms`.
    pub fn wall_ms(mut self, v: u64) -> LaunchConfig {
        self.limits.wall_ms = Some(v);
        self
    }
}

/// The scope of a shell's grant (`grant_capability.scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantScope {
    /// A token good for one use.
    Once,
    /// A token for this instance; later identical requests in the run are granted too.
    Run,
    /// As `Run`, and the shell records a persistent policy entry.
    Always,
}

impl GrantScope {
    /// The wire name: `once`, `run` or `always`.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantScope::Once => "once",
            GrantScope::Run => "run",
            GrantScope::Always => "always",
        }
    }
}

// ---- requests -------------------------------------------------------------------------------

/// A request to the runtime: one variant per request type (the wire tag is the snake_case of
/// the variant name, see [`type_name`](RuntimeRequest::type_name)).
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeRequest {
    /// `ping` -> `pong`.
    Ping,
    /// `get_runtime_info` -> `runtime_info`.
    GetRuntimeInfo,
    /// `request_capability` -> `capability_token`.
    RequestCapability {
        /// The resource (pattern), e.g. `localhost://storage/notes/*`.
        resource: String,
        /// The action: `read`, `write`, `delete`, `execute`, `message`, ...
        action: String,
        /// The requested scope (`None`, or all fields unset: no `constraints` sent).
        constraints: Option<CapabilityConstraints>,
    },
    /// `storage_read` -> `storage_data`.
    StorageRead {
        /// A token for `read`.
        token: String,
        /// A full URI: `localhost://storage/...`.
        path: String,
    },
    /// `storage_write` -> `ok`.
    StorageWrite {
        /// A token for `write`.
        token: String,
        /// A full URI: `localhost://storage/...`.
        path: String,
        /// The bytes to write (sent as base64).
        content: Vec<u8>,
    },
    /// `storage_list` -> `storage_list`.
    StorageList {
        /// A token for `read`.
        token: String,
        /// A full URI: `localhost://storage/...`.
        path: String,
    },
    /// `storage_delete` -> `ok`.
    StorageDelete {
        /// A token for `delete`.
        token: String,
        /// A full URI: `localhost://storage/...`.
        path: String,
    },
    /// `fetch_content` -> `content`.
    FetchContent {
        /// A token for `read`.
        token: String,
        /// `elastos://cid/...`
        uri: String,
    },
    /// `send_message` -> `ok`.
    SendMessage {
        /// A token for `message`.
        token: String,
        /// The receiving capsule's name.
        to: String,
        /// The message (sent as base64).
        payload: Vec<u8>,
        /// The id of the message this one answers.
        reply_to: Option<String>,
    },
    /// `receive_messages` -> `messages`.
    ReceiveMessages {
        /// At most this many (at least 1); `None`: the runtime's default.
        max: Option<u64>,
    },
    /// `provider_call` -> `provider_result`.
    ProviderCall {
        /// A token for `execute`.
        token: String,
        /// The provider URI, e.g. `elastos://ai/chat`.
        uri: String,
        /// Any JSON value (sent compactly; at most 30 levels deep).
        body: Value,
    },
    /// `launch_capsule` -> `capsule_launched` (shell and launchers).
    LaunchCapsule {
        /// What to launch.
        config: LaunchConfig,
    },
    /// `stop_capsule` -> `ok`.
    StopCapsule {
        /// The instance to stop.
        capsule_id: String,
    },
    /// `list_capsules` -> `capsule_list`.
    ListCapsules,
    /// `get_decision_request` -> `decision_request` (shell only).
    GetDecisionRequest,
    /// `grant_capability` -> `capability_granted` (shell only).
    GrantCapability {
        /// The decision request's id.
        request_id: u64,
        /// How long the grant holds.
        scope: GrantScope,
    },
    /// `deny_capability` -> `ok` (shell only).
    DenyCapability {
        /// The decision request's id.
        request_id: u64,
        /// Why (shown to the user and audited).
        reason: String,
    },
    /// `revoke_capability` -> `ok` (shell only).
    RevokeCapability {
        /// The token's id.
        token_id: String,
    },
    /// `get_provider_call` -> `provider_request` (provider capsules only: the next call).
    GetProviderCall,
    /// `answer_provider_call` -> `ok` (provider capsules only).
    AnswerProviderCall {
        /// The call answered.
        call_id: u64,
        /// Any JSON value: the consumer's `provider_result`.
        result: Value,
    },
    /// `fail_provider_call` -> `ok` (provider capsules only).
    FailProviderCall {
        /// The call failed.
        call_id: u64,
        /// A protocol error code (`bad_request`, `not_found`, `denied`, `limit`,
        /// `unavailable`, `unsupported`, `internal`).
        code: String,
        /// The consumer reads `provider: <message>`.
        message: String,
    },
}

fn invalid(msg: &str) -> Error {
    Error::InvalidArgument(msg.to_owned())
}

/// A small writer for `{"key":value,...}` with keys in call order.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut String) -> Obj<'a> {
        out.push('{');
        Obj { out, first: true }
    }
    fn key(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        json::write_str(self.out, k);
        self.out.push(':');
        self.out
    }
    fn str(&mut self, k: &str, v: &str) {
        json::write_str(self.key(k), v);
    }
    fn u64(&mut self, k: &str, v: u64) {
        let s = v.to_string();
        self.key(k).push_str(&s);
    }
    fn bytes(&mut self, k: &str, v: &[u8]) {
        let out = self.key(k);
        out.push('"');
        base64::encode_into(out, v);
        out.push('"');
    }
    fn close(self) {
        self.out.push('}');
    }
}

impl RuntimeRequest {
    /// The wire tag (`"ping"`, `"storage_read"`, ...).
    pub fn type_name(&self) -> &'static str {
        use RuntimeRequest::*;
        match self {
            Ping => "ping",
            GetRuntimeInfo => "get_runtime_info",
            RequestCapability { .. } => "request_capability",
            StorageRead { .. } => "storage_read",
            StorageWrite { .. } => "storage_write",
            StorageList { .. } => "storage_list",
            StorageDelete { .. } => "storage_delete",
            FetchContent { .. } => "fetch_content",
            SendMessage { .. } => "send_message",
            ReceiveMessages { .. } => "receive_messages",
            ProviderCall { .. } => "provider_call",
            LaunchCapsule { .. } => "launch_capsule",
            StopCapsule { .. } => "stop_capsule",
            ListCapsules => "list_capsules",
            GetDecisionRequest => "get_decision_request",
            GrantCapability { .. } => "grant_capability",
            DenyCapability { .. } => "deny_capability",
            RevokeCapability { .. } => "revoke_capability",
            GetProviderCall => "get_provider_call",
            AnswerProviderCall { .. } => "answer_provider_call",
            FailProviderCall { .. } => "fail_provider_call",
        }
    }

    /// The tag of the success response this request gets (`"pong"` for `ping`, ...).
    pub fn response_type(&self) -> &'static str {
        use RuntimeRequest::*;
        match self {
            Ping => "pong",
            GetRuntimeInfo => "runtime_info",
            RequestCapability { .. } => "capability_token",
            StorageRead { .. } => "storage_data",
            StorageList { .. } => "storage_list",
            FetchContent { .. } => "content",
            ReceiveMessages { .. } => "messages",
            ProviderCall { .. } => "provider_result",
            LaunchCapsule { .. } => "capsule_launched",
            ListCapsules => "capsule_list",
            GetDecisionRequest => "decision_request",
            GrantCapability { .. } => "capability_granted",
            GetProviderCall => "provider_request",
            AnswerProviderCall { .. } | FailProviderCall { .. } => "ok",
            StorageWrite { .. }
            | StorageDelete { .. }
            | SendMessage { .. }
            | StopCapsule { .. }
            | DenyCapability { .. }
            | RevokeCapability { .. } => "ok",
        }
    }

    /// The request's message, `{"id":ID,"request":{"type":...}}`, in the protocol's exact
    /// encoding (keys in the documented order, no whitespace; the same bytes as the C SDK).
    /// Fails with [`Error::InvalidArgument`] for a request the protocol cannot carry: a
    /// constraint or `max` of 0, a `LaunchConfig` without cid and name or with a repeated env
    /// name, a `body` nested more than 30 levels, or a message over 1 MiB.
    pub fn encode(&self, id: u64) -> Result<String, Error> {
        use RuntimeRequest::*;
        let mut out = String::with_capacity(128);
        out.push_str("{\"id\":");
        out.push_str(&id.to_string());
        out.push_str(",\"request\":");
        let mut o = Obj::open(&mut out);
        o.str("type", self.type_name());
        match self {
            Ping | GetRuntimeInfo | ListCapsules | GetDecisionRequest | GetProviderCall => {}
            RequestCapability {
                resource,
                action,
                constraints,
            } => {
                o.str("resource", resource);
                o.str("action", action);
                if let Some(k) = constraints.as_ref().filter(|k| !k.is_empty()) {
                    if k.max_uses == Some(0) || k.expiry_secs == Some(0) {
                        return Err(invalid(
                            "constraints: max_uses and expiry_secs must be >= 1",
                        ));
                    }
                    let mut c = Obj::open(o.key("constraints"));
                    if let Some(v) = k.max_uses {
                        c.u64("max_uses", u64::from(v));
                    }
                    if let Some(v) = k.expiry_secs {
                        c.u64("expiry_secs", v);
                    }
                    if let Some(v) = k.delegatable {
                        c.key("delegatable")
                            .push_str(if v { "true" } else { "false" });
                    }
                    c.close();
                }
            }
            StorageRead { token, path }
            | StorageList { token, path }
            | StorageDelete { token, path } => {
                o.str("token", token);
                o.str("path", path);
            }
            StorageWrite {
                token,
                path,
                content,
            } => {
                o.str("token", token);
                o.str("path", path);
                check_bytes(content.len())?;
                o.bytes("content", content);
            }
            FetchContent { token, uri } => {
                o.str("token", token);
                o.str("uri", uri);
            }
            SendMessage {
                token,
                to,
                payload,
                reply_to,
            } => {
                o.str("token", token);
                o.str("to", to);
                check_bytes(payload.len())?;
                o.bytes("payload", payload);
                if let Some(r) = reply_to {
                    o.str("reply_to", r);
                }
            }
            ReceiveMessages { max } => {
                if let Some(m) = *max {
                    if m == 0 {
                        return Err(invalid("receive_messages: max must be >= 1"));
                    }
                    o.u64("max", m);
                }
            }
            ProviderCall { token, uri, body } => {
                // body sits at depth 3 of the envelope; a message nests at most 32 deep.
                if body.deeper_than(json::MAX_DEPTH - 2) {
                    return Err(invalid("provider_call body: nesting too deep"));
                }
                o.str("token", token);
                o.str("uri", uri);
                json::write_value(o.key("body"), body);
            }
            LaunchCapsule { config } => encode_config(o.key("config"), config)?,
            StopCapsule { capsule_id } => o.str("capsule_id", capsule_id),
            GrantCapability { request_id, scope } => {
                o.u64("request_id", *request_id);
                o.str("scope", scope.as_str());
            }
            DenyCapability { request_id, reason } => {
                o.u64("request_id", *request_id);
                o.str("reason", reason);
            }
            RevokeCapability { token_id } => o.str("token_id", token_id),
            AnswerProviderCall { call_id, result } => {
                if result.deeper_than(json::MAX_DEPTH - 2) {
                    return Err(invalid("answer_provider_call result: nesting too deep"));
                }
                o.u64("call_id", *call_id);
                json::write_value(o.key("result"), result);
            }
            FailProviderCall {
                call_id,
                code,
                message,
            } => {
                o.u64("call_id", *call_id);
                o.str("code", code);
                o.str("message", message);
            }
        }
        o.close();
        out.push('}');
        check_size(&out)?;
        Ok(out)
    }
}

/// Refuses byte arguments that cannot fit a message anyway (before encoding them).
pub(crate) fn check_bytes(n: usize) -> Result<(), Error> {
    if n > MAX_MESSAGE / 4 * 3 {
        Err(too_large())
    } else {
        Ok(())
    }
}

fn too_large() -> Error {
    invalid("the request exceeds the 1 MiB message limit")
}

pub(crate) fn check_size(msg: &str) -> Result<(), Error> {
    if msg.len() > MAX_MESSAGE {
        Err(too_large())
    } else {
        Ok(())
    }
}

fn encode_config(out: &mut String, c: &LaunchConfig) -> Result<(), Error> {
    if c.cid.is_none() && c.name.is_none() {
        return Err(invalid("launch config needs a cid or a name"));
    }
    for (i, (name, _)) in c.env.iter().enumerate() {
        if c.env[..i].iter().any(|(n, _)| n == name) {
            return Err(invalid("launch config: env names must differ"));
        }
    }
    let mut o = Obj::open(out);
    if let Some(cid) = &c.cid {
        o.str("cid", cid);
    }
    if let Some(name) = &c.name {
        o.str("name", name);
    }
    if !c.args.is_empty() {
        let out = o.key("args");
        out.push('[');
        for (i, a) in c.args.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::write_str(out, a);
        }
        out.push(']');
    }
    if !c.env.is_empty() {
        let mut e = Obj::open(o.key("env"));
        for (name, value) in &c.env {
            e.str(name, value);
        }
        e.close();
    }
    if !c.limits.is_empty() {
        let mut l = Obj::open(o.key("limits"));
        if let Some(v) = c.limits.memory_mb {
            l.u64("memory_mb", v);
        }
        if let Some(v) = c.limits.cpu_ms {
            l.u64("cpu_ms", v);
        }
        if let Some(v) = c.limits.wall_ms {
            l.u64("wall_ms", v);
        }
        l.close();
    }
    o.close();
    Ok(())
}

/// The envelope of a raw request: `{"id":ID,"request":REQUEST}`; `request` must be an object
/// with a string `"type"`.
pub(crate) fn encode_raw(id: u64, request: &Value) -> Result<String, Error> {
    match request.get("type") {
        Some(Value::String(_)) if request.as_object().is_some() => {}
        _ => {
            return Err(invalid(
                "a request must be an object with a string \"type\"",
            ))
        }
    }
    // The inner object sits at depth 2 of the envelope.
    if request.deeper_than(json::MAX_DEPTH - 1) {
        return Err(invalid("the request nests too deep"));
    }
    let mut out = format!("{{\"id\":{id},\"request\":");
    json::write_value(&mut out, request);
    out.push('}');
    check_size(&out)?;
    Ok(out)
}

// ---- responses ------------------------------------------------------------------------------

/// `runtime_info`: what the runtime says about itself and the capsule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// The runtime's version.
    pub version: String,
    /// The capsule's registered name.
    pub capsule_name: String,
    /// This instance's id.
    pub capsule_id: String,
}

/// `capability_token`: an issued capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityToken {
    /// The opaque token to pass to later requests.
    pub token: String,
    /// Its id (for revocation, audit).
    pub token_id: String,
    /// When it expires (Unix seconds), if it does.
    pub expires_at: Option<u64>,
}

/// One received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its id (to answer it with `reply_to`).
    pub id: String,
    /// The sending capsule's name.
    pub from: String,
    /// The bytes sent.
    pub payload: Vec<u8>,
    /// When it was sent (Unix seconds).
    pub timestamp: u64,
    /// The message it answers, if any.
    pub reply_to: Option<String>,
}

/// `decision_request`: a capsule's pending capability request, for the shell to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRequest {
    /// The id to answer with `grant_capability` / `deny_capability`.
    pub request_id: u64,
    /// The asking capsule's name.
    pub capsule_name: String,
    /// The asking instance's id.
    pub capsule_id: String,
    /// The asking capsule's publisher (`ed25519:...`).
    pub publisher: String,
    /// The resource asked for.
    pub resource: String,
    /// The action asked for.
    pub action: String,
    /// The scope asked for (all unset when none was).
    pub constraints: CapabilityConstraints,
}

/// `provider_request`: the call a provider capsule is to serve (never the consumer's token).
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRequest {
    /// The id to answer with `answer_provider_call` / `fail_provider_call`.
    pub call_id: u64,
    /// The bound scheme, `elastos://kv/`.
    pub scheme: String,
    /// The consumer's address, `NAME@PUBLISHER_ID` (set by the runtime).
    pub caller: String,
    /// The consumer's instance id.
    pub caller_instance: String,
    /// The uri the consumer's token was checked for.
    pub resource: String,
    /// The action (`execute`).
    pub action: String,
    /// The uri after the scheme (`get` in `elastos://kv/get`).
    pub op: String,
    /// The consumer's body.
    pub body: Value,
}

/// A response from the runtime: one variant per response type, plus `Error`.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeResponse {
    /// `pong`
    Pong,
    /// `runtime_info`
    RuntimeInfo(RuntimeInfo),
    /// `capability_token`
    CapabilityToken(CapabilityToken),
    /// `storage_data`
    StorageData {
        /// The bytes read.
        data: Vec<u8>,
    },
    /// `storage_list`
    StorageList {
        /// Names; directories end in `/`.
        entries: Vec<String>,
    },
    /// `content`
    Content {
        /// The bytes fetched.
        data: Vec<u8>,
    },
    /// `messages`
    Messages {
        /// The messages received.
        messages: Vec<Message>,
    },
    /// `provider_result`
    ProviderResult {
        /// Any JSON value.
        result: Value,
    },
    /// `capsule_launched`
    CapsuleLaunched {
        /// The new instance's id.
        capsule_id: String,
    },
    /// `capsule_list`
    CapsuleList {
        /// The capsules (objects whose shape the runtime defines).
        capsules: Vec<Value>,
    },
    /// `decision_request`
    DecisionRequest(DecisionRequest),
    /// `provider_request`
    ProviderRequest(ProviderRequest),
    /// `capability_granted`
    CapabilityGranted {
        /// The issued token's id.
        token_id: String,
    },
    /// `ok`
    Ok,
    /// `error`: the runtime refused the request. ([`RuntimeClient::call`](crate::RuntimeClient::call)
    /// returns this as `Err(Error::Runtime { code, message })`.)
    Error {
        /// `denied`, `not_found`, ... (never empty).
        code: String,
        /// The explanation.
        message: String,
    },
}

impl RuntimeResponse {
    /// The wire tag (`"pong"`, `"storage_data"`, ..., `"error"`).
    pub fn type_name(&self) -> &'static str {
        use RuntimeResponse::*;
        match self {
            Pong => "pong",
            RuntimeInfo(_) => "runtime_info",
            CapabilityToken(_) => "capability_token",
            StorageData { .. } => "storage_data",
            StorageList { .. } => "storage_list",
            Content { .. } => "content",
            Messages { .. } => "messages",
            ProviderResult { .. } => "provider_result",
            CapsuleLaunched { .. } => "capsule_launched",
            CapsuleList { .. } => "capsule_list",
            DecisionRequest(_) => "decision_request",
            ProviderRequest(_) => "provider_request",
            CapabilityGranted { .. } => "capability_granted",
            Ok => "ok",
            Error { .. } => "error",
        }
    }

    /// Decodes a response message `{"id":N,"response":{...}}` strictly (see
    /// `docs/protocol.md`): returns its id and the response, `RuntimeResponse::Error` for an
    /// error response. Unknown fields are ignored; an unknown type, a missing or mistyped
    /// field, invalid base64 and anything that is not strict JSON are
    /// [`Error::Protocol`](crate::Error::Protocol).
    pub fn decode(message: &[u8]) -> Result<(u64, RuntimeResponse), crate::Error> {
        let (id, body) = parse_envelope(message)?;
        let r = match body {
            Body::Error { code, message } => RuntimeResponse::Error { code, message },
            Body::Response { type_, obj } => decode_body(&type_, &obj)?,
        };
        std::result::Result::Ok((id, r))
    }
}

fn protocol(msg: String) -> Error {
    Error::Protocol(msg)
}

/// A response envelope after the checks common to every response.
pub(crate) enum Body {
    Error {
        code: String,
        message: String,
    },
    Response {
        type_: String,
        obj: Vec<(String, Value)>,
    },
}

/// Parses `{"id":N,"response":{"type":T,...}}`; an error response must have a non-empty string
/// `code` (without NUL) and a string `message`.
pub(crate) fn parse_envelope(message: &[u8]) -> Result<(u64, Body), Error> {
    if message.len() > MAX_MESSAGE {
        return Err(protocol("longer than the 1 MiB message limit".into()));
    }
    let root = json::parse(message, json::MAX_DEPTH).map_err(|e| protocol(e.to_string()))?;
    let mut members = match root {
        Value::Object(m) => m,
        _ => return Err(protocol("not a JSON object".into())),
    };
    let id = match members
        .iter()
        .find(|(k, _)| k == "id")
        .and_then(|(_, v)| v.as_u64())
    {
        Some(id) => id,
        None => return Err(protocol("no valid \"id\"".into())),
    };
    let obj = match members.iter().position(|(k, _)| k == "response") {
        Some(i) => match members.swap_remove(i).1 {
            Value::Object(o) => o,
            _ => return Err(protocol("no \"response\" object".into())),
        },
        None => return Err(protocol("no \"response\" object".into())),
    };
    let type_ = match obj.iter().find(|(k, _)| k == "type") {
        Some((_, Value::String(t))) => t.clone(),
        _ => return Err(protocol("no \"type\" string".into())),
    };
    if type_ == "error" {
        let code = obj
            .iter()
            .find(|(k, _)| k == "code")
            .and_then(|(_, v)| v.as_str());
        let msg = obj
            .iter()
            .find(|(k, _)| k == "message")
            .and_then(|(_, v)| v.as_str());
        return match (code, msg) {
            (Some(c), Some(m)) if !c.is_empty() && !c.contains('\0') => Ok((
                id,
                Body::Error {
                    code: c.to_owned(),
                    message: m.to_owned(),
                },
            )),
            _ => Err(protocol(
                "an error without string \"code\" and \"message\"".into(),
            )),
        };
    }
    Ok((id, Body::Response { type_, obj }))
}

type Obj2 = [(String, Value)];

/// A member; an optional member sent as `null` counts as absent.
fn field<'a>(obj: &'a Obj2, key: &str) -> Option<&'a Value> {
    match obj.iter().find(|(k, _)| k == key) {
        Some((_, Value::Null)) | None => None,
        Some((_, v)) => Some(v),
    }
}

fn missing(key: &str) -> Error {
    protocol(format!("field \"{key}\" is missing"))
}

/// A string field without NUL characters (as the C SDK requires of the strings it returns).
fn opt_str(obj: &Obj2, key: &str) -> Result<Option<String>, Error> {
    match field(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) if s.contains('\0') => Err(protocol(format!(
            "field \"{key}\" contains a NUL character"
        ))),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(protocol(format!("field \"{key}\" is not a string"))),
    }
}

fn req_str(obj: &Obj2, key: &str) -> Result<String, Error> {
    opt_str(obj, key)?.ok_or_else(|| missing(key))
}

fn opt_u64(obj: &Obj2, key: &str) -> Result<Option<u64>, Error> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) => Ok(Some(n)),
            None => Err(protocol(format!(
                "field \"{key}\" is not an integer in 0..2^64-1"
            ))),
        },
    }
}

fn req_u64(obj: &Obj2, key: &str) -> Result<u64, Error> {
    opt_u64(obj, key)?.ok_or_else(|| missing(key))
}

fn req_bytes(obj: &Obj2, key: &str) -> Result<Vec<u8>, Error> {
    match field(obj, key) {
        None => Err(missing(key)),
        Some(Value::String(s)) => {
            base64::decode(s).map_err(|_| protocol(format!("field \"{key}\" is not valid base64")))
        }
        Some(_) => Err(protocol(format!("field \"{key}\" is not a string"))),
    }
}

fn req_array<'a>(obj: &'a Obj2, key: &str) -> Result<&'a [Value], Error> {
    match field(obj, key) {
        Some(Value::Array(a)) => Ok(a),
        _ => Err(protocol(format!("field \"{key}\" is not an array"))),
    }
}

fn req_object<'a>(v: &'a Value, what: &str) -> Result<&'a Obj2, Error> {
    match v {
        Value::Object(o) => Ok(o),
        _ => Err(protocol(format!("field \"{what}\" holds a non-object"))),
    }
}

/// The fields of a success response of type `type_`.
pub(crate) fn decode_body(type_: &str, obj: &Obj2) -> Result<RuntimeResponse, Error> {
    use RuntimeResponse as R;
    Ok(match type_ {
        "pong" => R::Pong,
        "ok" => R::Ok,
        "runtime_info" => R::RuntimeInfo(RuntimeInfo {
            version: req_str(obj, "version")?,
            capsule_name: req_str(obj, "capsule_name")?,
            capsule_id: req_str(obj, "capsule_id")?,
        }),
        "capability_token" => R::CapabilityToken(CapabilityToken {
            token: req_str(obj, "token")?,
            token_id: req_str(obj, "token_id")?,
            expires_at: opt_u64(obj, "expires_at")?,
        }),
        "storage_data" => R::StorageData {
            data: req_bytes(obj, "data")?,
        },
        "content" => R::Content {
            data: req_bytes(obj, "data")?,
        },
        "storage_list" => {
            let mut entries = Vec::new();
            for e in req_array(obj, "entries")? {
                match e {
                    Value::String(s) if !s.contains('\0') => entries.push(s.clone()),
                    _ => {
                        return Err(protocol(
                            "field \"entries\" holds a non-string or a NUL".to_owned(),
                        ))
                    }
                }
            }
            R::StorageList { entries }
        }
        "messages" => {
            let mut messages = Vec::new();
            for m in req_array(obj, "messages")? {
                let m = req_object(m, "messages")?;
                messages.push(Message {
                    id: req_str(m, "id")?,
                    from: req_str(m, "from")?,
                    payload: req_bytes(m, "payload")?,
                    timestamp: req_u64(m, "timestamp")?,
                    reply_to: opt_str(m, "reply_to")?,
                });
            }
            R::Messages { messages }
        }
        "provider_result" => match obj.iter().find(|(k, _)| k == "result") {
            // null is a result like any other here
            Some((_, v)) => R::ProviderResult { result: v.clone() },
            None => return Err(missing("result")),
        },
        "capsule_launched" => R::CapsuleLaunched {
            capsule_id: req_str(obj, "capsule_id")?,
        },
        "capsule_list" => R::CapsuleList {
            capsules: req_array(obj, "capsules")?.to_vec(),
        },
        "decision_request" => {
            let mut d = DecisionRequest {
                request_id: req_u64(obj, "request_id")?,
                capsule_name: req_str(obj, "capsule_name")?,
                capsule_id: req_str(obj, "capsule_id")?,
                publisher: req_str(obj, "publisher")?,
                resource: req_str(obj, "resource")?,
                action: req_str(obj, "action")?,
                constraints: CapabilityConstraints::default(),
            };
            if let Some(k) = field(obj, "constraints") {
                let k = match k {
                    Value::Object(k) => k,
                    _ => return Err(protocol("field \"constraints\" is not an object".into())),
                };
                d.constraints.max_uses = match opt_u64(k, "max_uses")? {
                    None => None,
                    Some(n) => match u32::try_from(n) {
                        Ok(n) => Some(n),
                        Err(_) => {
                            return Err(protocol(
                                "field \"max_uses\" is larger than 2^32-1".to_owned(),
                            ))
                        }
                    },
                };
                d.constraints.expiry_secs = opt_u64(k, "expiry_secs")?;
                d.constraints.delegatable = match field(k, "delegatable") {
                    None => None,
                    Some(Value::Bool(b)) => Some(*b),
                    Some(_) => {
                        return Err(protocol("field \"delegatable\" is not a boolean".into()))
                    }
                };
            }
            R::DecisionRequest(d)
        }
        "provider_request" => R::ProviderRequest(ProviderRequest {
            call_id: req_u64(obj, "call_id")?,
            scheme: req_str(obj, "scheme")?,
            caller: req_str(obj, "caller")?,
            caller_instance: req_str(obj, "caller_instance")?,
            resource: req_str(obj, "resource")?,
            action: req_str(obj, "action")?,
            op: req_str(obj, "op")?,
            body: match obj.iter().find(|(k, _)| k == "body") {
                Some((_, v)) => v.clone(),
                None => return Err(missing("body")),
            },
        }),
        "capability_granted" => R::CapabilityGranted {
            token_id: req_str(obj, "token_id")?,
        },
        _ => {
            let mut shown: String = type_
                .chars()
                .take(40)
                .map(|c| {
                    if c.is_ascii_graphic() || c == ' ' {
                        c
                    } else {
                        '?'
                    }
                })
                .collect();
            if type_.chars().count() > 40 {
                shown.push_str("...");
            }
            return Err(protocol(format!("unknown response type \"{shown}\"")));
        }
    })
}
