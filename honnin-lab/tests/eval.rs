//! `honnin-lab eval` end to end on small protocols: counts, failures to acquire,
//! and the three report files.

use std::path::Path;

use crate::common;

fn eval(args: &[&str]) -> std::process::Output {
    common::honnin(&[&["eval"], args].concat())
}

fn report(dir: &Path) -> serde_json::Value {
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("| model set | operating point | threshold |"), "{md}");
    let svg = std::fs::read_to_string(dir.join("det.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<polyline"), "{svg}");
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn an_identity_tree_counts_every_pair_and_every_failure_to_acquire() {
    use std::os::unix::fs::symlink;
    let tmp = common::scratch_dir("eval-tree");
    let tree = tmp.join("tree");
    let people = ["Colin_Powell", "Tony_Blair", "Donald_Rumsfeld", "Gerhard_Schroeder"];
    for name in people {
        // Schroeder's folder lives outside the tree, reached by a symbolic link.
        let folder = if name == "Gerhard_Schroeder" { tmp.join("elsewhere").join(name) } else { tree.join(name) };
        std::fs::create_dir_all(&folder).unwrap();
        for n in 1..=3 {
            let file = format!("{name}_{n:04}.jpg");
            let source = common::lfw_image(&format!("images/{name}/{file}"));
            // One of Powell's images is a link to the LFW file itself.
            if name == "Colin_Powell" && n == 2 {
                symlink(&source, folder.join(file)).unwrap();
            } else {
                std::fs::copy(source, folder.join(file)).unwrap();
            }
        }
    }
    symlink(tmp.join("elsewhere/Gerhard_Schroeder"), tree.join("Gerhard_Schroeder")).unwrap();
    // A fourth "image" of Blair with nobody in it: a failure to acquire.
    crate::frames::empty_scene(250, 250).save(tree.join("Tony_Blair/Tony_Blair_9999.png")).unwrap();
    // What must be left out, each for its reason, and said so: a second path to Blair's folder
    // (his images would be impostors of themselves), a second path to one of Powell's images
    // filed under Rumsfeld, a link back to the tree (a loop), a broken link, a hidden file and notes.
    symlink(tree.join("Tony_Blair"), tree.join("Tony_Blair_again")).unwrap();
    symlink("../Colin_Powell/Colin_Powell_0001.jpg", tree.join("Donald_Rumsfeld/copy_of_powell.jpg")).unwrap();
    symlink(".", tree.join("loop")).unwrap();
    symlink("nowhere.jpg", tree.join("Donald_Rumsfeld/Donald_Rumsfeld_0009.jpg")).unwrap();
    std::fs::write(tree.join("Colin_Powell/.DS_Store"), "x").unwrap();
    std::fs::write(tmp.join("elsewhere/Gerhard_Schroeder/notes.txt"), "x").unwrap();
    let out = eval(&[
        "--identities",
        tree.to_str().unwrap(),
        "--report",
        tmp.join("report").to_str().unwrap(),
        "--jobs",
        "2",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&tmp.join("report"));
    // Genuine pairs: 3 per identity of 3 images, 6 for Blair's 4; impostors: 4 first images, 6 pairs.
    assert_eq!((r["subjects"].as_u64(), r["images"].as_u64()), (Some(4), Some(13)), "links followed: {r}");
    assert_eq!((r["genuine_pairs"].as_u64(), r["impostor_pairs"].as_u64()), (Some(15), Some(6)));
    let skipped: Vec<(String, u64)> = r["skipped_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["reason"].as_str().unwrap().to_string(), s["count"].as_u64().unwrap()))
        .collect();
    let reasons: Vec<&str> = skipped.iter().map(|(reason, _)| reason.as_str()).collect();
    for expected in
        ["another path to an identity folder", "another path to an image", "loop", "broken", "hidden", "not an image"]
    {
        assert_eq!(reasons.iter().filter(|r| r.contains(expected)).count(), 1, "{expected}: {skipped:?}");
    }
    assert!(skipped.iter().all(|(_, count)| *count == 1) && skipped.len() == 6, "{skipped:?}");
    let set = &r["model_sets"][0];
    assert_eq!(set["failures_to_acquire"], 1, "{set}");
    assert_eq!(set["genuine_pairs_lost_to_fta"], 3, "Blair's empty image's three genuine pairs");
    assert_eq!((set["genuine_comparisons"].as_u64(), set["impostor_comparisons"].as_u64()), (Some(12), Some(6)));
    // Labelled with what made the templates: the detector and the recognizer, not the PAD models.
    let roles: Vec<&str> = set["models"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["detector", "recognizer"], "{set}");
    let ids: Vec<&str> = set["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(set["model_set"], ids.join(" + "));
    // 6 impostor comparisons cannot show FMR 1e-2: reported as unsupported, not as a number.
    assert_eq!(set["at_target_fmr"][0]["supported"], false, "{set}");
    // At the calibrated threshold these well-known faces all match their own and no one else.
    let calibrated = &set["at_thresholds"][0];
    assert_eq!((calibrated["false_non_matches"].as_u64(), calibrated["false_matches"].as_u64()), (Some(0), Some(0)));
    assert!(calibrated["fmr_rule_of_3"].as_f64().unwrap() == 0.5, "3 / 6 impostors: {calibrated}");
    assert!(calibrated["fnmr_rule_of_3"].as_f64().unwrap() == 0.25, "3 / 12 genuine: {calibrated}");
    // The Markdown shows those zero counts with their bound, not as "0.000 % [0.000, 0.000]".
    let md = std::fs::read_to_string(tmp.join("report/report.md")).unwrap();
    let row = md.lines().find(|l| l.contains("| calibrated (FMR")).unwrap_or_else(|| panic!("{md}"));
    assert!(row.contains("| 0 of 12 (≤ 25 % at 95 %, rule of 3) | 0 of 6 (≤ 50 % at 95 %, rule of 3) |"), "{row}");
    assert!(!md.contains("0.000 % [0.000, 0.000]"), "{md}");
    assert!(md.contains("Left out while listing the tree (paths in the JSON report): 6 entries"), "{md}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn a_csv_pairs_file_with_folds_gives_k_fold_accuracy_and_side_by_side_model_sets() {
    let tmp = common::scratch_dir("eval-csv");
    // The first 40 DevTest pairs (20 genuine, 20 impostor), in 2 folds.
    let pairs = common::lfw_pairs("pairsDevTest.txt");
    let rows: Vec<String> = pairs[..20]
        .iter()
        .chain(&pairs[500..520])
        .enumerate()
        .map(|(i, (a, b, same))| {
            let strip = |p: &str| p.trim_start_matches("images/").to_string();
            format!("{},{},{},{}", strip(a), strip(b), u8::from(*same), i % 2)
        })
        .collect();
    std::fs::write(tmp.join("pairs.csv"), format!("img1,img2,same,fold\n{}\n", rows.join("\n"))).unwrap();
    let out = eval(&[
        "--pairs",
        tmp.join("pairs.csv").to_str().unwrap(),
        "--model-set",
        "yunet-s-dynamic,dlib-resnet-v1",
        "--model-set",
        "yunet-2023mar-640,dlib-resnet-v1",
        "--threshold",
        "0.6",
        "--report",
        tmp.join("report").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&tmp.join("report"));
    assert_eq!((r["genuine_pairs"].as_u64(), r["impostor_pairs"].as_u64()), (Some(20), Some(20)));
    let sets = r["model_sets"].as_array().unwrap();
    assert_eq!(sets.len(), 2, "both model sets in one report");
    assert_eq!(sets[0]["model_set"], "yunet-s-dynamic + dlib-resnet-v1");
    for set in sets {
        let folds = &set["k_fold"];
        assert_eq!(folds["folds"], 2, "{set}");
        assert!(folds["accuracy_mean"].as_f64().unwrap() >= 0.9, "{set}");
        let given = set["at_thresholds"].as_array().unwrap().iter().find(|t| t["source"] == "given").unwrap();
        assert_eq!(given["threshold"].as_f64().unwrap() as f32, 0.6);
    }
    // The 640x640 detector has no calibration of its own: no calibrated point for it.
    assert!(sets[1]["at_thresholds"].as_array().unwrap().iter().all(|t| t["source"] == "given"));
    let md = std::fs::read_to_string(tmp.join("report/report.md")).unwrap();
    assert!(md.contains("yunet-2023mar-640 + dlib-resnet-v1 | 2-fold accuracy"), "{md}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn doubtful_csv_rows_are_refused_or_flagged() {
    let tmp = common::scratch_dir("eval-doubt");
    let bush = "George_W_Bush/George_W_Bush_0001.jpg";
    std::fs::write(tmp.join("self.csv"), format!("\u{feff}img1,img2,same\n{bush},{bush},1\n")).unwrap();
    let out = eval(&["--pairs", tmp.join("self.csv").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2: an image compared with itself"));
    // A "genuine" pair across two folders: subjects are folders, so the report says the intervals are off.
    let rows = format!("{bush},Colin_Powell/Colin_Powell_0001.jpg,1\n{bush},George_W_Bush/George_W_Bush_0002.jpg,0\n");
    std::fs::write(tmp.join("mixed.csv"), rows).unwrap();
    let out = eval(&["--pairs", tmp.join("mixed.csv").to_str().unwrap(), "--report", tmp.join("r").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&tmp.join("r"));
    let warning = r["protocol_warnings"][0].as_str().unwrap_or_default();
    assert!(warning.contains("1 genuine pair(s) span two folders and 1 impostor pair(s) lie in one"), "{r}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
