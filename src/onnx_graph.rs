//! A load-time rewrite of one operator that ONNX Runtime's CPU provider runs
//! slowly, into the same arithmetic in operators it runs fast.
//!
//! ONNX Runtime 1.31 computes `PRelu` with a per-channel slope (`[C, 1, 1]`)
//! through its generic broadcasting path. In the MiniFASNet PAD models that
//! was 2.6 of 4.6 ms per run. The rewrite replaces every such node of the main
//! graph by
//!
//! ```text
//! y = Relu(x) + s * Min(x, 0)
//! ```
//!
//! which gives the same bits as `PRelu`'s definition (`x < 0 ? s * x : x`):
//! for `x > 0` it is `x + s * 0 = x`, for `x <= 0` it is `0 + s * x`. The four
//! elementwise operators run vectorised; the PAD models then take about
//! 2.4 ms each.
//!
//! The file is edited at the protobuf wire level: the graph's node list
//! changes and one scalar initializer (the 0) is added; every other byte is
//! copied unchanged. Anything unexpected (a malformed or unusual file, a
//! slope that is not a float initializer, a name the rewrite would use
//! already in the file) leaves the model as it is: the rewrite is a speed-up,
//! never a requirement, and ONNX Runtime still judges the file.

/// Prefix of every name the rewrite adds; a file that already contains it is
/// left alone.
const PREFIX: &[u8] = b"honnin_prelu";
/// The scalar 0 shared by every rewritten node.
const ZERO: &[u8] = b"honnin_prelu/zero";

// Field numbers of onnx.proto3.
const MODEL_IR_VERSION: u64 = 1;
const MODEL_OPSET_IMPORT: u64 = 8;
const MODEL_GRAPH: u64 = 7;
const GRAPH_NODE: u64 = 1;
const GRAPH_INITIALIZER: u64 = 5;
const NODE_INPUT: u64 = 1;
const NODE_OUTPUT: u64 = 2;
const NODE_NAME: u64 = 3;
const NODE_OP_TYPE: u64 = 4;
const NODE_ATTRIBUTE: u64 = 5;
const NODE_DOMAIN: u64 = 7;
const OPSET_DOMAIN: u64 = 1;
const OPSET_VERSION: u64 = 2;
const TENSOR_DATA_TYPE: u64 = 2;
const TENSOR_NAME: u64 = 8;
const TENSOR_RAW_DATA: u64 = 9;
/// `TensorProto.DataType.FLOAT`.
const FLOAT: u64 = 1;

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

/// The model with every per-channel float `PRelu` of its main graph expanded,
/// or `None` when there is nothing to rewrite or the file is not one this
/// rewrite understands.
pub(crate) fn expand_prelu(model: &[u8]) -> Option<Vec<u8>> {
    if contains(model, PREFIX) {
        return None;
    }
    let fields = parse(model)?;
    // From IR version 4 an initializer need not be listed as a graph input,
    // so the added 0 may stand alone.
    let ir_version = fields.iter().find(|f| f.number == MODEL_IR_VERSION && f.wire == VARINT)?.varint;
    if ir_version < 4 {
        return None;
    }
    // Min broadcasting a scalar needs opset 8 of the default domain.
    let opset = fields
        .iter()
        .filter(|f| f.number == MODEL_OPSET_IMPORT && f.wire == LEN)
        .filter_map(|f| {
            let parts = parse(f.value)?;
            let domain = parts.iter().find(|p| p.number == OPSET_DOMAIN && p.wire == LEN).map_or(&b""[..], |p| p.value);
            let version = parts.iter().find(|p| p.number == OPSET_VERSION && p.wire == VARINT)?.varint;
            (domain.is_empty() || domain == b"ai.onnx").then_some(version)
        })
        .max()?;
    if opset < 8 {
        return None;
    }
    let mut graphs = fields.iter().filter(|f| f.number == MODEL_GRAPH);
    let graph = graphs.next()?;
    if graph.wire != LEN || graphs.next().is_some() {
        return None;
    }
    let new_graph = rewrite_graph(graph.value)?;
    let mut out = Vec::with_capacity(model.len() + new_graph.len().saturating_sub(graph.value.len()) + 16);
    for field in &fields {
        if field.number == MODEL_GRAPH {
            put_len(&mut out, MODEL_GRAPH, &new_graph);
        } else {
            out.extend_from_slice(field.raw);
        }
    }
    Some(out)
}

