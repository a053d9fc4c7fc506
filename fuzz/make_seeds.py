#!/usr/bin/python3
"""Builds the fuzz seed corpora under fuzz/seeds/<target>/ from samples/astronaut_card.png.

Every seed is made here from the committed public-domain sample; nothing comes
from shared/data (LFW, chip vectors). Needs Debian's python3-pil and
libopenjp2-tools (opj_compress):

    apt-get install -y python3-pil libopenjp2-tools
    /usr/bin/python3 fuzz/make_seeds.py

The ONNX seeds of the onnx_graph target are small synthetic models, protobuf
encoded by hand here (standard library only: no onnx package, nothing from
models/ or shared/). They alone can be remade, without Pillow or opj_compress,
leaving the other seeds as they are:

    python3 fuzz/make_seeds.py --only onnx_graph

The card_responses seeds (scripts of a card's answers for the card reader's
protocol logic) are remade alone, with the committed grey JP2 seed as the
photo, by

    python3 fuzz/make_seeds.py --only card_responses

The containers follow the standards' layouts as honnin's test builders do
(src/container/mod.rs `mod build`, src/container/iso19794.rs `build`).
Re-running rewrites fuzz/seeds/ (the JPEG 2000 files are byte-identical for
the same openjpeg version; Pillow may differ between versions).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    from PIL import Image
except ImportError:  # enough for --only onnx_graph
    Image = None

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


# --- ONNX models (onnx_graph) -------------------------------------------------
# onnx.proto is proto2: repeated scalars (dims, ints, double_data) are written
# unpacked, one field each, as the onnx package writes them.

VARINT, I64, LEN, I32 = 0, 1, 2, 5
FLOAT, FLOAT16, DOUBLE = 1, 10, 11  # TensorProto.DataType
ATTR_FLOAT, ATTR_INTS, ATTR_GRAPH = 1, 7, 5  # AttributeProto.AttributeType


def pb_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def pb_key(number: int, wire: int) -> bytes:
    return pb_varint(number << 3 | wire)


def pb_int(number: int, value: int) -> bytes:
    return pb_key(number, VARINT) + pb_varint(value)


def pb_bytes(number: int, payload) -> bytes:
    if isinstance(payload, str):
        payload = payload.encode()
    return pb_key(number, LEN) + pb_varint(len(payload)) + payload


def pb_float(number: int, value: float) -> bytes:
    return pb_key(number, I32) + struct.pack("<f", value)


def pb_double(number: int, value: float) -> bytes:
    return pb_key(number, I64) + struct.pack("<d", value)


def onnx_tensor(name: str, data_type: int, dims, raw: bytes = b"", doubles=()) -> bytes:
    """TensorProto: dims (1), data_type (2), name (8), raw_data (9) or double_data (10)."""
    t = b"".join(pb_int(1, d) for d in dims) + pb_int(2, data_type) + pb_bytes(8, name)
    if raw:
        t += pb_bytes(9, raw)
    return t + b"".join(pb_double(10, v) for v in doubles)


def onnx_floats(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def onnx_halves(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}e", *values)


def onnx_attribute(name: str, kind: int, value) -> bytes:
    """AttributeProto: name (1), f (2), g (6), ints (8), type (20)."""
    a = pb_bytes(1, name)
    if kind == ATTR_FLOAT:
        a += pb_float(2, value)
    elif kind == ATTR_INTS:
        a += b"".join(pb_int(8, v) for v in value)
    elif kind == ATTR_GRAPH:
        a += pb_bytes(6, value)
    return a + pb_int(20, kind)


def onnx_node(op: str, inputs, outputs, name: str = "", domain=None, attributes=(), doc: str = "") -> bytes:
    """NodeProto: input (1), output (2), name (3), op_type (4), attribute (5), doc_string (6), domain (7)."""
    n = b"".join(pb_bytes(1, i) for i in inputs) + b"".join(pb_bytes(2, o) for o in outputs)
    if name:
        n += pb_bytes(3, name)
    n += pb_bytes(4, op) + b"".join(pb_bytes(5, a) for a in attributes)
    if doc:
        n += pb_bytes(6, doc)
    if domain is not None:
        n += pb_bytes(7, domain)
    return n


def onnx_value_info(name: str, shape, elem_type: int = FLOAT) -> bytes:
    """ValueInfoProto name (1), type (2): TypeProto.tensor_type (1) {elem_type (1), shape (2) {dim (1) {dim_value (1)}}}."""
    dims = b"".join(pb_bytes(1, pb_int(1, d)) for d in shape)
    tensor_type = pb_int(1, elem_type) + pb_bytes(2, dims)
    return pb_bytes(1, name) + pb_bytes(2, pb_bytes(1, tensor_type))


def onnx_graph(name: str, nodes, initializers, inputs, outputs) -> bytes:
    """GraphProto: node (1), name (2), initializer (5), input (11), output (12)."""
    g = b"".join(pb_bytes(1, n) for n in nodes) + pb_bytes(2, name)
    g += b"".join(pb_bytes(5, t) for t in initializers)
    g += b"".join(pb_bytes(11, onnx_value_info(*i)) for i in inputs)
    return g + b"".join(pb_bytes(12, onnx_value_info(*o)) for o in outputs)


def onnx_model(graph: bytes, opsets=(("", 13),), ir_version: int = 8) -> bytes:
    """ModelProto: ir_version (1), producer_name (2), graph (7), opset_import (8) {domain (1), version (2)}."""
    m = pb_int(1, ir_version) + pb_bytes(2, "honnin make_seeds")
    m += b"".join(pb_bytes(8, (pb_bytes(1, d) if d else b"") + pb_int(2, v)) for d, v in opsets)
    return m + pb_bytes(7, graph)


def onnx_seeds() -> dict:
    """Small synthetic models around PRelu, 1x2x4x4 float tensors, 2 channels."""
    x, y = ("in", (1, 2, 4, 4)), ("q", (1, 2, 4, 4))
    conv = onnx_node("Conv", ["in", "w"], ["c"], "conv", attributes=[onnx_attribute("kernel_shape", ATTR_INTS, [1, 1])])
    w = onnx_tensor("w", FLOAT, (2, 2, 1, 1), onnx_floats(1.0, 0.5, -0.5, 1.0))
    slope = onnx_tensor("slope", FLOAT, (2, 1, 1), onnx_floats(0.25, 0.125))
    slope_f16 = onnx_tensor("slope_f16", FLOAT16, (2, 1, 1), onnx_halves(0.25, 0.125))
    scale = onnx_tensor("unused_scale", DOUBLE, (2,), doubles=(1.0, 2.0))
    prelu_float = onnx_node("PRelu", ["c", "slope"], ["p"], "prelu_float")
    prelu_f16 = onnx_node("PRelu", ["p", "slope_f16"], ["q"], "prelu_f16")

    def model(nodes, initializers, **kw) -> bytes:
        return onnx_model(onnx_graph("g", nodes, initializers, [x], [y]), **kw)

    # The If's branches: PRelu inside a subgraph (not rewritten; the slope comes from the outer scope).
    branch = onnx_graph("branch", [onnx_node("PRelu", ["p", "slope"], ["b"], "inner")], [], [], [("b", (1, 2, 4, 4))])
    cond = onnx_tensor("cond", 9, (), b"\x01")  # BOOL
    if_node = onnx_node(
        "If",
        ["cond"],
        ["q"],
        "if",
        attributes=[onnx_attribute("then_branch", ATTR_GRAPH, branch), onnx_attribute("else_branch", ATTR_GRAPH, branch)],
    )
    return {
        # Conv -> PRelu (float slope, rewritten) -> PRelu (float16 slope, kept).
        "prelu_opset13.onnx": model([conv, prelu_float, prelu_f16], [w, slope, slope_f16, scale]),
        # Opset 7: Min cannot broadcast the scalar 0, nothing is rewritten.
        "prelu_opset7.onnx": model([conv, prelu_float, prelu_f16], [w, slope, slope_f16], opsets=(("", 7),), ir_version=3),
        # A PRelu with an attribute (kept), then a plain one (rewritten).
        "prelu_attribute.onnx": model(
            [
                conv,
                onnx_node("PRelu", ["c", "slope"], ["p"], "with_attribute", attributes=[onnx_attribute("alpha", ATTR_FLOAT, 0.5)]),
                onnx_node("PRelu", ["p", "slope"], ["q"]),
            ],
            [w, slope],
        ),
        # Opset 8 of "ai.onnx" plus a custom domain: PRelu of "com.example" (kept), of "ai.onnx" (rewritten).
        "prelu_domain.onnx": model(
            [
                conv,
                onnx_node("PRelu", ["c", "slope"], ["p"], "custom", domain="com.example"),
                onnx_node("PRelu", ["p", "slope"], ["q"], "default", domain="ai.onnx"),
            ],
            [w, slope],
            opsets=(("ai.onnx", 8), ("com.example", 1)),
        ),
        # A PRelu of the main graph (rewritten) and PRelu nodes in an If's subgraphs (kept).
        "prelu_subgraph.onnx": model([conv, prelu_float, if_node], [w, slope, cond]),
        # A PRelu with a long doc_string: the expansion does not carry it over,
        # so the rewritten file is shorter than this one.
        "prelu_doc_string.onnx": model(
            [conv, onnx_node("PRelu", ["c", "slope"], ["q"], "documented", doc="Per-channel PRelu. " * 20)],
            [w, slope],
        ),
    }


def write_onnx_seeds() -> None:
    directory = os.path.join(SEEDS, "onnx_graph")
    if os.path.isdir(directory):
        shutil.rmtree(directory)
    os.makedirs(directory)
    for name, data in onnx_seeds().items():
        write("onnx_graph", name, data)


# --- card responses (card_responses) ------------------------------------------
# Scripts of what a card answers, in the target's format: one byte choosing the
# path (0 read_face, 1 check_pin on the host, 2 check_pin on a pinpad, 3 the
# tries queries), then each response as a length byte and its bytes (FF and two
# bytes big-endian for a longer one). The reads follow honnin's order: an 8-byte
# header probe, then chunks of at most 256 bytes up to the element's end.

OK = b"\x90\x00"


def response(data: bytes) -> bytes:
    if len(data) < 0xFF:
        return bytes([len(data)]) + data
    return b"\xff" + len(data).to_bytes(2, "big") + data


def file_reads(element: bytes, six_c: bool = False, sixty_one: bool = False) -> list:
    """What a card answers to honnin's READ BINARY loop over `element`."""
    out = [element[:8] + OK]
    offset = 8
    while offset < len(element):
        chunk = element[offset : offset + 256]
        if six_c and offset == 8:
            out.append(bytes([0x6C, len(chunk) % 256]))  # resend with Le = xx
        if sixty_one and offset == 8:
            out.append(bytes([0x61, len(chunk) % 256]))  # then GET RESPONSE
        out.append(chunk + OK)
        offset += len(chunk)
    return out


