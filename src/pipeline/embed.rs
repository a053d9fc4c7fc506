//! Stage 4: aligned face chip to template.
//!
//! The chip is written straight into the recognizer's input tensor (NCHW, the
//! model's channel order and normalisation). With mirror averaging the
//! horizontally flipped chip goes into the same batch and the two embeddings are
//! averaged. Every buffer holding a chip or an embedding is wiped when dropped.

use std::sync::Arc;

use ort::session::Session;
use ort::value::TensorRef;

use crate::error::{Error, Result};
use crate::input::decode::Pixels;
use crate::pipeline::align::{self, Affine};
use crate::pipeline::detect::Detection;
use crate::pipeline::models::{AlignmentFit, Colour, Metric, ModelEntry};
use crate::pipeline::template::Template;
use crate::privacy::secret::{Scratch, Secret};

/// The recognizer with its session and alignment template.
pub(crate) struct Recognizer {
    pub(crate) entry: ModelEntry,
    session: Session,
    template: [[f32; 2]; 5],
    fit: AlignmentFit,
    chip_w: u32,
    chip_h: u32,
    dims: usize,
    metric: Metric,
    pipeline: Arc<str>,
    wipe_outputs: bool,
    /// The input tensor (chips, mirror second), allocated and locked once for
    /// the engine's batch, all zero between runs.
    input: Scratch<f32>,
}

impl Recognizer {
    /// `batch` is the largest batch the engine will run (2 with mirror averaging);
    /// `pipeline` the fingerprint stamped on every template.
    pub(crate) fn new(entry: ModelEntry, session: Session, batch: i64, pipeline: &str) -> Result<Self> {
        let bad = |reason: String| Error::manifest(entry.id.clone(), reason);
        let alignment = entry.alignment.clone().ok_or_else(|| bad("an alignment template".into()))?;
        let output = entry.output.clone().ok_or_else(|| bad("an output".into()))?;
        let metric = entry.metric.ok_or_else(|| bad("a metric".into()))?;
        if session.inputs().len() != 1 || session.inputs()[0].name() != entry.input.name {
            return Err(bad(format!("one input named {:?}", entry.input.name)));
        }
        if !session.outputs().iter().any(|o| o.name() == output.name) {
            return Err(bad(format!("an output named {:?}", output.name)));
        }
        // Where the model states its input shape, it must agree with the manifest.
        if let Some(shape) = session.inputs()[0].dtype().tensor_shape() {
            let dims: Vec<i64> = shape.iter().copied().collect();
            let manifest = entry.input.shape;
            let agrees = dims.len() == 4 && dims.iter().zip(manifest).skip(1).all(|(&d, m)| d < 0 || d == m);
            if !agrees {
                return Err(bad(format!("an input of shape {manifest:?}, the model says {dims:?}")));
            }
            if dims[0] >= 0 && dims[0] != batch {
                return Err(bad(format!(
                    "a batch dimension of {batch} or dynamic (mirror averaging runs 2), the model fixes it at {}",
                    dims[0]
                )));
            }
        }
        Ok(Self {
            template: alignment.template,
            fit: alignment.fit,
            chip_w: alignment.size[0],
            chip_h: alignment.size[1],
            dims: output.shape[1] as usize,
            metric,
            pipeline: pipeline.into(),
            input: Scratch::new(batch.max(1) as usize * 3 * alignment.size[0] as usize * alignment.size[1] as usize),
            entry,
            session,
            wipe_outputs: true,
        })
    }

    /// Whether ONNX Runtime's output buffer is wiped after each run (always,
    /// but for the forensics baseline).
    pub(crate) fn wiping_outputs(mut self, wipe: bool) -> Self {
        self.wipe_outputs = wipe;
        self
    }

    /// The similarity transform that maps this face onto the template.
    pub(crate) fn alignment(&self, face: &Detection) -> Option<Affine> {
        match self.fit {
            AlignmentFit::LeastSquares => align::similarity(&face.landmarks, &self.template),
            AlignmentFit::Lmeds => align::similarity_robust(&face.landmarks, &self.template),
        }
    }

    /// Warps the chip only (benchmark hook); false when the landmarks are degenerate.
    #[cfg(feature = "research")]
    pub(crate) fn align_only(&self, pixels: &Pixels, face: &Detection) -> bool {
        let Some(to_chip) = self.alignment(face) else {
            return false;
        };
        let (w, h) = (self.chip_w as usize, self.chip_h as usize);
        let mut chip = Secret::<f32>::zeroed(3 * w * h);
        align::warp(pixels, &to_chip, self.chip_w, self.chip_h, |u, v, rgb| {
            chip[(v * w + u) * 3..(v * w + u) * 3 + 3].copy_from_slice(&rgb);
        })
    }

