//! Live frames from a camera (feature `camera`): V4L2 capture on Linux, through nokhwa.
//!
//! A [`CameraSource`] owns one capture thread. The thread opens the device,
//! picks a pixel format, starts the stream and then keeps taking frames from
//! the driver, so that the frame handed out is always a fresh one; a frame
//! nobody asked for is released back to the driver without being copied. When
//! [`FrameSource::next_frame`] asks, the next frame is converted to RGB and
//! sent back over a channel, and the caller waits for it at most
//! [`CameraOptions::timeout`]. A blocking driver call therefore never blocks
//! the caller beyond the timeout.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType};
use nokhwa::{Camera, FormatDecoder, NokhwaError};
use zeroize::Zeroizing;

use crate::counter::source::FrameSource;
use crate::error::CameraError;
use crate::error::{Error, Result};
use crate::input::decode::LiveFrame;

/// Opening waits at least this long, whatever the frame timeout: a USB camera
/// answers each format and frame-size query over the bus, and listing them all
/// can take a second or two.
const OPEN_WAIT_MIN: Duration = Duration::from_secs(5);

/// Frames in a row that may fail to read or convert (a truncated MJPEG frame
/// just after the stream starts) before a request gets the fault.
const BAD_FRAMES_TOLERATED: u32 = 3;

/// Pause after a failed read, so that a device that keeps failing is not polled in a busy loop.
const READ_RETRY_PAUSE: Duration = Duration::from_millis(20);

/// The pixel formats honnin converts, best first: uncompressed colour, then
/// MJPEG (decoded by honnin's own JPEG path), then grey.
const FORMATS: &[FrameFormat] = &[
    FrameFormat::YUYV,
    FrameFormat::NV12,
    FrameFormat::RAWRGB,
    FrameFormat::RAWBGR,
    FrameFormat::MJPEG,
    FrameFormat::GRAY,
];

/// What a [`CameraSource`] asks of the camera.
///
/// The camera gets the supported format closest to `width` x `height`, then
/// the one that reaches `fps` (or comes closest), preferring uncompressed
/// pixels over MJPEG. The frames may therefore be of another size than asked
/// for: [`CameraSource::resolution`] says which.
///
/// ```no_run
/// use std::time::Duration;
/// use honnin::counter::CameraOptions;
/// let options = CameraOptions::default().with_size(1280, 720).with_timeout(Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CameraOptions {
    /// Wanted frame width, in pixels.
    pub width: u32,
    /// Wanted frame height, in pixels.
    pub height: u32,
    /// Wanted frames per second.
    pub fps: u32,
    /// How long [`FrameSource::next_frame`] waits for a frame before it gives
    /// up with [`CameraError::Timeout`]. Opening waits this long too, but at
    /// least 5 s.
    pub timeout: Duration,
}

impl Default for CameraOptions {
    /// 640 x 480 at 30 frames per second; a frame must come within 2 s.
    fn default() -> Self {
        Self { width: 640, height: 480, fps: 30, timeout: Duration::from_secs(2) }
    }
}

impl CameraOptions {
    /// The default options (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for frames of `width` x `height` pixels.
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Asks for `fps` frames per second.
    pub fn with_fps(mut self, fps: u32) -> Self {
        self.fps = fps;
        self
    }

    /// Waits at most `timeout` for each frame.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn check(&self) -> Result<()> {
        if self.width == 0 || self.height == 0 || self.fps == 0 || self.timeout.is_zero() {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "camera options with a non-zero size, frame rate and timeout, got {}x{} at {} fps, timeout {:?}",
                    self.width, self.height, self.fps, self.timeout
                ),
            });
        }
        Ok(())
    }
}

