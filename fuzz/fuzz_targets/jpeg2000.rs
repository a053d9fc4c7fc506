//! JPEG 2000 through `CardPhoto::from_bytes` (hayro-jpeg2000 behind honnin's
//! header checks). Seeds are JP2 files and raw J2K codestreams; the first
//! byte of the input picks which magic is written over the start, so nearly
//! every input reaches the JPEG 2000 decoder instead of being refused by the
//! sniffer. Inputs that already carry a JPEG 2000 magic are used unchanged.
#![no_main]

use honnin::CardPhoto;
use libfuzzer_sys::fuzz_target;

const JP2: [u8; 12] = [0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A];
const J2K: [u8; 4] = [0xFF, 0x4F, 0xFF, 0x51];

fuzz_target!(|data: &[u8]| {
    let fixed;
    let input = if data.starts_with(&JP2) || data.starts_with(&J2K) {
        data
    } else {
        // Overwrite (not prepend) the magic, so the seeds' own layout stays put.
        let magic: &[u8] = if data.first().is_some_and(|b| b & 1 == 0) { &JP2 } else { &J2K };
        let mut v = data.to_vec();
        if v.len() < magic.len() {
            v.resize(magic.len(), 0);
        }
        v[..magic.len()].copy_from_slice(magic);
        fixed = v;
        &fixed[..]
    };
    if let Ok(photo) = CardPhoto::from_bytes(input) {
        let (w, h) = photo.dimensions();
        assert!(w > 0 && h > 0);
        let _ = (photo.kind(), photo.format(), photo.container());
    }
});