fn rewrite_graph(graph: &[u8]) -> Option<Vec<u8>> {
    let fields = parse(graph)?;
    // Slopes that are float initializers: the 0 must have the slope's type.
    let mut float_initializers = Vec::new();
    for field in fields.iter().filter(|f| f.number == GRAPH_INITIALIZER && f.wire == LEN) {
        let parts = parse(field.value)?;
        let data_type = parts.iter().find(|p| p.number == TENSOR_DATA_TYPE && p.wire == VARINT).map(|p| p.varint);
        if data_type == Some(FLOAT) {
            if let Some(name) = parts.iter().find(|p| p.number == TENSOR_NAME && p.wire == LEN) {
                float_initializers.push(name.value);
            }
        }
    }
    let mut out = Vec::with_capacity(graph.len() + 1024);
    let mut rewritten = 0usize;
    for field in &fields {
        if field.number == GRAPH_NODE && field.wire == LEN {
            if let Some(prelu) = PRelu::read(field.value) {
                if float_initializers.contains(&prelu.slope) {
                    prelu.write_expanded(&mut out);
                    rewritten += 1;
                    continue;
                }
            }
        }
        out.extend_from_slice(field.raw);
    }
    if rewritten == 0 {
        return None;
    }
    // The scalar float 0: data_type FLOAT, no dims, 4 raw zero bytes.
    let mut zero = Vec::new();
    put_varint_field(&mut zero, TENSOR_DATA_TYPE, FLOAT);
    put_len(&mut zero, TENSOR_NAME, ZERO);
    put_len(&mut zero, TENSOR_RAW_DATA, &[0; 4]);
    put_len(&mut out, GRAPH_INITIALIZER, &zero);
    Some(out)
}

/// A plain `PRelu` node of the default domain: two inputs, one output, no attributes.
struct PRelu<'a> {
    x: &'a [u8],
    slope: &'a [u8],
    y: &'a [u8],
    name: &'a [u8],
}

impl<'a> PRelu<'a> {
    fn read(node: &'a [u8]) -> Option<Self> {
        let fields = parse(node)?;
        let strings = |number| fields.iter().filter(move |f| f.number == number && f.wire == LEN).map(|f| f.value);
        let op_type = strings(NODE_OP_TYPE).next_back()?;
        let domain = strings(NODE_DOMAIN).next_back().unwrap_or(b"");
        if op_type != b"PRelu" || !(domain.is_empty() || domain == b"ai.onnx") {
            return None;
        }
        if fields.iter().any(|f| f.number == NODE_ATTRIBUTE) {
            return None;
        }
        let inputs: Vec<&[u8]> = strings(NODE_INPUT).collect();
        let outputs: Vec<&[u8]> = strings(NODE_OUTPUT).collect();
        match (inputs.as_slice(), outputs.as_slice()) {
            ([x, slope], [y]) if !x.is_empty() && !slope.is_empty() && !y.is_empty() => {
                Some(Self { x, slope, y, name: strings(NODE_NAME).next_back().unwrap_or(b"") })
            }
            _ => None,
        }
    }

