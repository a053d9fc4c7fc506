//! JPEG 2000 card photos: a scan of the codestream's headers that bounds the
//! decoder's memory before it runs, then strict decoding with
//! `hayro-jpeg2000` (pure Rust, built without its SIMD feature).
//!
//! Memory is not only pixels: a JPEG 2000 decoder keeps bookkeeping for every
//! code-block and tile, and a few hundred bytes of headers can ask for 4x4
//! code-blocks or 1x1 tiles over a large image. So the scan reads the image and
//! tile sizes (SIZ) and the smallest code-block and precinct sizes anywhere in
//! the main and tile-part headers (COD, COC), and the estimate counts them.

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::input::limits::Limits;
use crate::input::pixels::Pixels;

/// Working memory per pixel and component (decoded f32 samples, wavelet
/// coefficients, 8-bit output), plus a per-pixel share for the wavelet's
/// temporary rows and the RGB result. Measured peaks: 17 bytes per pixel for
/// grey, 28 for RGB; the estimate is 20 and 38.
const BYTES_PER_SAMPLE: u64 = 9;
const BYTES_PER_PIXEL: u64 = 11;
/// Decoder bookkeeping per code-block (measured: about 200 bytes with 4x4
/// code-blocks).
const BYTES_PER_BLOCK: u64 = 256;
/// Bookkeeping per tile and component, and per decomposition level of each
/// (the decoder builds every tile up front; measured: about 260 bytes per
/// tile-component at 5 levels, 14 more per extra level).
const BYTES_PER_TILE_COMPONENT: u64 = 128;
const BYTES_PER_TILE_LEVEL: u64 = 32;

/// What the headers say, as far as memory is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) components: u32,
    pub(crate) tiles: u64,
    /// log2 of the smallest effective code-block area in any header.
    pub(crate) min_block_log2: u32,
    /// The most decomposition levels in any header.
    pub(crate) max_levels: u32,
}

impl Layout {
    /// The decoder's working memory, in bytes.
    pub(crate) fn decode_memory(&self) -> u64 {
        let pixels = u64::from(self.width) * u64::from(self.height);
        let comps = u64::from(self.components);
        let blocks = (pixels >> self.min_block_log2).saturating_add(1).saturating_mul(comps);
        let per_tile_component = BYTES_PER_TILE_COMPONENT + BYTES_PER_TILE_LEVEL * (u64::from(self.max_levels) + 1);
        pixels
            .saturating_mul(BYTES_PER_SAMPLE * comps + BYTES_PER_PIXEL)
            .saturating_add(blocks.saturating_mul(BYTES_PER_BLOCK))
            .saturating_add(self.tiles.saturating_mul(comps).saturating_mul(per_tile_component))
    }
}

fn bad(reason: impl Into<String>) -> Error {
    Error::Decode { reason: format!("JPEG 2000 header: {}", reason.into()) }
}

fn be16(b: &[u8], i: usize) -> Result<u16> {
    b.get(i..i + 2).map(|s| u16::from_be_bytes([s[0], s[1]])).ok_or_else(|| bad("truncated"))
}

fn be32(b: &[u8], i: usize) -> Result<u32> {
    b.get(i..i + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]])).ok_or_else(|| bad("truncated"))
}

/// A JP2 box type as its four letters when they are printable, else in hex.
fn box_name(kind: &[u8]) -> String {
    if kind.iter().all(|b| b.is_ascii_graphic()) {
        String::from_utf8_lossy(kind).into_owned()
    } else {
        kind.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
    }
}

/// The codestream of a JP2 file (its one `jp2c` box) or of a raw J2K codestream.
/// A file with two codestreams is refused: the decoder might decode the other.
fn codestream(bytes: &[u8]) -> Result<&[u8]> {
    if bytes.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return Ok(bytes);
    }
    let mut found: Option<&[u8]> = None;
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let len = be32(bytes, at)? as u64;
        let kind = &bytes[at + 4..at + 8];
        let (header, len) = match len {
            0 => (8, (bytes.len() - at) as u64),
            1 => {
                let hi = u64::from(be32(bytes, at + 8)?);
                let lo = u64::from(be32(bytes, at + 12)?);
                (16, (hi << 32) | lo)
            }
            n => (8, n),
        };
        if len < header as u64 || len > (bytes.len() - at) as u64 {
            return Err(bad(format!("box {} runs past the end of the file", box_name(kind))));
        }
        if kind == b"jp2c" {
            if found.is_some() {
                return Err(bad("more than one codestream box (jp2c)"));
            }
            found = Some(&bytes[at + header..at + len as usize]);
        }
        at += len as usize;
    }
    found.ok_or_else(|| bad("no codestream box (jp2c)"))
}

