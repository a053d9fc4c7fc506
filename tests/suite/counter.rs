//! `honnin counter` used the way a person uses it: in a terminal (tmux),
//! typing keys, reading the screen. Each scenario's screens are saved under
//! the target directory (`tmp/counter-screens/`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common;
use crate::frames::{downscaled, lfw_rgb, write_frames};

/// A terminal of 100x60 cells running one command, on a tmux server of its own.
struct Terminal {
    socket: String,
}

impl Terminal {
    fn run(name: &str, command: &str) -> Self {
        let socket = format!("honnin-test-{}-{name}", std::process::id());
        // The shell prints the exit status and keeps the pane open to be read.
        let script = format!("{command}; echo EXIT=$?; sleep 600");
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "60", "sh", "-c", &script])
            .status()
            .expect("tmux runs (python3 tools/setup.py --dev installs it)");
        assert!(status.success(), "tmux new-session failed");
        Self { socket }
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
        env!("CARGO_BIN_EXE_honnin"),
        quoted.join(" ")
    )
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
    let counter = honnin::Counter::without_models(honnin::SessionConfig::default()).unwrap();
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
    // One audit record: the staff's decision, nothing biometric.
    let text = std::fs::read_to_string(&audit).unwrap();
    let records: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 1, "{text}");
    assert_eq!(
        (records[0]["method"].as_str(), records[0]["outcome"].as_str()),
        (Some("staff_visual"), Some("no_match"))
    );
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
