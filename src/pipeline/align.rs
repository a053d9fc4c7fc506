//! Stage 3: map the five landmarks onto the recognizer's template with a
//! least-squares similarity transform (rotation, uniform scale, translation)
//! and warp the face into a chip of the template's size.

use crate::input::decode::Pixels;

/// A 2x3 affine map `[a b c; d e f]` from image to chip coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Affine(pub [[f32; 3]; 2]);

impl Affine {
    fn inverse(&self) -> Option<Affine> {
        let [[a, b, c], [d, e, f]] = self.0;
        let det = a * e - b * d;
        if det.abs() < 1e-12 || !det.is_finite() {
            return None;
        }
        let (ia, ib, id, ie) = (e / det, -b / det, -d / det, a / det);
        Some(Affine([[ia, ib, -(ia * c + ib * f)], [id, ie, -(id * c + ie * f)]]))
    }

    fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let [[a, b, c], [d, e, f]] = self.0;
        (a * x + b * y + c, d * x + e * y + f)
    }
}

/// Least-squares similarity transform taking `src` points onto `dst` points
/// (Umeyama's method restricted to 2-D without reflection). `None` when the
/// source points are degenerate (all in one place).
pub(crate) fn similarity(src: &[[f32; 2]; 5], dst: &[[f32; 2]; 5]) -> Option<Affine> {
    fit(src, dst)
}

/// Robust similarity: the exact two-point fit with the least median of squared
/// residuals over all ten landmark pairs (LMedS) picks the inliers, and a
/// least-squares fit on those inliers gives the transform. One landmark placed
/// badly (an occluded mouth corner, say) then no longer drags the chip.
pub(crate) fn similarity_robust(src: &[[f32; 2]; 5], dst: &[[f32; 2]; 5]) -> Option<Affine> {
    let mut best: Option<(f64, Affine)> = None;
    for i in 0..5 {
        for j in i + 1..5 {
            let Some(m) = fit(&[src[i], src[j]], &[dst[i], dst[j]]) else {
                continue;
            };
            let mut errors = residuals(&m, src, dst);
            errors.sort_by(f64::total_cmp);
            let median = errors[2];
            if best.as_ref().is_none_or(|(b, _)| median < *b) {
                best = Some((median, m));
            }
        }
    }
    let (median, model) = best?;
    // Inlier bound as in the usual LMedS formulation: 2.5 robust standard
    // deviations, with the small-sample correction for 5 points and 2 per model.
    let sigma = (2.5 * 1.4826 * (1.0 + 5.0 / 3.0) * median.sqrt()).max(0.001);
    let errors = residuals(&model, src, dst);
    let (mut s, mut d) = (Vec::with_capacity(5), Vec::with_capacity(5));
    for k in 0..5 {
        if errors[k] <= sigma * sigma {
            s.push(src[k]);
            d.push(dst[k]);
        }
    }
    if s.len() < 2 {
        return Some(model);
    }
    fit(&s, &d)
}

fn residuals(m: &Affine, src: &[[f32; 2]; 5], dst: &[[f32; 2]; 5]) -> [f64; 5] {
    let mut out = [0f64; 5];
    for (k, (p, q)) in src.iter().zip(dst).enumerate() {
        let (x, y) = m.apply(p[0], p[1]);
        out[k] = f64::from(x - q[0]).powi(2) + f64::from(y - q[1]).powi(2);
    }
    out
}

