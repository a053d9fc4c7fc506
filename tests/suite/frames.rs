//! Live frames built from real faces to trigger each quality problem, and
//! frame sources for session tests.

use std::collections::VecDeque;
use std::path::Path;

use honnin::counter::FrameSource;
use honnin::error::CameraError;
use honnin::{Error, LiveFrame};
use image::{imageops, Rgb, RgbImage};

use crate::common;

/// An image file upright as its EXIF orientation says (several spoof
/// samples store rotated pixels), cropped about its centre to `crop` of its
/// size and its levels scaled by `gain`: one frame of a camera held on it.
pub fn camera_view(path: &Path, crop: f32, gain: f32) -> RgbImage {
    use image::ImageDecoder;
    let mut decoder = image::ImageReader::open(path).unwrap().with_guessed_format().unwrap().into_decoder().unwrap();
    let orientation = decoder.orientation().unwrap();
    let mut image = image::DynamicImage::from_decoder(decoder).unwrap();
    image.apply_orientation(orientation);
    let image = image.to_rgb8();
    let (w, h) = image.dimensions();
    let (cw, ch) = ((w as f32 * crop) as u32, (h as f32 * crop) as u32);
    let mut cropped = imageops::crop_imm(&image, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image();
    cropped.pixels_mut().for_each(|p| p.0 = p.0.map(|v| (f32::from(v) * gain).min(255.0) as u8));
    cropped
}

/// An LFW image as RGB.
pub fn lfw_rgb(relative: &str) -> RgbImage {
    image::open(common::lfw_image(relative)).unwrap_or_else(|e| panic!("{relative}: {e}")).to_rgb8()
}

pub fn frame(img: &RgbImage) -> LiveFrame {
    LiveFrame::from_rgb(img.width(), img.height(), img.as_raw().clone()).expect("valid RGB frame")
}

/// Shrunk to `factor` of its size: the face as seen from further away.
pub fn downscaled(img: &RgbImage, factor: f32) -> RgbImage {
    let (w, h) = ((img.width() as f32 * factor) as u32, (img.height() as f32 * factor) as u32);
    imageops::resize(img, w, h, imageops::FilterType::Triangle)
}

/// Gaussian blur of `sigma` pixels: focus or motion blur.
pub fn blurred(img: &RgbImage, sigma: f32) -> RgbImage {
    imageops::blur(img, sigma)
}

/// Every level multiplied by `gain` (clipped): under- or over-exposure.
pub fn exposed(img: &RgbImage, gain: f32) -> RgbImage {
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        Rgb(img.get_pixel(x, y).0.map(|v| (f32::from(v) * gain).round().min(255.0) as u8))
    })
}

/// Rotated by `degrees` about the centre (bilinear, black corners): a tilted head.
pub fn rotated(img: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cos, sin) = (degrees.to_radians().cos(), degrees.to_radians().sin());
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let (sx, sy) = (cos * dx + sin * dy + cx, -sin * dx + cos * dy + cy);
        if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
            return Rgb([0, 0, 0]);
        }
        let (x0, y0, fx, fy) = (sx as u32, sy as u32, sx.fract(), sy.fract());
        let p = |x, y| img.get_pixel(x, y).0.map(f32::from);
        let (a, b, c, d) = (p(x0, y0), p(x0 + 1, y0), p(x0, y0 + 1), p(x0 + 1, y0 + 1));
        Rgb(std::array::from_fn(|i| {
            let top = a[i] + (b[i] - a[i]) * fx;
            let bottom = c[i] + (d[i] - c[i]) * fx;
            (top + (bottom - top) * fy).round() as u8
        }))
    })
}

/// Two images pasted side by side: two people in front of the camera.
pub fn side_by_side(left: &RgbImage, right: &RgbImage) -> RgbImage {
    let mut out = RgbImage::new(left.width() + right.width(), left.height().max(right.height()));
    imageops::replace(&mut out, left, 0, 0);
    imageops::replace(&mut out, right, i64::from(left.width()), 0);
    out
}

/// A smooth grey gradient: a frame with nobody in it.
pub fn empty_scene(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let v = (60 + (x * 120 / width) + (y * 40 / height)) as u8;
        Rgb([v, v, v])
    })
}

/// Frames served from memory; then either the end or a fault.
pub struct Frames {
    frames: VecDeque<RgbImage>,
    then: Option<CameraError>,
    pub served: usize,
}

impl Frames {
    pub fn new(frames: impl IntoIterator<Item = RgbImage>) -> Self {
        Self { frames: frames.into_iter().collect(), then: None, served: 0 }
    }

    /// After the frames, every read fails with `fault`.
    pub fn then_fail(mut self, fault: CameraError) -> Self {
        self.then = Some(fault);
        self
    }
}

impl FrameSource for Frames {
    fn next_frame(&mut self) -> honnin::Result<Option<LiveFrame>> {
        match (self.frames.pop_front(), &self.then) {
            (Some(img), _) => {
                self.served += 1;
                Ok(Some(frame(&img)))
            }
            (None, Some(fault)) => Err(Error::Camera(fault.clone())),
            (None, None) => Ok(None),
        }
    }
}
