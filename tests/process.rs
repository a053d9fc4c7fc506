//! Process-wide protections: hardening and the sandbox (PRIVACY.md links here).
//!
//! Both change the whole process irreversibly, so each case runs in a child
//! process of its own (this binary, re-run with `HONNIN_PROCESS_CASE` set) on
//! its main thread, as the CLI applies them. Every case first shows that the
//! thing it forbids works before the restriction (a TCP connect to a listener
//! on 127.0.0.1, a file write), so a refusal afterwards is the restriction's.

#[allow(dead_code)]
#[path = "suite/common.rs"]
mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::Command;

use honnin::hardening::{harden_process_with, HardeningOptions, Status};
use honnin::{CardPhoto, Decision, Engine, LiveFrame, Models, Policy};

const CASE_ENV: &str = "HONNIN_PROCESS_CASE";

const CASES: [&str; 5] = ["hardening", "landlock", "landlock-device", "seccomp", "sandbox-verify"];

fn main() {
    match std::env::var(CASE_ENV) {
        Ok(case) => {
            run_case(&case);
            println!("case {case}: ok");
        }
        Err(_) => {
            common::ort_lib();
            common::data_dir();
            let exe = std::env::current_exe().expect("own path");
            let mut failed = Vec::new();
            for case in CASES {
                let out = Command::new(&exe).env(CASE_ENV, case).output().expect("child runs");
                print!("{}", String::from_utf8_lossy(&out.stdout));
                if !out.status.success() {
                    eprintln!("case {case} failed:\n{}", String::from_utf8_lossy(&out.stderr));
                    failed.push(case);
                }
            }
            assert!(failed.is_empty(), "failed cases: {failed:?}");
        }
    }
}

fn run_case(case: &str) {
    match case {
        "hardening" => hardening(),
        "landlock" => landlock(),
        "landlock-device" => landlock_device(),
        "seccomp" => seccomp(),
        "sandbox-verify" => sandbox_verify(),
        other => panic!("unknown case {other}"),
    }
}

/// A listener on 127.0.0.1 that accepts a connection while unrestricted.
fn listener() -> TcpListener {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    TcpStream::connect(listener.local_addr().unwrap()).expect("connect works before the sandbox");
    listener
}

fn scratch_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("honnin-process-{}-{name}", std::process::id()))
}

fn write_works(name: &str) -> std::io::Result<()> {
    let path = scratch_file(name);
    let result = std::fs::File::create(&path).and_then(|mut f| f.write_all(b"x"));
    let _ = std::fs::remove_file(&path);
    result
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn hardening() {
    let report = honnin::hardening::harden_process();
    println!("hardening report: {report:?}");
    assert!(report.no_core_dumps.is_applied() && report.lock_biometric_buffers.is_applied(), "{report:?}");
    assert_eq!(report.wipe_freed_heap, Status::Off, "freed-heap wiping is opt-in");
    let with_heap = HardeningOptions { wipe_freed_heap: true, ..HardeningOptions::default() };
    assert!(harden_process_with(with_heap).wipe_freed_heap.is_applied());
    // SAFETY: PR_GET_DUMPABLE reads a flag of this process.
    let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
    assert_eq!(dumpable, 0, "the process must not be dumpable");
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap();
    assert_eq!(core.split_whitespace().nth(4), Some("0"), "core file size limit: {core}");

    // A decoded frame's pixels are locked while they exist.
    let before = status_kib("VmLck:");
    let frame = LiveFrame::open(common::lfw_image("images/George_W_Bush/George_W_Bush_0001.jpg")).unwrap();
    let during = status_kib("VmLck:");
    let locking = honnin::hardening::memory_lock_status();
    println!("VmLck before {before} kB, holding a 250x250 frame {during} kB; {locking:?}");
    assert!(locking.locked >= 1 && locking.refused == 0, "{locking:?}");
    // 250 x 250 x 3 bytes = 183 KiB, locked page by page.
    assert!(during >= before + 180, "VmLck {before} -> {during} kB");
    drop(frame);
    let after = status_kib("VmLck:");
    assert!(after + 170 <= during, "dropping the frame unlocks its pages: {during} -> {after} kB");

    // Small buffers share heap pages (a frame this size lives on glibc's heap,
    // not in a mapping of its own that freeing would unmap): every page is
    // locked while one of them lives and unlocked when the last one goes.
    let small: Vec<LiveFrame> =
        (0..400).map(|i| LiveFrame::from_rgb(8, 8, vec![i as u8; 8 * 8 * 3]).unwrap()).collect();
    let with_small = status_kib("VmLck:");
    // Every other frame goes; each shares its pages with frames that stay.
    let (kept, gone): (Vec<_>, Vec<_>) = small.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
    drop(gone);
    let half = status_kib("VmLck:");
    println!("VmLck with 400 small frames {with_small} kB, after dropping every other one {half} kB");
    assert!(with_small >= after + 60, "400 frames of 192 bytes lock their pages: {after} -> {with_small} kB");
    assert!(half + 8 >= with_small, "pages still used by a live frame stay locked: {with_small} -> {half} kB");
    drop(kept);
    let rest = status_kib("VmLck:");
    assert!(rest <= after + 8, "all small frames dropped, their pages unlocked: {after} -> {rest} kB");
}

fn landlock() {
    let listener = listener();
    write_works("before").expect("writing works before the sandbox");
    let options = honnin::sandbox::SandboxOptions { landlock: true, seccomp: false, ..Default::default() };
    let report = honnin::sandbox::restrict_with(options).expect("landlock installs");
    println!("landlock only: {report:?}");
    assert!(report.landlock.is_applied(), "{report:?}");
    let refused = TcpStream::connect(listener.local_addr().unwrap()).expect_err("landlock must refuse connect");
    assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied, "{refused}");
    assert!(TcpListener::bind("127.0.0.1:0").is_err(), "landlock must refuse bind");
    let write = write_works("after").expect_err("landlock must refuse creating a file");
    assert_eq!(write.kind(), std::io::ErrorKind::PermissionDenied, "{write}");
    // Reading stays allowed.
    std::fs::read(common::root().join("Cargo.toml")).expect("reading still works");
}

