//! The SDK's error type.

use std::fmt;

/// Why a call failed. Every fallible function of the SDK returns `Result<_, Error>`; nothing in
/// the SDK panics on what the runtime sends.
///
/// The kinds match the C SDK's `ELASTOS_ERR_*` values (`elastos/guest.h`):
///
/// | variant | C |
/// |---|---|
/// | [`Error::Runtime`] | `ELASTOS_ERR_RUNTIME` |
/// | [`Error::Transport`] | `ELASTOS_ERR_TRANSPORT` |
/// | [`Error::Protocol`] | `ELASTOS_ERR_PROTOCOL` |
/// | [`Error::InvalidArgument`] | `ELASTOS_ERR_INVALID` |
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The runtime answered with an error response: `code` is one of `bad_request`, `denied`,
    /// `invalid_token`, `expired`, `revoked`, `not_found`, `limit`, `internal`, `unsupported`,
    /// or a newer code (passed on as sent); `message` is the runtime's explanation.
    Runtime {
        /// The runtime's error code, never empty.
        code: String,
        /// The runtime's message, as sent.
        message: String,
    },
    /// The channel failed (I/O error, the runtime went away), is missing (not running under
    /// elastos), or is unusable after an earlier failure: every later call fails too.
    Transport(String),
    /// The response was malformed, oversized, of the wrong type, or carried the wrong id. After
    /// a wrong id or an over-long line the channel is unusable (later calls give
    /// [`Error::Transport`]).
    Protocol(String),
    /// A bad argument, refused locally without sending anything (for example a request over the
    /// 1 MiB message limit, or a [`LaunchConfig`](crate::LaunchConfig) without a cid or a name).
    InvalidArgument(String),
}

impl Error {
    /// The runtime's error code (`"denied"`, `"not_found"`, ...) when the runtime answered with
    /// an error response, else `None`.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Runtime { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True for a runtime error response with code `denied`.
    pub fn is_denied(&self) -> bool {
        self.code() == Some("denied")
    }

    /// True for a runtime error response with code `not_found`.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some("not_found")
    }

    /// A description of the failure without the kind prefix (for a runtime error: its message).
    pub fn message(&self) -> &str {
        match self {
            Error::Runtime { message, .. } => message,
            Error::Transport(m) | Error::Protocol(m) | Error::InvalidArgument(m) => m,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Runtime { code, message } => write!(f, "{message} ({code})"),
            Error::Transport(m) => write!(f, "runtime channel: {m}"),
            Error::Protocol(m) => write!(f, "malformed response: {m}"),
            Error::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
        }
    }
}

impl std::error::Error for Error {}
