//! `honnin counter` used the way a person uses it: in a terminal (tmux),
//! typing keys, reading the screen. Each scenario's screens are saved under
//! the target directory (`tmp/counter-screens/`). Also: the card photo never
//! reaches redirected output, and leaves the screen on time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;
use crate::frames::{downscaled, lfw_rgb};

/// A terminal running one command, on a tmux server of its own.
struct Terminal {
    socket: String,
}

const HALF_BLOCK: char = '\u{2580}';

impl Terminal {
    /// 100x60 cells.
    fn run(name: &str, command: &str) -> Self {
        Self::sized(name, command, 100, 60)
    }

    fn sized(name: &str, command: &str, columns: u32, rows: u32) -> Self {
        let socket = format!("honnin-test-{}-{name}", std::process::id());
        // The shell prints the exit status and keeps the pane open to be read.
        // It ignores Ctrl-C (without job control it shares the program's
        // process group), so that it outlives a Ctrl-C meant for the program,
        // which installs its own handler.
        let script = format!("trap '' INT; {command}; echo EXIT=$?; sleep 600");
        let (x, y) = (columns.to_string(), rows.to_string());
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-x", &x, "-y", &y, "sh", "-c", &script])
            .status()
            .expect("tmux runs (python3 tools/setup.py --dev installs it)");
        assert!(status.success(), "tmux new-session failed");
        Self { socket }
    }

    /// The process the pane's shell runs (honnin, while it runs).
    fn program_pid(&self) -> i32 {
        let out =
            Command::new("tmux").args(["-L", &self.socket, "display-message", "-p", "#{pane_pid}"]).output().unwrap();
        let shell: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            // pid (comm) state ppid ...: the fields after the last ')'.
            let after = &stat[stat.rfind(')').unwrap() + 2..];
            let ppid: i32 = after.split(' ').nth(1).unwrap().parse().unwrap();
            if ppid == shell && stat.contains("(honnin)") {
                return entry.file_name().to_string_lossy().parse().unwrap();
            }
        }
        panic!("no honnin process under the pane's shell {shell}");
    }

    /// Polls the screen every 20 ms until `done` holds; the moment it did.
    fn when(&self, what: &str, done: impl Fn(&str) -> bool) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let screen = self.screen(false);
            let now = Instant::now();
            if done(&screen) {
                return now;
            }
            assert!(now < deadline, "waited 120 s for {what}; the screen shows:\n{screen}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The visible screen, with colour escapes if asked.
    fn screen(&self, escapes: bool) -> String {
        let mut args = vec!["-L", &self.socket, "capture-pane", "-p", "-J"];
        if escapes {
            args.push("-e");
        }
        let out = Command::new("tmux").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The whole scrollback and screen.
    fn history(&self) -> String {
        let args = ["-L", &self.socket, "capture-pane", "-p", "-J", "-S", "-", "-E", "-"];
        let out = Command::new("tmux").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text`; the screen then.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let screen = self.screen(false);
            if screen.contains(text) {
                return screen;
            }
            assert!(Instant::now() < deadline, "waited 120 s for {text:?}; the screen shows:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types `key` and Enter.
    fn press(&self, key: &str) {
        let status = Command::new("tmux").args(["-L", &self.socket, "send-keys", key, "Enter"]).status().unwrap();
        assert!(status.success());
    }

    /// Sends a key as tmux names it (`C-c`).
    fn key(&self, key: &str) {
        let status = Command::new("tmux").args(["-L", &self.socket, "send-keys", key]).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }
}

/// The grey levels drawn with half blocks on a captured screen (`capture-pane
/// -e`): each cell's foreground is the upper pixel, its background the lower.
/// tmux writes a colour only when it changes, so the colours are tracked.
fn pixels_on_screen(screen: &str) -> Vec<Vec<u8>> {
    let mut rows = Vec::new();
    for line in screen.lines().filter(|l| l.contains('\u{2580}')) {
        let (mut fg, mut bg) = (0u8, 0u8);
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        let mut rest = line;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("\x1b[") {
                let end = after.find('m').expect("SGR sequence");
                let params: Vec<u32> = after[..end].split(';').filter_map(|p| p.parse().ok()).collect();
                let mut i = 0;
                while i < params.len() {
                    if params.len() >= i + 5 && params[i + 1] == 2 && (params[i] == 38 || params[i] == 48) {
                        let level = params[i + 2] as u8; // grey: r = g = b
                        if params[i] == 38 {
                            fg = level
                        } else {
                            bg = level
                        }
                        i += 5;
                    } else {
                        i += 1;
                    }
                }
                rest = &after[end + 1..];
            } else {
                let c = rest.chars().next().unwrap();
                if c == '\u{2580}' {
                    top.push(fg);
                    bottom.push(bg);
                }
                rest = &rest[c.len_utf8()..];
            }
        }
        rows.push(top);
        rows.push(bottom);
    }
    rows
}

fn screens_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("counter-screens");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn save(name: &str, screen: &str) {
    std::fs::write(screens_dir().join(format!("{name}.txt")), screen).unwrap();
}

/// The shell command running `honnin counter` with `args` from the repository root.
fn counter_command(args: &[&str]) -> String {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    format!(
        "cd '{}' && HONNIN_ORT_LIB='{}' '{}' counter {}",
        common::root().display(),
        common::ort_lib().display(),
        common::binary().display(),
        quoted.join(" ")
    )
}

/// Writes `frames` as numbered PNGs into `dir` (for `honnin counter --frames`).
pub(crate) fn write_frames(dir: &Path, frames: &[image::RgbImage]) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, img) in frames.iter().enumerate() {
        img.save(dir.join(format!("frame_{i:03}.png"))).unwrap();
    }
}