    /// `Relu(x) + s * Min(x, 0)`, as four nodes named after the output.
    fn write_expanded(&self, out: &mut Vec<u8>) {
        let temp = |suffix: &[u8]| [PREFIX, b"/", self.y, b"/", suffix].concat();
        let (positive, negative, scaled) = (temp(b"relu"), temp(b"min"), temp(b"mul"));
        // (operator, inputs, output)
        type Node<'n> = (&'n [u8], [&'n [u8]; 2], &'n [u8]);
        let nodes: [Node; 4] = [
            (b"Relu", [self.x, b""], &positive),
            (b"Min", [self.x, ZERO], &negative),
            (b"Mul", [&negative, self.slope], &scaled),
            (b"Add", [&positive, &scaled], self.y),
        ];
        for (op, inputs, output) in nodes {
            let mut node = Vec::new();
            for input in inputs.iter().filter(|i| !i.is_empty()) {
                put_len(&mut node, NODE_INPUT, input);
            }
            put_len(&mut node, NODE_OUTPUT, output);
            put_len(&mut node, NODE_NAME, &[self.name, b"/", PREFIX, b"/", op].concat());
            put_len(&mut node, NODE_OP_TYPE, op);
            put_len(out, GRAPH_NODE, &node);
        }
    }
}

/// One protobuf field: its number and wire type, its value (the payload of a
/// length-delimited field, the varint of a varint field) and its raw bytes,
/// key included.
struct Field<'a> {
    number: u64,
    wire: u8,
    value: &'a [u8],
    varint: u64,
    raw: &'a [u8],
}

/// Splits a message into its fields; `None` when it is not well-formed
/// protobuf (truncated, a group, an overlong varint, field number 0).
fn parse(buf: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut fields = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let start = pos;
        let key = read_varint(buf, &mut pos)?;
        let (number, wire) = (key >> 3, (key & 7) as u8);
        if number == 0 || number > (1 << 29) - 1 {
            return None;
        }
        let (value, varint) = match wire {
            VARINT => {
                let v = read_varint(buf, &mut pos)?;
                (&buf[start..start], v)
            }
            I64 | I32 => {
                let n = if wire == I64 { 8 } else { 4 };
                let value = buf.get(pos..pos.checked_add(n)?)?;
                pos += n;
                (value, 0)
            }
            LEN => {
                let len = usize::try_from(read_varint(buf, &mut pos)?).ok()?;
                let value = buf.get(pos..pos.checked_add(len)?)?;
                pos += len;
                (value, 0)
            }
            _ => return None,
        };
        fields.push(Field { number, wire, value, varint, raw: &buf[start..pos] });
    }
    Some(fields)
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        if shift == 63 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_varint_field(out: &mut Vec<u8>, number: u64, value: u64) {
    put_varint(out, number << 3 | u64::from(VARINT));
    put_varint(out, value);
}

