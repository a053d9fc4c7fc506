#!/usr/bin/env python3
"""Put in place what honnin needs at run time and does not commit.

1. ONNX Runtime: the shared library `libonnxruntime.so.1.31.1`, taken from the
   PyPI wheel `onnxruntime==1.31.1`. The wheel and the library inside it are both
   pinned by sha256; the library lands in `.runtime/` (git-ignored).
2. Detector and presentation-attack detection models that may not be committed (see models/manifest.json,
   `"committed": false`): copied from the folder named by HONNIN_MODEL_MIRROR when
   it is set, otherwise downloaded from the manifest's `url`. Every file is
   checked against the manifest's sha256 before it is placed in models/.

3. What building the terminal and the C API needs (their default `reader` feature, the card
   in a PC/SC reader): Debian's `libpcsclite-dev` and `pkgconf`, installed with apt-get when
   missing, as the development tools below are.

With --dev it also installs what the development commands and tests need and the
product never does: OpenJPEG's `opj_compress` (Debian package libopenjp2-tools),
which `honnin-lab card-like` uses to encode card-like JPEG 2000 references; `strace`,
which the privacy test runs `honnin verify` under; `tmux`, in which the counter
application's test drives it; `make` and `valgrind`, with which the C API's
tests build the example in examples/c and check its memory use; libclang
(libclang-dev), which bindgen needs to build the `camera` feature's V4L2 bindings;
and, for the card simulator's tests (honnin-cardsim), PC/SC: `pcscd`, vpcd
(`vsmartcard-vpcd`, pcscd's virtual reader driver) and `ip` (iproute2, to bring
up the loopback interface of the private network namespace the tests run pcscd
in). Each is installed with apt-get only when it is missing (its command is not
on PATH, or for a library or a daemon outside a user's PATH no file matches the
absolute path or glob in DEV_TOOLS): directly as root, through `sudo -n` where
that works without a password, otherwise setup fails and prints the command to
run.

vsmartcard-vpcd's own configuration (/etc/reader.conf.d/vpcd, `DEVICENAME
/dev/null:0x8C7B`) makes a system pcscd listen for virtual cards on port 35963 of
every network interface; the tests never use it (their pcscd reads its own
configuration in its own network namespace). When setup installs the package it
therefore removes that file at once (dpkg keeps a deleted configuration file
deleted across upgrades); when the package was there before and the file still
listens on all interfaces, setup prints how to remove it.

With --cross aarch64 it also prepares cross-compiling for 64-bit ARM Linux
(`cargo build --target aarch64-unknown-linux-gnu`, see docs/cross-compiling.md):
it installs the missing Debian cross packages in the same way (gcc-aarch64-linux-gnu,
the linker named in .cargo/config.toml; libc6-dev-arm64-cross to link against;
libstdc++6-arm64-cross and qemu-user, with which tools/cross-run-aarch64.sh runs
the ARM build on this machine), adds the Rust target with `rustup target add` if
it is not installed, and extracts the aarch64 ONNX Runtime library from the
aarch64 wheel of the same release into `.runtime/aarch64/`, pinned by sha256
exactly like the host's.

Only the Python standard library is used. Nothing is replaced that is already in
place and verified, so running it twice is cheap. Downloads go to a temporary
file and are renamed into place only after their hash matched: an interrupted or
tampered download never leaves a file behind that looks valid.

Environment:
  HONNIN_MODEL_MIRROR  folder holding the model files (e.g. ../shared/models)
  HONNIN_ORT_WHEEL     local path of the onnxruntime wheel (offline machines)
  HONNIN_ORT_WHEEL_AARCH64
                       local path of the aarch64 onnxruntime wheel (--cross aarch64 offline)
"""

import glob
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_DIR = ROOT / ".runtime"
MODELS_DIR = ROOT / "models"

ORT_MEMBER = "onnxruntime/capi/libonnxruntime.so.1.31.1"
ORT_LIB_NAME = "libonnxruntime.so.1.31.1"