/// Reads SIZ, and COD / COC from the main header and every tile-part header.
pub(crate) fn scan(bytes: &[u8]) -> Result<Layout> {
    let cs = codestream(bytes)?;
    if !cs.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return Err(bad("the codestream does not start with SOC and SIZ"));
    }
    let mut layout: Option<Layout> = None;
    let mut at = 2usize;
    // Main header: marker segments up to the first tile-part (SOT).
    loop {
        let marker = be16(cs, at)?;
        if marker == 0xFF90 {
            break;
        }
        let len = usize::from(be16(cs, at + 2)?);
        let segment = cs.get(at + 4..at + 2 + len).filter(|_| len >= 2).ok_or_else(|| bad("truncated main header"))?;
        check_length(marker, segment, layout.as_ref())?;
        match marker {
            0xFF51 => layout = Some(siz(segment)?),
            0xFF52 | 0xFF53 => code_blocks(marker, segment, layout.as_mut().ok_or_else(|| bad("COD before SIZ"))?)?,
            0xFF00..=0xFF3F | 0xFFD9 => return Err(bad(format!("marker {marker:04X} in the main header"))),
            _ => {}
        }
        at += 2 + len;
    }
    let mut layout = layout.ok_or_else(|| bad("no SIZ"))?;
    // Tile-parts: SOT (length 10, Psot = tile-part length), header segments, SOD, data.
    while be16(cs, at).ok() == Some(0xFF90) {
        let start = at;
        if be16(cs, at + 2)? != 10 {
            return Err(bad("a tile-part header (SOT) whose length is not 10"));
        }
        let psot = be32(cs, at + 6)? as usize;
        at += 12;
        loop {
            let marker = be16(cs, at)?;
            if marker == 0xFF93 {
                break;
            }
            let len = usize::from(be16(cs, at + 2)?);
            let segment =
                cs.get(at + 4..at + 2 + len).filter(|_| len >= 2).ok_or_else(|| bad("truncated tile-part header"))?;
            check_length(marker, segment, Some(&layout))?;
            if marker == 0xFF52 || marker == 0xFF53 {
                code_blocks(marker, segment, &mut layout)?;
            }
            at += 2 + len;
        }
        if psot == 0 {
            break; // the last tile-part runs to the end
        }
        match start.checked_add(psot) {
            Some(end) if psot >= 14 && end <= cs.len() => at = end,
            _ => return Err(bad("a tile-part length (Psot) outside the codestream")),
        }
    }
    Ok(layout)
}

/// The decoder reads SIZ, COD, COC and RGN field by field and does not skip
/// by the segment's length, so a length longer than the fields could hide a
/// segment from this scan that the decoder would see. Each must be exact.
fn check_length(marker: u16, s: &[u8], layout: Option<&Layout>) -> Result<()> {
    let components = layout.map_or(0, |l| l.components);
    let component_bytes = if components < 257 { 1 } else { 2 };
    let precincts = |style: Option<&u8>, levels: Option<&u8>| match (style, levels) {
        (Some(style), Some(&levels)) if style & 1 != 0 => usize::from(levels) + 1,
        _ => 0,
    };
    let (name, expected) = match marker {
        0xFF51 => ("SIZ", 36 + 3 * usize::from(be16(s, 34)?)),
        0xFF52 => ("COD", 10 + precincts(s.first(), s.get(5))),
        0xFF53 => ("COC", component_bytes + 6 + precincts(s.get(component_bytes), s.get(component_bytes + 1))),
        0xFF5E => ("RGN", component_bytes + 2),
        _ => return Ok(()),
    };
    if s.len() != expected {
        return Err(bad(format!(
            "{name} (marker {marker:04X}): a segment length of {} that disagrees with its fields ({})",
            s.len() + 2,
            expected + 2
        )));
    }
    Ok(())
}