/// Live frames from a camera: V4L2 capture on Linux (`/dev/videoN`), through
/// [nokhwa](https://docs.rs/nokhwa). Feature `camera`.
///
/// ```no_run
/// use honnin::counter::{CameraOptions, CameraSource, FrameSource};
/// # fn main() -> Result<(), honnin::Error> {
/// let mut camera = CameraSource::open(0, CameraOptions::default())?; // /dev/video0
/// let frame = camera.next_frame()?; // Some(frame): a camera has no end
/// # let _ = frame; Ok(()) }
/// ```
///
/// Every fault is an [`Error::Camera`]: [`CameraError::DeviceMissing`] when
/// no such device exists or it went away, [`CameraError::Open`] when it
/// cannot be opened or offers no pixel format honnin converts (YUYV, NV12,
/// RGB, BGR, MJPEG, grey), [`CameraError::Read`] when frames keep failing to
/// read or convert, [`CameraError::Timeout`] when no frame came in time. A
/// panic inside nokhwa or V4L2 bindings is caught and reported the same way
/// (this needs the default `panic = "unwind"`). Only invalid
/// [`CameraOptions`] (a zero size, rate or timeout) are
/// [`Error::InvalidArgument`].
///
/// # Threads
///
/// Capture runs on a thread of its own (`honnin-camera`), which keeps the
/// stream running while the source lives. Dropping the source stops it: the
/// thread notices at its next frame, closes the device and ends, and the drop
/// waits for that up to the timeout, so the camera can be opened again at
/// once. If the driver has stopped delivering frames altogether, the drop
/// returns after the timeout and the thread ends, closing the device, as soon
/// as the driver's blocking call returns (a frame, or an error once the device
/// is unplugged).
///
/// # What stays in memory
///
/// honnin copies each frame it hands out exactly once, from the driver's
/// buffer into the [`LiveFrame`]'s RGB pixels, which are wiped when the frame
/// is dropped; a conversion that fails or panics wipes its partial output.
/// MJPEG frames are decoded from the driver's buffer by the same path as
/// [`LiveFrame::from_bytes`], with that path's wiping. A frame asked for but
/// delivered after its timeout is dropped, and so wiped, unseen.
///
/// Out of honnin's control: the V4L2 capture buffers (usually four), which
/// the kernel driver fills and which are mapped into this process. They hold
/// the last raw frames (YUYV, NV12, RGB or MJPEG) until the driver overwrites
/// them, and when the stream stops they are unmapped and returned to the
/// kernel without being wiped; the driver's own transfer buffers (USB for a
/// UVC webcam) likewise. honnin never calls nokhwa's copying frame API, so
/// nokhwa itself keeps no copy.
pub struct CameraSource {
    device: String,
    format: CameraFormat,
    timeout: Duration,
    /// Frame requests to the capture thread, by id. Dropped first, to stop it.
    requests: Option<Sender<u64>>,
    replies: Receiver<Reply>,
    thread: Option<JoinHandle<()>>,
    last_request: u64,
    /// A fault that ended the capture thread, repeated by every later call.
    fault: Option<CameraError>,
}

/// What the capture thread sends back.
enum Reply {
    /// The answer to request `id`; an older id's frame is dropped (wiped) unseen.
    Frame { id: u64, frame: std::result::Result<LiveFrame, CameraError> },
    /// The thread has ended: the device went away or its backend panicked.
    Fatal(CameraError),
}

impl CameraSource {
    /// Opens camera `index` (`/dev/video{index}` on Linux), picks its format
    /// from `options` and starts capturing.
    ///
    /// Waits for the device at most `options.timeout`, but at least 5 s.
    pub fn open(index: u32, options: CameraOptions) -> Result<Self> {
        options.check()?;
        let device = device_name(index);
        if let Some(fault) = missing_device(&device) {
            return Err(Error::Camera(fault));
        }
        let name = device.clone();
        start(device, options.timeout, options.timeout.max(OPEN_WAIT_MIN), move || open_camera(index, &options, &name))
    }

    /// The device, as a path (`/dev/video0`).
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Width and height of the frames the camera delivers, in pixels.
    pub fn resolution(&self) -> (u32, u32) {
        (self.format.width(), self.format.height())
    }

    /// The frame rate the camera was set to.
    pub fn frame_rate(&self) -> u32 {
        self.format.frame_rate()
    }

    fn fail(&mut self, fault: CameraError) -> Error {
        self.fault = Some(fault.clone());
        Error::Camera(fault)
    }
}

impl std::fmt::Debug for CameraSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraSource")
            .field("device", &self.device)
            .field("format", &self.format.to_string())
            .field("timeout", &self.timeout)
            .field("fault", &self.fault)
            .finish_non_exhaustive()
    }
}

