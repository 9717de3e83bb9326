//! RuntimeClient against a fake runtime (mirrors tests/unit/test_guest_sdk.c):
//!  - request ids: 1, 2, 3...; id 0 (not counted) reuses the id; a wrong id is refused and
//!    makes the channel unusable;
//!  - hostile responses (truncated, wrong types, huge numbers, bad base64, bad escapes and
//!    UTF-8, deep nesting, missing fields, trailing garbage, duplicate keys): an error, never a
//!    panic;
//!  - transport failures, 2 MiB lines, the 1 MiB limit at its exact boundary both ways;
//!  - local argument checks and the raw call.
mod common;

use std::os::unix::net::UnixStream;

use common::{FakeRuntime, RtOptions, Script};
use elastos_guest::{
    base64, CapabilityConstraints, Error, GrantScope, LaunchConfig, RuntimeClient, RuntimeRequest,
    RuntimeResponse, Value, MAX_MESSAGE,
};

const PING1: &[u8] = b"{\"id\":1,\"request\":{\"type\":\"ping\"}}\n";
const PING2: &[u8] = b"{\"id\":2,\"request\":{\"type\":\"ping\"}}\n";

fn scripted() -> (Script, RuntimeClient) {
    let s = Script::default();
    let c = RuntimeClient::from_stream(s.clone());
    (s, c)
}

/// One exchange on a Script: the runtime's answer is `resp` plus a newline.
fn answer<T>(s: &Script, resp: &str, call: impl FnOnce() -> T) -> (T, Vec<u8>) {
    s.push(resp.as_bytes());
    s.push(b"\n");
    let r = call();
    (r, s.take_written())
}

/// A call that must be refused locally: nothing may be written (a wrongly sent request reads
/// end-of-file instead of hanging).
fn guard<T: std::fmt::Debug>(s: &Script, r: Result<T, Error>) -> Error {
    assert!(s.take_written().is_empty(), "the call sent a request");
    r.expect_err("the call succeeded")
}

// ---- ids ------------------------------------------------------------------------------------

