//! rust-hello - the example capsule in Rust (the same behaviour as capsules/hello/hello.c):
//! prints its identity and arguments, then copies stdin to stdout. An argument "exit=N" makes
//! it exit with status N (so callers can see exit codes pass through).
//!
//! Build: `cargo build --release --target wasm32-wasi` (`wasm32-wasip1` on Rust >= 1.78), or
//! `guest/rust/build-capsule.sh capsules/rust-hello rust-hello.capsule KEY`.

use std::io::{self, Write};
use std::process;

use elastos_guest::CapsuleInfo;

/// C's atoi: optional blanks, an optional sign, then digits up to the first non-digit (0 when
/// there are none); wraps like a 32-bit int instead of overflowing.
fn atoi(s: &str) -> i32 {
    let s = s.trim_start_matches(|c: char| c == ' ' || ('\t'..='\r').contains(&c));
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i32 = 0;
    for c in digits.bytes().take_while(u8::is_ascii_digit) {
        v = v.wrapping_mul(10).wrapping_add(i32::from(c - b'0'));
    }
    if neg {
        v.wrapping_neg()
    } else {
        v
    }
}

fn main() {
    let info = match CapsuleInfo::from_env() {
        Some(info) => info,
        None => {
            eprintln!("hello: not running as an elastos capsule");
            process::exit(2);
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let _ = writeln!(out, "hello from {} (instance {})", info.name, info.id);
    let mut status = 0;
    for (i, arg) in std::env::args_os().enumerate().skip(1) {
        let arg = arg.to_string_lossy();
        let _ = writeln!(out, "arg[{i}] = {arg}");
        if let Some(n) = arg.strip_prefix("exit=") {
            status = atoi(n);
        }
    }
    let _ = io::copy(&mut io::stdin().lock(), &mut out);
    let _ = out.flush();
    process::exit(status);
}
