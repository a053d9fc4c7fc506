//! The sandbox `honnin verify` and `honnin counter` install before any model
//! loads: sockets, TCP and file writes denied (seccomp, landlock).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
use honnin::hardening::Status;

/// Sandbox switch of `honnin verify`.
#[derive(Args, Clone)]
pub(crate) struct SandboxArgs {
    /// Do not sandbox the process (by default, before any model loads, sockets,
    /// TCP and file writes are denied by seccomp and landlock).
    #[cfg(all(feature = "sandbox", target_os = "linux"))]
    #[arg(long)]
    no_sandbox: bool,
}

pub(crate) fn sandbox(args: &SandboxArgs) -> Result<Option<SandboxReport>> {
    sandbox_allowing(args, Vec::new())
}

#[cfg(all(feature = "sandbox", target_os = "linux"))]
type SandboxReport = honnin::sandbox::SandboxReport;
#[cfg(not(all(feature = "sandbox", target_os = "linux")))]
type SandboxReport = ();

/// Installs the sandbox, letting `devices` (a camera) be opened for writing.
#[cfg(all(feature = "sandbox", target_os = "linux"))]
pub(crate) fn sandbox_allowing(args: &SandboxArgs, devices: Vec<PathBuf>) -> Result<Option<SandboxReport>> {
    if args.no_sandbox {
        return Ok(None);
    }
    let options = honnin::sandbox::SandboxOptions { writable_devices: devices, ..Default::default() };
    let report = honnin::sandbox::restrict_with(options)?;
    for (layer, status) in [("landlock", &report.landlock), ("seccomp", &report.seccomp)] {
        if let Status::Failed(why) = status {
            eprintln!("honnin: warning: sandbox ({layer}) not in effect: {why}");
        }
    }
    Ok(Some(report))
}

#[cfg(not(all(feature = "sandbox", target_os = "linux")))]
pub(crate) fn sandbox_allowing(_args: &SandboxArgs, _devices: Vec<PathBuf>) -> Result<Option<SandboxReport>> {
    Ok(None)
}
