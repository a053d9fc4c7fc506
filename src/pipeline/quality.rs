//! The quality gate: is this live frame worth comparing, and if not, what
//! should the person do?
//!
//! Measured on the subject face the engine would compare (ISO/IEC 29794-5
//! components that need no extra model):
//!
//! - **size**: inter-eye distance in pixels;
//! - **pose**: roll from the eye line, yaw from where the nose tip sits between
//!   the eyes and the mouth (an estimate from five landmarks, not a 3-D fit);
//! - **sharpness**: variance of the Laplacian of the face, resampled to a fixed
//!   size so that it does not depend on the face's size, divided by the
//!   face's intensity variance so that it does not depend on its contrast;
//! - **exposure**: mean luminance of the inner face;
//! - **number of faces**: as the engine chooses its subject
//!   ([`COMPARABLE_FACE_RATIO`](crate::engine::COMPARABLE_FACE_RATIO)).
//!
//! Each failed check is a [`QualityIssue`] with a [`Guidance`] code a terminal
//! can show. The grey face crop the measures are taken on is biometric data:
//! it lives in a wiped buffer and only the scalar measures leave this module.

use crate::input::decode::Pixels;
use crate::pipeline::detect::Detection;
use crate::privacy::secret::Secret;

/// Side of the square the face is resampled to for the sharpness measure.
const SHARPNESS_SIDE: usize = 64;

/// Why a frame is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum QualityIssue {
    /// No face in the frame.
    NoFace,
    /// Two or more comparable faces; the subject is ambiguous.
    MultipleFaces,
    /// The face is too small (too far from the camera).
    TooSmall,
    /// The face is turned or tilted away from the camera.
    NotFacingCamera,
    /// The face is blurred (motion or focus).
    Blurred,
    /// The face is too dark.
    TooDark,
    /// The face is too bright (washed out).
    TooBright,
}

impl QualityIssue {
    /// Every issue, in the order the gate reports them.
    pub const ALL: [QualityIssue; 7] = [
        QualityIssue::NoFace,
        QualityIssue::MultipleFaces,
        QualityIssue::TooSmall,
        QualityIssue::NotFacingCamera,
        QualityIssue::Blurred,
        QualityIssue::TooDark,
        QualityIssue::TooBright,
    ];

    /// A stable machine-readable code (`too_small`, `blurred`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            QualityIssue::NoFace => "no_face",
            QualityIssue::MultipleFaces => "multiple_faces",
            QualityIssue::TooSmall => "too_small",
            QualityIssue::NotFacingCamera => "not_facing_camera",
            QualityIssue::Blurred => "blurred",
            QualityIssue::TooDark => "too_dark",
            QualityIssue::TooBright => "too_bright",
        }
    }

    /// What the person can do about it.
    pub fn guidance(&self) -> Guidance {
        match self {
            QualityIssue::NoFace => Guidance::StepIntoView,
            QualityIssue::MultipleFaces => Guidance::OnePersonOnly,
            QualityIssue::TooSmall => Guidance::MoveCloser,
            QualityIssue::NotFacingCamera => Guidance::LookAtCamera,
            QualityIssue::Blurred => Guidance::HoldStill,
            QualityIssue::TooDark => Guidance::MoreLight,
            QualityIssue::TooBright => Guidance::LessLight,
        }
    }
}

/// An instruction a terminal can show (in its own words and language; the
/// [`Guidance::message`] text is a plain English default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Guidance {
    /// Come in front of the camera.
    StepIntoView,
    /// Only the person being checked should be in view.
    OnePersonOnly,
    /// Come closer to the camera.
    MoveCloser,
    /// Face the camera, head upright.
    LookAtCamera,
    /// Hold still.
    HoldStill,
    /// The face is in shadow: more light needed.
    MoreLight,
    /// Too much light on the face (or behind the camera).
    LessLight,
}

impl Guidance {
    /// A stable machine-readable code (`move_closer`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Guidance::StepIntoView => "step_into_view",
            Guidance::OnePersonOnly => "one_person_only",
            Guidance::MoveCloser => "move_closer",
            Guidance::LookAtCamera => "look_at_camera",
            Guidance::HoldStill => "hold_still",
            Guidance::MoreLight => "more_light",
            Guidance::LessLight => "less_light",
        }
    }

    /// A short English instruction.
    pub fn message(&self) -> &'static str {
        match self {
            Guidance::StepIntoView => "Please stand in front of the camera.",
            Guidance::OnePersonOnly => "Only the person being checked, please.",
            Guidance::MoveCloser => "Please move closer.",
            Guidance::LookAtCamera => "Please look straight at the camera.",
            Guidance::HoldStill => "Please hold still.",
            Guidance::MoreLight => "Your face is too dark: more light, please.",
            Guidance::LessLight => "Too much light on your face.",
        }
    }
}

