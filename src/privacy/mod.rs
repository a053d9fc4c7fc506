//! What keeps biometric data in the process and out of every record:
//! wiped buffers, process hardening, the sandbox, the audit trail.

pub mod audit;
pub mod hardening;
#[cfg(all(feature = "sandbox", target_os = "linux"))]
pub mod sandbox;
pub(crate) mod secret;
