//! `honnin-lab eval`: accuracy the way ISO/IEC 19795-1 reports it, on a pairs
//! protocol or an identity folder tree, for one or several model sets.
//!
//! Every image is embedded once (in parallel, one engine per worker); scores
//! are computed from a matrix of templates held in wiped memory; the report
//! (JSON, Markdown, DET curve as SVG) holds scores' statistics and counts
//! only. Failures to acquire are counted per image and per comparison, never
//! dropped silently.
//!
//! By concern: [`args`] the flags; [`protocol`] which images and which
//! comparisons (LFW or CSV pairs, identity folders, card-like references);
//! [`run`] the embedding and scoring of one model set; [`report`] the rates,
//! their intervals and the report files.

mod args;
mod protocol;
mod report;
mod run;

use std::time::Instant;

use anyhow::{Context, Result};

pub(crate) use self::args::EvalArgs;
use crate::output::write_atomically;

pub(crate) fn eval(args: &EvalArgs) -> Result<()> {
    if let Some(dir) = &args.report {
        // Made before any work: a report folder that cannot be made fails now.
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let started = Instant::now();
    if let Some(dir) = &args.card_like {
        // A folder made by `honnin-lab card-like` (its protocol file), not a typo.
        crate::cardlike::card_like_protocol(dir)?;
    }
    let protocol = protocol::protocol(args)?;
    let sets = if args.model_sets.is_empty() { vec![String::new()] } else { args.model_sets.clone() };
    let mut results = Vec::new();
    for set in &sets {
        let scores = run::run_set(args, &protocol, set)?;
        results.push(report::set_result(args, &protocol, scores)?);
    }
    let json = report::json(args, &protocol, &results, started.elapsed().as_secs_f64());
    let markdown = report::markdown(&protocol, &results, started.elapsed().as_secs_f64());
    if let Some(dir) = &args.report {
        let text = serde_json::to_string_pretty(&json)? + "\n";
        write_atomically(&dir.join("report.json"), text.as_bytes())?;
        write_atomically(&dir.join("report.md"), markdown.as_bytes())?;
        write_atomically(&dir.join("det.svg"), report::det_svg(&results).as_bytes())?;
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        out!("{markdown}");
    }
    Ok(())
}
