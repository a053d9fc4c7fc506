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
import subprocess
import sys
import tempfile

from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from chipdata import dg2, face_record, iso39794, my_number, tlv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "samples", "astronaut_card.png")
SEEDS = os.path.join(HERE, "seeds")


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
        rec_jpeg = face_record([(0, 48, 64, jpeg_img, points)])
        rec_two = face_record([(1, 48, 64, jp2_img, []), (1, 48, 64, j2k_img, [])])
        block_jp2 = iso39794(jp2_img, 3, (48, 64))
        return {
            "dg2_5f2e_jpeg.bin": dg2([tlv(0x5F2E, rec_jpeg)]),
            "dg2_5f2e_two_faces.bin": dg2([tlv(0x5F2E, rec_two)]),
            "dg2_7f2e_jp2.bin": dg2([tlv(0x7F2E, block_jp2)]),
            "dg2_two_instances.bin": dg2([tlv(0x5F2E, face_record([(0, 48, 64, jpeg_img, [])])), tlv(0x7F2E, block_jp2)]),
            "fac_record_jpeg.bin": rec_jpeg,
            "5f2e_record_j2k.bin": tlv(0x5F2E, face_record([(1, 48, 64, j2k_img, [])])),
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
