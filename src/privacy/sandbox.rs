//! Network and write sandbox for the verifying process (Linux, `sandbox` feature).
//!
//! honnin never opens a socket; this makes the kernel enforce it, so that a
//! bug or a hostile input exploiting a decoder or ONNX Runtime still cannot
//! send a face anywhere:
//!
//! - **landlock** (ABI 4 and later): TCP `bind` and `connect` are denied;
//!   creating, writing, truncating, renaming or removing files is denied too
//!   (files opened before the call stay usable, so open an audit log first);
//!   from ABI 6, connecting to abstract Unix sockets made outside the sandbox
//!   is denied as well;
//! - **seccomp**: the `socket` and `socketpair` system calls fail with `EPERM`,
//!   so no socket of any family (UDP, Unix, netlink, raw) can be made; so do
//!   `io_uring_setup`, `io_uring_enter` and `io_uring_register`, because an
//!   io_uring can create sockets (`IORING_OP_SOCKET`) without the `socket`
//!   system call. On x86-64 the same calls are denied under their x32 numbers.
//!
//! Both are irreversible and are inherited by child processes. Landlock
//! restricts the calling thread and the threads it starts later (this
//! kernel's landlock has no process-wide flag), so call [`restrict`] on the
//! main thread before anything else starts a thread: before building the
//! [`Engine`](crate::Engine), whose ONNX Runtime sessions start worker
//! threads. The seccomp filter is installed on every thread of the process
//! (`SECCOMP_FILTER_FLAG_TSYNC`).

use std::collections::BTreeMap;
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;

use landlock::{
    Access, AccessFs, AccessNet, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetError,
    RulesetStatus, Scope, ABI,
};

use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::privacy::hardening::Status;

/// Which layers [`restrict_with`] installs. The default is both, with no
/// exception.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxOptions {
    /// landlock: deny TCP bind/connect and file writes.
    pub landlock: bool,
    /// seccomp: deny `socket`, `socketpair` and io_uring.
    pub seccomp: bool,
    /// Character devices that may still be opened for writing, as a V4L2
    /// camera (`/dev/video0`) must be to be opened at all. Anything that is
    /// not a character device is refused with [`Error::Sandbox`]; a path
    /// that does not exist is skipped (opening it later fails anyway).
    pub writable_devices: Vec<PathBuf>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self { landlock: true, seccomp: true, writable_devices: Vec::new() }
    }
}

/// What [`restrict`] achieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxReport {
    /// The landlock layer: `Applied` when fully enforced; `Failed` with the
    /// reason when the kernel enforces it only partly or not at all.
    pub landlock: Status,
    /// The seccomp layer.
    pub seccomp: Status,
}

/// Installs both layers; see the module documentation.
///
/// A kernel without landlock gives `Failed` in the report, not an error; an
/// error means a layer could not be built or installed at all.
pub fn restrict() -> Result<SandboxReport> {
    restrict_with(SandboxOptions::default())
}

/// Installs the chosen layers.
pub fn restrict_with(options: SandboxOptions) -> Result<SandboxReport> {
    let landlock = if options.landlock { landlock_layer(&options.writable_devices)? } else { Status::Off };
    let seccomp = if options.seccomp { seccomp_layer()? } else { Status::Off };
    Ok(SandboxReport { landlock, seccomp })
}

fn sandbox_err(layer: &str, e: impl std::fmt::Display) -> Error {
    Error::Sandbox { reason: format!("{layer}: {e}") }
}

fn landlock_layer(devices: &[PathBuf]) -> Result<Status> {
    let err = |e: RulesetError| sandbox_err("landlock", e);
    // Only the listed character devices get a rule (write-open, for a
    // camera); nothing else handled here is allowed anywhere.
    let mut rules = Vec::new();
    for device in devices {
        match std::fs::metadata(device) {
            Ok(meta) if meta.file_type().is_char_device() => {
                let fd = PathFd::new(device).map_err(|e| sandbox_err("landlock", e))?;
                rules.push(PathBeneath::new(fd, AccessFs::WriteFile));
            }
            Ok(_) => {
                return Err(sandbox_err("landlock", format!("{} is not a character device", device.display())));
            }
            Err(_) => {}
        }
    }
    let status = Ruleset::default()
        .handle_access(AccessNet::from_all(ABI::V4))
        .map_err(err)?
        .handle_access(AccessFs::from_write(ABI::V3))
        .map_err(err)?
        .scope(Scope::AbstractUnixSocket)
        .map_err(err)?
        .create()
        .map_err(err)?
        .add_rules(rules.into_iter().map(Ok::<_, RulesetError>))
        .map_err(err)?
        .restrict_self()
        .map_err(err)?;
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => Status::Applied,
        RulesetStatus::PartiallyEnforced => {
            Status::Failed("partly enforced: this kernel's landlock lacks some of the rights (TCP needs ABI 4)".into())
        }
        _ => Status::Failed(format!("not enforced by this kernel ({:?})", status.landlock)),
    })
}

/// `__X32_SYSCALL_BIT`: x32 system call numbers are the x86-64 ones with this bit set.
const X32_SYSCALL_BIT: i64 = 0x4000_0000;

fn seccomp_layer() -> Result<Status> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| sandbox_err("seccomp", e))?;
    let denied = [
        libc::SYS_socket,
        libc::SYS_socketpair,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
    ];
    // x32 programs reach the same calls with bit 30 set in the number.
    let x32: &[i64] = if cfg!(target_arch = "x86_64") { &[0, X32_SYSCALL_BIT] } else { &[0] };
    // An empty rule list matches the system call whatever its arguments.
    let rules: BTreeMap<i64, Vec<_>> = x32.iter().flat_map(|bit| denied.map(|call| (call | bit, Vec::new()))).collect();
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), arch)
        .map_err(|e| sandbox_err("seccomp", e))?;
    let program: BpfProgram = filter.try_into().map_err(|e| sandbox_err("seccomp", e))?;
    seccompiler::apply_filter_all_threads(&program).map_err(|e| sandbox_err("seccomp", e))?;
    Ok(Status::Applied)
}
