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
import subprocess
import sys
import tempfile
from pathlib import Path

from chipdata import tlv
from make_hostile_corpus import read_png

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "samples/astronaut_card.png"
TARGET_BYTES = 4000


def main():
    width, height, rgb = read_png(SRC)
    grey = bytes((299 * r + 587 * g + 114 * b + 500) // 1000 for r, g, b in zip(rgb[0::3], rgb[1::3], rgb[2::3]))
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
