//! rust-web - a WAGI app in Rust for the HTTP front (docs/web.md, tests/cli/test_web_apps.sh):
//! one request per run, the request in CGI variables and stdin, the answer (headers, a blank
//! line, the body) on stdout. The last segment of `PATH_INFO` picks what it does:
//!
//! ```text
//! hello   "hello from rust-web"
//! env     REQUEST_METHOD, PATH_INFO, QUERY_STRING, X_MATCHED_ROUTE and HTTP_X_DEMO, one per line
//! echo    the request body back, with "Status: 201 Created"
//! count   a counter in localhost://storage/count, through tokens (read and write): 403 with
//!         the runtime's error code when a token is refused
//! ```
//! Anything else is "Status: 404 Not Found".

use std::env;
use std::io::{self, Read, Write};

use elastos_guest::{Error, RuntimeClient};

const COUNTER: &str = "localhost://storage/count";

fn var(name: &str) -> String {
    env::var(name).unwrap_or_default()
}

/// The counter after one more request, or the runtime's error code.
fn count() -> Result<u64, String> {
    let code = |e: Error| match e {
        Error::Runtime { code, .. } => code,
        other => other.to_string(),
    };
    let mut rt = RuntimeClient::open().map_err(code)?;
    let read = rt.request_capability(COUNTER, "read", None).map_err(code)?;
    let write = rt.request_capability(COUNTER, "write", None).map_err(code)?;
    let n = match rt.storage_read(&read.token, COUNTER) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().parse::<u64>().unwrap_or(0),
        Err(Error::Runtime { code, .. }) if code == "not_found" => 0,
        Err(e) => return Err(code(e)),
    } + 1;
    rt.storage_write(&write.token, COUNTER, n.to_string().as_bytes()).map_err(code)?;
    Ok(n)
}

fn main() {
    let path = var("PATH_INFO");
    let mode = path.rsplit('/').next().unwrap_or("");
    let mut out = String::new();
    match mode {
        "hello" => out.push_str("Content-Type: text/plain\n\nhello from rust-web\n"),
        "env" => {
            out.push_str("Content-Type: text/plain\n\n");
            for name in ["REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "X_MATCHED_ROUTE", "HTTP_X_DEMO"] {
                out.push_str(&format!("{name}={}\n", var(name)));
            }
        }
        "echo" => {
            let mut body = String::new();
            let _ = io::stdin().read_to_string(&mut body);
            out.push_str(&format!("Status: 201 Created\nContent-Type: text/plain\n\n{body}"));
        }
        "count" => match count() {
            Ok(n) => out.push_str(&format!("Content-Type: text/plain\n\ncount {n}\n")),
            Err(code) => out.push_str(&format!("Status: 403 Forbidden\nContent-Type: text/plain\n\ndenied {code}\n")),
        },
        _ => out.push_str("Status: 404 Not Found\nContent-Type: text/plain\n\nno such page\n"),
    }
    let _ = io::stdout().write_all(out.as_bytes());
}
