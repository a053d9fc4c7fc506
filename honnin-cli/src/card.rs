//! `honnin card`: what card data holds, and the chosen image decoded; no
//! model runs and no pixel is printed.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use honnin::card::CardData;
use honnin::CardPhoto;

use crate::input::InputArgs;

/// A value's name as its JSON form spells it (`my_number_surface`, `jp2`),
/// never Rust's debug text.
fn word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "unknown".into(),
    }
}

/// `honnin card`: the container and each face image's declared metadata, then
/// the chosen image decoded (its real size and colour). No pixel is printed.
pub(crate) fn inspect_card(path: &Path, input: &InputArgs, json: bool) -> Result<ExitCode> {
    let limits = input.limits();
    let bytes = honnin::input::read_input_file(path, &limits)?;
    let data = CardData::parse(&bytes, &limits).with_context(|| format!("card data {}", path.display()))?;
    let photo = CardPhoto::from_card_data(&data, input.face, &limits)
        .with_context(|| format!("face image {} of {}", input.face, path.display()))?;
    let images: Vec<serde_json::Value> = data
        .images()
        .iter()
        .map(|image| {
            serde_json::json!({
                "format": image.format(),
                "offset": image.offset(),
                "length": image.bytes().len(),
                "declared": image.metadata(),
            })
        })
        .collect();
    let (width, height) = photo.dimensions();
    if json {
        let value = serde_json::json!({
            "container": data.container(),
            "images": images,
            "decoded": {"face": input.face, "width": width, "height": height, "kind": photo.kind()},
        });
        outln!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{}: {}, {} face image(s)", path.display(), word(&data.container()), data.images().len());
    let code = |value: Option<u8>| value.map_or("not declared".to_string(), |v| format!("code {v}"));
    for (i, image) in data.images().iter().enumerate() {
        let m = image.metadata();
        let declared = match (m.declared_width, m.declared_height) {
            (Some(w), Some(h)) => format!("declared {w}x{h}"),
            _ => "no declared size".into(),
        };
        outln!(
            "  [{i}] {}, {} bytes at offset {}, {declared}, declared type {}, colour space {}, source {}, \
             {} feature point(s)",
            word(&image.format()),
            image.bytes().len(),
            image.offset(),
            m.declared_format.as_ref().map_or("not declared".to_string(), word),
            code(m.colour_space),
            code(m.source_type),
            m.feature_points.len()
        );
    }
    outln!("  decoded [{}]: {width}x{height}, {}", input.face, photo.kind().word());
    Ok(ExitCode::SUCCESS)
}
