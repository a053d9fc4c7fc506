//! Presentation-attack detection (PAD): is the camera seeing a live face, or
//! a printed photo or a screen?
//!
//! Runs on live frames only, never on the card photo. Each PAD model (from
//! the manifest, role `pad`) looks at a crop around the detected face, scaled
//! about the face box's centre by the model's `crop_scale` and kept inside the
//! image, resized to its input size; its softmax output gives the probability
//! of a live face at `live_index`. The models' probabilities are averaged
//! into one liveness score in 0..1; a session averages it again over the
//! frames of an attempt. A score below the calibrated threshold means a
//! presentation attack is suspected.

use crate::error::{Error, Result};
use crate::input::decode::Pixels;
use crate::pipeline::detect::Detection;
use crate::pipeline::models::{Colour, ModelEntry, PadSpec};
use crate::privacy::secret::Scratch;
use ort::session::Session;
use ort::value::TensorRef;

/// One PAD model, with its reused input tensor.
pub(crate) struct PadModel {
    entry: ModelEntry,
    spec: PadSpec,
    session: Session,
    size: (usize, usize),
    output: String,
    input: Scratch<f32>,
    wipe_outputs: bool,
}

impl PadModel {
    pub(crate) fn new(entry: ModelEntry, session: Session) -> Result<Self> {
        let bad = |reason: String| Error::manifest(entry.id.clone(), reason);
        let spec = entry.pad.ok_or_else(|| bad("PAD settings (crop_scale, live_index, classes)".into()))?;
        let output = entry.output.clone().ok_or_else(|| bad("an output".into()))?;
        if session.inputs().len() != 1 || session.inputs()[0].name() != entry.input.name {
            return Err(bad(format!("one input named {:?}", entry.input.name)));
        }
        if !session.outputs().iter().any(|o| o.name() == output.name) {
            return Err(bad(format!("an output named {:?}", output.name)));
        }
        let [_, _, h, w] = entry.input.shape;
        if !(8..=512).contains(&h) || !(8..=512).contains(&w) {
            return Err(bad(format!("a fixed input size between 8 and 512, got {w}x{h}")));
        }
        let size = (w as usize, h as usize);
        Ok(Self {
            spec,
            session,
            size,
            output: output.name,
            input: Scratch::new(3 * size.0 * size.1),
            entry,
            wipe_outputs: true,
        })
    }

    pub(crate) fn wiping_outputs(mut self, wipe: bool) -> Self {
        self.wipe_outputs = wipe;
        self
    }

    /// The live-face probability for `face` in `pixels`.
    pub(crate) fn live_probability(&mut self, pixels: &Pixels, face: &Detection) -> Result<f32> {
        self.live_probability_observed(pixels, face, &mut |_| {})
    }

    /// As `live_probability`, showing `observe` the model's input tensor (the
    /// face crop) in place after the run, just before it is wiped.
    pub(crate) fn live_probability_observed(
        &mut self,
        pixels: &Pixels,
        face: &Detection,
        observe: &mut dyn FnMut(&[f32]),
    ) -> Result<f32> {
        let (w, h) = self.size;
        let plane = w * h;
        let region = crop_region(face.bbox, pixels.width(), pixels.height(), self.spec.crop_scale);
        let order: [usize; 3] = match self.entry.input.colour {
            Colour::Rgb => [0, 1, 2],
            Colour::Bgr => [2, 1, 0],
        };
        let (mean, scale) = (self.entry.input.mean, self.entry.input.scale);
        let input = self.input.fill(3 * plane);
        resize_into(pixels, region, w, h, |u, v, rgb| {
            for (c, &src) in order.iter().enumerate() {
                input[c * plane + v * w + u] = (rgb[src] - mean[c]) * scale[c];
            }
        });
        let result = self.run();
        observe(&self.input[..3 * plane]);
        // The crop is wiped on every path, an error's included.
        self.input.clear();
        result
    }

    fn run(&mut self) -> Result<f32> {
        let (w, h) = self.size;
        let id = self.entry.id.clone();
        let tensor = TensorRef::from_array_view(([1, 3, h, w], &self.input[..3 * w * h]))
            .map_err(|e| Error::inference(&id, e))?;
        let mut outputs = self
            .session
            .run(ort::inputs![self.entry.input.name.as_str() => tensor])
            .map_err(|e| Error::inference(&id, e))?;
        let value = outputs
            .get_mut(&self.output)
            .ok_or_else(|| Error::inference(&id, format!("output {} missing", self.output)))?;
        let (_, data) = value.try_extract_tensor_mut::<f32>().map_err(|e| Error::inference(&id, e))?;
        let result = live_from_output(data, self.spec).map_err(|reason| Error::inference(&id, reason));
        if self.wipe_outputs {
            crate::privacy::hardening::wipe(data);
        }
        result
    }
}

/// The live probability from one output row: the values are used as
/// probabilities when they already sum to 1 (softmax in the graph), else
/// softmax is applied.
fn live_from_output(data: &[f32], spec: PadSpec) -> std::result::Result<f32, String> {
    if data.len() != spec.classes || spec.live_index >= spec.classes {
        return Err(format!("an output of {} classes, got {} values", spec.classes, data.len()));
    }
    if !data.iter().all(|v| v.is_finite()) {
        return Err("an output without non-finite values".into());
    }
    let sum: f32 = data.iter().sum();
    let probability = if data.iter().all(|&v| (0.0..=1.0).contains(&v)) && (sum - 1.0).abs() < 1e-3 {
        data[spec.live_index]
    } else {
        let max = data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: f32 = data.iter().map(|v| (v - max).exp()).sum();
        (data[spec.live_index] - max).exp() / exp
    };
    Ok(probability.clamp(0.0, 1.0))
}

