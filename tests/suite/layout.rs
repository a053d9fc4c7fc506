//! The house's layout, checked: no import cycle among the library's modules,
//! the subject chosen and the decision rules (authenticity among them) applied in one place each, a
//! small crate root, a library without command-line dependencies, and a
//! README a newcomer reads in minutes whose links all resolve.

use std::path::PathBuf;
use std::process::Command;

use crate::common::root;

/// The library's code without its `#[cfg(test)]` modules, file by file.
fn library_code() -> Vec<(PathBuf, String)> {
    crate::common::files_under(&root().join("src"))
        .into_iter()
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(cut) => text[..cut].to_string(),
                None => text,
            };
            (path, code)
        })
        .collect()
}

/// Where `needle` occurs in the library's code, as `file:line`.
fn occurrences(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (path, code) in library_code() {
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            if line.contains(needle) {
                found.push(format!("{}:{}", path.strip_prefix(root()).unwrap().display(), n + 1));
            }
        }
    }
    found
}

#[test]
fn no_import_cycle_among_the_library_modules() {
    let out = Command::new("python3")
        .arg(root().join("tools/check-module-cycles.py"))
        .arg(root().join("src"))
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(" 0 cycle(s)"), "{text}");
    // The checker sees the modules and their imports (it would pass an empty tree).
    let modules: usize = text.split(" modules").next().unwrap().parse().unwrap();
    assert!(modules >= 30, "{text}");
}

#[test]
fn the_checker_finds_a_cycle_when_there_is_one() {
    let dir = crate::common::scratch_dir("cycle");
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("lib.rs"), "mod a;\nmod b;\n").unwrap();
    std::fs::write(dir.join("a/mod.rs"), "pub(crate) mod c;\n").unwrap();
    std::fs::write(dir.join("a/c.rs"), "use crate::b::{Thing, other::More};\npub struct Other;\n").unwrap();
    std::fs::write(dir.join("b.rs"), "pub struct Thing;\nfn f() -> crate::a::c::Other { todo!() }\n").unwrap();
    let out = Command::new("python3").arg(root().join("tools/check-module-cycles.py")).arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("cycle among: a::c, b"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_subject_is_chosen_and_the_rules_applied_in_one_place() {
    let calls = |needle: &str, definition: &str| -> Vec<String> {
        occurrences(needle).into_iter().filter(|at| !occurrences(definition).contains(at)).collect()
    };
    let subject = calls("choose_subject(", "fn choose_subject(");
    assert_eq!(subject.len(), 1, "choose_subject is called from {subject:?}");
    assert!(subject[0].starts_with("src/pipeline/stages.rs"), "{subject:?}");
    // The PAD verdict, the fused-or-single threshold and the match decision.
    for (needle, definition) in [
        ("PadCheck::judge(", "fn judge("),
        ("fused_threshold(", "fn fused_threshold("),
        ("score.passes(", "fn passes("),
    ] {
        let at = calls(needle, definition);
        assert_eq!(at.len(), 1, "{needle} is called from {at:?}");
        assert!(at[0].starts_with("src/decision/policy.rs"), "{needle}: {at:?}");
    }
    // Whether a card photo may be compared at all (its authenticity): a rule
    // of policy.rs, applied once, where the engine makes the card's reference
    // (sessions use the same reference).
    let defined = occurrences("fn admit(");
    assert!(defined.len() == 1 && defined[0].starts_with("src/decision/policy.rs"), "{defined:?}");
    let admit = calls(".admit(", "fn admit(");
    assert_eq!(admit.len(), 1, "admit is called from {admit:?}");
    assert!(admit[0].starts_with("src/engine.rs"), "{admit:?}");
}

#[test]
fn the_crate_root_re_exports_at_most_16_types() {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let mut types = Vec::new();
    for statement in lib.split(';') {
        let statement = statement.trim();
        let Some(path) = statement.rsplit('\n').next().and_then(|s| s.trim().strip_prefix("pub use ")) else {
            continue;
        };
        let names = match path.split_once('{') {
            Some((_, group)) => group.trim_end_matches('}').split(',').map(str::trim).collect(),
            None => vec![path.rsplit("::").next().unwrap()],
        };
        for name in names {
            let exported = name.rsplit(" as ").next().unwrap().trim();
            if exported.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                types.push(exported.to_string());
            }
        }
    }
    types.sort();
    assert!(types.len() <= 16, "{} root types: {types:?}", types.len());
    for needed in ["Engine", "Outcome", "Error", "CardPhoto", "LiveFrame", "Policy", "Calibration"] {
        assert!(types.iter().any(|t| t == needed), "{needed} missing from the root: {types:?}");
    }
}

#[test]
fn the_library_pulls_in_no_command_line_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-p", "honnin", "-e", "normal", "--prefix", "none"])
        .current_dir(root())
        .output()
        .expect("cargo runs");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(tree.lines().any(|l| l.starts_with("ort ")), "the tree lists the library's dependencies: {tree}");
    for forbidden in ["clap ", "anyhow "] {
        assert!(!tree.lines().any(|l| l.starts_with(forbidden)), "{forbidden}in the library's tree");
    }
}

#[test]
fn the_readme_is_short_says_what_honnin_is_and_its_links_resolve() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.lines().count() <= 200, "README.md has {} lines", readme.lines().count());
    let opening: String = readme.lines().skip(1).take_while(|l| !l.starts_with("```")).collect::<Vec<_>>().join(" ");
    assert!(opening.contains("honnin") && opening.contains("card"), "the README opens by saying what honnin is");
    // Every relative link of the README and the manual resolves.
    let mut files = vec![root().join("README.md"), root().join("PRIVACY.md")];
    files.extend(
        std::fs::read_dir(root().join("docs"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for link in text.split("](").skip(1).map(|l| l.split(')').next().unwrap()) {
            let target = link.split('#').next().unwrap();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let resolved = file.parent().unwrap().join(target);
            assert!(resolved.exists(), "{} links to {link}, which does not exist", file.display());
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links checked");
    // The manual is reachable from the README.
    assert!(readme.contains("](docs/README.md)") || readme.contains("](docs/)"), "README links the manual");
}
