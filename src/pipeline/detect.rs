//! Stage 2: find faces and their five landmarks with YuNet.
//!
//! The frame is written into a BGR float tensor (raw 0..255) either sized to the
//! frame (dynamic-shape model: rounded up to a multiple of 32, downscaled only if
//! the longer side exceeds the manifest's `max_side`) or letterboxed into the
//! model's fixed size. Anchors are decoded per stride, thresholded, and reduced
//! by non-maximum suppression.

use ort::session::Session;
use ort::value::TensorRef;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::input::decode::Pixels;
use crate::pipeline::models::{Colour, DetectorInputSize, DetectorSpec, ModelEntry};
use crate::privacy::secret::Scratch;

/// Most candidates kept before non-maximum suppression.
const MAX_CANDIDATES: usize = 5000;

/// One detected face, in the frame's pixel coordinates.
#[derive(Clone, Copy, PartialEq)]
pub struct Detection {
    /// Box as `[x, y, width, height]`.
    pub bbox: [f32; 4],
    /// Detector confidence in 0..1.
    pub score: f32,
    /// Image-left eye, image-right eye, nose tip, image-left and image-right mouth corner.
    pub landmarks: [[f32; 2]; 5],
}

impl std::fmt::Debug for Detection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Landmarks describe face geometry; keep them out of logs.
        f.debug_struct("Detection")
            .field("bbox", &self.bbox)
            .field("score", &self.score)
            .field("landmarks", &"<hidden>")
            .finish()
    }
}

impl zeroize::Zeroize for Detection {
    fn zeroize(&mut self) {
        self.bbox.zeroize();
        self.score.zeroize();
        self.landmarks.iter_mut().for_each(|l| l.zeroize());
    }
}

impl Detection {
    /// Square root of the box area: a size measure robust to aspect ratio.
    pub(crate) fn size(&self) -> f32 {
        (self.bbox[2].max(0.0) * self.bbox[3].max(0.0)).sqrt()
    }
}

/// Where the frame lands inside the detector's input tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct InputGeometry {
    pub(crate) tensor_w: usize,
    pub(crate) tensor_h: usize,
    /// Frame pixels times `scale` = tensor pixels.
    pub(crate) scale: f32,
    pub(crate) scaled_w: usize,
    pub(crate) scaled_h: usize,
}

pub(crate) fn geometry(size: DetectorInputSize, width: u32, height: u32) -> InputGeometry {
    let (w, h) = (width as f32, height as f32);
    let (scale, tensor_w, tensor_h) = match size {
        DetectorInputSize::Dynamic { multiple, max_side } => {
            let scale = (max_side as f32 / w.max(h)).min(1.0);
            let round_up = |v: f32| (((v.round() as u32).max(1)).div_ceil(multiple) * multiple) as usize;
            (scale, round_up(w * scale), round_up(h * scale))
        }
        DetectorInputSize::Fixed([fw, fh]) => {
            let scale = (fw as f32 / w).min(fh as f32 / h).min(1.0);
            (scale, fw as usize, fh as usize)
        }
    };
    let scaled_w = ((w * scale).round() as usize).clamp(1, tensor_w);
    let scaled_h = ((h * scale).round() as usize).clamp(1, tensor_h);
    InputGeometry { tensor_w, tensor_h, scale, scaled_w, scaled_h }
}

/// The YuNet detector with its session.
pub(crate) struct Detector {
    pub(crate) entry: ModelEntry,
    spec: DetectorSpec,
    session: Session,
    wipe_outputs: bool,
    /// The input tensor, kept (and locked) from one run to the next while
    /// frames keep their size, all zero between runs.
    input: Scratch<f32>,
}

impl Detector {
    pub(crate) fn new(entry: ModelEntry, session: Session) -> Result<Self> {
        let spec = entry.detector.clone().ok_or_else(|| Error::manifest(entry.id.clone(), "detector settings"))?;
        check_io(&entry, &session, &spec)?;
        Ok(Self { entry, spec, session, wipe_outputs: true, input: Scratch::new(0) })
    }

    /// Whether ONNX Runtime's output buffers are wiped after each run (always,
    /// but for the forensics baseline).
    pub(crate) fn wiping_outputs(mut self, wipe: bool) -> Self {
        self.wipe_outputs = wipe;
        self
    }

