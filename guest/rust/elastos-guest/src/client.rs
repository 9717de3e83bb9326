//! `RuntimeClient`: the channel to the runtime, its transports and the typed requests.

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::{Mutex, MutexGuard};

use crate::error::Error;
use crate::json::Value;
use crate::protocol::{
    self, Body, CapabilityConstraints, CapabilityToken, DecisionRequest, GrantScope, LaunchConfig,
    ProviderRequest,
    Message, RuntimeInfo, RuntimeRequest, RuntimeResponse, MAX_MESSAGE,
};

// ---- transports -----------------------------------------------------------------------------

/// A failed transfer: which error it becomes, and whether the channel is unusable after it.
struct XferError {
    protocol: bool, // Error::Protocol, else Error::Transport
    msg: String,
    broken: bool,
}

impl XferError {
    fn transport(msg: String) -> XferError {
        XferError {
            protocol: false,
            msg,
            broken: true,
        }
    }
    fn protocol(msg: String, broken: bool) -> XferError {
        XferError {
            protocol: true,
            msg,
            broken,
        }
    }
    fn into_error(self) -> Error {
        if self.protocol {
            Error::Protocol(self.msg)
        } else {
            Error::Transport(self.msg)
        }
    }
}

/// Moves one request and returns its response.
trait Transport: Send {
    /// `line` is the request message followed by `\n`. Returns the response message (without
    /// a newline), valid until the next exchange.
    fn exchange(&mut self, line: &[u8]) -> Result<&[u8], XferError>;
}

/// The line transport (vm capsules, tests): the request plus `\n` out, one line back (at most
/// 1 MiB before its `\n`). Bytes after that line stay buffered for the next exchange (where
/// they show up as a wrong id).
struct LineTransport<S> {
    stream: S,
    buf: Vec<u8>,
    used: usize, // the line returned last time, with its '\n': [0, used)
    scan: usize, // bytes of buf already searched for '\n'
}

impl<S: Read + Write + Send> LineTransport<S> {
    fn new(stream: S) -> LineTransport<S> {
        LineTransport {
            stream,
            buf: Vec::new(),
            used: 0,
            scan: 0,
        }
    }
}

impl<S: Read + Write + Send> Transport for LineTransport<S> {
    fn exchange(&mut self, line: &[u8]) -> Result<&[u8], XferError> {
        if self.used > 0 {
            self.buf.drain(..self.used);
            self.used = 0;
            self.scan = 0;
        }
        if let Err(e) = self
            .stream
            .write_all(line)
            .and_then(|_| self.stream.flush())
        {
            return Err(XferError::transport(format!(
                "writing to the runtime channel: {e}"
            )));
        }
        loop {
            if let Some(p) = self.buf[self.scan..].iter().position(|&b| b == b'\n') {
                let end = self.scan + p;
                self.used = end + 1;
                self.scan = 0;
                return Ok(&self.buf[..end]);
            }
            self.scan = self.buf.len();
            if self.buf.len() > MAX_MESSAGE {
                return Err(XferError::protocol(
                    "response line longer than the 1 MiB message limit".into(),
                    true,
                ));
            }
            let have = self.buf.len();
            let want = (MAX_MESSAGE + 1 - have).min(64 * 1024);
            self.buf.resize(have + want, 0);
            let r = self.stream.read(&mut self.buf[have..]);
            self.buf.truncate(have + *r.as_ref().unwrap_or(&0));
            match r {
                Ok(0) => {
                    return Err(XferError::transport(format!(
                        "the runtime closed the channel{}",
                        if have > 0 {
                            " in the middle of a response"
                        } else {
                            ""
                        }
                    )))
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(XferError::transport(format!(
                        "reading from the runtime channel: {e}"
                    )))
                }
            }
        }
    }
}

/// The wasm transport: `elastos.call(req, req_len, resp, resp_cap)`; a response longer than
/// the buffer is kept by the runtime and fetched with `call(0, 0, buf, n)`.
#[cfg(any(target_arch = "wasm32", test))]
mod call_transport {
    use super::{Transport, XferError};
    use crate::protocol::MAX_MESSAGE;

    /// The signature of the `elastos.call` import.
    pub(crate) type HostCall = unsafe extern "C" fn(*const u8, i32, *mut u8, i32) -> i32;

    /// The first response buffer (grown to fit a larger response once one arrives).
    pub(crate) const CALL_BUF: usize = 16384;