fn frames_dir(name: &str, frames: &[image::RgbImage]) -> PathBuf {
    let dir = common::scratch_dir(&format!("counter-frames-{name}"));
    write_frames(&dir, frames);
    dir
}

#[test]
fn a_person_chooses_the_face_check_follows_the_guidance_and_matches() {
    let bush = |n: u32| lfw_rgb(&format!("images/George_W_Bush/George_W_Bush_{n:04}.jpg"));
    let frames = frames_dir("face", &[downscaled(&bush(2), 0.4), bush(2), bush(3), bush(5)]);
    let card = common::lfw_image("images/George_W_Bush/George_W_Bush_0001.jpg");
    let term = Terminal::run(
        "face",
        &counter_command(&["--card", card.to_str().unwrap(), "--frames", frames.to_str().unwrap()]),
    );
    let menu = term.wait_for("Choose, then press Enter");
    save("face-1-menu", &menu);
    assert!(menu.contains("[f] face check with the camera   (proposed)"), "{menu}");
    assert!(menu.contains("[s] visual check by a member of staff"), "{menu}");
    term.press("f");
    let end = term.wait_for("EXIT=");
    save("face-2-decision", &end);
    let guidance = end.find("Please move closer.").expect("guidance for the far frame");
    let decision = end.find("DECISION: match (face check)").expect("a match by the face check");
    assert!(guidance < decision, "{end}");
    assert!(end.contains("EXIT=0"), "{end}");
    std::fs::remove_dir_all(frames).unwrap();
}