def card_response_seeds(photo_jp2: bytes) -> dict:
    surface_inner = b"".join([
        tlv(0xDF21, bytes(18)),
        tlv(0xDF22, b"19800217"),
        tlv(0xDF23, b"1"),
        tlv(0xDF24, tlv(0x82, b"\x01\x00\x01") + tlv(0x81, b"\xa5" * 256)),
        tlv(0xDF27, photo_jp2),
        tlv(0xDF28, b"\x5a" * 256),
        tlv(0xDF29, b"20300217"),
    ])
    surface = tlv(0xFF20, surface_inner)
    body = b"\x11" * 32 + tlv(0x82, b"\x01\x00\x01") + tlv(0x81, b"\xc3" * 256)
    certificate = tlv(0x7F21, tlv(0x7F4E, body) + tlv(0x5F37, b"\x77" * 256))
    jpki_certificate = tlv(0x30, b"\x42" * 600)
    signature = b"\x33" * 256 + OK

    def script(path: int, answers) -> bytes:
        return bytes([path]) + b"".join(response(a) for a in answers)

    surface_ok = [OK, OK, b"\x63\xca", OK, OK, *file_reads(certificate), OK, *file_reads(surface), signature]
    pin_ok = [OK, OK, b"\x63\xc3", OK, OK, *file_reads(jpki_certificate), OK, signature]
    return {
        "read_face.bin": script(0, surface_ok),
        "read_face_6c_61.bin": script(
            0,
            [OK, OK, b"\x63\xca", OK, OK, *file_reads(certificate, six_c=True), OK,
             *file_reads(surface, sixty_one=True), b"\x61\x00", signature],
        ),
        "read_face_wrong.bin": script(0, [OK, OK, b"\x63\xca", b"\x63\xc9"]),
        "read_face_few_tries.bin": script(0, [OK, OK, b"\x63\xc3"]),
        "read_face_pulled.bin": script(0, surface_ok[:9]),
        "check_pin_host.bin": script(1, pin_ok),
        "check_pin_host_wrong.bin": script(1, [OK, OK, b"\x63\xc3", b"\x63\xc2"]),
        "check_pin_pinpad.bin": script(2, [b"\x06\x04\x42\x33\x00\x06", *pin_ok]),
        "check_pin_pinpad_cancelled.bin": script(2, [b"\x06\x04\x42\x33\x00\x06", OK, OK, b"\x63\xc3", b"\x64\x01"]),
        "tries.bin": script(3, [OK, OK, b"\x63\xca", OK, OK, b"\x63\xc3"]),
    }