    /// All faces above the score threshold, after non-maximum suppression, best
    /// first. The list is wiped when dropped; so are the candidates it was chosen from.
    pub(crate) fn detect(&mut self, pixels: &Pixels) -> Result<Zeroizing<Vec<Detection>>> {
        let geo = geometry(self.spec.size, pixels.width(), pixels.height());
        let (step_x, step_y) = geo.step(pixels.width(), pixels.height());
        let to_frame = ToFrame { step_x, step_y };
        let tensor = self.input.fill(3 * geo.tensor_w * geo.tensor_h);
        fill_input(&self.entry, pixels, &geo, tensor);
        let id = self.entry.id.clone();
        let shape = [1usize, 3, geo.tensor_h, geo.tensor_w];
        let run = match TensorRef::from_array_view((shape, &self.input[..])) {
            Ok(input) => self.session.run(ort::inputs![self.entry.input.name.as_str() => input]),
            Err(e) => Err(e),
        };
        // The frame leaves the input tensor as soon as the model has run, on
        // every path; the zeroed buffer is also the letterbox of the next frame.
        self.input.clear();
        let mut outputs = run.map_err(|e| Error::inference(&id, e))?;
        // Sized once for every anchor, so pushing never reallocates (which would
        // leave copies of landmarks behind).
        let anchors: usize =
            self.spec.strides.iter().map(|&s| (geo.tensor_w / s as usize) * (geo.tensor_h / s as usize)).sum();
        let mut candidates = Zeroizing::new(Vec::with_capacity(anchors));
        let decoded = (|| -> Result<()> {
            for &stride in &self.spec.strides {
                let grid_w = geo.tensor_w / stride as usize;
                let grid_h = geo.tensor_h / stride as usize;
                let n = grid_w * grid_h;
                let get = |kind: &str, width: usize| -> Result<&[f32]> {
                    let name = format!("{kind}_{stride}");
                    let value =
                        outputs.get(&name).ok_or_else(|| Error::inference(&id, format!("output {name} missing")))?;
                    let (shape, data) = value.try_extract_tensor::<f32>().map_err(|e| Error::inference(&id, e))?;
                    if data.len() != n * width || shape.iter().product::<i64>() != (n * width) as i64 {
                        return Err(Error::inference(
                            &id,
                            format!("output {name} of {} values, expected {}", data.len(), n * width),
                        ));
                    }
                    Ok(data)
                };
                let (cls, obj, bbox, kps) = (get("cls", 1)?, get("obj", 1)?, get("bbox", 4)?, get("kps", 10)?);
                decode_stride(
                    &StrideOutputs { stride: stride as f32, grid_w, cls, obj, bbox, kps },
                    self.spec.score_threshold,
                    to_frame,
                    &mut candidates,
                );
            }
            Ok(())
        })();
        // Boxes and landmarks sit in ONNX Runtime's output buffers: wipe them
        // before ONNX Runtime frees them, whether decoding succeeded or not.
        for name in output_names(&self.spec.strides).filter(|_| self.wipe_outputs) {
            if let Some(value) = outputs.get_mut(&name) {
                if let Ok((_, data)) = value.try_extract_tensor_mut::<f32>() {
                    crate::privacy::hardening::wipe(data);
                }
            }
        }
        decoded?;
        nms(&mut candidates, self.spec.nms_iou);
        Ok(candidates)
    }
}

/// Writes the frame into a zeroed tensor in the model's channel order,
/// resizing bilinearly only when the geometry asks for it.
fn fill_input(entry: &ModelEntry, pixels: &Pixels, geo: &InputGeometry, tensor: &mut [f32]) {
    let plane = geo.tensor_w * geo.tensor_h;
    let order: [usize; 3] = match entry.input.colour {
        Colour::Rgb => [0, 1, 2],
        Colour::Bgr => [2, 1, 0],
    };
    let (mean, scale) = (entry.input.mean, entry.input.scale);
    let identity = geo.scaled_w == pixels.width() as usize && geo.scaled_h == pixels.height() as usize;
    let (sx, sy) = geo.step(pixels.width(), pixels.height());
    for y in 0..geo.scaled_h {
        for x in 0..geo.scaled_w {
            let rgb = if identity {
                let p = pixels.rgb(x as u32, y as u32);
                [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]
            } else {
                // Half-pixel centres, as common resizers use.
                sample_bilinear(pixels, (x as f32 + 0.5) * sx - 0.5, (y as f32 + 0.5) * sy - 0.5)
            };
            let at = y * geo.tensor_w + x;
            for (c, &src) in order.iter().enumerate() {
                tensor[c * plane + at] = (rgb[src] - mean[c]) * scale[c];
            }
        }
    }
}

fn output_names(strides: &[u32]) -> impl Iterator<Item = String> + '_ {
    strides.iter().flat_map(|s| ["cls", "obj", "bbox", "kps"].map(|k| format!("{k}_{s}")))
}

