//! honnin's card reader against the project's card simulator, through a real
//! pcscd and vpcd: every byte goes over PC/SC as it would with a card in a
//! reader. The harness (`honnin_cardsim::harness`) runs a private pcscd in
//! namespaces of its own (the simulator reaches it on loopback only) and
//! logs what the card saw, so each assertion about tries and commands is
//! checked against the card's own record, not against honnin's word.
//!
//! One reader, one card at a time: the cases run in order in this one
//! process (`harness = false`), each with a freshly inserted card.

#[allow(dead_code)]
#[path = "suite/common.rs"]
mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use honnin::authenticity::{Anchor, Authenticity, ChipCheck, Failure, Scheme, TrustAnchors};
use honnin::counter::{CardLink, Counter, FolderSource, SessionConfig, Step};
use honnin::error::ReaderError;
use honnin::reader::{
    CardPin, Connection, MyNumberCard, PinCheck, PinEntry, ReaderContext, Tries, TryPolicy, VerificationNumberB,
};
use honnin::{danger, CardPhoto, Decision, Engine, Error, Limits, LiveFrame, Method, Models, Policy, Reason};
use honnin_cardsim::events::{Event, Record, VerifyResult};
use honnin_cardsim::harness::{Harness, Options};
use honnin_cardsim::{CardSpec, Profile};

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// The chip photo the simulated card holds (a grey JPEG 2000, as on a My Number card).
fn photo() -> PathBuf {
    samples().join("astronaut_card_grey.jp2")
}

/// The simulated holder's 照合番号B (born 1980-02-17, card expiring 2034, code 1234).
fn number_b() -> VerificationNumberB {
    VerificationNumberB::from_parts((1980, 2, 17), 2034, "1234").expect("valid parts")
}

fn wrong_number_b() -> VerificationNumberB {
    VerificationNumberB::from_parts((1980, 2, 17), 2034, "9999").expect("valid parts")
}

struct Bench {
    harness: Harness,
    context: ReaderContext,
}

impl Bench {
    /// Takes the card out and puts `spec` in; a connection to it.
    fn insert(&mut self, spec: &CardSpec) -> Connection {
        self.harness.swap(spec).expect("card swapped");
        assert!(
            self.context.wait_for_card(self.harness.reader(), Duration::from_secs(10)).expect("status"),
            "card seen"
        );
        // Exclusive: a connection to the previous card still held makes this fail.
        self.context.connect(self.harness.reader()).expect("connects")
    }

    /// What the current card has logged.
    fn events(&self) -> Vec<Record> {
        self.harness.events_of(self.harness.cards())
    }

    /// The VERIFY attempts (not queries) the current card saw on `key`, as
    /// (tries before, tries after).
    fn attempts(&self, key: &str) -> Vec<(u8, u8)> {
        self.events()
            .into_iter()
            .filter_map(|r| match r.event {
                Event::Verify { key: k, attempt: true, tries_before, tries_after, .. } if k == key => {
                    Some((tries_before, tries_after))
                }
                _ => None,
            })
            .collect()
    }

    fn queries(&self, key: &str) -> Vec<(u8, u8, VerifyResult)> {
        self.events()
            .into_iter()
            .filter_map(|r| match r.event {
                Event::Verify { key: k, attempt: false, tries_before, tries_after, result, .. } if k == key => {
                    Some((tries_before, tries_after, result))
                }
                _ => None,
            })
            .collect()
    }

    fn no_sensitive_access(&self) {
        let sensitive: Vec<_> =
            self.events().into_iter().filter(|r| matches!(r.event, Event::Sensitive { .. })).collect();
        assert!(sensitive.is_empty(), "honnin touched EF 0005, 0013, 0011 or the Kenhojo AP: {sensitive:?}");
    }
}

fn engine() -> Arc<Engine> {
    let models = Models::from_dir(common::models_dir()).expect("models verify");
    let engine = Engine::builder(models)
        .onnxruntime(common::ort_lib())
        .policy(Policy::default_from(&common::calibration()).expect("default FMR").require_authentic(true))
        .build()
        .expect("engine builds");
    Arc::new(engine)
}

