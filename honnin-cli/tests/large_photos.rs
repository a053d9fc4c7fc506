//! A whole `honnin verify` of each of issue 17's large photos (a 12 Mpixel
//! progressive JPEG, phone-sized baseline JPEGs, a PNG) peaks under 300 MB.
//! The photos are the library suite's (tests/suite/large_photos/photos.rs);
//! the CLI reads them from a scratch folder that is then removed.

use std::path::Path;

use crate::common;
use crate::photos::photos;

/// Runs `honnin verify --json` on a photo; its JSON output, its peak RSS in
/// bytes, and its standard error.
#[cfg(target_os = "linux")]
fn verify_measured(card: &Path, live: &Path) -> (serde_json::Value, u64, String) {
    let (card, live) = (card.to_str().unwrap(), live.to_str().unwrap());
    let run = crate::measured::honnin_measured(&["verify", "--json", "--card", card, "--live", live], None);
    let json = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {} {}", run.stdout, run.stderr));
    (json, run.peak_kib * 1024, run.stderr)
}

#[test]
#[cfg(target_os = "linux")] // ru_maxrss in KiB
fn the_cli_verifies_each_large_photo_with_a_peak_under_300_mb() {
    // Files for the CLI, in a folder of this test's own, removed afterwards (they show faces).
    let dir = common::scratch_dir("large-photos");
    for photo in photos() {
        let path = dir.join(photo.name);
        std::fs::write(&path, &photo.bytes).unwrap();
        let (json, peak, stderr) = verify_measured(&photo.card, &path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(json["decision"], "match", "{}: {json} {stderr}", photo.name);
        assert!(peak < 300_000_000, "{}: peak RSS {peak} bytes", photo.name);
        eprintln!(
            "{}: {} (score {}), peak RSS {} MB",
            photo.name,
            json["decision"],
            json["score"]["value"],
            peak / 1_000_000
        );
    }
    std::fs::remove_dir(&dir).unwrap();
}
