//! The one error type of the crate.
//!
//! A face that is absent, doubled or unusable is *not* an error: it is an
//! [`Inconclusive`](crate::Decision::Inconclusive) outcome. Errors are for what
//! someone must fix: the caller (misuse), the deployment (models, runtime,
//! calibration) or the input bytes (limits, undecodable data).

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong in honnin, grouped by who must act.
///
/// Display texts are lowercase and say what was expected. No variant ever
/// carries pixels, landmarks or templates.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
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
    /// A calibration file is missing, malformed, or does not belong to the loaded
    /// recognizer, or has no operating point for the requested target.
    Calibration {
        /// What was expected.
        reason: String,
    },
    /// Input exceeded one of the configured [`Limits`](crate::Limits).
    LimitExceeded {
        /// Which limit (`"bytes"`, `"width"`, `"height"`, `"pixels"`).
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
    /// The caller passed an argument that cannot be used (empty buffer, wrong
    /// buffer length for the stated dimensions, target FMR out of range, ...).
    InvalidArgument {
        /// What was expected.
        reason: String,
    },
    /// Reading a file failed.
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
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
            Self::ModelIntegrity { model, expected, actual } => {
                write!(f, "model {model} failed its integrity check: expected sha256 {expected}, found {actual}")
            }
            Self::Manifest { context, reason } => write!(f, "model manifest ({context}): {reason}"),
            Self::Inference { model, reason } => write!(f, "model {model} could not be run: {reason}"),
            Self::Calibration { reason } => write!(f, "calibration: {reason}"),
            Self::LimitExceeded { limit, max, actual } => {
                write!(f, "input {limit} {actual} exceeds the limit of {max}")
            }
            Self::Decode { reason } => write!(f, "image could not be decoded: {reason}"),
            Self::InvalidArgument { reason } => write!(f, "invalid argument: {reason}"),
            Self::Io { path, source } => write!(f, "reading {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Error {
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

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
