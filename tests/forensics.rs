//! Memory forensics: after whole verifications have ended and every honnin
//! value is dropped, the process's own memory must hold no copy of the
//! templates, the recognizer's raw outputs or the aligned face chips.
//!
//! Each configuration runs in a fresh child process (this binary, re-run with
//! `HONNIN_FORENSICS_CHILD` set), so that one configuration's residue cannot
//! be counted in another's and the test harness's threads cannot hold copies:
//!
//! - `ort-defaults`: ONNX Runtime's CPU arena and memory patterns on, no process hardening;
//! - `library`: honnin's session settings (arena and memory patterns off), no process hardening;
//! - `hardened`: as the `honnin` CLI runs, with [`honnin::hardening::harden_process`]
//!   (no core dumps, buffers locked in RAM).
//!
//! In each child: an engine shows the patterns to look for
//! ([`honnin::danger::dangerous_observe_embedding`]), which are kept XOR-masked
//! so that they cannot match themselves; it is dropped; a second engine runs a
//! match (two images of one person) and a no-match (two people), card photo
//! and live frame each read from file; everything is dropped; then every
//! readable mapping in `/proc/self/maps` is read through `/proc/self/mem` and
//! searched for every pattern fragment.
//!
//! Both engines run presentation-attack detection (the bundled PAD
//! calibration), as the CLI and the C API do when the PAD models are present:
//! the first also shows each PAD model's face crop
//! ([`honnin::danger::dangerous_observe_pad`]) of every live image, and those
//! crops are among the patterns.
//!
//! The second engine then also runs a counter session ([`honnin::counter::Counter`]):
//! the face check on three frames, fused, and a staff visual check whose
//! card photo is prepared for display. Their frames, fused template and
//! display pixels are among the patterns.
//!
//! `library` and `hardened` must show no residue of templates, raw outputs,
//! chips or PAD crops; `ort-defaults` is measured and printed (this binary always
//! prints its table). Decoded pixels are searched for too and reported.
//!
//! Two positive controls prove the search finds what is there: `control-*`
//! run as `library` (`control-wipe-freed-heap` also with glibc's freed-heap
//! wiping on) and then copy chip rows and PAD crop rows into one buffer
//! that is kept (it must be found) and one that is freed without wiping, as a
//! careless third-party library would (it must be found without freed-heap
//! wiping and must not be found with it: glibc overwrites it).

#[allow(dead_code)]
#[path = "suite/common.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::process::Command;

use honnin::counter::{Counter, FrameSource, SessionConfig, StaffJudgement, Step};
use honnin::engine::{Acquisition, Template};
use honnin::hardening::HardeningOptions;
use honnin::outcome::PadCheck;
use honnin::pad::{PadCalibration, PadPolicy};
use honnin::quality::QualityGate;
use honnin::{danger, CardPhoto, Engine, LiveFrame, Method, Models, Policy};

const CHILD_ENV: &str = "HONNIN_FORENSICS_CHILD";
const CONFIGS: [&str; 6] =
    ["ort-defaults", "library", "hardened", "control-library", "control-wipe-freed-heap", "reader"];
/// Every stored pattern byte is XORed with this, so the test's own copies never match.
const MASK: u8 = 0x3C;

/// Card photo, live frame, whether they show the same person.
const SESSIONS: [(&str, &str, bool); 2] = [
    ("images/George_W_Bush/George_W_Bush_0001.jpg", "images/George_W_Bush/George_W_Bush_0003.jpg", true),
    ("images/Colin_Powell/Colin_Powell_0001.jpg", "images/Aaron_Peirsol/Aaron_Peirsol_0002.jpg", false),
];

/// A counter session's card and frames (the quality gate passes all three),
/// and the card of a staff visual check.
const SESSION_CARD: &str = "images/George_W_Bush/George_W_Bush_0001.jpg";
const SESSION_FRAMES: [&str; 3] = [
    "images/George_W_Bush/George_W_Bush_0002.jpg",
    "images/George_W_Bush/George_W_Bush_0003.jpg",
    "images/George_W_Bush/George_W_Bush_0005.jpg",
];
const STAFF_CARD: &str = "images/Colin_Powell/Colin_Powell_0001.jpg";
/// The display area the staff check's photo is fitted into.
const DISPLAY: (u32, u32) = (120, 120);

