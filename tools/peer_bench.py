#!/usr/bin/env python3
"""Peer benchmark: honnin's end-to-end verification against a plain Python
pipeline doing the same steps with the same ONNX files through onnxruntime
1.31.1, timed interleaved in one run (tools/peer_bench.md).

    python tools/peer_bench.py verify [--rounds 15] [--iterations 20] [--json OUT]
    python tools/peer_bench.py embed  [--rounds 3] [--images 300] [--json OUT]

Needs onnxruntime==1.31.1, numpy and opencv-python-headless, and the driver:
`cargo build --release --example bench_driver`.
"""
import argparse
import hashlib
import json
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

# ONNX Runtime's PyPI build carries a telemetry client, which this turns off
# before the library loads (honnin does the same).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

ORT_VERSION = "1.31.1"
try:
    import cv2
    import numpy as np
    import onnxruntime as ort
except ImportError as e:
    sys.exit(f"peer_bench: {e}; install the peer's packages: "
             f"pip install onnxruntime=={ORT_VERSION} numpy opencv-python-headless")
if ort.__version__ != ORT_VERSION:
    sys.exit(f"peer_bench: onnxruntime {ORT_VERSION} is required (honnin's version), this Python has {ort.__version__}")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_SET = "yunet-s-dynamic,intel-reid-0095"
# Thresholds of the driver's uncalibrated policy: decisions only, timing does not depend on them.
THRESHOLDS = {"cosine": 0.3, "euclidean": 0.6}
COMPARABLE_FACE_RATIO = 0.75  # engine.rs


class BenchError(Exception):
    pass


def need(path, what):
    path = Path(path)
    if not path.exists():
        raise BenchError(f"{what} not found: {path}")
    return path


# ---------------------------------------------------------------- the peer


def round_half_away(v):
    """Rust's f32::round for the non-negative values used here."""
    return int(math.floor(v + 0.5))


def geometry(size, w, h):
    """Detector tensor size and scaled frame size, as detect.rs `geometry`."""
    if "dynamic" in size:
        multiple, max_side = size["dynamic"]["multiple"], size["dynamic"]["max_side"]
        scale = min(max_side / max(w, h), 1.0)
        round_up = lambda v: -(-max(round_half_away(v), 1) // multiple) * multiple  # noqa: E731
        tw, th = round_up(w * scale), round_up(h * scale)
    else:
        tw, th = size["fixed"]
        scale = min(tw / w, th / h, 1.0)
    sw = min(max(round_half_away(w * scale), 1), tw)
    sh = min(max(round_half_away(h * scale), 1), th)
    return tw, th, sw, sh


def fit_similarity(src, dst):
    """Least-squares similarity (rotation, uniform scale, translation), align.rs `fit`."""
    sm, dm = src.mean(axis=0), dst.mean(axis=0)
    p, q = src - sm, dst - dm
    norm = float((p * p).sum())
    if norm < 1e-9 or not math.isfinite(norm):
        return None
    a = float((p * q).sum()) / norm
    b = float((p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]).sum()) / norm
    return np.array([[a, -b, dm[0] - (a * sm[0] - b * sm[1])], [b, a, dm[1] - (b * sm[0] + a * sm[1])]])


def residuals(m, src, dst):
    return (((src @ m[:, :2].T + m[:, 2]) - dst) ** 2).sum(axis=1)


def fit_lmeds(src, dst):
    """align.rs `similarity_robust`: the two-point fit with the least median of
    squared residuals picks the inliers; least squares over those."""
    best = None
    for i in range(5):
        for j in range(i + 1, 5):
            m = fit_similarity(src[[i, j]], dst[[i, j]])
            if m is None:
                continue
            med = float(np.sort(residuals(m, src, dst))[2])
            if best is None or med < best[0]:
                best = (med, m)
    if best is None:
        return None
    med, model = best
    sigma = max(2.5 * 1.4826 * (1.0 + 5.0 / 3.0) * math.sqrt(med), 0.001)
    inliers = residuals(model, src, dst) <= sigma * sigma
    if inliers.sum() < 2:
        return model
    return fit_similarity(src[inliers], dst[inliers])