# onnxruntime==1.31.1 wheels from PyPI. The shared library does not depend on the
# Python version, so one wheel per CPU architecture is enough.
ORT_WHEELS = {
    "x86_64": {
        "url": "https://files.pythonhosted.org/packages/b4/1d/0f85ee31a3d93f2243a5cc29252becf858f53ac5cfa6c9c15d9ffe107eea/onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl",
        "wheel_sha256": "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f",
        "lib_sha256": "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3",
    },
    "aarch64": {
        "url": "https://files.pythonhosted.org/packages/02/ee/b173a49293b146b54bd057bf8681a015aef764d8f56d999ad8c6e53ab18d/onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_aarch64.whl",
        "wheel_sha256": "da05378364c44d4407e463982d2bf8d5e4cfea873283757e48beeb41df97b7f3",
        "lib_sha256": "8aa3b76b28c778a2b1dd660d34161adb1d508c9ccd04ff9dc80e26eca5df8467",
    },
}


class SetupError(Exception):
    pass


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verified(path: Path, sha256: str) -> bool:
    return path.is_file() and sha256_file(path) == sha256


def place_verified(tmp: Path, dest: Path, sha256: str, what: str) -> None:
    """Rename `tmp` onto `dest` if its hash matches; delete it otherwise."""
    actual = sha256_file(tmp)
    if actual != sha256:
        tmp.unlink()
        raise SetupError(f"{what}: sha256 {actual} does not match the pinned {sha256}")
    os.chmod(tmp, 0o644)
    os.replace(tmp, dest)


def download(url: str, dest_dir: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=dest_dir, prefix=".download-")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=120) as resp:
            shutil.copyfileobj(resp, out)
    except Exception as err:
        tmp.unlink(missing_ok=True)
        raise SetupError(f"downloading {url} failed: {err}") from err
    return tmp


def host_arch() -> str:
    arch = platform.machine()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(arch.lower(), arch)


def setup_onnxruntime(target: "str | None" = None) -> Path:
    """Place the pinned library for the host in .runtime/, or for a cross target in .runtime/<target>/."""
    arch = target or host_arch()
    if arch not in ORT_WHEELS:
        raise SetupError(f"no pinned onnxruntime wheel for CPU architecture {arch!r}")
    pin = ORT_WHEELS[arch]
    runtime_dir = RUNTIME_DIR / arch if target else RUNTIME_DIR
    runtime_dir.mkdir(parents=True, exist_ok=True)
    lib = runtime_dir / ORT_LIB_NAME
    label = f"onnxruntime ({arch})" if target else "onnxruntime"
    if verified(lib, pin["lib_sha256"]):
        print(f"{label}: {lib.relative_to(ROOT)} already in place (sha256 ok)")
        return lib

    wheel = runtime_dir / pin["url"].rsplit("/", 1)[1]
    local = os.environ.get(f"HONNIN_ORT_WHEEL_{arch.upper()}" if target else "HONNIN_ORT_WHEEL")
    if not verified(wheel, pin["wheel_sha256"]):
        if local:
            tmp = runtime_dir / ".wheel-copy"
            shutil.copyfile(local, tmp)
        else:
            print(f"{label}: fetching {pin['url']}")
            tmp = download(pin["url"], runtime_dir)
        place_verified(tmp, wheel, pin["wheel_sha256"], f"{label} wheel")

    fd, name = tempfile.mkstemp(dir=runtime_dir, prefix=".lib-")
    tmp = Path(name)
    with os.fdopen(fd, "wb") as out, zipfile.ZipFile(wheel) as zf, zf.open(ORT_MEMBER) as src:
        shutil.copyfileobj(src, out)
    place_verified(tmp, lib, pin["lib_sha256"], ORT_MEMBER)
    print(f"{label}: extracted {lib.relative_to(ROOT)} (sha256 ok)")
    return lib


def setup_models() -> None:
    manifest = json.loads((MODELS_DIR / "manifest.json").read_text())
    mirror = os.environ.get("HONNIN_MODEL_MIRROR")
    for model in manifest["models"]:
        dest = MODELS_DIR / model["file"]
        if verified(dest, model["sha256"]):
            print(f"model {model['id']}: {dest.relative_to(ROOT)} in place (sha256 ok)")
            continue
        if model.get("committed", False):
            raise SetupError(
                f"model {model['id']}: committed file {dest.relative_to(ROOT)} is missing or does not match its sha256"
            )
        if mirror:
            source = Path(mirror) / model["file"]
            if not source.is_file():
                raise SetupError(f"model {model['id']}: {source} not found in HONNIN_MODEL_MIRROR")
            fd, name = tempfile.mkstemp(dir=MODELS_DIR, prefix=".model-")
            os.close(fd)
            tmp = Path(name)
            shutil.copyfile(source, tmp)
            origin = str(source)
        else:
            if "url" not in model and model.get("role") == "pad":
                # The PAD models exist only as converted files (no upstream ONNX to
                # download): without a mirror, honnin runs without PAD and says so.
                print(f"model {model['id']}: not placed (no url; set HONNIN_MODEL_MIRROR); presentation-attack detection stays off")
                continue
            if "url" not in model:
                raise SetupError(f"model {model['id']}: no url in the manifest; set HONNIN_MODEL_MIRROR")
            tmp = download(model["url"], MODELS_DIR)
            origin = model["url"]
        try:
            place_verified(tmp, dest, model["sha256"], f"model {model['id']}")
        except SetupError as err:
            raise SetupError(
                f"{err} (if the upstream file changed, place a copy with the pinned hash in a folder and set HONNIN_MODEL_MIRROR)"
            ) from err
        print(f"model {model['id']}: placed {dest.relative_to(ROOT)} from {origin} (sha256 ok)")