/// A camera must be opened read-write: the one listed character device may
/// be, no other device and no file may, and a listed regular file is refused.
fn landlock_device() {
    let open_for_write = |path: &str| std::fs::OpenOptions::new().write(true).open(path);
    open_for_write("/dev/zero").expect("writing to /dev/zero works before the sandbox");
    let file = common::root().join("Cargo.toml");
    let not_a_device = honnin::sandbox::SandboxOptions { writable_devices: vec![file], ..Default::default() };
    match honnin::sandbox::restrict_with(not_a_device) {
        Err(honnin::Error::Sandbox { reason }) => assert!(reason.contains("not a character device"), "{reason}"),
        other => panic!("a regular file must be refused as a writable device, got {other:?}"),
    }
    let options = honnin::sandbox::SandboxOptions {
        seccomp: false,
        writable_devices: vec!["/dev/null".into()],
        ..Default::default()
    };
    let report = honnin::sandbox::restrict_with(options).expect("landlock installs");
    assert!(report.landlock.is_applied(), "{report:?}");
    open_for_write("/dev/null").expect("the listed device opens for writing");
    let refused = open_for_write("/dev/zero").expect_err("an unlisted device must not");
    assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied, "{refused}");
    let write = write_works("after").expect_err("files stay unwritable");
    assert_eq!(write.kind(), std::io::ErrorKind::PermissionDenied, "{write}");
}

/// `io_uring_setup(4, params)`: a ring's file descriptor, or the errno.
fn io_uring_setup() -> Result<i32, i32> {
    let mut params = [0u8; 120]; // struct io_uring_params, zeroed
                                 // SAFETY: the kernel writes at most sizeof(struct io_uring_params) bytes into `params`.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 4u32, params.as_mut_ptr()) };
    if fd >= 0 {
        // SAFETY: closing the descriptor just returned.
        unsafe { libc::close(fd as i32) };
        Ok(fd as i32)
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

fn seccomp() {
    let listener = listener();
    // An io_uring can open sockets without the socket system call (IORING_OP_SOCKET).
    println!("io_uring before the sandbox: {:?}", io_uring_setup());
    let options = honnin::sandbox::SandboxOptions { landlock: false, seccomp: true, ..Default::default() };
    let report = honnin::sandbox::restrict_with(options).expect("seccomp installs");
    println!("seccomp only: {report:?}");
    let refused = TcpStream::connect(listener.local_addr().unwrap()).expect_err("seccomp must refuse socket()");
    assert_eq!(refused.raw_os_error(), Some(libc::EPERM), "{refused}");
    assert!(std::net::UdpSocket::bind("127.0.0.1:0").is_err(), "no UDP socket either");
    assert!(std::os::unix::net::UnixStream::pair().is_err(), "no socketpair either");
    assert_eq!(io_uring_setup(), Err(libc::EPERM), "no io_uring either");
    // The filter holds on threads started later.
    let from_thread = std::thread::spawn(move || TcpStream::connect(listener.local_addr().unwrap()).is_err());
    assert!(from_thread.join().unwrap(), "a new thread must be filtered too");
}

fn sandbox_verify() {
    let listener = listener();
    let report = honnin::sandbox::restrict().expect("sandbox installs");
    println!("both layers: {report:?}");
    assert!(report.landlock.is_applied() && report.seccomp.is_applied(), "{report:?}");
    assert!(TcpStream::connect(listener.local_addr().unwrap()).is_err(), "connect must fail");
    // Models load and verification decides correctly inside the sandbox,
    // including from ONNX Runtime's worker threads started after it.
    let models = Models::from_dir(common::models_dir()).expect("models verify");
    let engine = Engine::builder(models)
        .onnxruntime(common::ort_lib())
        .policy(Policy::default_from(&common::calibration()).unwrap())
        .build()
        .expect("engine builds in the sandbox");
    let card = CardPhoto::open(common::root().join("samples/astronaut_mynumber.bin")).unwrap();
    let same = LiveFrame::open(common::root().join("samples/astronaut_live.jpg")).unwrap();
    let other = LiveFrame::open(common::lfw_image("images/Colin_Powell/Colin_Powell_0001.jpg")).unwrap();
    let decisions = [engine.verify(&card, &same).unwrap().decision, engine.verify(&card, &other).unwrap().decision];
    println!("sandboxed decisions: {decisions:?}");
    assert_eq!(decisions, [Decision::Match, Decision::NoMatch]);
    assert!(TcpStream::connect(listener.local_addr().unwrap()).is_err(), "connect still fails after the models ran");
}
