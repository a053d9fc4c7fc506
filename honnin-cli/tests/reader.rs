//! `honnin read-card` and `honnin counter --reader` against the project's
//! card simulator, through a private pcscd and vpcd (`honnin_cardsim::harness`):
//! what a card holds without a pixel or a number, the PIN as a method, and a
//! whole reader session under strace (one Unix socket, to pcscd, made before
//! the sandbox; nothing written).
//!
//! One reader for the whole binary: the cases run in one test, in order.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use honnin_cardsim::events::Event;
use honnin_cardsim::harness::{Harness, Options};
use honnin_cardsim::{CardSpec, Profile};

use crate::common;
use crate::privacy::parse_trace;

fn photo() -> PathBuf {
    common::root().join("samples/astronaut_card_grey.jp2")
}

/// The simulated holder's 照合番号B parts, as staff type them, and its digits.
const NUMBER_B_LINES: &str = "1980-02-17\n2034\n1234\n";
const NUMBER_B: &str = "55021720341234";

/// `honnin` with `args`, talking to the harness's pcscd, `stdin` typed in.
fn honnin(harness: &Harness, args: &[&str], stdin: &str, wrap: Option<&[&str]>) -> Output {
    let mut command = match wrap {
        Some(prefix) => {
            let mut c = Command::new(prefix[0]);
            c.args(&prefix[1..]).arg(common::binary());
            c
        }
        None => Command::new(common::binary()),
    };
    command
        .current_dir(common::root())
        .env("HONNIN_ORT_LIB", common::ort_lib())
        .env_remove("HONNIN_MODELS")
        .envs(harness.env())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("honnin runs");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("typed");
    child.wait_with_output().expect("honnin ends")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn attempts(harness: &Harness, key: &str) -> usize {
    harness
        .events_of(harness.cards())
        .iter()
        .filter(|r| matches!(&r.event, Event::Verify { key: k, attempt: true, .. } if k == key))
        .count()
}

#[test]
fn the_terminal_reads_the_card_in_a_reader() {
    let mut harness = Harness::start(Options::locate().expect("simulator built"), &CardSpec::new(photo()))
        .expect("pcscd, vpcd and the simulator start");
    let reader = harness.reader().to_string();

    // What the card holds, spending no try.
    let out = honnin(&harness, &["read-card", "--reader", &reader, "--json"], "", None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!((report["number_b_tries"].as_u64(), report["pin_tries"].as_u64()), (Some(10), Some(3)), "{report}");
    assert_eq!(report["pinpad"], false);
    assert_eq!((attempts(&harness, "0012"), attempts(&harness, "0018")), (0, 0), "no try spent");

    // With the photo: its size and authenticity, never a pixel or a number.
    let out = honnin(&harness, &["read-card", "--reader", &reader, "--photo", "--json"], NUMBER_B_LINES, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["authenticity"]["status"], "verified", "{report}");
    assert_eq!(report["authenticity"]["chip"], "answered", "{report}");
    assert!(report["photo"]["width"].as_u64().is_some_and(|w| w > 50), "{report}");
    let all = text(&out);
    for secret in [NUMBER_B, "550217", "1980-02-17", "19800217"] {
        assert!(!all.contains(secret), "{secret} appears in the output:\n{all}");
    }
    assert_eq!(attempts(&harness, "0012"), 1);

    // A wrong security code: one try, reported, exit 3, and nothing retried.
    let out = honnin(&harness, &["read-card", "--reader", &reader, "--photo"], "1980-02-17\n2034\n9999\n", None);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("9 tries left") || text(&out).contains("tries_left: 9") || text(&out).contains("9 left"),
        "{}",
        text(&out)
    );
    assert_eq!(attempts(&harness, "0012"), 2, "one more try, one only");

    // The counter: the PIN as a method, on a terminal without models.
    harness.swap(&CardSpec::new(photo())).expect("fresh card");
    let out = honnin(&harness, &["counter", "--reader", &reader, "--no-models", "--audit", "-"], "p\n4321\n", None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("[p] your card's PIN"), "{stdout}");
    assert!(stdout.contains("DECISION: match (card PIN)"), "{stdout}");
    let record: serde_json::Value = serde_json::from_str(
        stdout.lines().find_map(|l| l.find("{\"schema\"").map(|at| &l[at..])).expect("an audit line"),
    )
    .expect("JSON");
    assert_eq!(record["method"], "card_pin", "{record}");
    assert!(!stdout.contains("4321"), "the PIN appears in the output");
    assert_eq!(attempts(&harness, "0018"), 1);

    // A wrong PIN: one try, the other paths offered; then the staff check,
    // staff skipping the chip photo (Enter) and comparing the printed card.
    harness.swap(&CardSpec::new(photo())).expect("fresh card");
    let out = honnin(&harness, &["counter", "--reader", &reader, "--no-models"], "p\n0000\ns\n\nn\n", None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("did not accept the PIN (2 tries left"), "{stdout}");
    assert!(stdout.contains("DECISION: no_match (staff visual check)"), "{stdout}");
    assert_eq!(attempts(&harness, "0018"), 1);

    // A nearly locked PIN is not offered at all.
    harness.swap(&CardSpec::new(photo()).with_profile(Profile::PinLastTry)).expect("card");
    let out = honnin(&harness, &["counter", "--reader", &reader, "--no-models"], "q\n", None);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("[p]"), "{}", text(&out));

    // The card taken out while the counter waits for a choice: the session
    // ends at once, undecided, and the record says why.
    harness.swap(&CardSpec::new(photo())).expect("fresh card");
    let mut child = Command::new(common::binary())
        .current_dir(common::root())
        .envs(harness.env())
        .args(["counter", "--reader", &reader, "--no-models", "--audit", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("honnin runs");
    // Standard input stays open (no key comes): only the removal can end it.
    let keyboard = child.stdin.take();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let removed_at = std::time::Instant::now();
    harness.remove().expect("card taken out");
    while child.try_wait().expect("status").is_none() && removed_at.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let took = removed_at.elapsed();
    drop(keyboard);
    let out = child.wait_with_output().expect("honnin ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stdout.contains("the card was removed"), "{stdout}");
    assert!(stdout.contains("\"ended\":\"card_removed\""), "{stdout}");
    assert!(took < std::time::Duration::from_secs(3), "ended {took:?} after the removal");

    // A whole face-check session under strace.
    harness.swap(&CardSpec::new(photo())).expect("fresh card");
    strace_face_session(&harness, &reader);
}

fn strace_face_session(harness: &Harness, reader: &str) {
    let strace = Path::new("/usr/bin/strace");
    assert!(strace.is_file(), "strace not installed: run `python3 tools/setup.py --dev`");
    let frames = std::env::temp_dir().join(format!("honnin-reader-frames-{}", std::process::id()));
    std::fs::create_dir_all(&frames).unwrap();
    for i in 0..3 {
        std::fs::copy(common::root().join("samples/astronaut_live.jpg"), frames.join(format!("{i}.jpg"))).unwrap();
    }
    let traces = std::env::temp_dir().join(format!("honnin-reader-strace-{}", std::process::id()));
    std::fs::create_dir_all(&traces).unwrap();
    let trace_prefix = traces.join("trace");
    let prefix = ["/usr/bin/strace", "-ff", "-qq", "-s", "256", "-o", trace_prefix.to_str().unwrap()];
    let out = honnin(
        harness,
        &["counter", "--reader", reader, "--frames", frames.to_str().unwrap()],
        &format!("f\n{NUMBER_B_LINES}"),
        Some(&prefix),
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout.contains("DECISION: match (face check)"), "{stdout}");
    let mut all = String::new();
    let mut main_thread = String::new();
    for file in std::fs::read_dir(&traces).unwrap() {
        let file = file.unwrap().path();
        let content = std::fs::read_to_string(&file).unwrap();
        if content.contains("execve(") {
            main_thread = content.clone();
        }
        all += &content;
    }
    std::fs::remove_dir_all(&traces).ok();
    std::fs::remove_dir_all(&frames).ok();
    let trace = parse_trace(&all);
    let socket_path = harness.socket();
    let socket_path = socket_path.to_str().unwrap();
    // One Unix socket, connected to pcscd; no other network call at all.
    let sockets: Vec<_> = trace.network_calls.iter().filter(|c| c.starts_with("socket(")).collect();
    let connects: Vec<_> = trace.network_calls.iter().filter(|c| c.starts_with("connect(")).collect();
    assert_eq!(sockets.len(), 1, "sockets made: {:?}", trace.network_calls);
    assert!(sockets[0].starts_with("socket(AF_UNIX, SOCK_STREAM"), "{:?}", sockets);
    assert_eq!(connects.len(), 1, "{:?}", trace.network_calls);
    assert!(connects[0].contains(socket_path), "{:?} is not pcscd's {socket_path}", connects);
    // libpcsclite then only sends on that socket (and reads from it).
    let fd = connects[0].trim_start_matches("connect(").split(',').next().unwrap().to_string();
    let sends = trace.network_calls.iter().filter(|c| c.starts_with(&format!("sendto({fd}, "))).count();
    let others: Vec<_> = trace
        .network_calls
        .iter()
        .filter(|c| {
            !c.starts_with("socket(") && !c.starts_with("connect(") && !c.starts_with(&format!("sendto({fd}, "))
        })
        .collect();
    assert!(others.is_empty(), "other network calls: {others:?}");
    assert!(sends > 20, "the session's commands went to pcscd ({sends} sends)");
    // Made before the sandbox: the seccomp filter comes after the socket.
    let at = |needle: &str| main_thread.find(needle);
    let (socket_at, seccomp_at) = (at("socket(AF_UNIX"), at("seccomp(").or(at("PR_SET_SECCOMP")));
    assert!(socket_at.is_some() && seccomp_at.is_some(), "socket {socket_at:?}, seccomp {seccomp_at:?}");
    assert!(socket_at < seccomp_at, "the pcscd socket must be made before the sandbox");
    assert_eq!(trace.write_opens, Vec::<String>::new(), "files opened for writing");
    assert_eq!(trace.file_changes, Vec::<String>::new(), "files created, changed or removed");
    println!(
        "reader session under strace: 1 AF_UNIX socket to {socket_path}, made before seccomp, {sends} sends on it; \
         no other network call; no file written"
    );
}
