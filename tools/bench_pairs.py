#!/usr/bin/env python3
"""Benchmark: `honnin verify --pairs` against one `honnin verify` call per pair.

Runs, in each round and back to back, N single calls (`honnin verify --card C
--live L --json`, a new process each) and one batch call (`honnin verify
--pairs FILE`) on the same N LFW pairs, alternating which goes first. Prints
each round's wall times and their ratio, and the medians over the rounds.
Checks that every pair gets the same decision and score both ways (exit 1
otherwise). Python standard library only.

    python3 tools/bench_pairs.py [--pairs 100] [--rounds 3] [--jobs 2]
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lfw_pairs(data: Path, n: int):
    """The first n/2 same-identity and n/2 different-identity pairs of LFW View 2."""
    with open(data / "lfw" / "pairs_view2.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    same = [r for r in rows if r["same"] == "1"][: n // 2]
    different = [r for r in rows if r["same"] == "0"][: n - n // 2]
    return [(data / "lfw" / r["img1"], data / "lfw" / r["img2"]) for r in same + different]


def key(outcome: dict):
    score = outcome.get("score") or {}
    return outcome["decision"], score.get("value")


def singles(exe: Path, pairs):
    started = time.perf_counter()
    results = []
    for card, live in pairs:
        out = subprocess.run(
            [exe, "verify", "--card", card, "--live", live, "--json"], cwd=ROOT, capture_output=True, text=True
        )
        if out.returncode not in (0, 1, 2):
            sys.exit(f"single call failed ({out.returncode}): {out.stderr}")
        results.append(key(json.loads(out.stdout)))
    return time.perf_counter() - started, results


def batch(exe: Path, pairs_file: Path, jobs: int):
    started = time.perf_counter()
    out = subprocess.run(
        [exe, "verify", "--pairs", pairs_file, "--jobs", str(jobs)], cwd=ROOT, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"batch call failed ({out.returncode}): {out.stderr}")
    return elapsed, [key(json.loads(line)) for line in out.stdout.splitlines()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--exe", type=Path, default=ROOT / "target" / "release" / "honnin")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("HONNIN_DATA", ROOT.parent / "shared" / "data")))
    args = parser.parse_args()
    pairs = lfw_pairs(args.data, args.pairs)
    with tempfile.TemporaryDirectory() as tmp:
        pairs_file = Path(tmp) / "pairs.csv"
        pairs_file.write_text("card,live\n" + "".join(f"{c},{l}\n" for c, l in pairs))
        rows = []
        for round_ in range(args.rounds):
            if round_ % 2 == 0:
                single_time, single = singles(args.exe, pairs)
                batch_time, batched = batch(args.exe, pairs_file, args.jobs)
            else:
                batch_time, batched = batch(args.exe, pairs_file, args.jobs)
                single_time, single = singles(args.exe, pairs)
            if single != batched:
                diff = [i for i, (a, b) in enumerate(zip(single, batched)) if a != b]
                sys.exit(f"round {round_ + 1}: {len(diff)} pairs differ, first {diff[:5]}")
            rows.append((single_time, batch_time))
            print(
                f"round {round_ + 1}: {len(pairs)} single calls {single_time:.2f} s, one --pairs call "
                f"(--jobs {args.jobs}) {batch_time:.2f} s, ratio {single_time / batch_time:.1f}x",
                flush=True,
            )
    single_median = statistics.median(r[0] for r in rows)
    batch_median = statistics.median(r[1] for r in rows)
    ratio_median = statistics.median(r[0] / r[1] for r in rows)
    print(
        f"median: single calls {single_median:.2f} s ({single_median / len(pairs) * 1e3:.0f} ms per call), "
        f"--pairs {batch_median:.2f} s ({batch_median / len(pairs) * 1e3:.0f} ms per pair), "
        f"ratio {ratio_median:.1f}x; decisions and scores identical for all {len(pairs)} pairs"
    )


if __name__ == "__main__":
    main()
