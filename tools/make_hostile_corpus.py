#!/usr/bin/env python3
"""Writes the hostile-input corpus in tests/hostile/ (Python 3 standard library only).

    python3 tools/make_hostile_corpus.py            # derive every hostile file from the committed bases
    python3 tools/make_hostile_corpus.py --bases    # first re-encode the bases (needs opj_compress, cjpeg)
    python3 tools/make_hostile_corpus.py --peak DIR # large legitimate images for peak-memory runs (not committed)

Everything comes from the project's own public-domain sample samples/astronaut_card.png
or from synthetic bytes; no other image is ever read. The bases, in tests/hostile/base/:

  astronaut.png        30x40 RGB, written here (zlib, filter 0)
  astronaut.jpg        60x80 RGB, `cjpeg -quality 80 -optimize` (Debian libjpeg-turbo-progs)
  astronaut_rgb.jp2    60x80 RGB JP2, `opj_compress -r 12 -n 4` (Debian libopenjp2-tools)
  astronaut_grey.jp2   60x80 grey JP2, `opj_compress -r 6 -n 4`
  astronaut.j2k        60x80 RGB raw codestream, `opj_compress -r 12 -n 4`

The same run encodes one hostile file with opj_compress: jp2_4x4_codeblocks_1290x1290.jp2,
within every size limit but coded in 4x4 code-blocks. This script then derives the
card-data bases from the image bases: an EF.DG2 with a 5F2E (ISO/IEC 19794-5) record
around the JPEG, an EF.DG2 with a 7F2E (ISO/IEC 39794-5) block around the RGB JP2, a
bare FAC record around the codestream, and My Number card-surface data (FF20 > DF27)
around the grey JP2 with 0xFF padding.

Every hostile file is then made from a base by cutting or patching bytes, or from
synthetic bytes. The output is deterministic: running the script twice changes
nothing. The expectations live in tests/suite/hostile.rs, which fails when a file
here has none.
"""

import argparse
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

from chipdata import dg2, face_record, iso39794, my_number, tlv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "samples", "astronaut_card.png")
OUT = os.path.join(ROOT, "tests", "hostile")
BASE = os.path.join(OUT, "base")
TRUNCATED = os.path.join(OUT, "truncated")


# --- Images: a small PNG reader and writer, resampling, PNM -------------------------------


