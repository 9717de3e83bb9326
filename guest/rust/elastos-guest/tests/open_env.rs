//! RuntimeClient::open and CapsuleInfo::from_env, which read the process environment and use
//! the process-wide channel: one test in its own process, steps in order.
mod common;

use std::env;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;

use elastos_guest::{CapsuleInfo, Error, RuntimeClient};

#[test]
fn open_from_the_environment() {
    // CapsuleInfo: both variables, non-empty.
    env::remove_var("ELASTOS_CAPSULE_NAME");
    env::remove_var("ELASTOS_CAPSULE_ID");
    assert_eq!(CapsuleInfo::from_env(), None);
    env::set_var("ELASTOS_CAPSULE_NAME", "hello");
    assert_eq!(CapsuleInfo::from_env(), None);
    env::set_var("ELASTOS_CAPSULE_ID", "");
    assert_eq!(CapsuleInfo::from_env(), None);
    env::set_var("ELASTOS_CAPSULE_ID", "hello-7f3a");
    let info = CapsuleInfo::from_env().unwrap();
    assert_eq!(
        (info.name.as_str(), info.id.as_str()),
        ("hello", "hello-7f3a")
    );

    // ELASTOS_RUNTIME_FD: unset, malformed, or not an open descriptor -> not under elastos.
    let (mine, peer) = UnixStream::pair().unwrap();
    env::remove_var("ELASTOS_RUNTIME_FD");
    assert!(matches!(RuntimeClient::open(), Err(Error::Transport(_))));
    let closed = {
        let (a, _b) = UnixStream::pair().unwrap();
        a.as_raw_fd()
    };
    let closed = closed.to_string();
    for bad in [
        "",
        "abc",
        "-1",
        "3x",
        " 3",
        "99999999999",
        "2147483648",
        "0003",
        closed.as_str(),
    ] {
        env::set_var("ELASTOS_RUNTIME_FD", bad);
        assert!(
            matches!(RuntimeClient::open(), Err(Error::Transport(_))),
            "{bad:?}"
        );
    }

    // The whole vector session on the process channel.
    env::set_var("ELASTOS_RUNTIME_FD", mine.as_raw_fd().to_string());
    let mut c = RuntimeClient::open().unwrap();
    let next = common::vector_session(&mut c, peer.try_clone().unwrap());

    // A second client shares the process's numbering; dropping one keeps the channel open
    // (and the descriptor is never closed by the SDK).
    let mut c2 = RuntimeClient::open().unwrap();
    drop(c);
    let rt = std::thread::spawn(move || {
        let mut r = BufReader::new(peer.try_clone().unwrap());
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let mut w = peer;
        w.write_all(format!("{{\"id\":{next},\"response\":{{\"type\":\"pong\"}}}}\n").as_bytes())
            .unwrap();
        line
    });
    c2.ping().unwrap();
    assert_eq!(
        rt.join().unwrap(),
        format!("{{\"id\":{next},\"request\":{{\"type\":\"ping\"}}}}\n")
    );
    drop(c2);
    assert!(mine.peer_addr().is_ok()); // still open
}