impl FrameSource for CameraSource {
    /// The first frame the driver delivers after this call began. Never
    /// `Ok(None)`: a camera has no end. After [`CameraError::Timeout`] the
    /// source may be asked again; after a fault that ended capture (the
    /// device went away) every call returns that fault.
    fn next_frame(&mut self) -> Result<Option<LiveFrame>> {
        if let Some(fault) = &self.fault {
            return Err(Error::Camera(fault.clone()));
        }
        self.last_request += 1;
        let id = self.last_request;
        // If the thread has ended, the send fails and its last word is read below.
        if let Some(requests) = &self.requests {
            let _ = requests.send(id);
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.replies.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Reply::Frame { id: answered, frame }) if answered == id => {
                    return frame.map(Some).map_err(Error::Camera);
                }
                // A late answer to a request that timed out: wiped as it drops.
                Ok(Reply::Frame { .. }) => {}
                Ok(Reply::Fatal(fault)) => return Err(self.fail(fault)),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(Error::Camera(CameraError::Timeout { waited: self.timeout }));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.fail(CameraError::Read { reason: "the capture thread has ended".into() }));
                }
            }
        }
    }
}

impl Drop for CameraSource {
    fn drop(&mut self) {
        // The capture thread sees the closed request channel at its next frame.
        self.requests = None;
        let Some(thread) = self.thread.take() else { return };
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.replies.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(reply) => drop(reply), // an unclaimed frame: wiped
                // The thread closes the device before its reply channel closes.
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = thread.join();
                    return;
                }
                // The driver does not return: leave the thread to end when it does.
                Err(RecvTimeoutError::Timeout) => return,
            }
        }
    }
}

/// A camera as the capture thread uses it (the tests give it a fake one).
trait RawFrames {
    /// The format it streams in.
    fn format(&self) -> CameraFormat;

    /// The next raw frame, borrowed from the driver's buffer.
    fn next_raw(&mut self) -> std::result::Result<Cow<'_, [u8]>, NokhwaError>;
}

impl RawFrames for Camera {
    fn format(&self) -> CameraFormat {
        self.camera_format()
    }

    fn next_raw(&mut self) -> std::result::Result<Cow<'_, [u8]>, NokhwaError> {
        self.frame_raw()
    }
}

/// Starts the capture thread, which opens its camera with `open`, and waits
/// for it at most `open_wait`.
fn start<C, F>(device: String, timeout: Duration, open_wait: Duration, open: F) -> Result<CameraSource>
where
    C: RawFrames,
    F: FnOnce() -> std::result::Result<C, CameraError> + Send + 'static,
{
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    let (requests_tx, requests_rx) = mpsc::channel();
    let (replies_tx, replies_rx) = mpsc::channel();
    let name = device.clone();
    let thread = std::thread::Builder::new()
        .name("honnin-camera".into())
        .spawn(move || capture(&name, open, &ready_tx, &requests_rx, replies_tx))
        .map_err(|e| {
            Error::Camera(CameraError::Open { device: device.clone(), reason: format!("no capture thread: {e}") })
        })?;
    match ready_rx.recv_timeout(open_wait) {
        Ok(Ok(format)) => Ok(CameraSource {
            device,
            format,
            timeout,
            requests: Some(requests_tx),
            replies: replies_rx,
            thread: Some(thread),
            last_request: 0,
            fault: None,
        }),
        Ok(Err(fault)) => {
            // The thread has nothing left to do but return.
            let _ = thread.join();
            Err(Error::Camera(fault))
        }
        // The thread closes the camera once it has opened it and finds nobody waiting.
        Err(RecvTimeoutError::Timeout) => Err(Error::Camera(CameraError::Timeout { waited: open_wait })),
        Err(RecvTimeoutError::Disconnected) => {
            let _ = thread.join();
            Err(Error::Camera(CameraError::Open { device, reason: "the capture thread ended while opening".into() }))
        }
    }
}