def read_png(path):
    """Returns (width, height, rgb bytes) of an 8-bit, non-interlaced grey, RGB or RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    at, idat, ihdr = 8, b"", None
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        at += 12 + length
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        sys.exit(f"{path}: only 8-bit non-interlaced grey, RGB or RGBA PNGs are read")
    raw = zlib.decompress(idat)
    stride = width * channels
    prior, pixels = bytearray(stride), bytearray()
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up, up_left = prior[i], prior[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + left) & 255
            elif kind == 2:
                row[i] = (row[i] + up) & 255
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                row[i] = (row[i] + predictor) & 255
        pixels += row
        prior = row
    rgb = bytearray()
    for i in range(0, len(pixels), channels):
        px = pixels[i : i + channels]
        rgb += bytes(px[0:1]) * 3 if channels == 1 else px[:3]
    return width, height, bytes(rgb)


def resample(width, height, rgb, new_width, new_height):
    """Area-averaging resize (each output pixel is the mean of the input pixels it covers)."""
    out = bytearray()
    for y in range(new_height):
        y0, y1 = y * height // new_height, max((y + 1) * height // new_height, y * height // new_height + 1)
        for x in range(new_width):
            x0, x1 = x * width // new_width, max((x + 1) * width // new_width, x * width // new_width + 1)
            sums, n = [0, 0, 0], 0
            for sy in range(y0, y1):
                for sx in range(x0, x1):
                    i = (sy * width + sx) * 3
                    for c in range(3):
                        sums[c] += rgb[i + c]
                    n += 1
            out += bytes((s + n // 2) // n for s in sums)
    return bytes(out)


def grey(rgb):
    return bytes((299 * rgb[i] + 587 * rgb[i + 1] + 114 * rgb[i + 2] + 500) // 1000 for i in range(0, len(rgb), 3))


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def write_png(width, height, rgb):
    raw = b"".join(b"\0" + rgb[y * width * 3 : (y + 1) * width * 3] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw, 9))
        + png_chunk(b"IEND", b"")
    )


def pnm(width, height, samples, colour):
    return (b"P6" if colour else b"P5") + b"\n%d %d\n255\n" % (width, height) + samples


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def need(tool, package):
    if shutil.which(tool) is None:
        sys.exit(f"{tool} not found: apt-get install -y {package}")


def encode(samples_by_name, tmp):
    """Encodes PNM files with the Debian tools; returns {name: bytes}."""
    out = {}
    for name, (width, height, samples, colour, tool_args) in samples_by_name.items():
        src = os.path.join(tmp, name + (".ppm" if colour else ".pgm"))
        with open(src, "wb") as f:
            f.write(pnm(width, height, samples, colour))
        dst = os.path.join(tmp, name)
        if name.endswith(".jpg"):
            run("cjpeg", *tool_args, "-outfile", dst, src)
        else:
            run("opj_compress", "-i", src, "-o", dst, *tool_args)
        out[name] = open(dst, "rb").read()
    return out


def make_bases():
    need("opj_compress", "libopenjp2-tools")
    need("cjpeg", "libjpeg-turbo-progs")
    width, height, rgb = read_png(SAMPLE)
    small = resample(width, height, rgb, 60, 80)
    tiny = resample(width, height, rgb, 30, 40)
    os.makedirs(BASE, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        encoded = encode(
            {
                "astronaut.jpg": (60, 80, small, True, ["-quality", "80", "-optimize"]),
                "astronaut_rgb.jp2": (60, 80, small, True, ["-r", "12", "-n", "4"]),
                "astronaut_grey.jp2": (60, 80, grey(small), False, ["-r", "6", "-n", "4"]),
                "astronaut.j2k": (60, 80, small, True, ["-r", "12", "-n", "4"]),
            },
            tmp,
        )
    encoded["astronaut.png"] = write_png(30, 40, tiny)
    for name, data in sorted(encoded.items()):
        write(os.path.join(BASE, name), data)
    # Within every size limit (1290x1290 RGB in 8 KB: 200 pixels per byte, 48 MiB by the header
    # estimate), but coded in 4x4 code-blocks, whose bookkeeping the estimate leaves out.
    with tempfile.TemporaryDirectory() as tmp:
        big = upscale(width, height, rgb, 1290, 1290)
        name = "jp2_4x4_codeblocks_1290x1290.jp2"
        data = encode({name: (1290, 1290, big, True, ["-b", "4,4", "-r", "600"])}, tmp)[name]
    write(os.path.join(OUT, name), data)


def make_peak_inputs(directory):
    """Legitimate images at the edge of the default limits, for peak-memory runs only."""
    need("opj_compress", "libopenjp2-tools")
    need("cjpeg", "libjpeg-turbo-progs")
    width, height, rgb = read_png(SAMPLE)
    os.makedirs(directory, exist_ok=True)
    jobs = {
        # Each at the edge of the default decode-memory limit (48 MiB) as src/limits.rs estimates it.
        # JPEG 2000: 9 bytes per sample + 11 per pixel + 256 per code-block: 38 B/px RGB, 20 B/px grey.
        "jp2_rgb_1145x1145.jp2": (1145, 1145, True, ["-r", "20"]),
        "jp2_grey_1580x1580.jp2": (1580, 1580, False, ["-r", "20"]),
        # 4x4 code-blocks add 16 B/px per component; 4x4 precincts make them 2x2 (64 B/px per component).
        "jp2_grey_4x4_codeblocks_1180x1180.jp2": (1180, 1180, False, ["-b", "4,4", "-r", "200"]),
        "jp2_rgb_4x4_codeblocks_4x4_precincts_467x467.jp2": (
            467, 467, True, ["-b", "4,4", "-c", ",".join(["[4,4]"] * 6), "-r", "300"],
        ),
        # Baseline JPEG: 4 B/px, so the pixel limit itself (4096x3072) and a 4K UHD frame.
        "jpeg_4096x3072.jpg": (4096, 3072, True, ["-quality", "90"]),
        "jpeg_3840x2160.jpg": (3840, 2160, True, ["-quality", "90"]),
        # Progressive JPEG: 11 B/px, 4.57 Mpixel.
        "jpeg_progressive_444_2464x1856.jpg": (2464, 1856, True, ["-progressive", "-quality", "95", "-sample", "1x1"]),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, (w, h, colour, args) in jobs.items():
            print(f"encoding {name}", file=sys.stderr)
            big = upscale(width, height, rgb, w, h)
            samples = big if colour else grey(big)
            data = encode({name: (w, h, samples, colour, args)}, tmp)[name]
            write(os.path.join(directory, name), data)
    # PNG: 6 B/px, a 4K UHD frame.
    print("encoding png_3840x2160.png", file=sys.stderr)
    write(os.path.join(directory, "png_3840x2160.png"), write_png(3840, 2160, upscale(width, height, rgb, 3840, 2160)))


def upscale(width, height, rgb, new_width, new_height):
    """Nearest-neighbour enlargement with a deterministic texture, so the encoders have detail to code."""
    noise = stream(b"honnin peak texture", new_width * 7 + 13)
    out = bytearray(new_width * new_height * 3)
    xs = [x * width // new_width for x in range(new_width)]
    for y in range(new_height):
        sy = y * height // new_height
        row = bytearray()
        for x in range(new_width):
            i = (sy * width + xs[x]) * 3
            row += rgb[i : i + 3]
        jitter = noise[y % 13 :][: new_width * 3] or noise
        row = bytes((v + (j & 15) - 8) & 255 if 8 <= v <= 247 else v for v, j in zip(row, jitter))
        out[y * new_width * 3 : (y + 1) * new_width * 3] = row
    return bytes(out)


# --- BER-TLV and the card structures ------------------------------------------------------


EYES = [(1, 0xC1, 38, 35), (1, 0xC2, 22, 35)]  # MPEG-4 12.1 and 12.2, on the 60x80 picture


def nested(tag, depth, inner=b""):
    """depth nested constructed elements around `inner`."""
    out = inner
    for _ in range(depth):
        out = tlv(tag, out)
    return out


# --- Patching helpers ----------------------------------------------------------------------


def stream(seed, n):
    """n deterministic pseudo-random bytes (SHA-256 in counter mode)."""
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:n])


def patch(data, offset, new):
    return data[:offset] + new + data[offset + len(new) :]


def find(data, needle, start=0):
    at = data.find(needle, start)
    if at < 0:
        sys.exit(f"{needle!r} not found")
    return at


def siz_at(j2k_or_jp2):
    """Offset of the SIZ marker (FF 51) that follows SOC (FF 4F)."""
    return find(j2k_or_jp2, b"\xff\x4f\xff\x51") + 2


def set_siz(data, width=None, height=None, tile=None, csiz=None):
    p = siz_at(data)
    if width is not None:
        data = patch(data, p + 6, struct.pack(">I", width))
    if height is not None:
        data = patch(data, p + 10, struct.pack(">I", height))
    if tile is not None:
        data = patch(data, p + 22, struct.pack(">II", *tile))
    if csiz is not None:
        data = patch(data, p + 38, struct.pack(">H", csiz))
    return data


def set_ihdr(jp2, width, height):
    p = find(jp2, b"ihdr") + 4
    return patch(jp2, p, struct.pack(">II", height, width))


def set_png_size(png, width, height, fix_crc=True):
    data = patch(png, 16, struct.pack(">II", width, height))
    if fix_crc:
        data = patch(data, 29, struct.pack(">I", zlib.crc32(data[12:29])))
    return data


def set_sof(jpeg, width, height):
    p = find(jpeg, b"\xff\xc0")
    return patch(jpeg, p + 5, struct.pack(">HH", height, width))


def set_u32(data, offset, value):
    return patch(data, offset, struct.pack(">I", value))


def webp(*chunks):
    body = b"WEBP"
    for kind, data in chunks:
        body += kind + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def vp8l(width, height, seed):
    """A lossless bitstream header (14-bit sizes) followed by noise."""
    bits = (width - 1) | (height - 1) << 14
    return b"VP8L", b"\x2f" + struct.pack("<I", bits) + stream(seed, 27)


def webp_vp8x(width, height):
    """An extended WebP: a VP8X canvas (24-bit sizes) over a small lossless bitstream."""
    canvas = b"\0\0\0\0" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return webp((b"VP8X", canvas), vp8l(16, 16, b"honnin vp8x"))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def truncation_offsets(length, header_points):
    """About ten cut points: a few inside the headers, the rest spread over the file."""
    points = set(header_points)
    points.update(length * k // 8 for k in range(1, 8))
    points.add(length - 1)
    return sorted(p for p in points if 0 < p < length)


# --- The corpus ---------------------------------------------------------------------------


def make_corpus():
    def base(name):
        path = os.path.join(BASE, name)
        if not os.path.exists(path):
            sys.exit(f"{path} missing: run with --bases first (needs opj_compress and cjpeg)")
        return open(path, "rb").read()

    jpeg, png = base("astronaut.jpg"), base("astronaut.png")
    jp2, jp2_grey, j2k = base("astronaut_rgb.jp2"), base("astronaut_grey.jp2"), base("astronaut.j2k")

    record_jpeg = face_record([(0, 60, 80, jpeg, EYES)])
    bases = {
        "dg2_19794_jpeg.bin": dg2([tlv(0x5F2E, record_jpeg)]),
        "dg2_39794_jp2.bin": dg2([tlv(0x7F2E, iso39794(jp2))]),
        "fac_record_j2k.bin": face_record([(1, 60, 80, j2k, EYES)]),
        "mynumber_ff20_jp2.bin": my_number(jp2_grey),
    }
    for name, data in bases.items():
        write(os.path.join(BASE, name), data)

    files = {}

    # Not an image, not card data.
    files["empty.bin"] = b""
    files["zeros_4096.bin"] = bytes(4096)
    files["gif_header.gif"] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    files["pdf_header.pdf"] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    files["random_1024.bin"] = b"\x3c" + stream(b"honnin hostile random", 1023)  # 3C: no tag or magic honnin knows
    files["tag75_then_random.bin"] = b"\x75" + stream(b"honnin hostile random after 75", 255)

    # Headers claiming huge images.
    files["jpeg_sof_65535x65535.jpg"] = set_sof(jpeg, 65535, 65535)
    files["jpeg_sof_zero_height.jpg"] = set_sof(jpeg, 60, 0)
    files["jpeg_app0_length_past_end.jpg"] = patch(jpeg, find(jpeg, b"\xff\xe0") + 2, b"\xff\xff")
    files["png_ihdr_65535x65535.png"] = set_png_size(png, 65535, 65535)
    files["png_ihdr_zero_width.png"] = set_png_size(png, 0, 40)
    files["png_ihdr_bad_crc.png"] = set_png_size(png, 31, 40, fix_crc=False)
    files["webp_vp8l_16383x16383.webp"] = webp(vp8l(16383, 16383, b"honnin vp8l"))
    files["webp_vp8x_65535x65535.webp"] = webp_vp8x(65535, 65535)
    files["webp_vp8x_16777216x16777216.webp"] = webp_vp8x(1 << 24, 1 << 24)
    files["j2k_siz_65535x65535.j2k"] = set_siz(j2k, 65535, 65535, tile=(65535, 65535))
    files["j2k_siz_65535x65535_small_tiles.j2k"] = set_siz(j2k, 65535, 65535)
    files["j2k_siz_4096x3072_1x1_tiles.j2k"] = set_siz(j2k, 4096, 3072, tile=(1, 1))
    files["j2k_siz_zero_width.j2k"] = set_siz(j2k, 0, 80)
    files["j2k_siz_csiz_lies.j2k"] = set_siz(j2k, csiz=200)
    files["jp2_siz_65535x65535.jp2"] = set_ihdr(set_siz(jp2, 65535, 65535, tile=(65535, 65535)), 65535, 65535)
    files["jp2_siz_3000x3000.jp2"] = set_ihdr(set_siz(jp2, 3000, 3000, tile=(3000, 3000)), 3000, 3000)
    files["jp2_ihdr_lies_65535.jp2"] = set_ihdr(jp2, 65535, 65535)
    files["jp2_siz_3000x3000_in_dg2.bin"] = dg2([tlv(0x7F2E, iso39794(files["jp2_siz_3000x3000.jp2"]))])
    files["mynumber_siz_65535x65535.bin"] = my_number(set_ihdr(set_siz(jp2_grey, 65535, 65535, tile=(65535, 65535)), 65535, 65535))

    # Lying TLV lengths. DG2 layout: 75 82 LL LL 7F61 82 LL LL 02 01 01 7F60 82 LL LL ...
    dg2_base = bases["dg2_19794_jpeg.bin"]
    assert dg2_base[:2] == b"\x75\x82" and dg2_base[4:7] == b"\x7f\x61\x82", dg2_base[:8].hex()
    outer_len = int.from_bytes(dg2_base[2:4], "big")
    files["dg2_75_length_past_end.bin"] = patch(dg2_base, 2, (outer_len + 100).to_bytes(2, "big"))
    at_7f60 = find(dg2_base, b"\x7f\x60\x82")
    len_7f60 = int.from_bytes(dg2_base[at_7f60 + 3 : at_7f60 + 5], "big")
    files["dg2_7f60_length_past_parent.bin"] = patch(dg2_base, at_7f60 + 3, (len_7f60 + 9).to_bytes(2, "big"))
    files["dg2_75_length_5_bytes.bin"] = b"\x75\x85\x00\x00" + dg2_base[1:]  # 85 00 00 82 LL LL: five length bytes
    files["dg2_75_length_4_gib.bin"] = b"\x75\x84\xff\xff\xff\xff" + dg2_base[4:]
    files["dg2_75_indefinite_length.bin"] = b"\x75\x80" + dg2_base[4:] + b"\x00\x00"
    files["dg2_7f61_indefinite_length.bin"] = dg2_base[:4] + b"\x7f\x61\x80" + dg2_base[8:] + b"\x00\x00"
    files["dg2_tag_too_long.bin"] = tlv(0x75, b"\x5f\x81\x81\x81\x01\x00")
    files["dg2_trailing_garbage.bin"] = dg2_base + b"\xff\xff\x00JUNK"
    files["dg2_instance_count_2_of_1.bin"] = dg2([tlv(0x5F2E, record_jpeg)], count=2)
    files["dg2_no_instances.bin"] = dg2([], count=0)
    files["dg2_5f2e_and_7f2e_in_one_instance.bin"] = dg2([tlv(0x5F2E, record_jpeg) + tlv(0x7F2E, iso39794(jp2))])
    files["dg2_instance_without_data_block.bin"] = dg2([b""])
    tiny_jpeg = b"\xff\xd8\xff\xd9"  # sniffs as JPEG; never decoded (the limit comes first)
    files["dg2_17_instances.bin"] = dg2([tlv(0x5F2E, face_record([(0, 1, 1, tiny_jpeg, [])]))] * 17)
    files["dg2_5000_elements.bin"] = tlv(0x75, tlv(0x7F61, tlv(0x02, b"\x01") + b"\x04\x00" * 5000))
    files["dg2_nested_1000.bin"] = tlv(0x75, nested(0xA1, 1000))
    files["nested_a1_10000.bin"] = nested(0xA1, 10000)

    # Face records with lying fields.
    files["dg2_19794_zero_faces.bin"] = dg2([tlv(0x5F2E, face_record([]))])
    files["dg2_39794_no_representations.bin"] = dg2([tlv(0x7F2E, iso39794(jp2, representations=b""))])
    files["dg2_5f2e_declares_jp2_holds_jpeg.bin"] = dg2([tlv(0x5F2E, face_record([(1, 60, 80, jpeg, EYES)]))])
    files["dg2_5f2e_image_not_an_image.bin"] = dg2([tlv(0x5F2E, face_record([(0, 60, 80, b"this is no image " * 8, EYES)]))])
    files["dg2_7f2e_image_is_gif.bin"] = dg2([tlv(0x7F2E, iso39794(files["gif_header.gif"]))])
    fac = bases["fac_record_j2k.bin"]
    files["fac_record_length_longer.bin"] = set_u32(fac, 8, len(fac) + 5)
    files["fac_record_length_shorter.bin"] = set_u32(fac, 8, len(fac) - 5)
    files["fac_block_length_past_end.bin"] = set_u32(fac, 14, len(fac) - 14 + 1)
    files["fac_block_length_too_small.bin"] = set_u32(fac, 14, 20)
    files["fac_65535_faces.bin"] = patch(fac, 12, b"\xff\xff")
    files["fac_2_faces_1_block.bin"] = patch(fac, 12, b"\x00\x02")
    files["fac_version_030.bin"] = patch(fac, 4, b"030\0")
    files["fac_declares_jpeg_holds_j2k.bin"] = face_record([(0, 60, 80, j2k, EYES)])
    files["fac_image_is_pdf.bin"] = face_record([(0, 60, 80, files["pdf_header.pdf"], [])])

    # My Number card-surface data.
    files["mynumber_df27_holds_jpeg.bin"] = my_number(jpeg)
    files["mynumber_without_df27.bin"] = tlv(0xFF20, tlv(0xDF21, b"\x01\x02")) + b"\xff" * 16
    files["mynumber_df27_twice.bin"] = my_number(jp2_grey, extra=[tlv(0xDF27, jp2_grey)])
    files["mynumber_junk_in_padding.bin"] = my_number(jp2_grey, padding=64) + b"\x12" + b"\xff" * 63
    mn = bases["mynumber_ff20_jp2.bin"]
    files["mynumber_cut_in_padding.bin"] = mn[: len(mn) - 100]

    for name, data in files.items():
        write(os.path.join(OUT, name), data)

    # Truncations of every base at about ten offsets, headers included.
    all_bases = {
        "astronaut.jpg": jpeg,
        "astronaut.png": png,
        "astronaut_rgb.jp2": jp2,
        "astronaut_grey.jp2": jp2_grey,
        "astronaut.j2k": j2k,
        **bases,
    }
    header_points = {
        "astronaut.jpg": [1, 2, 3, 20, find(jpeg, b"\xff\xc0") + 4],  # SOI, inside APP0, inside SOF
        "astronaut.png": [4, 8, 20, 33],  # signature, inside IHDR, after IHDR
        "astronaut_rgb.jp2": [6, 12, 30, siz_at(jp2) + 8],  # signature box, ftyp, inside SIZ
        "astronaut_grey.jp2": [11, 40, siz_at(jp2_grey) + 40],
        "astronaut.j2k": [2, 4, 20, siz_at(j2k) + 45],
        "dg2_19794_jpeg.bin": [1, 3, 6, 10, 40, 60],  # inside 75, 7F61, 02, A1, FAC header
        "dg2_39794_jp2.bin": [2, 5, 30, 60],
        "fac_record_j2k.bin": [3, 4, 13, 20, 40],
        "mynumber_ff20_jp2.bin": [1, 2, 3, 10, 25],
    }
    shutil.rmtree(TRUNCATED, ignore_errors=True)
    for name, data in all_bases.items():
        end = len(data)
        if name.startswith("mynumber"):
            end = len(data) - 128  # cutting the padding leaves whole data
        stem, ext = os.path.splitext(name)
        for cut in truncation_offsets(end, header_points[name]):
            write(os.path.join(TRUNCATED, f"{stem}_{cut:05d}{ext}"), data[:cut])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bases", action="store_true", help="re-encode the bases first (opj_compress, cjpeg)")
    parser.add_argument("--peak", metavar="DIR", help="write large legitimate images for peak-memory runs to DIR")
    args = parser.parse_args()
    if args.peak:
        make_peak_inputs(args.peak)
        return
    if args.bases:
        make_bases()
    make_corpus()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    count = sum(len(fs) for _, _, fs in os.walk(OUT))
    print(f"{count} files, {total} bytes in {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