    pub(crate) struct CallTransport {
        pub(crate) call: HostCall,
        pub(crate) buf: Vec<u8>,
    }

    impl CallTransport {
        pub(crate) fn new(call: HostCall) -> CallTransport {
            CallTransport {
                call,
                buf: vec![0; CALL_BUF],
            }
        }
    }

    impl Transport for CallTransport {
        fn exchange(&mut self, line: &[u8]) -> Result<&[u8], XferError> {
            let req = &line[..line.len().saturating_sub(1)]; // no '\n' on this transport
                                                             // Both lengths are at most 1 MiB (+1), far inside i32.
            let n = unsafe {
                (self.call)(
                    req.as_ptr(),
                    req.len() as i32,
                    self.buf.as_mut_ptr(),
                    self.buf.len() as i32,
                )
            };
            if n < 0 {
                return Err(XferError::transport(format!("elastos.call failed ({n})")));
            }
            let len = n as usize;
            if len > self.buf.len() {
                // The runtime kept the response: fetch it into a buffer of the right size.
                if len > MAX_MESSAGE {
                    return Err(XferError::protocol(
                        format!("response of {len} bytes exceeds the 1 MiB message limit"),
                        false,
                    ));
                }
                let mut big = vec![0u8; len];
                let m = unsafe { (self.call)(std::ptr::null(), 0, big.as_mut_ptr(), n) };
                if m != n {
                    return Err(XferError::protocol(
                        format!("fetching the kept {len}-byte response returned {m}"),
                        false,
                    ));
                }
                self.buf = big;
            }
            Ok(&self.buf[..len])
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod host {
    #[link(wasm_import_module = "elastos")]
    extern "C" {
        /// `(import "elastos" "call" (func (param i32 i32 i32 i32) (result i32)))`
        #[link_name = "call"]
        pub(crate) fn elastos_call(
            req: *const u8,
            req_len: i32,
            resp: *mut u8,
            resp_cap: i32,
        ) -> i32;
    }
}

/// A borrowed, inherited descriptor (never closed by the SDK) that waits with poll(2) when it
/// is non-blocking.
#[cfg(unix)]
mod fd {
    use std::fs::File;
    use std::io::{self, Read, Write};
    use std::mem::ManuallyDrop;
    use std::os::raw::{c_int, c_short};
    use std::os::unix::io::{FromRawFd, RawFd};

    #[repr(C)]
    struct PollFd {
        fd: c_int,
        events: c_short,
        revents: c_short,
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    type NfdsT = std::os::raw::c_ulong;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    type NfdsT = std::os::raw::c_uint;

    const POLLIN: c_short = 1;
    const POLLOUT: c_short = 4;
    const F_GETFD: c_int = 1;

    extern "C" {
        fn poll(fds: *mut PollFd, nfds: NfdsT, timeout: c_int) -> c_int;
        fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    }

    /// True when `fd` is an open descriptor.
    pub(crate) fn is_open(fd: RawFd) -> bool {
        unsafe { fcntl(fd, F_GETFD) != -1 }
    }

    fn wait(fd: RawFd, events: c_short) -> io::Result<()> {
        let mut p = PollFd {
            fd,
            events,
            revents: 0,
        };
        loop {
            if unsafe { poll(&mut p, 1, -1) } >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    pub(crate) struct FdStream {
        fd: RawFd,
        file: ManuallyDrop<File>,
    }

    impl FdStream {
        /// # Safety
        /// `fd` must be an open descriptor that stays open while the stream is used.
        pub(crate) unsafe fn new(fd: RawFd) -> FdStream {
            FdStream {
                fd,
                file: ManuallyDrop::new(File::from_raw_fd(fd)),
            }
        }
    }

    impl Read for FdStream {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            loop {
                match self.file.read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(self.fd, POLLIN)?,
                    r => return r,
                }
            }
        }
    }

    impl Write for FdStream {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            loop {
                match self.file.write(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(self.fd, POLLOUT)?,
                    r => return r,
                }
            }
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

// ---- channels -------------------------------------------------------------------------------

/// One runtime channel and its request numbering.
struct Channel {
    transport: Box<dyn Transport>,
    next_id: u64, // the id of the next request: 1, 2, 3, ...
    broken: Option<String>,
}

impl Channel {
    fn new(transport: Box<dyn Transport>) -> Channel {
        Channel {
            transport,
            next_id: 1,
            broken: None,
        }
    }

    /// Encodes a request with the next id, moves it, and checks the response envelope: its id
    /// (0: the runtime did not count the request, so the id is reused; any other wrong id
    /// makes the channel unusable) and error responses. Returns the success response's type
    /// and members.
    fn exchange(
        &mut self,
        encode: impl FnOnce(u64) -> Result<String, Error>,
    ) -> Result<(String, Vec<(String, Value)>), Error> {
        let id = self.next_id;
        let mut msg = encode(id)?;
        if let Some(why) = &self.broken {
            return Err(Error::Transport(format!(
                "the runtime channel is unusable after an earlier failure: {why}"
            )));
        }
        msg.push('\n');
        let r = self.transport.exchange(msg.as_bytes());
        self.next_id = id.wrapping_add(1); // the runtime has seen the request (or is gone)
        let parsed = match r {
            Ok(resp) => protocol::parse_envelope(resp),
            Err(e) => {
                if e.broken && self.broken.is_none() {
                    self.broken = Some(e.msg.clone());
                }
                return Err(e.into_error());
            }
        };
        let (rid, body) = parsed?;
        if rid != id {
            if rid == 0 {
                self.next_id = id;
                if let Body::Error { code, message } = body {
                    return Err(Error::Runtime { code, message });
                }
            } else {
                self.broken = Some(format!("a response carried id {rid} for request {id}"));
            }
            return Err(Error::Protocol(format!(
                "id {rid} does not match request id {id}"
            )));
        }
        match body {
            Body::Error { code, message } => Err(Error::Runtime { code, message }),
            Body::Response { type_, obj } => Ok((type_, obj)),
        }
    }
}

/// The process's channel: every client from [`RuntimeClient::open`] shares it and its
/// numbering, as the runtime counts requests per capsule.
static GLOBAL: Mutex<Option<Channel>> = Mutex::new(None);

fn global() -> MutexGuard<'static, Option<Channel>> {
    GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(target_arch = "wasm32")]
fn default_transport() -> Result<Box<dyn Transport>, Error> {
    Ok(Box::new(call_transport::CallTransport::new(
        host::elastos_call,
    )))
}

#[cfg(all(unix, not(target_arch = "wasm32")))]
fn default_transport() -> Result<Box<dyn Transport>, Error> {
    let fd = runtime_fd_from_env()?;
    // SAFETY: the descriptor is open (checked) and inherited for the life of the process; the
    // SDK never closes it.
    Ok(Box::new(LineTransport::new(unsafe {
        fd::FdStream::new(fd)
    })))
}

#[cfg(not(any(unix, target_arch = "wasm32")))]
fn default_transport() -> Result<Box<dyn Transport>, Error> {
    Err(Error::Transport(
        "not running under elastos: no runtime channel on this platform".into(),
    ))
}

/// The descriptor number in `ELASTOS_RUNTIME_FD`: decimal digits without leading zeros, at
/// most `i32::MAX`, naming an open descriptor.
#[cfg(all(unix, not(target_arch = "wasm32")))]
fn runtime_fd_from_env() -> Result<std::os::unix::io::RawFd, Error> {
    let s = match std::env::var("ELASTOS_RUNTIME_FD") {
        Ok(s) => s,
        Err(_) => {
            return Err(Error::Transport(
                "not running under elastos: ELASTOS_RUNTIME_FD is not set".into(),
            ))
        }
    };
    let digits = !s.is_empty() && s.len() <= 10 && s.bytes().all(|c| c.is_ascii_digit());
    let fd = match s.parse::<i32>() {
        Ok(v) if digits && !(s.len() > 1 && s.starts_with('0')) => v,
        _ => {
            return Err(Error::Transport(format!(
                "ELASTOS_RUNTIME_FD={s:?} is not a descriptor number"
            )))
        }
    };
    if !fd::is_open(fd) {
        return Err(Error::Transport(format!(
            "ELASTOS_RUNTIME_FD={fd} is not an open descriptor"
        )));
    }
    Ok(fd)
}

// ---- the client -----------------------------------------------------------------------------

enum Link {
    Global,
    Private(Channel),
}

/// The channel to the runtime: sends a [`RuntimeRequest`] and receives the matching
/// [`RuntimeResponse`], in the wire format of `docs/protocol.md`.
///
/// On wasm it uses the host import `elastos.call`; natively (vm capsules) the inherited
/// descriptor named by `ELASTOS_RUNTIME_FD`, one JSON message per line. Stdio stays free for
/// the capsule. Requests are numbered 1, 2, 3, ... per process, shared by every client from
/// [`open`](RuntimeClient::open) (clients from [`from_stream`](RuntimeClient::from_stream)
/// number their own channel). Calls from several threads are serialized.
///
/// ```no_run
/// use elastos_guest::RuntimeClient;
/// # fn main() -> Result<(), elastos_guest::Error> {
/// let mut rt = RuntimeClient::open()?;
/// let path = "localhost://storage/notes/today.txt";
/// let cap = rt.request_capability("localhost://storage/notes/*", "read", None)?;
/// let data = rt.storage_read(&cap.token, path)?;
/// println!("{}", String::from_utf8_lossy(&data));
/// # Ok(()) }
/// ```
pub struct RuntimeClient {
    link: Link,
}

impl fmt::Debug for RuntimeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.link {
            Link::Global => "RuntimeClient(process channel)",
            Link::Private(_) => "RuntimeClient(private channel)",
        })
    }
}

/// A response of a type the request cannot get (`call` already checked the type, so this is
/// never expected to happen; it is an error, not a panic).
fn unexpected(r: &RuntimeResponse) -> Error {
    Error::Protocol(format!("unexpected response type \"{}\"", r.type_name()))
}

/// A printable, bounded rendering of an untrusted tag for error messages.
fn clip(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(40)
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect();
    if s.chars().count() > 40 {
        out.push_str("...");
    }
    out
}

macro_rules! expect_response {
    ($resp:expr, $pat:pat => $val:expr) => {
        match $resp {
            $pat => Ok($val),
            other => Err(unexpected(&other)),
        }
    };
}

impl RuntimeClient {
    /// Opens a client on the process's runtime channel, or fails with
    /// [`Error::Transport`] when the program is not running under elastos (natively:
    /// `ELASTOS_RUNTIME_FD` unset, malformed, or not an open descriptor). On wasm it always
    /// succeeds. Dropping a client does not close the channel.
    pub fn open() -> Result<RuntimeClient, Error> {
        let mut g = global();
        if g.is_none() {
            *g = Some(Channel::new(default_transport()?));
        }
        Ok(RuntimeClient { link: Link::Global })
    }

