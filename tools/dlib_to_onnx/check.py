#!/usr/bin/env python3
"""Compare the rebuilt ONNX recognizer with the reference one on real face chips.

For every image in the reference JSON (LFW photos with a 2x3 affine matrix "M" mapping
image pixels to 150x150 chip pixels) the chip is warped with a numpy bilinear sampler
(same convention as cv2.warpAffine: integer coordinates are pixel centres, border 0),
and both models are run with onnxruntime (CPU).  Also reported: sha256 of both files,
and, for information only, the distance to the embeddings stored in the JSON (those were
produced with OpenCV's warp, so small differences there are expected).

Exit status is non-zero if the max abs embedding difference exceeds --tol (1e-5).

Usage::

    python check.py [--rebuilt /tmp/dlib_rebuilt.onnx] [--reference PATH] [--lfw DIR]
                    [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
# The shared face data sits beside the project (override with HONNIN_DATA).
DATA = Path(os.environ.get("HONNIN_DATA", ROOT.parent / "shared" / "data"))
REFERENCE_SHA256 = "737cba39ed3124f0962e7e7d70e04b728841fd07c141c54f09c7891075da699e"
CHIP = 150


def sha256_file(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def warp_affine_bilinear(img: np.ndarray, m: np.ndarray, size: int = CHIP) -> np.ndarray:
    """Warp an HxWx3 image into a size x size chip; `m` (2x3) maps image -> chip pixels.

    Each chip pixel (x, y) samples the image at inverse(m) @ (x, y, 1) with bilinear
    interpolation; samples outside the image read as 0."""
    a = np.vstack([m, [0.0, 0.0, 1.0]])
    inv = np.linalg.inv(a)[:2]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
    h, w = img.shape[:2]
    src = img.astype(np.float64)

    def tap(yy, xx):
        inside = ((yy >= 0) & (yy < h) & (xx >= 0) & (xx < w))[..., None]
        return np.where(inside, src[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)], 0.0)

    out = (tap(y0, x0) * (1 - fx) * (1 - fy) + tap(y0, x0 + 1) * fx * (1 - fy)
           + tap(y0 + 1, x0) * (1 - fx) * fy + tap(y0 + 1, x0 + 1) * fx * fy)
    return out.astype(np.float32)


def center_crop_chip(img: np.ndarray, size: int = CHIP) -> np.ndarray:
    """Fallback chip: central square (half the short side) resized to size x size."""
    h, w = img.shape[:2]
    s = min(h, w) // 2
    top, left = (h - s) // 2, (w - s) // 2
    crop = Image.fromarray(img[top:top + s, left:left + s])
    return np.asarray(crop.resize((size, size), Image.BILINEAR), dtype=np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rebuilt", default="/tmp/dlib_rebuilt.onnx")
    ap.add_argument("--reference",
                    default=str(ROOT / "models/dlib_face_recognition_resnet_model_v1.onnx"))
    ap.add_argument("--lfw", default=str(DATA / "lfw"),
                    help="LFW root (image paths in the JSON are relative to it)")
    ap.add_argument("--json", default=str(DATA / "reference/lfw_yunet_dlib.json"))
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()

    sha_rebuilt, sha_ref = sha256_file(args.rebuilt), sha256_file(args.reference)
    print(f"rebuilt   {args.rebuilt}: sha256 {sha_rebuilt}")
    print(f"reference {args.reference}: sha256 {sha_ref}"
          + ("" if sha_ref == REFERENCE_SHA256 else "  (NOT the pinned reference!)"))
    print(f"byte-identical: {sha_rebuilt == sha_ref}")

    # Build the chips: affine-warped face chips from the JSON, plus centre crops of the
    # same photos as extra (non-aligned, but real-image) inputs.
    meta = json.loads(Path(args.json).read_text())
    chips, names, stored = [], [], []
    for entry in meta["images"]:
        if "M" not in entry:
            continue
        img = np.asarray(Image.open(Path(args.lfw) / entry["image"]).convert("RGB"))
        chips.append(warp_affine_bilinear(img, np.asarray(entry["M"], np.float64)))
        names.append(entry["image"])
        stored.append(entry.get("embedding"))
    n_aligned = len(chips)
    for entry in meta["images"]:
        img = np.asarray(Image.open(Path(args.lfw) / entry["image"]).convert("RGB"))
        chips.append(center_crop_chip(img))
    batch = np.stack(chips).transpose(0, 3, 1, 2).copy()      # N,3,150,150 RGB 0..255

    def run(path: str) -> np.ndarray:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        # one batched call and one call per chip (exercises the dynamic N)
        batched = sess.run(["embedding"], {"input": batch})[0]
        single = np.concatenate([sess.run(["embedding"], {"input": batch[i:i + 1]})[0]
                                 for i in range(len(batch))])
        return batched, single

    ref_b, ref_s = run(args.reference)
    new_b, new_s = run(args.rebuilt)
    diff = max(np.abs(ref_b - new_b).max(), np.abs(ref_s - new_s).max())
    print(f"chips: {n_aligned} aligned (JSON 'M' warp) + {len(chips) - n_aligned} centre crops"
          f" = {len(chips)}; embedding shape {new_b.shape}")
    print(f"max |embedding(reference) - embedding(rebuilt)| = {diff:.3g}")

    have = [i for i, e in enumerate(stored) if e is not None]
    if have:
        d = np.linalg.norm(new_b[have] - np.asarray([stored[i] for i in have]), axis=1)
        print(f"info: L2 to the JSON's stored embeddings (OpenCV warp): max {d.max():.4f}, "
              f"mean {d.mean():.4f} over {len(have)} chips")

    ok = diff <= args.tol
    print("PASS" if ok else "FAIL", f"(tolerance {args.tol:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