/// The capture thread: opens the camera, reports its format on `ready`, then
/// serves requests until the request channel closes or the device fails.
fn capture<C: RawFrames>(
    device: &str,
    open: impl FnOnce() -> std::result::Result<C, CameraError>,
    ready: &SyncSender<std::result::Result<CameraFormat, CameraError>>,
    requests: &Receiver<u64>,
    replies: Sender<Reply>,
) {
    let mut camera = match catch_unwind(AssertUnwindSafe(open)) {
        Ok(Ok(camera)) => camera,
        Ok(Err(fault)) => {
            let _ = ready.send(Err(fault));
            return;
        }
        Err(_) => {
            let reason = "the camera backend panicked while opening the device".into();
            let _ = ready.send(Err(CameraError::Open { device: device.into(), reason }));
            return;
        }
    };
    let format = match catch_unwind(AssertUnwindSafe(|| camera.format())) {
        Ok(format) => format,
        Err(_) => {
            let reason = "the camera backend panicked while reading the format".into();
            let _ = ready.send(Err(CameraError::Open { device: device.into(), reason }));
            close(camera);
            return;
        }
    };
    if ready.send(Ok(format)).is_ok() {
        let served = catch_unwind(AssertUnwindSafe(|| serve(&mut camera, format, device, requests, &replies)));
        let fatal = match served {
            Ok(fatal) => fatal,
            Err(_) => Some(CameraError::Read { reason: "the camera backend panicked while capturing".into() }),
        };
        if let Some(fault) = fatal {
            let _ = replies.send(Reply::Fatal(fault));
        }
    }
    // Closed before `replies` drops: a receiver that sees the channel close
    // knows the device is free again.
    close(camera);
    drop(replies);
}

/// Takes frames without pause, so that the driver's queue holds no stale
/// ones; converts one only when a request is waiting. Returns the fault that
/// ended capture, or `None` once the request channel has closed.
fn serve<C: RawFrames>(
    camera: &mut C,
    format: CameraFormat,
    device: &str,
    requests: &Receiver<u64>,
    replies: &Sender<Reply>,
) -> Option<CameraError> {
    let mut pending = None;
    let mut bad_frames = 0;
    loop {
        loop {
            match requests.try_recv() {
                // Only the newest request is still awaited.
                Ok(id) => pending = Some(id),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return None,
            }
        }
        let frame = match camera.next_raw() {
            Ok(raw) => match pending {
                Some(_) => to_live_frame(&raw, format),
                // Nobody asked: released to the driver uncopied.
                None => continue,
            },
            Err(e) => {
                let fault = read_fault(device, e);
                if matches!(fault, CameraError::DeviceMissing { .. }) {
                    return Some(fault);
                }
                std::thread::sleep(READ_RETRY_PAUSE);
                Err(fault)
            }
        };
        let Some(id) = pending else { continue };
        match frame {
            Ok(frame) => {
                bad_frames = 0;
                pending = None;
                let _ = replies.send(Reply::Frame { id, frame: Ok(frame) });
            }
            Err(fault) => {
                bad_frames += 1;
                if bad_frames >= BAD_FRAMES_TOLERATED {
                    bad_frames = 0;
                    pending = None;
                    let _ = replies.send(Reply::Frame { id, frame: Err(fault) });
                }
            }
        }
    }
}

/// Drops the camera (stopping the stream, unmapping its buffers, closing the
/// device); v4l panics when stopping the stream fails in an unexpected way.
fn close<C>(camera: C) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(camera)));
}

/// Opens camera `index` with nokhwa, sets the format [`choose_format`] picks
/// and starts the stream. Runs on the capture thread: nokhwa's `Camera` is
/// not `Send`.
fn open_camera(index: u32, options: &CameraOptions, device: &str) -> std::result::Result<Camera, CameraError> {
    let fault = |e: NokhwaError| open_fault(device, &e);
    // Any format first: nokhwa lists a device's formats only once it is open.
    let any = RequestedFormat::with_formats(RequestedFormatType::None, FORMATS);
    let mut camera = Camera::new(CameraIndex::Index(index), any).map_err(fault)?;
    let formats = camera.compatible_camera_formats().map_err(fault)?;
    let chosen = choose_format(&formats, options).ok_or_else(|| CameraError::Open {
        device: device.into(),
        reason: "no pixel format honnin converts (YUYV, NV12, RGB, BGR, MJPEG, grey)".into(),
    })?;
    if camera.camera_format() != chosen {
        let exact = [chosen.format()];
        camera
            .set_camera_requset(RequestedFormat::with_formats(RequestedFormatType::Exact(chosen), &exact))
            .map_err(fault)?;
    }
    camera.open_stream().map_err(fault)?;
    Ok(camera)
}

