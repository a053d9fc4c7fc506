#!/usr/bin/env python3
"""Builds the chip-style card samples from samples/astronaut_card.png.

- samples/astronaut_card_grey.jp2: the card photo as a chip stores it on a
  My Number card: monochrome JPEG 2000 of about 4 KB (OpenJPEG's
  opj_compress, Debian package libopenjp2-tools; a dev-only tool).
- samples/astronaut_mynumber.bin: that JPEG 2000 inside My Number
  card-surface data (FF20 > DF21 header, DF22 birth date, DF23 sex, DF27 face
  photo, DF29 expiry), padded with 0xFF to a 4 KB-multiple file as a full EF
  read returns it. The non-photo fields are dummies.

Standard library only; run from the repository root.
"""
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

from chipdata import tlv

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "samples/astronaut_card.png"
TARGET_BYTES = 4000


def read_png_rgb(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (2, 6), "8-bit RGB(A), not interlaced"
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def main():
    width, height, channels, rows = read_png_rgb(SRC)
    grey = bytearray()
    for row in rows:
        for x in range(width):
            r, g, b = row[x * channels:x * channels + 3]
            grey.append((299 * r + 587 * g + 114 * b + 500) // 1000)
    jp2 = ROOT / "samples/astronaut_card_grey.jp2"
    with tempfile.TemporaryDirectory() as tmp:
        pgm = Path(tmp) / "card.pgm"
        pgm.write_bytes(b"P5\n%d %d\n255\n" % (width, height) + bytes(grey))
        ratio = width * height / TARGET_BYTES
        subprocess.run(["opj_compress", "-i", str(pgm), "-o", str(jp2), "-r", f"{ratio:.2f}"],
                       check=True, stdout=subprocess.DEVNULL)
    photo = jp2.read_bytes()
    surface = tlv(0xFF20, b"".join([
        tlv(0xDF21, bytes([0x01, 0x00])),
        tlv(0xDF22, b"19690720"),
        tlv(0xDF23, b"1"),
        tlv(0xDF27, photo),
        tlv(0xDF29, b"20341231"),
    ]))
    padded = surface + b"\xFF" * (-len(surface) % 4096)
    (ROOT / "samples/astronaut_mynumber.bin").write_bytes(padded)
    print(f"{jp2.name}: {len(photo)} bytes; astronaut_mynumber.bin: {len(padded)} bytes")


if __name__ == "__main__":
    sys.exit(main())