    /// A client on its own line channel over `stream` (a socket, a pipe pair, a test double):
    /// one JSON message per line, requests numbered from 1.
    pub fn from_stream<S: Read + Write + Send + 'static>(stream: S) -> RuntimeClient {
        RuntimeClient {
            link: Link::Private(Channel::new(Box::new(LineTransport::new(stream)))),
        }
    }

    /// A client on its own line channel over the open descriptor `fd`, which the client never
    /// closes; requests are numbered from 1. Waits with poll(2) if the descriptor is
    /// non-blocking.
    ///
    /// # Safety
    /// `fd` must be an open, readable and writable descriptor that stays open, and is not
    /// read by anything else, while the client is used.
    #[cfg(unix)]
    pub unsafe fn from_raw_fd(fd: std::os::unix::io::RawFd) -> RuntimeClient {
        RuntimeClient::from_stream(fd::FdStream::new(fd))
    }

    #[cfg(test)]
    fn from_host_call(call: call_transport::HostCall) -> RuntimeClient {
        let t = call_transport::CallTransport::new(call);
        RuntimeClient {
            link: Link::Private(Channel::new(Box::new(t))),
        }
    }

    fn exchange(
        &mut self,
        encode: impl FnOnce(u64) -> Result<String, Error>,
    ) -> Result<(String, Vec<(String, Value)>), Error> {
        match &mut self.link {
            Link::Private(ch) => ch.exchange(encode),
            Link::Global => match global().as_mut() {
                Some(ch) => ch.exchange(encode),
                None => Err(Error::Transport("the runtime channel is not open".into())),
            },
        }
    }