fn runs(engine: &Engine) -> u64 {
    let r = engine.model_runs();
    r.detector + r.recognizer + r.pad
}

fn reader_error(result: honnin::Result<impl std::fmt::Debug>) -> ReaderError {
    match result {
        Err(Error::Reader(e)) => e,
        other => panic!("expected a card reader error, got {other:?}"),
    }
}

type Case = fn(&mut Bench);

const CASES: &[(&str, Case)] = &[
    ("the_photo_read_with_number_b_is_the_cards_and_verified", the_photo_read_with_number_b_is_the_cards_and_verified),
    ("the_tries_query_spends_no_try", the_tries_query_spends_no_try),
    (
        "a_wrong_number_b_costs_exactly_one_try_and_is_not_retried",
        a_wrong_number_b_costs_exactly_one_try_and_is_not_retried,
    ),
    ("at_or_below_the_safe_limit_nothing_is_sent", at_or_below_the_safe_limit_nothing_is_sent),
    ("a_card_pulled_mid_read_is_a_typed_error_within_2_s", a_card_pulled_mid_read_is_a_typed_error_within_2_s),
    ("hostile_cards_give_typed_errors", hostile_cards_give_typed_errors),
    ("a_forged_photo_fails_and_is_never_a_match", a_forged_photo_fails_and_is_never_a_match),
    ("a_copy_without_the_cards_key_fails_the_chip_challenge", a_copy_without_the_cards_key_fails_the_chip_challenge),
    ("the_surface_signer_chains_to_the_ca_given", the_surface_signer_chains_to_the_ca_given),
    ("the_pin_decides_with_no_model_run", the_pin_decides_with_no_model_run),
    ("a_wrong_pin_costs_one_try_and_offers_face_and_staff", a_wrong_pin_costs_one_try_and_offers_face_and_staff),
    ("a_nearly_locked_pin_is_never_tried", a_nearly_locked_pin_is_never_tried),
    ("a_reader_session_takes_the_face_path_to_a_match", a_reader_session_takes_the_face_path_to_a_match),
    ("removing_the_card_ends_the_session", removing_the_card_ends_the_session),
];

fn main() {
    // Only the cases named on the command line, if any (`cargo test --test card_reader -- NAME`).
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let started = Instant::now();
    let harness = Harness::start(Options::locate().expect("simulator built"), &CardSpec::new(photo()))
        .expect("pcscd, vpcd and the simulator start");
    println!("harness up in {:.2} s", harness.startup().as_secs_f64());
    let context = ReaderContext::establish().expect("the private pcscd answers");
    let mut bench = Bench { harness, context };
    let mut ran = 0;
    for (name, case) in CASES {
        if !wanted.is_empty() && !wanted.iter().any(|w| name.contains(w.as_str())) {
            continue;
        }
        let t = Instant::now();
        case(&mut bench);
        println!("test {name} ... ok ({:.2} s)", t.elapsed().as_secs_f64());
        ran += 1;
    }
    drop(bench);
    let strays = honnin_cardsim::harness::stray_processes();
    assert!(strays.is_empty(), "processes left behind: {strays:?}");
    println!("card_reader: {ran} cases ok in {:.1} s", started.elapsed().as_secs_f64());
}

