//! The pipeline's stages and their models: detection, alignment, embedding,
//! comparison, presentation-attack detection, the quality gate, the one
//! acquisition path through them, and the ONNX Runtime that runs the models.

pub(crate) mod align;
pub(crate) mod detect;
pub(crate) mod embed;
pub mod models;
pub(crate) mod onnx_graph;
pub(crate) mod pad;
pub mod quality;
pub mod runtime;
pub(crate) mod stages;
pub(crate) mod template;
