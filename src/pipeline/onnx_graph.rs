//! A load-time rewrite of one operator that ONNX Runtime's CPU provider runs
//! slowly, into the same arithmetic in operators it runs fast.
//!
//! ONNX Runtime 1.31 computes `PRelu` with a per-channel slope (`[C, 1, 1]`)
//! through its generic broadcasting path. In the MiniFASNet PAD models that
//! was 2.6 of 4.6 ms per run (ONNX Runtime's profiler, one model, one
//! thread). The rewrite replaces every such node of the main graph by
//!
//! ```text
//! y = Relu(x) + s * Min(x, 0)
//! ```
//!
//! which is `PRelu`'s definition (`x < 0 ? s * x : x`): for `x > 0` it is
//! `x + s * 0 = x`, for `x < 0` it is `0 + s * x`. For finite slopes the
//! results are the same numbers, up to the sign of a zero (the test
//! `pad::the_expanded_prelu_graph_gives_the_same_liveness_bit_for_bit` finds
//! the PAD scores unchanged to the bit); a slope of infinity or NaN would give
//! NaN for `x > 0`, so a model whose slopes are not all finite is left alone.
//! The four elementwise operators run vectorised: one MiniFASNet model then
//! takes about 2.4 ms instead of 4.2 (one thread).
//!
//! A `PRelu` whose slope is a single value (one slope for every channel, as
//! in Intel's face-reidentification-retail-0095) is `LeakyRelu` with that
//! value as `alpha`, and becomes one: ONNX Runtime fuses a `LeakyRelu` into the
//! convolution before it, which it cannot do with `PRelu`. The 48 such nodes
//! of the default recognizer give the same embeddings to the bit
//! (`recognizer::the_committed_recognizer_agrees_with_an_independent_conversion_on_24_aligned_faces`).
//!
//! The file is edited at the protobuf wire level: the graph's node list
//! changes and, for the expanded form, one scalar initializer (the 0) is added; every other byte is
//! copied unchanged. Single-valued fields are read as protobuf reads them
//! (the last occurrence wins). Anything unexpected (a malformed or unusual
//! file, a slope that is not a finite float initializer, a name the rewrite
//! would use already in the file) leaves the model as it is: the rewrite is a
//! speed-up, never a requirement. Should ONNX Runtime refuse a rewritten
//! model, the session is built from the original bytes (`runtime::session`).

/// Prefix of every name the rewrite adds; a file that already contains it is
/// left alone.
const PREFIX: &[u8] = b"honnin_prelu";
/// The scalar 0 shared by every expanded node.
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

