#!/usr/bin/env python3
"""Convert OpenVINO IR v11 face-reidentification-retail-0095 (FP16) to ONNX.

Standard library only: the IR is read with xml.etree, the FP16 weights with
struct ('e' = IEEE half), and the ONNX protobuf is written by hand.  The output
is deterministic: fixed field order, fixed names, little-endian raw_data.

  python3 tools/openvino_to_onnx/convert.py --ir DIR --out FILE
  python3 tools/openvino_to_onnx/convert.py --ir DIR --check FILE
"""
import argparse
import hashlib
import heapq
import math
import os
import struct
import sys
import xml.etree.ElementTree as ET

STEM = "face-reidentification-retail-0095"
XML_SHA256 = "ce53d2c9c08c0bd1c1660fb8a5b6d0e3e4ec19eb92f1036d2d83a85e83082dce"
BIN_SHA256 = "241229ca3d206321868d46ce74a3c0b06c49cea58db7dc70b2e842ff287545d1"

# IR layer type -> the <data> attributes this converter understands.
CONV_ATTRS = {"strides", "dilations", "pads_begin", "pads_end", "auto_pad"}
KNOWN = {
    "Parameter": {"shape", "element_type"},
    "Const": {"element_type", "shape", "offset", "size"},
    "Convert": {"destination_type"},
    "Convolution": CONV_ATTRS,
    "GroupConvolution": CONV_ATTRS,
    "Add": {"auto_broadcast"},
    "Multiply": {"auto_broadcast"},
    "PReLU": set(),
    "Sigmoid": set(),
    "AvgPool": {"kernel", "strides", "pads_begin", "pads_end", "exclude-pad",
                "auto_pad", "rounding_type"},
    "Result": set(),
}
AUTO_PAD = {"same_upper": "SAME_UPPER", "same_lower": "SAME_LOWER", "valid": "VALID"}


class ConvertError(Exception):
    pass


def fail(msg):
    raise ConvertError(msg)


# ---------------------------------------------------------------- protobuf --
def varint(n):
    n &= (1 << 64) - 1  # int64 negatives are ten-byte two's complement
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def f_int(field, n):
    return varint(field << 3) + varint(n)


def f_bytes(field, data):
    return varint(field << 3 | 2) + varint(len(data)) + data


def f_str(field, s):
    return f_bytes(field, s.encode())


def attr(name, value):
    """AttributeProto: name=1, i=3, s=4, ints=8, type=20 (INT=2, STRING=3, INTS=7)."""
    if isinstance(value, str):
        return f_str(1, name) + f_bytes(4, value.encode()) + f_int(20, 3)
    if isinstance(value, int):
        return f_str(1, name) + f_int(3, value) + f_int(20, 2)
    return f_str(1, name) + b"".join(f_int(8, v) for v in value) + f_int(20, 7)


def node(name, op, inputs, outputs, attrs=None):
    """NodeProto: input=1, output=2, name=3, op_type=4, attribute=5 (sorted by name)."""
    body = b"".join(f_str(1, i) for i in inputs) + b"".join(f_str(2, o) for o in outputs)
    body += f_str(3, name) + f_str(4, op)
    for k in sorted(attrs or {}):
        body += f_bytes(5, attr(k, attrs[k]))
    return body


def tensor(name, dims, raw):
    """TensorProto (float32): dims=1, data_type=2 (FLOAT=1), name=8, raw_data=9."""
    return b"".join(f_int(1, d) for d in dims) + f_int(2, 1) + f_str(8, name) + f_bytes(9, raw)


def value_info(name, dims):
    """ValueInfoProto{name=1, type=2: TypeProto{tensor_type=1: {elem_type=1 FLOAT,
    shape=2: {dim=1: {dim_value=1 | dim_param=2}}}}}; a str dim is a dim_param."""
    shape = b"".join(f_bytes(1, f_str(2, d) if isinstance(d, str) else f_int(1, d)) for d in dims)
    return f_str(1, name) + f_bytes(2, f_bytes(1, f_int(1, 1) + f_bytes(2, shape)))


# ---------------------------------------------------------------- IR read --
def sha256(data):
    return hashlib.sha256(data).hexdigest()