    /// Aligns the face, runs the recognizer (on the chip and, with `mirror`, its
    /// mirror image) and returns the template, showing `observe` the model's
    /// input tensor (the aligned chips) and its raw output in place, just
    /// before both are wiped. `None` when the landmarks are degenerate.
    pub(crate) fn embed_observed(
        &mut self,
        pixels: &Pixels,
        face: &Detection,
        mirror: bool,
        observe: &mut dyn FnMut(&[f32], &[f32]),
    ) -> Result<Option<Template>> {
        let Some(to_chip) = self.alignment(face) else {
            return Ok(None);
        };
        let batch = if mirror { 2 } else { 1 };
        let (w, h) = (self.chip_w as usize, self.chip_h as usize);
        let plane = w * h;
        let input = self.input.fill(batch * 3 * plane);
        let order: [usize; 3] = match self.entry.input.colour {
            Colour::Rgb => [0, 1, 2],
            Colour::Bgr => [2, 1, 0],
        };
        let (mean, scale) = (self.entry.input.mean, self.entry.input.scale);
        let warped = align::warp(pixels, &to_chip, self.chip_w, self.chip_h, |u, v, rgb| {
            for (c, &src) in order.iter().enumerate() {
                let value = (rgb[src] - mean[c]) * scale[c];
                input[c * plane + v * w + u] = value;
                // The mirror image is the chip flipped about its centre column
                // (x -> width - 1 - x). Re-warping with a reflection about the
                // template's axis (x -> width - x) was tried with dlib's ResNet and
                // was no better on LFW View 1 DevTrain (FNMR at FMR 1e-3: 7.67 %
                // against 7.54 %).
                if mirror {
                    input[3 * plane + c * plane + v * w + (w - 1 - u)] = value;
                }
            }
        });
        let result = if warped { self.run(batch, observe).map(Some) } else { Ok(None) };
        // The chips are wiped on every path, an error's included.
        self.input.clear();
        result
    }

    /// Runs the recognizer on the first `batch` chips of the input buffer.
    fn run(&mut self, batch: usize, observe: &mut dyn FnMut(&[f32], &[f32])) -> Result<Template> {
        let (w, h) = (self.chip_w as usize, self.chip_h as usize);
        let input = &self.input[..batch * 3 * w * h];
        let id = self.entry.id.clone();
        let output_name = self.entry.output.as_ref().map(|o| o.name.clone()).unwrap_or_default();
        let tensor = TensorRef::from_array_view(([batch, 3, h, w], input)).map_err(|e| Error::inference(&id, e))?;
        let mut outputs = self
            .session
            .run(ort::inputs![self.entry.input.name.as_str() => tensor])
            .map_err(|e| Error::inference(&id, e))?;
        let value = outputs
            .get_mut(&output_name)
            .ok_or_else(|| Error::inference(&id, format!("output {output_name} missing")))?;
        let (_, data) = value.try_extract_tensor_mut::<f32>().map_err(|e| Error::inference(&id, e))?;
        observe(input, data);
        let template = average(data, batch, self.dims, self.metric, &self.pipeline, &id);
        // The embeddings sit in ONNX Runtime's output buffer: wipe it before it is freed.
        if self.wipe_outputs {
            crate::privacy::hardening::wipe(data);
        }
        template
    }
}

/// The template: the mean of the batch's embeddings, checked for size and finiteness.
fn average(data: &[f32], batch: usize, dims: usize, metric: Metric, pipeline: &Arc<str>, id: &str) -> Result<Template> {
    if data.len() != batch * dims {
        return Err(Error::inference(id, format!("output of {} values, expected {} x {}", data.len(), batch, dims)));
    }
    if !data.iter().all(|v| v.is_finite()) {
        return Err(Error::inference(id, "output contains non-finite values"));
    }
    let mut values = Secret::<f32>::zeroed(dims);
    for (i, v) in values.iter_mut().enumerate() {
        *v = (0..batch).map(|b| data[b * dims + i]).sum::<f32>() / batch as f32;
    }
    Ok(Template::from_embedding(values, metric, pipeline.clone()))
}