/// The crop: the face box scaled about its centre by `scale` (less when the
/// scaled box would not fit the image), then shifted to lie inside the image.
/// Returns `[left, top, right, bottom]`, inclusive pixel coordinates.
pub(crate) fn crop_region(bbox: [f32; 4], width: u32, height: u32, scale: f32) -> [f32; 4] {
    let (iw, ih) = (width.max(1) as f32, height.max(1) as f32);
    let (bw, bh) = (bbox[2].max(1.0), bbox[3].max(1.0));
    let scale = scale.min((ih - 1.0).max(1.0) / bh).min((iw - 1.0).max(1.0) / bw);
    let (nw, nh) = (bw * scale, bh * scale);
    let (cx, cy) = (bbox[0] + bw / 2.0, bbox[1] + bh / 2.0);
    let (mut l, mut t, mut r, mut b) = (cx - nw / 2.0, cy - nh / 2.0, cx + nw / 2.0, cy + nh / 2.0);
    if l < 0.0 {
        r -= l;
        l = 0.0;
    }
    if t < 0.0 {
        b -= t;
        t = 0.0;
    }
    if r > iw - 1.0 {
        l -= r - (iw - 1.0);
        r = iw - 1.0;
    }
    if b > ih - 1.0 {
        t -= b - (ih - 1.0);
        b = ih - 1.0;
    }
    [l.max(0.0), t.max(0.0), r.max(0.0), b.max(0.0)]
}

/// Bilinear resize of `region` (inclusive integer bounds, as cropping an
/// image array would take them) to `w` x `h`, pixel centres aligned; calls
/// `put(u, v, rgb)` per output pixel.
fn resize_into(pixels: &Pixels, region: [f32; 4], w: usize, h: usize, mut put: impl FnMut(usize, usize, [f32; 3])) {
    let (x0, y0) = (region[0].floor() as i64, region[1].floor() as i64);
    let (x1, y1) = (region[2].floor() as i64, region[3].floor() as i64);
    let (cw, ch) = ((x1 - x0 + 1).max(1) as f32, (y1 - y0 + 1).max(1) as f32);
    let (maxx, maxy) = (pixels.width() as i64 - 1, pixels.height() as i64 - 1);
    let at = |x: i64, y: i64| pixels.rgb(x.clamp(0, maxx) as u32, y.clamp(0, maxy) as u32);
    for v in 0..h {
        let sy = ((v as f32 + 0.5) * ch / h as f32 - 0.5).clamp(0.0, ch - 1.0);
        let (fy, ty) = (sy.floor(), sy - sy.floor());
        for u in 0..w {
            let sx = ((u as f32 + 0.5) * cw / w as f32 - 0.5).clamp(0.0, cw - 1.0);
            let (fx, tx) = (sx.floor(), sx - sx.floor());
            let (px, py) = (x0 + fx as i64, y0 + fy as i64);
            let (p00, p10, p01, p11) = (at(px, py), at(px + 1, py), at(px, py + 1), at(px + 1, py + 1));
            let mut rgb = [0f32; 3];
            for c in 0..3 {
                let top = f32::from(p00[c]) * (1.0 - tx) + f32::from(p10[c]) * tx;
                let bottom = f32::from(p01[c]) * (1.0 - tx) + f32::from(p11[c]) * tx;
                rgb[c] = top * (1.0 - ty) + bottom * ty;
            }
            put(u, v, rgb);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crop_is_scaled_about_the_centre_and_kept_inside_the_image() {
        // A 100x100 box in the middle of a 1000x1000 image, scaled 2.7.
        let r = crop_region([450.0, 450.0, 100.0, 100.0], 1000, 1000, 2.7);
        assert_eq!(r, [365.0, 365.0, 635.0, 635.0]);
        // Near the top-left corner: shifted right and down, same size.
        let r = crop_region([0.0, 10.0, 100.0, 100.0], 1000, 1000, 2.7);
        assert_eq!(r, [0.0, 0.0, 270.0, 270.0]);
        // A box too large to scale 4x: the scale shrinks to fit the image.
        let r = crop_region([50.0, 50.0, 100.0, 100.0], 250, 250, 4.0);
        assert!((r[2] - r[0] - 249.0).abs() < 1e-3 && r[0] >= 0.0 && r[2] <= 249.0, "{r:?}");
    }

    #[test]
    fn probabilities_and_logits_both_give_the_live_probability() {
        let spec = PadSpec { crop_scale: 2.7, live_index: 1, classes: 3 };
        assert_eq!(live_from_output(&[0.1, 0.7, 0.2], spec).unwrap(), 0.7);
        let p = live_from_output(&[0.0, 2.0, 0.0], spec).unwrap();
        assert!((p - 2f32.exp() / (2.0 + 2f32.exp())).abs() < 1e-6, "{p}");
        assert!(live_from_output(&[0.1, 0.9], spec).is_err());
        assert!(live_from_output(&[0.1, f32::NAN, 0.2], spec).is_err());
    }
}
