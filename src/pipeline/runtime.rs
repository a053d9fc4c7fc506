//! ONNX Runtime, loaded explicitly from a path the caller chose.
//!
//! `ort` would otherwise look for the library on its own and panic if it is
//! absent; here a missing or wrong library is an [`Error::Runtime`].

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;
use ort::ep;
use ort::logging::LogLevel;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

use sha2::Digest;

use crate::error::{Error, Result};
use crate::pipeline::models::VerifiedModel;

/// Environment variable naming the ONNX Runtime shared library.
pub const ORT_LIB_ENV: &str = "HONNIN_ORT_LIB";

/// sha256 of `libonnxruntime.so.1.31.1` from the PyPI wheel `onnxruntime==1.31.1`
/// for this CPU architecture (the file `tools/setup.py` extracts), if pinned.
pub const PINNED_ONNXRUNTIME_SHA256: Option<&str> = if cfg!(target_arch = "x86_64") {
    Some("fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3")
} else if cfg!(target_arch = "aarch64") {
    Some("8aa3b76b28c778a2b1dd660d34161adb1d508c9ccd04ff9dc80e26eca5df8467")
} else {
    None
};

/// Environment variable that turns off ONNX Runtime's built-in telemetry
/// client. honnin sets it to `1` before loading the library unless it is `1`
/// already. Setting an environment variable while other threads read the
/// environment (`getenv`, `localtime`) is a data race, so a program that has
/// started threads before it builds its first [`Engine`](crate::Engine)
/// should set it itself, first thing in `main`, as the `honnin` CLI does.
pub const ORT_TELEMETRY_ENV: &str = "ORT_DISABLE_TELEMETRY";

/// Largest shared library accepted when its hash is checked.
const MAX_LIBRARY_BYTES: u64 = 512 * 1024 * 1024;

/// The process's one ONNX Runtime: the library path it was loaded from and its
/// environment. ONNX Runtime allows a single environment per process, so every
/// engine shares this one.
static LOADED: Mutex<Option<Loaded>> = Mutex::new(None);

/// The library this process loaded: its path, the sha256 of the bytes that
/// run, and its environment once built.
struct Loaded {
    path: PathBuf,
    sha256: String,
    env: Option<Environment>,
}

/// Threading and memory settings of each model session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Threading {
    pub(crate) intra_threads: usize,
    pub(crate) spinning: bool,
    /// ONNX Runtime's defaults: CPU memory arena and memory-pattern planning
    /// on, output buffers freed unwiped (only when a forensics measurement
    /// asks for them).
    pub(crate) ort_defaults: bool,
    /// Rewrite `PRelu` into operators ONNX Runtime runs faster (same
    /// results; see `onnx_graph`). On except in the benchmarks and tests that
    /// measure what the rewrite saves or changes.
    pub(crate) expand_prelu: bool,
}

/// Loads ONNX Runtime from `path` (or `HONNIN_ORT_LIB`) once, and returns the
/// shared environment.
pub(crate) fn environment(path: Option<&Path>, sha256: Option<&str>) -> Result<Environment> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => match std::env::var_os(ORT_LIB_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => {
                return Err(Error::Runtime {
                    path: None,
                    reason: format!("no library path given to the builder and {ORT_LIB_ENV} is not set"),
                })
            }
        },
    };
    // An absolute, resolved path: ONNX Runtime must load exactly the file that
    // was named (a bare or relative name would be searched for elsewhere).
    let path =
        std::fs::canonicalize(&path).map_err(|e| Error::Runtime { path: Some(path.clone()), reason: e.to_string() })?;
    let mut loaded = LOADED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(first) = &*loaded {
        if first.path != path {
            // A second library would be ignored silently; say so instead.
            return Err(Error::Runtime {
                path: Some(path),
                reason: format!("this process already loaded onnx runtime from {}", first.path.display()),
            });
        }
        // A pin is checked against the bytes that run, not the file again.
        if let Some(expected) = sha256 {
            if !first.sha256.eq_ignore_ascii_case(expected) {
                return Err(Error::Runtime {
                    path: Some(path),
                    reason: format!(
                        "the library this process loaded has sha256 {}, which differs from the pinned {expected}",
                        first.sha256
                    ),
                });
            }
        }
        if let Some(env) = &first.env {
            return Ok(env.clone());
        }
    }
    // The library is read once, hashed, and loaded from a sealed in-memory
    // copy of exactly those bytes (`sealed_copy`): what was checked is what
    // runs, whatever happens to the file afterwards. Loaded from
    // /proc/self/fd, its `$ORIGIN` (the PyPI build's RUNPATH) names no
    // folder anyone can write to, so a library planted beside the file
    // (a `librt.so.1`) is never picked up; its dependencies come from the
    // system's library path only.
    let bytes = crate::input::decode::read_bounded(&path, MAX_LIBRARY_BYTES)?;
    let actual = crate::pipeline::models::hex(&sha2::Sha256::digest(&bytes));
    if let Some(expected) = sha256 {
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(Error::Runtime {
                path: Some(path),
                reason: format!("sha256 {actual} differs from the pinned {expected}"),
            });
        }
    }
    let runtime_err = |e: &dyn std::fmt::Display| Error::Runtime { path: Some(path.clone()), reason: e.to_string() };
    // The PyPI build of ONNX Runtime 1.31 carries Microsoft's 1DS telemetry
    // client: unless this variable is set before the library loads, it writes a
    // device id and a queue of events (process path, OS, network type) under
    // ~/.cache/Microsoft/DeveloperTools/.onnxruntime and /tmp/.ses, to upload
    // to mobile.events.data.microsoft.com. `with_telemetry(false)` below does
    // not stop that (PRIVACY.md; the strace test proves nothing is written).
    // Changing the environment races with other threads reading it, so this
    // is done only when the program has not set it already (the CLI does, at
    // start-up); see ORT_TELEMETRY_ENV.
    if std::env::var_os(ORT_TELEMETRY_ENV).is_none_or(|v| v != "1") {
        std::env::set_var(ORT_TELEMETRY_ENV, "1");
    }
    let copy = sealed_copy(&bytes).map_err(|e| {
        runtime_err(&format!(
            "an executable in-memory copy of the library could not be made ({e}); honnin loads ONNX Runtime \
             from a sealed memfd, which needs memfd_create with MFD_EXEC allowed (sysctl vm.memfd_noexec below 2)"
        ))
    })?;
    drop(bytes);
    let in_memory = PathBuf::from(format!("/proc/self/fd/{}", copy.as_raw_fd()));
    let builder = ort::init_from(&in_memory).map_err(|e| runtime_err(&e))?;
    // The mapping holds the pages; the descriptor stays open for the
    // process's life all the same, so its number is never reused while the
    // loader might still refer to the name.
    std::mem::forget(copy);
    // From here on this library is the process's, even if building the
    // environment fails: record it so a later, different path is refused.
    *loaded = Some(Loaded { path: path.clone(), sha256: actual.clone(), env: None });
    // ONNX Runtime's default logger writes to stderr; the library never prints,
    // so its messages are dropped (failures still arrive as errors).
    let silent: ort::logging::LoggerFunction = std::sync::Arc::new(|_, _, _, _, _| {});
    let env =
        builder.with_name("honnin").with_telemetry(false).with_logger(silent).build().map_err(|e| runtime_err(&e))?;
    env.set_log_level(LogLevel::Fatal);
    *loaded = Some(Loaded { path, sha256: actual, env: Some(env.clone()) });
    Ok(env)
}

