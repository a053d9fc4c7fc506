//! honnin's side of `tools/peer_bench.py`, which times honnin's end-to-end
//! verification against a plain Python + onnxruntime pipeline, interleaved in
//! one run. A long-lived process driven over stdin/stdout, so that no
//! process start-up or model loading is timed:
//!
//! ```text
//! cargo build --release --example bench_driver
//! target/release/examples/bench_driver --models models --model-set yunet-s-dynamic,intel-reid-0095 \
//!     --card card.jpg --live live.jpg [--threads N] [--workers N]
//! ```
//!
//! It builds `--workers` engines (default 1; `--threads` intra-op threads per
//! model, default honnin's: the number of CPUs, at most 2), with honnin's
//! default mirror averaging and an uncalibrated threshold (cosine 0.3, Euclidean 0.6),
//! computes the card reference once and prints `ready`. Then, one command a line:
//!
//! - `verify N`: N times, open and decode `--live` and verify it against the
//!   card (`LiveFrame::open` + `Engine::verify_reference`); prints
//!   `ms T1 .. TN` (each iteration's wall time), `decode_ms D1 .. DN` (the
//!   `LiveFrame::open` part) and `score S DECISION`.
//! - `detect N`: N times, the detector alone on `--live`, decoded once
//!   (`Engine::detect`: input tensor, model, decoding, NMS); prints `ms T1 .. TN`.
//! - `score CARD LIVE`: verifies one pair of files; prints `score S DECISION`.
//! - `embed FILELIST`: the template of every image listed (one path a line),
//!   shared among the workers, each with its own engine, as `honnin-lab eval`
//!   does; prints `embed images=.. faces=.. seconds=.. images_per_s=..`.
//! - `quit` (or end of input): exits.
//!
//! The ONNX Runtime library is `$HONNIN_ORT_LIB` or `.runtime/libonnxruntime.so.1.31.1`
//! in this crate. Any error is printed to stderr and ends the process with status 1.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use honnin::engine::Acquisition;
use honnin::models::Metric;
use honnin::{danger, CardPhoto, CardReference, Engine, LiveFrame, Models, Outcome};

type Result<T> = std::result::Result<T, String>;

const USAGE: &str = "usage: bench_driver --models DIR --model-set DET,REC --card FILE --live FILE \
                     [--threads N] [--workers N]";

struct Args {
    models: PathBuf,
    detector: String,
    recognizer: String,
    card: PathBuf,
    live: PathBuf,
    threads: Option<usize>,
    workers: usize,
}

fn main() -> ExitCode {
    // Before any thread exists, as the CLI does: ONNX Runtime's telemetry stays off.
    std::env::set_var(honnin::runtime::ORT_TELEMETRY_ENV, "1");
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_driver: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args = parse_args(std::env::args().skip(1))?;
    let engines = (0..args.workers).map(|_| build_engine(&args)).collect::<Result<Vec<_>>>()?;
    let engine = &engines[0];
    let reference = card_reference(engine, &args.card)?;
    let mut out = std::io::stdout().lock();
    let mut reply = |text: String| writeln!(out, "{text}").and_then(|()| out.flush()).map_err(|e| e.to_string());
    reply("ready".into())?;
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("reading a command: {e}"))?;
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [] => continue,
            ["verify", n] => {
                let n = n.parse().map_err(|_| format!("verify takes a count, got {n:?}"))?;
                for text in verify_repeatedly(engine, &reference, &args.live, n)? {
                    reply(text)?;
                }
            }
            ["detect", n] => {
                let n = n.parse().map_err(|_| format!("detect takes a count, got {n:?}"))?;
                reply(detect_repeatedly(engine, &args.live, n)?)?;
            }
            ["score", card, live] => {
                let outcome = verify_once(engine, &card_reference(engine, Path::new(card))?, Path::new(live))?;
                reply(describe(&outcome))?;
            }
            ["embed", list] => reply(embed_all(&engines, Path::new(list))?)?,
            ["quit"] => break,
            _ => {
                return Err(format!(
                    "unknown command {line:?} (verify N, detect N, score CARD LIVE, embed FILELIST, quit)"
                ))
            }
        }
    }
    Ok(())
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args> {
    let (mut models, mut model_set, mut card, mut live, mut threads, mut workers) = (None, None, None, None, None, 1);
    while let Some(flag) = argv.next() {
        let value = argv.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let count = || {
            value.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| format!("{flag} takes a count, got {value:?}"))
        };
        match flag.as_str() {
            "--models" => models = Some(PathBuf::from(&value)),
            "--model-set" => model_set = Some(value.clone()),
            "--card" => card = Some(PathBuf::from(&value)),
            "--live" => live = Some(PathBuf::from(&value)),
            "--threads" => threads = Some(count()?),
            "--workers" => workers = count()?,
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    let missing = |name: &str| format!("{name} is required\n{USAGE}");
    let model_set = model_set.ok_or_else(|| missing("--model-set"))?;
    let (detector, recognizer) =
        model_set.split_once(',').ok_or_else(|| format!("--model-set takes DET,REC, got {model_set:?}"))?;
    Ok(Args {
        models: models.ok_or_else(|| missing("--models"))?,
        detector: detector.to_string(),
        recognizer: recognizer.to_string(),
        card: card.ok_or_else(|| missing("--card"))?,
        live: live.ok_or_else(|| missing("--live"))?,
        threads,
        workers,
    })
}

fn build_engine(args: &Args) -> Result<Engine> {
    let models = Models::select(&args.models, Some(&args.detector), Some(&args.recognizer))
        .map_err(|e| format!("models in {}: {e}", args.models.display()))?;
    // Timing does not depend on the threshold; these only make the decisions readable.
    let policy = match models.metric() {
        Metric::Cosine => danger::uncalibrated_policy(Metric::Cosine, 0.3),
        Metric::Euclidean => danger::uncalibrated_policy(Metric::Euclidean, 0.6),
    };
    let library = std::env::var_os(honnin::runtime::ORT_LIB_ENV)
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".runtime/libonnxruntime.so.1.31.1"), PathBuf::from);
    let mut builder = Engine::builder(models).onnxruntime(library);
    if let Some(threads) = args.threads {
        builder = builder.intra_threads(threads);
    }
    builder.policy(policy).build().map_err(|e| format!("engine: {e}"))
}

