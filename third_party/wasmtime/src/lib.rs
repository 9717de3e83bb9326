//! Re-exports Wasmtime's C API so that the staticlib carries every `wasm_*`/`wasmtime_*` symbol,
//! and adds the one setting of a WASI context the C API does not expose (below).
pub use wasmtime_c_api::*;

use wasmtime_wasi::WasiCtxBuilder;

// The C API's `wasi_config_t` is a struct of one private field, its `WasiCtxBuilder`. Equal
// sizes mean that field is all of it, at offset 0 (a field lies within its struct), so a pointer
// to the one is a pointer to the other. Checked when this crate compiles: a Wasmtime that adds a
// field to `wasi_config_t` fails the build here instead of corrupting memory.
const _: () = assert!(std::mem::size_of::<wasi_config_t>() == std::mem::size_of::<WasiCtxBuilder>());
const _: () = assert!(std::mem::align_of::<wasi_config_t>() == std::mem::align_of::<WasiCtxBuilder>());

/// Lets the WASI calls that block the guest (opening, reading, writing a file) block the calling
/// thread too, instead of each being handed to a Tokio blocking-pool thread and waited for
/// (`WasiCtxBuilder::allow_blocking_current_thread`, which the `wasmtime` CLI also sets when it
/// runs a module synchronously, as libelastos always does). Costs no protection: the same
/// checks run, on this thread. `config` must be a live `wasi_config_t` from `wasi_config_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn elastos_wasi_config_allow_blocking(config: *mut wasi_config_t) {
    let builder = unsafe { &mut *(config as *mut WasiCtxBuilder) };
    builder.allow_blocking_current_thread(true);
}
