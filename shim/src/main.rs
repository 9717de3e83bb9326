//! containerd-shim-elastos-v1: the containerd runtime `io.containerd.elastos.v1`.
//!
//! Built on runwasi's `containerd-shim-wasm` (the containerd side: tasks, stdio, exit status,
//! kill and delete, a youki container per task). Its engine runs nothing itself: everything
//! about a capsule (resolve, signature, trusted publisher, CID, limits, grants, audit, the run)
//! is libelastos's `el_launch`, reached through one C function (`src/engine.c`, `src/ffi.rs`).
//!
//! Why it is shaped so:
//! * runwasi calls the engine (`run_wasi`) inside the task's container, after youki's
//!   `pivot_root`: the node's state (trust store, store, audit, compile cache) is not visible
//!   there. The shim therefore keeps a descriptor of the host's `/` from its own start
//!   (`HOST_ROOT`, inherited by the container's init process, which never execs) and the
//!   engine chroots back to it before libelastos opens the node's `ELASTOS_HOME`. The container
//!   still has its own pid, network, ipc and uts namespaces and cgroup; the capsule itself sees
//!   no file system at all (Wasmtime, zero ambient authority).
//! * The artifact is the image's one capsule layer (`elastos oci pack`), read by runwasi from
//!   containerd's content store; the layer's annotation names the CID the shim insists on.
//! * Pod annotations (`elastos.io/grant`, `elastos.io/limits`) are read from the task's state
//!   (youki's `state.json`, which carries the spec's annotations) and handed to el_launch as
//!   operator grants and limits, which the library narrows to the manifest (never widens).

mod ffi;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::Result;
use containerd_shim_wasm::sandbox::context::{RuntimeContext, Source};
use containerd_shim_wasm::sandbox::Sandbox;
use containerd_shim_wasm::shim::{version, Cli, Config, Shim, Version};

/// The media type of a capsule layer: the artifact itself, a canonical ustar, so containerd
/// (1.6 too) unpacks it like any tar layer while the shim takes its exact bytes.
const CAPSULE_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// The layer annotation naming the CID the artifact must have (written by `elastos oci pack`).
const CID_ANNOTATION: &str = "org.elastos.capsule.cid";
/// Pod annotations: operator grants (like `run --grant`, space-separated) and limits.
const GRANT_ANNOTATION: &str = "elastos.io/grant";
const LIMITS_ANNOTATION: &str = "elastos.io/limits";
/// Where youki keeps each task's state.json (containerd-shimkit's default root, per namespace).
const TASK_STATE_ROOT: &str = "/run/containerd/elastos";

/// The host's `/`, opened before containerd-shim-wasm forks anything (-1: not open).
static HOST_ROOT: AtomicI32 = AtomicI32::new(-1);
/// Set by SIGTERM/SIGINT (`ctr task kill`, a pod's deletion): the capsule is stopped (137).
static STOP: AtomicI32 = AtomicI32::new(0);

struct ElastosShim;

#[derive(Default, Clone)]
struct ElastosSandbox;

impl Shim for ElastosShim {
    type Sandbox = ElastosSandbox;

    fn name() -> &'static str {
        "elastos"
    }

    fn version() -> Version {
        version!()
    }

    fn supported_layers_types() -> &'static [&'static str] {
        &[CAPSULE_LAYER]
    }
}

impl Sandbox for ElastosSandbox {
    async fn run_wasi(&self, ctx: &impl RuntimeContext) -> Result<i32> {
        Ok(run_capsule(ctx))
    }

    /// Any image with exactly one capsule layer is ours; everything else is refused at create.
    async fn can_handle(&self, ctx: &impl RuntimeContext) -> Result<()> {
        match ctx.entrypoint().source {
            Source::Oci([_]) => Ok(()),
            _ => anyhow::bail!("not an elastos image: it needs exactly one capsule layer (elastos oci pack)"),
        }
    }
}

/// Prints the one-line error (stderr is the task's, so `ctr run` shows it) and returns code.
fn refuse(code: i32, msg: &str) -> i32 {
    eprintln!("elastos: {msg}");
    code
}

