//! End to end: `CardPhoto::from_bytes` on chip containers (parse, then decode
//! the first face image), seeded with DG2 / 19794-5 / 39794-5 / My Number data.
#![no_main]

use honnin::CardPhoto;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(photo) = CardPhoto::from_bytes(data) {
        let (w, h) = photo.dimensions();
        assert!(w > 0 && h > 0);
        let _ = (photo.kind(), photo.format(), photo.container());
    }
});