/// The model with every float `PRelu` of its main graph rewritten (a single
/// slope: `LeakyRelu`; a slope per channel: expanded), or `None` when there is
/// nothing to rewrite or the file is not one this rewrite understands.
pub(crate) fn expand_prelu(model: &[u8]) -> Option<Vec<u8>> {
    // Most models have no PRelu at all: a quick look before any parsing.
    if !contains(model, b"PRelu") || contains(model, PREFIX) {
        return None;
    }
    let fields = parse(model)?;
    // From IR version 4 an initializer need not be listed as a graph input,
    // so the added 0 may stand alone.
    let ir_version = last(&fields, MODEL_IR_VERSION, VARINT)?.varint;
    if ir_version < 4 {
        return None;
    }
    // Min broadcasting a scalar needs opset 8 of the default domain.
    let opset = fields
        .iter()
        .filter(|f| f.number == MODEL_OPSET_IMPORT && f.wire == LEN)
        .filter_map(|f| {
            let parts = parse(f.value)?;
            let domain = last(&parts, OPSET_DOMAIN, LEN).map_or(&b""[..], |p| p.value);
            let version = last(&parts, OPSET_VERSION, VARINT)?.varint;
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
    // Slopes that are float initializers with finite values: the 0 must have
    // the slope's type, and an infinite or NaN slope would change results.
    // A slope of one value is kept apart: it is a LeakyRelu's alpha.
    let mut finite_float_initializers = std::collections::HashMap::new();
    for field in fields.iter().filter(|f| f.number == GRAPH_INITIALIZER && f.wire == LEN) {
        if let Some((name, single)) = finite_float_tensor(field.value)? {
            finite_float_initializers.insert(name, single);
        }
    }
    let mut out = Vec::with_capacity(graph.len() + 1024);
    let (mut rewritten, mut expanded) = (0usize, 0usize);
    for field in &fields {
        if field.number == GRAPH_NODE && field.wire == LEN {
            if let Some(prelu) = PRelu::read(field.value) {
                if let Some(single) = finite_float_initializers.get(prelu.slope) {
                    match single {
                        Some(alpha) => prelu.write_leaky_relu(*alpha, &mut out),
                        None => {
                            prelu.write_expanded(&mut out);
                            expanded += 1;
                        }
                    }
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
    if expanded == 0 {
        return Some(out);
    }
    // The scalar float 0: data_type FLOAT, no dims, 4 raw zero bytes.
    let mut zero = Vec::new();
    put_varint_field(&mut zero, TENSOR_DATA_TYPE, FLOAT);
    put_len(&mut zero, TENSOR_NAME, ZERO);
    put_len(&mut zero, TENSOR_RAW_DATA, &[0; 4]);
    put_len(&mut out, GRAPH_INITIALIZER, &zero);
    Some(out)
}

/// The name of a tensor whose data type is float and whose values are all
/// finite (stored in `raw_data` or `float_data`, not externally), with its
/// value when it holds exactly one; `None` for any other tensor; `Err`-like
/// outer `None` when it is malformed.
fn finite_float_tensor(tensor: &[u8]) -> Option<Option<(&[u8], Option<f32>)>> {
    const TENSOR_FLOAT_DATA: u64 = 4;
    const TENSOR_DATA_LOCATION: u64 = 14;
    let (mut data_type, mut name, mut finite, mut values, mut first) = (None, None, true, 0usize, 0f32);
    for field in Fields::new(tensor) {
        let field = field?;
        match (field.number, field.wire) {
            (TENSOR_DATA_TYPE, VARINT) => data_type = Some(field.varint),
            (TENSOR_NAME, LEN) => name = Some(field.value),
            (TENSOR_RAW_DATA, LEN) | (TENSOR_FLOAT_DATA, LEN) => {
                // Little-endian floats (raw_data, or packed float_data).
                let chunks = field.value.chunks_exact(4);
                finite &= chunks.remainder().is_empty();
                for c in chunks {
                    let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                    finite &= v.is_finite();
                    first = if values == 0 { v } else { first };
                    values += 1;
                }
            }
            (TENSOR_FLOAT_DATA, I32) => {
                let v = f32::from_le_bytes([field.value[0], field.value[1], field.value[2], field.value[3]]);
                finite &= v.is_finite();
                first = if values == 0 { v } else { first };
                values += 1;
            }
            (TENSOR_DATA_LOCATION, VARINT) if field.varint != 0 => finite = false,
            _ => {}
        }
    }
    let single = (values == 1).then_some(first);
    Some(name.filter(|_| data_type == Some(FLOAT) && finite && values > 0).map(|n| (n, single)))
}

/// A plain `PRelu` node of the default domain: two inputs, one output, no attributes.
struct PRelu<'a> {
    x: &'a [u8],
    slope: &'a [u8],
    y: &'a [u8],
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
            ([x, slope], [y]) if !x.is_empty() && !slope.is_empty() && !y.is_empty() => Some(Self { x, slope, y }),
            _ => None,
        }
    }

    /// `LeakyRelu(x)` with `alpha` the one slope: the same function, which
    /// ONNX Runtime fuses into the convolution before it. Named after the output.
    fn write_leaky_relu(&self, alpha: f32, out: &mut Vec<u8>) {
        const NODE_ATTRIBUTE_NAME: u64 = 1;
        const ATTRIBUTE_F: u64 = 2;
        const ATTRIBUTE_TYPE: u64 = 20;
        /// `AttributeProto.AttributeType.FLOAT`.
        const ATTRIBUTE_FLOAT: u64 = 1;
        let mut attribute = Vec::new();
        put_len(&mut attribute, NODE_ATTRIBUTE_NAME, b"alpha");
        put_varint(&mut attribute, ATTRIBUTE_F << 3 | u64::from(I32));
        attribute.extend_from_slice(&alpha.to_le_bytes());
        put_varint_field(&mut attribute, ATTRIBUTE_TYPE, ATTRIBUTE_FLOAT);
        let mut node = Vec::new();
        put_len(&mut node, NODE_INPUT, self.x);
        put_len(&mut node, NODE_OUTPUT, self.y);
        put_len(&mut node, NODE_NAME, &[PREFIX, b"/", self.y, b"/LeakyRelu"].concat());
        put_len(&mut node, NODE_OP_TYPE, b"LeakyRelu");
        put_len(&mut node, NODE_ATTRIBUTE, &attribute);
        put_len(out, GRAPH_NODE, &node);
    }

    /// `Relu(x) + s * Min(x, 0)`, as four nodes named after the output
    /// (unique in a graph, where node names need not be).
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
            put_len(&mut node, NODE_NAME, &temp(op));
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
    Fields::new(buf).collect()
}

/// The last field `number` of type `wire`: for a single-valued field, the
/// value protobuf readers use.
fn last<'f, 'a>(fields: &'f [Field<'a>], number: u64, wire: u8) -> Option<&'f Field<'a>> {
    fields.iter().rev().find(|f| f.number == number && f.wire == wire)
}

/// A message's fields one by one (no allocation); yields `None` once, and
/// then ends, where the message is malformed.
struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn read(&mut self) -> Option<Field<'a>> {
        let (buf, start) = (self.buf, self.pos);
        let mut pos = start;
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
        self.pos = pos;
        Some(Field { number, wire, value, varint, raw: &buf[start..pos] })
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Option<Field<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let field = self.read();
        if field.is_none() {
            // Malformed: report it once, then stop.
            self.pos = self.buf.len();
        }
        Some(field)
    }
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
    let Some((&first, rest)) = needle.split_first() else { return true };
    // Candidates by their first byte (memchr-fast), then the rest compared.
    let mut at = 0;
    while let Some(i) = haystack[at..].iter().position(|&b| b == first) {
        let start = at + i + 1;
        if haystack.get(start..start + rest.len()) == Some(rest) {
            return true;
        }
        at = start;
    }
    false
}

