//! ai-provider - the `elastos://ai/` provider capsule (docs/agent-capsules.md, docs/providers.md).
//!
//! Serves `chat` calls: the consumer's `{messages, max_tokens?, temperature?}` is checked and
//! rebuilt here (the operator chooses the model), sent as one OpenAI-compatible
//! chat-completions POST through the runtime's egress provider, and the server's answer parsed
//! from untrusted bytes into `{content, finish_reason?, model?, usage?}`.
//!
//! Shaped so because the core should not speak every model API: this capsule holds no secret
//! and no ambient network. Its URL and model come from the operator's binding arguments
//! (`-- --url URL --model M --timeout-ms N --max-response-bytes N`); its one network right is the
//! operator's grant for that URL (`--grant URL:write`, inside the manifest's `http://*`); the
//! credential header is attached by egress from the operator's 0600 config and masked in any
//! answer quoting it. Error messages never name the endpoint, so a consumer learns neither the
//! address nor the key.

use std::{env, process};

use elastos_guest::{base64, Error, RuntimeClient, Value};

const MAX_MESSAGES: usize = 256;
const MAX_CONTENT_BYTES: usize = 512 << 10; // all message contents of one request together
const MAX_PAYLOAD: u64 = (1 << 20) / 4 * 3 - 4096; // what egress carries in one 1 MiB message
const DEFAULT_TIMEOUT_MS: u64 = 9000; // under the runtime's 10 s deadline for a provider call
const MAX_TIMEOUT_MS: u64 = 60000;

/// The operator's binding arguments.
struct Config {
    url: String,      // what egress is asked for
    resource: String, // the token resource: scheme://host:port/path
    model: Option<String>,
    timeout_ms: u64,
    max_bytes: u64,
}

/// A failure for the consumer: a protocol code and a message that names no endpoint.
struct Fail(&'static str, String);

fn fail(code: &'static str, msg: impl Into<String>) -> Fail {
    Fail(code, msg.into())
}

/// Checks the URL (http or https, a lowercase host or [IPv6], an optional port, a path without
/// query, fragment, user information or percent-escapes) and returns (url, token resource).
fn parse_url(u: &str) -> Result<(String, String), String> {
    let (scheme, rest, port) = if let Some(r) = u.strip_prefix("http://") {
        ("http", r, "80")
    } else if let Some(r) = u.strip_prefix("https://") {
        ("https", r, "443")
    } else {
        return Err("--url must start with http:// or https://".into());
    };
    if rest.bytes().any(|c| c <= b' ' || c == 0x7f || b"?#%@\\".contains(&c)) {
        return Err("--url: no spaces, query, fragment, user information or percent-escapes".into());
    }
    let slash = rest.find('/').unwrap_or(rest.len());
    let (auth, mut path) = (&rest[..slash], rest[slash..].trim_end_matches('/').to_owned());
    let (host, port) = match auth.rfind(':') {
        Some(i) if !auth.ends_with(']') => (&auth[..i], &auth[i + 1..]),
        _ => (auth, port),
    };
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        !v6.is_empty() && v6.bytes().all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
    } else {
        !host.is_empty() && host.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
    };
    let port_ok = !port.is_empty() && port.len() <= 5 && port.bytes().all(|c| c.is_ascii_digit());
    if !host_ok || !port_ok {
        return Err("--url: a lowercase host name or [IPv6] address, then an optional :PORT".into());
    }
    if path.split('/').skip(1).any(|s| s.is_empty() || s == "." || s == "..") {
        return Err("--url: the path has an empty, . or .. segment".into());
    }
    if !path.ends_with("/chat/completions") {
        path.push_str("/chat/completions");
    }
    Ok((format!("{scheme}://{auth}{path}"), format!("{scheme}://{host}:{port}{path}")))
}

fn number(name: &str, v: Option<&String>, max: u64) -> Result<u64, String> {
    match v.and_then(|s| s.parse::<u64>().ok()) {
        Some(n) if n >= 1 && n <= max => Ok(n),
        _ => Err(format!("{name} takes a number from 1 to {max}")),
    }
}