def ints(text, what):
    try:
        return [int(v) for v in text.split(",")]
    except (AttributeError, ValueError):
        fail(f"{what}: expected a list of integers, got {text!r}")


def ports(el):
    """<input>/<output> -> {port id: [dims]}."""
    return {int(p.get("id")): [int(d.text) for d in p.findall("dim")] for p in ([] if el is None else el)}


class Layer:
    def __init__(self, el):
        self.id, self.type = int(el.get("id")), el.get("type")
        self.name, self.version = el.get("name"), el.get("version")
        data = el.find("data")
        self.data = dict(data.attrib) if data is not None else {}
        self.in_ports, self.out_ports = ports(el.find("input")), ports(el.find("output"))
        self.inputs = {}      # in-port id -> (from layer id, from port id)
        self.consumers = []   # (to layer id, to port id, from port id)

    def __str__(self):
        return f"layer {self.id} {self.name!r} ({self.type})"

    def out_shape(self):
        if len(self.out_ports) != 1:
            fail(f"{self}: expected exactly one output port")
        return next(iter(self.out_ports.values()))


def read_ir(ir_dir):
    paths = [os.path.join(ir_dir, STEM + ext) for ext in (".xml", ".bin")]
    blobs = []
    for path, want in zip(paths, (XML_SHA256, BIN_SHA256)):
        try:
            with open(path, "rb") as f:
                blob = f.read()
        except OSError as e:
            fail(f"cannot read {path}: {e}")
        if sha256(blob) != want:
            fail(f"{path}: sha256 {sha256(blob)} is not the pinned {want}; refusing")
        blobs.append(blob)
    root = ET.fromstring(blobs[0])
    if root.tag != "net" or root.get("version") != "11" or root.find("edges") is None:
        fail("not an OpenVINO IR v11 <net>")
    layers = {}
    for el in root.find("layers"):
        layer = Layer(el)
        if layer.id in layers:
            fail(f"duplicate layer id {layer.id}")
        if layer.type not in KNOWN:
            fail(f"{layer}: layer type {layer.type!r} is not supported")
        if layer.version != "opset1":
            fail(f"{layer}: version {layer.version!r} is not supported (opset1 only)")
        extra = set(layer.data) - KNOWN[layer.type]
        if extra:
            fail(f"{layer}: unsupported attribute(s) {sorted(extra)}")
        layers[layer.id] = layer
    for e in root.find("edges"):
        src, sp, dst, dp = (int(e.get(k)) for k in ("from-layer", "from-port", "to-layer", "to-port"))
        if src not in layers or dst not in layers:
            fail(f"edge {src}:{sp} -> {dst}:{dp} names an unknown layer")
        if sp not in layers[src].out_ports or dp not in layers[dst].in_ports:
            fail(f"edge {src}:{sp} -> {dst}:{dp} names an unknown port")
        if dp in layers[dst].inputs:
            fail(f"{layers[dst]}: input port {dp} has two producers")
        layers[dst].inputs[dp] = (src, sp)
        layers[src].consumers.append((dst, dp, sp))
    for layer in layers.values():
        if set(layer.inputs) != set(layer.in_ports):
            fail(f"{layer}: not every input port is connected")
    return layers, blobs[1]


def const_value(layer, bin_data):
    """Decode a Const f16 layer to float32 little-endian bytes (exact widening)."""
    d = layer.data
    if d.get("element_type") != "f16":
        fail(f"{layer}: element_type {d.get('element_type')!r} is not supported (f16 only)")
    shape = ints(d.get("shape"), str(layer)) if d.get("shape", "").strip() else []
    if shape != layer.out_shape():
        fail(f"{layer}: data shape {shape} disagrees with its output port")
    offset, size = ints(d.get("offset"), str(layer))[0], ints(d.get("size"), str(layer))[0]
    count = math.prod(shape)
    if offset < 0 or size != 2 * count or offset + size > len(bin_data):
        fail(f"{layer}: offset {offset} / size {size} out of bounds or wrong for shape {shape}"
             f" (.bin is {len(bin_data)} bytes)")
    values = struct.unpack(f"<{count}e", bin_data[offset:offset + size])
    if not all(math.isfinite(v) for v in values):
        fail(f"{layer}: non-finite constant values")
    return shape, struct.pack(f"<{count}f", *values)


