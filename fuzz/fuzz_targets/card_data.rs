//! `CardData::parse`: EF.DG2, ISO/IEC 19794-5 records, ISO/IEC 39794-5 blocks,
//! My Number `FF20` card-surface data and plain images (sniffing only).
//! Nothing is decoded; every image found is touched through the public API.
#![no_main]

use honnin::card::CardData;
use honnin::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(card) = CardData::parse(data, &limits) {
        let _ = card.container();
        assert!(!card.images().is_empty(), "parse returned Ok without a face image");
        for (index, image) in card.images().iter().enumerate() {
            let bytes = image.bytes();
            // The image is borrowed from the input at the offset it reports.
            let end = image.offset().checked_add(bytes.len()).expect("offset + len overflows");
            assert!(end <= data.len(), "image past the end of the input");
            assert_eq!(&data[image.offset()..end], bytes, "offset does not locate the image");
            let _ = image.format();
            let metadata = image.metadata();
            std::hint::black_box(format!("{metadata:?}"));
            std::hint::black_box(format!("{image:?}"));
            assert!(card.image(index).is_ok());
        }
        assert!(card.image(card.images().len()).is_err());
    }
});