    /// Sends `request` and returns its response. The response must be the success type of
    /// the request (`pong` for `ping`, ...; else [`Error::Protocol`]); an error response comes
    /// back as `Err(Error::Runtime { code, message })`.
    pub fn call(&mut self, request: &RuntimeRequest) -> Result<RuntimeResponse, Error> {
        let expect = request.response_type();
        let (type_, obj) = self.exchange(|id| request.encode(id))?;
        if type_ != expect {
            return Err(Error::Protocol(format!(
                "type \"{}\" where \"{expect}\" was expected",
                clip(&type_)
            )));
        }
        protocol::decode_body(&type_, &obj)
    }

    /// Sends a request the SDK may not know: `request` is the inner request object (any JSON
    /// object with a string `"type"`), sent compactly inside `{"id":N,"request":...}`. Returns
    /// the inner response object, whatever its type; an error response comes back as
    /// `Err(Error::Runtime { .. })`.
    pub fn call_raw(&mut self, request: &Value) -> Result<Value, Error> {
        let (_, obj) = self.exchange(|id| protocol::encode_raw(id, request))?;
        Ok(Value::Object(obj))
    }

    /// `ping` -> `pong`.
    pub fn ping(&mut self) -> Result<(), Error> {
        expect_response!(self.call(&RuntimeRequest::Ping)?, RuntimeResponse::Pong => ())
    }