/// Bilinear sample with coordinates clamped to the image (for resizing).
fn sample_bilinear(pixels: &Pixels, x: f32, y: f32) -> [f32; 3] {
    let (max_x, max_y) = (pixels.width() - 1, pixels.height() - 1);
    let (x, y) = (x.max(0.0), y.max(0.0));
    // Clamp in integers: a float near 2^24 could round past the last pixel.
    let (x0, y0) = ((x.floor() as u32).min(max_x), (y.floor() as u32).min(max_y));
    let (fx, fy) = ((x - x0 as f32).clamp(0.0, 1.0), (y - y0 as f32).clamp(0.0, 1.0));
    let (x1, y1) = ((x0 + 1).min(max_x), (y0 + 1).min(max_y));
    let (a, b, c, d) = (pixels.rgb(x0, y0), pixels.rgb(x1, y0), pixels.rgb(x0, y1), pixels.rgb(x1, y1));
    let mut out = [0f32; 3];
    for i in 0..3 {
        let top = f32::from(a[i]) * (1.0 - fx) + f32::from(b[i]) * fx;
        let bottom = f32::from(c[i]) * (1.0 - fx) + f32::from(d[i]) * fx;
        out[i] = top * (1.0 - fy) + bottom * fy;
    }
    out
}

fn check_io(entry: &ModelEntry, session: &Session, spec: &DetectorSpec) -> Result<()> {
    let bad = |reason: String| Err(Error::manifest(entry.id.clone(), reason));
    if session.inputs().len() != 1 || session.inputs()[0].name() != entry.input.name {
        return bad(format!("one input named {:?}", entry.input.name));
    }
    for stride in &spec.strides {
        for kind in ["cls", "obj", "bbox", "kps"] {
            let name = format!("{kind}_{stride}");
            if !session.outputs().iter().any(|o| o.name() == name) {
                return bad(format!("an output named {name}"));
            }
        }
    }
    if let DetectorInputSize::Dynamic { multiple, .. } = spec.size {
        if let Some(&max) = spec.strides.iter().max() {
            if multiple % max != 0 {
                return bad(format!("a size multiple ({multiple}) divisible by the largest stride ({max})"));
            }
        }
    }
    Ok(())
}

/// Raw outputs of one stride, row-major over the anchor grid.
pub(crate) struct StrideOutputs<'a> {
    pub(crate) stride: f32,
    pub(crate) grid_w: usize,
    pub(crate) cls: &'a [f32],
    pub(crate) obj: &'a [f32],
    pub(crate) bbox: &'a [f32],
    pub(crate) kps: &'a [f32],
}

impl InputGeometry {
    /// Frame pixels per tensor pixel, per axis.
    fn step(&self, frame_w: u32, frame_h: u32) -> (f32, f32) {
        (frame_w as f32 / self.scaled_w as f32, frame_h as f32 / self.scaled_h as f32)
    }
}

/// Tensor-to-frame mapping: with pixel centres at half-integers, tensor
/// coordinate t maps to frame coordinate (t + 0.5) * step - 0.5, lengths scale by step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ToFrame {
    pub(crate) step_x: f32,
    pub(crate) step_y: f32,
}

impl ToFrame {
    #[cfg(test)]
    pub(crate) const IDENTITY: ToFrame = ToFrame { step_x: 1.0, step_y: 1.0 };

    fn x(&self, t: f32) -> f32 {
        (t + 0.5) * self.step_x - 0.5
    }

    fn y(&self, t: f32) -> f32 {
        (t + 0.5) * self.step_y - 0.5
    }
}

/// Turns one stride's anchors into candidate faces in frame coordinates.
pub(crate) fn decode_stride(out: &StrideOutputs<'_>, threshold: f32, to_frame: ToFrame, into: &mut Vec<Detection>) {
    let s = out.stride;
    for (i, (&cls, &obj)) in out.cls.iter().zip(out.obj).enumerate() {
        let score = (cls.clamp(0.0, 1.0) * obj.clamp(0.0, 1.0)).sqrt();
        if score.is_nan() || score < threshold {
            continue;
        }
        let (row, col) = ((i / out.grid_w) as f32, (i % out.grid_w) as f32);
        let b = &out.bbox[i * 4..i * 4 + 4];
        let k = &out.kps[i * 10..i * 10 + 10];
        let cx = (col + b[0]) * s;
        let cy = (row + b[1]) * s;
        // Bound the exponent so hostile or broken models cannot produce infinities.
        let w = b[2].clamp(-20.0, 20.0).exp() * s;
        let h = b[3].clamp(-20.0, 20.0).exp() * s;
        let mut landmarks = [[0f32; 2]; 5];
        for (j, l) in landmarks.iter_mut().enumerate() {
            *l = [to_frame.x((k[2 * j] + col) * s), to_frame.y((k[2 * j + 1] + row) * s)];
        }
        let detection = Detection {
            bbox: [to_frame.x(cx - w / 2.0), to_frame.y(cy - h / 2.0), w * to_frame.step_x, h * to_frame.step_y],
            score,
            landmarks,
        };
        let finite = detection.bbox.iter().chain(detection.landmarks.iter().flatten()).all(|v| v.is_finite());
        if finite {
            into.push(detection);
        }
    }
}

