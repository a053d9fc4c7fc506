//! The one error type of the crate.
//!
//! A face that is absent, doubled or unusable is *not* an error: it is an
//! [`Inconclusive`](crate::Decision::Inconclusive) outcome. Errors are for what
//! someone must fix: the caller (misuse), the deployment (models, runtime,
//! calibration) or the input bytes (limits, undecodable data).

use std::fmt;
use std::path::PathBuf;

mod calibration;
mod camera;
mod card;
mod reader;

pub(crate) use calibration::implausible;
pub use calibration::{rate, CalibrationError, Implausibility};
pub use camera::CameraError;
pub use card::Malformation;
pub use reader::ReaderError;

/// Everything that can go wrong in honnin, grouped by who must act
/// ([`Error::kind`]): the calling code, the deployment, the input, the system.
///
/// Display texts are lowercase and say what was expected. No variant ever
/// carries pixels, landmarks or templates.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    // Misuse: the calling code must change.
    /// The caller passed an argument that cannot be used (empty buffer, wrong
    /// buffer length for the stated dimensions, target FMR out of range, ...).
    InvalidArgument {
        /// What was expected.
        reason: String,
    },
    /// A counter session was asked for a step its state does not allow
    /// (frames before the face check was chosen, a staff judgement outside
    /// the staff check, a second decision). Misuse by the calling code.
    SessionStep {
        /// What the call needs, for example "a session in the face check".
        expected: &'static str,
    },
    // Deployment: whoever installs the terminal must act.
    /// The ONNX Runtime shared library could not be found or loaded.
    ///
    /// Set its path on the builder ([`EngineBuilder::onnxruntime`](crate::EngineBuilder::onnxruntime))
    /// or in `HONNIN_ORT_LIB`; `tools/setup.py` places it in `.runtime/`.
    Runtime {
        /// The path that was tried, if any was given.
        path: Option<PathBuf>,
        /// What went wrong.
        reason: String,
    },
    /// honnin pins no ONNX Runtime build for this CPU, and no sha256 (nor
    /// `any`) was given to pin the library with
    /// ([`EngineBuilder::onnxruntime_pin`](crate::EngineBuilder::onnxruntime_pin)).
    RuntimeNotPinned,
    /// A model file's sha256 differs from the one pinned in the manifest.
    ///
    /// The file is never handed to ONNX Runtime: a swapped recognizer could
    /// accept anyone.
    ModelIntegrity {
        /// Model id from the manifest.
        model: String,
        /// The pinned digest (hex).
        expected: String,
        /// The digest of the bytes found (hex).
        actual: String,
    },
    /// The model manifest is missing, malformed or names a model that does not fit
    /// its role (wrong tensor names, shapes or options).
    Manifest {
        /// The manifest file or model concerned.
        context: String,
        /// What was expected.
        reason: String,
    },
    /// ONNX Runtime refused to load or run a model.
    Inference {
        /// Model id from the manifest.
        model: String,
        /// ONNX Runtime's message.
        reason: String,
    },
    /// A calibration (face or PAD) was refused: not pinned, malformed,
    /// implausible, made for another pipeline, or without an operating point
    /// for the requested target. The deployment must act.
    Calibration(CalibrationError),
    // Input: the bytes or the path given cannot be used; ask for others.
    /// Input exceeded one of the configured [`Limits`](crate::Limits).
    LimitExceeded {
        /// Which limit: `"bytes"`, `"width"`, `"height"`, `"pixels"`, `"jpeg decoded pixels"`,
        /// `"pixels per byte"`, `"decode memory"` (bytes), `"jpeg scans"`, `"tlv depth"`, `"tlv elements"`,
        /// `"faces"` or `"trust anchors"`.
        limit: &'static str,
        /// The configured maximum.
        max: u64,
        /// The value found in the input.
        actual: u64,
    },
    /// Image bytes are not a supported, well-formed image.
    Decode {
        /// What was expected (for example "a JPEG, PNG or WebP image").
        reason: String,
    },
    /// Card data (a chip container or a face record) does not follow its
    /// standard. `offset` is where the problem was found, counted in bytes
    /// from the start of the input.
    Malformed {
        /// Which structure (for example "ICAO EF.DG2", "ISO/IEC 19794-5 face record").
        structure: &'static str,
        /// Byte offset in the input.
        offset: usize,
        /// What is wrong.
        problem: Malformation,
    },
    /// The bytes are in no format honnin reads. The first bytes are shown in
    /// hex (at most four: a magic number, not image content).
    UnrecognisedFormat {
        /// What was being read ("card data", "embedded face image", "image").
        what: &'static str,
        /// The first bytes, hex.
        magic: String,
    },
    /// A face record holds no face image, or fewer than the one asked for.
    NoFaceImage {
        /// The index asked for (0-based).
        index: usize,
        /// How many face images the record holds.
        count: usize,
    },
    /// A path names a directory, a named pipe, a device or a socket where a
    /// regular file was expected; it was refused before anything was read.
    NotAFile {
        /// The path given.
        path: PathBuf,
        /// What it names instead ("a directory", "a named pipe", ...).
        found: &'static str,
    },
    // System: the machine failed (camera, files, sandbox).
    /// A frame source failed: the camera is missing, could not be opened,
    /// a read failed or no frame came in time.
    Camera(CameraError),
    /// Reading a file failed.
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Writing an audit record failed.
    Write {
        /// What was being written.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Installing the sandbox failed (`sandbox` feature).
    Sandbox {
        /// Which layer, and what went wrong.
        reason: String,
    },
    /// The card reader, the card or PC/SC failed (`reader` feature). Its
    /// kind depends on the fault ([`ReaderError::kind`]): a card that cannot
    /// be used is input, a missing PC/SC service deployment, a missing
    /// reader system.
    Reader(ReaderError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Runtime { path: Some(path), reason } => write!(
                f,
                "onnx runtime library {} could not be loaded: {reason} (run tools/setup.py or set HONNIN_ORT_LIB)",
                path.display()
            ),
            Self::Runtime { path: None, reason } => {
                write!(f, "onnx runtime library not configured: {reason} (run tools/setup.py or set HONNIN_ORT_LIB)")
            }
            Self::RuntimeNotPinned => write!(
                f,
                "honnin pins no onnx runtime build for this cpu: give the sha256 of the library to require (or any)"
            ),
            Self::ModelIntegrity { model, expected, actual } => {
                write!(f, "model {model} failed its integrity check: expected sha256 {expected}, found {actual}")
            }
            Self::Manifest { context, reason } => write!(f, "model manifest ({context}): {reason}"),
            Self::Inference { model, reason } => write!(f, "model {model} could not be run: {reason}"),
            Self::Calibration(e) => write!(f, "{e}"),
            Self::LimitExceeded { limit, max, actual } => {
                write!(f, "input {limit} {actual} exceeds the limit of {max}")
            }
            Self::Decode { reason } => write!(f, "image could not be decoded: {reason}"),
            Self::Malformed { structure, offset, problem } => {
                write!(f, "malformed {structure} at byte {offset}: {problem}")
            }
            Self::UnrecognisedFormat { what, magic } => {
                let images = "JPEG, JPEG 2000 (JP2 or J2K), PNG or WebP";
                let containers =
                    "ICAO EF.DG2, an ISO/IEC 19794-5 or 39794-5 face record, or My Number card-surface data";
                if *what == "card data" {
                    write!(f, "{what} is in no supported format (first bytes {magic}): expected {images}, {containers}")
                } else {
                    write!(f, "{what} is in no supported format (first bytes {magic}): expected {images}")
                }
            }
            Self::NoFaceImage { index, count } => {
                write!(f, "face image {index} asked for, but the record holds {count} face image(s)")
            }
            Self::InvalidArgument { reason } => write!(f, "invalid argument: {reason}"),
            Self::SessionStep { expected } => write!(f, "session step out of order: this call needs {expected}"),
            Self::Sandbox { reason } => write!(f, "sandbox could not be installed: {reason}"),
            Self::Write { what, source } => write!(f, "writing {what}: {source}"),
            Self::Camera(fault) => write!(f, "{fault}"),
            Self::NotAFile { path, found } => {
                write!(f, "{} is {found}, not a regular file: give the path of a file", path.display())
            }
            Self::Io { path, source } => write!(f, "reading {}: {source}", path.display()),
            Self::Reader(fault) => write!(f, "{fault}"),
        }
    }
}