/// Thresholds of the quality gate. The defaults are justified in
/// `docs/counter-sessions.md`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityGate {
    /// Least inter-eye distance, pixels (default 25).
    pub min_inter_eye_px: f32,
    /// Largest estimated yaw, degrees (default 30).
    pub max_yaw_deg: f32,
    /// Largest roll (eye-line tilt), degrees (default 10; see below).
    pub max_roll_deg: f32,
    /// Least normalised Laplacian variance (default 0.06).
    pub min_sharpness: f32,
    /// Least mean luminance of the inner face, 0..255 (default 50).
    pub min_brightness: f32,
    /// Largest mean luminance of the inner face, 0..255 (default 215).
    pub max_brightness: f32,
}

impl Default for QualityGate {
    fn default() -> Self {
        Self {
            min_inter_eye_px: 25.0,
            max_yaw_deg: 30.0,
            max_roll_deg: 10.0,
            min_sharpness: 0.06,
            min_brightness: 50.0,
            max_brightness: 215.0,
        }
    }
}

/// The measures of one subject face. Scalars only: no pixel, no landmark.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct FaceMeasures {
    /// Distance between the eye centres, pixels.
    pub inter_eye_px: f32,
    /// Estimated yaw, degrees (sign: towards the image-right).
    pub yaw_deg: f32,
    /// Eye-line tilt, degrees.
    pub roll_deg: f32,
    /// Laplacian variance over intensity variance, on the face resampled to 64x64.
    pub sharpness: f32,
    /// Mean luminance of the inner face, 0..255.
    pub brightness: f32,
    /// Detector confidence.
    pub detector_score: f32,
}

/// The gate's verdict on one frame.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FrameQuality {
    /// The subject face's measures, when there is one subject face.
    pub measures: Option<FaceMeasures>,
    /// Every failed check, in [`QualityIssue::ALL`] order; empty when usable.
    pub issues: Vec<QualityIssue>,
    /// A weight in (0, 1] for fusing this frame's template with others
    /// (0 when unusable): larger, more frontal, sharper faces weigh more.
    pub weight: f32,
}

impl FrameQuality {
    /// True when no check failed.
    pub fn is_usable(&self) -> bool {
        self.issues.is_empty()
    }

    /// The one thing to tell the person first, if anything.
    pub fn guidance(&self) -> Option<Guidance> {
        self.issues.first().map(QualityIssue::guidance)
    }

    pub(crate) fn without_face(issue: QualityIssue) -> Self {
        Self { measures: None, issues: vec![issue], weight: 0.0 }
    }
}

impl QualityGate {
    /// Measures `face` in `pixels` and applies the thresholds. A face whose
    /// box or landmarks are not finite, or whose measures come out
    /// non-finite, is no usable face (the detector drops such detections; the
    /// gate does not rely on it).
    pub(crate) fn assess(&self, pixels: &Pixels, face: &Detection) -> FrameQuality {
        let finite = face.bbox.iter().chain(face.landmarks.iter().flatten()).all(|v| v.is_finite());
        if !finite || face.bbox[2] <= 0.0 || face.bbox[3] <= 0.0 {
            return FrameQuality::without_face(QualityIssue::NoFace);
        }
        let m = measure(pixels, face);
        let values = [m.inter_eye_px, m.yaw_deg, m.roll_deg, m.sharpness, m.brightness, m.detector_score];
        if !values.iter().all(|v| v.is_finite()) {
            return FrameQuality::without_face(QualityIssue::NoFace);
        }
        let mut issues = Vec::new();
        if m.inter_eye_px < self.min_inter_eye_px {
            issues.push(QualityIssue::TooSmall);
        }
        if m.yaw_deg.abs() > self.max_yaw_deg || m.roll_deg.abs() > self.max_roll_deg {
            issues.push(QualityIssue::NotFacingCamera);
        }
        if m.sharpness < self.min_sharpness {
            issues.push(QualityIssue::Blurred);
        }
        if m.brightness < self.min_brightness {
            issues.push(QualityIssue::TooDark);
        }
        if m.brightness > self.max_brightness {
            issues.push(QualityIssue::TooBright);
        }
        let weight = if issues.is_empty() { self.weight(&m) } else { 0.0 };
        FrameQuality { measures: Some(m), issues, weight }
    }

