//! `onnx_graph::fuzz_expand_prelu`: the wire-level rewrite of ONNX model files
//! that expands per-channel float `PRelu` nodes into Relu/Min/Mul/Add.
//!
//! Beyond "no panic, no hang" on any bytes, every rewritten file is checked
//! against what the module promises, with a protobuf field splitter of its own
//! that applies the same rules as the module's (no groups, varints of at most
//! 10 bytes, field numbers 1 to 2^29 - 1):
//!
//! * the rewrite refuses its own output (its names are in it);
//! * the output is well-formed where the rewrite's own checks look: the
//!   model, its one graph, the graph's initializers and the opset (>= 8) all
//!   still pass them;
//! * every model field but the graph is copied byte for byte, and so is every
//!   graph field but the expanded nodes, in the same order; the graph gains
//!   exactly one field, the scalar float 0 initializer, at its end;
//! * each expanded node was a plain `PRelu` (default domain, no attribute,
//!   two inputs, one output) whose slope is a float initializer, and became
//!   `Relu(x)`, `Min(x, 0)`, `Mul(min, slope)`, `Add(relu, mul) -> y` with the
//!   rewrite's temporary names; no such `PRelu` is left unexpanded.
//!
//! "The output is longer than the input" is *not* asserted: the expansion
//! keeps only a node's inputs, output and name, so a `PRelu` node carrying a
//! `doc_string` (or unknown fields, repeated names, overlong varints) can
//! shrink the file (seed `prelu_doc_string.onnx` does). What does hold, and is
//! asserted, is that the output is longer than the input without the nodes it
//! expanded.
#![no_main]

use honnin::research::expand_prelu as fuzz_expand_prelu;
use libfuzzer_sys::fuzz_target;

const PREFIX: &[u8] = b"honnin_prelu";
const ZERO: &[u8] = b"honnin_prelu/zero";
const FLOAT: u64 = 1;
const VARINT: u8 = 0;
const LEN: u8 = 2;

fuzz_target!(|data: &[u8]| {
    let Some(out) = fuzz_expand_prelu(data) else { return };
    assert!(fuzz_expand_prelu(&out).is_none(), "the rewrite accepted its own output");
    assert!(!contains(data, PREFIX), "rewrote a file that already had the rewrite's names");
    assert!(contains(&out, ZERO), "the output lacks the zero initializer's name");
    check(data, &out);
});

struct Field<'a> {
    number: u64,
    wire: u8,
    value: &'a [u8],
    varint: u64,
    raw: &'a [u8],
}

/// The module's protobuf rules, written again: `None` for a group, a wire
/// type above 5, a truncated field, a varint over 10 bytes or 64 bits, field
/// number 0 or above 2^29 - 1.
fn parse(buf: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut fields = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let start = pos;
        let key = varint(buf, &mut pos)?;
        let (number, wire) = (key >> 3, (key & 7) as u8);
        if number == 0 || number >= 1 << 29 {
            return None;
        }
        let (value, v) = match wire {
            0 => (&buf[pos..pos], varint(buf, &mut pos)?),
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                let value = buf.get(pos..pos.checked_add(n)?)?;
                pos += n;
                (value, 0)
            }
            2 => {
                let n = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let value = buf.get(pos..pos.checked_add(n)?)?;
                pos += n;
                (value, 0)
            }
            _ => return None,
        };
        fields.push(Field { number, wire, value, varint: v, raw: &buf[start..pos] });
    }
    Some(fields)
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..10 {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        if i == 9 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Payloads of the length-delimited fields `number`.
fn strings<'s, 'a: 's>(fields: &'s [Field<'a>], number: u64) -> impl Iterator<Item = &'a [u8]> + 's {
    fields.iter().filter(move |f| f.number == number && f.wire == LEN).map(|f| f.value)
}

/// The highest opset of the default domain, as the rewrite computes it.
fn default_opset(model: &[Field]) -> Option<u64> {
    model
        .iter()
        .filter(|f| f.number == 8 && f.wire == LEN)
        .filter_map(|f| {
            let parts = parse(f.value)?;
            let domain = strings(&parts, 1).next().unwrap_or(b"");
            let version = parts.iter().find(|p| p.number == 2 && p.wire == VARINT)?.varint;
            (domain.is_empty() || domain == b"ai.onnx").then_some(version)
        })
        .max()
}

/// Names of the graph's initializers with data_type FLOAT (first data_type
/// and first name field, as the rewrite reads them).
fn float_initializers<'a>(graph: &[Field<'a>]) -> Vec<&'a [u8]> {
    let mut names = Vec::new();
    for field in graph.iter().filter(|f| f.number == 5 && f.wire == LEN) {
        let parts = parse(field.value).expect("an initializer of a rewritten graph is not well-formed");
        let data_type = parts.iter().find(|p| p.number == 2 && p.wire == VARINT).map(|p| p.varint);
        if data_type == Some(FLOAT) {
            if let Some(name) = parts.iter().find(|p| p.number == 8 && p.wire == LEN) {
                names.push(name.value);
            }
        }
    }
    names
}

/// A `PRelu` node's x, slope, y and name.
type PRelu<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8]);

/// A plain default-domain `PRelu` node, as the rewrite recognises one.
fn prelu(node: &[u8]) -> Option<PRelu<'_>> {
    let fields = parse(node)?;
    let op_type = strings(&fields, 4).last()?;
    let domain = strings(&fields, 7).last().unwrap_or(b"");
    if op_type != b"PRelu" || !(domain.is_empty() || domain == b"ai.onnx") || fields.iter().any(|f| f.number == 5) {
        return None;
    }
    let inputs: Vec<&[u8]> = strings(&fields, 1).collect();
    let outputs: Vec<&[u8]> = strings(&fields, 2).collect();
    match (inputs.as_slice(), outputs.as_slice()) {
        ([x, slope], [y]) if !x.is_empty() && !slope.is_empty() && !y.is_empty() => {
            Some((x, slope, y, strings(&fields, 3).last().unwrap_or(b"")))
        }
        _ => None,
    }
}

