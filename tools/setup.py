#!/usr/bin/env python3
"""Put in place what honnin needs at run time and does not commit.

1. ONNX Runtime: the shared library `libonnxruntime.so.1.31.1`, taken from the
   PyPI wheel `onnxruntime==1.31.1`. The wheel and the library inside it are both
   pinned by sha256; the library lands in `.runtime/` (git-ignored).
2. Detector models that may not be committed (see models/manifest.json,
   `"committed": false`): copied from the folder named by HONNIN_MODEL_MIRROR when
   it is set, otherwise downloaded from the manifest's `url`. Every file is
   checked against the manifest's sha256 before it is placed in models/.

With --dev it also installs what the development commands and tests need and the
product never does: OpenJPEG's `opj_compress` (Debian package libopenjp2-tools),
which `honnin card-like` uses to encode card-like JPEG 2000 references; `strace`,
which the privacy test runs `honnin verify` under; `tmux`, in which the counter
application's test drives it; and libclang (libclang-dev), which bindgen needs to
build the `camera` feature's V4L2 bindings. Each is installed with apt-get only
when it is missing (its command is not on PATH, or for libclang no
`/usr/lib/llvm-*/lib/libclang.so` exists): directly as root, through `sudo -n`
where that works without a password, otherwise setup fails and prints the command
to run.

Only the Python standard library is used. Nothing is replaced that is already in
place and verified, so running it twice is cheap. Downloads go to a temporary
file and are renamed into place only after their hash matched: an interrupted or
tampered download never leaves a file behind that looks valid.

Environment:
  HONNIN_MODEL_MIRROR  folder holding the model files (e.g. ../shared/models)
  HONNIN_ORT_WHEEL     local path of the onnxruntime wheel (offline machines)
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


def setup_onnxruntime() -> Path:
    arch = platform.machine()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(arch.lower(), arch)
    if arch not in ORT_WHEELS:
        raise SetupError(f"no pinned onnxruntime wheel for CPU architecture {arch!r}")
    pin = ORT_WHEELS[arch]
    RUNTIME_DIR.mkdir(exist_ok=True)
    lib = RUNTIME_DIR / ORT_LIB_NAME
    if verified(lib, pin["lib_sha256"]):
        print(f"onnxruntime: {lib.relative_to(ROOT)} already in place (sha256 ok)")
        return lib

    wheel = RUNTIME_DIR / pin["url"].rsplit("/", 1)[1]
    local = os.environ.get("HONNIN_ORT_WHEEL")
    if not verified(wheel, pin["wheel_sha256"]):
        if local:
            tmp = RUNTIME_DIR / ".wheel-copy"
            shutil.copyfile(local, tmp)
        else:
            print(f"onnxruntime: fetching {pin['url']}")
            tmp = download(pin["url"], RUNTIME_DIR)
        place_verified(tmp, wheel, pin["wheel_sha256"], "onnxruntime wheel")

    fd, name = tempfile.mkstemp(dir=RUNTIME_DIR, prefix=".lib-")
    tmp = Path(name)
    with os.fdopen(fd, "wb") as out, zipfile.ZipFile(wheel) as zf, zf.open(ORT_MEMBER) as src:
        shutil.copyfileobj(src, out)
    place_verified(tmp, lib, pin["lib_sha256"], ORT_MEMBER)
    print(f"onnxruntime: extracted {lib.relative_to(ROOT)} (sha256 ok)")
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
    ("opj_compress", "libopenjp2-tools", "honnin card-like encodes card-like JPEG 2000 references"),
    ("strace", "strace", "the privacy test traces honnin verify's system calls"),
    ("tmux", "tmux", "the counter application's test drives it in a terminal multiplexer"),
    # The unversioned libclang.so comes with libclang-N-dev only, which also brings
    # clang's builtin headers; libclang-cpp or libclang1 alone are not enough.
    (
        "/usr/lib/llvm-*/lib/libclang.so",
        "libclang-dev",
        "the camera feature's V4L2 bindings are generated by bindgen",
    ),
]


def find_dev_tool(check: str) -> "str | None":
    """Where `check` (a command, or an absolute file glob) is found, or None."""
    if check.startswith("/"):
        found = sorted(glob.glob(check))
        return found[-1] if found else None
    return shutil.which(check)


def setup_dev_tools() -> None:
    """Install each missing development tool's Debian package with apt-get."""
    missing = []
    for check, package, _why in DEV_TOOLS:
        found = find_dev_tool(check)
        if found:
            print(f"dev: {package if check.startswith('/') else check} in place ({found})")
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
    print(f"dev: installing {' '.join(missing)}: {' '.join(prefix + install)}")
    if subprocess.run(prefix + install, env=env).returncode != 0:
        # A fresh machine may have no package lists yet.
        if subprocess.run(prefix + ["apt-get", "update"], env=env).returncode != 0 or (
            subprocess.run(prefix + install, env=env).returncode != 0
        ):
            raise SetupError(f"apt-get could not install {' '.join(missing)}; run: {hint}")
    for check, package, _why in DEV_TOOLS:
        if not find_dev_tool(check):
            where = "matches no file" if check.startswith("/") else "is not on PATH"
            raise SetupError(f"{package} installed but {check} {where}")
    print(f"dev: {' '.join(missing)} installed")


def main(argv: list[str]) -> int:
    dev = False
    for arg in argv:
        if arg == "--dev":
            dev = True
        elif arg in ("-h", "--help"):
            print(__doc__)
            print("usage: python3 tools/setup.py [--dev]")
            return 0
        else:
            print(f"setup: unknown argument {arg!r} (usage: python3 tools/setup.py [--dev])", file=sys.stderr)
            return 64
    try:
        setup_onnxruntime()
        setup_models()
        if dev:
            setup_dev_tools()
    except SetupError as err:
        print(f"setup failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