/// The messages of `Io` and `Write` already end with the operating system's
/// error, so `source` does not return it again: a chain printer (`anyhow`'s
/// `{:#}`) would otherwise repeat it. The error itself is in the `source`
/// field.
impl std::error::Error for Error {}

impl From<ReaderError> for Error {
    fn from(e: ReaderError) -> Self {
        Self::Reader(e)
    }
}

impl From<CalibrationError> for Error {
    fn from(e: CalibrationError) -> Self {
        Self::Calibration(e)
    }
}

/// Who must act on an [`Error`]. The C API's status codes fall in one range
/// per kind, but for one code older than the kinds: a path that names no
/// regular file ([`Error::NotAFile`], input) keeps `HONNIN_STATUS_IO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The calling code: an argument that cannot be used, a session step out of order.
    Misuse,
    /// The deployment: ONNX Runtime, the models and their manifest, a calibration,
    /// the PC/SC service.
    Deployment,
    /// The input: bytes over a limit, undecodable images, malformed or
    /// unrecognised card data, a record without the face asked for, a path
    /// that names no regular file, a card the reader cannot use (removed,
    /// blocked, a wrong 照合番号B, malformed answers).
    Input,
    /// The machine: the camera, the card reader, reading or writing files, the sandbox.
    System,
}