fn put_len(out: &mut Vec<u8>, number: u64, payload: &[u8]) {
    put_varint(out, number << 3 | u64::from(LEN));
    put_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[doc(hidden)]
/// For the fuzz target: the rewrite of arbitrary bytes (it must never panic).
pub fn fuzz_expand_prelu(model: &[u8]) -> Option<Vec<u8>> {
    expand_prelu(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(op: &[u8], inputs: &[&[u8]], outputs: &[&[u8]]) -> Vec<u8> {
        let mut n = Vec::new();
        for i in inputs {
            put_len(&mut n, NODE_INPUT, i);
        }
        for o in outputs {
            put_len(&mut n, NODE_OUTPUT, o);
        }
        put_len(&mut n, NODE_OP_TYPE, op);
        n
    }

    fn initializer(name: &[u8], data_type: u64) -> Vec<u8> {
        let mut t = Vec::new();
        put_varint_field(&mut t, TENSOR_DATA_TYPE, data_type);
        put_len(&mut t, TENSOR_NAME, name);
        put_len(&mut t, TENSOR_RAW_DATA, &[0; 8]);
        t
    }

    /// A model: Conv -> PRelu(slope) -> PRelu(slope_f16), opset `opset`.
    fn model(opset: u64) -> Vec<u8> {
        model_ir(8, opset)
    }

    fn model_ir(ir_version: u64, opset: u64) -> Vec<u8> {
        let mut graph = Vec::new();
        put_len(&mut graph, GRAPH_NODE, &node(b"Conv", &[b"in", b"w"], &[b"c"]));
        put_len(&mut graph, GRAPH_NODE, &node(b"PRelu", &[b"c", b"slope"], &[b"p"]));
        put_len(&mut graph, GRAPH_NODE, &node(b"PRelu", &[b"p", b"slope_f16"], &[b"q"]));
        put_len(&mut graph, GRAPH_INITIALIZER, &initializer(b"slope", FLOAT));
        put_len(&mut graph, GRAPH_INITIALIZER, &initializer(b"slope_f16", 10));
        let mut opset_id = Vec::new();
        put_varint_field(&mut opset_id, OPSET_VERSION, opset);
        let mut m = Vec::new();
        put_varint_field(&mut m, MODEL_IR_VERSION, ir_version);
        put_len(&mut m, MODEL_OPSET_IMPORT, &opset_id);
        put_len(&mut m, MODEL_GRAPH, &graph);
        m
    }

    fn ops(model: &[u8]) -> Vec<(String, Vec<String>, Vec<String>)> {
        let fields = parse(model).unwrap();
        let graph = fields.iter().find(|f| f.number == MODEL_GRAPH).unwrap();
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        parse(graph.value)
            .unwrap()
            .iter()
            .filter(|f| f.number == GRAPH_NODE)
            .map(|f| {
                let parts = parse(f.value).unwrap();
                let get = |n| parts.iter().filter(|p| p.number == n).map(|p| text(p.value)).collect::<Vec<_>>();
                (get(NODE_OP_TYPE).remove(0), get(NODE_INPUT), get(NODE_OUTPUT))
            })
            .collect()
    }

    #[test]
    fn a_float_prelu_becomes_relu_min_mul_add_and_the_rest_is_kept() {
        let rewritten = expand_prelu(&model(13)).expect("rewritten");
        let ops = ops(&rewritten);
        let names: Vec<&str> = ops.iter().map(|o| o.0.as_str()).collect();
        // The float16 slope's PRelu is left alone (the 0 is a float).
        assert_eq!(names, ["Conv", "Relu", "Min", "Mul", "Add", "PRelu"]);
        assert_eq!(ops[1].1, ["c"]);
        assert_eq!(ops[2].1, ["c", "honnin_prelu/zero"]);
        assert_eq!(ops[3].1, ["honnin_prelu/p/min", "slope"]);
        assert_eq!(ops[4].1, ["honnin_prelu/p/relu", "honnin_prelu/p/mul"]);
        assert_eq!(ops[4].2, ["p"]);
        assert_eq!(ops[5].1, ["p", "slope_f16"]);
        // The other model fields are copied byte for byte.
        assert_eq!(rewritten[..2], model(13)[..2]);
    }

    #[test]
    fn unusual_or_malformed_files_are_left_alone() {
        // Opset too old for a broadcasting Min.
        assert!(expand_prelu(&model(7)).is_none());
        // IR version 3: every initializer would have to be a graph input too.
        assert!(expand_prelu(&model_ir(3, 13)).is_none());
        assert!(expand_prelu(&model_ir(4, 13)).is_some());
        // Already carries the rewrite's names.
        let mut named = model(13);
        named.extend_from_slice(&[0x12, 12]);
        named.extend_from_slice(b"honnin_prelu");
        assert!(expand_prelu(&named).is_none());
        // Every truncation of a good file, and some garbage: no panic, no rewrite.
        let good = model(13);
        for len in 0..good.len() {
            assert!(expand_prelu(&good[..len]).is_none(), "{len}");
        }
        for garbage in
            [&[0xff; 16][..], &[0x08, 0x80, 0x80][..], &[0x0b][..], &[0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f][..]]
        {
            assert!(expand_prelu(garbage).is_none());
        }
    }
}
