//! rust-vm - a native Rust test capsule for the vm substrate (tests/cli/test_vm.sh): prints its
//! identity (environment and runtime_info over the SDK's native channel), its arguments, asks
//! for a capability outside its manifest (must be denied), and exits with "exit=N".
use elastos_guest::{CapsuleInfo, RuntimeClient};
use std::process;

fn main() {
    let info = match CapsuleInfo::from_env() {
        Some(i) => i,
        None => {
            println!("rust-vm: not running as a capsule");
            process::exit(2);
        }
    };
    println!("rust-vm {} {}", info.name, info.id);
    let mut status = 0;
    for (i, a) in std::env::args().enumerate().skip(1) {
        println!("arg[{}] = {}", i, a);
        if let Some(n) = a.strip_prefix("exit=") {
            status = n.parse().unwrap_or(1);
        }
    }
    match RuntimeClient::open() {
        Ok(mut rt) => {
            match rt.runtime_info() {
                Ok(ri) => println!("info: {} {}", ri.capsule_name, ri.capsule_id),
                Err(e) => println!("info: error {}", e),
            }
            match rt.request_capability("localhost://secrets/key", "read", None) {
                Ok(_) => println!("outside: granted"),
                Err(e) => println!("outside: error {}", e),
            }
        }
        Err(e) => println!("open: error {}", e),
    }
    process::exit(status);
}