/// The format closest in size to the options', then the one that reaches
/// their frame rate (or comes closest), then the best pixel format in
/// [`FORMATS`] order.
fn choose_format(formats: &[CameraFormat], options: &CameraOptions) -> Option<CameraFormat> {
    formats
        .iter()
        .copied()
        .filter(|f| f.width() > 0 && f.height() > 0 && f.frame_rate() > 0)
        .filter_map(|f| FORMATS.iter().position(|&p| p == f.format()).map(|rank| (f, rank)))
        .min_by_key(|&(f, rank)| {
            let dw = i64::from(f.width()) - i64::from(options.width);
            let dh = i64::from(f.height()) - i64::from(options.height);
            let too_slow = options.fps.saturating_sub(f.frame_rate());
            (dw * dw + dh * dh, too_slow, rank, f.frame_rate().abs_diff(options.fps))
        })
        .map(|(f, _)| f)
}

/// One raw frame as a [`LiveFrame`]: MJPEG through honnin's JPEG decoder
/// (within the default [`Limits`](crate::Limits)), the other formats through
/// nokhwa's converters into an RGB buffer that is wiped if the conversion
/// fails or panics.
fn to_live_frame(raw: &[u8], format: CameraFormat) -> std::result::Result<LiveFrame, CameraError> {
    let read = |reason: String| CameraError::Read { reason };
    let (width, height, pixel) = (format.width(), format.height(), format.format());
    if pixel == FrameFormat::MJPEG {
        return LiveFrame::from_bytes(raw).map_err(|e| read(format!("MJPEG frame: {e}")));
    }
    let pixels = (width as usize).checked_mul(height as usize);
    let size = pixels.and_then(|n| match pixel {
        FrameFormat::YUYV => n.checked_mul(2),
        FrameFormat::NV12 => n.checked_mul(3).map(|b| b / 2),
        FrameFormat::GRAY => Some(n),
        FrameFormat::RAWRGB | FrameFormat::RAWBGR | FrameFormat::MJPEG => n.checked_mul(3),
    });
    // The driver's buffer may be longer than the frame (page rounding).
    let data = size
        .and_then(|n| raw.get(..n))
        .ok_or_else(|| read(format!("a {width}x{height} {pixel} frame, got {} bytes", raw.len())))?;
    let rgb_len = pixels.and_then(|n| n.checked_mul(3)).ok_or_else(|| read(format!("a {width}x{height} frame")))?;
    let mut rgb = Zeroizing::new(vec![0u8; rgb_len]);
    RgbFormat::write_output_buffer(pixel, format.resolution(), data, &mut rgb).map_err(|e| read(e.to_string()))?;
    LiveFrame::from_rgb(width, height, std::mem::take(&mut *rgb)).map_err(|e| read(e.to_string()))
}

/// `/dev/video{index}`: the node V4L2, and nokhwa, open for camera `index`.
fn device_name(index: u32) -> String {
    format!("/dev/video{index}")
}

/// [`CameraError::DeviceMissing`] when the device node does not exist, found
/// before nokhwa is asked (whose answer [`open_fault`] maps the same way).
fn missing_device(device: &str) -> Option<CameraError> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    match std::fs::metadata(device) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(CameraError::DeviceMissing { device: device.into(), reason: format!("{device} does not exist") })
        }
        _ => None,
    }
}

/// A fault while opening: [`CameraError::DeviceMissing`] if the system says
/// the device does not exist, [`CameraError::Open`] otherwise.
fn open_fault(device: &str, e: &NokhwaError) -> CameraError {
    let reason = e.to_string();
    if device_gone(&reason) {
        CameraError::DeviceMissing { device: device.into(), reason }
    } else {
        CameraError::Open { device: device.into(), reason }
    }
}

/// A fault while capturing: [`CameraError::DeviceMissing`] if the device went
/// away (which ends capture), [`CameraError::Read`] otherwise.
fn read_fault(device: &str, e: NokhwaError) -> CameraError {
    let reason = e.to_string();
    if device_gone(&reason) {
        CameraError::DeviceMissing { device: device.into(), reason }
    } else {
        CameraError::Read { reason }
    }
}