def write_card_response_seeds(photo_jp2: bytes) -> None:
    directory = os.path.join(SEEDS, "card_responses")
    if os.path.isdir(directory):
        shutil.rmtree(directory)
    os.makedirs(directory)
    for name, data in card_response_seeds(photo_jp2).items():
        write("card_responses", name, data)


def main() -> None:
    if os.path.isdir(SEEDS):
        shutil.rmtree(SEEDS)
    for target in ("card_data", "image_decode", "jpeg2000", "card_photo"):
        os.makedirs(os.path.join(SEEDS, target))
    write_onnx_seeds()

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
    write_card_response_seeds(j2k_variants["grey.jp2"])

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

    summary(sorted(os.listdir(SEEDS)))


def summary(targets) -> None:
    total = 0
    for target in targets:
        files = os.listdir(os.path.join(SEEDS, target))
        size = sum(os.path.getsize(os.path.join(SEEDS, target, f)) for f in files)
        total += size
        print(f"{target}: {len(files)} seeds, {size} bytes")
    print(f"total: {total} bytes")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only", choices=["onnx_graph", "card_responses"], help="remake only this target's seeds, keep the others"
    )
    only = parser.parse_args().only
    if only == "onnx_graph":
        write_onnx_seeds()
        summary(["onnx_graph"])
    elif only == "card_responses":
        # The photo inside the scripted surface data is the committed grey JP2 seed.
        with open(os.path.join(SEEDS, "jpeg2000", "grey.jp2"), "rb") as f:
            write_card_response_seeds(f.read())
        summary(["card_responses"])
    else:
        if Image is None:
            sys.exit("Pillow is missing: apt-get install -y python3-pil (or use --only onnx_graph)")
        main()
