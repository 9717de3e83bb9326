//! The shared protocol vectors (tests/data/protocol-vectors.txt) over a socketpair: every
//! request line must be exactly what the SDK writes for the call the vector describes, and
//! every response must decode to the values tests/unit/test_guest_sdk.c expects.
mod common;

use std::os::unix::net::UnixStream;

use elastos_guest::{RuntimeClient, RuntimeRequest, RuntimeResponse};

#[test]
fn vector_session_over_a_socketpair() {
    let (mine, peer) = UnixStream::pair().unwrap();
    let mut c = RuntimeClient::from_stream(mine);
    assert_eq!(common::vector_session(&mut c, peer), 42);
}

/// Each request vector also comes out of RuntimeRequest::encode directly, and each response
/// vector decodes with RuntimeResponse::decode (no client involved).
#[test]
fn vectors_without_a_client() {
    let v = common::load_vectors();
    let mut n = 0;
    for rs in v.iter().filter(|v| !v.is_request) {
        let (id, r) = RuntimeResponse::decode(rs.json.as_bytes())
            .unwrap_or_else(|e| panic!("vector {}: {e}", rs.name));
        assert!((1..=41).contains(&id));
        if rs.name.ends_with("_denied")
            || rs.name.ends_with("_limit")
            || rs.name.ends_with("_expired")
            || rs.name.ends_with("_unknown")
            || rs.name.ends_with("_revoked")
        {
            assert!(matches!(r, RuntimeResponse::Error { .. }), "{}", rs.name);
        } else {
            assert!(!matches!(r, RuntimeResponse::Error { .. }), "{}", rs.name);
        }
        n += 1;
    }
    assert_eq!(n, 41);
    // A few requests built by hand.
    let find = |name: &str| {
        v.iter()
            .find(|x| x.is_request && x.name == name)
            .unwrap()
            .json
            .clone()
    };
    assert_eq!(RuntimeRequest::Ping.encode(1).unwrap(), find("ping"));
    assert_eq!(
        RuntimeRequest::ListCapsules.encode(27).unwrap(),
        find("list_capsules")
    );
    let r = RuntimeRequest::StorageRead {
        token: "tok.AAA".into(),
        path: format!("localhost://storage/{}", common::E),
    };
    assert_eq!(r.encode(8).unwrap(), find("storage_read_escapes"));
    assert_eq!(
        RuntimeRequest::ReceiveMessages { max: None }
            .encode(20)
            .unwrap(),
        find("receive_messages_default")
    );
}