# Development tools: (what shows it is installed, Debian package, what needs it). What shows it
# is a command on PATH or, for a library without one, a file glob (an absolute path).
DEV_TOOLS = [
    ("opj_compress", "libopenjp2-tools", "honnin-lab card-like encodes card-like JPEG 2000 references"),
    ("strace", "strace", "the privacy test traces honnin verify's system calls"),
    ("tmux", "tmux", "the counter application's test drives it in a terminal multiplexer"),
    ("make", "make", "the C API example (examples/c) is built with a Makefile"),
    ("valgrind", "valgrind", "the C API example's test runs it under valgrind's memcheck"),
    # The unversioned libclang.so comes with libclang-N-dev only, which also brings
    # clang's builtin headers; libclang-cpp or libclang1 alone are not enough.
    (
        "/usr/lib/llvm-*/lib/libclang.so",
        "libclang-dev",
        "the camera feature's V4L2 bindings are generated by bindgen",
    ),
    # The card simulator's tests (honnin-cardsim/tests): a private pcscd with vpcd's reader.
    ("/usr/sbin/pcscd", "pcscd", "the card simulator's tests run a private pcscd"),
    (
        "/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
        "vsmartcard-vpcd",
        "vpcd, pcscd's virtual reader driver, presents the card simulator as a card",
    ),
    ("ip", "iproute2", "the card tests bring up the loopback interface of pcscd's private network namespace"),
]

# What building the terminal and the C API needs on every machine (their default `reader` feature):
# installed without --dev too, in the DEV_TOOLS form.
BUILD_TOOLS = [
    (
        "/usr/lib/*/pkgconfig/libpcsclite.pc",
        "libpcsclite-dev",
        "the pcsc crate (honnin's card reader, in the CLI and the C API by default) links libpcsclite",
    ),
    ("pkg-config", "pkgconf", "the pcsc crate's build script finds libpcsclite with pkg-config"),
]

# vsmartcard-vpcd's configuration for a system pcscd: vpcd listening on every interface.
VPCD_SYSTEM_CONF = Path("/etc/reader.conf.d/vpcd")


def find_dev_tool(check: str) -> "str | None":
    """Where `check` (a command, or an absolute file glob) is found, or None."""
    if check.startswith("/"):
        found = sorted(glob.glob(check))
        return found[-1] if found else None
    return shutil.which(check)


# Cross-compiling, per target: the Rust target, and the Debian packages in the DEV_TOOLS form.
CROSS_TARGETS = {
    "aarch64": {
        "rust_target": "aarch64-unknown-linux-gnu",
        "tools": [
            ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu", "the linker .cargo/config.toml names for the target"),
            (
                "/usr/aarch64-linux-gnu/lib/crt1.o",
                "libc6-dev-arm64-cross",
                "the ARM C library and start files that binaries and shared libraries link against",
            ),
            (
                "/usr/aarch64-linux-gnu/lib/libstdc++.so.6",
                "libstdc++6-arm64-cross",
                "ONNX Runtime's C++ runtime, for running the ARM build under qemu",
            ),
            ("qemu-aarch64", "qemu-user", "tools/cross-run-aarch64.sh runs the ARM build on this machine"),
        ],
    },
}


