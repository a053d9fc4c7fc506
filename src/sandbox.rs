//! Network and write sandbox for the verifying process (Linux, `sandbox` feature).
//!
//! honnin never opens a socket; this makes the kernel enforce it, so that a
//! bug or a hostile input exploiting a decoder or ONNX Runtime still cannot
//! send a face anywhere:
//!
//! - **landlock** (ABI 4 and later): TCP `bind` and `connect` are denied;
//!   creating, writing, truncating, renaming or removing files is denied too
//!   (files opened before the call stay usable, so open an audit log first);
//! - **seccomp**: the `socket` and `socketpair` system calls fail with `EPERM`,
//!   so no socket of any family (UDP, Unix, netlink, raw) can be made.
//!
//! Both are irreversible and are inherited by child processes. Landlock
//! restricts the calling thread and the threads it starts later (this
//! kernel's landlock has no process-wide flag), so call [`restrict`] on the
//! main thread before anything else starts a thread: before building the
//! [`Engine`](crate::Engine), whose ONNX Runtime sessions start worker
//! threads. The seccomp filter is installed on every thread of the process
//! (`SECCOMP_FILTER_FLAG_TSYNC`).

use std::collections::BTreeMap;

use landlock::{Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetError, RulesetStatus, ABI};
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::hardening::Status;

/// Which layers [`restrict_with`] installs. The default is both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxOptions {
    /// landlock: deny TCP bind/connect and file writes.
    pub landlock: bool,
    /// seccomp: deny `socket` and `socketpair`.
    pub seccomp: bool,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self { landlock: true, seccomp: true }
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
    let landlock = if options.landlock { landlock_layer()? } else { Status::Off };
    let seccomp = if options.seccomp { seccomp_layer()? } else { Status::Off };
    Ok(SandboxReport { landlock, seccomp })
}

fn sandbox_err(layer: &str, e: impl std::fmt::Display) -> Error {
    Error::Sandbox { reason: format!("{layer}: {e}") }
}

fn landlock_layer() -> Result<Status> {
    let err = |e: RulesetError| sandbox_err("landlock", e);
    // No rule is added: nothing handled here is allowed anywhere.
    let status = Ruleset::default()
        .handle_access(AccessNet::from_all(ABI::V4))
        .map_err(err)?
        .handle_access(AccessFs::from_write(ABI::V3))
        .map_err(err)?
        .create()
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

fn seccomp_layer() -> Result<Status> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| sandbox_err("seccomp", e))?;
    // An empty rule list matches the system call whatever its arguments.
    let rules = BTreeMap::from([(libc::SYS_socket, Vec::new()), (libc::SYS_socketpair, Vec::new())]);
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), arch)
        .map_err(|e| sandbox_err("seccomp", e))?;
    let program: BpfProgram = filter.try_into().map_err(|e| sandbox_err("seccomp", e))?;
    seccompiler::apply_filter_all_threads(&program).map_err(|e| sandbox_err("seccomp", e))?;
    Ok(Status::Applied)
}
