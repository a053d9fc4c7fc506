//! Files the lab writes (reports, calibrations): refused before any work
//! when they cannot be written, and written whole or not at all.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context, Result};

/// Refuses, before any work is done, an output path that cannot be written
/// as a file: an existing folder, or a path whose folder is missing and
/// cannot be made. The folder is made if missing.
pub(crate) fn prepare_output(path: &Path) -> Result<()> {
    if path.is_dir() {
        bail!("{} is a folder: name a file to write", path.display());
    }
    if path.file_name().is_none() {
        bail!("{}: name a file to write", path.display());
    }
    let dir = output_dir(path);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// The folder an output file goes into (`.` for a bare file name).
fn output_dir(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Writes `bytes` to `path` so that readers see either the old file or the
/// whole new one, never a part: the bytes go to a new temporary file in the
/// same folder, are flushed to disk (fsync), and the file is renamed over
/// `path`; then the folder is flushed so that the rename lasts. On any
/// failure the temporary file is removed and `path` is left as it was.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = path.file_name().with_context(|| format!("{}: name a file to write", path.display()))?;
    let dir = output_dir(path);
    // Unique per process and call: two writers never share a temporary file.
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .with_context(|| format!("writing {}", tmp.display()))
        .and_then(|()| std::fs::rename(&tmp, path).with_context(|| format!("moving {} into place", path.display())));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The new name is durable once the folder's entry is on disk. Some file
    // systems refuse fsync on a folder; the file itself is complete either way.
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_whole_file_or_leaves_it_alone() {
        let dir = std::env::temp_dir().join(format!("honnin-atomic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("taken")).unwrap();
        let file = dir.join("out.json");
        std::fs::write(&file, "old contents, longer than the new ones").unwrap();
        write_atomically(&file, b"new").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        // A folder in the way: an error, the folder untouched, no temporary file left.
        assert!(write_atomically(&dir.join("taken"), b"x").is_err());
        assert!(dir.join("taken").is_dir());
        assert!(prepare_output(&dir.join("taken")).is_err(), "refused before any work");
        // A missing folder: an error too, and nothing written anywhere.
        assert!(write_atomically(&dir.join("missing/out.json"), b"x").is_err());
        let mut names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names, ["out.json", "taken"], "no temporary file left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