    /// `get_runtime_info` -> `runtime_info`.
    pub fn runtime_info(&mut self) -> Result<RuntimeInfo, Error> {
        expect_response!(self.call(&RuntimeRequest::GetRuntimeInfo)?,
                         RuntimeResponse::RuntimeInfo(i) => i)
    }

    /// `request_capability` -> `capability_token`: asks for `action` on `resource` (a URI or a
    /// pattern ending in `/*`), optionally narrowed by `constraints`.
    pub fn request_capability(
        &mut self,
        resource: &str,
        action: &str,
        constraints: Option<&CapabilityConstraints>,
    ) -> Result<CapabilityToken, Error> {
        let req = RuntimeRequest::RequestCapability {
            resource: resource.to_owned(),
            action: action.to_owned(),
            constraints: constraints.copied(),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::CapabilityToken(t) => t)
    }

    /// `storage_read` -> `storage_data`. `path` is a full URI
    /// (`localhost://storage/notes/a.txt`).
    pub fn storage_read(&mut self, token: &str, path: &str) -> Result<Vec<u8>, Error> {
        let req = RuntimeRequest::StorageRead {
            token: token.to_owned(),
            path: path.to_owned(),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::StorageData { data } => data)
    }

    /// `storage_write` -> `ok`.
    pub fn storage_write(&mut self, token: &str, path: &str, content: &[u8]) -> Result<(), Error> {
        protocol::check_bytes(content.len())?; // before copying it
        let req = RuntimeRequest::StorageWrite {
            token: token.to_owned(),
            path: path.to_owned(),
            content: content.to_vec(),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::Ok => ())
    }

    /// `storage_list` -> `storage_list`: the names in a directory; directories end in `/`.
    pub fn storage_list(&mut self, token: &str, path: &str) -> Result<Vec<String>, Error> {
        let req = RuntimeRequest::StorageList {
            token: token.to_owned(),
            path: path.to_owned(),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::StorageList { entries } => entries)
    }

    /// `storage_delete` -> `ok`.
    pub fn storage_delete(&mut self, token: &str, path: &str) -> Result<(), Error> {
        let req = RuntimeRequest::StorageDelete {
            token: token.to_owned(),
            path: path.to_owned(),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::Ok => ())
    }

    /// `fetch_content` -> `content`. `uri` is `elastos://cid/...`.
    pub fn fetch_content(&mut self, token: &str, uri: &str) -> Result<Vec<u8>, Error> {
        let req = RuntimeRequest::FetchContent {
            token: token.to_owned(),
            uri: uri.to_owned(),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::Content { data } => data)
    }

    /// `send_message` -> `ok`. `to` is the receiving capsule's name; `reply_to` names the
    /// message this one answers.
    pub fn send_message(
        &mut self,
        token: &str,
        to: &str,
        payload: &[u8],
        reply_to: Option<&str>,
    ) -> Result<(), Error> {
        protocol::check_bytes(payload.len())?;
        let req = RuntimeRequest::SendMessage {
            token: token.to_owned(),
            to: to.to_owned(),
            payload: payload.to_vec(),
            reply_to: reply_to.map(str::to_owned),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::Ok => ())
    }

    /// `receive_messages` -> `messages`. `max` (at least 1) bounds how many; `None` leaves it
    /// to the runtime.
    pub fn receive_messages(&mut self, max: Option<u64>) -> Result<Vec<Message>, Error> {
        let req = RuntimeRequest::ReceiveMessages { max };
        expect_response!(self.call(&req)?, RuntimeResponse::Messages { messages } => messages)
    }

