//! Stage and end-to-end timings on real faces.
//!
//! Needs `python3 tools/setup.py` (runtime and detector) and the shared face
//! data (`../shared/data` or `HONNIN_DATA`). Run: `cargo bench --bench verify`.
//!
//! The card template is computed once, as at a counter; each end-to-end
//! iteration detects, aligns and embeds the live image (with mirror averaging,
//! the default) and compares.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use honnin::counter::{Counter, SessionConfig, Step};
use honnin::engine::NeedsPolicy;
use honnin::models::Metric;
use honnin::quality::QualityGate;
use honnin::{danger, Calibration, CardPhoto, Engine, EngineBuilder, LiveFrame, Method, Models, Policy};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn data() -> PathBuf {
    std::env::var_os("HONNIN_DATA").map_or_else(|| root().join("../shared/data"), PathBuf::from)
}

fn ort_lib() -> PathBuf {
    std::env::var_os("HONNIN_ORT_LIB").map_or_else(|| root().join(".runtime/libonnxruntime.so.1.31.1"), PathBuf::from)
}

/// The default recognizer (Intel's face-reidentification-retail-0095, mirror averaging on).
const DEFAULT: &str = "intel-reid-0095";
/// dlib's ResNet, the previous default (mirror averaging on), for comparison in the same run.
const DLIB: &str = "dlib-resnet-v1";

/// An engine on the default detector and `recognizer`, at its committed
/// calibration (the policy only decides; timing is the same whichever
/// threshold is used), with the recognizer's own mirror setting.
fn engine_for(recognizer: &str) -> Engine {
    let models = Models::select(root().join("models"), None, Some(recognizer)).expect("models (run tools/setup.py)");
    let calibration = Calibration::from_file(root().join(format!("calibration/{recognizer}.json"))).unwrap();
    Engine::builder(models).onnxruntime(ort_lib()).policy(Policy::default_from(&calibration).unwrap()).build().unwrap()
}

/// The default engine.
fn engine() -> Engine {
    engine_for(DEFAULT)
}

/// An engine on the default models set up by `configure` (a speed step to
/// measure), with an uncalibrated threshold.
fn engine_with(configure: impl FnOnce(EngineBuilder<NeedsPolicy>) -> EngineBuilder<NeedsPolicy>) -> Engine {
    let models = Models::from_dir(root().join("models")).expect("models (run tools/setup.py)");
    configure(Engine::builder(models).onnxruntime(ort_lib()))
        .policy(danger::uncalibrated_policy(Metric::Cosine, 0.5))
        .build()
        .unwrap()
}

/// A 640x480 camera-like frame: the bundled 640x640 live sample, cropped.
fn frame_640x480() -> LiveFrame {
    let img = image::open(root().join("samples/astronaut_live.jpg")).unwrap().to_rgb8();
    let crop = image::imageops::crop_imm(&img, 0, 40, 640, 480).to_image();
    LiveFrame::from_rgb(640, 480, crop.into_raw()).unwrap()
}

fn benches(c: &mut Criterion) {
    let lfw = data().join("lfw/images");
    let live_250 = LiveFrame::open(lfw.join("Aaron_Peirsol/Aaron_Peirsol_0002.jpg")).expect("LFW image");
    let live_640 = frame_640x480();
    let card = CardPhoto::open(lfw.join("Aaron_Peirsol/Aaron_Peirsol_0001.jpg")).unwrap();

    let engines = [(DEFAULT, std::sync::Arc::new(engine_for(DEFAULT))), (DLIB, std::sync::Arc::new(engine_for(DLIB)))];
    let references: Vec<_> = engines.iter().map(|(_, e)| e.card_reference(&card).unwrap()).collect();
    let face_250 = engines[0].1.detect(&live_250).unwrap()[0];
    let default = &engines[0].1;
    c.bench_function("detect_250x250", |b| b.iter(|| default.detect(&live_250).unwrap()));
    c.bench_function("detect_640x480", |b| b.iter(|| default.detect(&live_640).unwrap()));
    c.bench_function("align_128", |b| b.iter(|| assert!(honnin::research::align(default, &live_250, &face_250))));
    for ((id, engine), reference) in engines.iter().zip(&references) {
        c.bench_function(&format!("embed/{id}"), |b| {
            b.iter(|| honnin::research::embed(engine, &live_250, &face_250).unwrap().unwrap())
        });
        c.bench_function(&format!("verify_250x250/{id}"), |b| {
            b.iter(|| engine.verify_reference(reference, &live_250).unwrap())
        });
        c.bench_function(&format!("verify_640x480/{id}"), |b| {
            b.iter(|| engine.verify_reference(reference, &live_640).unwrap())
        });
    }
    counter_session(c, default);
}

