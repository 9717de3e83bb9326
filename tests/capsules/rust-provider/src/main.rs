//! rust-provider - a provider capsule for `elastos://kv/` written with the Rust guest SDK
//! (guest/rust), the twin of tests/capsules/go-provider, for tests/cli/test_provider_sdk.sh. It
//! serves calls one after another until the runtime has no more for it: `get` answers
//! `{"value": "rust <n> <caller> <key>"}` (n: how many calls this instance has served, so a test
//! sees one instance serve many); any other op is failed with `not_found`
//! "rust-provider: no op OP". Nothing here knows the consumer's token: the SDK's
//! `ProviderRequest` has none.

use std::process;

use elastos_guest::{Error, RuntimeClient, Value};

fn main() {
    let mut rt = match RuntimeClient::open() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rust-provider: {e}");
            process::exit(2);
        }
    };
    let mut served = 0u64;
    loop {
        let call = match rt.get_provider_call() {
            Ok(call) => call,
            Err(Error::Runtime { code, .. }) if code == "not_found" && served > 0 => return, // no more calls
            Err(e) => {
                eprintln!("rust-provider: get_provider_call: {e}");
                process::exit(1);
            }
        };
        served += 1;
        let done = if call.op != "get" {
            rt.fail_provider_call(call.call_id, "not_found", &format!("rust-provider: no op {}", call.op))
        } else {
            let key = call.body.get("key").and_then(Value::as_str).unwrap_or("");
            let v = format!("rust {served} {} {key}", call.caller);
            rt.answer_provider_call(call.call_id, &Value::Object(vec![("value".to_owned(), Value::String(v))]))
        };
        if let Err(e) = done {
            eprintln!("rust-provider: answering: {e}");
            process::exit(1);
        }
    }
}
