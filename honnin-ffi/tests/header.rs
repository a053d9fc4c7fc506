//! The committed header is what the pinned cbindgen generates from the
//! sources: an API change without a regenerated header fails here (and so in
//! CI). `HONNIN_BLESS_HEADER=1` rewrites the header instead.

use std::path::Path;

#[test]
fn the_committed_header_matches_the_sources() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");
    let path = crate_dir.join("include/honnin.h");
    if std::env::var_os("HONNIN_BLESS_HEADER").is_some_and(|v| v == "1") {
        // CI compares; it never rewrites.
        assert!(std::env::var_os("CI").is_none(), "HONNIN_BLESS_HEADER is refused when CI is set");
        std::fs::write(&path, &generated).expect("header written");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "{} is out of date with honnin-ffi/src (first difference at line {}: committed {:?}, generated {:?}).\n\
             Regenerate it with: HONNIN_BLESS_HEADER=1 cargo test -p honnin-ffi --test header",
            path.display(),
            first + 1,
            committed.lines().nth(first).unwrap_or("<end>"),
            generated.lines().nth(first).unwrap_or("<end>"),
        );
    }
}
