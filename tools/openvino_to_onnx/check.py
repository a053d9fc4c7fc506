#!/usr/bin/env python3
"""Developer check for convert.py (needs numpy, onnx, onnxruntime, opencv).

1. onnx.checker.check_model(full_check=True) on the converted model.
2. Runs the converted model and an independently converted reference model in
   onnxruntime (CPU) on real aligned faces: the first 24 LFW identities (sorted)
   whose <Name>_0001.jpg has a YuNet detection (score >= 0.6), aligned by a
   similarity transform (LMEDS) onto the 128x128 template, BGR float32 0..255,
   NCHW.  Batch 24 and batch 1; reports the max abs difference of the embeddings
   and of the pairwise cosine similarities.
3. Runs convert.py twice and checks the outputs are byte-identical.

Exit status is non-zero if any step fails or a difference exceeds --tol (1e-4).

    /tmp/venv/bin/python tools/openvino_to_onnx/check.py [--model /tmp/reid0095.onnx]
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("HONNIN_SHARED", HERE.parents[2] / "shared"))
IR_DIR = SHARED / "models" / "face-reidentification-retail-0095" / "FP16"
REFERENCE = SHARED / "models" / "face_reid_0095_reference.onnx"
YUNET = SHARED / "models" / "face_detection_yunet_2023mar.onnx"
LFW = SHARED / "data" / "lfw" / "images"
TEMPLATE = np.array([[40.392, 59.079], [87.376, 59.079], [64.034, 81.985],
                     [44.732, 105.560], [83.640, 105.560]], dtype=np.float32)


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def aligned_faces(count=24):
    """Return (names, [count,3,128,128] float32 BGR 0..255) of aligned LFW faces."""
    names, chips = [], []
    for name in sorted(os.listdir(LFW)):
        path = LFW / name / f"{name}_0001.jpg"
        if not path.is_file():
            continue
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        det = cv2.FaceDetectorYN.create(str(YUNET), "", (w, h), score_threshold=0.6)
        _, faces = det.detect(img)
        if faces is None or len(faces) == 0:
            print(f"  skip {name}: no face")
            continue
        best = faces[np.argmax(faces[:, 14])]
        landmarks = best[4:14].reshape(5, 2).astype(np.float32)
        m, _ = cv2.estimateAffinePartial2D(landmarks, TEMPLATE, method=cv2.LMEDS)
        if m is None:
            print(f"  skip {name}: no transform")
            continue
        chip = cv2.warpAffine(img, m, (128, 128))
        chips.append(chip.astype(np.float32).transpose(2, 0, 1))
        names.append(name)
        if len(names) == count:
            break
    return names, np.ascontiguousarray(np.stack(chips))


def cosines(e):
    n = e / np.linalg.norm(e, axis=1, keepdims=True)
    return n @ n.T


def session(path, optimize=True):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    if not optimize:  # keeps onnxruntime from fusing Conv+Add in the reference
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="/tmp/reid0095.onnx")
    ap.add_argument("--reference", default=str(REFERENCE))
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    ok = True

    print(f"model     {args.model} sha256 {sha256(args.model)}")
    print(f"reference {args.reference} sha256 {sha256(args.reference)}")
    onnx.checker.check_model(onnx.load(args.model), full_check=True)
    print("1. onnx.checker.check_model(full_check=True): OK")

    names, x = aligned_faces()
    print(f"2. {len(names)} aligned faces: {names[0]} .. {names[-1]}")
    single = [x[i:i + 1] for i in range(len(x))]
    for opt in (True, False):
        ours, ref = session(args.model, opt), session(args.reference, opt)
        print(f"   onnxruntime graph optimizations {'on' if opt else 'off'}:")
        for label, batches in (("batch 24", [x]), ("batch 1 ", single)):
            a = np.concatenate([ours.run(["embedding"], {"input": b})[0] for b in batches])
            r = np.concatenate([ref.run(["embedding"], {"input": b})[0] for b in batches])
            assert a.shape == r.shape == (len(x), 256), (a.shape, r.shape)
            d_emb = float(np.abs(a - r).max())
            d_cos = float(np.abs(cosines(a) - cosines(r)).max())
            off = cosines(r)[~np.eye(len(x), dtype=bool)]
            print(f"     {label}: max|emb diff| {d_emb:.3e} (max|emb| {np.abs(r).max():.3f}), "
                  f"max|cos diff| {d_cos:.3e} (reference cos between faces "
                  f"{off.min():.3f}..{off.max():.3f})")
            ok &= d_emb <= args.tol and d_cos <= args.tol

    with tempfile.TemporaryDirectory() as tmp:
        outs = []
        for k in range(2):
            out = os.path.join(tmp, f"run{k}.onnx")
            subprocess.run([sys.executable, str(HERE / "convert.py"), "--ir", str(IR_DIR),
                            "--out", out], check=True, stdout=subprocess.DEVNULL)
            outs.append(sha256(out))
    same = outs[0] == outs[1] == sha256(args.model)
    print(f"3. two runs: {outs[0]} / {outs[1]}: "
          f"{'identical' if outs[0] == outs[1] else 'DIFFERENT'}"
          f"{', equal to --model' if same else ', NOT equal to --model'}")
    ok &= same
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