#[test]
fn staff_compare_the_card_photo_on_screen_and_confirm() {
    let frames = frames_dir("staff", &[]);
    let card = common::root().join("samples/astronaut_mynumber.bin");
    let term = Terminal::run(
        "staff",
        &counter_command(&["--card", card.to_str().unwrap(), "--frames", frames.to_str().unwrap(), "--no-models"]),
    );
    let menu = term.wait_for("Choose, then press Enter");
    assert!(!menu.contains("[f]"), "no face check without models:\n{menu}");
    term.press("s");
    term.wait_for("Staff answer");
    let photo = term.screen(true);
    save("staff-1-photo", &photo);
    // The photo: rows of half blocks, each cell coloured.
    let rows = photo.lines().filter(|l| l.matches('\u{2580}').count() >= 30).count();
    assert!(rows >= 20, "{rows} rows of the card photo on screen:\n{photo}");
    // Read the picture back from the screen's colours: it is the card photo
    // as the session prepares it for display.
    let shown = pixels_on_screen(&photo);
    let counter = honnin::counter::Counter::without_models(honnin::counter::SessionConfig::default()).unwrap();
    let mut session = counter.session(honnin::CardPhoto::open(&card).unwrap());
    session.choose(honnin::Method::StaffVisual).unwrap();
    let expected = session.card_for_display(40, 60).unwrap();
    let (w, h) = (expected.width() as usize, expected.height() as usize);
    assert_eq!((shown[0].len(), shown.len()), (w, h + h % 2), "picture size on screen");
    let diff: f64 = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| f64::from(shown[y][x].abs_diff(expected.pixels()[y * w + x])))
        .sum::<f64>()
        / (w * h) as f64;
    assert!(diff < 1.0, "the screen shows the card photo: mean difference {diff:.2} levels");
    term.press("y");
    let end = term.wait_for("EXIT=");
    save("staff-2-decision", &end);
    assert!(end.contains("DECISION: match (staff visual check)"), "{end}");
    assert!(end.contains("EXIT=0"), "{end}");
    assert!(!end.contains('\u{2580}'), "the photo is gone from the screen once staff answered:\n{end}");
    let history = term.history();
    assert!(history.contains("DECISION: match"), "the history is read:\n{history}");
    assert!(!history.contains('\u{2580}'), "nor is it in the scrollback:\n{history}");
    std::fs::remove_dir_all(frames).unwrap();
}

#[test]
fn after_two_non_matches_the_terminal_offers_the_staff_check_only() {
    let impostor: Vec<_> =
        (11..=16).map(|n| lfw_rgb(&format!("images/George_W_Bush/George_W_Bush_{n:04}.jpg"))).collect();
    let frames = frames_dir("fallback", &impostor);
    let card = common::lfw_image("images/Colin_Powell/Colin_Powell_0001.jpg");
    let audit = frames.with_extension("audit.jsonl");
    let _ = std::fs::remove_file(&audit);
    let term = Terminal::run(
        "fallback",
        &counter_command(&[
            "--card",
            card.to_str().unwrap(),
            "--frames",
            frames.to_str().unwrap(),
            "--audit",
            audit.to_str().unwrap(),
        ]),
    );
    term.wait_for("Choose, then press Enter");
    term.press("f");
    let offered = term.wait_for("A member of staff will check your card instead.");
    save("fallback-1-offer", &offered);
    assert!(offered.contains("The photos did not match. Let us try once more."), "{offered}");
    assert!(offered.contains("2 attempts did not match"), "{offered}");
    let after = offered.split("instead.").nth(1).unwrap();
    assert!(!after.contains("[f]") && after.contains("[s]"), "only the staff check is offered now:\n{offered}");
    term.press("s");
    term.wait_for("Staff answer");
    term.press("n");
    let end = term.wait_for("EXIT=");
    save("fallback-2-decision", &end);
    assert!(end.contains("DECISION: no_match (staff visual check)"), "{end}");
    assert!(end.contains("EXIT=1"), "{end}");
    // One audit record: the staff's decision after the face path closed, nothing biometric.
    let text = std::fs::read_to_string(&audit).unwrap();
    let records: Vec<serde_json::Value> = text.split_inclusive('\n').map(crate::audit_schema::check_line).collect();
    assert_eq!(records.len(), 1, "{text}");
    assert_eq!(
        (records[0]["method"].as_str(), records[0]["outcome"].as_str()),
        (Some("staff_visual"), Some("no_match"))
    );
    assert_eq!(records[0]["session"]["fallback"], "non_matches");
    assert_eq!(records[0]["session"]["attempts"].as_array().unwrap().len(), 2);
    std::fs::remove_file(honnin::audit::audit_head_path(&audit)).unwrap();
    std::fs::remove_file(audit).unwrap();
    std::fs::remove_dir_all(frames).unwrap();
}

