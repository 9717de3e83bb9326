//! Shared by the integration tests: the protocol vectors, the calls each describes (mirroring
//! tests/unit/test_guest_sdk.c), a fake runtime on a socketpair, and an in-memory stream.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use elastos_guest::{CapabilityConstraints, Error, GrantScope, LaunchConfig, RuntimeClient, Value};

/// E of protocol-vectors.txt: quote, backslash, short escapes, control bytes, DEL, UTF-8.
pub const E: &str =
    "We\"ird\\name\n\t\r\u{8}\u{c}\u{1}\u{1f}\u{7f} \u{e9}\u{65e5}\u{672c}\u{1F600}/";
pub const CID: &str = "bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq";
pub const PUB: &str = "ed25519:3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";

pub struct Vector {
    pub is_request: bool,
    pub name: String,
    pub json: String,
}

/// tests/data/protocol-vectors.txt, in file order.
pub fn load_vectors() -> Vec<Vector> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../tests/data/protocol-vectors.txt"
    );
    let text = std::fs::read_to_string(path).expect("reading protocol-vectors.txt");
    let mut out = Vec::new();
    for line in text.split('\n') {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, ' ');
        let kind = parts.next().unwrap();
        let name = parts.next().expect("vector name");
        let json = parts.next().expect("vector JSON");
        assert!(
            kind == "request" || kind == "response",
            "bad vector line: {line}"
        );
        out.push(Vector {
            is_request: kind == "request",
            name: name.into(),
            json: json.into(),
        });
    }
    out
}

fn runtime_error(r: Result<impl std::fmt::Debug, Error>, code: &str, message: &str) {
    match r {
        Err(Error::Runtime {
            code: c,
            message: m,
        }) => {
            assert_eq!(c, code);
            assert_eq!(m, message);
        }
        other => panic!("expected a runtime error {code}, got {other:?}"),
    }
}

