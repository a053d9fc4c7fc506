#!/usr/bin/env bash
# Proves the aarch64 build runs: builds the honnin CLI (package honnin-cli) and the C example
# for aarch64-unknown-linux-gnu, lays out the files a device needs in
# target/aarch64-unknown-linux-gnu/device/, runs
# `honnin verify` from there under qemu-user, and compares the outcome with the host
# build's. Fails if the decision or the exit status differs, or if the scores differ
# by more than 1e-4.
#
#   python3 tools/setup.py --cross aarch64 && tools/cross-run-aarch64.sh [CARD LIVE]
#
# Two things differ from a real device (docs/cross-compiling.md):
# - qemu-user has no seccomp, so the run uses --no-sandbox (the sandbox otherwise
#   fails with "seccomp: Error calling `seccomp`: Function not implemented").
# - qemu-user 7.2 (Debian 12) shows the program the host's x86 /proc/cpuinfo, and
#   ONNX Runtime's CPU detection (cpuinfo) then crashes with SIGSEGV. qemu's -L
#   prefix is consulted for every absolute path before the real one, so the prefix
#   built here holds an ARM /proc/cpuinfo for the emulated CPU next to the cross
#   C library.
# HONNIN_QEMU_CPU picks the emulated CPU: cortex-a72 (default) or neoverse-n1.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
CARD=${1:-samples/astronaut_mynumber.bin}
LIVE=${2:-samples/astronaut_live.jpg}
CPU=${HONNIN_QEMU_CPU:-cortex-a72}
ORT_LIB=.runtime/aarch64/libonnxruntime.so.1.31.1
SYSROOT=/usr/aarch64-linux-gnu

case "$CPU" in
    # MIDR fields and the kernel's feature names for the CPU qemu emulates.
    cortex-a72) MIDR=(0x41 0x0 0xd08 2) FEATURES="fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid" ;;
    neoverse-n1)
        MIDR=(0x41 0x3 0xd0c 1)
        FEATURES="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs"
        ;;
    *) echo "cross-run: HONNIN_QEMU_CPU must be cortex-a72 or neoverse-n1, not $CPU" >&2; exit 64 ;;
esac
for need in "$ORT_LIB" "$SYSROOT/lib/ld-linux-aarch64.so.1" "$SYSROOT/lib/libstdc++.so.6"; do
    [ -e "$need" ] || { echo "cross-run: $need missing; run python3 tools/setup.py --cross aarch64" >&2; exit 1; }
done
command -v qemu-aarch64 >/dev/null || { echo "cross-run: qemu-aarch64 missing; run python3 tools/setup.py --cross aarch64" >&2; exit 1; }

echo "== build (host and $TARGET)"
# The terminal's tool as it ships: honnin-cli alone, so that the library is built with its
# features only (a workspace build would add honnin-lab's `research`).
cargo build --release -p honnin-cli
# Without the card reader: pcsc-lite's arm64 library is not installed for cross-linking here
# (docs/cross-compiling.md).
cargo build --release --target "$TARGET" -p honnin-cli --no-default-features --features sandbox

echo "== device layout"
DEVICE=target/$TARGET/device
rm -rf "$DEVICE"
mkdir -p "$DEVICE/models" "$DEVICE/calibration" "$DEVICE/.runtime"
cp "target/$TARGET/release/honnin" "$DEVICE/"
# The CLI's default library path: there it is checked against the aarch64 pin built into honnin.
cp "$ORT_LIB" "$DEVICE/.runtime/"
cp models/manifest.json "$DEVICE/models/"
# Only the detector and recognizer the manifest names as active, and its PAD models, are read.
# The PAD models go along when they are here (tools/setup.py with HONNIN_MODEL_MIRROR), so
# that presentation-attack detection runs on the emulated ARM CPU too.
recognizer=$(python3 - "$DEVICE/models" <<'EOF'
import json, os, shutil, sys
m = json.load(open("models/manifest.json"))
pad = [e for e in m["models"] if e["id"] in m.get("pad", [])]
with_pad = bool(pad) and all(os.path.isfile(f"models/{e['file']}") for e in pad)
for e in m["models"]:
    if e["id"] in (m["detector"], m["recognizer"]) or (with_pad and e in pad):
        shutil.copy(f"models/{e['file']}", sys.argv[1])
print(m["recognizer"])
EOF
)
cp "calibration/$recognizer.json" "$DEVICE/calibration/"
if ls "$DEVICE"/models/antispoof_* >/dev/null 2>&1; then cp calibration/pad-minifasnet.json "$DEVICE/calibration/"; fi
(cd "$DEVICE" && find . -type f | sort | xargs ls -l | awk '{print "  " $5 "\t" $9}')