/// `bytes` in an anonymous, sealed memory file (`memfd_create`): it cannot be
/// written, grown or shrunk once sealed, and it lives in no folder.
#[allow(unsafe_code)]
fn sealed_copy(bytes: &[u8]) -> std::io::Result<OwnedFd> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: a NUL-terminated name and valid flags; the descriptor returned
    // is checked and then owned by exactly one OwnedFd. MFD_EXEC asks for an
    // executable memfd where the kernel (6.3+, vm.memfd_noexec) would
    // otherwise make it non-executable; older kernels refuse the flag
    // (EINVAL) and make every memfd executable.
    let mut fd = unsafe { libc::memfd_create(c"honnin-onnxruntime".as_ptr(), flags | libc::MFD_EXEC) };
    if fd < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(c"honnin-onnxruntime".as_ptr(), flags) };
    }
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor owned by nothing else.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut file = std::fs::File::from(owned);
    file.write_all(bytes)?;
    let seals = libc::F_SEAL_WRITE | libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
    // SAFETY: fcntl on a descriptor this function owns, with an int argument.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(OwnedFd::from(file))
}

/// Builds one session for a verified model, from its verified bytes.
pub(crate) fn session(env: &Environment, model: &VerifiedModel, threading: Threading) -> Result<Session> {
    let id = &model.entry.id;
    let err = |e: &dyn std::fmt::Display| Error::inference(id, e);
    // The CPU memory arena and memory-pattern planning keep large blocks alive
    // across runs, holding stale face data; both are off so ONNX Runtime frees
    // (and the allocator can reuse) its buffers after every run.
    let mut builder = Session::builder(env)
        .and_then(|b| b.with_no_environment_execution_providers().map_err(Into::into))
        .map_err(|e| err(&e))?;
    builder = builder
        .with_execution_providers([ep::CPU::default().with_arena_allocator(threading.ort_defaults).build()])
        .map_err(|e| err(&e))?
        .with_memory_pattern(threading.ort_defaults)
        .map_err(|e| err(&e))?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| err(&e))?
        // Only fatal messages reach the (silent) logger: formatting verbose
        // messages on every run would cost time for nothing.
        .with_log_level(LogLevel::Fatal)
        .map_err(|e| err(&e))?
        .with_intra_threads(threading.intra_threads.max(1))
        .map_err(|e| err(&e))?
        .with_inter_threads(1)
        .map_err(|e| err(&e))?
        .with_intra_op_spinning(threading.spinning)
        .map_err(|e| err(&e))?
        .with_inter_op_spinning(threading.spinning)
        .map_err(|e| err(&e))?;
    // The PRelu rewrite is a speed-up only: should ONNX Runtime refuse the
    // rewritten graph, the original (verified) bytes are loaded instead.
    let expanded = if threading.expand_prelu { crate::pipeline::onnx_graph::expand_prelu(&model.bytes) } else { None };
    if let Some(expanded) = expanded {
        if let Ok(session) = builder.commit_from_memory(&expanded) {
            return Ok(session);
        }
    }
    builder.commit_from_memory(&model.bytes).map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pinned_library_hashes_match_the_setup_script() {
        let setup = include_str!("../../tools/setup.py");
        for pin in [
            "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3",
            "8aa3b76b28c778a2b1dd660d34161adb1d508c9ccd04ff9dc80e26eca5df8467",
        ] {
            assert!(setup.contains(&format!("\"lib_sha256\": \"{pin}\"")), "{pin} not pinned in tools/setup.py");
        }
        if let Some(pin) = super::PINNED_ONNXRUNTIME_SHA256 {
            assert!(setup.contains(pin));
        }
    }
}