/// One expanded node: op_type, inputs, output and name exactly as expected,
/// and nothing else.
fn expect_node(field: &Field, op: &[u8], inputs: &[&[u8]], output: &[u8], name: &[u8]) {
    assert!(field.number == 1 && field.wire == LEN, "expected a node");
    let parts = parse(field.value).expect("an expanded node is not well-formed");
    let what = String::from_utf8_lossy(op);
    assert!(parts.iter().all(|p| p.wire == LEN && matches!(p.number, 1..=4)), "{what}: unexpected fields");
    assert_eq!(strings(&parts, 4).collect::<Vec<_>>(), [op], "{what}: op_type");
    assert_eq!(strings(&parts, 1).collect::<Vec<_>>(), inputs, "{what}: inputs");
    assert_eq!(strings(&parts, 2).collect::<Vec<_>>(), [output], "{what}: outputs");
    let expected_name = [name, b"/", PREFIX, b"/", op].concat();
    assert_eq!(strings(&parts, 3).collect::<Vec<_>>(), [&expected_name[..]], "{what}: name");
}

fn check(input: &[u8], out: &[u8]) {
    // The model: every field but the one graph copied, in order.
    let model_in = parse(input).expect("rewrote a model that is not well-formed");
    let model_out = parse(out).expect("the rewritten model is not well-formed");
    assert_eq!(model_in.len(), model_out.len(), "model field count changed");
    let opset = default_opset(&model_out).expect("the rewritten model has no default-domain opset");
    assert!(opset >= 8, "rewrote a model of opset {opset}");
    assert_eq!(default_opset(&model_in), Some(opset), "opset changed");
    // The added initializer stands alone: IR version 4 or later.
    let ir_version = model_in.iter().find(|f| f.number == 1 && f.wire == VARINT).map(|f| f.varint);
    assert!(ir_version.is_some_and(|v| v >= 4), "rewrote a model of IR version {ir_version:?}");
    let mut graphs = None;
    for (a, b) in model_in.iter().zip(&model_out) {
        if a.number == 7 {
            assert!(graphs.is_none(), "rewrote a model with two graphs");
            assert!(a.wire == LEN && b.number == 7 && b.wire == LEN, "the graph field moved or changed type");
            graphs = Some((a, b));
        } else {
            assert_eq!(a.raw, b.raw, "model field {} changed", a.number);
        }
    }
    let (graph_in, graph_out) = graphs.expect("rewrote a model without a graph");
    let graph_in = parse(graph_in.value).expect("rewrote a graph that is not well-formed");
    let graph_out = parse(graph_out.value).expect("the rewritten graph is not well-formed");
    let floats = float_initializers(&graph_in);
    let floats_out = float_initializers(&graph_out);
    assert!(floats_out.contains(&ZERO), "the zero is not a float initializer of the output");

    // The zero: the last field of the new graph, and the only field added.
    let (zero, graph_out) = graph_out.split_last().expect("the rewritten graph is empty");
    assert!(zero.number == 5 && zero.wire == LEN, "the graph does not end with an initializer");
    let parts = parse(zero.value).expect("the zero initializer is not well-formed");
    assert_eq!(parts.len(), 3, "the zero initializer has extra fields");
    assert!(parts[0].number == 2 && parts[0].wire == VARINT && parts[0].varint == FLOAT, "zero: data_type");
    assert!(parts[1].number == 8 && parts[1].wire == LEN && parts[1].value == ZERO, "zero: name");
    assert!(parts[2].number == 9 && parts[2].wire == LEN && parts[2].value == [0; 4], "zero: raw_data");

    // The other graph fields: copied, or a qualifying PRelu expanded into four nodes.
    let (mut j, mut expanded, mut removed) = (0, 0usize, 0usize);
    for field in &graph_in {
        let qualifies = (field.number == 1 && field.wire == LEN)
            .then(|| prelu(field.value))
            .flatten()
            .filter(|(_, slope, _, _)| floats.contains(slope));
        let Some((x, slope, y, name)) = qualifies else {
            let copy = graph_out.get(j).unwrap_or_else(|| panic!("graph field {} dropped", field.number));
            assert_eq!(copy.raw, field.raw, "graph field {} changed", field.number);
            j += 1;
            continue;
        };
        let temp = |suffix: &[u8]| [PREFIX, b"/", y, b"/", suffix].concat();
        let (relu, min, mul) = (temp(b"relu"), temp(b"min"), temp(b"mul"));
        let nodes = graph_out.get(j..j + 4).expect("a PRelu was not expanded into four nodes");
        expect_node(&nodes[0], b"Relu", &[x], &relu, name);
        expect_node(&nodes[1], b"Min", &[x, ZERO], &min, name);
        expect_node(&nodes[2], b"Mul", &[&min, slope], &mul, name);
        expect_node(&nodes[3], b"Add", &[&relu, &mul], y, name);
        j += 4;
        expanded += 1;
        removed += field.raw.len();
    }
    assert_eq!(j, graph_out.len(), "the rewritten graph has extra fields");
    assert!(expanded > 0, "returned a rewrite that expanded nothing");

    // (a), in the form that holds: dropping the expanded nodes (and at most
    // 18 bytes of overlong graph key and length) is more than made up for by
    // the four new nodes per PRelu and the zero initializer.
    assert!(
        out.len() + removed > input.len(),
        "output {} bytes, input {} bytes less {removed} expanded",
        out.len(),
        input.len()
    );
}
