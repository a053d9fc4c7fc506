//! The audit record's schema check, shared by the library's tests and
//! honnin-cli's (which include this file): a record line validates against
//! docs/audit-record.schema.json, holds no number array and no field outside
//! the schema.

use serde_json::Value;

use crate::common;

/// Checks `value` against the subset of JSON Schema the audit schema uses
/// (type, enum, properties, required, additionalProperties false, items).
/// Returns the first violation.
pub fn validate(value: &Value, schema: &Value, at: &str) -> Result<(), String> {
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let integer = types.contains(&"integer") && (value.is_u64() || value.is_i64());
    if !types.is_empty() && !types.contains(&kind) && !integer {
        return Err(format!("{at}: {kind}, the schema allows {types:?}"));
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return Err(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    match value {
        Value::Object(map) => {
            let props = schema["properties"].as_object().ok_or(format!("{at}: the schema has no properties"))?;
            for key in map.keys() {
                if !props.contains_key(key) {
                    return Err(format!("{at}: field {key:?} is not in the schema"));
                }
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().unwrap();
                if !map.contains_key(key) {
                    return Err(format!("{at}: required field {key:?} missing"));
                }
            }
            for (key, v) in map {
                validate(v, &props[key], &format!("{at}.{key}"))?;
            }
        }
        Value::Array(items) => {
            if items.iter().any(Value::is_number) {
                return Err(format!("{at}: an array of numbers"));
            }
            for (i, item) in items.iter().enumerate() {
                validate(item, &schema["items"], &format!("{at}[{i}]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The audit record's schema, docs/audit-record.schema.json.
pub fn schema() -> Value {
    let text = std::fs::read_to_string(common::root().join("docs/audit-record.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Parses one record line and checks it against the schema.
pub fn check_line(line: &str) -> Value {
    assert!(line.ends_with('\n') && line.matches('\n').count() == 1, "one line: {line:?}");
    let value: Value = serde_json::from_str(line).unwrap();
    validate(&value, &schema(), "record").unwrap_or_else(|e| panic!("{e}\n{line}"));
    value
}