/// The call vector `name` describes, with the decoded values checked. False for an unknown
/// vector name.
pub fn run_vector(name: &str, c: &mut RuntimeClient) -> bool {
    let cap = |c: &mut RuntimeClient, res: &str, act: &str, k: Option<&CapabilityConstraints>| {
        c.request_capability(res, act, k).unwrap()
    };
    let write = |c: &mut RuntimeClient, d: &[u8]| {
        c.storage_write("tok.AAA", "localhost://storage/notes/a.bin", d)
            .unwrap()
    };
    match name {
        "ping" => c.ping().unwrap(),
        "get_runtime_info" => {
            let i = c.runtime_info().unwrap();
            assert_eq!(
                (i.version.as_str(), i.capsule_name.as_str()),
                ("0.1.0", "hello")
            );
            assert_eq!(i.capsule_id, "hello-7f3a");
        }
        "request_capability" => {
            let t = cap(c, "localhost://storage/notes/*", "read", None);
            assert_eq!(
                (t.token.as_str(), t.token_id.as_str(), t.expires_at),
                ("tok.AAA", "tid-1", None)
            );
        }
        "request_capability_constraints" => {
            let k = CapabilityConstraints::new()
                .max_uses(3)
                .expiry_secs(3600)
                .delegatable(false);
            let t = cap(c, "elastos://ai/chat", "execute", Some(&k));
            assert_eq!(
                (t.token.as_str(), t.token_id.as_str()),
                ("tok.BBB", "tid-2")
            );
            assert_eq!(t.expires_at, Some(1767225600));
        }
        "request_capability_delegatable" => {
            let k = CapabilityConstraints::new().delegatable(true);
            let t = cap(c, "localhost://storage/shared/*", "write", Some(&k));
            assert_eq!(
                (t.token.as_str(), t.token_id.as_str(), t.expires_at),
                ("tok.CCC", "tid-3", None)
            );
        }
        "request_capability_unset" => {
            let k = CapabilityConstraints::new();
            let t = cap(c, "elastos://cid/*", "read", Some(&k));
            assert_eq!(
                (t.token.as_str(), t.token_id.as_str()),
                ("tok.DDD", "tid-4")
            );
        }
        "storage_read" => {
            let d = c
                .storage_read("tok.AAA", "localhost://storage/notes/today.txt")
                .unwrap();
            assert_eq!(d, b"Hello, world!");
        }
        "storage_read_escapes" => {
            let d = c
                .storage_read("tok.AAA", &format!("localhost://storage/{E}"))
                .unwrap();
            assert!(d.is_empty());
        }
        "storage_write_pad0" => write(c, b"abc"),
        "storage_write_pad1" => write(c, b"hello"),
        "storage_write_pad2" => write(c, &[0x00, 0x01, 0xfe, 0xff]),
        "storage_write_empty" => write(c, &[]),
        "storage_list" => {
            let e = c
                .storage_list("tok.AAA", "localhost://storage/notes")
                .unwrap();
            assert_eq!(e, ["a.txt", "sub/", "caf\u{e9} \"q\".txt"]);
        }
        "storage_list_empty" => {
            assert!(c
                .storage_list("tok.AAA", "localhost://storage/empty")
                .unwrap()
                .is_empty())
        }
        "storage_delete" => c
            .storage_delete("tok.AAA", "localhost://storage/notes/a.bin")
            .unwrap(),
        "fetch_content" => {
            let d = c
                .fetch_content("tok.AAA", &format!("elastos://cid/{CID}"))
                .unwrap();
            assert_eq!(d, b"Hello world");
        }
        "send_message" => c
            .send_message("tok.AAA", "peer", &[0xff, 0x00, 0x80, 0x7f, 0x41], None)
            .unwrap(),
        "send_message_reply" => c.send_message("tok.AAA", E, b"hi", Some("msg-7")).unwrap(),
        "receive_messages" => {
            let m = c.receive_messages(Some(10)).unwrap();
            assert_eq!(m.len(), 2);
            assert_eq!((m[0].id.as_str(), m[0].from.as_str()), ("msg-1", "peer"));
            assert_eq!(
                (m[0].payload.as_slice(), m[0].timestamp),
                (&b"hi"[..], 1767225600)
            );
            assert_eq!(m[0].reply_to, None);
            assert_eq!(
                (m[1].id.as_str(), m[1].from.as_str()),
                ("msg-2", "caf\u{e9}")
            );
            assert_eq!((m[1].payload.as_slice(), m[1].timestamp), (&b"abc"[..], 0));
            assert_eq!(m[1].reply_to.as_deref(), Some("msg-7"));
        }
        "receive_messages_default" => assert!(c.receive_messages(None).unwrap().is_empty()),
        "provider_call" => {
            // Whitespace, a raw newline, \/ and needless \u escapes: all normalized away.
            let body = concat!(
                "{ \"model\" : \"llama\", \"messages\" : [ { \"role\" : \"user\", \"content\" : ",
                "\"We\\\"ird\\\\name\\n\\t\\r\\b\\f\\u0001\\u001F\\u007f \\u00e9\u{65e5}\u{672c}",
                "\\ud83d\\ude00\\/\" } ],\n \"temperature\" : 0.7, \"max_tokens\" : 256,\t\"stream\" : ",
                "false, \"stop\" : null, \"n\" : -1 }"
            );
            let body = Value::parse(body).unwrap();
            let r = c
                .provider_call("tok.AAA", "elastos://ai/chat", &body)
                .unwrap();
            assert_eq!(
                r.to_json(),
                "{\"text\":\"caf\u{e9} \u{1F600}\",\"tokens\":[1,2,3],\"score\":-1.5e3,\"done\":true,\"extra\":null}"
            );
            assert_eq!(r.get("score").and_then(Value::as_f64), Some(-1500.0));
        }
        "provider_call_empty" => {
            let r = c.provider_call(
                "tok.AAA",
                "elastos://ai/models",
                &Value::parse("{ }").unwrap(),
            );
            assert_eq!(r.unwrap(), Value::from("plain"));
        }
        "launch_capsule" => {
            let cfg = LaunchConfig::by_cid(CID)
                .arg("--flag")
                .arg(E)
                .arg("")
                .env("LANG", "C.UTF-8")
                .env("GREETING", "h\u{e9}llo \"x\"")
                .memory_mb(64)
                .wall_ms(5000);
            assert_eq!(c.launch_capsule(&cfg).unwrap(), "hello-0002");
        }
        "launch_capsule_name" => {
            assert_eq!(
                c.launch_capsule(&LaunchConfig::by_name("hello")).unwrap(),
                "hello-0003"
            )
        }
        "launch_capsule_limits" => {
            let cfg = LaunchConfig::by_cid(CID)
                .with_name("hello")
                .memory_mb(16)
                .cpu_ms(1000)
                .wall_ms(2000);
            assert_eq!(c.launch_capsule(&cfg).unwrap(), "hello-0004");
        }
        "stop_capsule" => c.stop_capsule("hello-0002").unwrap(),
        "list_capsules" => {
            let l = c.list_capsules().unwrap();
            assert_eq!(
                Value::Array(l).to_json(),
                "[{\"capsule_id\":\"hello-0003\",\"name\":\"hello\",\"state\":\"running\"}]"
            );
        }
        "list_capsules_empty" => assert!(c.list_capsules().unwrap().is_empty()),
        "get_decision_request" => {
            let d = c.get_decision_request().unwrap();
            assert_eq!(d.request_id, 42);
            assert_eq!(
                (d.capsule_name.as_str(), d.capsule_id.as_str()),
                ("notes", "notes-0001")
            );
            assert_eq!(d.publisher, PUB);
            assert_eq!(
                (d.resource.as_str(), d.action.as_str()),
                ("localhost://storage/notes/*", "write")
            );
            assert_eq!(
                d.constraints,
                CapabilityConstraints::new()
                    .max_uses(1)
                    .expiry_secs(60)
                    .delegatable(false)
            );
        }
        "get_decision_request_unconstrained" => {
            let d = c.get_decision_request().unwrap();
            assert_eq!(d.request_id, u64::MAX);
            assert_eq!(
                (d.capsule_name.as_str(), d.capsule_id.as_str()),
                ("caf\u{e9}", "cafe-0009")
            );
            assert_eq!(d.publisher, PUB);
            assert_eq!(
                (d.resource.as_str(), d.action.as_str()),
                ("elastos://ai/chat", "execute")
            );
            assert!(d.constraints.is_empty());
        }
        "grant_capability" => {
            assert_eq!(c.grant_capability(42, GrantScope::Once).unwrap(), "tid-42")
        }
        "deny_capability" => c.deny_capability(u64::MAX, E).unwrap(),
        "revoke_capability" => c.revoke_capability("tid-42").unwrap(),
        "storage_read_denied" => runtime_error(
            c.storage_read("tok.AAA", "localhost://storage/secret.txt"),
            "denied",
            "no token covers localhost://storage/secret.txt for read",
        ),
        "storage_write_limit" => runtime_error(
            c.storage_write("tok.AAA", "localhost://storage/big.bin", b"abc"),
            "limit",
            "quota \"64 MiB\" exceeded\n\u{e9}",
        ),
        "fetch_content_expired" => runtime_error(
            c.fetch_content("tok.OLD", &format!("elastos://cid/{CID}")),
            "expired",
            "token expired",
        ),
        "revoke_capability_unknown" => runtime_error(
            c.revoke_capability("tid-999"),
            "not_found",
            "no token tid-999",
        ),
        "send_message_revoked" => runtime_error(
            c.send_message("tok.REV", "peer", b"hi", None),
            "revoked",
            "token tid-7 was revoked",
        ),
        "get_provider_call" => {
            let p = c.get_provider_call().unwrap();
            assert_eq!(p.call_id, 7);
            assert_eq!(p.scheme, "elastos://kv/");
            assert_eq!(p.caller, "kv-cli@a7b3d8fd6543d43f");
            assert_eq!(p.caller_instance, "a353d75764540f19771ce05531e989ff");
            assert_eq!(p.resource, "elastos://kv/get");
            assert_eq!(p.action, "execute");
            assert_eq!(p.op, "get");
            assert_eq!(p.body.to_json(), "{\"key\":\"caf\u{e9}\",\"n\":[1,-2.5e1,null]}");
        }
        "answer_provider_call" => {
            let r = Value::parse(&format!(
                "{{ \"value\" : {} , \"ok\" : true }}",
                Value::from(E).to_json()
            ))
            .unwrap();
            c.answer_provider_call(7, &r).unwrap()
        }
        "fail_provider_call" => c.fail_provider_call(u64::MAX, "not_found", E).unwrap(),
        _ => return false,
    }
    true
}