/// Whether a V4L2 error says the device does not exist (ENOENT, ENXIO) or
/// went away (ENODEV). nokhwa passes OS errors on as text only, which ends in
/// Rust's "(os error N)".
fn device_gone(message: &str) -> bool {
    [libc::ENOENT, libc::ENXIO, libc::ENODEV].iter().any(|code| message.contains(&format!("(os error {code})")))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use nokhwa::utils::Resolution;

    use super::*;

    /// The first camera index from 7 on without a device node (7 on a machine
    /// without cameras).
    fn absent_index() -> u32 {
        (7..).find(|&i| std::fs::metadata(device_name(i)).is_err()).expect("a free index")
    }

    #[test]
    fn a_camera_that_does_not_exist_is_device_missing() {
        let index = absent_index();
        match CameraSource::open(index, CameraOptions::default()) {
            Err(Error::Camera(CameraError::DeviceMissing { device, reason })) => {
                assert_eq!(device, format!("/dev/video{index}"));
                assert!(reason.contains("does not exist"), "{reason}");
            }
            other => panic!("expected DeviceMissing, got {other:?}"),
        }
    }

    #[test]
    fn what_v4l2_says_of_a_missing_device_is_device_missing_too() {
        // Past the /dev check, as when the node goes between the check and the open.
        let index = absent_index();
        match open_camera(index, &CameraOptions::default(), &device_name(index)) {
            Err(CameraError::DeviceMissing { reason, .. }) => assert!(reason.contains("(os error 2)"), "{reason}"),
            other => panic!("expected DeviceMissing, got {:?}", other.err()),
        }
    }

    #[test]
    fn zero_options_are_invalid_arguments() {
        let options = CameraOptions::default().with_fps(0);
        assert!(matches!(CameraSource::open(absent_index(), options), Err(Error::InvalidArgument { .. })));
        let options = CameraOptions::default().with_timeout(Duration::ZERO);
        assert!(matches!(CameraSource::open(absent_index(), options), Err(Error::InvalidArgument { .. })));
    }

    /// A camera delivering the same 4x2 YUYV frame every `delay`, or failing with `fail`.
    struct Fake {
        frame: Vec<u8>,
        delay: Duration,
        fail: Option<NokhwaError>,
        closed: Arc<AtomicBool>,
    }

    impl Fake {
        fn new(delay_ms: u64) -> (Self, Arc<AtomicBool>) {
            let closed = Arc::new(AtomicBool::new(false));
            // Y 235, U and V 128: white.
            let frame = [235, 128, 235, 128].repeat(4);
            (Self { frame, delay: Duration::from_millis(delay_ms), fail: None, closed: closed.clone() }, closed)
        }
    }

    impl RawFrames for Fake {
        fn format(&self) -> CameraFormat {
            CameraFormat::new(Resolution::new(4, 2), FrameFormat::YUYV, 30)
        }

        fn next_raw(&mut self) -> std::result::Result<Cow<'_, [u8]>, NokhwaError> {
            std::thread::sleep(self.delay);
            match &self.fail {
                Some(e) => Err(e.clone()),
                None => Ok(Cow::Borrowed(&self.frame)),
            }
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            self.closed.store(true, Ordering::SeqCst);
        }
    }

    fn start_fake(fake: Fake, timeout_ms: u64) -> Result<CameraSource> {
        let timeout = Duration::from_millis(timeout_ms);
        start("fake".into(), timeout, timeout, move || Ok(fake))
    }

    #[test]
    fn frames_come_as_rgb_and_dropping_the_source_closes_the_camera() {
        let (fake, closed) = Fake::new(5);
        let mut source = start_fake(fake, 2000).unwrap();
        assert_eq!(source.resolution(), (4, 2));
        for _ in 0..3 {
            let frame = source.next_frame().unwrap().expect("a camera has no end");
            assert_eq!(frame.dimensions(), (4, 2));
            assert!(frame.pixels.data().iter().all(|&v| v == 255));
        }
        assert!(!closed.load(Ordering::SeqCst));
        drop(source);
        assert!(closed.load(Ordering::SeqCst), "the drop waits until the camera is closed");
    }

    #[test]
    fn a_slow_camera_times_out_and_its_late_frame_is_not_served_later() {
        // Wide margins: CI machines are loaded and timers late.
        let (fake, closed) = Fake::new(600);
        let mut source = start_fake(fake, 100).unwrap();
        let asked = Instant::now();
        match source.next_frame() {
            Err(Error::Camera(CameraError::Timeout { waited })) => assert_eq!(waited, Duration::from_millis(100)),
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(asked.elapsed() < Duration::from_millis(500), "{:?}", asked.elapsed());
        // The first request's frame comes at about 600 ms and is dropped; this
        // one's, taken after it, at about 1200 ms.
        source.timeout = Duration::from_secs(3);
        let asked = Instant::now();
        assert!(source.next_frame().unwrap().is_some());
        assert!(asked.elapsed() > Duration::from_millis(700), "{:?}", asked.elapsed());
        drop(source);
        assert!(closed.load(Ordering::SeqCst));
    }

    #[test]
    fn a_camera_that_went_away_is_device_missing_from_then_on() {
        let (mut fake, closed) = Fake::new(5);
        fake.fail = Some(NokhwaError::ReadFrameError("No such device (os error 19)".into()));
        let mut source = start_fake(fake, 2000).unwrap();
        for _ in 0..2 {
            assert!(matches!(source.next_frame(), Err(Error::Camera(CameraError::DeviceMissing { .. }))));
        }
        drop(source);
        assert!(closed.load(Ordering::SeqCst));
    }

    #[test]
    fn frames_that_keep_failing_are_read_faults() {
        let (mut fake, _closed) = Fake::new(5);
        fake.frame.truncate(3);
        let mut source = start_fake(fake, 2000).unwrap();
        match source.next_frame() {
            Err(Error::Camera(CameraError::Read { reason })) => assert!(reason.contains("4x2 YUYV"), "{reason}"),
            other => panic!("expected a read fault, got {other:?}"),
        }
        // Not fatal: the source can be asked again.
        assert!(matches!(source.next_frame(), Err(Error::Camera(CameraError::Read { .. }))));
    }

    #[test]
    fn a_failing_or_panicking_backend_is_an_open_fault() {
        let timeout = Duration::from_secs(2);
        let failing = || -> std::result::Result<Fake, CameraError> {
            Err(CameraError::Open { device: "fake".into(), reason: "busy".into() })
        };
        assert!(matches!(
            start("fake".into(), timeout, timeout, failing),
            Err(Error::Camera(CameraError::Open { reason, .. })) if reason == "busy"
        ));
        let panicking = || -> std::result::Result<Fake, CameraError> { panic!("backend bug") };
        assert!(matches!(
            start("fake".into(), timeout, timeout, panicking),
            Err(Error::Camera(CameraError::Open { reason, .. })) if reason.contains("panicked")
        ));
    }

    #[test]
    fn the_format_is_closest_in_size_then_fast_enough_then_uncompressed() {
        let f = |w, h, format, fps| CameraFormat::new(Resolution::new(w, h), format, fps);
        let options = CameraOptions::default(); // 640x480 at 30 fps
        let formats = [
            f(1280, 720, FrameFormat::YUYV, 30),
            f(640, 480, FrameFormat::MJPEG, 30),
            f(640, 480, FrameFormat::YUYV, 15),
            f(640, 480, FrameFormat::NV12, 30),
            f(640, 480, FrameFormat::GRAY, 30),
        ];
        assert_eq!(choose_format(&formats, &options), Some(formats[3]));
        assert_eq!(choose_format(&formats[..3], &options), Some(formats[1]), "30 fps MJPEG over 15 fps YUYV");
        assert_eq!(choose_format(&formats[..1], &options), Some(formats[0]));
        assert_eq!(choose_format(&[], &options), None);
    }

    #[test]
    fn missing_devices_are_told_from_other_faults() {
        assert!(device_gone("V4L2 Error: No such file or directory (os error 2)"));
        assert!(device_gone("No such device (os error 19)"));
        assert!(!device_gone("Device or resource busy (os error 16)"));
        assert!(!device_gone("Invalid argument (os error 22)"));
    }
}