/// The default recognizer against dlib's, end to end, interleaved: each
/// iteration verifies the same frame with dlib's model set and then with the
/// default one, so that both see the same background load on a shared
/// machine. Prints each one's median over every verification and their ratio
/// (the target: the default at most 1.25 times dlib's).
fn recognizer_cost(c: &mut Criterion) {
    let lfw = data().join("lfw/images");
    let card = CardPhoto::open(lfw.join("Aaron_Peirsol/Aaron_Peirsol_0001.jpg")).unwrap();
    let frames = [
        ("250x250", LiveFrame::open(lfw.join("Aaron_Peirsol/Aaron_Peirsol_0002.jpg")).unwrap()),
        ("640x480", frame_640x480()),
    ];
    // dlib's set first (the baseline), then the default, then the default with one chip (no mirror image).
    let engines = [
        (DLIB.to_string(), engine_for(DLIB)),
        (DEFAULT.to_string(), engine()),
        (format!("{DEFAULT}_mirror_off"), engine_with(|b| b.mirror_averaging(false))),
    ];
    let references: Vec<_> = engines.iter().map(|(_, e)| e.card_reference(&card).unwrap()).collect();
    let mut group = c.benchmark_group("recognizer_cost");
    group.sampling_mode(criterion::SamplingMode::Flat);
    for (size, frame) in &frames {
        let names: Vec<String> = engines.iter().map(|(id, _)| format!("verify_{size}_interleaved/{id}")).collect();
        let medians = interleaved(&mut group, &names, |k| {
            let started = Instant::now();
            std::hint::black_box(engines[k].1.verify_reference(&references[k], frame).unwrap());
            started.elapsed()
        });
        let Some(medians) = medians else { continue };
        for ((id, _), (median, count)) in engines.iter().zip(&medians) {
            println!(
                "recognizer_cost interleaved {size}: {id}: median {median:.2} ms over {count} verifications, \
                 {:.3} x {DLIB}",
                median / medians[0].0
            );
        }
    }
    group.finish();
}

/// Times variants of one workload interleaved: criterion's function for
/// variant `k` runs every variant in turn in each iteration (`run(k)` does
/// variant `k` and returns the time to count) and counts only its own, so
/// that all variants see the same background load on a shared machine. Every
/// run of every function is also kept: returns each variant's median over all
/// of them in ms, with their count, or `None` when the bench command's name
/// filter skipped the functions.
fn interleaved(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    names: &[String],
    run: impl Fn(usize) -> Duration,
) -> Option<Vec<(f64, usize)>> {
    let all = std::cell::RefCell::new(vec![Vec::new(); names.len()]);
    for (timed, name) in names.iter().enumerate() {
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    for k in 0..names.len() {
                        let took = run(k);
                        all.borrow_mut()[k].push(took.as_secs_f64() * 1e3);
                        if k == timed {
                            spent += took;
                        }
                    }
                }
                spent
            })
        });
    }
    let mut all = all.into_inner();
    if all.iter().any(Vec::is_empty) {
        return None;
    }
    Some(
        all.iter_mut()
            .map(|v| {
                v.sort_by(f64::total_cmp);
                (v[v.len() / 2], v.len())
            })
            .collect(),
    )
}

/// Each speed step tried for the default recognizer, measured on one aligned
/// face (embed only) in one run: the load-time PRelu rewrite (here: LeakyRelu,
/// fused into the convolutions) against the plain graph, one intra-op thread
/// against two, and one chip against the default chip-and-mirror batch of 2.
fn recognizer_steps(c: &mut Criterion) {
    let live = LiveFrame::open(data().join("lfw/images/Aaron_Peirsol/Aaron_Peirsol_0002.jpg")).unwrap();
    let steps = [
        ("default", engine_with(|b| b)),
        ("plain_prelu", engine_with(|b| honnin::research::rewrite_prelu(b, false))),
        ("one_thread", engine_with(|b| b.intra_threads(1))),
        ("plain_prelu_one_thread", engine_with(|b| honnin::research::rewrite_prelu(b, false).intra_threads(1))),
        ("one_chip", engine_with(|b| b.mirror_averaging(false))),
    ];
    let face = steps[0].1.detect(&live).unwrap()[0];
    let mut group = c.benchmark_group("recognizer_steps");
    for (name, engine) in &steps {
        group.bench_function(format!("embed_{name}"), |b| {
            b.iter(|| honnin::research::embed(engine, &live, &face).unwrap().unwrap())
        });
    }
    group.finish();
}