    /// `provider_call` -> `provider_result`: `body` is any JSON value (sent compactly, keys in
    /// order); returns the provider's result.
    pub fn provider_call(&mut self, token: &str, uri: &str, body: &Value) -> Result<Value, Error> {
        let req = RuntimeRequest::ProviderCall {
            token: token.to_owned(),
            uri: uri.to_owned(),
            body: body.clone(),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::ProviderResult { result } => result)
    }

    /// `launch_capsule` -> `capsule_launched`: returns the new instance's id.
    pub fn launch_capsule(&mut self, config: &LaunchConfig) -> Result<String, Error> {
        let req = RuntimeRequest::LaunchCapsule {
            config: config.clone(),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::CapsuleLaunched { capsule_id } => capsule_id)
    }

    /// `stop_capsule` -> `ok`.
    pub fn stop_capsule(&mut self, capsule_id: &str) -> Result<(), Error> {
        let req = RuntimeRequest::StopCapsule {
            capsule_id: capsule_id.to_owned(),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::Ok => ())
    }

    /// `list_capsules` -> `capsule_list`: the running capsules, as the runtime describes them.
    pub fn list_capsules(&mut self) -> Result<Vec<Value>, Error> {
        expect_response!(self.call(&RuntimeRequest::ListCapsules)?,
                         RuntimeResponse::CapsuleList { capsules } => capsules)
    }

    /// `get_decision_request` -> `decision_request` (shell only).
    pub fn get_decision_request(&mut self) -> Result<DecisionRequest, Error> {
        expect_response!(self.call(&RuntimeRequest::GetDecisionRequest)?,
                         RuntimeResponse::DecisionRequest(d) => d)
    }

    /// `grant_capability` -> `capability_granted` (shell only): returns the token's id.
    pub fn grant_capability(
        &mut self,
        request_id: u64,
        scope: GrantScope,
    ) -> Result<String, Error> {
        let req = RuntimeRequest::GrantCapability { request_id, scope };
        expect_response!(self.call(&req)?, RuntimeResponse::CapabilityGranted { token_id } => token_id)
    }

    /// `deny_capability` -> `ok` (shell only).
    pub fn deny_capability(&mut self, request_id: u64, reason: &str) -> Result<(), Error> {
        let req = RuntimeRequest::DenyCapability {
            request_id,
            reason: reason.to_owned(),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::Ok => ())
    }

    /// `revoke_capability` -> `ok` (shell only).
    pub fn revoke_capability(&mut self, token_id: &str) -> Result<(), Error> {
        let req = RuntimeRequest::RevokeCapability {
            token_id: token_id.to_owned(),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::Ok => ())
    }

    /// `get_provider_call` -> `provider_request` (provider capsules only): the call to serve.
    /// After the previous call was answered it waits for the next one; `Err` with code
    /// `not_found` ("no more calls") when there will be none: the provider then exits.
    pub fn get_provider_call(&mut self) -> Result<ProviderRequest, Error> {
        expect_response!(self.call(&RuntimeRequest::GetProviderCall)?,
                         RuntimeResponse::ProviderRequest(p) => p)
    }

    /// `answer_provider_call` -> `ok`: `result` (any JSON value) is the consumer's
    /// `provider_result`. Once per call.
    pub fn answer_provider_call(&mut self, call_id: u64, result: &Value) -> Result<(), Error> {
        let req = RuntimeRequest::AnswerProviderCall {
            call_id,
            result: result.clone(),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::Ok => ())
    }

    /// `fail_provider_call` -> `ok`: the consumer gets an error with `code` (a protocol code)
    /// and `provider: <message>`. Once per call.
    pub fn fail_provider_call(&mut self, call_id: u64, code: &str, message: &str) -> Result<(), Error> {
        let req = RuntimeRequest::FailProviderCall {
            call_id,
            code: code.to_owned(),
            message: message.to_owned(),
        };
        expect_response!(self.call(&req)?, RuntimeResponse::Ok => ())
    }
}

#[cfg(test)]
mod tests {
    //! The wasm transport, natively, against a stand-in for the `elastos.call` import.
    use super::*;
    use std::cell::RefCell;

