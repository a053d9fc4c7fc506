//! A small progressive JPEG writer for tests: the `image` crate writes
//! baseline JPEGs only, and phones and web tools hand over progressive ones.
//!
//! Colour (YCbCr, no chroma subsampling), spectral selection only: a first
//! scan with the DC coefficients of all three components, then two scans per
//! component (AC 1-5 and AC 6-63). Huffman tables of fixed-length codes (4
//! bits for DC categories, 8 for AC symbols): valid, simple, not optimal.
//!
//! The writer alone: its test is in progressive_jpeg.rs, so that honnin-cli's
//! tests can include this file without running it again.

/// Encodes `rgb` (row-major, 3 bytes a pixel) as a progressive JPEG.
pub fn encode(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    assert_eq!(rgb.len(), width as usize * height as usize * 3);
    assert!(width <= 65535 && height <= 65535);
    let zigzag = zigzag();
    let tables = [quant_table(2.0, 1.0), quant_table(3.0, 1.6)];
    // Coefficients of every block of every component, in zig-zag order.
    let (bw, bh) = (width.div_ceil(8) as usize, height.div_ceil(8) as usize);
    let mut blocks = vec![vec![[0i16; 64]; bw * bh]; 3];
    let cos = cosines();
    let mut block = [[0f32; 64]; 3];
    for by in 0..bh {
        for bx in 0..bw {
            for y in 0..8 {
                for x in 0..8 {
                    // Edge pixels repeat past the image's right and bottom sides.
                    let px = (bx * 8 + x).min(width as usize - 1);
                    let py = (by * 8 + y).min(height as usize - 1);
                    let i = (py * width as usize + px) * 3;
                    let (r, g, b) = (f32::from(rgb[i]), f32::from(rgb[i + 1]), f32::from(rgb[i + 2]));
                    block[0][y * 8 + x] = 0.299 * r + 0.587 * g + 0.114 * b - 128.0;
                    block[1][y * 8 + x] = -0.168_736 * r - 0.331_264 * g + 0.5 * b;
                    block[2][y * 8 + x] = 0.5 * r - 0.418_688 * g - 0.081_312 * b;
                }
            }
            for c in 0..3 {
                let dct = forward_dct(&block[c], &cos);
                let table = &tables[usize::from(c > 0)];
                let out = &mut blocks[c][by * bw + bx];
                for (k, &natural) in zigzag.iter().enumerate() {
                    out[k] = (dct[natural] / f32::from(table[natural])).round() as i16;
                }
            }
        }
    }

    let mut out = vec![0xFF, 0xD8];
    segment(&mut out, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    for (id, table) in tables.iter().enumerate() {
        let mut dqt = vec![id as u8];
        dqt.extend(zigzag.iter().map(|&n| table[n] as u8));
        segment(&mut out, 0xDB, &dqt);
    }
    let mut sof = vec![8];
    sof.extend_from_slice(&(height as u16).to_be_bytes());
    sof.extend_from_slice(&(width as u16).to_be_bytes());
    sof.push(3);
    for (id, table) in [(1u8, 0u8), (2, 1), (3, 1)] {
        sof.extend_from_slice(&[id, 0x11, table]);
    }
    segment(&mut out, 0xC2, &sof);
    // DC tables 0 and 1: 12 categories, 4-bit codes; AC tables 0 and 1: 162 symbols, 8-bit codes.
    let ac_symbols = ac_symbols();
    for (class_id, length, symbols) in
        [(0x00, 4, dc_symbols()), (0x01, 4, dc_symbols()), (0x10, 8, ac_symbols.clone()), (0x11, 8, ac_symbols.clone())]
    {
        let mut dht = vec![class_id];
        let mut counts = [0u8; 16];
        counts[length - 1] = symbols.len() as u8;
        dht.extend_from_slice(&counts);
        dht.extend_from_slice(&symbols);
        segment(&mut out, 0xC4, &dht);
    }
    let ac_code = |symbol: u8| ac_symbols.iter().position(|&s| s == symbol).unwrap() as u32;

    // The DC scan: the three components interleaved, one block each per MCU.
    segment(&mut out, 0xDA, &[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 0, 0]);
    let mut bits = BitWriter::default();
    let mut predictors = [0i16; 3];
    for ((y, cb), cr) in blocks[0].iter().zip(&blocks[1]).zip(&blocks[2]) {
        for (c, block) in [y, cb, cr].into_iter().enumerate() {
            let diff = block[0] - predictors[c];
            predictors[c] = block[0];
            let (size, value) = magnitude(diff);
            bits.put(u32::from(size), 4);
            bits.put(value, size);
        }
    }
    out.extend(bits.finish());
    // AC scans: one component each, a band of the zig-zag order.
    for c in 0..3u8 {
        for (start, end) in [(1usize, 5usize), (6, 63)] {
            segment(&mut out, 0xDA, &[1, c + 1, u8::from(c > 0) * 0x11, start as u8, end as u8, 0]);
            let mut bits = BitWriter::default();
            for block in &blocks[usize::from(c)] {
                let mut run = 0u8;
                for &value in &block[start..=end] {
                    if value == 0 {
                        run += 1;
                        continue;
                    }
                    while run > 15 {
                        bits.put(ac_code(0xF0), 8);
                        run -= 16;
                    }
                    let (size, bits_of_value) = magnitude(value);
                    bits.put(ac_code((run << 4) | size), 8);
                    bits.put(bits_of_value, size);
                    run = 0;
                }
                if run > 0 {
                    bits.put(ac_code(0x00), 8); // EOB: the rest of the band is zero
                }
            }
            out.extend(bits.finish());
        }
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(body);
}

fn dc_symbols() -> Vec<u8> {
    (0..12).collect()
}

/// EOB, ZRL, and every run (0-15) with every size (1-10).
fn ac_symbols() -> Vec<u8> {
    let mut symbols = vec![0x00, 0xF0];
    symbols.extend((0..16u8).flat_map(|run| (1..=10u8).map(move |size| (run << 4) | size)));
    symbols
}

/// A value's category (bit length) and its bits as JPEG codes them
/// (negative values as value - 1 in that many bits).
fn magnitude(value: i16) -> (u8, u32) {
    let size = (16 - value.unsigned_abs().leading_zeros()) as u8;
    let bits = if value >= 0 { value as u32 } else { (i32::from(value) - 1) as u32 & ((1 << size) - 1) };
    (size, bits)
}

/// Natural (row-major) index of each zig-zag position.
fn zigzag() -> [usize; 64] {
    let mut order = [0usize; 64];
    let mut k = 0;
    for sum in 0..15usize {
        let rows: Vec<usize> = (sum.saturating_sub(7)..=sum.min(7)).collect();
        // Odd diagonals run down-left (row rising), even ones up-right.
        let rows: Vec<usize> = if sum % 2 == 1 { rows } else { rows.into_iter().rev().collect() };
        for row in rows {
            order[k] = row * 8 + (sum - row);
            k += 1;
        }
    }
    order
}

/// Quantizer steps growing with frequency, row-major.
fn quant_table(base: f32, slope: f32) -> [u16; 64] {
    std::array::from_fn(|i| (base + slope * ((i / 8) + (i % 8)) as f32).round() as u16)
}

fn cosines() -> [[f32; 8]; 8] {
    std::array::from_fn(|u| {
        std::array::from_fn(|x| {
            let scale = if u == 0 { std::f32::consts::FRAC_1_SQRT_2 } else { 1.0 };
            0.5 * scale * (((2 * x + 1) as f32 * u as f32 * std::f32::consts::PI) / 16.0).cos()
        })
    })
}

/// The 8x8 DCT-II of a block (row-major), orthonormal as JPEG scales it.
fn forward_dct(block: &[f32; 64], cos: &[[f32; 8]; 8]) -> [f32; 64] {
    let mut rows = [0f32; 64];
    for y in 0..8 {
        for u in 0..8 {
            rows[y * 8 + u] = (0..8).map(|x| block[y * 8 + x] * cos[u][x]).sum();
        }
    }
    let mut out = [0f32; 64];
    for v in 0..8 {
        for u in 0..8 {
            out[v * 8 + u] = (0..8).map(|y| rows[y * 8 + u] * cos[v][y]).sum();
        }
    }
    out
}

/// Entropy-coded bytes: bits most significant first, FF followed by a stuffed
/// 00, the last byte padded with ones.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    acc: u32,
    count: u8,
}

impl BitWriter {
    fn put(&mut self, value: u32, bits: u8) {
        for i in (0..bits).rev() {
            self.acc = (self.acc << 1) | ((value >> i) & 1);
            self.count += 1;
            if self.count == 8 {
                self.push(self.acc as u8);
                (self.acc, self.count) = (0, 0);
            }
        }
    }

    fn push(&mut self, byte: u8) {
        self.bytes.push(byte);
        if byte == 0xFF {
            self.bytes.push(0x00);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            let pad = 8 - self.count;
            self.put((1 << pad) - 1, pad);
        }
        self.bytes
    }
}
