//! Reading a file named by someone else: a regular file only, never more than
//! a bound known before the first byte is read, and never waiting forever.
//!
//! A path handed to honnin (a card photo, a live frame, a model, a
//! calibration) may name a FIFO with no writer (opening it would block), a
//! device such as `/dev/zero` (reading it never ends), a directory, or a
//! symbolic link to any of these. Each is refused from its `fstat`, before
//! anything is read.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// What a path names when it is not a regular file, in words.
fn kind_of(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a named pipe"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading without blocking (a FIFO without a writer opens
/// at once) and without taking a terminal as the controlling one; the
/// caller checks what it opened with `fstat`.
pub(crate) fn open_for_reading(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)
}

/// Reads the regular file at `path`, refusing it when it holds more than
/// `max_bytes`.
///
/// The file is opened non-blocking (a FIFO without a writer is refused, not
/// waited on), its type and size come from `fstat` before any byte is read,
/// and the buffer is allocated once at that size, so a growing buffer leaves
/// no partial copies behind; it is wiped when dropped, refusals included.
pub(crate) fn read_regular(path: &Path, max_bytes: u64) -> Result<Zeroizing<Vec<u8>>> {
    let file = open_for_reading(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.file_type().is_file() {
        return Err(Error::NotAFile { path: path.to_path_buf(), found: kind_of(&meta.file_type()) });
    }
    if meta.len() > max_bytes {
        return Err(Error::LimitExceeded { limit: "bytes", max: max_bytes, actual: meta.len() });
    }
    // One byte more than the size found: a file that grew since `fstat` is
    // noticed (and refused if it grew past the bound) without a reallocation
    // while within it.
    let mut bytes = Zeroizing::new(Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1)));
    file.take(max_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(Error::LimitExceeded { limit: "bytes", max: max_bytes, actual: bytes.len() as u64 });
    }
    Ok(bytes)
}

/// Reads an untrusted input file (a card photo or chip data, a live frame)
/// under [`Limits::max_bytes`](crate::Limits::max_bytes): a regular file
/// only (directories, named pipes and devices are refused before anything is
/// read, symbolic links are followed), in one buffer wiped on drop.
pub fn read_input_file(path: impl AsRef<Path>, limits: &crate::Limits) -> Result<Zeroizing<Vec<u8>>> {
    read_regular(path.as_ref(), limits.max_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_are_refused_before_reading() {
        for (path, found) in [("/dev/zero", "a character device"), ("/", "a directory")] {
            match read_regular(Path::new(path), 1 << 20) {
                Err(Error::NotAFile { found: f, .. }) => assert_eq!(f, found),
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_fifo_without_writer_is_refused_at_once() {
        let dir = std::env::temp_dir().join(format!("honnin-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("live.jpg");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        #[allow(unsafe_code)]
        // SAFETY: a NUL-terminated path.
        let made = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
        assert_eq!(made, 0);
        let started = std::time::Instant::now();
        let result = read_regular(&fifo, 1 << 20);
        assert!(matches!(result, Err(Error::NotAFile { found: "a named pipe", .. })), "{result:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn files_over_the_bound_are_refused_from_their_size() {
        let dir = std::env::temp_dir().join(format!("honnin-big-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.bin");
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        assert!(matches!(
            read_regular(&path, 999),
            Err(Error::LimitExceeded { limit: "bytes", max: 999, actual: 1000 })
        ));
        assert_eq!(read_regular(&path, 1000).unwrap().len(), 1000);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
