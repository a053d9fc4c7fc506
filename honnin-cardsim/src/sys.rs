//! The crate's only `unsafe` code: two socket options the standard library does
//! not offer, on the loopback connection to vpcd (`setsockopt` on a socket the
//! `TcpStream` owns, with a value that lives for the call), and a parent-death
//! signal for the harness's children.
#![allow(unsafe_code)]

use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Has the child killed (SIGKILL) when the thread that spawns it ends, so that
/// pcscd and the simulator do not outlive a test process that was killed
/// before the harness's `Drop` could run. The signal survives `exec` (unshare,
/// nsenter and sh exec, none is set-user-ID).
pub(crate) fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe, touches no memory of the parent, and is
    // the only call made between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

fn set<T>(stream: &TcpStream, level: libc::c_int, name: libc::c_int, value: &T) -> std::io::Result<()> {
    // SAFETY: the descriptor is open (borrowed from the stream) and `value`
    // points to a live `T` whose size is passed along.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Acknowledges at once what comes next. vpcd sends a message's 2-byte length
/// and its payload in two writes; with delayed acknowledgements and Nagle's
/// algorithm every command would wait about 40 ms. Linux resets the option
/// after each read, so it is set again before each one.
pub(crate) fn quickack(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    let _ = set(stream, libc::IPPROTO_TCP, libc::TCP_QUICKACK, &(1 as libc::c_int));
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

/// Closes with a reset (SO_LINGER 0) instead of an orderly shutdown: vpcd's
/// pending receive fails, as when a card leaves the field mid-answer.
pub(crate) fn abort(stream: TcpStream) {
    let _ = set(&stream, libc::SOL_SOCKET, libc::SO_LINGER, &libc::linger { l_onoff: 1, l_linger: 0 });
    drop(stream);
}