fn iou(a: &Detection, b: &Detection) -> f32 {
    let [ax, ay, aw, ah] = a.bbox;
    let [bx, by, bw, bh] = b.bbox;
    let ix = ((ax + aw).min(bx + bw) - ax.max(bx)).max(0.0);
    let iy = ((ay + ah).min(by + bh) - ay.max(by)).max(0.0);
    let inter = ix * iy;
    let union = aw * ah + bw * bh - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// Greedy non-maximum suppression, in place: survivors end up at the front,
/// best first; everything suppressed is wiped before the list is shortened.
/// (An unstable sort, because the stable one allocates a scratch copy.)
pub(crate) fn nms(candidates: &mut Vec<Detection>, iou_threshold: f32) {
    candidates.sort_unstable_by(|a, b| b.score.total_cmp(&a.score));
    let considered = candidates.len().min(MAX_CANDIDATES);
    let mut kept = 0;
    for i in 0..considered {
        let c = candidates[i];
        if candidates[..kept].iter().all(|k| iou(k, &c) <= iou_threshold) {
            candidates[kept] = c;
            kept += 1;
        }
    }
    candidates[kept..].iter_mut().for_each(Zeroize::zeroize);
    candidates.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_geometry_rounds_up_to_multiples_and_caps_the_long_side() {
        let dynamic = DetectorInputSize::Dynamic { multiple: 32, max_side: 640 };
        let g = geometry(dynamic, 250, 250);
        assert_eq!((g.tensor_w, g.tensor_h, g.scale), (256, 256, 1.0));
        let g = geometry(dynamic, 1280, 720);
        assert_eq!((g.tensor_w, g.tensor_h, g.scaled_w, g.scaled_h), (640, 384, 640, 360));
        assert!((g.scale - 0.5).abs() < 1e-6);
        // Half-pixel centres: tensor pixel 0 covers frame pixels 0 and 1, centred at 0.5.
        let (sx, sy) = g.step(1280, 720);
        let to_frame = ToFrame { step_x: sx, step_y: sy };
        assert_eq!((to_frame.x(0.0), to_frame.y(0.0)), (0.5, 0.5));
        assert_eq!(to_frame.x(-0.5), -0.5);
    }

    #[test]
    fn fixed_geometry_letterboxes_without_upscaling() {
        let fixed = DetectorInputSize::Fixed([640, 640]);
        let g = geometry(fixed, 250, 250);
        assert_eq!((g.tensor_w, g.tensor_h, g.scaled_w, g.scaled_h, g.scale), (640, 640, 250, 250, 1.0));
        let g = geometry(fixed, 1280, 960);
        assert_eq!((g.scaled_w, g.scaled_h), (640, 480));
    }

    #[test]
    fn anchor_decoding_follows_the_grid_and_stride() {
        // 2x2 grid at stride 8; only anchor (row 1, col 0) is confident.
        let cls = [0.0, 0.0, 0.81, 0.0];
        let obj = [0.0, 0.0, 1.0, 0.0];
        let mut bbox = [0f32; 16];
        bbox[8..12].copy_from_slice(&[0.5, 0.5, 0.0, (2f32).ln()]);
        let mut kps = [0f32; 40];
        kps[20] = 0.25;
        kps[21] = 0.75;
        let mut out = Vec::new();
        let outputs = StrideOutputs { stride: 8.0, grid_w: 2, cls: &cls, obj: &obj, bbox: &bbox, kps: &kps };
        decode_stride(&outputs, 0.6, ToFrame::IDENTITY, &mut out);
        assert_eq!(out.len(), 1);
        let d = out[0];
        assert!((d.score - 0.9).abs() < 1e-6);
        // Centre (0.5*8, 1.5*8) = (4, 12), size 8 x 16.
        assert_eq!(d.bbox, [0.0, 4.0, 8.0, 16.0]);
        assert_eq!(d.landmarks[0], [2.0, 14.0]);
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let face = |x: f32, score: f32| Detection { bbox: [x, 0.0, 10.0, 10.0], score, landmarks: [[0.0; 2]; 5] };
        let mut kept = vec![face(0.0, 0.7), face(1.0, 0.9), face(50.0, 0.8)];
        nms(&mut kept, 0.3);
        assert_eq!(kept.iter().map(|d| d.score).collect::<Vec<_>>(), vec![0.9, 0.8]);
        assert_eq!(kept[1].bbox[0], 50.0);
    }
}
