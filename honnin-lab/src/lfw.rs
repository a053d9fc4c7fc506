//! LFW's files: image names and the official pairs files.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// One image of LFW: identity and 1-based number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ImageId {
    pub(crate) name: String,
    pub(crate) number: u32,
}

impl ImageId {
    pub(crate) fn path(&self, lfw: &Path) -> PathBuf {
        lfw.join("images").join(&self.name).join(format!("{}_{:04}.jpg", self.name, self.number))
    }
}

/// One pair of a pairs file.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub(crate) fold: usize,
    pub(crate) a: ImageId,
    pub(crate) b: ImageId,
    pub(crate) same: bool,
}

/// Parses an official LFW pairs file (`pairs.txt`, `pairsDevTrain.txt`, `pairsDevTest.txt`).
///
/// The header is either `N` (one set of N same then N different pairs) or
/// `folds N` (folds, each N same then N different pairs).
pub(crate) fn read_pairs(path: &Path) -> Result<Vec<Pair>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, (16 << 20) + 1), &mut bytes))
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() > 16 << 20 {
        bail!("{}: a pairs file of at most 16 MiB", path.display());
    }
    let text = String::from_utf8(bytes).with_context(|| format!("{}: UTF-8 text", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<usize> = lines
        .next()
        .context("empty pairs file")?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("pairs header")?;
    let (folds, per_side) = match header.as_slice() {
        [n] => (1, *n),
        [f, n] => (*f, *n),
        _ => bail!("pairs header of one or two numbers"),
    };
    if folds == 0 || per_side == 0 || folds > 1000 || per_side > 1_000_000 {
        bail!("pairs header: 1 to 1000 folds of 1 to 1,000,000 pairs per side");
    }
    let number = |s: &str| s.parse::<u32>().with_context(|| format!("image number {s:?}"));
    let mut pairs = Vec::new();
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (a, b, same) = match fields.as_slice() {
            [name, n1, n2] => (
                ImageId { name: name.to_string(), number: number(n1)? },
                ImageId { name: name.to_string(), number: number(n2)? },
                true,
            ),
            [name1, n1, name2, n2] => (
                ImageId { name: name1.to_string(), number: number(n1)? },
                ImageId { name: name2.to_string(), number: number(n2)? },
                false,
            ),
            _ => bail!("line {} of {}: 3 or 4 fields", i + 2, path.display()),
        };
        let fold = i / (2 * per_side);
        if same != ((i % (2 * per_side)) < per_side) {
            bail!("line {} of {}: same/different pair out of the file's order", i + 2, path.display());
        }
        pairs.push(Pair { fold, a, b, same });
    }
    if pairs.len() != folds * per_side * 2 {
        bail!("{}: {} pairs, header promises {}", path.display(), pairs.len(), folds * per_side * 2);
    }
    Ok(pairs)
}

pub(crate) fn default_lfw() -> PathBuf {
    std::env::var_os("HONNIN_DATA").map_or_else(|| PathBuf::from("../shared/data"), PathBuf::from).join("lfw")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("honnin-pairs-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn folded_pairs_files_are_read_in_order() {
        let path = write("ok", "2\t1\nA\t1\t2\nB\t1\tC\t3\nD\t2\t4\nE\t1\tF\t1\n");
        let pairs = read_pairs(&path).unwrap();
        let summary: Vec<(usize, bool, &str, u32)> =
            pairs.iter().map(|p| (p.fold, p.same, p.b.name.as_str(), p.b.number)).collect();
        assert_eq!(summary, vec![(0, true, "A", 2), (0, false, "C", 3), (1, true, "D", 4), (1, false, "F", 1)]);
        assert_eq!(pairs[1].a.path(Path::new("lfw")), Path::new("lfw/images/B/B_0001.jpg"));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn malformed_pairs_files_are_errors() {
        for (name, text) in [
            ("count", "1\t1\nA\t1\t2\n"),
            ("order", "1\t1\nB\t1\tC\t3\nA\t1\t2\n"),
            ("zero", "0\t0\nA\t1\t2\n"),
            ("fields", "1\nA\t1\nB\t1\tC\t3\n"),
            ("number", "1\nA\t1\tx\nB\t1\tC\t3\n"),
        ] {
            let path = write(name, text);
            assert!(read_pairs(&path).is_err(), "{name} accepted");
            std::fs::remove_file(path).unwrap();
        }
    }
}
