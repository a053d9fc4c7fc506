//! The pipeline's stages and their models: detection, alignment, embedding,
//! comparison, presentation-attack detection, the quality gate, and the
//! ONNX Runtime that runs the models.

pub(crate) mod align;
pub mod template;
pub mod detect;
pub mod embed;
pub mod models;
pub mod onnx_graph;
pub(crate) mod pad;
pub mod quality;
pub mod runtime;
