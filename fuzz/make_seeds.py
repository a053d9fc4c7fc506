#!/usr/bin/python3
"""Builds the fuzz seed corpora under fuzz/seeds/<target>/ from samples/astronaut_card.png.

Every seed is made here from the committed public-domain sample; nothing comes
from shared/data (LFW, chip vectors). Needs Debian's python3-pil and
libopenjp2-tools (opj_compress):

    apt-get install -y python3-pil libopenjp2-tools
    /usr/bin/python3 fuzz/make_seeds.py

The containers follow the standards' layouts as honnin's test builders do
(src/container/mod.rs `mod build`, src/container/iso19794.rs `build`).
Re-running rewrites fuzz/seeds/ (the JPEG 2000 files are byte-identical for
the same openjpeg version; Pillow may differ between versions).
"""

import io
import os
import shutil
import struct
import subprocess
import tempfile

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "samples", "astronaut_card.png")
SEEDS = os.path.join(HERE, "seeds")


# --- BER-TLV, as ICAO 9303 / ISO/IEC 39794 use it ----------------------------

def tlv(tag: int, value: bytes) -> bytes:
    """A BER element with a minimal definite length (tag given as its raw bytes)."""
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    n = len(value)
    if n <= 0x7F:
        length = bytes([n])
    elif n <= 0xFF:
        length = bytes([0x81, n])
    elif n <= 0xFFFF:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    else:
        length = bytes([0x83]) + n.to_bytes(3, "big")
    return tag_bytes + length + value


def dg2(blocks) -> bytes:
    """EF.DG2: 75 > 7F61 > 02 count + one 7F60 (A1 header + data block) per block."""
    group = tlv(0x02, bytes([len(blocks)]))
    for block in blocks:
        # Biometric header template: 87 format owner, 88 format type (0008 = face).
        header = tlv(0xA1, tlv(0x87, b"\x01\x01") + tlv(0x88, b"\x00\x08"))
        group += tlv(0x7F60, header + block)
    return tlv(0x75, tlv(0x7F61, group))


def iso19794(faces) -> bytes:
    """An ISO/IEC 19794-5:2005 record: faces = [(feature_points, data_type, w, h, image)]."""
    body = b""
    for points, data_type, w, h, image in faces:
        length = 20 + 8 * len(points) + 12 + len(image)
        body += struct.pack(">IH", length, len(points))
        # gender, eye colour, hair colour, property mask (3), expression (2), pose y/p/r, pose uncertainty (3)
        body += bytes([0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 0])
        for kind, code, x, y in points:
            body += struct.pack(">BBHHH", kind, code, x, y, 0)
        # face image type, data type, width, height, colour space, source type, device type, quality
        body += struct.pack(">BBHHBBHH", 1, data_type, w, h, 1, 2, 0, 0)
        body += image
    return b"FAC\x00010\x00" + struct.pack(">IH", 14 + len(body), len(faces)) + body


def iso39794(image: bytes, format_code: int, size) -> bytes:
    """A 39794-5 block value: A1 > 65 > (A0 version, A1 > 30 > (80 id, A1 > A0 > A0 > (80 image, A1 info)))."""
    info = tlv(
        0xA1,
        tlv(0xA0, tlv(0x80, bytes([format_code])))
        + tlv(0xA7, tlv(0x80, struct.pack(">H", size[0])) + tlv(0x81, struct.pack(">H", size[1])))
        + tlv(0xA9, tlv(0xA1, tlv(0x80, b"\x02"))),
    )
    block_2d = tlv(0xA0, tlv(0x80, image) + info)
    rep = tlv(0x30, tlv(0x80, b"\x00") + tlv(0xA1, tlv(0xA0, block_2d)))
    version = tlv(0xA0, tlv(0x80, b"\x03") + tlv(0x81, b"\x07\xe3"))
    return tlv(0xA1, tlv(0x65, version + tlv(0xA1, rep)))


def my_number(photo: bytes, padding: int) -> bytes:
    """My Number card-surface data: FF20 { DF21, DF22, DF27 photo, DF29 } + 0xFF padding."""
    inner = (
        tlv(0xDF21, b"\x01\x02")
        + tlv(0xDF22, b"19800101")
        + tlv(0xDF27, photo)
        + tlv(0xDF29, b"20300101")
    )
    return tlv(0xFF20, inner) + b"\xff" * padding


# --- images -------------------------------------------------------------------