fn the_photo_read_with_number_b_is_the_cards_and_verified(bench: &mut Bench) {
    let mut card = MyNumberCard::new(bench.insert(&CardSpec::new(photo())));
    let read =
        card.read_face(&number_b(), &TryPolicy::default(), &TrustAnchors::none(), &Limits::default()).expect("read");
    let expected = CardPhoto::open(photo()).expect("the simulator's photo decodes");
    let got = read.photo();
    assert_eq!(got.dimensions(), expected.dimensions());
    assert!(
        danger::dangerous_card_pixels(got) == danger::dangerous_card_pixels(&expected),
        "the photo read from the card is the simulator's photo, pixel for pixel"
    );
    assert_eq!(
        got.authenticity(),
        Authenticity::Verified {
            scheme: Scheme::MyNumberSurface,
            anchor: Anchor::NotSupplied,
            chip: ChipCheck::Answered
        }
    );
    assert_eq!(bench.attempts("0012"), [(10, 10)], "one VERIFY of 照合番号B, which succeeded");
    let challenges = bench
        .events()
        .into_iter()
        .filter(|r| matches!(&r.event, Event::Challenge { key, signed: true, .. } if key == "card"))
        .count();
    assert_eq!(challenges, 1, "the chip was challenged once");
    bench.no_sensitive_access();
}

fn the_tries_query_spends_no_try(bench: &mut Bench) {
    let mut card = MyNumberCard::new(bench.insert(&CardSpec::new(photo())));
    for _ in 0..3 {
        assert_eq!(card.surface_tries_left().expect("query"), Tries::Left(10));
        assert_eq!(card.pin_tries_left().expect("query"), Tries::Left(3));
    }
    let surface = bench.queries("0012");
    assert_eq!(surface.len(), 3);
    assert!(surface.iter().all(|&(before, after, _)| before == 10 && after == 10), "{surface:?}");
    let pin = bench.queries("0018");
    assert!(pin.len() == 3 && pin.iter().all(|&(before, after, _)| before == 3 && after == 3), "{pin:?}");
    assert!(bench.attempts("0012").is_empty() && bench.attempts("0018").is_empty(), "no code was sent");
    bench.no_sensitive_access();
}

fn a_wrong_number_b_costs_exactly_one_try_and_is_not_retried(bench: &mut Bench) {
    let mut card = MyNumberCard::new(bench.insert(&CardSpec::new(photo())));
    let err = reader_error(card.read_face(
        &wrong_number_b(),
        &TryPolicy::default(),
        &TrustAnchors::none(),
        &Limits::default(),
    ));
    assert_eq!(err, ReaderError::WrongNumberB { tries_left: 9 });
    assert_eq!(bench.attempts("0012"), [(10, 9)], "exactly one try spent, and no second VERIFY");
    assert_eq!(card.surface_tries_left().expect("query"), Tries::Left(9), "the card agrees");
    let reads = bench
        .events()
        .into_iter()
        .filter(|r| matches!(&r.event, Event::Apdu { cmd, .. } if cmd == "read_binary"))
        .count();
    assert_eq!(reads, 0, "nothing was read after the refusal");
}

fn at_or_below_the_safe_limit_nothing_is_sent(bench: &mut Bench) {
    let policy = TryPolicy::default();
    assert_eq!(policy.min_tries_left, 3);
    for left in [3u8, 2, 1] {
        let spec = CardSpec { shogo_b_tries: Some(left), ..CardSpec::new(photo()) };
        let mut card = MyNumberCard::new(bench.insert(&spec));
        let err = reader_error(card.read_face(&number_b(), &policy, &TrustAnchors::none(), &Limits::default()));
        assert_eq!(err, ReaderError::TooFewTries { left, min: 3 });
        assert!(bench.attempts("0012").is_empty(), "{left} tries left: no VERIFY may be sent");
    }
    // Blocked: nothing sent either.
    let mut card = MyNumberCard::new(bench.insert(&CardSpec::new(photo()).with_profile(Profile::Blocked)));
    let err = reader_error(card.read_face(&number_b(), &policy, &TrustAnchors::none(), &Limits::default()));
    assert_eq!(err, ReaderError::Blocked);
    assert!(bench.attempts("0012").is_empty());
    drop(card);
    // One above the limit: the (right) code is sent, once.
    let spec = CardSpec { shogo_b_tries: Some(4), ..CardSpec::new(photo()) };
    let mut card = MyNumberCard::new(bench.insert(&spec));
    card.read_face(&number_b(), &policy, &TrustAnchors::none(), &Limits::default()).expect("4 tries left: read");
    assert_eq!(bench.attempts("0012"), [(4, 10)]);
}