fn parse_args(args: &[String]) -> Result<Config, String> {
    let mut cfg = Config { url: String::new(), resource: String::new(), model: None, timeout_ms: DEFAULT_TIMEOUT_MS,
                           max_bytes: MAX_PAYLOAD };
    let mut i = 0;
    while i < args.len() {
        let (flag, v) = (args[i].as_str(), args.get(i + 1));
        match flag {
            "--url" => (cfg.url, cfg.resource) = parse_url(v.ok_or("--url takes a URL")?)?,
            "--model" => {
                let m = v.ok_or("--model takes a name")?;
                if m.is_empty() || m.len() > 256 {
                    return Err("--model: 1 to 256 bytes".into());
                }
                cfg.model = Some(m.clone());
            }
            "--timeout-ms" => cfg.timeout_ms = number(flag, v, MAX_TIMEOUT_MS)?,
            "--max-response-bytes" => cfg.max_bytes = number(flag, v, MAX_PAYLOAD)?,
            _ => return Err(format!("unknown argument {flag:?} (--url, --model, --timeout-ms, --max-response-bytes)")),
        }
        i += 2;
    }
    if cfg.url.is_empty() {
        return Err("no --url: the operator binds elastos://ai/ with -- --url URL".into());
    }
    Ok(cfg)
}

fn obj(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// The consumer's body, checked and rebuilt as the server's request (JSON text).
fn build_request(cfg: &Config, body: &Value) -> Result<String, Fail> {
    let fields = body.as_object().ok_or_else(|| fail("bad_request", "body must be an object {\"messages\": [...]}"))?;
    let mut req: Vec<(&str, Value)> = Vec::new();
    if let Some(m) = &cfg.model {
        req.push(("model", Value::String(m.clone())));
    }
    let mut msgs = None;
    for (k, v) in fields {
        let in_range = match k.as_str() {
            "messages" => {
                msgs = Some(v);
                continue;
            }
            "max_tokens" => v.as_u64().is_some_and(|n| (1..=1_000_000).contains(&n)),
            "temperature" => v.as_f64().is_some_and(|t| (0.0..=2.0).contains(&t)),
            "model" => return Err(fail("bad_request", "body: the operator chooses the model")),
            _ => false,
        };
        if !in_range {
            let k: String = k.chars().take(64).collect();
            return Err(fail("bad_request", format!("body: field \"{k}\" is unknown or out of range")));
        }
        req.push((if k == "max_tokens" { "max_tokens" } else { "temperature" }, v.clone()));
    }
    let msgs = msgs.and_then(Value::as_array).filter(|m| !m.is_empty() && m.len() <= MAX_MESSAGES).ok_or_else(|| {
        fail("bad_request", format!("body.messages must be an array of 1..{MAX_MESSAGES} messages"))
    })?;
    let mut out = Vec::with_capacity(msgs.len());
    let mut total = 0usize;
    for (i, m) in msgs.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str);
        let content = m.get("content").and_then(Value::as_str);
        match (m.as_object().map(<[_]>::len), role, content) {
            (Some(2), Some(r @ ("system" | "user" | "assistant")), Some(c)) => {
                total += c.len();
                if total > MAX_CONTENT_BYTES {
                    return Err(fail("bad_request", format!("body.messages: more than {MAX_CONTENT_BYTES} bytes of content")));
                }
                out.push(obj(vec![("role", r.into()), ("content", c.into())]));
            }
            _ => {
                return Err(fail("bad_request", format!(
                    "body.messages[{i}] must be {{\"role\": system|user|assistant, \"content\": string}}")))
            }
        }
    }
    req.push(("messages", Value::Array(out)));
    req.push(("stream", Value::Bool(false)));
    let text = obj(req).to_json();
    if text.len() as u64 > MAX_PAYLOAD {
        return Err(fail("bad_request", "body.messages: the request is too large once encoded"));
    }
    Ok(text)
}

/// The server's answer (untrusted bytes) as the consumer's result.
fn parse_answer(data: &[u8]) -> Result<Value, Fail> {
    let not_json = || fail("internal", "the model server's answer is not a JSON object");
    let root = std::str::from_utf8(data).ok().and_then(|t| Value::parse(t).ok()).ok_or_else(not_json)?;
    root.as_object().ok_or_else(not_json)?;
    let c0 = root.get("choices").and_then(Value::as_array).and_then(|c| c.first()).filter(|c| c.as_object().is_some());
    let msg = c0.and_then(|c| c.get("message")).filter(|m| m.as_object().is_some());
    let (c0, msg) = match (c0, msg) {
        (Some(c0), Some(msg)) => (c0, msg),
        _ => return Err(fail("internal", "the model server's answer has no choices[0].message")),
    };
    let content = msg.get("content").and_then(Value::as_str)
        .ok_or_else(|| fail("internal", "the model server's answer has no text content"))?;
    let mut r = vec![("content", Value::from(content))];
    if let Some(f) = c0.get("finish_reason").and_then(Value::as_str).filter(|f| f.len() <= 64) {
        r.push(("finish_reason", f.into()));
    }
    if let Some(m) = root.get("model").and_then(Value::as_str).filter(|m| m.len() <= 256) {
        r.push(("model", m.into()));
    }
    let usage: Vec<(&str, Value)> = ["prompt_tokens", "completion_tokens", "total_tokens"].iter()
        .filter_map(|k| root.get("usage").and_then(|u| u.get(k)).and_then(Value::as_u64).map(|n| (*k, n.into())))
        .collect();
    if !usage.is_empty() {
        r.push(("usage", obj(usage)));
    }
    Ok(obj(r))
}