def encode(image: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


def jpeg_with_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", quality=60, exif=exif.tobytes())


def opj(image: Image.Image, suffix: str, *args) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.ppm" if image.mode == "RGB" else "in.pgm")
        dst = os.path.join(tmp, "out" + suffix)
        image.save(src)
        subprocess.run(["opj_compress", "-i", src, "-o", dst, *args], check=True, capture_output=True)
        with open(dst, "rb") as f:
            return f.read()


def write(target: str, name: str, data: bytes) -> None:
    path = os.path.join(SEEDS, target, name)
    with open(path, "wb") as f:
        f.write(data)


def main() -> None:
    if os.path.isdir(SEEDS):
        shutil.rmtree(SEEDS)
    for target in ("card_data", "image_decode", "jpeg2000", "card_photo"):
        os.makedirs(os.path.join(SEEDS, target))

    sample = Image.open(SAMPLE).convert("RGB")
    small = sample.resize((48, 64), Image.LANCZOS)  # the 150x200 card photo, downscaled
    tiny = sample.resize((24, 32), Image.LANCZOS)
    grey = small.convert("L")

    # JPEG 2000: a few coding options each, so the decoder's paths are all seeded.
    jp2 = opj(small, ".jp2", "-r", "40", "-n", "3")
    j2k = opj(small, ".j2k", "-r", "40", "-n", "3")
    j2k_variants = {
        "lossless_rgb.j2k": opj(tiny, ".j2k", "-n", "2"),
        "grey.jp2": opj(grey, ".jp2", "-r", "30", "-n", "3"),
        "grey_lossless.j2k": opj(tiny.convert("L"), ".j2k", "-n", "2", "-I"),
        "tiles_rpcl.j2k": opj(small, ".j2k", "-r", "30", "-n", "2", "-t", "24,32", "-p", "RPCL"),
        "sop_eph_precincts.j2k": opj(small, ".j2k", "-r", "30", "-n", "3", "-SOP", "-EPH", "-c", "[16,16]"),
        "codeblock_styles.j2k": opj(small, ".j2k", "-r", "30", "-n", "2", "-b", "16,16", "-M", "63"),
        "irreversible_layers.jp2": opj(small, ".jp2", "-r", "80,40,20", "-I", "-n", "3", "-p", "CPRL"),
        "tlm_plt_tileparts.j2k": opj(tiny, ".j2k", "-r", "20", "-n", "2", "-TLM", "-PLT", "-TP", "R"),
        "roi_offset.j2k": opj(tiny, ".j2k", "-r", "20", "-n", "2", "-ROI", "c=0,U=3", "-d", "3,5"),
        "no_mct.j2k": opj(tiny, ".j2k", "-r", "20", "-n", "2", "-mct", "0"),
    }

    jpeg = encode(small, "JPEG", quality=60)
    rasters = {
        "astronaut.jpg": jpeg,
        "astronaut_progressive.jpg": encode(tiny, "JPEG", quality=50, progressive=True),
        "astronaut_grey.jpg": encode(tiny.convert("L"), "JPEG", quality=50),
        "astronaut_rot90_exif.jpg": jpeg_with_orientation(tiny, 6),
        "astronaut_444.jpg": encode(tiny, "JPEG", quality=50, subsampling=0),
        "astronaut.png": encode(tiny, "PNG"),
        "astronaut_palette_interlaced.png": encode(tiny.convert("P"), "PNG", interlace=1),
        "astronaut_grey_alpha.png": encode(tiny.convert("LA"), "PNG"),
        "astronaut_16bit.png": encode(tiny.convert("L").convert("I;16"), "PNG"),
        "astronaut_lossy.webp": encode(small, "WEBP", quality=40),
        "astronaut_lossless.webp": encode(tiny, "WEBP", lossless=True),
        "astronaut_alpha.webp": encode(tiny.convert("RGBA"), "WEBP", quality=40),
    }

    for name, data in rasters.items():
        write("image_decode", name, data)
    write("image_decode", "astronaut.jp2", jp2)
    write("image_decode", "astronaut.j2k", j2k)

    write("jpeg2000", "astronaut.jp2", jp2)
    write("jpeg2000", "astronaut.j2k", j2k)
    for name, data in j2k_variants.items():
        write("jpeg2000", name, data)

    # Containers. For the parser alone a short stand-in image (its magic and a
    # few bytes) keeps the seeds small and the mutations on the structure; the
    # end-to-end target gets real images.
    stand_in = {
        "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\xff\xd9",
        "jp2": b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 ",
        "j2k": b"\xff\x4f\xff\x51\x00\x29\x00\x00",
    }
    points = [(1, 0xC1, 30, 28), (1, 0xC2, 18, 28)]

    def containers(jpeg_img: bytes, jp2_img: bytes, j2k_img: bytes):
        rec_jpeg = iso19794([(points, 0, 48, 64, jpeg_img)])
        rec_two = iso19794([([], 1, 48, 64, jp2_img), ([], 1, 48, 64, j2k_img)])
        block_jp2 = iso39794(jp2_img, 3, (48, 64))
        return {
            "dg2_5f2e_jpeg.bin": dg2([tlv(0x5F2E, rec_jpeg)]),
            "dg2_5f2e_two_faces.bin": dg2([tlv(0x5F2E, rec_two)]),
            "dg2_7f2e_jp2.bin": dg2([tlv(0x7F2E, block_jp2)]),
            "dg2_two_instances.bin": dg2([tlv(0x5F2E, iso19794([([], 0, 48, 64, jpeg_img)])), tlv(0x7F2E, block_jp2)]),
            "fac_record_jpeg.bin": rec_jpeg,
            "5f2e_record_j2k.bin": tlv(0x5F2E, iso19794([([], 1, 48, 64, j2k_img)])),
            "7f2e_block_jp2.bin": tlv(0x7F2E, block_jp2),
            "a1_block_value_j2k.bin": iso39794(j2k_img, 4, (48, 64)),
            "my_number_ff20_jp2.bin": my_number(jp2_img, 64),
            "my_number_ff20_j2k.bin": my_number(j2k_img, 0),
        }

    for name, data in containers(stand_in["jpeg"], stand_in["jp2"], stand_in["j2k"]).items():
        write("card_data", name, data)
    write("card_data", "plain_image.jpg", stand_in["jpeg"])
    write("card_data", "plain_image.jp2", stand_in["jp2"])

    real_jpeg = encode(tiny, "JPEG", quality=50)
    real_jp2 = opj(tiny, ".jp2", "-r", "30", "-n", "2")
    real_j2k = opj(tiny.convert("L"), ".j2k", "-r", "30", "-n", "2")
    for name, data in containers(real_jpeg, real_jp2, real_j2k).items():
        write("card_photo", name, data)

    total = 0
    for target in sorted(os.listdir(SEEDS)):
        files = os.listdir(os.path.join(SEEDS, target))
        size = sum(os.path.getsize(os.path.join(SEEDS, target, f)) for f in files)
        total += size
        print(f"{target}: {len(files)} seeds, {size} bytes")
    print(f"total: {total} bytes")


if __name__ == "__main__":
    main()