/// The number of vector names run_vector knows.
pub const N_HANDLERS: usize = 41;

/// Runs the whole vector session: `c` issues every request vector's call in file order while
/// a runtime thread on `peer` checks each request line and answers with the vector's response.
/// Returns the id the next request will carry.
pub fn vector_session(c: &mut RuntimeClient, peer: UnixStream) -> u64 {
    let vectors = load_vectors();
    let mut script = Vec::new(); // (name, request, response)
    for (i, rq) in vectors.iter().enumerate().filter(|(_, v)| v.is_request) {
        let rs = vectors
            .iter()
            .find(|v| !v.is_request && v.name == rq.name)
            .unwrap_or_else(|| panic!("vector {}: no response", rq.name));
        assert!(
            rq.json
                .starts_with(&format!("{{\"id\":{},", script.len() + 1)),
            "vector #{i} {}: the file's ids run 1, 2, 3, ...",
            rq.name
        );
        script.push((rq.name.clone(), rq.json.clone(), rs.json.clone()));
    }
    assert_eq!(script.len(), N_HANDLERS);
    let responses: Vec<String> = script.iter().map(|s| s.2.clone()).collect();
    let rt = thread::spawn(move || {
        let mut w = peer.try_clone().unwrap();
        let mut r = BufReader::new(peer);
        let mut got = Vec::new();
        for resp in responses {
            let mut line = Vec::new();
            if r.read_until(b'\n', &mut line).unwrap() == 0 {
                break;
            }
            got.push(line);
            w.write_all(format!("{resp}\n").as_bytes()).unwrap();
        }
        got
    });
    for (name, _, _) in &script {
        assert!(run_vector(name, c), "vector {name}: no handler");
    }
    let got = rt.join().unwrap();
    assert_eq!(got.len(), script.len());
    let mut bad = Vec::new();
    for ((name, expect, _), line) in script.iter().zip(&got) {
        let want = format!("{expect}\n");
        if line != want.as_bytes() {
            bad.push(format!(
                "vector {name}:\n  expected {expect}\n  got      {}",
                String::from_utf8_lossy(line)
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    script.len() as u64 + 1
}

// ---- a fake runtime on a socketpair ----------------------------------------------------------

pub struct FakeRuntime {
    handle: JoinHandle<Vec<u8>>,
}

pub struct RtOptions {
    pub read_request: bool,
    pub dribble: bool,
    pub close_after: bool,
}

impl Default for RtOptions {
    fn default() -> RtOptions {
        RtOptions {
            read_request: true,
            dribble: false,
            close_after: false,
        }
    }
}

impl FakeRuntime {
    /// A runtime thread on `peer`: reads one request line, then sends `resp` as it is (one
    /// byte at a time with `dribble`), then shuts its write side with `close_after`.
    pub fn start(peer: &UnixStream, resp: Vec<u8>, o: RtOptions) -> FakeRuntime {
        let peer = peer.try_clone().unwrap();
        let handle = thread::spawn(move || {
            let mut req = Vec::new();
            let mut w = peer.try_clone().unwrap();
            if o.read_request {
                let mut r = BufReader::new(peer.try_clone().unwrap());
                if r.read_until(b'\n', &mut req).unwrap_or(0) == 0 {
                    return req;
                }
            }
            if o.dribble {
                for b in &resp {
                    if w.write_all(std::slice::from_ref(b)).is_err() {
                        break;
                    }
                }
            } else {
                let _ = w.write_all(&resp); // fails (EPIPE) once the client has gone
            }
            if o.close_after {
                let _ = w.shutdown(std::net::Shutdown::Write);
            }
            req
        });
        FakeRuntime { handle }
    }

    /// The request line the runtime read (with its newline).
    pub fn join(self) -> Vec<u8> {
        self.handle.join().unwrap()
    }
}

// ---- an in-memory stream ----------------------------------------------------------------------

#[derive(Default)]
struct ScriptState {
    written: Vec<u8>,
    input: VecDeque<u8>,
}

/// A stream that records what is written and reads what was pushed, then end-of-file: a runtime
/// without threads. A client that sends where it must not reads EOF instead of hanging.
#[derive(Clone, Default)]
pub struct Script(Arc<Mutex<ScriptState>>);

impl Script {
    pub fn push(&self, bytes: &[u8]) {
        self.0.lock().unwrap().input.extend(bytes.iter().copied());
    }
    pub fn take_written(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.lock().unwrap().written)
    }
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut s = self.0.lock().unwrap();
        let n = buf.len().min(s.input.len());
        for b in buf.iter_mut().take(n) {
            *b = s.input.pop_front().unwrap();
        }
        Ok(n)
    }
}

impl Write for Script {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