/// What an upstream HTTP error status means to the consumer.
fn http_failure(status: u64) -> Fail {
    let code = match status {
        400 => "bad_request",
        404 => "not_found",
        413 | 429 => "limit",
        _ => "internal",
    };
    let why = if status == 401 || status == 403 { " (the operator's credentials were refused)" } else { "" };
    // The server's own message is not passed on: some quote the credentials they refused.
    fail(code, format!("the model server answered HTTP {status}{why}"))
}

/// Egress's failure, told without the endpoint (its messages may name the host).
fn egress_failure(cfg: &Config, e: &Error) -> Fail {
    let msg = e.message();
    match e.code() {
        Some("limit") if msg.contains("timeout_ms") => {
            fail("limit", format!("the model server did not answer within {} ms", cfg.timeout_ms))
        }
        Some("limit") if msg.contains("max_bytes") => {
            fail("limit", format!("the model server's answer exceeds {} bytes", cfg.max_bytes))
        }
        Some("limit") => fail("limit", "the ai provider's network budget is used up"),
        Some("unavailable") => {
            let host = cfg.resource.split('/').nth(2).unwrap_or("");
            let host = &host[..host.rfind(':').unwrap_or(host.len())];
            let why = if msg.contains(host) || msg.is_empty() { "no connection" } else { msg };
            fail("internal", format!("the model server is unreachable ({why})"))
        }
        Some("unsupported") => fail("internal", "the ai provider is misconfigured on this host (egress)"),
        _ => fail("internal", "the ai provider may not reach its model server (the operator's grant or egress allow list)"),
    }
}

fn chat(rt: &mut RuntimeClient, cfg: &Config, token: &mut Option<String>, body: &Value) -> Result<Value, Fail> {
    let req = build_request(cfg, body)?;
    if token.is_none() {
        let t = rt.request_capability(&cfg.resource, "write", None).map_err(|e| {
            eprintln!("ai-provider: no token for the model server's URL ({e}): bind with --grant URL:write");
            fail("unsupported", "the ai provider holds no grant for its model server on this host")
        })?;
        *token = Some(t.token);
    }
    let call = obj(vec![
        ("method", "POST".into()),
        ("headers", obj(vec![("Content-Type", "application/json".into()), ("Accept", "application/json".into())])),
        ("body", base64::encode(req.as_bytes()).into()),
        ("max_bytes", cfg.max_bytes.into()),
        ("timeout_ms", cfg.timeout_ms.into()),
    ]);
    let res = rt.provider_call(token.as_deref().unwrap_or(""), &cfg.url, &call).map_err(|e| egress_failure(cfg, &e))?;
    let status = res.get("status").and_then(Value::as_u64).unwrap_or(0);
    if !(200..=299).contains(&status) {
        return Err(http_failure(status));
    }
    let data = res.get("body").and_then(Value::as_str).and_then(|b| base64::decode(b).ok())
        .ok_or_else(|| fail("internal", "egress answered without a body"))?;
    parse_answer(&data)
}

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    let cfg = parse_args(&args);
    if let Err(e) = &cfg {
        eprintln!("ai-provider: {e}"); // for the operator; the consumer reads less
    }
    let mut rt = match RuntimeClient::open() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ai-provider: {e}");
            process::exit(2);
        }
    };
    let mut token = None;
    for served in 0u64.. {
        let call = match rt.get_provider_call() {
            Ok(call) => call,
            Err(Error::Runtime { code, .. }) if code == "not_found" && served > 0 => return, // no more calls
            Err(e) => {
                eprintln!("ai-provider: get_provider_call: {e}");
                process::exit(1);
            }
        };
        let out = match &cfg {
            Err(_) => Err(fail("internal", "the ai provider is misconfigured on this host")),
            Ok(_) if call.op != "chat" => {
                let op: String = call.op.chars().take(64).collect();
                Err(fail("not_found", format!("the ai provider has no operation \"{op}\" (only chat)")))
            }
            Ok(cfg) => chat(&mut rt, cfg, &mut token, &call.body),
        };
        let done = match out {
            Ok(v) => rt.answer_provider_call(call.call_id, &v),
            Err(Fail(code, msg)) => rt.fail_provider_call(call.call_id, code, &msg),
        };
        if let Err(e) = done {
            eprintln!("ai-provider: answering: {e}");
            process::exit(1);
        }
    }
}
