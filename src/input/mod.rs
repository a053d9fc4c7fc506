//! Input and its limits: files read without trusting their type, image
//! bytes decoded within [`Limits`], card photos and live frames.

pub(crate) mod decode;
pub(crate) mod file;
pub(crate) mod jpeg2000;
pub(crate) mod limits;
pub(crate) mod pixels;
pub(crate) mod raw;

pub use decode::{CardPhoto, LiveFrame, ReferenceKind};
pub use file::read_input_file;
pub use limits::Limits;
pub use raw::PixelFormat;