class Peer:
    """The pipeline as a Python user would write it: OpenCV for the image
    work, numpy for the maths, onnxruntime's Python API for the models."""

    def __init__(self, models_dir, model_set, threads, spinning=True, check_hashes=True):
        manifest = json.loads(need(Path(models_dir) / "manifest.json", "model manifest").read_text())
        entries = {e["id"]: e for e in manifest["models"]}
        det_id, rec_id = model_set.split(",")
        for model_id, role in ((det_id, "detector"), (rec_id, "recognizer")):
            if entries.get(model_id, {}).get("role") != role:
                raise BenchError(f"no {role} {model_id!r} in {models_dir}/manifest.json")
        det, rec = entries[det_id], entries[rec_id]
        options = ort.SessionOptions()  # defaults: all graph optimisations, arena, memory patterns
        options.intra_op_num_threads = threads
        if not spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")

        def session(entry):
            path = need(Path(models_dir) / entry["file"], f"model {entry['id']}")
            if check_hashes and hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"].lower():
                raise BenchError(f"{path}: sha256 differs from the manifest")
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        self.det, self.rec = session(det), session(rec)
        spec = det["detector"]
        self.det_input, self.det_colour = det["input"]["name"], det["input"]["colour"]
        self.det_norm = (np.array(det["input"]["mean"], np.float32), np.array(det["input"]["scale"], np.float32))
        self.size, self.strides = spec["size"], spec["strides"]
        self.score_threshold, self.nms_iou = spec["score_threshold"], spec["nms_iou"]
        self.det_outputs = [f"{k}_{s}" for s in self.strides for k in ("cls", "obj", "bbox", "kps")]
        align = rec["alignment"]
        self.reference_points = np.array(align["template"], np.float64)
        self.chip_size = tuple(align["size"])  # (w, h)
        self.fit_name = align.get("fit", "least_squares")
        self.fit = fit_lmeds if self.fit_name == "lmeds" else fit_similarity
        self.rec_input, self.rec_output = rec["input"]["name"], rec["output"]["name"]
        self.rec_colour = rec["input"]["colour"]
        self.rec_norm = (np.array(rec["input"]["mean"], np.float32), np.array(rec["input"]["scale"], np.float32))
        self.metric = rec["metric"]
        self.threshold = THRESHOLDS[self.metric]
        self.stages = defaultdict(list)  # stage -> ms, for every call

    def _tensor_into(self, out, img, colour, norm):
        """HWC uint8 BGR into a CHW float view, in the model's order and normalisation."""
        if colour == "rgb":
            img = img[..., ::-1]
        out[...] = img.transpose(2, 0, 1)
        mean, scale = norm
        if mean.any() or (scale != 1).any():
            out -= mean[:, None, None]
            out *= scale[:, None, None]

    def detect(self, bgr):
        """Faces as (boxes [n,4] x,y,w,h, scores [n], landmarks [n,5,2]), best first."""
        clock = time.perf_counter
        t0 = clock()
        h, w = bgr.shape[:2]
        tw, th, sw, sh = geometry(self.size, w, h)
        img = bgr if (sw, sh) == (w, h) else cv2.resize(bgr, (sw, sh), interpolation=cv2.INTER_LINEAR)
        blob = np.zeros((1, 3, th, tw), np.float32)
        self._tensor_into(blob[0, :, :sh, :sw], img, self.det_colour, self.det_norm)
        t1 = clock()
        outputs = self.det.run(self.det_outputs, {self.det_input: blob})
        t2 = clock()
        step_x, step_y = w / sw, h / sh
        boxes, scores, marks = [], [], []
        for n, s in enumerate(self.strides):
            cls, obj, bbox, kps = (o.reshape(o.shape[1], -1) if o.ndim == 3 else o for o in outputs[4 * n:4 * n + 4])
            score = np.sqrt(np.clip(cls[:, 0], 0, 1) * np.clip(obj[:, 0], 0, 1))
            idx = np.flatnonzero(score >= self.score_threshold)
            if idx.size == 0:
                continue
            row, col = (idx // (tw // s)).astype(np.float32), (idx % (tw // s)).astype(np.float32)
            b, k = bbox[idx], kps[idx]
            cx, cy = (col + b[:, 0]) * s, (row + b[:, 1]) * s
            bw, bh = np.exp(np.clip(b[:, 2], -20, 20)) * s, np.exp(np.clip(b[:, 3], -20, 20)) * s
            lx = ((k[:, 0::2] + col[:, None]) * s + 0.5) * step_x - 0.5
            ly = ((k[:, 1::2] + row[:, None]) * s + 0.5) * step_y - 0.5
            box = np.stack([(cx - bw / 2 + 0.5) * step_x - 0.5, (cy - bh / 2 + 0.5) * step_y - 0.5,
                            bw * step_x, bh * step_y], axis=1)
            lm = np.stack([lx, ly], axis=2)
            finite = np.isfinite(box).all(axis=1) & np.isfinite(lm).all(axis=(1, 2))
            boxes.append(box[finite])
            scores.append(score[idx][finite])
            marks.append(lm[finite])
        if boxes:
            boxes, scores, marks = np.concatenate(boxes), np.concatenate(scores), np.concatenate(marks)
            keep = nms(boxes, scores, self.nms_iou)
            boxes, scores, marks = boxes[keep], scores[keep], marks[keep]
        else:
            boxes, scores, marks = np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))
        t3 = clock()
        self.stages["detect_pre"].append((t1 - t0) * 1e3)
        self.stages["detect_run"].append((t2 - t1) * 1e3)
        self.stages["detect_post"].append((t3 - t2) * 1e3)
        return boxes, scores, marks

    def template(self, path):
        """(embedding, None) for the subject face of the image at `path`, or (None, reason)."""
        clock = time.perf_counter
        t0 = clock()
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)  # BGR, EXIF orientation applied
        if bgr is None:
            raise BenchError(f"{path}: OpenCV could not read or decode it")
        self.stages["decode"].append((clock() - t0) * 1e3)
        boxes, scores, marks = self.detect(bgr)
        t1 = clock()
        subject, reason = choose_subject(boxes, scores, bgr.shape[1], bgr.shape[0])
        if subject is None:
            return None, reason
        m = self.fit(marks[subject].astype(np.float64), self.reference_points)
        if m is None or abs(m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]) < 1e-12:
            return None, "unalignable"
        cw, ch = self.chip_size
        chip = cv2.warpAffine(bgr, m, (cw, ch), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        # The chip and its mirror image (flipped about the centre column) in one
        # batch, their embeddings averaged, as honnin does by default.
        blob = np.empty((2, 3, ch, cw), np.float32)
        self._tensor_into(blob[0], chip, self.rec_colour, self.rec_norm)
        blob[1] = blob[0, :, :, ::-1]
        t2 = clock()
        embedding = self.rec.run([self.rec_output], {self.rec_input: blob})[0].mean(axis=0)
        t3 = clock()
        self.stages["subject_align"].append((t2 - t1) * 1e3)
        self.stages["embed_run"].append((t3 - t2) * 1e3)
        if not np.isfinite(embedding).all():
            raise BenchError(f"{path}: the recognizer gave non-finite values")
        return embedding, None

    def score(self, a, b):
        if self.metric == "cosine":
            na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
            return 0.0 if na == 0 or nb == 0 else float(a @ b) / (na * nb)
        return float(np.linalg.norm(a - b))

    def decide(self, score):
        passes = score >= self.threshold if self.metric == "cosine" else score <= self.threshold
        return "match" if passes else "no_match"

    def card_template(self, path):
        embedding, reason = self.template(path)
        if embedding is None:
            raise BenchError(f"card {path}: no template ({reason})")
        return embedding

    def verify(self, card, path):
        """(score, decision) of the live image at `path` against a card template."""
        embedding, reason = self.template(path)
        if embedding is None:
            return None, f"inconclusive:{reason}_live"
        t0 = time.perf_counter()
        score = self.score(card, embedding)
        self.stages["compare"].append((time.perf_counter() - t0) * 1e3)
        return score, self.decide(score)


def nms(boxes, scores, iou_threshold):
    """Greedy non-maximum suppression; indices kept, best first (detect.rs `nms`)."""
    order = np.argsort(-scores, kind="stable")[:5000]
    x0, y0, w, h = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = w * h
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        ix = np.maximum(np.minimum(x0[i] + w[i], x0[rest] + w[rest]) - np.maximum(x0[i], x0[rest]), 0)
        iy = np.maximum(np.minimum(y0[i] + h[i], y0[rest] + h[rest]) - np.maximum(y0[i], y0[rest]), 0)
        inter = ix * iy
        union = area[i] + area[rest] - inter
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0)
        order = rest[iou <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def choose_subject(boxes, scores, width, height):
    """The most prominent face (size times centrality), engine.rs `choose_subject`."""
    if len(boxes) == 0:
        return None, "no_face"
    cx, cy = boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2
    hw, hh = width / 2, height / 2
    off = np.hypot(cx - hw, cy - hh) / math.hypot(hw, hh)
    prominence = np.sqrt(np.maximum(boxes[:, 2], 0) * np.maximum(boxes[:, 3], 0)) * np.clip(1 - off, 0, 1)
    order = np.lexsort((-scores, -prominence))
    if len(order) > 1 and prominence[order[1]] >= COMPARABLE_FACE_RATIO * prominence[order[0]]:
        return None, "multiple_faces"
    return int(order[0]), None


# ------------------------------------------------- peer worker processes

_worker_peer = None


def _worker_init(models_dir, model_set, warm_image):
    global _worker_peer
    cv2.setNumThreads(1)
    _worker_peer = Peer(models_dir, model_set, threads=1, check_hashes=False)
    _worker_peer.template(warm_image)


def _worker_template(path):
    return _worker_peer.template(path)[0] is not None


# ------------------------------------------------------------ the driver


class Driver:
    """examples/bench_driver, driven over stdin/stdout."""

    def __init__(self, exe, models, model_set, card, live, threads=None, workers=1):
        cmd = [str(exe), "--models", str(models), "--model-set", model_set, "--card", str(card), "--live", str(live),
               "--workers", str(workers)] + (["--threads", str(threads)] if threads else [])
        self.name = f"honnin {workers}x{threads or 'default'}"
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        if self._line() != "ready":
            raise BenchError("bench_driver did not start")

    def _line(self):
        line = self.proc.stdout.readline()
        if not line:
            raise BenchError(f"bench_driver exited with status {self.proc.wait()} (its message is above)")
        return line.rstrip("\n")

    def _ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._line()

    def verify(self, n):
        ms = [float(v) for v in self._ask(f"verify {n}").split()[1:]]
        decode = [float(v) for v in self._line().split()[1:]]
        _, score, decision = self._line().split()
        return ms, decode, (None if score == "none" else float(score)), decision

    def detect(self, n):
        return [float(v) for v in self._ask(f"detect {n}").split()[1:]]

    def score(self, card, live):
        if any(" " in str(p) for p in (card, live)):
            raise BenchError("bench_driver takes paths without spaces")
        _, score, decision = self._ask(f"score {card} {live}").split()
        return (None if score == "none" else float(score)), decision

    def embed(self, file_list):
        fields = dict(kv.split("=") for kv in self._ask(f"embed {file_list}").split()[1:])
        return int(fields["faces"]), float(fields["seconds"])

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)