echo "== qemu prefix ($CPU)"
PREFIX=$PWD/target/qemu-aarch64-root
rm -rf "$PREFIX"
mkdir -p "$PREFIX/proc"
ln -s "$SYSROOT/lib" "$PREFIX/lib"
for ((i = 0; i < $(nproc --all); i++)); do
    printf 'processor\t: %d\nBogoMIPS\t: 50.00\nFeatures\t: %s\nCPU implementer\t: %s\nCPU architecture: 8\nCPU variant\t: %s\nCPU part\t: %s\nCPU revision\t: %s\n\n' \
        "$i" "$FEATURES" "${MIDR[@]}"
done >"$PREFIX/proc/cpuinfo"

run() { # label, command...: prints the JSON outcome, the exit status and the wall time
    local label=$1 start=$EPOCHREALTIME rc=0 out
    shift
    out=$("$@") || rc=$?
    printf '%s (exit %s, %s s): %s\n' "$label" "$rc" "$(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $start }")" "$out" >&2
    printf '%s\t%s\n' "$rc" "$out"
}
card=$(realpath "$CARD")
live=$(realpath "$LIVE")
echo "== verify"
host=$(run host target/release/honnin verify --card "$card" --live "$live" --json)
arm=$(cd "$DEVICE" && run "qemu-aarch64 $CPU" qemu-aarch64 -cpu "$CPU" -L "$PREFIX" ./honnin verify \
    --card "$card" --live "$live" --json --no-sandbox)

python3 - "$host" "$arm" <<'EOF'
import json, sys
(host_rc, host), (arm_rc, arm) = (a.split("\t", 1) for a in sys.argv[1:])
try:
    host, arm = json.loads(host), json.loads(arm)
except ValueError:
    sys.exit(f"cross-run: no outcome (exit host {host_rc}, aarch64 {arm_rc})")
h, a = ((o.get("score") or {}).get("value") for o in (host, arm))
diff = abs(h - a) if h is not None and a is not None else None
print(f"decision host {host['decision']} / aarch64 {arm['decision']}; score host {h!r} / aarch64 {a!r}; |difference| {diff!r}")
if host_rc != arm_rc or host["decision"] != arm["decision"] or (h is None) != (a is None) or (diff is not None and diff > 1e-4):
    sys.exit("cross-run: the aarch64 outcome differs from the host's")
# Presentation-attack detection: the same verdict, and the liveness to 1e-4.
hp, ap = host.get("pad", {}), arm.get("pad", {})
lh, la = hp.get("score"), ap.get("score")
pdiff = abs(lh - la) if lh is not None and la is not None else None
print(f"PAD host {hp.get('status')} {lh!r} / aarch64 {ap.get('status')} {la!r}; |difference| {pdiff!r}")
if hp.get("status") != ap.get("status") or (pdiff is not None and pdiff > 1e-4):
    sys.exit("cross-run: the aarch64 PAD verdict differs from the host's")
EOF

echo "== C example for $TARGET, linked with the aarch64 libhonnin_ffi.a"
cargo build --release --target "$TARGET" -p honnin-ffi --no-default-features
C_OUT=$PWD/target/$TARGET/c-example
make -s -B -C examples/c CC=aarch64-linux-gnu-gcc PCSC_LIBS= LIBDIR="$PWD/target/$TARGET/release" OUT="$C_OUT" "$C_OUT/verify-static"
# The C API checks the library against the aarch64 pin built into it.
# Its stderr says whether PAD runs: it must when the device has the PAD models.
c_arm=$(cd "$DEVICE" && run "C example, qemu-aarch64 $CPU" sh -c 'exec "$@" 2>"$0"' "$C_OUT/stderr.txt" \
    qemu-aarch64 -cpu "$CPU" -L "$PREFIX" "$C_OUT/verify-static" \
    --onnxruntime .runtime/libonnxruntime.so.1.31.1 "$card" "$live")
cat "$C_OUT/stderr.txt" >&2
if ls "$DEVICE"/models/antispoof_* >/dev/null 2>&1; then
    grep -q "presentation-attack detection: on" "$C_OUT/stderr.txt" ||
        { echo "cross-run: the aarch64 C example does not run PAD though the device has its models" >&2; exit 1; }
fi
python3 - "$host" "$c_arm" <<'EOF'
import json, sys
(host_rc, host), (c_rc, line) = (a.split("\t", 1) for a in sys.argv[1:])
host = json.loads(host)
fields = line.split("\t")
if len(fields) != 6:
    sys.exit(f"cross-run: the aarch64 C example gave no outcome (exit {c_rc})")
decision, score = fields[2], float(fields[4])
h = host["score"]["value"]
print(f"C example on aarch64: decision {decision}, score {score!r}; host CLI {host['decision']}, {h!r}; |difference| {abs(h - score)!r}")
if decision != host["decision"] or abs(h - score) > 1e-4 or c_rc != host_rc:
    sys.exit("cross-run: the aarch64 C example's outcome differs from the host's")
EOF