#[test]
fn ids() {
    // id 0: the runtime did not count the request; the client reuses its id.
    let (s, mut c) = scripted();
    let (r, req) = answer(
        &s,
        r#"{"id":0,"response":{"type":"error","code":"bad_request","message":"unreadable envelope"}}"#,
        || c.ping(),
    );
    assert_eq!(
        r,
        Err(Error::Runtime {
            code: "bad_request".into(),
            message: "unreadable envelope".into()
        })
    );
    assert_eq!(req, PING1);
    let (r, req) = answer(&s, r#"{"id":0,"response":{"type":"pong"}}"#, || c.ping());
    assert!(matches!(r, Err(Error::Protocol(_))), "{r:?}");
    assert_eq!(req, PING1);
    let (r, req) = answer(&s, r#"{"id":1,"response":{"type":"pong"}}"#, || c.ping());
    assert_eq!((r, req.as_slice()), (Ok(()), PING1));
    let (r, req) = answer(&s, r#"{"id":2,"response":{"type":"pong"}}"#, || c.ping());
    assert_eq!((r, req.as_slice()), (Ok(()), PING2));
    // A wrong id is refused and leaves the channel unusable: nothing more is sent.
    let (r, req) = answer(&s, r#"{"id":7,"response":{"type":"pong"}}"#, || c.ping());
    match r {
        Err(Error::Protocol(m)) => assert!(m.contains("id 7"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(req, b"{\"id\":3,\"request\":{\"type\":\"ping\"}}\n");
    let r = c.ping();
    match guard(&s, r) {
        Error::Transport(m) => assert!(m.contains("id 7"), "{m}"),
        other => panic!("{other:?}"),
    }

    // Wrong id 2 for request 1 (an off-by-one runtime).
    let (s, mut c) = scripted();
    let (r, _) = answer(&s, r#"{"id":2,"response":{"type":"pong"}}"#, || c.ping());
    assert!(matches!(r, Err(Error::Protocol(_))));

    // Two lines for one request: the extra one is taken as the next response -> mismatch.
    let (s, mut c) = scripted();
    let two = concat!(
        r#"{"id":1,"response":{"type":"pong"}}"#,
        "\n",
        r#"{"id":1,"response":{"type":"pong"}}"#
    );
    let (r, _) = answer(&s, two, || c.ping());
    assert_eq!(r, Ok(()));
    assert!(matches!(c.ping(), Err(Error::Protocol(_))));
    assert_eq!(s.take_written(), PING2);
}

// ---- hostile responses ----------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum K {
    Ping,
    Info,
    Cap,
    Read,
    List,
    Recv,
    Provider,
    Launch,
    Capsules,
    Decision,
    Grant,
    Raw,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum X {
    Ok,
    Pr,
    Rt,
}

fn call_kind(c: &mut RuntimeClient, k: K) -> Result<(), Error> {
    match k {
        K::Ping => c.ping(),
        K::Info => c.runtime_info().map(drop),
        K::Cap => {
            let k = CapabilityConstraints::new()
                .max_uses(1)
                .expiry_secs(2)
                .delegatable(true);
            c.request_capability("r", "a", Some(&k)).map(drop)
        }
        K::Read => c.storage_read("t", "p").map(drop),
        K::List => c.storage_list("t", "p").map(drop),
        K::Recv => c.receive_messages(Some(5)).map(drop),
        K::Provider => c.provider_call("t", "u", &Value::Object(vec![])).map(drop),
        K::Launch => c.launch_capsule(&LaunchConfig::by_name("x")).map(drop),
        K::Capsules => c.list_capsules().map(drop),
        K::Decision => c.get_decision_request().map(drop),
        K::Grant => c.grant_capability(1, GrantScope::Once).map(drop),
        K::Raw => c
            .call_raw(&Value::Object(vec![("type".into(), "ping".into())]))
            .map(drop),
    }
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}
fn env(r: &[u8]) -> Vec<u8> {
    cat(&[b"{\"id\":1,\"response\":", r, b"}"])
}
fn pongx(x: &[u8]) -> Vec<u8> {
    env(&cat(&[b"{\"type\":\"pong\",\"x\":", x, b"}"]))
}
fn dec(tail: &str) -> Vec<u8> {
    env(format!(
        "{{\"type\":\"decision_request\",\"request_id\":1,\"capsule_name\":\"n\",\"capsule_id\":\"i\",\
         \"publisher\":\"p\",\"resource\":\"r\",\"action\":\"a\"{tail}}}"
    )
    .as_bytes())
}

fn hostiles() -> Vec<(K, X, Vec<u8>)> {
    use K::*;
    use X::{Ok as OK, Pr as PR, Rt as RT};
    let s = |b: &[u8]| b.to_vec();
    let pong = env(b"{\"type\":\"pong\"}");
    let deep = |n: usize| cat(&[&b"[".repeat(n), &b"]".repeat(n)]);
    vec![
        // framing and envelope
        (Ping, OK, pong.clone()),
        (Ping, PR, s(b"")),
        (Ping, PR, s(b" ")),
        (Ping, PR, s(b"{\"id\":1,\"response\":{\"type\":\"pong\"}")),
        (Ping, PR, s(b"{\"id\":1,\"response\":{\"type\":\"po")),
        (Ping, PR, s(b"{\"id\":1,\"resp")),
        (Ping, PR, cat(&[&pong, b"x"])),
        (Ping, PR, cat(&[&pong, &pong])),
        (Ping, PR, cat(&[&pong, b"\0"])),
        (Ping, PR, cat(&[b"\0", &pong])),
        (Ping, PR, cat(&[b"\xef\xbb\xbf", &pong])),
        (Ping, PR, s(b"[1]")),
        (Ping, PR, s(b"null")),
        (Ping, PR, s(b"\"pong\"")),
        (Ping, PR, s(b"1")),
        (Ping, PR, s(b"{\"id\":\"1\",\"response\":{\"type\":\"pong\"}}")),
        (Ping, PR, s(b"{\"id\":1.0,\"response\":{\"type\":\"pong\"}}")),
        (Ping, PR, s(b"{\"id\":1e0,\"response\":{\"type\":\"pong\"}}")),
        (Ping, PR, s(b"{\"id\":-1,\"response\":{\"type\":\"pong\"}}")),
        (Ping, PR, s(b"{\"id\":01,\"response\":{\"type\":\"pong\"}}")),
        (Ping, PR, s(b"{\"id\":18446744073709551617,\"response\":{\"type\":\"pong\"}}")),
        (Ping, PR, s(b"{\"id\":99999999999999999999999999999999,\"response\":{\"type\":\"pong\"}}")),
        (Ping, PR, s(b"{\"id\":null,\"response\":{\"type\":\"pong\"}}")),
        (Ping, PR, s(b"{\"response\":{\"type\":\"pong\"}}")),
        (Ping, PR, s(b"{\"id\":1}")),
        (Ping, PR, s(b"{\"id\":1,\"response\":[]}")),
        (Ping, PR, s(b"{\"id\":1,\"response\":\"pong\"}")),
        (Ping, PR, env(b"{}")),
        (Ping, PR, env(b"{\"type\":7}")),
        (Ping, PR, env(b"{\"type\":null}")),
        (Ping, PR, env(b"{\"type\":\"ok\"}")),
        (Ping, PR, env(b"{\"type\":\"pong\\u0000\"}")),
        (Ping, PR, env(b"{\"type\":\"PONG\"}")),
        (Ping, PR, env(b"{\"type\":\"no_such_type\"}")),
        (Ping, PR, s(b"{\"id\":1,\"id\":1,\"response\":{\"type\":\"pong\"}}")),
        (Ping, PR, env(b"{\"type\":\"pong\",\"type\":\"pong\"}")),
        (Ping, PR, pongx(b"{\"a\":1,\"b\":2,\"a\":3}")),
        (Ping, OK, pongx(b"{\"a\\u0000b\":1,\"a\\u0000c\":2}")),
        (Ping, PR, pongx(b"{\"a\\u0000b\":1,\"a\\u0000b\":2}")),
        (Ping, PR, pongx(b"{\"\\u00e9\":1,\"\xc3\xa9\":2}")),
        // error responses
        (Ping, RT, env(b"{\"type\":\"error\",\"code\":\"denied\",\"message\":\"no\"}")),
        (Ping, RT, env(b"{\"type\":\"error\",\"code\":\"brand_new\",\"message\":\"\",\"x\":1}")),
        (Ping, PR, env(b"{\"type\":\"error\",\"code\":\"denied\"}")),
        (Ping, PR, env(b"{\"type\":\"error\",\"message\":\"m\"}")),
        (Ping, PR, env(b"{\"type\":\"error\",\"code\":\"\",\"message\":\"m\"}")),
        (Ping, PR, env(b"{\"type\":\"error\",\"code\":5,\"message\":\"m\"}")),
        (Ping, PR, env(b"{\"type\":\"error\",\"code\":\"x\",\"message\":[]}")),
        (Ping, PR, env(b"{\"type\":\"error\",\"code\":\"a\\u0000b\",\"message\":\"m\"}")),
        // strings: escapes and UTF-8 (in an unknown member, which is still parsed strictly)
        (Ping, OK, pongx(b"\"\\ud83d\\ude00 \\u00e9 \\/ \\b\"")),
        (Ping, PR, pongx(b"\"a\x01b\"")),
        (Ping, PR, pongx(b"\"a\nb\"")),
        (Ping, PR, pongx(b"\"\\x\"")),
        (Ping, PR, pongx(b"\"\\u12\"")),
        (Ping, PR, pongx(b"\"\\uZZZZ\"")),
        (Ping, PR, pongx(b"\"\\ud800\"")),
        (Ping, PR, pongx(b"\"\\udc00\"")),
        (Ping, PR, pongx(b"\"\\ud800\\u0041\"")),
        (Ping, PR, pongx(b"\"\\ud800\\ud800\"")),
        (Ping, PR, pongx(b"\"\\ud800x\"")),
        (Ping, PR, pongx(b"\"\\")),
        (Ping, PR, pongx(b"\"\xff\"")),
        (Ping, PR, pongx(b"\"\xc0\x80\"")),
        (Ping, PR, pongx(b"\"\xc1\xbf\"")),
        (Ping, PR, pongx(b"\"\xe0\x80\x80\"")),
        (Ping, PR, pongx(b"\"\xed\xa0\x80\"")),
        (Ping, PR, pongx(b"\"\xf4\x90\x80\x80\"")),
        (Ping, PR, pongx(b"\"\xf8\x88\x80\x80\x80\"")),
        (Ping, PR, pongx(b"\"\xe6\x97\"")),
        (Ping, PR, pongx(b"\"\x80\"")),
        (Ping, PR, pongx(b"'a'")),
        // numbers and literals
        (Ping, OK, pongx(b"-1.5e+300")),
        (Ping, OK, pongx(b"1e999999999")),
        (Ping, OK, pongx(b"123456789012345678901234567890123456789")),
        (Ping, PR, pongx(b"1.")),
        (Ping, PR, pongx(b".5")),
        (Ping, PR, pongx(b"+1")),
        (Ping, PR, pongx(b"1e")),
        (Ping, PR, pongx(b"-")),
        (Ping, PR, pongx(b"NaN")),
        (Ping, PR, pongx(b"Infinity")),
        (Ping, PR, pongx(b"tru")),
        (Ping, PR, pongx(b"nulll")),
        (Ping, PR, pongx(b"[1,]")),
        (Ping, PR, pongx(b"{\"a\":1,}")),
        (Ping, PR, pongx(b"[1 2]")),
        (Ping, PR, pongx(b"{\"a\" 1}")),
        (Ping, PR, pongx(b"{1:2}")),
        // depth: envelope (1) + response (2) + 30 arrays = 32 is the most allowed
        (Ping, OK, pongx(&deep(30))),
        (Ping, PR, pongx(&deep(31))),
        (Ping, PR, pongx(&b"[".repeat(64))),
        (Ping, PR, pongx(&b"[".repeat(100_000))),
        (Ping, PR, pongx(&deep(100_000))),
        // runtime_info
        (Info, OK, env(br#"{"type":"runtime_info","version":"v","capsule_name":"n","capsule_id":"i"}"#)),
        (Info, PR, env(br#"{"type":"runtime_info","version":"v","capsule_name":"n"}"#)),
        (Info, PR, env(br#"{"type":"runtime_info","version":null,"capsule_name":"n","capsule_id":"i"}"#)),
        (Info, PR, env(br#"{"type":"runtime_info","version":1,"capsule_name":"n","capsule_id":"i"}"#)),
        (Info, PR, env(br#"{"type":"runtime_info","version":"v","capsule_name":"n","capsule_id":"i\u0000j"}"#)),
        (Info, PR, env(br#"{"type":"runtime_info","version":"v","capsule_name":["n"],"capsule_id":"i"}"#)),
        (Info, PR, env(br#"{"type":"pong"}"#)),
        // capability_token
        (Cap, OK, env(br#"{"type":"capability_token","token":"t","token_id":"i","expires_at":18446744073709551615}"#)),
        (Cap, PR, env(br#"{"type":"capability_token","token_id":"i"}"#)),
        (Cap, PR, env(br#"{"type":"capability_token","token":"t"}"#)),
        (Cap, PR, env(br#"{"type":"capability_token","token":"t","token_id":"i","expires_at":-5}"#)),
        (Cap, PR, env(br#"{"type":"capability_token","token":"t","token_id":"i","expires_at":1.5}"#)),
        (Cap, PR, env(br#"{"type":"capability_token","token":"t","token_id":"i","expires_at":"1"}"#)),
        (Cap, PR, env(br#"{"type":"capability_token","token":"t","token_id":"i","expires_at":18446744073709551616}"#)),
        (Cap, PR, env(br#"{"type":"capability_token","token":"t","token_id":"i","expires_at":1e3}"#)),
        (Cap, PR, env(br#"{"type":"capability_token","token":true,"token_id":"i"}"#)),
        (Cap, RT, env(br#"{"type":"error","code":"invalid_token","message":"x"}"#)),
        // storage_data: strict base64
        (Read, OK, env(br#"{"type":"storage_data","data":"SGVsbG8="}"#)),
        (Read, OK, env(br#"{"type":"storage_data","data":"SGVs\u0062G8="}"#)),
        (Read, PR, env(br#"{"type":"storage_data","data":"SGVsbG8"}"#)),
        (Read, PR, env(br#"{"type":"storage_data","data":"SGVsbG8=="}"#)),
        (Read, PR, env(br#"{"type":"storage_data","data":"SGV$bG8="}"#)),
        (Read, PR, env(br#"{"type":"storage_data","data":"SGVsbG9="}"#)),
        (Read, PR, env(br#"{"type":"storage_data","data":"===="}"#)),
        (Read, PR, env(br#"{"type":"storage_data","data":"A"}"#)),
        (Read, PR, env(br#"{"type":"storage_data","data":"SGVs bG8="}"#)),
        (Read, PR, env(br#"{"type":"storage_data","data":"SGVs\nbG8="}"#)),
        (Read, PR, env(br#"{"type":"storage_data","data":"SGVsbG8=\u0000"}"#)),
        (Read, PR, env(br#"{"type":"storage_data","data":"SG==SGVs"}"#)),
        (Read, PR, env(br#"{"type":"storage_data","data":"SGVsbG8-"}"#)),
        (Read, PR, env(br#"{"type":"storage_data","data":12}"#)),
        (Read, PR, env(br#"{"type":"storage_data","data":null}"#)),
        (Read, PR, env(br#"{"type":"storage_data"}"#)),
        (Read, PR, env(br#"{"type":"content","data":""}"#)),
        // storage_list
        (List, OK, env(br#"{"type":"storage_list","entries":["a","b/"]}"#)),
        (List, PR, env(br#"{"type":"storage_list","entries":"a"}"#)),
        (List, PR, env(br#"{"type":"storage_list","entries":["a",1]}"#)),
        (List, PR, env(br#"{"type":"storage_list","entries":["a\u0000b"]}"#)),
        (List, PR, env(br#"{"type":"storage_list","entries":{"a":"b"}}"#)),
        (List, PR, env(br#"{"type":"storage_list","entries":[null]}"#)),
        (List, PR, env(br#"{"type":"storage_list"}"#)),
        // messages
        (Recv, OK, env(br#"{"type":"messages","messages":[{"id":"1","from":"f","payload":"","timestamp":1,"reply_to":null}]}"#)),
        (Recv, PR, env(br#"{"type":"messages","messages":{}}"#)),
        (Recv, PR, env(br#"{"type":"messages","messages":null}"#)),
        (Recv, PR, env(br#"{"type":"messages","messages":[1]}"#)),
        (Recv, PR, env(br#"{"type":"messages","messages":[{"id":"1","from":"f","payload":""}]}"#)),
        (Recv, PR, env(br#"{"type":"messages","messages":[{"id":"1","from":"f","payload":"","timestamp":"1"}]}"#)),
        (Recv, PR, env(br#"{"type":"messages","messages":[{"id":"1","from":"f","payload":"","timestamp":18446744073709551616}]}"#)),
        (Recv, PR, env(br#"{"type":"messages","messages":[{"id":"1","from":"f","payload":"QQ","timestamp":1}]}"#)),
        (Recv, PR, env(br#"{"type":"messages","messages":[{"id":"1","from":"f","payload":"","timestamp":1,"reply_to":3}]}"#)),
        (Recv, PR, env(br#"{"type":"messages","messages":[{"id":"1","from":"f","payload":"QQ==","timestamp":1,"reply_to":"r"},{"id":"2","from":"f","payload":"QQ=="}]}"#)),
        // provider_result, capsule_launched, capsule_list
        (Provider, OK, env(br#"{"type":"provider_result","result":null}"#)),
        (Provider, PR, env(br#"{"type":"provider_result"}"#)),
        (Provider, PR, env(&cat(&[b"{\"type\":\"provider_result\",\"result\":", &deep(45), b"}"]))),
        (Launch, OK, env(br#"{"type":"capsule_launched","capsule_id":"x-1"}"#)),
        (Launch, PR, env(br#"{"type":"capsule_launched"}"#)),
        (Launch, PR, env(br#"{"type":"capsule_launched","capsule_id":{}}"#)),
        (Capsules, OK, env(br#"{"type":"capsule_list","capsules":[1,"a",{}]}"#)),
        (Capsules, PR, env(br#"{"type":"capsule_list","capsules":{}}"#)),
        (Capsules, PR, env(br#"{"type":"capsule_list"}"#)),
        // decision_request
        (Decision, OK, dec(r#","constraints":{"max_uses":4294967295}"#)),
        (Decision, OK, dec(r#","constraints":null"#)),
        (Decision, OK, dec("")),
        (Decision, PR, env(br#"{"type":"decision_request","capsule_name":"n","capsule_id":"i","publisher":"p","resource":"r","action":"a","constraints":{}}"#)),
        (Decision, PR, dec(r#","constraints":{"max_uses":4294967296}"#)),
        (Decision, PR, dec(r#","constraints":{"delegatable":"yes"}"#)),
        (Decision, PR, dec(r#","constraints":{"expiry_secs":-1}"#)),
        (Decision, PR, dec(r#","constraints":[]"#)),
        (Decision, PR, env(br#"{"type":"decision_request","request_id":1,"capsule_name":"n","capsule_id":"i","resource":"r","action":"a","constraints":{}}"#)),
        (Decision, PR, env(br#"{"type":"decision_request","request_id":"1","capsule_name":"n","capsule_id":"i","publisher":"p","resource":"r","action":"a","constraints":{}}"#)),
        // capability_granted, raw call
        (Grant, OK, env(br#"{"type":"capability_granted","token_id":"t"}"#)),
        (Grant, PR, env(br#"{"type":"capability_granted","token_id":7}"#)),
        (Grant, PR, env(br#"{"type":"ok"}"#)),
        (Raw, OK, env(br#"{"type":"anything","v":[1]}"#)),
        (Raw, PR, s(br#"{"id":1,"response":"pong"}"#)),
        (Raw, RT, env(br#"{"type":"error","code":"unsupported","message":"m"}"#)),
    ]
}

#[test]
fn hostile_responses() {
    let mut bad = Vec::new();
    for (i, (k, expect, line)) in hostiles().into_iter().enumerate() {
        let (s, mut c) = scripted();
        s.push(&line);
        s.push(b"\n");
        let r = call_kind(&mut c, k);
        let got = match &r {
            Ok(()) => X::Ok,
            Err(Error::Protocol(_)) => X::Pr,
            Err(Error::Runtime { .. }) => X::Rt,
            Err(_) => {
                bad.push(format!("#{i} {k:?}: {r:?}"));
                continue;
            }
        };
        if got != expect {
            let shown = String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
            bad.push(format!(
                "#{i} {k:?} ({shown}): got {r:?}, expected {expect:?}"
            ));
        }
        let w = s.take_written();
        assert!(w.ends_with(b"\n") && w.starts_with(b"{\"id\":1,"), "#{i}");
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Every prefix of a valid response, and every single-byte corruption of one: an error (or,
/// rarely, success), never a panic.
#[test]
fn truncations_and_corruptions() {
    let good = br#"{"id":1,"response":{"type":"messages","messages":[{"id":"m\u00e9","from":"f","payload":"QUJD","timestamp":7,"reply_to":"x"}]}}"#;
    let (s, mut c) = scripted();
    s.push(good);
    s.push(b"\n");
    assert_eq!(c.receive_messages(None).unwrap().len(), 1);
    for n in 0..good.len() {
        let (s, mut c) = scripted();
        s.push(&good[..n]);
        s.push(b"\n");
        assert!(c.receive_messages(None).is_err(), "prefix {n}");
    }
    for i in 0..good.len() {
        for b in [b'"', b'\\', b'{', b']', b'0', 0x00, 0x7f, 0x80, 0xff, b'\n'] {
            let mut v = good.to_vec();
            v[i] = b;
            let (s, mut c) = scripted();
            s.push(&v);
            s.push(b"\n");
            let _ = c.receive_messages(None); // must not panic
        }
    }
}

// ---- transport failures and the 1 MiB limit -------------------------------------------------

/// One exchange on a socketpair where the runtime sends `bytes` as they are; the client is
/// dropped (its end closed) before joining, so a runtime blocked on a huge write gets EPIPE.
fn raw_exchange(bytes: Vec<u8>, o: RtOptions, k: K) -> Result<(), Error> {
    let (mine, peer) = UnixStream::pair().unwrap();
    let rt = FakeRuntime::start(&peer, bytes, o);
    let mut c = RuntimeClient::from_stream(mine);
    let r = call_kind(&mut c, k);
    drop(c);
    drop(peer);
    rt.join();
    r
}

/// A storage_data line of exactly `total` bytes before the newline (spaces pad it), and the
/// length of its base64.
fn data_line(total: usize) -> (Vec<u8>, usize) {
    let pre = b"{\"id\":1,\"response\":{\"type\":\"storage_data\",\"data\":\"";
    let post = b"\"}}";
    let fixed = pre.len() + post.len();
    let b = (total - fixed) / 4 * 4;
    let pad = total - fixed - b;
    let mut s = pre.to_vec();
    s.extend(b"QUJD".iter().cycle().take(b)); // "ABC" repeated
    s.push(b'"');
    s.extend(std::iter::repeat(b' ').take(pad));
    s.extend_from_slice(b"}}\n");
    assert_eq!(s.len(), total + 1);
    (s, b)
}

#[test]
fn transport_failures() {
    // EOF before any response: a transport error, then the channel is unusable.
    let (mine, peer) = UnixStream::pair().unwrap();
    let rt = FakeRuntime::start(
        &peer,
        vec![],
        RtOptions {
            close_after: true,
            ..RtOptions::default()
        },
    );
    let mut c = RuntimeClient::from_stream(mine);
    match c.ping() {
        Err(Error::Transport(m)) => assert!(m.contains("closed"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(rt.join(), PING1);
    assert!(matches!(c.ping(), Err(Error::Transport(_))));
    drop(peer);

    // EOF in the middle of a response.
    let half = b"{\"id\":1,\"response\":{\"ty".to_vec();
    let r = raw_exchange(
        half,
        RtOptions {
            close_after: true,
            ..RtOptions::default()
        },
        K::Ping,
    );
    match r {
        Err(Error::Transport(m)) => assert!(m.contains("middle"), "{m}"),
        other => panic!("{other:?}"),
    }

    // A response arriving one byte at a time.
    let slow = b"{\"id\":1,\"response\":{\"type\":\"storage_data\",\"data\":\"QUJD\"}}\n".to_vec();
    assert_eq!(
        raw_exchange(
            slow,
            RtOptions {
                dribble: true,
                ..RtOptions::default()
            },
            K::Read
        ),
        Ok(())
    );

    // The runtime end already closed: writing fails (EPIPE, not a signal).
    let (mine, peer) = UnixStream::pair().unwrap();
    drop(peer);
    let mut c = RuntimeClient::from_stream(mine);
    assert!(matches!(c.ping(), Err(Error::Transport(_))));
}

#[test]
fn two_mib_line() {
    // A 2 MiB line: refused without reading it all; the channel is then unusable.
    let (line, _) = data_line(2 << 20);
    let (mine, peer) = UnixStream::pair().unwrap();
    let rt = FakeRuntime::start(&peer, line, RtOptions::default());
    let mut c = RuntimeClient::from_stream(mine);
    match c.storage_read("t", "p") {
        Err(Error::Protocol(m)) => assert!(m.contains("1 MiB"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(c.ping(), Err(Error::Transport(_))));
    drop(c);
    drop(peer);
    rt.join();
}

#[test]
fn one_mib_boundary() {
    // Exactly 1 MiB: accepted and decoded; one byte more: refused.
    let (line, b) = data_line(MAX_MESSAGE);
    let (mine, peer) = UnixStream::pair().unwrap();
    let rt = FakeRuntime::start(&peer, line, RtOptions::default());
    let mut c = RuntimeClient::from_stream(mine);
    let d = c.storage_read("t", "p").unwrap();
    rt.join();
    assert_eq!(d.len(), b / 4 * 3);
    assert!(d.iter().enumerate().all(|(i, &x)| x == b"ABC"[i % 3]));

    let (line, _) = data_line(MAX_MESSAGE + 1);
    assert!(matches!(
        raw_exchange(line, RtOptions::default(), K::Read),
        Err(Error::Protocol(_))
    ));

    // Requests: exactly 1 MiB on the wire is sent; one byte more is refused locally, without
    // sending anything or using an id.
    let pre = "{\"id\":1,\"request\":{\"type\":\"storage_write\",\"token\":\"";
    let mid = "\",\"path\":\"p\",\"content\":\"";
    let data_len = 786_000;
    let fixed = pre.len() + mid.len() + 3;
    let tok_len = MAX_MESSAGE - fixed - base64::encoded_len(data_len).unwrap();
    let payload = vec![0u8; data_len];
    let (s, mut c) = scripted();
    let (r, req) = answer(&s, r#"{"id":1,"response":{"type":"ok"}}"#, || {
        c.storage_write(&"t".repeat(tok_len), "p", &payload)
    });
    assert_eq!(r, Ok(()));
    assert_eq!(req.len(), MAX_MESSAGE + 1);
    assert_eq!(req[MAX_MESSAGE], b'\n');
    let r = c.storage_write(&"t".repeat(tok_len + 1), "p", &payload);
    match guard(&s, r) {
        Error::InvalidArgument(m) => assert!(m.contains("1 MiB"), "{m}"),
        other => panic!("{other:?}"),
    }
    let r = c.storage_write("t", "p", &vec![0u8; 1 << 20]);
    assert!(matches!(guard(&s, r), Error::InvalidArgument(_)));
    let r = c.send_message("t", "p", &vec![0u8; 1 << 20], None);
    assert!(matches!(guard(&s, r), Error::InvalidArgument(_)));
    let (r, req) = answer(&s, r#"{"id":2,"response":{"type":"pong"}}"#, || c.ping());
    assert_eq!((r, req.as_slice()), (Ok(()), PING2));
}

// ---- local argument checks and the raw call ---------------------------------------------------

#[test]
fn arguments() {
    let (s, mut c) = scripted();
    let k0 = CapabilityConstraints::new().max_uses(0);
    let r = c.request_capability("r", "a", Some(&k0));
    assert!(matches!(guard(&s, r), Error::InvalidArgument(_)));
    let k0 = CapabilityConstraints::new().expiry_secs(0);
    let r = c.request_capability("r", "a", Some(&k0));
    assert!(matches!(guard(&s, r), Error::InvalidArgument(_)));
    let r = c.receive_messages(Some(0));
    assert!(matches!(guard(&s, r), Error::InvalidArgument(_)));
    let r = c.launch_capsule(&LaunchConfig::default().arg("x"));
    assert!(matches!(guard(&s, r), Error::InvalidArgument(_)));
    let r = c.launch_capsule(
        &LaunchConfig::by_name("x")
            .env("A", "1")
            .env("B", "2")
            .env("A", "3"),
    );
    assert!(matches!(guard(&s, r), Error::InvalidArgument(_)));
    // provider_call bodies: at most 30 levels (the envelope takes 2 of the 32).
    let nest = |n: usize| Value::parse(&format!("{}{}", "[".repeat(n), "]".repeat(n))).unwrap();
    let r = c.provider_call("t", "u", &nest(31));
    assert!(matches!(guard(&s, r), Error::InvalidArgument(_)));
    // raw requests: an object with a string "type", at most 31 levels.
    for bad in [
        "[]",
        "{\"type\":1}",
        "{\"kind\":\"ping\"}",
        "\"ping\"",
        "null",
    ] {
        let r = c.call_raw(&Value::parse(bad).unwrap());
        assert!(matches!(guard(&s, r), Error::InvalidArgument(_)), "{bad}");
    }
    let deep = format!(
        "{{\"type\":\"x\",\"v\":{}{}}}",
        "[".repeat(31),
        "]".repeat(31)
    );
    let r = c.call_raw(&Value::parse(&deep).unwrap());
    assert!(matches!(guard(&s, r), Error::InvalidArgument(_)));

    // None of that used an id. The raw call compacts the request and returns the inner
    // response.
    let (r, req) = answer(
        &s,
        r#"{"id":1,"response":{ "type" : "pong", "x" : [ 1 , "\u00e9" ] }}"#,
        || c.call_raw(&Value::parse(" {\"type\" :\n\"ping\" , \"n\": 1e3}\t").unwrap()),
    );
    assert_eq!(
        req,
        b"{\"id\":1,\"request\":{\"type\":\"ping\",\"n\":1e3}}\n"
    );
    assert_eq!(
        r.unwrap().to_json(),
        "{\"type\":\"pong\",\"x\":[1,\"\u{e9}\"]}"
    );
    let (r, req) = answer(
        &s,
        r#"{"id":2,"response":{"type":"error","code":"unsupported","message":"no such request"}}"#,
        || c.call_raw(&Value::parse("{\"type\":\"dance\"}").unwrap()),
    );
    assert_eq!(req, b"{\"id\":2,\"request\":{\"type\":\"dance\"}}\n");
    assert_eq!(
        r,
        Err(Error::Runtime {
            code: "unsupported".into(),
            message: "no such request".into()
        })
    );
    // 30 levels of body are fine.
    let (r, req) = answer(
        &s,
        r#"{"id":3,"response":{"type":"provider_result","result":[[]]}}"#,
        || c.provider_call("t", "u", &nest(30)),
    );
    assert_eq!(r.unwrap(), nest(2));
    assert!(req.starts_with(b"{\"id\":3,\"request\":{\"type\":\"provider_call\",\"token\":\"t\",\"uri\":\"u\",\"body\":[[["));
    // A long runtime message with any characters is passed on whole.
    let long = "\u{65e5}".repeat(400) + "\u{0}\n";
    let resp = format!(
        "{{\"id\":4,\"response\":{{\"type\":\"error\",\"code\":\"internal\",\"message\":{}}}}}",
        Value::from(long.as_str())
    );
    let (r, _) = answer(&s, &resp, || c.ping());
    let e = r.unwrap_err();
    assert_eq!(e.code(), Some("internal"));
    assert_eq!(e.message(), long);
    // call() checks the response type against the request.
    let (r, _) = answer(&s, r#"{"id":5,"response":{"type":"ok"}}"#, || {
        c.call(&RuntimeRequest::Ping)
    });
    assert!(matches!(r, Err(Error::Protocol(_))));
    let (r, _) = answer(
        &s,
        r#"{"id":6,"response":{"type":"pong","extra":{"a":[1]}}}"#,
        || c.call(&RuntimeRequest::Ping),
    );
    assert_eq!(r, Ok(RuntimeResponse::Pong));
}

#[test]
fn errors_display() {
    let e = Error::Runtime {
        code: "denied".into(),
        message: "no".into(),
    };
    assert!(e.is_denied() && !e.is_not_found());
    assert_eq!(e.to_string(), "no (denied)");
    assert_eq!(
        Error::Protocol("x".into()).to_string(),
        "malformed response: x"
    );
    assert_eq!(Error::Transport("x".into()).code(), None);
    let r = RuntimeResponse::decode(
        br#"{"id":3,"response":{"type":"error","code":"limit","message":"m"}}"#,
    );
    assert_eq!(
        r,
        Ok((
            3,
            RuntimeResponse::Error {
                code: "limit".into(),
                message: "m".into()
            }
        ))
    );
}

/// `from_raw_fd` on a non-blocking descriptor: the SDK waits (poll) instead of failing, and
/// never closes the descriptor.
#[test]
fn raw_fd_non_blocking() {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::io::AsRawFd;
    let (mine, peer) = UnixStream::pair().unwrap();
    mine.set_nonblocking(true).unwrap();
    let rt = std::thread::spawn(move || {
        let mut r = BufReader::new(peer.try_clone().unwrap());
        let mut w = peer;
        for id in 1..=2 {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(50));
            // The response in two pieces, a pause between them.
            let resp = format!("{{\"id\":{id},\"response\":{{\"type\":\"pong\"}}}}\n");
            w.write_all(&resp.as_bytes()[..10]).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
            w.write_all(&resp.as_bytes()[10..]).unwrap();
        }
    });
    // SAFETY: `mine` stays open, and nothing else reads it, while the client is used.
    let mut c = unsafe { RuntimeClient::from_raw_fd(mine.as_raw_fd()) };
    c.ping().unwrap();
    c.ping().unwrap();
    drop(c);
    rt.join().unwrap();
    assert!(mine.peer_addr().is_ok()); // still open
}