/// Frames read from files, one per call, as a camera would deliver them.
struct Files(std::vec::IntoIter<&'static str>);

impl FrameSource for Files {
    fn next_frame(&mut self) -> honnin::Result<Option<LiveFrame>> {
        self.0.next().map(|path| LiveFrame::open(common::lfw_image(path))).transpose()
    }
}

/// Kinds of pattern, in report order.
const KINDS: [&str; 10] = [
    "template",
    "raw_output",
    "chip",
    "pixels",
    "chip_blocked",
    "detector_input",
    "pad_crop",
    "number_b",
    "pin_apdu",
    "photo_file",
];
/// The kinds the engine configurations look for (the card reader's are the `reader` configuration's).
const ENGINE_KINDS: usize = 7;

/// Byte fragments to look for, masked.
#[derive(Default)]
struct Patterns {
    fragments: Vec<(usize, Vec<u8>)>, // (kind index, masked bytes)
}

impl Patterns {
    fn add_floats(&mut self, kind: usize, values: &[f32]) {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
        self.add_bytes(kind, &bytes);
    }

    /// A secret of few distinct bytes (digits), looked for as it is.
    fn add_secret(&mut self, kind: usize, bytes: &[u8]) {
        assert!(bytes.len() >= 8, "the scan keys on 8 bytes");
        self.fragments.push((kind, bytes.iter().map(|b| b ^ MASK).collect()));
    }

    fn add_bytes(&mut self, kind: usize, bytes: &[u8]) {
        // A fragment of few distinct bytes could match unrelated memory.
        let mut seen = [false; 256];
        bytes.iter().for_each(|&b| seen[b as usize] = true);
        if seen.iter().filter(|&&s| s).count() >= 8 {
            self.fragments.push((kind, bytes.iter().map(|b| b ^ MASK).collect()));
        }
    }

    /// Chips: rows through the middle of each chip and channel; raw outputs
    /// and templates: every run of 8 values.
    fn add_embedding(&mut self, input: &[f32], output: &[f32], chip: usize) {
        let plane = chip * chip;
        for image in input.chunks_exact(3 * plane) {
            for channel in image.chunks_exact(plane) {
                for row in (chip * 3 / 10..chip * 7 / 10).step_by(chip / 15) {
                    let at = row * chip + chip / 3;
                    self.add_floats(2, &channel[at..at + 16]);
                }
            }
        }
        // The same pixels as ONNX Runtime's blocked layout (NCHWc, 8 channels
        // per block, 3 used) would hold them, should it reorder the input.
        let image = &input[..3 * plane];
        for row in (chip * 3 / 10..chip * 7 / 10).step_by(chip / 15) {
            let mut blocked = Vec::with_capacity(32);
            for x in chip / 3..chip / 3 + 4 {
                let at = row * chip + x;
                blocked.extend([image[at], image[plane + at], image[2 * plane + at], 0.0, 0.0, 0.0, 0.0, 0.0]);
            }
            self.add_floats(4, &blocked);
        }
        for run in output.chunks_exact(8) {
            self.add_floats(1, run);
        }
    }

    /// A PAD model's input (3 planes of `size` x `size` floats, BGR): rows
    /// through the middle of each plane, and the same pixels in ONNX
    /// Runtime's blocked layout (NCHWc, 8 channels per block).
    fn add_pad_crop(&mut self, input: &[f32], size: usize) {
        let plane = size * size;
        assert_eq!(input.len(), 3 * plane, "a PAD input of 3 x {size} x {size}");
        for row in (size * 3 / 10..size * 7 / 10).step_by(size / 12) {
            let at = row * size + size / 3;
            for channel in input.chunks_exact(plane) {
                self.add_floats(6, &channel[at..at + 16]);
            }
            let mut blocked = Vec::with_capacity(32);
            for x in at..at + 4 {
                blocked.extend([input[x], input[plane + x], input[2 * plane + x], 0.0, 0.0, 0.0, 0.0, 0.0]);
            }
            self.add_floats(6, &blocked);
        }
    }

    /// Decoded pixels, and the same rows as the detector's input tensor holds
    /// them: one float plane per channel in BGR order, raw 0..255 (YuNet's
    /// settings in models/manifest.json; a 250x250 frame is not resized).
    fn add_pixels(&mut self, rgb: &[u8], width: usize, height: usize) {
        for y in (height * 3 / 10..height * 7 / 10).step_by((height / 12).max(1)) {
            let at = (y * width + width * 2 / 5) * 3;
            self.add_bytes(3, &rgb[at..at + 48]);
            for channel in [2, 1, 0] {
                let row: Vec<f32> = (0..16).map(|x| f32::from(rgb[at + x * 3 + channel])).collect();
                self.add_floats(5, &row);
            }
        }
    }
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ChildReport {
    config: String,
    /// Decision of each session, in order.
    decisions: Vec<String>,
    /// Whether each session's score equals the score of the observed templates.
    scores_agree: Vec<bool>,
    /// What PAD found in each face-check session.
    pad: Vec<String>,
    /// Fragments looked for, per kind.
    fragments: BTreeMap<String, usize>,
    /// Fragments found at least once, per kind.
    found: BTreeMap<String, usize>,
    /// Bytes of memory matching a fragment, per kind.
    residue_bytes: BTreeMap<String, usize>,
    /// The same, scanned while the engine that verified was still alive.
    residue_bytes_engine_alive: BTreeMap<String, usize>,
    /// Where matches were, per kind: mapping name and count.
    places: BTreeMap<String, BTreeMap<String, usize>>,
    scanned_bytes: u64,
    /// Readable and writable anonymous memory (heap included) still mapped at the scan.
    anonymous_rw_bytes: u64,
    /// Positive control: chip fragments found in the kept and in the freed copy.
    control_kept_found: usize,
    control_freed_found: usize,
}

fn main() {
    match std::env::var(CHILD_ENV) {
        Ok(config) => child(&config),
        Err(_) => parent(),
    }
}

fn parent() {
    // Fail early, in the parent, with the fixtures' own messages.
    common::ort_lib();
    common::data_dir();
    let exe = std::env::current_exe().expect("own path");
    let mut reports = Vec::new();
    for config in CONFIGS {
        let out = Command::new(&exe).env(CHILD_ENV, config).output().expect("child runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{config} child failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let line = stdout.lines().last().expect("a report line");
        let report: ChildReport = serde_json::from_str(line).expect("report parses");
        reports.push(report);
    }
    println!("memory forensics after a match and a no-match session (residue bytes / fragments found of looked for)");
    print!("{:<18}", "config");
    KINDS.iter().for_each(|k| print!(" {k:>22}"));
    println!(" {:>11}", "scanned MB");
    for r in &reports {
        print!("{:<18}", r.config);
        for k in KINDS {
            print!(" {:>22}", format!("{} B / {} of {}", r.residue_bytes[k], r.found[k], r.fragments[k]));
        }
        println!(" {:>11.1}", r.scanned_bytes as f64 / 1e6);
        println!("    with the engine still alive: {:?}", r.residue_bytes_engine_alive);
        println!(
            "    anonymous read-write memory mapped: {:.1} MB; control copies found: kept {} of 12, freed {} of 12",
            r.anonymous_rw_bytes as f64 / 1e6,
            r.control_kept_found,
            r.control_freed_found
        );
        for (kind, places) in &r.places {
            println!("    {kind} found in: {places:?}");
        }
    }
    for r in &reports {
        if r.config == "reader" {
            check_reader(r);
            continue;
        }
        assert_eq!(
            r.decisions,
            ["match", "no_match", "match", "staff_match"],
            "{}: the verifications and sessions must decide as expected",
            r.config
        );
        assert_eq!(r.scores_agree.len(), 3);
        assert_eq!(r.pad, ["live", "live", "live"], "{}: PAD must run on every live image", r.config);
        assert!(r.scores_agree.iter().all(|&a| a), "{}: verify must compute the observed templates", r.config);
        for kind in &KINDS[..ENGINE_KINDS] {
            assert!(r.fragments[*kind] >= 20, "{}: too few {kind} fragments to search for", r.config);
        }
        assert!(r.scanned_bytes > 10_000_000, "{}: scanned only {} bytes", r.config, r.scanned_bytes);
        match r.config.as_str() {
            "control-library" => {
                assert_eq!(r.control_kept_found, 12, "the search must find a kept copy");
                assert!(r.control_freed_found >= 10, "without hardening a freed, unwiped copy stays readable");
            }
            "control-wipe-freed-heap" => {
                assert_eq!(r.control_kept_found, 12, "the search must find a kept copy");
                assert_eq!(r.control_freed_found, 0, "with wipe_freed_heap glibc overwrites freed memory");
            }
            _ => {}
        }
        if r.config == "library" || r.config == "hardened" {
            for kind in KINDS {
                assert_eq!(r.residue_bytes[kind], 0, "{}: {kind} residue in {:?}", r.config, r.places.get(kind));
                assert_eq!(r.residue_bytes_engine_alive[kind], 0, "{}: {kind} residue, engine alive", r.config);
            }
        }
    }
    println!("forensics: ok");
}

fn engine(arena: bool) -> Engine {
    let models = Models::from_dir(common::models_dir()).expect("models verify");
    assert!(models.has_pad(), "PAD models missing from models/: run tools/setup.py with HONNIN_MODEL_MIRROR");
    let pad = PadCalibration::bundled().expect("the bundled PAD calibration");
    let builder = Engine::builder(models).onnxruntime(common::ort_lib()).pad(PadPolicy::from_calibration(&pad));
    honnin::danger::onnxruntime_defaults(builder, arena)
        .policy(Policy::default_from(&common::calibration()).expect("calibration has the default FMR"))
        .build()
        .expect("engine builds")
}

fn child(config: &str) {
    if config == "reader" {
        return reader_child();
    }
    let arena = match config {
        "ort-defaults" => true,
        "library" | "control-library" => false,
        "hardened" => {
            let report = honnin::hardening::harden_process();
            assert!(report.no_core_dumps.is_applied() && report.lock_biometric_buffers.is_applied(), "{report:?}");
            false
        }
        "control-wipe-freed-heap" => {
            let options = HardeningOptions { wipe_freed_heap: true, ..HardeningOptions::default() };
            let report = honnin::hardening::harden_process_with(options);
            assert!(report.wipe_freed_heap.is_applied(), "{report:?}");
            false
        }
        other => panic!("unknown configuration {other}"),
    };
    let mut patterns = Patterns::default();
    let mut expected_scores = Vec::new();
    {
        let engine = engine(arena);
        // An image's pixels, its chips and raw outputs as the recognizer
        // sees them, and its template, all become patterns.
        let observe = |path: &str, live: bool, patterns: &mut Patterns| -> Template {
            let frame = LiveFrame::open(common::lfw_image(path)).expect("image decodes");
            let (w, h) = frame.dimensions();
            patterns.add_pixels(danger::dangerous_live_pixels(&frame), w as usize, h as usize);
            if live {
                // PAD runs on live images only: their face crops.
                let liveness = danger::dangerous_observe_pad(&engine, &frame, |input| patterns.add_pad_crop(input, 80))
                    .expect("PAD runs");
                assert!(liveness.is_some(), "{path}: PAD scored no face");
            }
            let acquired = danger::dangerous_observe_embedding(&engine, &frame, |input, output| {
                patterns.add_embedding(input, output, 128)
            })
            .expect("embedding runs");
            let Acquisition::Face(template) = acquired else { panic!("no face in {path}") };
            for run in honnin::danger::dangerous_template_values(&template).chunks_exact(8) {
                patterns.add_floats(0, run);
            }
            template
        };
        for (card, live, _) in SESSIONS {
            let (card, live) = (observe(card, false, &mut patterns), observe(live, true, &mut patterns));
            expected_scores.push(engine.compare(&card, &live).expect("same pipeline").value);
        }
        // The counter session: each frame's patterns and quality weight,
        // then the template fused as the session fuses it (by weight, best first).
        let card = observe(SESSION_CARD, false, &mut patterns);
        let mut frames: Vec<(Template, f32)> = SESSION_FRAMES
            .iter()
            .map(|path| {
                let frame = LiveFrame::open(common::lfw_image(path)).expect("image decodes");
                let quality = engine.assess(&frame, &QualityGate::default()).expect("gate runs");
                assert!(quality.is_usable(), "{path}: {:?}", quality.issues);
                (observe(path, true, &mut patterns), quality.weight)
            })
            .collect();
        frames.sort_by(|a, b| b.1.total_cmp(&a.1));
        let parts: Vec<(&Template, f32)> = frames.iter().map(|(t, w)| (t, *w)).collect();
        let fused = Template::fuse(&parts).expect("fusion");
        for run in honnin::danger::dangerous_template_values(&fused).chunks_exact(8) {
            patterns.add_floats(0, run);
        }
        expected_scores.push(engine.compare(&card, &fused).expect("same pipeline").value);
        // The staff check's display pixels, rows as drawn.
        let counter = Counter::without_models(SessionConfig::default()).expect("counter");
        let mut session = counter.session(CardPhoto::open(common::lfw_image(STAFF_CARD)).expect("card decodes"));
        session.choose(Method::StaffVisual).expect("staff check offered");
        let photo = session.card_for_display(DISPLAY.0, DISPLAY.1).expect("display photo");
        let row = photo.width() as usize * 3;
        for y in (photo.height() as usize * 3 / 10..photo.height() as usize * 7 / 10).step_by(6) {
            patterns.add_bytes(3, &photo.pixels()[y * row + row * 2 / 5..][..48]);
        }
    }
    let mut decisions = Vec::new();
    let mut scores_agree = Vec::new();
    let mut pad = Vec::new();
    let engine_alive: BTreeMap<String, usize>;
    {
        let engine = std::sync::Arc::new(engine(arena));
        for ((card, live, _), expected) in SESSIONS.iter().zip(&expected_scores) {
            let card = CardPhoto::open(common::lfw_image(card)).expect("card decodes");
            let live = LiveFrame::open(common::lfw_image(live)).expect("live decodes");
            let outcome = engine.verify(&card, &live).expect("verify runs");
            decisions.push(outcome.decision.code().to_string());
            scores_agree.push(outcome.score.map(|s| s.value) == Some(*expected));
            pad.push(outcome.pad.code().to_string());
        }
        // A counter: one person takes the face check, the next the staff check.
        let counter = Counter::new(std::sync::Arc::clone(&engine), SessionConfig::default()).expect("counter");
        let mut session = counter.session(CardPhoto::open(common::lfw_image(SESSION_CARD)).expect("card decodes"));
        let step = session.run_face(&mut Files(SESSION_FRAMES.to_vec().into_iter()), |_| {}).expect("session runs");
        let Step::Decided(outcome) = step else { panic!("the face check must decide, got {step:?}") };
        assert_eq!(session.attempts()[0].used, 3, "three frames fused");
        decisions.push(outcome.decision.code().to_string());
        scores_agree.push(outcome.score.map(|s| s.value) == expected_scores.last().copied());
        assert!(matches!(outcome.pad, PadCheck::Live { frames: 3, .. }), "PAD over the 3 frames: {:?}", outcome.pad);
        pad.push(outcome.pad.code().to_string());
        drop(session);
        let mut session = counter.session(CardPhoto::open(common::lfw_image(STAFF_CARD)).expect("card decodes"));
        session.choose(Method::StaffVisual).expect("staff check offered");
        drop(session.card_for_display(DISPLAY.0, DISPLAY.1).expect("display photo"));
        let outcome = session.staff_decide(StaffJudgement::SamePerson).expect("staff decide");
        decisions.push(format!("staff_{}", outcome.decision.code()));
        drop(session);
        // At a counter the engine outlives each person: look while it is alive.
        let (found, ..) = scan(&patterns, || {});
        engine_alive = residue_by_kind(&patterns, &found);
    }
    // Positive controls: unmasked copies of chip and PAD crop fragments (6
    // of each), 12 kept, 12 freed unwiped.
    let of_kind = |kind| (0..patterns.fragments.len()).filter(|&f| patterns.fragments[f].0 == kind).collect::<Vec<_>>();
    let (chips, crops) = (of_kind(2), of_kind(6));
    let kept_ids: Vec<usize> = chips[..6].iter().chain(&crops[..6]).copied().collect();
    let freed_ids: Vec<usize> = chips[6..12].iter().chain(&crops[6..12]).copied().collect();
    let (kept_ids, freed_ids) = (&kept_ids[..], &freed_ids[..]);
    // 48 KiB: above glibc's per-thread cache and below the mmap threshold, so
    // a freed copy stays in the heap; fragments 4 KiB apart.
    let unmasked = |ids: &[usize]| -> Vec<u8> {
        let mut buf = vec![0u8; 48 * 1024];
        for (i, &f) in ids.iter().enumerate() {
            let at = 64 + i * 4096;
            for (d, b) in buf[at..].iter_mut().zip(&patterns.fragments[f].1) {
                *d = b ^ MASK;
            }
        }
        buf
    };
    let control = config.starts_with("control-");
    let kept = if control { unmasked(kept_ids) } else { Vec::new() };
    let freed = if control { unmasked(freed_ids) } else { Vec::new() };
    // The freed copy is dropped once the scan's own buffers exist, so that
    // they are not carved out of it.
    let (found, places, scanned_bytes, anonymous_rw_bytes) = scan(&patterns, || drop(std::hint::black_box(freed)));
    std::hint::black_box(&kept);
    let count = |ids: &[usize]| if control { ids.iter().filter(|&&f| found[f] > 0).count() } else { 0 };
    let (control_kept_found, control_freed_found) = (count(kept_ids), count(freed_ids));
    let mut fragments = BTreeMap::new();
    let mut found_kinds = BTreeMap::new();
    let mut residue = BTreeMap::new();
    for kind in KINDS {
        fragments.insert(kind.to_string(), 0);
        found_kinds.insert(kind.to_string(), 0);
        residue.insert(kind.to_string(), 0);
    }
    for (f, (kind, bytes)) in patterns.fragments.iter().enumerate() {
        *fragments.get_mut(KINDS[*kind]).unwrap() += 1;
        if found[f] > 0 {
            *found_kinds.get_mut(KINDS[*kind]).unwrap() += 1;
            *residue.get_mut(KINDS[*kind]).unwrap() += found[f] * bytes.len();
        }
    }
    let report = ChildReport {
        config: config.to_string(),
        decisions,
        scores_agree,
        pad,
        fragments,
        found: found_kinds,
        residue_bytes: residue,
        residue_bytes_engine_alive: engine_alive,
        places,
        scanned_bytes,
        anonymous_rw_bytes,
        control_kept_found,
        control_freed_found,
    };
    println!("{}", serde_json::to_string(&report).expect("report serialises"));
}

type Places = BTreeMap<String, BTreeMap<String, usize>>;

/// Searches every readable mapping of this process for every fragment: how
/// often each was found, where, the bytes scanned and the anonymous
/// read-write memory mapped.
fn scan(patterns: &Patterns, before_reading: impl FnOnce()) -> (Vec<usize>, Places, u64, u64) {
    // Index fragments by their first 8 bytes (masked), with a bitset prefilter.
    let mut index: std::collections::HashMap<u64, Vec<usize>> = std::collections::HashMap::new();
    let mut filter = vec![false; 1 << 20];
    let key = |b: &[u8]| u64::from_ne_bytes(b[..8].try_into().unwrap());
    let mask64 = u64::from_ne_bytes([MASK; 8]);
    for (i, (_, bytes)) in patterns.fragments.iter().enumerate() {
        let k = key(bytes);
        filter[(k & 0xF_FFFF) as usize] = true;
        index.entry(k).or_default().push(i);
    }
    let longest = patterns.fragments.iter().map(|(_, b)| b.len()).max().unwrap_or(0);
    let mut found = vec![0usize; patterns.fragments.len()];
    let mut places = Places::new();
    let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
    let mut mem = std::fs::File::open("/proc/self/mem").expect("/proc/self/mem");
    let mut scanned = 0u64;
    let mut anonymous_rw = 0u64;
    let mut chunk = vec![0u8; 4 << 20];
    // The chunk holds copies of what it read: never search it.
    let own = chunk.as_ptr() as u64..chunk.as_ptr() as u64 + chunk.len() as u64;
    before_reading();
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (range, perms) = (fields[0], fields[1]);
        let name = fields.get(5).copied().unwrap_or("[anonymous]").to_string();
        if !perms.starts_with('r') || name.starts_with("[v") {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let (start, end) = (u64::from_str_radix(start, 16).unwrap(), u64::from_str_radix(end, 16).unwrap());
        if perms.starts_with("rw") && (name == "[anonymous]" || name == "[heap]") {
            anonymous_rw += end - start;
        }
        let mut at = start;
        while at < end {
            if own.contains(&at) {
                at = own.end;
                continue;
            }
            let end = if (at..end).contains(&own.start) { own.start } else { end };
            let want = ((end - at) as usize).min(chunk.len());
            if mem.seek(SeekFrom::Start(at)).is_err() {
                break;
            }
            let got = match mem.read(&mut chunk[..want]) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            scanned += got as u64;
            let data = &chunk[..got];
            // Chunks overlap by the longest fragment, so one across a boundary
            // is still seen; matches are counted only where they start before
            // the next chunk's start.
            let more = got == want && at + (got as u64) < end;
            let step = if more { got.saturating_sub(longest).max(1) } else { got };
            for i in 0..step.min(data.len().saturating_sub(7)) {
                let k = key(&data[i..]) ^ mask64;
                if !filter[(k & 0xF_FFFF) as usize] {
                    continue;
                }
                let Some(candidates) = index.get(&k) else { continue };
                for &f in candidates {
                    let frag = &patterns.fragments[f].1;
                    let window = &data[i..(i + frag.len()).min(data.len())];
                    if window.len() == frag.len() && window.iter().zip(frag).all(|(m, p)| m ^ MASK == *p) {
                        found[f] += 1;
                        *places
                            .entry(KINDS[patterns.fragments[f].0].into())
                            .or_default()
                            .entry(name.clone())
                            .or_default() += 1;
                    }
                }
            }
            at += step as u64;
        }
    }
    (found, places, scanned, anonymous_rw)
}

/// The `reader` configuration's verdict: the session decided as expected,
/// each kind was searched for and found while the session was alive (the
/// search works), and nothing of 照合番号B, the PIN's VERIFY or the photo
/// (its file bytes or its pixels) is left once the session is dropped.
fn check_reader(r: &ChildReport) {
    assert_eq!(r.decisions, ["photo_read", "staff_match", "pin_match"], "reader: the sessions must decide as expected");
    for (kind, least) in [("number_b", 1), ("pin_apdu", 1), ("photo_file", 20), ("pixels", 20)] {
        assert!(r.fragments[kind] >= least, "reader: too few {kind} fragments to search for");
        assert!(r.residue_bytes_engine_alive[kind] > 0, "reader: the control copy of {kind} must be found");
        assert_eq!(r.residue_bytes[kind], 0, "reader: {kind} residue in {:?}", r.places.get(kind));
    }
}

/// A counter session from the card in a (simulated) reader: the photo read
/// with 照合番号B, shown to staff, decided; then a second card's PIN. Before
/// the sessions end, one kept copy of each secret (unmasked) is searched for
/// and must be found; after they end, nothing may be.
fn reader_child() {
    use honnin::authenticity::TrustAnchors;
    use honnin::counter::CardLink;
    use honnin::reader::{CardPin, PinEntry, ReaderContext, TryPolicy, VerificationNumberB};
    use honnin_cardsim::harness::{Harness, Options};
    use honnin_cardsim::CardSpec;

    let photo = common::root().join("samples/astronaut_card_grey.jp2");
    let mut spec = CardSpec::new(&photo);
    spec.facts.pin = "8642".into();
    let mut harness = Harness::start(Options::locate().expect("simulator built"), &spec).expect("harness starts");
    let mut patterns = Patterns::default();
    let number_b = b"55021720341234";
    patterns.add_secret(7, number_b);
    patterns.add_secret(8, &[0x00, 0x20, 0x00, 0x80, 0x04, b'8', b'6', b'4', b'2']);
    // The test's own copies are wiped when dropped, so that only honnin's could remain.
    let file = zeroize::Zeroizing::new(std::fs::read(&photo).expect("photo"));
    for at in (64..file.len().saturating_sub(32)).step_by((file.len() / 60).max(32)) {
        patterns.add_bytes(9, &file[at..at + 32]);
    }
    {
        let expected = CardPhoto::open(&photo).expect("photo decodes");
        let (w, h) = expected.dimensions();
        let grey = danger::dangerous_card_pixels(&expected);
        for y in (h as usize * 3 / 10..h as usize * 7 / 10).step_by((h as usize / 60).max(1)) {
            let at = y * w as usize + w as usize * 2 / 5;
            patterns.add_bytes(3, &grey[at..at + 48]);
        }
    }
    drop(file);
    let mut decisions = Vec::new();
    let alive: BTreeMap<String, usize>;
    {
        let context = ReaderContext::establish().expect("pcscd");
        let counter = Counter::without_models(SessionConfig::default()).expect("counter");
        let reader = harness.reader();
        let link = |context: &ReaderContext| {
            CardLink::new(
                context.connect(reader).expect("connects"),
                TryPolicy::default(),
                TrustAnchors::none(),
                honnin::Limits::default(),
            )
            .expect("link")
        };
        let mut session = counter.card_session(link(&context));
        let code = VerificationNumberB::from_parts((1980, 2, 17), 2034, "1234").expect("parts");
        session.read_card_photo(&code).expect("photo read");
        drop(code);
        decisions.push("photo_read".to_string());
        // Positive control, while the session holds the photo (its pixels
        // must be found) and with a kept, unmasked copy of 照合番号B, the
        // PIN's VERIFY and the photo file's fragments (they must be found).
        // Sized first: a growing vector would leave copies behind in freed memory.
        let secrets: Vec<&Vec<u8>> =
            patterns.fragments.iter().filter(|(k, _)| (7..=9).contains(k)).map(|(_, b)| b).collect();
        let mut kept = zeroize::Zeroizing::new(Vec::with_capacity(secrets.iter().map(|b| b.len() + 16).sum()));
        for bytes in secrets {
            kept.extend(bytes.iter().map(|x| x ^ MASK));
            kept.extend([0u8; 16]);
        }
        let (found, ..) = scan(&patterns, || {});
        std::hint::black_box(&kept);
        alive = residue_by_kind(&patterns, &found);
        drop(kept);
        session.choose(Method::StaffVisual).expect("staff offered");
        drop(session.card_for_display(DISPLAY.0, DISPLAY.1).expect("display photo"));
        let outcome = session.staff_decide(StaffJudgement::SamePerson).expect("staff decide");
        decisions.push(format!("staff_{}", outcome.decision.code()));
        drop(session);
        harness.swap(&spec).expect("next card");
        let mut session = counter.card_session(link(&context));
        session.choose(Method::CardPin).expect("PIN offered");
        let pin = CardPin::from_digits("8642").expect("pin");
        match session.check_pin(PinEntry::Host(pin)).expect("PIN checked") {
            Step::Decided(outcome) => decisions.push(format!("pin_{}", outcome.decision.code())),
            other => panic!("the PIN must decide: {other:?}"),
        }
        drop(session);
        drop(context);
    }
    drop(harness);
    let (found, places, scanned_bytes, anonymous_rw_bytes) = scan(&patterns, || {});
    let mut fragments = BTreeMap::new();
    let mut found_kinds = BTreeMap::new();
    for kind in KINDS {
        fragments.insert(kind.to_string(), 0);
        found_kinds.insert(kind.to_string(), 0);
    }
    for (f, (kind, _)) in patterns.fragments.iter().enumerate() {
        *fragments.get_mut(KINDS[*kind]).unwrap() += 1;
        *found_kinds.get_mut(KINDS[*kind]).unwrap() += usize::from(found[f] > 0);
    }
    let report = ChildReport {
        config: "reader".into(),
        decisions,
        scores_agree: Vec::new(),
        pad: Vec::new(),
        fragments,
        found: found_kinds,
        residue_bytes: residue_by_kind(&patterns, &found),
        residue_bytes_engine_alive: alive,
        places,
        scanned_bytes,
        anonymous_rw_bytes,
        control_kept_found: 0,
        control_freed_found: 0,
    };
    println!("{}", serde_json::to_string(&report).expect("report serialises"));
}

/// Bytes of memory matching a fragment, per kind.
fn residue_by_kind(patterns: &Patterns, found: &[usize]) -> BTreeMap<String, usize> {
    KINDS
        .iter()
        .enumerate()
        .map(|(k, kind)| {
            let bytes: usize = (0..found.len())
                .filter(|&f| patterns.fragments[f].0 == k)
                .map(|f| found[f] * patterns.fragments[f].1.len())
                .sum();
            (kind.to_string(), bytes)
        })
        .collect()
}