fn siz(s: &[u8]) -> Result<Layout> {
    // Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, XTsiz, YTsiz, XTOsiz, YTOsiz, Csiz.
    let (x, y, xo, yo) = (be32(s, 2)?, be32(s, 6)?, be32(s, 10)?, be32(s, 14)?);
    let (xt, yt, xto, yto) = (be32(s, 18)?, be32(s, 22)?, be32(s, 26)?, be32(s, 30)?);
    let components = u32::from(be16(s, 34)?);
    if x <= xo || y <= yo || xt == 0 || yt == 0 || components == 0 || xto > xo || yto > yo {
        return Err(bad("SIZ: empty image, zero tile size or no component"));
    }
    let tiles_x = (u64::from(x - xto)).div_ceil(u64::from(xt));
    let tiles_y = (u64::from(y - yto)).div_ceil(u64::from(yt));
    Ok(Layout {
        width: x - xo,
        height: y - yo,
        components,
        tiles: tiles_x.saturating_mul(tiles_y),
        // 64x64 unless a COD or COC says otherwise.
        min_block_log2: 12,
        max_levels: 0,
    })
}

/// COD or COC: code-block size exponents and, when given, precinct sizes.
fn code_blocks(marker: u16, s: &[u8], layout: &mut Layout) -> Result<()> {
    let (style, at) = if marker == 0xFF52 {
        (*s.first().ok_or_else(|| bad("truncated COD"))?, 5) // Scod, SGcod (4)
    } else {
        let c = if layout.components < 257 { 1 } else { 2 };
        (*s.get(c).ok_or_else(|| bad("truncated COC"))?, c + 1) // Ccoc, Scoc
    };
    let [levels, xcb, ycb] = match s.get(at..at + 3) {
        Some(&[l, x, y]) => [usize::from(l), x as usize, y as usize],
        _ => return Err(bad("truncated coding style")),
    };
    let (xcb, ycb) = (xcb as u32, ycb as u32);
    if levels > 32 || xcb > 8 || ycb > 8 || xcb + ycb > 8 {
        return Err(bad("code-block size or decomposition levels out of range"));
    }
    let mut smallest = (xcb + 2) + (ycb + 2);
    if style & 1 != 0 {
        let precincts = s.get(at + 5..at + 5 + levels + 1).ok_or_else(|| bad("truncated precinct sizes"))?;
        for (r, &pp) in precincts.iter().enumerate() {
            let (ppx, ppy) = (u32::from(pp & 0x0F), u32::from(pp >> 4));
            // Below the lowest resolution, code-blocks live in half-size precinct partitions.
            let shrink = u32::from(r > 0);
            let x = (xcb + 2).min(ppx.saturating_sub(shrink));
            let y = (ycb + 2).min(ppy.saturating_sub(shrink));
            smallest = smallest.min(x + y);
        }
    }
    layout.min_block_log2 = layout.min_block_log2.min(smallest);
    layout.max_levels = layout.max_levels.max(levels as u32);
    Ok(())
}