    #[derive(Default)]
    struct Fake {
        mode: u8, // 0 normal, 1 negative, 2 huge, 3 wrong fetch length
        resp: Vec<u8>,
        kept: Option<Vec<u8>>,
        req: Vec<u8>,
        calls: usize,
        fetches: usize,
    }

    thread_local! {
        static FAKE: RefCell<Fake> = RefCell::new(Fake::default());
    }

    extern "C" fn fake_call(req: *const u8, req_len: i32, resp: *mut u8, resp_cap: i32) -> i32 {
        FAKE.with(|f| {
            let mut f = f.borrow_mut();
            let cap = resp_cap as usize;
            if req.is_null() && req_len == 0 {
                f.fetches += 1;
                let kept = match f.kept.take() {
                    Some(k) => k,
                    None => return -1,
                };
                if f.mode == 3 {
                    return kept.len() as i32 - 1;
                }
                if cap < kept.len() {
                    let n = kept.len() as i32;
                    f.kept = Some(kept);
                    return n;
                }
                unsafe { std::ptr::copy_nonoverlapping(kept.as_ptr(), resp, kept.len()) };
                return kept.len() as i32;
            }
            f.calls += 1;
            f.req = unsafe { std::slice::from_raw_parts(req, req_len as usize) }.to_vec();
            match f.mode {
                1 => return -1,
                2 => return 2_000_000,
                _ => {}
            }
            f.kept = None;
            let n = f.resp.len();
            if n <= cap {
                let r = f.resp.clone();
                unsafe { std::ptr::copy_nonoverlapping(r.as_ptr(), resp, n) };
            } else {
                f.kept = Some(f.resp.clone());
            }
            n as i32
        })
    }

    fn set(mode: u8, resp: &[u8]) {
        FAKE.with(|f| {
            let mut f = f.borrow_mut();
            f.mode = mode;
            f.resp = resp.to_vec();
        })
    }

    fn get<T>(g: impl FnOnce(&Fake) -> T) -> T {
        FAKE.with(|f| g(&f.borrow()))
    }

    #[test]
    fn call_transport() {
        let mut c = RuntimeClient::from_host_call(fake_call);
        set(0, b"{\"id\":1,\"response\":{\"type\":\"pong\"}}");
        c.ping().unwrap();
        assert_eq!(
            get(|f| f.req.clone()),
            b"{\"id\":1,\"request\":{\"type\":\"ping\"}}"
        ); // no '\n'
        assert_eq!(get(|f| (f.calls, f.fetches)), (1, 0));

        // A 150 KB response: longer than the 16 KiB buffer, fetched with call(0, 0, buf, n).
        let src: Vec<u8> = (0..112_500u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut big = b"{\"id\":2,\"response\":{\"type\":\"storage_data\",\"data\":\"".to_vec();
        big.extend_from_slice(crate::base64::encode(&src).as_bytes());
        big.extend_from_slice(b"\"}}");
        set(0, &big);
        assert_eq!(c.storage_read("t", "p").unwrap(), src);
        assert_eq!(
            get(|f| (f.calls, f.fetches, f.kept.is_none())),
            (2, 1, true)
        );
        // The grown buffer now takes it in one call.
        big[6] = b'3';
        set(0, &big);
        assert_eq!(c.storage_read("t", "p").unwrap(), src);
        assert_eq!(get(|f| (f.calls, f.fetches)), (3, 1));

        // A fetch that returns another length; a length over 1 MiB; a failing call.
        let mut c2 = RuntimeClient::from_host_call(fake_call);
        big[6] = b'1';
        set(3, &big);
        assert!(matches!(c2.storage_read("t", "p"), Err(Error::Protocol(_))));
        set(2, &big);
        match c2.ping() {
            Err(Error::Protocol(m)) => assert!(m.contains("1 MiB"), "{m}"),
            other => panic!("{other:?}"),
        }
        set(1, &big);
        assert!(matches!(c2.ping(), Err(Error::Transport(_))));
        assert!(matches!(c2.ping(), Err(Error::Transport(_))));
        assert_eq!(get(|f| f.calls), 6); // the last ping was not sent: the channel is unusable
    }

    #[test]
    fn clip_is_bounded() {
        assert_eq!(clip("pong"), "pong");
        assert_eq!(clip("a\u{0}\u{e9}"), "a??");
        assert_eq!(clip(&"x".repeat(50)).len(), 43);
    }
}