#[test]
fn a_camera_that_cannot_be_opened_leads_to_the_staff_check() {
    // This build has no camera feature (and this machine no camera): opening
    // one is a camera fault, which the session turns into the staff offer.
    let card = common::lfw_image("images/George_W_Bush/George_W_Bush_0001.jpg");
    let term = Terminal::run("camera", &counter_command(&["--card", card.to_str().unwrap(), "--camera", "7"]));
    term.wait_for("Choose, then press Enter");
    term.press("f");
    let offered = term.wait_for("A member of staff will check your card instead.");
    save("camera-fault-offer", &offered);
    assert!(offered.contains("The face check cannot continue: camera fault"), "{offered}");
    term.press("s");
    term.wait_for("Staff answer");
    term.press("u");
    let end = term.wait_for("EXIT=");
    assert!(end.contains("DECISION: inconclusive (staff visual check)"), "{end}");
    assert!(end.contains("EXIT=2"), "{end}");
}

/// The staff check's photo on a terminal: `--no-models`, the My Number sample
/// card, with `extra` arguments, in a terminal of `columns` x `rows`; the
/// moment staff chose the check (before the photo was drawn).
fn staff_screen(name: &str, extra: &[&str], columns: u32, rows: u32) -> (Terminal, Instant) {
    let card = common::root().join("samples/astronaut_mynumber.bin");
    let args = [&["--card", card.to_str().unwrap(), "--no-models"][..], extra].concat();
    let term = Terminal::sized(name, &counter_command(&args), columns, rows);
    term.wait_for("Choose, then press Enter");
    let chosen = Instant::now();
    term.press("s");
    (term, chosen)
}

fn photo_rows(screen: &str) -> usize {
    screen.lines().filter(|l| l.contains(HALF_BLOCK)).count()
}

#[test]
fn in_80x24_the_heading_photo_and_prompt_fit_and_stay() {
    let (term, _) = staff_screen("small", &[], 80, 24);
    let screen = term.wait_for("Staff answer");
    save("small-1-photo", &term.screen(true));
    let lines: Vec<&str> = screen.lines().collect();
    assert!(lines.len() <= 24, "{screen}");
    assert!(
        lines[0].starts_with("STAFF VISUAL CHECK: compare the card photo"),
        "the heading is the top line:\n{screen}"
    );
    let rows = photo_rows(&screen);
    assert!((12..=17).contains(&rows), "{rows} rows of photo:\n{screen}");
    let prompt = lines.iter().position(|l| l.starts_with("Staff answer")).unwrap();
    assert!(prompt <= 22, "a row is left below the prompt for the Enter key:\n{screen}");
    assert!(lines.iter().any(|l| l.contains("[y] same person")), "{screen}");
    // A wrong key: the screen is drawn again from the top, nothing scrolls.
    term.press("x");
    let again = term.wait_for("Please type y, n, u or q.");
    save("small-2-wrong-key", &again);
    assert!(again.lines().next().unwrap().starts_with("STAFF VISUAL CHECK"), "{again}");
    assert_eq!(photo_rows(&again), rows, "{again}");
    term.press("y");
    let end = term.wait_for("EXIT=");
    assert!(end.contains("DECISION: match (staff visual check)") && end.contains("EXIT=0"), "{end}");
    assert!(!term.history().contains(HALF_BLOCK), "{end}");
}

fn one_record(log: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(log).unwrap();
    let mut records: Vec<serde_json::Value> = text.split_inclusive('\n').map(crate::audit_schema::check_line).collect();
    assert_eq!(records.len(), 1, "{text}");
    records.remove(0)
}