# ------------------------------------------------------------ statistics


def fmt(score):
    return "none" if score is None else f"{score:.4f}"


def median(values):
    return float(np.median(values)) if len(values) else float("nan")


def summarise(rounds):
    """Median of every iteration of every round, and how the rounds' medians spread."""
    every = [t for r in rounds for t in r]
    per_round = [median(r) for r in rounds]
    m = median(every)
    return {"median_ms": m, "iterations": len(every), "p10_ms": float(np.percentile(every, 10)),
            "p90_ms": float(np.percentile(every, 90)), "round_medians_ms": per_round,
            "round_median_min_ms": min(per_round), "round_median_max_ms": max(per_round),
            "round_spread_pct": (max(per_round) - min(per_round)) / m * 100}


def pair_list(lfw, count):
    """The first count/2 matched and count/2 mismatched pairs of pairsDevTest.txt, as paths."""
    lines = need(lfw / "pairsDevTest.txt", "LFW pairsDevTest.txt").read_text().split("\n")
    n = int(lines[0])
    image = lambda name, i: lfw / "images" / name / f"{name}_{int(i):04d}.jpg"  # noqa: E731
    same = [(image(p[0], p[1]), image(p[0], p[2])) for p in (l.split("\t") for l in lines[1:1 + n])]
    diff = [(image(p[0], p[1]), image(p[2], p[3])) for p in (l.split("\t") for l in lines[1 + n:1 + 2 * n])]
    half = count // 2
    return [(a, b, "same") for a, b in same[:count - half]] + [(a, b, "different") for a, b in diff[:half]]