/// Decodes a JP2 file or J2K codestream within `limits`.
pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<Pixels> {
    use hayro_jpeg2000::{ColorSpace, DecodeSettings, DecoderContext, Image};
    let layout = scan(bytes)?;
    limits.check_header(layout.width, layout.height, bytes.len(), layout.decode_memory())?;
    let jp2_err = |e: hayro_jpeg2000::DecodeError| Error::Decode { reason: format!("JPEG 2000: {e}") };
    // Strict: a truncated codestream is an error, not a picture with its missing data left grey.
    let settings = DecodeSettings { strict: true, ..DecodeSettings::default() };
    let image = Image::new(bytes, &settings).map_err(jp2_err)?;
    let (width, height) = (image.width(), image.height());
    if (width, height) != (layout.width, layout.height) {
        return Err(bad("the decoder and the header scan disagree on the image size"));
    }
    // A palette (JP2 pclr box) turns one coded component into several decoded ones.
    let decoded_channels = u32::from(image.color_space().num_channels()) + u32::from(image.has_alpha());
    if decoded_channels > layout.components {
        let expanded = Layout { components: decoded_channels, ..layout };
        limits.check_header(width, height, bytes.len(), expanded.decode_memory())?;
    }
    // Grey (with or without alpha) is replicated; RGB and 3-channel ICC are taken as RGB.
    let colour = match image.color_space() {
        ColorSpace::Gray | ColorSpace::Icc { num_channels: 1, .. } => false,
        ColorSpace::RGB | ColorSpace::Icc { num_channels: 3, .. } => true,
        ColorSpace::CMYK => return Err(Error::Decode { reason: "JPEG 2000 in grey or RGB, got CMYK".into() }),
        ColorSpace::Icc { num_channels, .. } | ColorSpace::Unknown { num_channels } => {
            return Err(Error::Decode { reason: format!("JPEG 2000 in grey or RGB, got {num_channels} channels") })
        }
    };
    let mut context = DecoderContext::default();
    let decoded = image.decode(&mut context).map_err(jp2_err)?;
    let samples = decoded.components().len();
    let needed = if colour { 3 } else { 1 };
    if samples < needed {
        return Err(Error::Decode { reason: format!("JPEG 2000 with {needed} colour components, got {samples}") });
    }
    let pixels = width as usize * height as usize;
    // Wiped on every path, a panic's unwinding included.
    let mut interleaved = Zeroizing::new(vec![0u8; pixels * samples]);
    decoded.store_u8_into(&mut interleaved);
    let mut rgb = Zeroizing::new(Vec::with_capacity(pixels * 3));
    for px in interleaved.chunks_exact(samples) {
        if colour {
            rgb.extend_from_slice(&px[..3]);
        } else {
            rgb.extend_from_slice(&[px[0]; 3]);
        }
    }
    drop(interleaved);
    Pixels::new(width, height, std::mem::take(&mut *rgb))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A J2K main header: SOC, SIZ (one component), COD, then SOT.
    fn header(w: u32, h: u32, tile: u32, xcb: u8, ycb: u8, precincts: Option<&[u8]>) -> Vec<u8> {
        let mut cs = vec![0xFF, 0x4F, 0xFF, 0x51, 0, 41, 0, 0];
        for v in [w, h, 0, 0, tile, tile, 0, 0] {
            cs.extend_from_slice(&v.to_be_bytes());
        }
        cs.extend_from_slice(&[0, 1, 7, 1, 1]);
        let mut cod = vec![u8::from(precincts.is_some()), 0, 0, 1, 0, 2, xcb, ycb, 0, 0];
        if let Some(p) = precincts {
            cod.extend_from_slice(p);
        }
        cs.extend_from_slice(&[0xFF, 0x52]);
        cs.extend_from_slice(&((cod.len() + 2) as u16).to_be_bytes());
        cs.extend_from_slice(&cod);
        cs.extend_from_slice(&[0xFF, 0x90, 0, 10, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0x93]);
        cs
    }

    #[test]
    fn small_code_blocks_precincts_and_tiles_raise_the_estimate() {
        let plain = scan(&header(1000, 1000, 1000, 4, 4, None)).unwrap();
        assert_eq!(
            (plain.width, plain.height, plain.components, plain.tiles, plain.min_block_log2),
            (1000, 1000, 1, 1, 12)
        );
        let tiny_blocks = scan(&header(1000, 1000, 1000, 0, 0, None)).unwrap();
        assert_eq!(tiny_blocks.min_block_log2, 4);
        // 62,500 code-blocks of 4x4 instead of 245 of 64x64, at 256 bytes each.
        assert_eq!(tiny_blocks.decode_memory() - plain.decode_memory(), (62_501 - 245) * 256);
        let tiny_precincts = scan(&header(1000, 1000, 1000, 4, 4, Some(&[0x22, 0x22, 0x22]))).unwrap();
        assert_eq!(tiny_precincts.min_block_log2, 2);
        let tiny_tiles = scan(&header(1000, 1000, 8, 4, 4, None)).unwrap();
        assert_eq!(tiny_tiles.tiles, 125 * 125);
        assert!(tiny_tiles.decode_memory() > plain.decode_memory());
    }

    #[test]
    fn malformed_headers_are_decode_errors() {
        let good = header(100, 100, 100, 4, 4, None);
        for cut in [3, 10, 40, 50, good.len() - 3] {
            assert!(matches!(scan(&good[..cut]), Err(Error::Decode { .. })), "cut at {cut}");
        }
        assert!(matches!(scan(&header(0, 100, 100, 4, 4, None)), Err(Error::Decode { .. })));
        assert!(matches!(scan(&header(100, 100, 100, 9, 4, None)), Err(Error::Decode { .. })));
    }
}
