//! build.rs - links the shim's engine: engine-isolated.o, made by scripts/build-shim.sh from
//! src/engine.c, libelastos.a and Wasmtime's staticlib as one relocatable object whose only
//! global is shim_launch. ELASTOS_SHIM_ENGINE_DIR names its directory (the CMake build's shim/).
//! The object and then the system libraries it needs are passed in that order, as link
//! arguments (an object, not an archive: binutils' LLVM plugin cannot index Rust objects).
use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=ELASTOS_SHIM_ENGINE_DIR");
    let Ok(dir) = env::var("ELASTOS_SHIM_ENGINE_DIR") else {
        panic!("ELASTOS_SHIM_ENGINE_DIR is not set: build the shim with scripts/build-shim.sh (ninja containerd-shim)");
    };
    let obj = Path::new(&dir).join("engine-isolated.o");
    assert!(obj.is_file(), "{} is missing: run scripts/build-shim.sh", obj.display());
    println!("cargo:rerun-if-changed={}", obj.display());
    println!("cargo:rustc-link-arg-bins={}", obj.display());
    // What libelastos and Wasmtime need from the system (lib/CMakeLists.txt links the same).
    for l in ["crypto", "sodium", "jansson", "sqlite3", "m", "dl", "pthread"] {
        println!("cargo:rustc-link-arg-bins=-l{l}");
    }
}
