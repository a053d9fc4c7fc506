//! The hostile-input corpus in `tests/hostile/` (issue 3, point 7), written by
//! `tools/make_hostile_corpus.py` from the public-domain sample
//! `samples/astronaut_card.png` and synthetic bytes.
//!
//! Every file there has one expectation here: the specific error (variant and
//! key fields) or, for the positive controls, the decoded size, and what the
//! error's text must mention. A file without an expectation fails the test,
//! and so does an expectation without a file. On top of the committed
//! truncations, every base is cut at every offset in memory: a strict prefix
//! must be an error, never a picture and never a panic.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use honnin::error::Malformation;
use honnin::{CardPhoto, Error, LiveFrame};

const DG2: &str = "ICAO EF.DG2";
const FAC: &str = "ISO/IEC 19794-5 face record";
const MY_NUMBER: &str = "My Number card-surface data";

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")
}

/// What reading a file must give.
#[derive(Clone, Copy)]
enum Expect {
    /// A picture of this width and height.
    Ok(u32, u32),
    /// An error the check accepts, whose text contains every `mentions`.
    Err { pattern: &'static str, check: fn(&Error) -> bool, mentions: &'static [&'static str] },
}

/// An expected error: a pattern on [`Error`] and what its text must mention.
macro_rules! err {
    ($pattern:pat $(if $guard:expr)?, [$($mention:expr),* $(,)?]) => {
        Expect::Err {
            pattern: stringify!($pattern $(if $guard)?),
            check: |e: &Error| matches!(e, $pattern $(if $guard)?),
            mentions: &[$($mention),*],
        }
    };
}

/// A plain image in no format honnin reads: the card and the frame API name
/// what they were reading and show the first bytes.
macro_rules! unrecognised {
    ($magic:literal) => {
        (
            err!(Error::UnrecognisedFormat { what: "card data", magic } if magic == $magic, [$magic, "no supported format"]),
            err!(Error::UnrecognisedFormat { what: "image", magic } if magic == $magic, [$magic, "no supported format"]),
        )
    };
}

/// Image bytes the decoder refuses, the same through both APIs.
macro_rules! decode {
    [$($mention:expr),*] => {
        both(err!(Error::Decode { .. }, ["could not be decoded", $($mention),*]))
    };
}

/// A header over a limit, the same through both APIs.
macro_rules! limit {
    ($limit:literal, $max:literal, $actual:literal) => {
        both(err!(Error::LimitExceeded { limit: $limit, max: $max, actual: $actual }, [$limit, stringify!($actual)]))
    };
    ($limit:literal, $max:literal, _) => {
        both(err!(Error::LimitExceeded { limit: $limit, max: $max, .. }, [$limit, stringify!($max)]))
    };
}

struct Case {
    file: &'static str,
    /// Through [`CardPhoto::from_bytes`].
    card: Expect,
    /// Through [`LiveFrame::from_bytes`], for plain images.
    live: Option<Expect>,
}

/// Card data: read through [`CardPhoto::from_bytes`] only.
fn card(file: &'static str, card: Expect) -> Case {
    Case { file, card, live: None }
}

/// A plain image: read through both APIs.
fn image(file: &'static str, (card, live): (Expect, Expect)) -> Case {
    Case { file, card, live: Some(live) }
}

fn both(expect: Expect) -> (Expect, Expect) {
    (expect, expect)
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    vec![
        // Bases: positive controls, and the sources of the truncations.
        image("base/astronaut.jpg", both(Expect::Ok(60, 80))),
        image("base/astronaut.png", both(Expect::Ok(30, 40))),
        image("base/astronaut_rgb.jp2", both(Expect::Ok(60, 80))),
        image("base/astronaut_grey.jp2", both(Expect::Ok(60, 80))),
        image("base/astronaut.j2k", both(Expect::Ok(60, 80))),
        card("base/dg2_19794_jpeg.bin", Expect::Ok(60, 80)),
        card("base/dg2_39794_jp2.bin", Expect::Ok(60, 80)),
        card("base/fac_record_j2k.bin", Expect::Ok(60, 80)),
        card("base/mynumber_ff20_jp2.bin", Expect::Ok(60, 80)),

        // Nothing honnin reads. An empty buffer is caller misuse, as Error::InvalidArgument documents (honnin
        // gives Malformed "card data" through CardPhoto and UnrecognisedFormat through LiveFrame today).
        image("empty.bin", both(err!(Error::InvalidArgument { .. }, ["empty"]))),
        image("zeros_4096.bin", unrecognised!("00 00 00 00")),
        image("gif_header.gif", unrecognised!("47 49 46 38")),
        image("pdf_header.pdf", unrecognised!("25 50 44 46")),
        image("random_1024.bin", unrecognised!("3C B7 F6 EF")),
        card("tag75_then_random.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::LengthTooLong { tag: 0x75, length_bytes: 87 }, .. }, ["element 75", "87 bytes"])),

        // Headers claiming huge or empty pictures. A side over 16384 or more than 64 Mpixel is refused
        // whatever the format (a JPEG that declares less is decoded at reduced scale if need be).
        image("jpeg_sof_65535x65535.jpg", limit!("width", 16384, 65535)),
        image("png_ihdr_65535x65535.png", limit!("width", 16384, 65535)),
        image("webp_vp8l_16383x16383.webp", limit!("pixels", 67108864, 268402689)),
        image("webp_vp8x_65535x65535.webp", limit!("width", 16384, 65535)),
        image("j2k_siz_65535x65535.j2k", limit!("width", 16384, 65535)),
        image("j2k_siz_65535x65535_small_tiles.j2k", limit!("width", 16384, 65535)),
        image("jp2_siz_65535x65535.jp2", limit!("width", 16384, 65535)),
        card("mynumber_siz_65535x65535.bin", err!(Error::LimitExceeded { limit: "width", max: 16384, actual: 65535 }, ["width", "65535"])),
        // 3000x3000 (or 4096x3072 in 1x1 tiles) in 1207 bytes: within the size limits, not in what the bytes can hold.
        image("jp2_siz_3000x3000.jp2", limit!("pixels per byte", 256, 7456)),
        image("j2k_siz_4096x3072_1x1_tiles.j2k", limit!("pixels per byte", 256, 10424)),
        card("jp2_siz_3000x3000_in_dg2.bin", err!(Error::LimitExceeded { limit: "pixels per byte", max: 256, actual: 7456 }, ["pixels per byte", "7456"])),
        // 1290x1290 RGB in 8 KB (200 pixels per byte, 48 MiB by the header estimate), but in 4x4 code-blocks:
        // decoding it takes over 100 MB (estimated 143 MB). The coding style is in the header (COD), so the
        // estimate can count it.
        image("jp2_4x4_codeblocks_1290x1290.jp2", limit!("decode memory", 134217728, _)),
        // Found in review: segments the decoder would read but a scan skipping by
        // length would not, a second codestream, and per-tile bookkeeping.
        image("j2k_cod_hidden_in_siz.j2k", both(err!(Error::Decode { .. }, ["FF51", "segment length"]))),
        image("j2k_cod_hidden_in_tile_part.j2k", both(err!(Error::Decode { .. }, ["FF52", "segment length"]))),
        image("jp2_two_codestreams.jp2", both(err!(Error::Decode { .. }, ["more than one codestream"]))),
        image("j2k_1x1_tiles_32_levels.j2k", limit!("decode memory", 134217728, _)),
        // image-webp refuses a canvas whose pixel count overflows u32 before honnin sees its size.
        image("webp_vp8x_16777216x16777216.webp", decode!["too large"]),
        image("jpeg_sof_zero_height.jpg", decode!["zero"]),
        image("png_ihdr_zero_width.png", decode!["dimensions"]),
        image("j2k_siz_zero_width.j2k", decode!["JPEG 2000", "SIZ"]),
        image("j2k_siz_csiz_lies.j2k", decode!["JPEG 2000", "SIZ"]),
        image("png_ihdr_bad_crc.png", decode!["CRC"]),
        image("jpeg_app0_length_past_end.jpg", decode!["JPEG"]),
        // The JP2 header box says 65535x65535, the codestream 60x80: the codestream is what is decoded (and checked).
        image("jp2_ihdr_lies_65535.jp2", both(Expect::Ok(60, 80))),

        // Lying BER-TLV lengths and tags.
        card("dg2_75_length_past_end.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 2075, available: 1975 }, .. }, ["element 75", "2075", "1975"])),
        card("dg2_7f60_length_past_parent.bin", err!(Error::Malformed { structure: DG2, offset: 12, problem: Malformation::ValueTruncated { tag: 0x7F60, declared: 1971, available: 1962 }, .. }, ["element 7F60", "1971", "1962"])),
        card("dg2_75_length_5_bytes.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::LengthTooLong { tag: 0x75, length_bytes: 5 }, .. }, ["element 75", "5 bytes"])),
        card("dg2_75_length_4_gib.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 4294967295, available: 1975 }, .. }, ["element 75", "4294967295"])),
        card("dg2_75_indefinite_length.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::IndefiniteLength { tag: 0x75 }, .. }, ["element 75", "indefinite"])),
        card("dg2_7f61_indefinite_length.bin", err!(Error::Malformed { structure: DG2, offset: 4, problem: Malformation::IndefiniteLength { tag: 0x7F61 }, .. }, ["element 7F61", "indefinite"])),
        card("dg2_tag_too_long.bin", err!(Error::Malformed { structure: DG2, offset: 2, problem: Malformation::TagTooLong, .. }, ["tag", "three bytes"])),
        card("dg2_trailing_garbage.bin", err!(Error::Malformed { structure: DG2, offset: 1982, problem: Malformation::TrailingBytes { count: 7 }, .. }, ["7 bytes after the end"])),
        card("dg2_nested_1000.bin", err!(Error::LimitExceeded { limit: "tlv depth", max: 24, actual: 25 }, ["tlv depth", "24"])),
        card("nested_a1_10000.bin", err!(Error::LimitExceeded { limit: "tlv depth", max: 24, actual: 25 }, ["tlv depth", "24"])),
        card("dg2_5000_elements.bin", err!(Error::LimitExceeded { limit: "tlv elements", max: 4096, actual: 4097 }, ["tlv elements", "4096"])),

        // DG2 structure.
        card("dg2_instance_count_2_of_1.bin", err!(Error::Malformed { structure: DG2, offset: 4, problem: Malformation::Mismatch { field: "biometric instance count (02)", declared: 2, actual: 1 }, .. }, ["instance count", "2", "1"])),
        card("dg2_no_instances.bin", err!(Error::NoFaceImage { index: 0, count: 0 }, ["holds 0 face image"])),
        card("dg2_17_instances.bin", err!(Error::LimitExceeded { limit: "faces", max: 16, actual: 17 }, ["faces", "17", "16"])),
        card("dg2_5f2e_and_7f2e_in_one_instance.bin", err!(Error::Malformed { structure: DG2, offset: 1979, problem: Malformation::Repeated { tag: 0x7F2E }, .. }, ["7F2E", "more than once"])),
        card("dg2_instance_without_data_block.bin", err!(Error::Malformed { structure: DG2, offset: 8, problem: Malformation::MissingDataBlock, .. }, ["5F2E", "7F2E"])),

        // Face records.
        card("dg2_19794_zero_faces.bin", err!(Error::NoFaceImage { index: 0, count: 0 }, ["holds 0 face image"])),
        card("dg2_39794_no_representations.bin", err!(Error::NoFaceImage { index: 0, count: 0 }, ["holds 0 face image"])),
        // The record's type field says JPEG 2000 (or JPEG); the bytes are JPEG (or a J2K codestream): the bytes decide.
        card("dg2_5f2e_declares_jp2_holds_jpeg.bin", Expect::Ok(60, 80)),
        card("fac_declares_jpeg_holds_j2k.bin", Expect::Ok(60, 80)),
        card("dg2_5f2e_image_not_an_image.bin", err!(Error::UnrecognisedFormat { what: "embedded face image", magic } if magic == "74 68 69 73", ["embedded face image", "74 68 69 73"])),
        card("dg2_7f2e_image_is_gif.bin", err!(Error::UnrecognisedFormat { what: "embedded face image", magic } if magic == "47 49 46 38", ["embedded face image", "47 49 46 38"])),
        card("fac_image_is_pdf.bin", err!(Error::UnrecognisedFormat { what: "embedded face image", magic } if magic == "25 50 44 46", ["embedded face image", "25 50 44 46"])),
        card("fac_record_length_longer.bin", err!(Error::Malformed { structure: FAC, offset: 8, problem: Malformation::Mismatch { field: "record length", declared: 1274, actual: 1269 }, .. }, ["record length", "1274", "1269"])),
        card("fac_record_length_shorter.bin", err!(Error::Malformed { structure: FAC, offset: 8, problem: Malformation::Mismatch { field: "record length", declared: 1264, actual: 1269 }, .. }, ["record length", "1264", "1269"])),
        card("fac_block_length_past_end.bin", err!(Error::Malformed { structure: FAC, offset: 14, problem: Malformation::Mismatch { field: "facial block length", declared: 1256, actual: 1255 }, .. }, ["facial block length", "1256", "1255"])),
        card("fac_block_length_too_small.bin", err!(Error::Malformed { structure: FAC, offset: 14, problem: Malformation::TooShort { declared: 20, minimum: 49, .. }, .. }, ["facial block length", "20", "at least 49"])),
        card("fac_65535_faces.bin", err!(Error::LimitExceeded { limit: "faces", max: 16, actual: 65535 }, ["faces", "65535"])),
        card("fac_2_faces_1_block.bin", err!(Error::Malformed { structure: FAC, offset: 12, problem: Malformation::Mismatch { field: "number of faces", declared: 2, actual: 1 }, .. }, ["number of faces", "2"])),
        card("fac_version_030.bin", err!(Error::Malformed { structure: FAC, offset: 4, problem: Malformation::UnsupportedVersion { found }, .. } if found == "030", ["version", "030"])),

        // My Number card-surface data.
        card("mynumber_df27_holds_jpeg.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 26, problem: Malformation::InvalidValue { .. }, .. }, ["DF27", "JPEG 2000"])),
        card("mynumber_without_df27.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 0, problem: Malformation::MissingElement { tag: 0xDF27 }, .. }, ["DF27", "missing"])),
        card("mynumber_df27_twice.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 808, problem: Malformation::Repeated { tag: 0xDF27 }, .. }, ["DF27", "more than once"])),
        card("mynumber_junk_in_padding.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 872, problem: Malformation::TrailingBytes { count: 128 }, .. }, ["128 bytes after the end"])),
        // Cut inside the 0xFF padding: the data is whole.
        card("mynumber_cut_in_padding.bin", Expect::Ok(60, 80)),

        // Truncations of the bases (tools/make_hostile_corpus.py: `truncation_offsets`). A JPEG 2000 cut
        // inside its codestream must fail like a cut JPEG; hayro-jpeg2000's lenient default decodes what is
        // there (its `strict` setting refuses every cut). A PNG cut inside the IEND chunk is cut too.
        image("truncated/astronaut_00001.jpg", unrecognised!("FF")),
        image("truncated/astronaut_00002.j2k", unrecognised!("FF 4F")),
        image("truncated/astronaut_00002.jpg", unrecognised!("FF D8")),
        image("truncated/astronaut_00003.jpg", decode!["truncated"]),
        image("truncated/astronaut_00004.j2k", decode!["JPEG 2000"]),
        image("truncated/astronaut_00004.png", unrecognised!("89 50 4E 47")),
        image("truncated/astronaut_00008.png", decode!["truncated"]),
        image("truncated/astronaut_00020.j2k", decode!["JPEG 2000"]),
        image("truncated/astronaut_00020.jpg", decode!["truncated"]),
        image("truncated/astronaut_00020.png", decode!["truncated"]),
        image("truncated/astronaut_00033.png", decode!["truncated"]),
        image("truncated/astronaut_00047.j2k", decode!["JPEG 2000"]),
        image("truncated/astronaut_00150.j2k", decode!["JPEG 2000"]),
        image("truncated/astronaut_00162.jpg", decode!["truncated"]),
        image("truncated/astronaut_00234.jpg", decode!["truncated"]),
        image("truncated/astronaut_00301.j2k", decode!["JPEG 2000"]),
        image("truncated/astronaut_00442.png", decode!["IEND", "truncated"]),
        image("truncated/astronaut_00452.j2k", decode!["JPEG 2000"]),
        image("truncated/astronaut_00469.jpg", decode!["truncated"]),
        image("truncated/astronaut_00603.j2k", decode!["JPEG 2000"]),
        image("truncated/astronaut_00704.jpg", decode!["truncated"]),
        image("truncated/astronaut_00754.j2k", decode!["JPEG 2000"]),
        image("truncated/astronaut_00885.png", decode!["IEND", "truncated"]),
        image("truncated/astronaut_00905.j2k", decode!["JPEG 2000"]),
        image("truncated/astronaut_00939.jpg", decode!["truncated"]),
        image("truncated/astronaut_01056.j2k", decode!["JPEG 2000"]),
        image("truncated/astronaut_01173.jpg", decode!["truncated"]),
        image("truncated/astronaut_01206.j2k", decode!["JPEG 2000"]),
        image("truncated/astronaut_01328.png", decode!["IEND", "truncated"]),
        image("truncated/astronaut_01408.jpg", decode!["truncated"]),
        image("truncated/astronaut_01643.jpg", decode!["truncated"]),
        image("truncated/astronaut_01771.png", decode!["IEND", "truncated"]),
        image("truncated/astronaut_01877.jpg", decode!["truncated"]),
        image("truncated/astronaut_02214.png", decode!["IEND", "truncated"]),
        image("truncated/astronaut_02657.png", decode!["IEND", "truncated"]),
        image("truncated/astronaut_03100.png", decode!["IEND", "truncated"]),
        image("truncated/astronaut_03542.png", decode!["IEND", "truncated"]),
        image("truncated/astronaut_grey_00011.jp2", unrecognised!("00 00 00 0C")),
        image("truncated/astronaut_grey_00040.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_grey_00096.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_grey_00127.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_grey_00192.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_grey_00289.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_grey_00385.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_grey_00481.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_grey_00578.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_grey_00674.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_grey_00770.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_rgb_00006.jp2", unrecognised!("00 00 00 0C")),
        image("truncated/astronaut_rgb_00012.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_rgb_00030.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_rgb_00095.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_rgb_00150.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_rgb_00301.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_rgb_00452.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_rgb_00603.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_rgb_00754.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_rgb_00905.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_rgb_01056.jp2", decode!["JPEG 2000"]),
        image("truncated/astronaut_rgb_01206.jp2", decode!["JPEG 2000"]),
        card("truncated/dg2_19794_jpeg_00001.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::Truncated { needed: 2, available: 1 } }, ["truncated", "2 bytes needed"])),
        card("truncated/dg2_19794_jpeg_00003.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::Truncated { needed: 4, available: 3 } }, ["truncated", "4 bytes needed"])),
        card("truncated/dg2_19794_jpeg_00006.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1975, available: 2 } }, ["element 75", "1975"])),
        card("truncated/dg2_19794_jpeg_00010.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1975, available: 6 } }, ["element 75", "1975"])),
        card("truncated/dg2_19794_jpeg_00040.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1975, available: 36 } }, ["element 75", "1975"])),
        card("truncated/dg2_19794_jpeg_00060.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1975, available: 56 } }, ["element 75", "1975"])),
        card("truncated/dg2_19794_jpeg_00247.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1975, available: 243 } }, ["element 75", "1975"])),
        card("truncated/dg2_19794_jpeg_00494.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1975, available: 490 } }, ["element 75", "1975"])),
        card("truncated/dg2_19794_jpeg_00742.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1975, available: 738 } }, ["element 75", "1975"])),
        card("truncated/dg2_19794_jpeg_00989.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1975, available: 985 } }, ["element 75", "1975"])),
        card("truncated/dg2_19794_jpeg_01236.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1975, available: 1232 } }, ["element 75", "1975"])),
        card("truncated/dg2_19794_jpeg_01484.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1975, available: 1480 } }, ["element 75", "1975"])),
        card("truncated/dg2_19794_jpeg_01731.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1975, available: 1727 } }, ["element 75", "1975"])),
        card("truncated/dg2_19794_jpeg_01978.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1975, available: 1974 } }, ["element 75", "1975"])),
        card("truncated/dg2_39794_jp2_00002.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::Truncated { needed: 4, available: 2 } }, ["truncated", "4 bytes needed"])),
        card("truncated/dg2_39794_jp2_00005.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1310, available: 1 } }, ["element 75", "1310"])),
        card("truncated/dg2_39794_jp2_00030.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1310, available: 26 } }, ["element 75", "1310"])),
        card("truncated/dg2_39794_jp2_00060.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1310, available: 56 } }, ["element 75", "1310"])),
        card("truncated/dg2_39794_jp2_00164.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1310, available: 160 } }, ["element 75", "1310"])),
        card("truncated/dg2_39794_jp2_00328.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1310, available: 324 } }, ["element 75", "1310"])),
        card("truncated/dg2_39794_jp2_00492.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1310, available: 488 } }, ["element 75", "1310"])),
        card("truncated/dg2_39794_jp2_00657.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1310, available: 653 } }, ["element 75", "1310"])),
        card("truncated/dg2_39794_jp2_00821.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1310, available: 817 } }, ["element 75", "1310"])),
        card("truncated/dg2_39794_jp2_00985.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1310, available: 981 } }, ["element 75", "1310"])),
        card("truncated/dg2_39794_jp2_01149.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1310, available: 1145 } }, ["element 75", "1310"])),
        card("truncated/dg2_39794_jp2_01313.bin", err!(Error::Malformed { structure: DG2, offset: 0, problem: Malformation::ValueTruncated { tag: 0x75, declared: 1310, available: 1309 } }, ["element 75", "1310"])),
        card("truncated/fac_record_j2k_00003.bin", err!(Error::UnrecognisedFormat { what: "card data", magic } if magic == "46 41 43", ["46 41 43"])),
        card("truncated/fac_record_j2k_00004.bin", err!(Error::Malformed { structure: FAC, offset: 0, problem: Malformation::Truncated { needed: 14, available: 4 } }, ["truncated", "14 bytes needed"])),
        card("truncated/fac_record_j2k_00013.bin", err!(Error::Malformed { structure: FAC, offset: 0, problem: Malformation::Truncated { needed: 14, available: 13 } }, ["truncated", "14 bytes needed"])),
        card("truncated/fac_record_j2k_00020.bin", err!(Error::Malformed { structure: FAC, offset: 8, problem: Malformation::Mismatch { field: "record length", declared: 1269, actual: 20 } }, ["record length", "1269"])),
        card("truncated/fac_record_j2k_00040.bin", err!(Error::Malformed { structure: FAC, offset: 8, problem: Malformation::Mismatch { field: "record length", declared: 1269, actual: 40 } }, ["record length", "1269"])),
        card("truncated/fac_record_j2k_00158.bin", err!(Error::Malformed { structure: FAC, offset: 8, problem: Malformation::Mismatch { field: "record length", declared: 1269, actual: 158 } }, ["record length", "1269"])),
        card("truncated/fac_record_j2k_00317.bin", err!(Error::Malformed { structure: FAC, offset: 8, problem: Malformation::Mismatch { field: "record length", declared: 1269, actual: 317 } }, ["record length", "1269"])),
        card("truncated/fac_record_j2k_00475.bin", err!(Error::Malformed { structure: FAC, offset: 8, problem: Malformation::Mismatch { field: "record length", declared: 1269, actual: 475 } }, ["record length", "1269"])),
        card("truncated/fac_record_j2k_00634.bin", err!(Error::Malformed { structure: FAC, offset: 8, problem: Malformation::Mismatch { field: "record length", declared: 1269, actual: 634 } }, ["record length", "1269"])),
        card("truncated/fac_record_j2k_00793.bin", err!(Error::Malformed { structure: FAC, offset: 8, problem: Malformation::Mismatch { field: "record length", declared: 1269, actual: 793 } }, ["record length", "1269"])),
        card("truncated/fac_record_j2k_00951.bin", err!(Error::Malformed { structure: FAC, offset: 8, problem: Malformation::Mismatch { field: "record length", declared: 1269, actual: 951 } }, ["record length", "1269"])),
        card("truncated/fac_record_j2k_01110.bin", err!(Error::Malformed { structure: FAC, offset: 8, problem: Malformation::Mismatch { field: "record length", declared: 1269, actual: 1110 } }, ["record length", "1269"])),
        card("truncated/fac_record_j2k_01268.bin", err!(Error::Malformed { structure: FAC, offset: 8, problem: Malformation::Mismatch { field: "record length", declared: 1269, actual: 1268 } }, ["record length", "1269"])),
        card("truncated/mynumber_ff20_jp2_00001.bin", err!(Error::UnrecognisedFormat { what: "card data", magic } if magic == "FF", ["FF"])),
        card("truncated/mynumber_ff20_jp2_00002.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 0, problem: Malformation::Truncated { needed: 3, available: 2 } }, ["truncated"])),
        card("truncated/mynumber_ff20_jp2_00003.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 0, problem: Malformation::Truncated { needed: 5, available: 3 } }, ["truncated"])),
        card("truncated/mynumber_ff20_jp2_00010.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 0, problem: Malformation::ValueTruncated { tag: 0xFF20, declared: 803, available: 5 } }, ["element FF20", "803"])),
        card("truncated/mynumber_ff20_jp2_00025.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 0, problem: Malformation::ValueTruncated { tag: 0xFF20, declared: 803, available: 20 } }, ["element FF20", "803"])),
        card("truncated/mynumber_ff20_jp2_00101.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 0, problem: Malformation::ValueTruncated { tag: 0xFF20, declared: 803, available: 96 } }, ["element FF20", "803"])),
        card("truncated/mynumber_ff20_jp2_00202.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 0, problem: Malformation::ValueTruncated { tag: 0xFF20, declared: 803, available: 197 } }, ["element FF20", "803"])),
        card("truncated/mynumber_ff20_jp2_00303.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 0, problem: Malformation::ValueTruncated { tag: 0xFF20, declared: 803, available: 298 } }, ["element FF20", "803"])),
        card("truncated/mynumber_ff20_jp2_00404.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 0, problem: Malformation::ValueTruncated { tag: 0xFF20, declared: 803, available: 399 } }, ["element FF20", "803"])),
        card("truncated/mynumber_ff20_jp2_00505.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 0, problem: Malformation::ValueTruncated { tag: 0xFF20, declared: 803, available: 500 } }, ["element FF20", "803"])),
        card("truncated/mynumber_ff20_jp2_00606.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 0, problem: Malformation::ValueTruncated { tag: 0xFF20, declared: 803, available: 601 } }, ["element FF20", "803"])),
        card("truncated/mynumber_ff20_jp2_00707.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 0, problem: Malformation::ValueTruncated { tag: 0xFF20, declared: 803, available: 702 } }, ["element FF20", "803"])),
        card("truncated/mynumber_ff20_jp2_00807.bin", err!(Error::Malformed { structure: MY_NUMBER, offset: 0, problem: Malformation::ValueTruncated { tag: 0xFF20, declared: 803, available: 802 } }, ["element FF20", "803"])),
    ]
}

/// Width and height of a decoded picture, or the error; a panic's message as `Err(String)`.
type Outcome = Result<Result<(u32, u32), Error>, String>;

fn guarded(read: impl FnOnce() -> Result<(u32, u32), Error>) -> Outcome {
    catch_unwind(AssertUnwindSafe(read)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

fn read_card(bytes: &[u8]) -> Outcome {
    guarded(|| CardPhoto::from_bytes(bytes).map(|p| p.dimensions()))
}

fn read_live(bytes: &[u8]) -> Outcome {
    guarded(|| LiveFrame::from_bytes(bytes).map(|f| f.dimensions()))
}

/// Why `outcome` does not meet `expect`, if it does not.
fn mismatch(expect: &Expect, outcome: &Outcome) -> Option<String> {
    match (expect, outcome) {
        (_, Err(panic)) => Some(format!("panicked: {panic}")),
        (Expect::Ok(w, h), Ok(Ok(dims))) if (*w, *h) == *dims => None,
        (Expect::Ok(w, h), Ok(Ok((gw, gh)))) => Some(format!("expected a {w}x{h} picture, got {gw}x{gh}")),
        (Expect::Ok(w, h), Ok(Err(e))) => Some(format!("expected a {w}x{h} picture, got {e:?} ({e})")),
        (Expect::Err { pattern, .. }, Ok(Ok((w, h)))) => {
            Some(format!("expected {}, got a {w}x{h} picture", tidy(pattern)))
        }
        (Expect::Err { pattern, check, mentions }, Ok(Err(e))) => {
            let text = e.to_string();
            let missing: Vec<_> = mentions.iter().filter(|m| !text.contains(*m)).collect();
            if !check(e) {
                Some(format!("expected {}, got {e:?} ({text})", tidy(pattern)))
            } else if !missing.is_empty() {
                Some(format!("the text {text:?} does not mention {missing:?}"))
            } else if text.starts_with(|c: char| c.is_uppercase()) {
                Some(format!("the text {text:?} does not start in lower case"))
            } else if matches!(e, Error::Decode { .. }) && debug_text(&text) {
                Some(format!("the text {text:?} shows Rust debug formatting"))
            } else {
                None
            }
        }
    }
}

/// A pattern as `stringify!` spells it after passing through a macro, spaced as code.
fn tidy(pattern: &str) -> String {
    pattern.replace(" :: ", "::").replace(" : ", ": ").replace(" ,", ",")
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(corpus().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Whether an error's text shows Rust debug formatting (a struct, an
/// escaped character, an `Option`, a path) rather than plain words; checked
/// on image decoding errors, whose texts pass on the decoders' own.
fn debug_text(text: &str) -> bool {
    ["{", "}", "\\", "Some(", "::"].iter().any(|t| text.contains(t))
}

#[test]
fn every_hostile_file_gives_its_expected_result() {
    let mut failures = Vec::new();
    for case in cases() {
        let bytes = read(case.file);
        if let Some(why) = mismatch(&case.card, &read_card(&bytes)) {
            failures.push(format!("{} (CardPhoto): {why}", case.file));
        }
        if let Some(live) = &case.live {
            if let Some(why) = mismatch(live, &read_live(&bytes)) {
                failures.push(format!("{} (LiveFrame): {why}", case.file));
            }
        }
    }
    assert!(failures.is_empty(), "{} of the corpus' expectations failed:\n{}", failures.len(), failures.join("\n"));
}

/// Every file under `dir`, relative to the corpus, `/`-separated.
fn files_under(dir: &Path, out: &mut Vec<String>) {
    for path in crate::common::files_under(dir) {
        let relative = path.strip_prefix(corpus()).unwrap();
        out.push(relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
    }
}

#[test]
fn every_corpus_file_has_an_expectation_and_every_expectation_a_file() {
    let mut on_disk = Vec::new();
    files_under(&corpus(), &mut on_disk);
    on_disk.retain(|f| f != "README.md");
    let listed: Vec<&str> = cases().iter().map(|c| c.file).collect();
    let mut unlisted: Vec<_> = on_disk.iter().filter(|f| !listed.contains(&f.as_str())).collect();
    unlisted.sort();
    assert!(unlisted.is_empty(), "files in tests/hostile without an expectation in hostile.rs: {unlisted:?}");
    let absent: Vec<_> = listed.iter().filter(|f| !on_disk.iter().any(|d| d == *f)).collect();
    assert!(absent.is_empty(), "expectations in hostile.rs without a file in tests/hostile: {absent:?}");
    let mut sorted = listed.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), listed.len(), "a file is listed twice");
}

#[test]
fn the_corpus_stays_small() {
    let mut files = Vec::new();
    files_under(&corpus(), &mut files);
    let total: u64 = files.iter().map(|f| std::fs::metadata(corpus().join(f)).unwrap().len()).sum();
    assert!(total < 300 * 1024, "tests/hostile holds {total} bytes");
}

/// The bases, whether they are plain images (read through both APIs), and
/// where their data ends (My Number data is followed by padding).
fn bases() -> Vec<(String, Vec<u8>, bool, usize)> {
    let mut names: Vec<String> = std::fs::read_dir(corpus().join("base"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 9, "the bases: {names:?}");
    names
        .into_iter()
        .map(|name| {
            let bytes = read(&format!("base/{name}"));
            let plain = !name.ends_with(".bin");
            let end = match bytes.as_slice() {
                // FF20 82 LL LL: the element, then 0xFF padding.
                [0xFF, 0x20, 0x82, hi, lo, ..] => 5 + usize::from(u16::from_be_bytes([*hi, *lo])),
                _ => bytes.len(),
            };
            assert!(end < bytes.len() || !name.starts_with("mynumber"), "{name}: padding expected");
            (name, bytes, plain, end)
        })
        .collect()
}

/// `1, 2, 3, 7` as "1-3, 7".
fn ranges(offsets: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < offsets.len() {
        let mut j = i;
        while j + 1 < offsets.len() && offsets[j + 1] == offsets[j] + 1 {
            j += 1;
        }
        out.push(if i == j { offsets[i].to_string() } else { format!("{}-{}", offsets[i], offsets[j]) });
        i = j + 1;
    }
    out.join(", ")
}

#[test]
fn every_strict_prefix_of_every_base_is_an_error_never_a_panic() {
    let mut failures = Vec::new();
    for (name, bytes, plain, end) in bases() {
        let (mut decoded, mut panicked, mut silent, mut debug) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for cut in 0..end {
            let prefix = &bytes[..cut];
            let mut outcomes = vec![("CardPhoto", read_card(prefix))];
            if plain {
                outcomes.push(("LiveFrame", read_live(prefix)));
            }
            for (api, outcome) in outcomes {
                match outcome {
                    Err(panic) => panicked.push(format!("{api} at {cut}: {panic}")),
                    Ok(Ok(_)) => decoded.push((api, cut)),
                    Ok(Err(e)) if e.to_string().trim().is_empty() => silent.push(cut),
                    Ok(Err(e @ Error::Decode { .. })) if debug_text(&e.to_string()) => {
                        debug.push(format!("{api} at {cut}: {e}"))
                    }
                    Ok(Err(_)) => {}
                }
            }
        }
        for api in ["CardPhoto", "LiveFrame"] {
            let cuts: Vec<usize> = decoded.iter().filter(|(a, _)| *a == api).map(|(_, c)| *c).collect();
            if !cuts.is_empty() {
                failures.push(format!(
                    "base/{name} ({} bytes): {} of {end} strict prefixes decode through {api}, cut at {}",
                    bytes.len(),
                    cuts.len(),
                    ranges(&cuts)
                ));
            }
        }
        if !panicked.is_empty() {
            failures.push(format!("base/{name}: {} prefixes panic: {}", panicked.len(), panicked.join("; ")));
        }
        if !silent.is_empty() {
            failures.push(format!("base/{name}: errors with an empty text at {}", ranges(&silent)));
        }
        if !debug.is_empty() {
            let first: Vec<_> = debug.iter().take(3).collect();
            failures.push(format!("base/{name}: {} errors show Rust debug text, as {first:?}", debug.len()));
        }
    }
    assert!(failures.is_empty(), "truncated input must be refused:\n{}", failures.join("\n"));
}

#[test]
fn no_single_byte_change_to_a_base_panics() {
    let mut failures = Vec::new();
    for (name, bytes, plain, _) in bases() {
        for at in 0..bytes.len() {
            for value in [0x00, 0xFF, bytes[at] ^ 0x01] {
                if value == bytes[at] {
                    continue;
                }
                let mut changed = bytes.clone();
                changed[at] = value;
                let mut outcomes = vec![read_card(&changed)];
                if plain {
                    outcomes.push(read_live(&changed));
                }
                for outcome in outcomes {
                    match outcome {
                        Err(panic) => {
                            failures.push(format!("base/{name}, byte {at} set to {value:02X}: panicked: {panic}"))
                        }
                        Ok(Err(e)) if e.to_string().trim().is_empty() => {
                            failures.push(format!("base/{name}, byte {at} set to {value:02X}: an error with no text"))
                        }
                        Ok(Err(e @ Error::Decode { .. })) if debug_text(&e.to_string()) => {
                            failures.push(format!("base/{name}, byte {at} set to {value:02X}: debug text in {e}"))
                        }
                        Ok(_) => {}
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} changed bases failed:\n{}", failures.len(), failures.join("\n"));
}

/// A JPEG frame header (SOF) segment: `marker`, height, width, and components
/// of the given sampling factors (`0x11` for none).
fn sof(marker: u8, width: u16, height: u16, sampling: &[u8]) -> Vec<u8> {
    let mut body = vec![8];
    body.extend_from_slice(&height.to_be_bytes());
    body.extend_from_slice(&width.to_be_bytes());
    body.push(sampling.len() as u8);
    for (i, &s) in sampling.iter().enumerate() {
        body.extend_from_slice(&[i as u8 + 1, s, u8::from(i > 0)]);
    }
    [&[0xFF, marker][..], &((body.len() + 2) as u16).to_be_bytes(), &body].concat()
}

/// SOI, a frame header, one scan of `data_len` bytes of entropy-coded data, EOI.
fn jpeg_with(sof: &[u8], data_len: usize) -> Vec<u8> {
    let scan = [0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0];
    [&[0xFF, 0xD8][..], sof, &scan, &vec![0x55; data_len], &[0xFF, 0xD9]].concat()
}

#[test]
fn large_jpeg_headers_are_refused_quickly_before_decoding() {
    let started = std::time::Instant::now();
    // A progressive 65535x65535 JPEG of a few hundred bytes.
    let bomb = jpeg_with(&sof(0xC2, 65535, 65535, &[0x22, 0x11, 0x11]), 200);
    assert!(matches!(
        LiveFrame::from_bytes(&bomb),
        Err(Error::LimitExceeded { limit: "width", max: 16384, actual: 65535 })
    ));
    // 16000x4000: within every size limit, but in 20 KB (about 3200 pixels per byte).
    let thin = jpeg_with(&sof(0xC0, 16000, 4000, &[0x22, 0x11, 0x11]), 20_000);
    let per_byte = 16000 * 4000 / thin.len() as u64;
    assert!(matches!(
        CardPhoto::from_bytes(&thin),
        Err(Error::LimitExceeded { limit: "pixels per byte", max: 256, actual }) if actual == per_byte
    ));
    // A progressive 8000x6000 JPEG without chroma subsampling in 200 KB (240 pixels per byte): even at
    // 1/8 scale its coefficients alone take 288 MB, which the header shows before anything is decoded.
    let wide = jpeg_with(&sof(0xC2, 8000, 6000, &[0x11, 0x11, 0x11]), 200_000);
    match LiveFrame::from_bytes(&wide) {
        Err(Error::LimitExceeded { limit: "decode memory", max: 134217728, actual }) => {
            assert!(actual > 288_000_000, "{actual}")
        }
        other => panic!("expected the decode memory limit, got {other:?}"),
    }
    assert!(started.elapsed().as_millis() < 500, "refused in {:?}", started.elapsed());
}

/// A decode error's reason, or a panic naming what came instead.
fn decode_reason(bytes: &[u8]) -> String {
    match LiveFrame::from_bytes(bytes) {
        Err(Error::Decode { reason }) => reason,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn broken_images_are_called_what_they_are() {
    let jpeg = read("base/astronaut.jpg");
    let png = read("base/astronaut.png");
    // Deterministic garbage (xorshift).
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let jpeg_garbage = [&[0xFF, 0xD8, 0xFF, 0x13][..], &garbage].concat();
    let png_garbage = [&png[..33], &garbage[..]].concat();
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("a 20-byte JPEG", jpeg[..20].to_vec(), "too short: the JPEG ends after 20 bytes"),
        ("a JPEG cut in its image data", jpeg[..jpeg.len() - 40].to_vec(), "truncated: the JPEG's image data stops"),
        ("garbage after a JPEG start marker", jpeg_garbage, "corrupt JPEG data at byte 2"),
        ("a 20-byte PNG", png[..20].to_vec(), "too short: the PNG ends after 20 bytes"),
        ("a PNG cut in its image data", png[..png.len() - 100].to_vec(), "truncated: the PNG ends"),
        ("garbage after a PNG header", png_garbage, "corrupt PNG data at byte 33"),
    ];
    for (what, bytes, expected) in cases {
        let reason = decode_reason(&bytes);
        assert!(reason.starts_with(expected), "{what}: {reason:?}");
        assert!(!reason.contains("a complete"), "{what}: {reason:?}");
    }
}

#[test]
fn the_reduced_scale_jpeg_decoder_refuses_every_cut_and_survives_every_byte_change() {
    // Tight enough that the 60x80 base is decoded at half size by jpeg-decoder, not by zune-jpeg.
    let limits = honnin::Limits { max_jpeg_decoded_pixels: 30 * 40, ..honnin::Limits::default() };
    let baseline = read("base/astronaut.jpg");
    let picture = image::load_from_memory(&baseline).unwrap().to_rgb8();
    let progressive = crate::progressive_jpeg::encode(picture.width(), picture.height(), picture.as_raw());
    let mut failures = Vec::new();
    for (name, bytes) in [("baseline", baseline), ("progressive", progressive)] {
        let decode = |b: &[u8]| guarded(|| LiveFrame::from_bytes_with_limits(b, &limits).map(|f| f.dimensions()));
        match decode(&bytes) {
            Ok(Ok((30, 40))) => {}
            other => failures.push(format!("{name}: expected a 30x40 picture, got {other:?}")),
        }
        for cut in 0..bytes.len() {
            match decode(&bytes[..cut]) {
                Ok(Err(e)) if !debug_text(&e.to_string()) => {}
                other => failures.push(format!("{name} cut at {cut}: {other:?}")),
            }
        }
        for at in 0..bytes.len() {
            for value in [0x00, 0xFF, bytes[at] ^ 0x01] {
                let mut changed = bytes.clone();
                changed[at] = value;
                match decode(&changed) {
                    Err(panic) => failures.push(format!("{name}, byte {at} set to {value:02X}: panicked: {panic}")),
                    Ok(Err(e @ Error::Decode { .. })) if debug_text(&e.to_string()) => {
                        failures.push(format!("{name}, byte {at} set to {value:02X}: debug text in {e}"))
                    }
                    Ok(_) => {}
                }
            }
        }
    }
    let shown: Vec<_> = failures.iter().take(20).collect();
    assert!(failures.is_empty(), "{} failures, first {shown:#?}", failures.len());
}

#[test]
fn a_jpeg_of_thousands_of_repeated_scans_is_refused_at_once() {
    // A real progressive JPEG of a face, its last scan repeated 5,000 times:
    // a decoder that walks every block on every scan would take minutes.
    let face = image::open(crate::common::lfw_image("images/Colin_Powell/Colin_Powell_0001.jpg")).unwrap().to_rgb8();
    let jpeg = crate::progressive_jpeg::encode(face.width(), face.height(), face.as_raw());
    let last_scan = jpeg.windows(2).rposition(|w| w == [0xFF, 0xDA]).expect("a scan");
    let (head, tail) = jpeg.split_at(last_scan);
    let scan = &tail[..tail.len() - 2]; // without EOI
    let mut hostile = head.to_vec();
    for _ in 0..5000 {
        hostile.extend_from_slice(scan);
    }
    hostile.extend_from_slice(&[0xFF, 0xD9]);
    let started = std::time::Instant::now();
    for result in [CardPhoto::from_bytes(&hostile).map(|_| ()), LiveFrame::from_bytes(&hostile).map(|_| ())] {
        match result {
            Err(Error::LimitExceeded { limit: "jpeg scans", max: 64, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
    // The original, with its handful of scans, still decodes.
    LiveFrame::from_bytes(&jpeg).unwrap();
}