/// The engine, in the task's container init process: returns the task's exit status.
fn run_capsule(ctx: &impl RuntimeContext) -> i32 {
    let layer = match ctx.entrypoint().source {
        Source::Oci([layer]) => layer,
        _ => return refuse(65, "not an elastos image: it needs exactly one capsule layer"),
    };
    let cid = match layer.config.annotations().as_ref().and_then(|a| a.get(CID_ANNOTATION)) {
        Some(c) => c.clone(),
        None => return refuse(65, &format!("the capsule layer has no {CID_ANNOTATION} annotation")),
    };
    if let Err(e) = enter_host_root() {
        return refuse(78, &format!("cannot reach the node's state: {e}"));
    }
    install_stop_handler();
    // The capsule's stdin is empty: containerd-shim-wasm never closes the task's stdin FIFO
    // (no CloseIO), so a capsule reading it would wait for ever.
    empty_stdin();
    let annotations = task_annotations();
    let grants: Vec<String> = annotations
        .get(GRANT_ANNOTATION)
        .map(|g| g.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let limits = match annotations.get(LIMITS_ANNOTATION).map(|l| parse_limits(l)).transpose() {
        Ok(l) => l.unwrap_or_default(),
        Err(e) => return refuse(64, &e),
    };
    let args: Vec<String> = ctx.args().iter().skip(1).cloned().collect();
    let task = annotations.get("io.kubernetes.cri.container-name").cloned().unwrap_or_default();
    ffi::launch(&ffi::Launch {
        artifact: &layer.layer,
        expect_cid: &cid,
        grants: &grants,
        args: &args,
        limits,
        task: &task,
        stop: &STOP,
    })
}

/// `memory_mb=N,cpu_ms=N,wall_ms=N` (any subset) into limits that narrow the manifest's.
fn parse_limits(text: &str) -> std::result::Result<ffi::Limits, String> {
    let mut l = ffi::Limits::default();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, v) = item.split_once('=').ok_or_else(|| format!("{LIMITS_ANNOTATION}: '{item}' is not KEY=N"))?;
        let n: u64 = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| format!("{LIMITS_ANNOTATION}: '{v}' is not a positive number"))?;
        match k {
            "memory_mb" => l.memory_mb = u32::try_from(n).map_err(|_| format!("{LIMITS_ANNOTATION}: memory_mb {n} is too large"))?,
            "cpu_ms" => l.cpu_ms = n,
            "wall_ms" => l.wall_ms = n,
            _ => return Err(format!("{LIMITS_ANNOTATION}: unknown limit '{k}' (memory_mb, cpu_ms, wall_ms)")),
        }
    }
    Ok(l)
}

/// Opens the host's `/` (O_PATH, close-on-exec: kept across youki's forks, never across an
/// exec). Called first thing in main, before containerd-shim-wasm starts its zygote.
fn hold_host_root() {
    let fd = unsafe { libc::open(c"/".as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    HOST_ROOT.store(fd, Ordering::SeqCst);
}

/// From inside the task's container: back to the host's file system (chroot to HOST_ROOT; the
/// default capability set of containerd and Kubernetes has CAP_SYS_CHROOT).
fn enter_host_root() -> std::result::Result<(), String> {
    let fd = HOST_ROOT.load(Ordering::SeqCst);
    if fd < 0 {
        return Err("the shim did not keep the host's root".into());
    }
    let err = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    if unsafe { libc::fchdir(fd) } != 0 {
        return Err(err("fchdir"));
    }
    if unsafe { libc::chroot(c".".as_ptr()) } != 0 {
        return Err(err("chroot (the task needs CAP_SYS_CHROOT)"));
    }
    if unsafe { libc::chdir(c"/".as_ptr()) } != 0 {
        return Err(err("chdir"));
    }
    Ok(())
}

fn empty_stdin() {
    unsafe {
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::dup2(fd, 0);
            libc::close(fd);
        }
    }
}

extern "C" fn on_stop(_sig: libc::c_int) {
    STOP.store(1, Ordering::SeqCst);
}

/// SIGTERM and SIGINT stop the capsule: the process is its pid namespace's init, which the
/// kernel gives no default action, so without a handler `ctr task kill` would do nothing.
fn install_stop_handler() {
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_stop as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
        // The mask is inherited from whichever shim thread forked the container: unblock them.
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}

/// The spec's annotations of this task (pod annotations included, as containerd's CRI passes
/// them): from youki's state.json of the task whose init process is this one. Empty when none
/// is found (ctr run without annotations). youki rewrites state.json in place when the task
/// starts, which is when this runs: a file that does not parse yet is read again (up to ~2 s).
fn task_annotations() -> HashMap<String, String> {
    let me = match std::fs::read_link("/proc/self") {
        Ok(p) => p.to_string_lossy().parse::<i64>().unwrap_or(-1),
        Err(_) => return HashMap::new(),
    };
    for _ in 0..100 {
        match scan_task_states(me) {
            Some(Some(found)) => return found,
            Some(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
            None => return HashMap::new(),
        }
    }
    HashMap::new()
}

/// One pass over the task states: Some(Some(annotations)) for the state whose pid is me,
/// Some(None) when it was not found but some state.json did not parse (being rewritten), None
/// when every state parsed and none is this task's.
fn scan_task_states(me: i64) -> Option<Option<HashMap<String, String>>> {
    let mut unreadable = false;
    let Ok(namespaces) = std::fs::read_dir(TASK_STATE_ROOT) else { return None };
    for ns in namespaces.flatten() {
        let Ok(tasks) = std::fs::read_dir(ns.path()) else { continue };
        for task in tasks.flatten() {
            let Ok(text) = std::fs::read(task.path().join("state.json")) else { continue };
            let Ok(state) = serde_json::from_slice::<serde_json::Value>(&text) else {
                unreadable = true;
                continue;
            };
            if state.get("pid").and_then(|p| p.as_i64()) != Some(me) {
                continue;
            }
            let mut out = HashMap::new();
            if let Some(a) = state.get("annotations").and_then(|a| a.as_object()) {
                for (k, v) in a {
                    if let Some(s) = v.as_str() {
                        out.insert(k.clone(), s.to_owned());
                    }
                }
            }
            return Some(Some(out));
        }
    }
    if unreadable { Some(None) } else { None }
}

fn main() {
    hold_host_root();
    // The node's state directory comes from the shim's own environment (containerd's), never
    // from the pod's: containerd-shim-wasm does not put the spec's env into this process.
    let config = Config { default_log_level: "info".to_string(), ..Default::default() };
    ElastosShim::run(config);
}
