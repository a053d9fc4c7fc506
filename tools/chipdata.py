"""Builders for chip data, from the standards' layouts: BER-TLV, ICAO 9303 EF.DG2,
ISO/IEC 19794-5:2005 face records, ISO/IEC 39794-5 data blocks and My Number
card-surface data. Shared by tools/make_hostile_corpus.py, tools/make_card_samples.py
and fuzz/make_seeds.py; standard library only.
"""
import struct


def tlv(tag, value):
    """A BER element with a minimal definite length (as the Rust tests' builder writes it)."""
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    elif n < 0x10000:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    else:
        length = bytes([0x83]) + n.to_bytes(3, "big")
    return tag_bytes + length + value


def face_record(faces, version=b"010\0", count=None):
    """ISO/IEC 19794-5:2005 record. faces: [(data_type, width, height, image, feature_points)]."""
    body = b""
    for data_type, width, height, image, points in faces:
        block_len = 20 + 8 * len(points) + 12 + len(image)
        # Facial information: block length, points, gender, eye colour, hair colour, property mask (3),
        # expression (2), pose yaw/pitch/roll, pose uncertainty yaw/pitch/roll.
        body += struct.pack(">IHBBB3sHBBBBBB", block_len, len(points), 0, 0, 0, b"\0\0\0", 0, 0, 0, 0, 0, 0, 0)
        for kind, code, x, y in points:
            body += struct.pack(">BBHHH", kind, code, x, y, 0)
        # Image information: face image type, data type, width, height, colour space, source type,
        # device type (2), quality (2).
        body += struct.pack(">BBHHBBHH", 1, data_type, width, height, 1, 2, 0, 0)
        body += image
    n = len(faces) if count is None else count
    return b"FAC\0" + version + struct.pack(">IH", 14 + len(body), n) + body


def biometric_header():
    # 80 ICAO header version, 81 biometric type (2 = face), 87 format owner, 88 format type.
    return tlv(0xA1, tlv(0x80, b"\x01\x01") + tlv(0x81, b"\x02") + tlv(0x87, b"\x01\x01") + tlv(0x88, b"\x00\x08"))


def dg2(blocks, count=None):
    """EF.DG2: 75 > 7F61 > 02 + 7F60 (A1 + block)..."""
    group = tlv(0x02, bytes([len(blocks) if count is None else count]))
    for block in blocks:
        group += tlv(0x7F60, biometric_header() + block)
    return tlv(0x75, tlv(0x7F61, group))


def iso39794(image, format_code=3, size=(60, 80), representations=None):
    """The value of a 7F2E element: A1 > 65 > (version, A1 > 30 ...)."""
    info = tlv(
        0xA1,
        tlv(0xA0, tlv(0x80, bytes([format_code])))
        + tlv(0xA7, tlv(0x80, struct.pack(">H", size[0])) + tlv(0x81, struct.pack(">H", size[1])))
        + tlv(0xA9, tlv(0xA1, tlv(0x80, b"\x02"))),
    )
    block_2d = tlv(0xA0, tlv(0x80, image) + info)
    rep = tlv(0x30, tlv(0x80, b"\x00") + tlv(0xA1, tlv(0xA0, block_2d)))
    reps = rep if representations is None else representations
    version = tlv(0xA0, tlv(0x80, b"\x03") + tlv(0x81, b"\x07\xe3"))
    return tlv(0xA1, tlv(0x65, version + tlv(0xA1, reps)))


def my_number(photo, padding=128, extra=()):
    inner = tlv(0xDF21, b"\x01\x02") + tlv(0xDF22, b"19800101") + tlv(0xDF27, photo) + tlv(0xDF29, b"20300101")
    for element in extra:
        inner += element
    return tlv(0xFF20, inner) + b"\xff" * padding