/// A counter session's costs: the quality gate on top of detection, and one
/// person's whole face check (card template, then 3 frames of 640x480 gated,
/// embedded, fused and compared), as `honnin counter` runs it.
fn counter_session(c: &mut Criterion, engine: &std::sync::Arc<Engine>) {
    let live_640 = frame_640x480();
    let gate = QualityGate::default();
    assert!(engine.assess(&live_640, &gate).unwrap().is_usable(), "the bench frame passes the gate");
    c.bench_function("assess_640x480", |b| b.iter(|| engine.assess(&live_640, &gate).unwrap()));
    let counter = Counter::new(std::sync::Arc::clone(engine), SessionConfig::default()).unwrap();
    let card = root().join("samples/astronaut_card.png");
    let raw = image::open(root().join("samples/astronaut_live.jpg")).unwrap().to_rgb8();
    let raw = image::imageops::crop_imm(&raw, 0, 40, 640, 480).to_image().into_raw();
    c.bench_function("session_face_check_3x640x480", |b| {
        b.iter_batched(
            || (CardPhoto::open(&card).unwrap(), (0..3).map(|_| raw.clone()).collect::<Vec<_>>()),
            |(card, frames)| {
                let mut session = counter.session(card);
                session.choose(Method::Automatic).unwrap();
                let mut last = None;
                for rgb in frames {
                    last = Some(session.feed(LiveFrame::from_rgb(640, 480, rgb).unwrap()).unwrap());
                }
                assert!(matches!(last, Some(Step::Decided(_))));
            },
            BatchSize::SmallInput,
        )
    });
}

/// Bytes honnin wipes in one end-to-end verification of a 640x640 JPEG with a
/// prepared card reference: the decoded frame (RGB), the detector's input
/// tensor and outputs (80x80 + 40x40 + 20x20 anchors, 16 values each), the
/// default recognizer's input (chip and mirror, 2 x 3 x 128 x 128) and output
/// (2 x 256), and the template (256), all as 4-byte floats but the frame.
const WIPED_PER_VERIFICATION: usize =
    640 * 640 * 3 + 640 * 640 * 3 * 4 + 8400 * 16 * 4 + 2 * 3 * 128 * 128 * 4 + 2 * 256 * 4 + 256 * 4;