def apt_install(tools: list, label: str) -> None:
    """Install each missing tool's Debian package with apt-get (tools in the DEV_TOOLS form)."""
    missing = []
    for check, package, _why in tools:
        found = find_dev_tool(check)
        if found:
            print(f"{label}: {package if check.startswith('/') else check} in place ({found})")
        else:
            missing.append(package)
    if not missing:
        return
    install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    hint = f"sudo apt-get install -y {' '.join(missing)}"
    if os.geteuid() == 0:
        prefix = []
    elif shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        prefix = ["sudo", "-n"]
    else:
        raise SetupError(f"{', '.join(missing)} missing and installing needs root; run: {hint}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print(f"{label}: installing {' '.join(missing)}: {' '.join(prefix + install)}")
    if subprocess.run(prefix + install, env=env).returncode != 0:
        # A fresh machine may have no package lists yet.
        if subprocess.run(prefix + ["apt-get", "update"], env=env).returncode != 0 or (
            subprocess.run(prefix + install, env=env).returncode != 0
        ):
            raise SetupError(f"apt-get could not install {' '.join(missing)}; run: {hint}")
    for check, package, _why in tools:
        if not find_dev_tool(check):
            where = "matches no file" if check.startswith("/") else "is not on PATH"
            raise SetupError(f"{package} installed but {check} {where}")
    print(f"{label}: {' '.join(missing)} installed")


def vpcd_listens_everywhere() -> bool:
    """Whether the system's vpcd configuration has vpcd listen on all interfaces (`/dev/null:`)."""
    try:
        text = VPCD_SYSTEM_CONF.read_text()
    except OSError:
        return False
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "DEVICENAME" and words[1].startswith("/dev/null:"):
            return True
    return False


def setup_dev_tools() -> None:
    """Install each missing development tool's Debian package with apt-get."""
    vpcd_before = find_dev_tool("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
    apt_install(DEV_TOOLS, "dev")
    if not vpcd_listens_everywhere():
        return
    if vpcd_before is None and os.access(VPCD_SYSTEM_CONF.parent, os.W_OK):
        # Installed just now: its default configuration is nobody's; the tests never read it.
        VPCD_SYSTEM_CONF.unlink()
        print(f"dev: removed {VPCD_SYSTEM_CONF} (vpcd listening on every interface for a system pcscd)")
    else:
        print(
            f"dev: warning: {VPCD_SYSTEM_CONF} has a system pcscd's vpcd listen on port 35963 of every "
            f"network interface; the tests do not need it. Remove it: "
            f"sudo rm {VPCD_SYSTEM_CONF} && sudo systemctl try-restart pcscd"
        )


def setup_rust_target(rust_target: str, label: str) -> None:
    """`rustup target add` the target unless its standard library is installed already."""
    if not shutil.which("rustup"):
        raise SetupError(f"rustup not found; install the Rust standard library for {rust_target} another way")
    listed = subprocess.run(["rustup", "target", "list", "--installed"], capture_output=True, text=True)
    if listed.returncode != 0:
        raise SetupError(f"rustup target list --installed failed: {listed.stderr.strip()}")
    if rust_target in listed.stdout.split():
        print(f"{label}: Rust target {rust_target} in place")
        return
    print(f"{label}: rustup target add {rust_target}")
    if subprocess.run(["rustup", "target", "add", rust_target]).returncode != 0:
        raise SetupError(f"rustup target add {rust_target} failed")


def setup_cross(target: str) -> None:
    cross = CROSS_TARGETS[target]
    label = f"cross {target}"
    apt_install(cross["tools"], label)
    setup_rust_target(cross["rust_target"], label)
    setup_onnxruntime(target)


USAGE = f"usage: python3 tools/setup.py [--dev] [--cross {{{','.join(CROSS_TARGETS)}}}]"


def main(argv: list[str]) -> int:
    dev = False
    cross = []
    args = iter(argv)
    for arg in args:
        if arg == "--dev":
            dev = True
        elif arg == "--cross" or arg.startswith("--cross="):
            target = arg.split("=", 1)[1] if "=" in arg else next(args, None)
            if target not in CROSS_TARGETS:
                print(f"setup: --cross needs one of {', '.join(CROSS_TARGETS)}, not {target!r} ({USAGE})", file=sys.stderr)
                return 64
            if target not in cross:
                cross.append(target)
        elif arg in ("-h", "--help"):
            print(__doc__)
            print(USAGE)
            return 0
        else:
            print(f"setup: unknown argument {arg!r} ({USAGE})", file=sys.stderr)
            return 64
    try:
        setup_onnxruntime()
        setup_models()
        apt_install(BUILD_TOOLS, "build")
        if dev:
            setup_dev_tools()
        for target in cross:
            setup_cross(target)
    except SetupError as err:
        print(f"setup failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
