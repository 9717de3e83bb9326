//! `elastos-guest`: the guest SDK for ElastOS capsules written in Rust — the "syscall
//! interface" between a capsule and the runtime. It speaks exactly the bytes of the C SDK
//! (`guest/c`, `<elastos/guest.h>`); the shared vectors in `tests/data/protocol-vectors.txt`
//! prove it. No dependencies outside `std`; builds with Rust 1.63 and later.
//!
//! | component | purpose |
//! |---|---|
//! | [`CapsuleInfo`] | identity from `ELASTOS_CAPSULE_NAME` / `ELASTOS_CAPSULE_ID` |
//! | [`RuntimeClient`] | the channel to the runtime: send a [`RuntimeRequest`], receive the matching [`RuntimeResponse`] |
//! | [`RuntimeRequest`] / [`RuntimeResponse`] | the protocol's tagged messages (`docs/protocol.md`) |
//! | [`LaunchConfig`] | how to launch a capsule: CID or name, args, env, narrowing limits |
//! | [`CapabilityConstraints`] | the requested scope of a capability: max uses, expiry, delegatable |
//! | [`Error`] | runtime error (code + message), transport, protocol, invalid argument |
//!
//! ```no_run
//! use elastos_guest::{CapsuleInfo, RuntimeClient};
//!
//! fn main() -> Result<(), elastos_guest::Error> {
//!     let info = CapsuleInfo::from_env().expect("not running as an elastos capsule");
//!     println!("I am {}, instance {}", info.name, info.id);
//!
//!     let mut rt = RuntimeClient::open()?;
//!     let path = "localhost://storage/notes/today.txt";
//!     let cap = rt.request_capability("localhost://storage/notes/*", "write", None)?;
//!     rt.storage_write(&cap.token, path, b"hi")?;
//!     Ok(())
//! }
//! ```
//!
//! # Targets
//!
//! * **wasm capsules**: the WASI preview 1 target. Rust 1.63 (Debian 12's toolchain) calls it
//!   `wasm32-wasi`; newer toolchains call the same ABI `wasm32-wasip1` (the old name was
//!   removed in Rust 1.84):
//!
//!   ```sh
//!   cargo build --release --target wasm32-wasi     # Rust < 1.78 (e.g. Debian's 1.63)
//!   cargo build --release --target wasm32-wasip1   # Rust >= 1.78
//!   ```
//!
//!   The channel is the host import `(import "elastos" "call" (func (param i32 i32 i32 i32)
//!   (result i32)))`.
//! * **native (vm capsules)**: `cargo build --release`. The channel is the inherited
//!   descriptor whose number is in `ELASTOS_RUNTIME_FD`, one JSON message per line.
//!
//! # Conventions
//!
//! * Every fallible call returns `Result<_, Error>`; nothing panics on what the runtime sends
//!   (truncated, oversized, mistyped or non-UTF-8 responses, bad base64, deep nesting, huge
//!   numbers: all [`Error::Protocol`]).
//! * A request larger than 1 MiB on the wire is refused locally ([`Error::InvalidArgument`])
//!   without being sent and without using an id.
//! * Strings received in typed fields are valid UTF-8 without NUL characters (as in the C
//!   SDK); raw JSON values ([`json::Value`]) may hold any text.

#![warn(missing_docs)]

pub mod base64;
mod client;
mod error;
pub mod json;
mod protocol;

pub use client::RuntimeClient;
pub use error::Error;
pub use json::Value;
pub use protocol::{
    CapabilityConstraints, CapabilityToken, DecisionRequest, GrantScope, LaunchConfig,
    LaunchLimits, Message, ProviderRequest, RuntimeInfo, RuntimeRequest, RuntimeResponse,
    MAX_MESSAGE,
};

/// The running capsule's identity, from the environment the runtime sets at launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapsuleInfo {
    /// The capsule's registered name (`ELASTOS_CAPSULE_NAME`, its manifest name).
    pub name: String,
    /// The unique id of this instance (`ELASTOS_CAPSULE_ID`), different for every launch.
    pub id: String,
}

impl CapsuleInfo {
    /// Reads `ELASTOS_CAPSULE_NAME` and `ELASTOS_CAPSULE_ID`; `None` when either is missing,
    /// empty or not Unicode (the program is not running as a capsule).
    pub fn from_env() -> Option<CapsuleInfo> {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Some(CapsuleInfo {
            name: get("ELASTOS_CAPSULE_NAME")?,
            id: get("ELASTOS_CAPSULE_ID")?,
        })
    }
}