#[test]
fn the_photo_leaves_the_screen_within_a_second_of_the_timeout() {
    let dir = common::scratch_dir("counter-timeout");
    let log = dir.join("audit.jsonl");
    let (term, chosen) = staff_screen("timeout", &["--timeout", "3", "--audit", log.to_str().unwrap()], 80, 24);
    let shown = term.when("the photo", |s| photo_rows(s) > 0);
    let cleared = term.when("the photo to go", |s| photo_rows(s) == 0);
    let held = cleared - shown;
    eprintln!("timeout 3 s: the photo was on screen for {held:?}");
    // Not before the timeout (which starts once the photo is drawn, after
    // staff chose the check), and within a second of it.
    assert!(cleared - chosen >= Duration::from_secs(3), "{:?}", cleared - chosen);
    assert!(held < Duration::from_secs(4), "{held:?}");
    let end = term.wait_for("EXIT=");
    save("timeout-end", &end);
    assert!(end.contains("no answer within 3 s") && end.contains("EXIT=4"), "{end}");
    assert!(!term.history().contains(HALF_BLOCK));
    let record = one_record(&log);
    assert_eq!((record["ended"].as_str(), record["outcome"].as_str()), (Some("timeout"), None));
    assert_eq!(record["session"]["choices"], serde_json::json!(["staff_visual"]));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_photo_leaves_the_screen_within_a_second_of_sigterm_sighup_and_ctrl_c() {
    for (name, signal) in [("sigterm", libc::SIGTERM), ("sighup", libc::SIGHUP), ("ctrl-c", libc::SIGINT)] {
        let dir = common::scratch_dir(&format!("counter-{name}"));
        let log = dir.join("audit.jsonl");
        let (term, _) = staff_screen(name, &["--audit", log.to_str().unwrap()], 80, 24);
        term.when("the photo", |s| photo_rows(s) > 0);
        let sent = Instant::now();
        if signal == libc::SIGINT {
            term.key("C-c");
        } else {
            // SAFETY: kill(2) on the pid of a process this test started.
            assert_eq!(unsafe { libc::kill(term.program_pid(), signal) }, 0);
        }
        let cleared = term.when("the photo to go", |s| photo_rows(s) == 0) - sent;
        eprintln!("{name}: the photo left the screen {cleared:?} after the signal");
        assert!(cleared < Duration::from_secs(1), "{name}: {cleared:?}");
        let end = term.wait_for("EXIT=");
        save(&format!("{name}-end"), &end);
        assert!(end.contains(&format!("EXIT={}", 128 + signal)), "{name}: {end}");
        assert!(!term.history().contains(HALF_BLOCK), "{name}");
        let record = one_record(&log);
        assert_eq!((record["ended"].as_str(), record["outcome"].as_str()), (Some("signal"), None), "{name}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn output_redirected_to_a_file_holds_no_photo() {
    let dir = common::scratch_dir("counter-redirected");
    let log = dir.join("screen.log");
    let card = common::root().join("samples/astronaut_mynumber.bin");
    let mut child = Command::new(common::binary())
        .args(["counter", "--card", card.to_str().unwrap(), "--no-models"])
        .current_dir(common::root())
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"s\ny\n").unwrap();
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    eprintln!("`honnin counter > log`: {} bytes", text.len());
    assert!(text.contains("compare the person in front of you with the photo printed on their card"), "{text}");
    assert!(text.contains("DECISION: match (staff visual check)"), "{text}");
    // No picture to decode: no half block, no colour, no escape sequence at all.
    assert!(pixels_on_screen(&text).is_empty(), "a picture in the log:\n{text}");
    assert!(!text.contains('\x1b') && !text.contains(HALF_BLOCK), "{text:?}");
    assert!(text.len() < 2048, "{} bytes", text.len());
    std::fs::remove_dir_all(dir).unwrap();
}