fn card_reference(engine: &Engine, card: &Path) -> Result<CardReference> {
    let photo = CardPhoto::open(card).map_err(|e| format!("card {}: {e}", card.display()))?;
    let reference = engine.card_reference(&photo).map_err(|e| format!("card {}: {e}", card.display()))?;
    match reference.unusable() {
        Some(reason) => Err(format!("card {}: no template ({})", card.display(), reason.code())),
        None => Ok(reference),
    }
}

fn verify_once(engine: &Engine, reference: &CardReference, live: &Path) -> Result<Outcome> {
    let frame = LiveFrame::open(live).map_err(|e| format!("live {}: {e}", live.display()))?;
    engine.verify_reference(reference, &frame).map_err(|e| format!("verify {}: {e}", live.display()))
}

/// `n` timed verifications of `live`; the three reply lines.
fn verify_repeatedly(engine: &Engine, reference: &CardReference, live: &Path, n: usize) -> Result<[String; 3]> {
    let (mut total, mut decode, mut last) = (Vec::with_capacity(n), Vec::with_capacity(n), None);
    for _ in 0..n {
        let started = Instant::now();
        let frame = LiveFrame::open(live).map_err(|e| format!("live {}: {e}", live.display()))?;
        let decoded = started.elapsed();
        let outcome = engine.verify_reference(reference, &frame).map_err(|e| format!("verify: {e}"))?;
        drop(frame); // wiping the pixels is part of honnin's work
        total.push(started.elapsed());
        decode.push(decoded);
        last = Some(outcome);
    }
    let score = last.as_ref().map_or_else(|| "score none none".to_string(), describe);
    Ok([format!("ms{}", ms(&total)), format!("decode_ms{}", ms(&decode)), score])
}

/// `n` timed runs of the detector alone on `live`, decoded once.
fn detect_repeatedly(engine: &Engine, live: &Path, n: usize) -> Result<String> {
    let frame = LiveFrame::open(live).map_err(|e| format!("live {}: {e}", live.display()))?;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let faces = engine.detect(&frame).map_err(|e| format!("detect: {e}"))?;
        drop(faces);
        times.push(started.elapsed());
    }
    Ok(format!("ms{}", ms(&times)))
}

/// Durations as ` T1 T2 ..` in milliseconds.
fn ms(times: &[Duration]) -> String {
    times.iter().map(|t| format!(" {:.3}", t.as_secs_f64() * 1e3)).collect()
}

fn describe(outcome: &Outcome) -> String {
    let score = outcome.score.map_or_else(|| "none".to_string(), |s| format!("{:.6}", s.value));
    let decision = match outcome.decision {
        honnin::Decision::Inconclusive(reason) => format!("inconclusive:{}", reason.code()),
        decision => decision.code().to_string(),
    };
    format!("score {score} {decision}")
}

/// Templates of every listed image, the list shared among the engines' threads.
fn embed_all(engines: &[Engine], list: &Path) -> Result<String> {
    let text = std::fs::read_to_string(list).map_err(|e| format!("file list {}: {e}", list.display()))?;
    let paths: Vec<&Path> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(Path::new).collect();
    let (next, faces) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let started = Instant::now();
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let workers: Vec<_> = engines
            .iter()
            .map(|engine| {
                scope.spawn(|| -> Result<()> {
                    while let Some(path) = paths.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let frame = LiveFrame::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
                        let acquired = engine.template(&frame).map_err(|e| format!("{}: {e}", path.display()))?;
                        if let Acquisition::Face(_) = acquired {
                            faces.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_else(|_| Err("a worker panicked".into()))).collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    results.into_iter().collect::<Result<()>>()?;
    Ok(format!(
        "embed images={} faces={} seconds={seconds:.3} images_per_s={:.2}",
        paths.len(),
        faces.into_inner(),
        paths.len() as f64 / seconds
    ))
}