def image_list(lfw, count):
    """The first `count` distinct images named by pairsDevTest.txt, in order."""
    seen = {}
    for a, b, _ in pair_list(lfw, 10 ** 6):
        seen.update({a: None, b: None})
    return [need(p, "LFW image") for p in list(seen)[:count]]


# ------------------------------------------------------------------ modes


def agreement(driver, peer, pairs):
    rows = []
    for card, live, kind in pairs:
        h_score, h_decision = driver.score(card, live)
        p_score, p_decision = peer.verify(peer.card_template(card), live)
        rows.append({"card": card.name, "live": live.name, "pair": kind, "honnin": h_score, "peer": p_score,
                     "honnin_decision": h_decision, "peer_decision": p_decision})
    diffs = [abs(r["honnin"] - r["peer"]) for r in rows if r["honnin"] is not None and r["peer"] is not None]
    same = sum(r["honnin_decision"] == r["peer_decision"] for r in rows)
    print(f"agreement on {len(rows)} LFW pairs: same decision {same}/{len(rows)}, "
          f"|score difference| max {max(diffs, default=float('nan')):.4f}, mean {np.mean(diffs):.4f}")
    for r in rows:
        print(f"  {r['pair']:9} {r['card']:32} {r['live']:37} honnin {fmt(r['honnin']):7} {r['honnin_decision']:9}"
              f" peer {fmt(r['peer']):7} {r['peer_decision']}")
    return {"pairs": rows, "same_decision": same, "max_abs_diff": max(diffs, default=None)}