/// For the fuzz target: the rewrite of arbitrary bytes (it must never panic).
#[cfg(feature = "research")]
pub(crate) fn fuzz_expand_prelu(model: &[u8]) -> Option<Vec<u8>> {
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

    fn initializer(name: &[u8], data_type: u64, values: [f32; 2]) -> Vec<u8> {
        let mut t = Vec::new();
        put_varint_field(&mut t, TENSOR_DATA_TYPE, data_type);
        put_len(&mut t, TENSOR_NAME, name);
        put_len(&mut t, TENSOR_RAW_DATA, &[values[0].to_le_bytes(), values[1].to_le_bytes()].concat());
        t
    }

    /// A model: Conv -> PRelu(slope) -> PRelu(slope_f16), opset `opset`.
    fn model(opset: u64) -> Vec<u8> {
        model_with(8, opset, &initializer(b"slope", FLOAT, [0.25, -0.5]))
    }

    fn model_ir(ir_version: u64, opset: u64) -> Vec<u8> {
        model_with(ir_version, opset, &initializer(b"slope", FLOAT, [0.25, -0.5]))
    }

    fn model_with(ir_version: u64, opset: u64, slope: &[u8]) -> Vec<u8> {
        let mut graph = Vec::new();
        put_len(&mut graph, GRAPH_NODE, &node(b"Conv", &[b"in", b"w"], &[b"c"]));
        put_len(&mut graph, GRAPH_NODE, &node(b"PRelu", &[b"c", b"slope"], &[b"p"]));
        put_len(&mut graph, GRAPH_NODE, &node(b"PRelu", &[b"p", b"slope_f16"], &[b"q"]));
        put_len(&mut graph, GRAPH_INITIALIZER, slope);
        put_len(&mut graph, GRAPH_INITIALIZER, &initializer(b"slope_f16", 10, [0.0, 0.0]));
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
        // The other model fields (IR version, opset) are copied byte for byte, in order.
        let original = model(13);
        let (before, after) = (parse(&original).unwrap(), parse(&rewritten).unwrap());
        assert_eq!(before.len(), after.len());
        for (a, b) in before.iter().zip(&after).filter(|(a, _)| a.number != MODEL_GRAPH) {
            assert_eq!(a.raw, b.raw);
        }
        // Each new node is named after the PRelu's output (unique in the graph).
        let fields = parse(&rewritten).unwrap();
        let graph = parse(last(&fields, MODEL_GRAPH, LEN).unwrap().value).unwrap();
        let names: Vec<&[u8]> = graph
            .iter()
            .filter(|f| f.number == GRAPH_NODE)
            .filter_map(|f| parse(f.value).unwrap().iter().find(|p| p.number == NODE_NAME).map(|p| p.value))
            .collect();
        assert_eq!(
            names,
            [&b"honnin_prelu/p/Relu"[..], b"honnin_prelu/p/Min", b"honnin_prelu/p/Mul", b"honnin_prelu/p/Add"]
        );
    }

    #[test]
    fn a_prelu_with_one_slope_becomes_a_leaky_relu_with_that_alpha() {
        let mut slope = Vec::new();
        put_varint_field(&mut slope, TENSOR_DATA_TYPE, FLOAT);
        put_len(&mut slope, TENSOR_NAME, b"slope");
        put_len(&mut slope, TENSOR_RAW_DATA, &(-1.75f32).to_le_bytes());
        let rewritten = expand_prelu(&model_with(8, 13, &slope)).expect("rewritten");
        let ops = ops(&rewritten);
        let names: Vec<&str> = ops.iter().map(|o| o.0.as_str()).collect();
        assert_eq!(names, ["Conv", "LeakyRelu", "PRelu"]);
        assert_eq!((ops[1].1.as_slice(), ops[1].2.as_slice()), (&["c".to_string()][..], &["p".to_string()][..]));
        // Its one attribute: alpha (a FLOAT), the slope's value; no 0 initializer is added.
        let fields = parse(&rewritten).unwrap();
        let graph = parse(last(&fields, MODEL_GRAPH, LEN).unwrap().value).unwrap();
        let leaky = graph.iter().filter(|f| f.number == GRAPH_NODE).nth(1).unwrap();
        let node = parse(leaky.value).unwrap();
        let attribute = parse(last(&node, NODE_ATTRIBUTE, LEN).unwrap().value).unwrap();
        assert_eq!(last(&attribute, 1, LEN).unwrap().value, b"alpha");
        assert_eq!(last(&attribute, 2, I32).unwrap().value, (-1.75f32).to_le_bytes());
        assert_eq!(last(&attribute, 20, VARINT).unwrap().varint, 1);
        assert!(!contains(&rewritten, ZERO));
    }

    #[test]
    fn slopes_that_are_not_finite_floats_are_left_alone() {
        // A NaN or infinite slope: Relu(x) + s * Min(x, 0) would be NaN for x > 0.
        for bad in [f32::NAN, f32::INFINITY] {
            let slope = initializer(b"slope", FLOAT, [0.25, bad]);
            assert!(expand_prelu(&model_with(8, 13, &slope)).is_none(), "{bad}");
        }
        // data_type given twice: the last one (float16) is the tensor's type.
        let mut slope = initializer(b"slope", FLOAT, [0.25, 0.5]);
        put_varint_field(&mut slope, TENSOR_DATA_TYPE, 10);
        assert!(expand_prelu(&model_with(8, 13, &slope)).is_none());
        // Stored outside the file (data_location EXTERNAL).
        let mut slope = initializer(b"slope", FLOAT, [0.25, 0.5]);
        put_varint_field(&mut slope, 14, 1);
        assert!(expand_prelu(&model_with(8, 13, &slope)).is_none());
        // ir_version given twice: the last one (3) counts.
        let mut twice = model(13);
        put_varint_field(&mut twice, MODEL_IR_VERSION, 3);
        assert!(expand_prelu(&twice).is_none());
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