fn fit(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Option<Affine> {
    let n = src.len() as f64;
    let mean = |pts: &[[f32; 2]]| {
        let (sx, sy) = pts.iter().fold((0f64, 0f64), |(x, y), p| (x + f64::from(p[0]), y + f64::from(p[1])));
        (sx / n, sy / n)
    };
    let (smx, smy) = mean(src);
    let (dmx, dmy) = mean(dst);
    // With centred points p (source) and q (destination), the best rotation-scale
    // [a -b; b a] minimises sum |[a -b; b a] p - q|^2, giving
    // a = sum(p.q) / sum|p|^2 and b = sum(p x q) / sum|p|^2.
    let (mut dot, mut cross, mut norm) = (0f64, 0f64, 0f64);
    for (p, q) in src.iter().zip(dst) {
        let (px, py) = (f64::from(p[0]) - smx, f64::from(p[1]) - smy);
        let (qx, qy) = (f64::from(q[0]) - dmx, f64::from(q[1]) - dmy);
        dot += px * qx + py * qy;
        cross += px * qy - py * qx;
        norm += px * px + py * py;
    }
    if norm < 1e-9 || !norm.is_finite() {
        return None;
    }
    let (a, b) = (dot / norm, cross / norm);
    let tx = dmx - (a * smx - b * smy);
    let ty = dmy - (b * smx + a * smy);
    Some(Affine([[a as f32, -b as f32, tx as f32], [b as f32, a as f32, ty as f32]]))
}

/// Warps `pixels` through `to_chip` into a `width` x `height` chip, calling
/// `put(x, y, rgb)` once per chip pixel. Bilinear interpolation; neighbours that
/// fall outside the image count as black. Returns false if `to_chip` cannot be
/// inverted.
pub(crate) fn warp(
    pixels: &Pixels,
    to_chip: &Affine,
    width: u32,
    height: u32,
    mut put: impl FnMut(usize, usize, [f32; 3]),
) -> bool {
    let Some(to_image) = to_chip.inverse() else { return false };
    let [[a, b, c], [d, e, f]] = to_image.0;
    let (w, h) = (pixels.width() as i64, pixels.height() as i64);
    let data = pixels.data();
    let stride = w as usize * 3;
    // Neighbours outside the image count as black (constant border).
    let fetch = |x: i64, y: i64| -> [f32; 3] {
        if x < 0 || y < 0 || x >= w || y >= h {
            [0.0; 3]
        } else {
            let i = y as usize * stride + x as usize * 3;
            [f32::from(data[i]), f32::from(data[i + 1]), f32::from(data[i + 2])]
        }
    };
    for v in 0..height as usize {
        let (row_x, row_y) = (b * v as f32 + c, e * v as f32 + f);
        for u in 0..width as usize {
            let (x, y) = (a * u as f32 + row_x, d * u as f32 + row_y);
            let mut rgb = [0f32; 3];
            if x > -1.0 && y > -1.0 && x < w as f32 && y < h as f32 {
                let (x0, y0) = (x.floor(), y.floor());
                let (fx, fy) = (x - x0, y - y0);
                let (x0, y0) = (x0 as i64, y0 as i64);
                if x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h {
                    // Interior: all four neighbours exist; read them in place.
                    let i = y0 as usize * stride + x0 as usize * 3;
                    let (top, bottom) = (&data[i..i + 6], &data[i + stride..i + stride + 6]);
                    for k in 0..3 {
                        let t = f32::from(top[k]) + (f32::from(top[k + 3]) - f32::from(top[k])) * fx;
                        let m = f32::from(bottom[k]) + (f32::from(bottom[k + 3]) - f32::from(bottom[k])) * fx;
                        rgb[k] = t + (m - t) * fy;
                    }
                } else {
                    let (p, q, r, s) = (fetch(x0, y0), fetch(x0 + 1, y0), fetch(x0, y0 + 1), fetch(x0 + 1, y0 + 1));
                    for k in 0..3 {
                        let t = p[k] * (1.0 - fx) + q[k] * fx;
                        let m = r[k] * (1.0 - fx) + s[k] * fx;
                        rgb[k] = t * (1.0 - fy) + m * fy;
                    }
                }
            }
            put(u, v, rgb);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: [[f32; 2]; 5] = [[45.63, 48.29], [104.37, 48.29], [75.0, 79.82], [48.4, 101.78], [101.6, 101.78]];

    #[test]
    fn recovers_a_known_similarity_exactly() {
        // Rotate by 20 degrees, scale 1.7, shift (12, -30).
        let (s, t) = (1.7f32 * 20f32.to_radians().cos(), 1.7f32 * 20f32.to_radians().sin());
        let truth = Affine([[s, -t, 12.0], [t, s, -30.0]]);
        let moved = TEMPLATE.map(|[x, y]| {
            let (u, v) = truth.apply(x, y);
            [u, v]
        });
        let fit = similarity(&TEMPLATE, &moved).unwrap();
        for r in 0..2 {
            for c in 0..3 {
                assert!((fit.0[r][c] - truth.0[r][c]).abs() < 1e-3, "{fit:?} vs {truth:?}");
            }
        }
    }

    #[test]
    fn degenerate_landmarks_give_no_transform() {
        assert!(similarity(&[[3.0, 3.0]; 5], &TEMPLATE).is_none());
    }

    #[test]
    fn warp_interpolates_inside_and_fades_to_black_at_the_border() {
        // 2x2 image: grey levels 0, 100 / 200, 300 clipped to 255 in red only.
        let data = vec![0, 0, 0, 100, 0, 0, 200, 0, 0, 250, 0, 0];
        let pixels = Pixels::new(2, 2, data).unwrap();
        // Chip pixel (u, v) samples image (u / 2, v / 2): a 2x upscale.
        let half = Affine([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]);
        let mut chip = [[0f32; 4]; 4];
        assert!(warp(&pixels, &half, 4, 4, |u, v, rgb| chip[v][u] = rgb[0]));
        assert_eq!(chip[0][0], 0.0);
        assert!((chip[0][1] - 50.0).abs() < 1e-4); // halfway between 0 and 100
        assert!((chip[1][1] - 137.5).abs() < 1e-4); // centre of all four
        assert!((chip[0][3] - 50.0).abs() < 1e-4); // x = 1.5: half of 100, half of the black border
    }

    #[test]
    fn inverse_round_trips() {
        let m = Affine([[1.2, -0.1, 5.0], [0.1, 1.2, -7.0]]);
        let inv = m.inverse().unwrap();
        let (x, y) = m.apply(10.0, 20.0);
        let (bx, by) = inv.apply(x, y);
        assert!((bx - 10.0).abs() < 1e-4 && (by - 20.0).abs() < 1e-4);
    }
}