/// What privacy costs end to end, measured in one run: decoding the live JPEG
/// and verifying it against a prepared card reference, without process
/// hardening, with the CLI's default hardening (biometric buffers locked in
/// RAM) and with glibc's freed-heap wiping on top, interleaved; and the time
/// to zero the bytes one verification wipes.
fn privacy_cost(c: &mut Criterion) {
    use honnin::hardening::{harden_process_with, HardeningOptions};

    let engine = engine();
    let card = CardPhoto::open(data().join("lfw/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg")).unwrap();
    let reference = engine.card_reference(&card).unwrap();
    let jpeg = std::fs::read(root().join("samples/astronaut_live.jpg")).unwrap();
    let end_to_end = || {
        let live = LiveFrame::from_bytes(&jpeg).unwrap();
        engine.verify_reference(&reference, &live).unwrap()
    };
    // The CLI's default hardening (core dumps need no measuring), and with
    // glibc's freed-heap wiping on top.
    let hardened = HardeningOptions { no_core_dumps: false, ..HardeningOptions::default() };
    let heap = HardeningOptions { wipe_freed_heap: true, ..hardened };
    let modes = [
        ("e2e_unhardened", HardeningOptions::NONE),
        ("e2e_hardened", hardened),
        ("e2e_hardened_wipe_freed_heap", heap),
    ];
    let mut group = c.benchmark_group("privacy_cost");
    // One sample, one verification: about 25 ms each.
    group.sampling_mode(criterion::SamplingMode::Flat);
    // The modes run interleaved, one verification in each mode in turn, and
    // are compared over all of them at the end.
    let names: Vec<String> = modes.iter().map(|(name, _)| name.to_string()).collect();
    let medians = interleaved(&mut group, &names, |mode| {
        let options = modes[mode].1;
        let report = harden_process_with(options);
        assert_eq!(report.wipe_freed_heap.is_applied(), options.wipe_freed_heap, "{report:?}");
        let started = Instant::now();
        std::hint::black_box(end_to_end());
        started.elapsed()
    });
    if let Some(medians) = medians {
        let base = medians[0].0;
        for ((name, _), (median, count)) in modes.iter().zip(&medians) {
            println!(
                "privacy_cost interleaved: {name}: median {median:.2} ms over {count} verifications, \
                 {:+.1} % against unhardened",
                (median / base - 1.0) * 100.0
            );
        }
    }
    harden_process_with(HardeningOptions::NONE);
    group.bench_function("wipe_bytes_of_one_verification", |b| {
        b.iter_batched_ref(
            || vec![0x5Au8; WIPED_PER_VERIFICATION],
            |buffer| honnin::hardening::wipe_bytes(buffer),
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// What presentation-attack detection adds to an end-to-end verification of
/// a 640x480 frame: the same engine settings with PAD off and on, in one run
/// (the target: at most 4 ms on the median).
fn pad_cost(c: &mut Criterion) {
    let live = frame_640x480();
    let card = CardPhoto::open(root().join("samples/astronaut_mynumber.bin")).unwrap();
    let pad = honnin::pad::PadCalibration::from_file(root().join("calibration/pad-minifasnet.json"))
        .expect("calibration/pad-minifasnet.json");
    let build = |with_pad: bool, expand_prelu: bool| {
        let models = Models::from_dir(root().join("models")).expect("models (run tools/setup.py)");
        assert!(models.has_pad(), "the PAD models (tools/setup.py with HONNIN_MODEL_MIRROR)");
        let calibration = Calibration::from_file(root().join(format!("calibration/{DEFAULT}.json"))).unwrap();
        let mut builder = honnin::research::rewrite_prelu(Engine::builder(models).onnxruntime(ort_lib()), expand_prelu);
        if with_pad {
            builder = builder.pad(honnin::pad::PadPolicy::from_calibration(&pad));
        }
        builder.policy(Policy::default_from(&calibration).unwrap()).build().expect("engine")
    };
    let (off, on, on_plain) = (build(false, true), build(true, true), build(true, false));
    let (ref_off, ref_on) = (off.card_reference(&card).unwrap(), on.card_reference(&card).unwrap());
    assert!(matches!(on.verify_reference(&ref_on, &live).unwrap().pad, honnin::outcome::PadCheck::Live { .. }));
    let mut group = c.benchmark_group("pad_cost");
    group.bench_function("verify_640x480_pad_off", |b| b.iter(|| off.verify_reference(&ref_off, &live).unwrap()));
    group.bench_function("verify_640x480_pad_on", |b| b.iter(|| on.verify_reference(&ref_on, &live).unwrap()));
    // What PAD adds, robust to the shared machine's drifting load: each
    // iteration verifies without PAD and then with it, back to back, and
    // counts only the difference (so a slow spell slows both halves alike).
    group.bench_function("pad_added_interleaved", |b| {
        b.iter_custom(|iters| {
            let (mut without, mut with) = (Duration::ZERO, Duration::ZERO);
            for _ in 0..iters {
                let t = Instant::now();
                std::hint::black_box(off.verify_reference(&ref_off, &live).unwrap());
                without += t.elapsed();
                let t = Instant::now();
                std::hint::black_box(on.verify_reference(&ref_on, &live).unwrap());
                with += t.elapsed();
            }
            with.saturating_sub(without)
        })
    });
    group.bench_function("liveness_640x480", |b| b.iter(|| on.liveness(&live).unwrap().unwrap()));
    let face = on.subject(&live).unwrap().unwrap();
    group.bench_function("pad_models_only", |b| b.iter(|| honnin::research::pad_models(&on, &live, &face).unwrap()));
    group.bench_function("pad_models_only_plain_prelu", |b| {
        b.iter(|| honnin::research::pad_models(&on_plain, &live, &face).unwrap())
    });
    group.bench_function("embed_only", |b| b.iter(|| honnin::research::embed(&on, &live, &face).unwrap()));
    group.bench_function("detect_only", |b| b.iter(|| on.detect(&live).unwrap()));
    group.finish();
}

criterion_group! {
    name = pad;
    config = Criterion::default().sample_size(100).measurement_time(Duration::from_secs(8));
    targets = pad_cost
}

criterion_group! {
    name = privacy;
    // Many samples: the differences sought are a few percent of 25 ms, on a shared machine.
    config = Criterion::default().sample_size(200).measurement_time(Duration::from_secs(16));
    targets = privacy_cost
}

criterion_group! {
    name = verify;
    config = Criterion::default().sample_size(60).measurement_time(Duration::from_secs(4));
    targets = benches
}
criterion_group! {
    name = recognizer;
    config = Criterion::default().sample_size(100).measurement_time(Duration::from_secs(8));
    targets = recognizer_cost, recognizer_steps
}
criterion_main!(verify, recognizer, privacy, pad);