# ---------------------------------------------------------------- convert --
def build(ir_dir):
    layers, bin_data = read_ir(ir_dir)

    # Const(f16) -> Convert(f32) pairs become float32 constants, keyed by the
    # Convert's (layer, port).  Every Convert must be fed by a Const.
    consts = {}
    for layer in layers.values():
        if layer.type == "Const":
            if any(layers[c].type != "Convert" for c, _, _ in layer.consumers):
                fail(f"{layer}: f16 Const must feed only Convert layers")
        if layer.type == "Convert":
            if layer.data.get("destination_type") != "f32":
                fail(f"{layer}: only destination_type f32 is supported")
            src = layers[layer.inputs[0][0]]
            if src.type != "Const":
                fail(f"{layer}: Convert of a non-constant input is not supported")
            shape, raw = const_value(src, bin_data)
            if shape != layer.out_shape():
                fail(f"{layer}: shape {layer.out_shape()} differs from its Const")
            consts[(layer.id, next(iter(layer.out_ports)))] = (shape, raw)

    def const_in(layer, port):
        if layer.inputs[port] not in consts:
            fail(f"{layer}: input port {port} must be a constant")
        return consts[layer.inputs[port]]

    # Fold "Conv -> Add([1,C,1,1] constant)" into the Conv's bias when the Add is
    # the Conv's only consumer.  alias maps the Add's output to the Conv's.
    bias, folded, alias = {}, set(), {}
    for layer in layers.values():
        if layer.type != "Add":
            continue
        for dport, cport in ((0, 1), (1, 0)):
            conv = layers[layer.inputs[dport][0]]
            if conv.type not in ("Convolution", "GroupConvolution") or layer.inputs[cport] not in consts:
                continue
            shape, raw = consts[layer.inputs[cport]]
            channels = conv.out_shape()[1]
            if len(conv.consumers) == 1 and shape == [1, channels, 1, 1]:
                bias[conv.id] = raw
                folded.add(layer.id)
                alias[(layer.id, next(iter(layer.out_ports)))] = layer.inputs[dport]
                break

    def tname(src):
        src = alias.get(src, src)
        if layers[src[0]].type == "Parameter":
            return "input"
        if src in consts:
            fail(f"{layers[src[0]]}: constant used where a tensor is expected")
        return f"t{src[0]}"

    # Deterministic topological order: Kahn's algorithm, smallest layer id first.
    pending = {i: len({s for s, _ in l.inputs.values()}) for i, l in layers.items()}
    ready = [i for i, n in pending.items() if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for c in sorted({c for c, _, _ in layers[i].consumers}):
            pending[c] -= 1
            if pending[c] == 0:
                heapq.heappush(ready, c)
    if len(order) != len(layers):
        fail("the IR graph has a cycle")

    nodes, inits, params, results = [], [], [], []
    convs = {}  # output tensor -> what the Conv -> Gemm replacement below needs

    def init(name, dims, raw):
        inits.append(tensor(name, dims, raw))
        return name

    def operand(layer, port):  # a tensor, or a constant -> initializer k<id>_<port>
        if layer.inputs[port] in consts:
            return init(f"k{layer.id}_{port}", *consts[layer.inputs[port]])
        return tname(layer.inputs[port])

    for i in order:
        layer, d, t = layers[i], layers[i].data, layers[i].type
        if t in ("Const", "Convert") or i in folded:
            continue
        out = f"t{i}"
        if t == "Parameter":
            shape = ints(d.get("shape"), str(layer))
            if d.get("element_type") != "f32" or len(shape) != 4 or shape != layer.out_shape():
                fail(f"{layer}: expected an f32 NCHW input")
            params.append(shape)
        elif t == "Result":
            results.append((tname(layer.inputs[0]), layers[layer.inputs[0][0]].out_shape()))
        elif t in ("Convolution", "GroupConvolution"):
            wshape, wraw = const_in(layer, 1)
            group = 1
            if t == "GroupConvolution":  # [G, O/G, I/G, kh, kw] -> [O, I/G, kh, kw]
                if len(wshape) != 5:
                    fail(f"{layer}: expected 5-D group weights, got {wshape}")
                group = wshape[0]
                wshape = [wshape[0] * wshape[1]] + wshape[2:]
            if len(wshape) != 4:
                fail(f"{layer}: expected 4-D weights, got {wshape}")
            if wshape[1] * group != layer.in_ports[0][1] or wshape[0] != layer.out_shape()[1]:
                fail(f"{layer}: weights {wshape} (group {group}) do not match the ports")
            a = {"dilations": ints(d.get("dilations"), str(layer)),
                 "group": group, "kernel_shape": wshape[2:],
                 "strides": ints(d.get("strides"), str(layer))}
            pad_attrs(layer, a)
            w_at = len(inits)
            ins = [tname(layer.inputs[0]), init(f"w{i}", wshape, wraw)]
            if i in bias:
                ins.append(init(f"b{i}", [wshape[0]], bias[i]))
            convs[out] = {"node": len(nodes), "in_shape": layer.in_ports[0], "weight": w_at, "wshape": wshape,
                          "wraw": wraw, "inputs": ins, "attrs": a, "consumers": len(layer.consumers)}
            nodes.append(node(f"conv{i}", "Conv", ins, [out], a))
        elif t == "PReLU":
            shape, raw = const_in(layer, 1)  # keep the IR's slope shape (broadcasts)
            channels = layer.in_ports[0][1] if len(layer.in_ports[0]) > 1 else None
            if math.prod(shape) != 1 and shape != [channels, 1, 1]:
                # OpenVINO applies a 1-D [C] slope per channel; ONNX would broadcast it over W.
                fail(f"{layer}: PReLU slope of shape {shape}: only one value or [C,1,1] is supported")
            nodes.append(node(f"prelu{i}", "PRelu",
                              [tname(layer.inputs[0]), init(f"s{i}", shape, raw)], [out]))
        elif t in ("Add", "Multiply"):
            if d.get("auto_broadcast", "numpy") != "numpy":
                fail(f"{layer}: auto_broadcast {d.get('auto_broadcast')!r} is not supported")
            op = "Add" if t == "Add" else "Mul"
            nodes.append(node(f"{op.lower()}{i}", op, [operand(layer, 0), operand(layer, 1)], [out]))
        elif t == "Sigmoid":
            nodes.append(node(f"sigmoid{i}", "Sigmoid", [tname(layer.inputs[0])], [out]))
        elif t == "AvgPool":
            nodes.append(avg_pool(layer, tname(layer.inputs[0]), out))

    if len(params) != 1 or len(results) != 1:
        fail("expected exactly one Parameter and one Result")
    last, rshape = results[0]
    if len(rshape) != 4 or rshape[2:] != [1, 1]:
        fail(f"Result shape {rshape} is not [N,C,1,1]")
    conv = convs.get(last)
    if conv and conv["in_shape"][2:] == [1, 1] and conv["wshape"][2:] == [1, 1] and conv["consumers"] == 1 \
            and conv["attrs"]["group"] == 1 and conv["attrs"]["strides"] == [1, 1] \
            and not any(conv["attrs"].get("pads", [])):
        # The last layer is a 1x1 convolution of a 1x1 map: a matrix product.
        # Flatten its input and compute it as Gemm straight into the graph
        # output, so the embedding is written once, into the buffer the caller
        # reads (and wipes), not into an intermediate that ONNX Runtime frees
        # unwiped before a Flatten copies it.
        ins = conv["inputs"]
        inits[conv["weight"]] = tensor(ins[1], conv["wshape"][:2], conv["wraw"])  # [O, I, 1, 1] -> [O, I]
        flat = f"{ins[0]}_flat"
        nodes[conv["node"]] = node("flatten", "Flatten", [ins[0]], [flat], {"axis": 1})
        nodes.append(node("gemm", "Gemm", [flat] + ins[1:], ["embedding"], {"transB": 1}))
    else:
        nodes.append(node("flatten", "Flatten", [last], ["embedding"], {"axis": 1}))

    graph = b"".join(f_bytes(1, n) for n in nodes)
    graph += f_str(2, "face_reidentification_retail_0095")
    graph += b"".join(f_bytes(5, t) for t in inits)
    graph += f_bytes(11, value_info("input", ["N"] + params[0][1:]))
    graph += f_bytes(12, value_info("embedding", ["N", rshape[1]]))
    model = f_int(1, 8)                                  # ir_version
    model += f_str(2, "honnin tools/openvino_to_onnx")   # producer_name
    model += f_str(3, "1")                               # producer_version
    model += f_bytes(7, graph)
    model += f_bytes(8, f_str(1, "") + f_int(2, 13))     # opset_import: "" v13
    return model


def pad_attrs(layer, a):
    """IR pads_begin/pads_end/auto_pad -> ONNX pads or auto_pad."""
    mode = layer.data.get("auto_pad", "explicit")
    if mode == "explicit":
        a["pads"] = (ints(layer.data.get("pads_begin"), str(layer))
                     + ints(layer.data.get("pads_end"), str(layer)))
    elif mode in AUTO_PAD:
        a["auto_pad"] = AUTO_PAD[mode]
    else:
        fail(f"{layer}: auto_pad {mode!r} is not supported")


def avg_pool(layer, src, out):
    d = layer.data
    kernel = ints(d.get("kernel"), str(layer))
    pads = ints(d.get("pads_begin"), str(layer)) + ints(d.get("pads_end"), str(layer))
    exclude = d.get("exclude-pad")
    rounding = d.get("rounding_type", "floor")
    if exclude not in ("true", "false") or rounding not in ("floor", "ceil"):
        fail(f"{layer}: exclude-pad {exclude!r} / rounding_type {rounding!r} not supported")
    # A window covering the whole (unpadded) map with a 1x1 output is a global pool.
    if (kernel == layer.in_ports[0][2:] and not any(pads) and layer.out_shape()[2:] == [1, 1]
            and d.get("auto_pad", "explicit") in ("explicit", "valid")):
        return node(f"gap{layer.id}", "GlobalAveragePool", [src], [out])
    a = {"kernel_shape": kernel, "strides": ints(d.get("strides"), str(layer)),
         "count_include_pad": 0 if exclude == "true" else 1,
         "ceil_mode": 1 if rounding == "ceil" else 0}
    pad_attrs(layer, a)
    return node(f"avgpool{layer.id}", "AveragePool", [src], [out], a)


# ---------------------------------------------------------------- CLI --
def write_atomic(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ir", required=True, help=f"directory holding {STEM}.xml and .bin")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", help="write the ONNX model here")
    mode.add_argument("--check", help="exit 0 iff this file equals a fresh conversion")
    args = ap.parse_args()
    try:
        model = build(args.ir)
    except ConvertError as e:
        sys.exit(f"convert.py: error: {e}")
    except (ET.ParseError, ValueError, KeyError, IndexError, TypeError, struct.error) as e:
        # A malformed IR that passed no check above (the hashes pin the real one).
        sys.exit(f"convert.py: error: the IR is malformed: {type(e).__name__}: {e}")
    if args.out:
        try:
            write_atomic(args.out, model)
        except OSError as e:
            sys.exit(f"convert.py: error: cannot write {args.out}: {e}")
        print(f"wrote {args.out} ({len(model)} bytes) sha256 {sha256(model)}")
        return
    try:
        with open(args.check, "rb") as f:
            existing = f.read()
    except OSError as e:
        sys.exit(f"convert.py: error: cannot read {args.check}: {e}")
    if existing == model:
        print(f"OK: {args.check} is byte-identical ({len(model)} bytes) sha256 {sha256(model)}")
        return
    at = next((k for k, (x, y) in enumerate(zip(existing, model)) if x != y),
              min(len(existing), len(model)))
    print(f"MISMATCH: {args.check} differs from a fresh conversion at byte offset {at}\n"
          f"  file:     {len(existing)} bytes sha256 {sha256(existing)}\n"
          f"  expected: {len(model)} bytes sha256 {sha256(model)}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