impl Error {
    /// Who must act on this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidArgument { .. } | Self::SessionStep { .. } => ErrorKind::Misuse,
            Self::Runtime { .. }
            | Self::RuntimeNotPinned
            | Self::ModelIntegrity { .. }
            | Self::Manifest { .. }
            | Self::Inference { .. }
            | Self::Calibration(_) => ErrorKind::Deployment,
            Self::LimitExceeded { .. }
            | Self::Decode { .. }
            | Self::Malformed { .. }
            | Self::UnrecognisedFormat { .. }
            | Self::NoFaceImage { .. }
            | Self::NotAFile { .. } => ErrorKind::Input,
            Self::Camera(_) | Self::Io { .. } | Self::Write { .. } | Self::Sandbox { .. } => ErrorKind::System,
            Self::Reader(fault) => fault.kind(),
        }
    }

    pub(crate) fn inference(model: &str, err: impl fmt::Display) -> Self {
        Self::Inference { model: model.to_owned(), reason: err.to_string() }
    }

    pub(crate) fn manifest(context: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Manifest { context: context.into(), reason: reason.into() }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

impl ReaderError {
    /// Who must act: a card that cannot be used is [`ErrorKind::Input`]
    /// (ask for another card, or for the right 照合番号B); a missing PC/SC
    /// service is [`ErrorKind::Deployment`]; a missing reader, a timeout, the
    /// random source or another PC/SC failure is [`ErrorKind::System`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NoService | Self::NoPinpad => ErrorKind::Deployment,
            Self::NoReader { .. } | Self::Timeout | Self::Rng | Self::Pcsc { .. } => ErrorKind::System,
            Self::NoCard
            | Self::CardRemoved
            | Self::CardInUse
            | Self::NotMyNumberCard
            | Self::Status { .. }
            | Self::TooFewTries { .. }
            | Self::Blocked
            | Self::WrongNumberB { .. }
            | Self::AlreadyVerified
            | Self::PinpadAborted { .. }
            | Self::ResponseTooLong { .. }
            | Self::Malformed { .. } => ErrorKind::Input,
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