fn a_card_pulled_mid_read_is_a_typed_error_within_2_s(bench: &mut Bench) {
    let mut card = MyNumberCard::new(bench.insert(&CardSpec::new(photo()).with_profile(Profile::PulledMidRead)));
    let t = Instant::now();
    let err =
        reader_error(card.read_face(&number_b(), &TryPolicy::default(), &TrustAnchors::none(), &Limits::default()));
    let took = t.elapsed();
    println!("    pulled mid-read: {err:?} after {:.0} ms", took.as_secs_f64() * 1e3);
    assert!(matches!(err, ReaderError::CardRemoved | ReaderError::NoCard), "{err:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(bench.events().iter().any(|r| matches!(r.event, Event::Pulled { .. })), "the simulator pulled the card");
}

fn hostile_cards_give_typed_errors(bench: &mut Bench) {
    use honnin_cardsim::profile::WrongLengths;
    let mut specs = Vec::new();
    for wrong in [WrongLengths::MoreThanLe, WrongLengths::Ff20PastEnd, WrongLengths::SixCLoop] {
        specs.push(CardSpec { wrong_lengths: wrong, ..CardSpec::new(photo()).with_profile(Profile::WrongLengths) });
    }
    for seed in 1..=6 {
        specs.push(CardSpec { garbage_seed: seed, ..CardSpec::new(photo()).with_profile(Profile::Garbage) });
    }
    specs.push(CardSpec {
        mute_for: Some(Duration::from_millis(1500)),
        ..CardSpec::new(photo()).with_profile(Profile::Mute)
    });
    for spec in specs {
        let label = format!("{} {:?} seed {}", spec.profile.name(), spec.wrong_lengths, spec.garbage_seed);
        let mut card = MyNumberCard::new(bench.insert(&spec));
        let t = Instant::now();
        let result = card.read_face(&number_b(), &TryPolicy::default(), &TrustAnchors::none(), &Limits::default());
        let took = t.elapsed();
        println!(
            "    {label}: {:?} in {:.0} ms",
            result.as_ref().map(|r| r.photo().authenticity()),
            took.as_secs_f64() * 1e3
        );
        match result {
            Err(Error::Reader(_))
            | Err(Error::Malformed { .. })
            | Err(Error::Decode { .. })
            | Err(Error::LimitExceeded { .. }) => {}
            // A garbled answer the protocol tolerates may still yield the photo.
            Ok(read) => assert!(spec.profile == Profile::Garbage, "{label}: read despite {:?}", read.summary()),
            Err(other) => panic!("{label}: an error of an unexpected kind: {other:?}"),
        }
        assert!(took < Duration::from_secs(10), "{label}: took {took:?}");
        assert!(bench.attempts("0012").len() <= 1, "{label}: 照合番号B sent more than once");
    }
}

fn a_forged_photo_fails_and_is_never_a_match(bench: &mut Bench) {
    let mut card = MyNumberCard::new(bench.insert(&CardSpec::new(photo()).with_profile(Profile::ForgedPhoto)));
    let read =
        card.read_face(&number_b(), &TryPolicy::default(), &TrustAnchors::none(), &Limits::default()).expect("read");
    let forged = read.into_photo();
    assert_eq!(
        forged.authenticity(),
        Authenticity::Failed { scheme: Scheme::MyNumberSurface, failure: Failure::BadSignature }
    );
    // The live image is the same person as the photo: only the proof stops it.
    let engine = engine();
    let live = LiveFrame::open(samples().join("astronaut_live.jpg")).expect("live decodes");
    let before = runs(&engine);
    let outcome = engine.verify(&forged, &live).expect("verify runs");
    assert_eq!(outcome.decision, Decision::Inconclusive(Reason::CardNotAuthentic(Failure::BadSignature)));
    assert_eq!(runs(&engine), before, "no model ran on a forged photo");
    assert!(outcome.authenticity.is_failed());
    drop(card);
    // In a session: the forged photo is neither compared nor shown to staff,
    // the PIN is not offered, and even staff's "same person" is no match.
    let counter = Counter::new(Arc::clone(&engine), SessionConfig::default()).expect("counter");
    let spec = CardSpec::new(photo()).with_profile(Profile::ForgedPhoto);
    let mut session = counter.card_session(link(bench.insert(&spec)));
    session.read_card_photo(&number_b()).expect("read");
    assert!(session.card_authenticity().is_failed() && !session.has_card_photo());
    assert_eq!(session.offered_methods(), [Method::StaffVisual]);
    session.choose(Method::StaffVisual).expect("staff check");
    assert!(session.card_for_display(100, 100).is_err(), "no forged photo on the staff's screen");
    let outcome = session.staff_decide(honnin::counter::StaffJudgement::SamePerson).expect("staff decide");
    assert_eq!(outcome.decision, Decision::Inconclusive(Reason::CardNotAuthentic(Failure::BadSignature)));
    assert_eq!(runs(&engine), before);
}

fn a_copy_without_the_cards_key_fails_the_chip_challenge(bench: &mut Bench) {
    let mut card = MyNumberCard::new(bench.insert(&CardSpec::new(photo()).with_profile(Profile::Copy)));
    let read =
        card.read_face(&number_b(), &TryPolicy::default(), &TrustAnchors::none(), &Limits::default()).expect("read");
    assert_eq!(
        read.photo().authenticity(),
        Authenticity::Failed { scheme: Scheme::MyNumberSurface, failure: Failure::ChipNotAuthentic }
    );
}

fn the_surface_signer_chains_to_the_ca_given(bench: &mut Bench) {
    let anchors = simulator_ca(bench);
    let mut card = MyNumberCard::new(bench.insert(&CardSpec::new(photo())));
    let read = card.read_face(&number_b(), &TryPolicy::default(), &anchors, &Limits::default()).expect("read");
    assert_eq!(
        read.photo().authenticity(),
        Authenticity::Verified { scheme: Scheme::MyNumberSurface, anchor: Anchor::Chained, chip: ChipCheck::Answered }
    );
}

fn link(connection: Connection) -> CardLink {
    CardLink::new(connection, TryPolicy::default(), TrustAnchors::none(), Limits::default()).expect("card link")
}

/// The simulator's test CA (it signed EF 0004's certificate), as it exports it.
fn simulator_ca(bench: &Bench) -> TrustAnchors {
    TrustAnchors::from_files([bench.harness.export_dir().join("ca.der")]).expect("the CA certificate loads")
}

fn the_pin_decides_with_no_model_run(bench: &mut Bench) {
    let engine = engine();
    let counter = Counter::new(Arc::clone(&engine), SessionConfig::default()).expect("counter");
    let before = runs(&engine);
    // The engine's policy requires authenticity: the PIN's certificate must
    // chain to a supplied anchor, else a right PIN does not decide.
    let mut session = counter.card_session(link(bench.insert(&CardSpec::new(photo()))));
    session.choose(Method::CardPin).expect("PIN offered");
    let step = session.check_pin(PinEntry::Host(CardPin::from_digits("4321").expect("pin"))).expect("check");
    assert!(
        matches!(step, Step::PinUnavailable(honnin::counter::PinClosed::CardNotAuthentic(Failure::UntrustedSigner))),
        "{step:?}"
    );
    drop(session);
    let anchors = simulator_ca(bench);
    let chained =
        CardLink::new(bench.insert(&CardSpec::new(photo())), TryPolicy::default(), anchors, Limits::default());
    let mut session = counter.card_session(chained.expect("card link"));
    assert!(session.offered_methods().contains(&Method::CardPin), "{:?}", session.offered_methods());
    session.choose(Method::CardPin).expect("PIN offered");
    let step = session.check_pin(PinEntry::Host(CardPin::from_digits("4321").expect("pin"))).expect("check");
    let Step::Decided(outcome) = step else { panic!("a correct PIN decides: {step:?}") };
    assert_eq!((outcome.decision, outcome.method), (Decision::Match, Method::CardPin));
    assert_eq!(runs(&engine), before, "the PIN path ran no model");
    assert_eq!(bench.attempts("0018"), [(3, 3)], "one VERIFY of the PIN");
    assert!(
        bench.events().iter().any(|r| matches!(&r.event, Event::Challenge { key, signed: true, .. } if key == "jpki")),
        "the card signed a challenge with its JPKI key"
    );
    drop(session);
    // On a counter without models too.
    let counter = Counter::without_models(SessionConfig::default()).expect("counter");
    let mut session = counter.card_session(link(bench.insert(&CardSpec::new(photo()))));
    assert_eq!(session.offered_methods(), [Method::CardPin, Method::StaffVisual]);
    session.choose(Method::CardPin).expect("PIN offered");
    let step = session.check_pin(PinEntry::Host(CardPin::from_digits("4321").expect("pin"))).expect("check");
    assert!(matches!(step, Step::Decided(o) if o.method == Method::CardPin && o.decision == Decision::Match));
    bench.no_sensitive_access();
}

fn a_wrong_pin_costs_one_try_and_offers_face_and_staff(bench: &mut Bench) {
    let counter = Counter::new(engine(), SessionConfig::default()).expect("counter");
    let mut session = counter.card_session(link(bench.insert(&CardSpec::new(photo()))));
    session.choose(Method::CardPin).expect("PIN offered");
    let step = session.check_pin(PinEntry::Host(CardPin::from_digits("0000").expect("pin"))).expect("check");
    assert_eq!(step, Step::PinRejected { tries_left: 2, pin_still_offered: true });
    assert_eq!(bench.attempts("0018"), [(3, 2)], "exactly one try spent");
    let offered = session.offered_methods();
    assert!(offered.contains(&Method::Automatic) && offered.contains(&Method::StaffVisual), "{offered:?}");
    // A second wrong PIN leaves 1 try: the PIN is no longer offered.
    session.choose(Method::CardPin).expect("still offered");
    let step = session.check_pin(PinEntry::Host(CardPin::from_digits("0001").expect("pin"))).expect("check");
    assert_eq!(step, Step::PinRejected { tries_left: 1, pin_still_offered: false });
    assert!(!session.offered_methods().contains(&Method::CardPin));
    assert!(session.choose(Method::CardPin).is_err(), "the last try stays with the holder");
    assert_eq!(bench.attempts("0018"), [(3, 2), (2, 1)]);
}

fn a_nearly_locked_pin_is_never_tried(bench: &mut Bench) {
    let counter = Counter::without_models(SessionConfig::default()).expect("counter");
    let session = counter.card_session(link(bench.insert(&CardSpec::new(photo()).with_profile(Profile::PinLastTry))));
    assert_eq!(session.offered_methods(), [Method::StaffVisual], "1 PIN try left: the PIN is not offered");
    drop(session);
    let mut card = MyNumberCard::new(bench.insert(&CardSpec::new(photo()).with_profile(Profile::PinLastTry)));
    let checked = card.check_pin(PinEntry::Host(CardPin::from_digits("4321").expect("pin")), &TryPolicy::default());
    assert_eq!(checked.expect("check"), PinCheck::Refused { tries_left: 1 });
    assert!(bench.attempts("0018").is_empty(), "no PIN was sent with 1 try left");
    drop(card);
    // The PIN's certificate chains to the simulator's CA, and to nothing else.
    let mut card = MyNumberCard::new(bench.insert(&CardSpec::new(photo())));
    let checked = card.check_pin_anchored(
        PinEntry::Host(CardPin::from_digits("4321").expect("pin")),
        &TryPolicy::default(),
        &simulator_ca(bench),
    );
    assert_eq!(checked.expect("check"), PinCheck::Correct { anchor: Anchor::Chained });
    drop(card);
    // Not an issuer of it: the card's own certificate (EF 000A, without the file's filler).
    let file = std::fs::read(bench.harness.export_dir().join("ef000a.bin")).expect("EF 000A exported");
    let der_len = match file[1] {
        0x82 => 4 + usize::from(u16::from_be_bytes([file[2], file[3]])),
        0x81 => 3 + usize::from(file[2]),
        n => 2 + usize::from(n),
    };
    let unrelated = TrustAnchors::from_pem_or_der(&file[..der_len]).expect("a certificate");
    let mut card = MyNumberCard::new(bench.insert(&CardSpec::new(photo())));
    let checked = card.check_pin_anchored(
        PinEntry::Host(CardPin::from_digits("4321").expect("pin")),
        &TryPolicy::default(),
        &unrelated,
    );
    assert_eq!(checked.expect("check"), PinCheck::Failed(Failure::UntrustedSigner));
    drop(card);
    let mut card = MyNumberCard::new(bench.insert(&CardSpec::new(photo()).with_profile(Profile::PinLocked)));
    let checked = card.check_pin(PinEntry::Host(CardPin::from_digits("4321").expect("pin")), &TryPolicy::default());
    assert_eq!(checked.expect("check"), PinCheck::Blocked);
    assert!(bench.attempts("0018").is_empty(), "no PIN was sent to a locked card");
}

fn a_reader_session_takes_the_face_path_to_a_match(bench: &mut Bench) {
    let frames = tempdir("frames");
    std::fs::copy(samples().join("astronaut_live.jpg"), frames.join("0001.jpg")).expect("frame copied");
    std::fs::copy(samples().join("astronaut_live.jpg"), frames.join("0002.jpg")).expect("frame copied");
    std::fs::copy(samples().join("astronaut_live.jpg"), frames.join("0003.jpg")).expect("frame copied");
    let counter = Counter::new(engine(), SessionConfig::default()).expect("counter");
    // The engine's policy requires a photo verified to a trust anchor, with
    // the chip's answer: without the simulator's CA the face path closes.
    let mut session = counter.card_session(link(bench.insert(&CardSpec::new(photo()))));
    session.read_card_photo(&number_b()).expect("photo read");
    let step = session.run_face(&mut FolderSource::open(&frames).expect("frames"), |_| {}).expect("face check");
    assert!(
        matches!(step, Step::StaffOffered(honnin::counter::Fallback::CardUnusable(Reason::AuthenticityNotChecked))),
        "a signer no anchor vouches for is not admitted: {step:?}"
    );
    drop(session);
    let anchors = simulator_ca(bench);
    let link = CardLink::new(bench.insert(&CardSpec::new(photo())), TryPolicy::default(), anchors, Limits::default());
    let mut session = counter.card_session(link.expect("card link"));
    assert!(session.choose(Method::Automatic).is_err(), "no photo yet: the face check cannot start");
    session.read_card_photo(&number_b()).expect("photo read");
    assert!(session.card_authenticity().is_verified());
    let step = session.run_face(&mut FolderSource::open(&frames).expect("frames"), |_| {}).expect("face check");
    let Step::Decided(outcome) = step else { panic!("the face check decides: {step:?}") };
    assert_eq!((outcome.decision, outcome.method), (Decision::Match, Method::Automatic));
    assert!(outcome.authenticity.is_verified(), "{:?}", outcome.authenticity);
    std::fs::remove_dir_all(frames).ok();
}

fn removing_the_card_ends_the_session(bench: &mut Bench) {
    let counter = Counter::without_models(SessionConfig::default()).expect("counter");
    let mut session = counter.card_session(link(bench.insert(&CardSpec::new(photo()))));
    bench.harness.remove().expect("card removed");
    let t = Instant::now();
    let err = reader_error(session.read_card_photo(&number_b()));
    assert!(matches!(err, ReaderError::CardRemoved | ReaderError::NoCard), "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(session.finish().is_none(), "no decision");
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("honnin-card-reader-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
