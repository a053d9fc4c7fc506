//! `honnin verify --pairs`: many verifications in one process.
//!
//! The models load once (per job); each pair is read, decided and reported
//! exactly as `honnin verify --card C --live L --json` would, as one JSON
//! line in input order. A pair that cannot be read is reported as an error
//! line and the others go on.

use std::io::{BufRead, Read as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use anyhow::{bail, Context, Result};
use honnin::Engine;

use crate::engine::EngineArgs;
use crate::input::InputArgs;
use crate::process::EXIT_ERROR;
use crate::sandbox::{sandbox, SandboxArgs};
use crate::verify::outcome_json;

/// The longest line of a pairs file: two paths.
const MAX_LINE_BYTES: u64 = 8 * 1024;
/// The most pairs one run takes.
const MAX_PAIRS: usize = 10_000_000;

/// One pair: its line number and the two paths.
#[derive(Debug)]
struct Pair {
    line: usize,
    card: PathBuf,
    live: PathBuf,
}

/// The largest pairs file read.
const MAX_PAIRS_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Reads the pairs from `path` ("-": standard input), at most
/// `MAX_PAIRS_FILE_BYTES`; a file must be a regular one (a FIFO or device
/// would block or never end; standard input is the way to stream).
fn read_pairs(path: &Path) -> Result<Vec<Pair>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::take(std::io::stdin().lock(), MAX_PAIRS_FILE_BYTES + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_PAIRS_FILE_BYTES {
            bail!("standard input holds more than {MAX_PAIRS_FILE_BYTES} bytes of pairs");
        }
        return parse_pairs(bytes.as_slice(), "standard input");
    }
    let limits = honnin::Limits { max_bytes: MAX_PAIRS_FILE_BYTES, ..honnin::Limits::default() };
    let bytes =
        honnin::input::read_input_file(path, &limits).with_context(|| format!("pairs file {}", path.display()))?;
    parse_pairs(bytes.as_slice(), &path.display().to_string())
}

fn parse_pairs<R: BufRead>(mut input: R, name: &str) -> Result<Vec<Pair>> {
    let mut pairs = Vec::new();
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let read = std::io::Read::take(&mut input, MAX_LINE_BYTES + 1).read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        if read as u64 > MAX_LINE_BYTES {
            bail!("{name}, line {number}: longer than {MAX_LINE_BYTES} bytes");
        }
        let text = std::str::from_utf8(&line).with_context(|| format!("{name}, line {number}: not UTF-8"))?;
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() || text.starts_with('#') || (number == 1 && text.trim() == "card,live") {
            continue;
        }
        let Some((card, live)) = text.split_once(',') else {
            bail!("{name}, line {number}: expected card,live (two paths separated by a comma)");
        };
        if card.is_empty() || live.is_empty() || live.contains(',') {
            bail!("{name}, line {number}: expected card,live (two paths separated by a comma)");
        }
        if pairs.len() == MAX_PAIRS {
            bail!("{name}: more than {MAX_PAIRS} pairs");
        }
        pairs.push(Pair { line: number, card: card.into(), live: live.into() });
    }
    Ok(pairs)
}

/// One pair's line of output.
fn decide(engine: &Engine, input: &InputArgs, pair: &Pair) -> std::result::Result<serde_json::Value, String> {
    let card = input.card(&pair.card).map_err(|e| format!("{e:#}"))?;
    let live = input.live(&pair.live).map_err(|e| format!("{e:#}"))?;
    let outcome = engine.verify(&card, &live).map_err(|e| e.to_string())?;
    let value = outcome_json(&outcome, card.kind(), card.container(), card.format());
    Ok(value)
}

pub(crate) fn verify_pairs(
    path: &Path,
    input: &InputArgs,
    sandbox_args: &SandboxArgs,
    engine_args: &EngineArgs,
    jobs: usize,
) -> Result<ExitCode> {
    let pairs = read_pairs(path)?;
    sandbox(sandbox_args)?;
    let jobs = jobs.min(pairs.len()).max(1);
    // Several engines share the cores: one intra-op thread each is faster
    // than several each (ONNX Runtime splits work by output, so the scores
    // are the same bits; the tests and tools/bench_pairs.py compare them).
    let mut engine_args = engine_args.clone();
    if jobs > 1 {
        engine_args.threads.get_or_insert(1);
    }
    let engines = (0..jobs).map(|_| engine_args.engine()).collect::<Result<Vec<_>>>()?;
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel::<(usize, std::result::Result<serde_json::Value, String>)>();
    let mut failed = 0usize;
    std::thread::scope(|scope| -> Result<()> {
        for engine in &engines {
            let (sender, next, pairs) = (sender.clone(), &next, &pairs);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(pair) = pairs.get(i) else { break };
                if sender.send((i, decide(engine, input, pair))).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        // Lines come back in any order; they are written in input order.
        let mut pending = std::collections::BTreeMap::new();
        let mut written = 0;
        for (i, result) in receiver {
            pending.insert(i, result);
            while let Some(result) = pending.remove(&written) {
                let pair = &pairs[written];
                let mut value = serde_json::json!({
                    "line": pair.line,
                    "card": pair.card,
                    "live": pair.live,
                });
                match result {
                    Ok(outcome) => {
                        if let (Some(line), Some(fields)) = (value.as_object_mut(), outcome.as_object()) {
                            line.extend(fields.clone());
                        }
                    }
                    Err(error) => {
                        failed += 1;
                        value["error"] = error.into();
                    }
                }
                if let Err(e) = write_line(&value.to_string()) {
                    // Stop the workers: nobody reads what they would decide.
                    next.store(pairs.len(), Ordering::Relaxed);
                    return Err(e);
                }
                written += 1;
            }
        }
        Ok(())
    })?;
    if failed > 0 {
        eprintln!("honnin: {failed} of {} pairs could not be verified (see their \"error\" lines)", pairs.len());
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes one line to standard output, reporting a closed or broken stdout.
fn write_line(line: &str) -> Result<()> {
    outln!("{line}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_files_are_parsed_strictly() {
        let text = "card,live\n# a comment\na.jpg,b.jpg\r\n\nc d.png,e.jpg\n";
        let pairs = parse_pairs(text.as_bytes(), "t").unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!(
            (pairs[1].line, pairs[1].card.to_str(), pairs[1].live.to_str()),
            (5, Some("c d.png"), Some("e.jpg"))
        );
        for bad in ["a.jpg\n", "a.jpg,b.jpg,c.jpg\n", ",b.jpg\n"] {
            assert!(parse_pairs(bad.as_bytes(), "t").is_err(), "{bad:?}");
        }
        let long = format!("{},b.jpg\n", "a".repeat(9000));
        assert!(parse_pairs(long.as_bytes(), "t").unwrap_err().to_string().contains("longer than"));
    }
}