def camera_frame(tmp):
    """A 640x480 camera-like JPEG: rows 40..520 of samples/astronaut_live.jpg, re-encoded at quality 95."""
    src = need(ROOT / "samples/astronaut_live.jpg", "sample image")
    img = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if img is None or img.shape[:2] != (640, 640):
        raise BenchError(f"{src}: expected a 640x640 image")
    path = Path(tmp) / "astronaut_640x480.jpg"
    cv2.imwrite(str(path), img[40:520], [cv2.IMWRITE_JPEG_QUALITY, 95])
    return path


def run_verify(args, peers, lfw, tmp):
    card = need(lfw / "images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg", "LFW card image")
    frames = {"lfw_250x250": need(lfw / "images/Aaron_Peirsol/Aaron_Peirsol_0002.jpg", "LFW live image"),
              "camera_640x480": camera_frame(tmp)}
    cards = {name: peer.card_template(card) for name, peer in peers.items()}
    first = next(iter(peers.values()))
    print(f"peer: alignment fit {first.fit_name}, intra_op_num_threads {args.threads}; "
          f"honnin: --threads {args.threads}; both average each face with its mirror image")
    results = {"frames": {}}
    for f, (frame, live) in enumerate(frames.items()):
        driver = Driver(args.driver, args.models, args.model_set, card, live, threads=args.threads)
        try:
            if f == 0 and args.pairs:
                results["agreement"] = agreement(driver, first, pair_list(lfw, args.pairs))
            times = {"honnin": [], **{name: [] for name in peers}}
            decode, detect, scores = [], [], {}

            def run(name, n):
                if name == "honnin":
                    ms, dec, score, decision = driver.verify(n)
                    decode.extend(dec)
                    detect.extend(driver.detect(n))  # the detector alone, not part of `ms`
                else:
                    peer, ms = peers[name], []
                    for _ in range(n):
                        t0 = time.perf_counter()
                        score, decision = peer.verify(cards[name], live)
                        ms.append((time.perf_counter() - t0) * 1e3)
                scores[name] = (score, decision)
                return ms

            for name in times:
                run(name, args.warmup)
            for peer in peers.values():
                peer.stages.clear()
            decode.clear()
            detect.clear()
            names = list(times)
            for r in range(args.rounds):
                order = names[r % len(names):] + names[:r % len(names)]  # who goes first rotates
                for name in order:
                    times[name].append(run(name, args.iterations))
        finally:
            driver.close()
        out = {name: summarise(t) for name, t in times.items()}
        h = out["honnin"]["median_ms"]
        print(f"\n{frame} ({live.name}): {args.rounds} rounds x {args.iterations} iterations, interleaved")
        for name, s in out.items():
            ratio = s["median_ms"] / h
            per_round = [median(p) / median(q) for p, q in zip(times[name], times["honnin"])]
            s.update(score=scores[name][0], decision=scores[name][1], ratio_to_honnin=ratio,
                     round_ratios=per_round)
            print(f"  {name:12} median {s['median_ms']:7.2f} ms  (p10 {s['p10_ms']:.2f}, p90 {s['p90_ms']:.2f}; "
                  f"round medians {s['round_median_min_ms']:.2f}-{s['round_median_max_ms']:.2f}, "
                  f"spread {s['round_spread_pct']:.0f} %)  x{ratio:.2f} of honnin "
                  f"(per round x{min(per_round):.2f}-x{max(per_round):.2f})  score {fmt(scores[name][0])} "
                  f"{scores[name][1]}")
        best = min(peers, key=lambda k: out[k]["median_ms"])
        out["best_peer"], out["best_peer_over_honnin"] = best, out[best]["median_ms"] / h
        print(f"  => best peer ({best}) takes x{out[best]['median_ms'] / h:.2f} honnin's median time")
        out["honnin"].update(decode_median_ms=median(decode), detect_median_ms=median(detect))
        print(f"  honnin stages: decode (LiveFrame::open) {median(decode):.2f}, detect (Engine::detect, timed "
              f"apart) {median(detect):.2f}, the rest (subject, align, embed, compare) "
              f"~{h - median(decode) - median(detect):.2f} ms")
        for name, peer in peers.items():
            stages = {k: median(v) for k, v in peer.stages.items()}
            out[name]["stage_medians_ms"] = stages
            detect_sum = sum(stages[k] for k in ("detect_pre", "detect_run", "detect_post"))
            print(f"  {name} stages: " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
                  + f" ms (detect total {detect_sum:.2f})")
        results["frames"][frame] = out
    return results


