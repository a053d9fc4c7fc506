//! Where live frames come from: a camera, an image folder, a single image.
//!
//! A [`FrameSource`] hands out one decoded [`LiveFrame`] at a time. A
//! [`Session`](crate::counter::Session) reads frames from it until it has enough usable
//! ones; any error from the source (a missing device, a failed read, a
//! timeout, an undecodable file) closes the face path and the session offers
//! the staff visual check instead.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::input::decode::LiveFrame;
use crate::input::limits::Limits;

/// A supplier of live frames.
///
/// `next_frame` must return within a bounded time (a camera: its frame
/// timeout, as `CameraSource` of the `camera` feature does with
/// [`CameraError::Timeout`](crate::error::CameraError::Timeout)): a session checks its attempt time between
/// frames, so a call that blocks for ever holds the person at the counter.
pub trait FrameSource {
    /// The next frame, `Ok(None)` once the source has no more (a folder read
    /// to its end), or the fault that stopped it.
    fn next_frame(&mut self) -> Result<Option<LiveFrame>>;
}

impl<S: FrameSource + ?Sized> FrameSource for &mut S {
    fn next_frame(&mut self) -> Result<Option<LiveFrame>> {
        (**self).next_frame()
    }
}

impl<S: FrameSource + ?Sized> FrameSource for Box<S> {
    fn next_frame(&mut self) -> Result<Option<LiveFrame>> {
        (**self).next_frame()
    }
}

/// One image file, served once: the simplest source, for demos and tests.
#[derive(Debug)]
pub struct ImageSource {
    path: Option<PathBuf>,
    limits: Limits,
}

impl ImageSource {
    /// Serves the image at `path` (read and decoded when asked for).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: Some(path.into()), limits: Limits::default() }
    }

    /// Decodes within `limits` instead of the default ones.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

impl FrameSource for ImageSource {
    fn next_frame(&mut self) -> Result<Option<LiveFrame>> {
        match self.path.take() {
            Some(path) => read_frame(&path, &self.limits).map(Some),
            None => Ok(None),
        }
    }
}

/// The image files of a folder, in file-name order: a recorded camera
/// sequence. Hidden files and subfolders are skipped; a file that is not a
/// readable image is a fault ([`Error::Decode`] or [`Error::Io`]), as a
/// corrupt camera frame would be.
#[derive(Debug)]
pub struct FolderSource {
    files: std::vec::IntoIter<PathBuf>,
    limits: Limits,
}

impl FolderSource {
    /// Lists `dir` now; the files are read one at a time, when asked for.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let is_file = entry.file_type().map_err(|e| Error::io(entry.path(), e))?.is_file();
            if is_file && !hidden {
                files.push(entry.path());
            }
        }
        files.sort();
        Ok(Self { files: files.into_iter(), limits: Limits::default() })
    }

    /// Decodes within `limits` instead of the default ones.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Files not yet served.
    pub fn remaining(&self) -> usize {
        self.files.len()
    }
}

impl FrameSource for FolderSource {
    fn next_frame(&mut self) -> Result<Option<LiveFrame>> {
        match self.files.next() {
            Some(path) => read_frame(&path, &self.limits).map(Some),
            None => Ok(None),
        }
    }
}

fn read_frame(path: &Path, limits: &Limits) -> Result<LiveFrame> {
    // Wiped on drop.
    let bytes = crate::input::file::read_input_file(path, limits)?;
    LiveFrame::from_bytes_with_limits(&bytes, limits)
}
