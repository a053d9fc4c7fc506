//! Input decoding and its limits: files, image bytes, card photos, live frames.

pub mod decode;
pub(crate) mod pixels;
pub mod file;
pub(crate) mod jpeg2000;
pub mod limits;