def run_embed(args, lfw, tmp):
    images = image_list(lfw, args.images)
    listing = Path(tmp) / "images.txt"
    listing.write_text("".join(f"{p}\n" for p in images))
    warm = Path(tmp) / "warm.txt"
    warm.write_text("".join(f"{p}\n" for p in images[:10]))
    card, live = images[0], images[1]
    drivers = {"honnin 2x1": dict(threads=1, workers=2), "honnin 1x2": dict(threads=2, workers=1)}
    drivers = {k: Driver(args.driver, args.models, args.model_set, card, live, **v) for k, v in drivers.items()}
    contestants = {}
    for name, d in drivers.items():
        contestants[name] = lambda d=d, f=listing: d.embed(f)
        d.embed(warm)
    peer_1x2 = {f"peer 1x2{' nospin' if not spin else ''}": Peer(args.models, args.model_set, 2, spin)
                for spin in args.spin}
    for name, peer in peer_1x2.items():
        contestants[name] = lambda p=peer: sum(p.template(i)[0] is not None for i in images)
        for i in images[:10]:
            peer.template(i)
    pool = multiprocessing.get_context("spawn").Pool(
        2, initializer=_worker_init, initargs=(str(args.models), args.model_set, str(images[0])))
    contestants["peer 2x1"] = lambda: sum(pool.imap_unordered(_worker_template, map(str, images), chunksize=1))
    pool.map(_worker_template, map(str, images[:10]))
    results = {name: [] for name in contestants}
    try:
        names = list(contestants)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                if name.startswith("honnin"):
                    faces, seconds = contestants[name]()
                else:
                    t0 = time.perf_counter()
                    faces = contestants[name]()
                    seconds = time.perf_counter() - t0
                results[name].append({"faces": faces, "seconds": seconds, "images_per_s": len(images) / seconds})
    finally:
        pool.close()
        for d in drivers.values():
            d.close()
    print(f"\nembed: {len(images)} LFW images (pairsDevTest.txt order), {args.rounds} rounds, interleaved")
    out = {}
    for name, runs in results.items():
        rates = [r["images_per_s"] for r in runs]
        out[name] = {"runs": runs, "median_images_per_s": median(rates), "faces": runs[-1]["faces"]}
        print(f"  {name:16} {median(rates):6.1f} images/s (rounds {min(rates):.1f}-{max(rates):.1f}), "
              f"faces {runs[-1]['faces']}/{len(images)}")
    honnin = out["honnin 2x1"]["median_images_per_s"]
    best_peer = max((k for k in out if k.startswith("peer")), key=lambda k: out[k]["median_images_per_s"])
    ratio = honnin / out[best_peer]["median_images_per_s"]
    print(f"  honnin 2x1 (honnin-lab eval's configuration) / best peer ({best_peer}): x{ratio:.2f}")
    return {"images": len(images), "configs": out, "best_peer": best_peer, "honnin_over_best_peer": ratio}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["verify", "embed"])
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--model-set", default=DEFAULT_MODEL_SET, help="DET,REC manifest ids")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("HONNIN_DATA", ROOT.parent / "shared/data")))
    parser.add_argument("--driver", type=Path, default=ROOT / "target/release/examples/bench_driver")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads, honnin and peer (verify)")
    parser.add_argument("--spin", default="both", choices=["on", "off", "both"],
                        help="peer with onnxruntime's default spinning (on), without it (off), or both")
    parser.add_argument("--rounds", type=int, help="verify: 15, embed: 3")
    parser.add_argument("--iterations", type=int, default=20, help="verify: iterations per round and side")
    parser.add_argument("--warmup", type=int, default=5, help="verify: untimed iterations per side")
    parser.add_argument("--pairs", type=int, default=10, help="verify: LFW pairs checked for agreement")
    parser.add_argument("--images", type=int, default=300, help="embed: images in the list")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    args.spin = {"on": [True], "off": [False], "both": [True, False]}[args.spin]
    args.rounds = args.rounds or (15 if args.mode == "verify" else 3)
    try:
        need(args.driver, "bench_driver (cargo build --release --example bench_driver)")
        lfw = need(args.data / "lfw", "LFW (set --data or HONNIN_DATA)")
        lib = ROOT / ".runtime/libonnxruntime.so.1.31.1"
        ort_dir = Path(ort.__file__).parent / "capi"
        same_lib = (lib.is_file() and (ort_dir / lib.name).is_file()
                    and hashlib.sha256(lib.read_bytes()).digest() == hashlib.sha256((ort_dir / lib.name).read_bytes()).digest())
        env = {"onnxruntime": ort.__version__, "numpy": np.__version__, "opencv": cv2.__version__,
               "python": sys.version.split()[0], "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
               "same_ort_library_as_honnin": same_lib, "model_set": args.model_set,
               "peer_session_options": f"intra_op_num_threads={args.threads if args.mode == 'verify' else '2 or 1'}, "
                                       "otherwise onnxruntime's defaults (spinning as named)"}
        print(f"peer_bench {args.mode}: onnxruntime {ort.__version__} (same library file as honnin's: {same_lib}), "
              f"numpy {np.__version__}, OpenCV {cv2.__version__}, {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.2f}")
        with tempfile.TemporaryDirectory(prefix="peer_bench-") as tmp:
            if args.mode == "verify":
                peers = {f"peer{'' if spin else ' nospin'}": Peer(args.models, args.model_set, args.threads, spin)
                         for spin in args.spin}
                results = run_verify(args, peers, lfw, tmp)
            else:
                results = run_embed(args, lfw, tmp)
        env["loadavg_end"] = os.getloadavg()
        print(f"load average at the end: {env['loadavg_end'][0]:.2f}")
        if args.json:
            args.json.write_text(json.dumps({"mode": args.mode, "environment": env, "settings": {
                "rounds": args.rounds, "iterations": args.iterations, "warmup": args.warmup,
                "threads": args.threads, "images": args.images}, **results}, indent=1))
            print(f"wrote {args.json}")
    except BenchError as e:
        sys.exit(f"peer_bench: {e}")


if __name__ == "__main__":
    main()
