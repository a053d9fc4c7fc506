//! Sniff + decode of any image a camera or a file may hand in:
//! `LiveFrame::from_bytes` (JPEG, PNG, WebP, JPEG 2000) within the default limits.
#![no_main]

use honnin::LiveFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = LiveFrame::from_bytes(data) {
        let (w, h) = frame.dimensions();
        assert!(w > 0 && h > 0);
    }
});