    /// Fusion weight of a usable face: each factor is 1 at twice its
    /// threshold's margin and falls towards the threshold, never to 0.
    fn weight(&self, m: &FaceMeasures) -> f32 {
        let size = (m.inter_eye_px / (2.0 * self.min_inter_eye_px)).clamp(0.5, 1.0);
        let pose = (m.yaw_deg.to_radians().cos() * m.roll_deg.to_radians().cos()).clamp(0.5, 1.0);
        let sharp = (m.sharpness / (2.0 * self.min_sharpness)).clamp(0.5, 1.0);
        let detector = m.detector_score.clamp(0.5, 1.0);
        size * pose * sharp * detector
    }
}

/// Depth of the nose tip in front of the eyes, in inter-eye distances, for
/// turning the nose's sideways offset into a yaw angle.
const NOSE_DEPTH: f32 = 0.55;

fn measure(pixels: &Pixels, face: &Detection) -> FaceMeasures {
    let [le, re, nose, lm, rm] = face.landmarks;
    let (dx, dy) = (re[0] - le[0], re[1] - le[1]);
    let inter_eye = (dx * dx + dy * dy).sqrt();
    let roll = dy.atan2(dx).to_degrees();
    // The nose tip's offset from the face's midline (halfway between the eye
    // centre and the mouth centre), along the eye line, in eye distances.
    let mid = [(le[0] + re[0] + (lm[0] + rm[0])) / 4.0, (le[1] + re[1] + (lm[1] + rm[1])) / 4.0];
    let along = if inter_eye > 0.0 {
        ((nose[0] - mid[0]) * dx + (nose[1] - mid[1]) * dy) / (inter_eye * inter_eye)
    } else {
        0.0
    };
    let yaw = along.atan2(NOSE_DEPTH).to_degrees();
    let (sharpness, brightness) = texture(pixels, face);
    FaceMeasures {
        inter_eye_px: inter_eye,
        yaw_deg: yaw,
        roll_deg: roll,
        sharpness,
        brightness,
        detector_score: face.score,
    }
}

/// Sharpness and inner-face brightness, from a grey 64x64 resampling of the box.
fn texture(pixels: &Pixels, face: &Detection) -> (f32, f32) {
    let (w, h) = (pixels.width() as f32, pixels.height() as f32);
    let x0 = face.bbox[0].clamp(0.0, w - 1.0);
    let y0 = face.bbox[1].clamp(0.0, h - 1.0);
    let x1 = (face.bbox[0] + face.bbox[2]).clamp(x0 + 1.0, w);
    let y1 = (face.bbox[1] + face.bbox[3]).clamp(y0 + 1.0, h);
    let n = SHARPNESS_SIDE;
    let mut grey: Secret<f32> = Secret::zeroed(n * n);
    let (sx, sy) = ((x1 - x0) / n as f32, (y1 - y0) / n as f32);
    // Box-filter each output cell over the source pixels it covers (area
    // sampling when shrinking, nearest pixel when enlarging).
    for j in 0..n {
        let ya = (y0 + j as f32 * sy) as u32;
        let yb = ((y0 + (j + 1) as f32 * sy) as u32).max(ya + 1).min(pixels.height());
        for i in 0..n {
            let xa = (x0 + i as f32 * sx) as u32;
            let xb = ((x0 + (i + 1) as f32 * sx) as u32).max(xa + 1).min(pixels.width());
            let (mut sum, mut count) = (0.0f32, 0u32);
            for y in ya..yb {
                for x in xa..xb {
                    let [r, g, b] = pixels.rgb(x, y);
                    sum += 0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b);
                    count += 1;
                }
            }
            grey[j * n + i] = sum / count.max(1) as f32;
        }
    }
    let mean = grey.iter().sum::<f32>() / (n * n) as f32;
    let var = grey.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / (n * n) as f32;
    let mut lap: Secret<f32> = Secret::zeroed((n - 2) * (n - 2));
    for y in 1..n - 1 {
        for x in 1..n - 1 {
            let c = grey[y * n + x];
            lap[(y - 1) * (n - 2) + x - 1] =
                grey[(y - 1) * n + x] + grey[(y + 1) * n + x] + grey[y * n + x - 1] + grey[y * n + x + 1] - 4.0 * c;
        }
    }
    let lmean = lap.iter().sum::<f32>() / lap.len() as f32;
    let lvar = lap.iter().map(|v| (v - lmean).powi(2)).sum::<f32>() / lap.len() as f32;
    // Inner face: the middle half of the box, away from hair and background.
    let (a, b) = (n / 4, 3 * n / 4);
    let inner: f32 = (a..b).flat_map(|y| (a..b).map(move |x| (y, x))).map(|(y, x)| grey[y * n + x]).sum();
    let brightness = inner / ((b - a) * (b - a)) as f32;
    (lvar / (var + 1.0), brightness)
}
