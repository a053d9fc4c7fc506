//! One simulated card: what it is ([`CardSpec`]), and running it.

use crate::card::{Behaviour, Card};
use crate::events::{Event, EventLog};
use crate::facts::CardFacts;
use crate::keys::Keys;
use crate::profile::{CopyAnswer, Profile, WrongLengths};
use crate::surface::{self, Files, Variants};
use crate::vpcd::{self, Endpoint};
use serde::Serialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The seed [`CardSpec::new`] uses, so that a harness makes its keys once and
/// then loads them from its cache.
pub const TEST_SEED: u64 = 19;

/// A card to simulate: the holder, the photo, the behaviour, the keys' seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSpec {
    /// How the card behaves.
    pub profile: Profile,
    /// What `wrong-lengths` gets wrong.
    pub wrong_lengths: WrongLengths,
    /// How `copy` answers the chip challenge.
    pub copy_answer: CopyAnswer,
    /// `pulled-mid-read`: pull the card during this READ BINARY of EF `0002` (from 1).
    pub pull_at: u32,
    /// `mute`: pull the card after this long without answering (never, when `None`).
    pub mute_for: Option<Duration>,
    /// `garbage`: the seed of its choices.
    pub garbage_seed: u64,
    /// The face photo (`DF27`): a JPEG 2000 file.
    pub photo: PathBuf,
    /// `forged-photo`: the photo that replaces `DF27` (by default the same picture
    /// with an XML box appended, which needs `photo` to be a JP2 file).
    pub forged_photo: Option<PathBuf>,
    /// The holder's facts and secrets.
    pub facts: CardFacts,
    /// 照合番号B's tries left at insertion (the profile's by default: 10, `few-tries` 2, `blocked` 0).
    pub shogo_b_tries: Option<u8>,
    /// The PIN's tries left at insertion (the profile's by default: 3, `pin-last-try` 1, `pin-locked` 0).
    pub pin_tries: Option<u8>,
    /// The keys' seed (random keys when `None`).
    pub seed: Option<u64>,
}

impl CardSpec {
    /// A genuine card with [`CardFacts::default`], `photo` in `DF27`, keys from [`TEST_SEED`].
    pub fn new(photo: impl Into<PathBuf>) -> CardSpec {
        CardSpec {
            profile: Profile::Genuine,
            wrong_lengths: WrongLengths::MoreThanLe,
            copy_answer: CopyAnswer::OtherKey,
            pull_at: 2,
            mute_for: None,
            garbage_seed: 1,
            photo: photo.into(),
            forged_photo: None,
            facts: CardFacts::default(),
            shogo_b_tries: None,
            pin_tries: None,
            seed: Some(TEST_SEED),
        }
    }

    /// The same card with another profile.
    pub fn with_profile(mut self, profile: Profile) -> CardSpec {
        self.profile = profile;
        self
    }

    /// The command-line arguments that describe this card to `honnin-cardsim`.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut flag = |name: &str, value: OsString| {
            args.push(format!("--{name}").into());
            args.push(value);
        };
        flag("profile", self.profile.name().into());
        flag("wrong-lengths", self.wrong_lengths.name().into());
        flag("copy-answer", self.copy_answer.name().into());
        flag("pull-at", self.pull_at.to_string().into());
        if let Some(mute_for) = self.mute_for {
            flag("mute-for-ms", mute_for.as_millis().to_string().into());
        }
        flag("garbage-seed", self.garbage_seed.to_string().into());
        flag("photo", self.photo.clone().into());
        if let Some(forged) = &self.forged_photo {
            flag("forged-photo", forged.clone().into());
        }
        let facts = &self.facts;
        flag("birth", facts.birth.to_string().into());
        flag("expiry-year", facts.expiry_year.to_string().into());
        flag("security-code", facts.security_code.clone().into());
        flag("pin", facts.pin.clone().into());
        flag("sex", facts.sex.to_string().into());
        flag("name", facts.name.clone().into());
        flag("address", facts.address.clone().into());
        if let Some(tries) = self.shogo_b_tries {
            flag("shogo-b-tries", tries.to_string().into());
        }
        if let Some(tries) = self.pin_tries {
            flag("pin-tries", tries.to_string().into());
        }
        if let Some(seed) = self.seed {
            flag("seed", seed.to_string().into());
        }
        args
    }
}

/// Where the card runs and what it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Serve on vpcd (`None`: build the files, export them and exit).
    pub endpoint: Option<Endpoint>,
    /// How long [`Endpoint::Connect`] keeps dialling.
    pub connect_timeout: Duration,
    /// The event log (standard output when `None`).
    pub events: Option<PathBuf>,
    /// Write the CA certificate, the served photo, the files and the card's facts here.
    pub export: Option<PathBuf>,
    /// Keep the seeded keys here (needs a seed).
    pub key_cache: Option<PathBuf>,
}

/// What `--export` writes as `card.json`: test values only.
#[derive(Debug, Serialize)]
struct Exported<'a> {
    profile: &'a str,
    facts: &'a CardFacts,
    /// 照合番号B as the card checks it.
    shogo_b: String,
    /// `DF22..DF2A`'s `DF29`.
    expiry_date: String,
    shogo_b_tries: u8,
    pin_tries: u8,
    seed: Option<u64>,
    /// The surface certificate's issuer and subject (EF `0004`, 16 bytes each, not TLV-coded).
    cvc_issuer: String,
    cvc_subject: String,
    /// The files in this folder.
    files: [&'a str; 6],
}

/// Builds the card and serves it (or only exports it).
pub fn run(spec: &CardSpec, run: &Run) -> Result<(), String> {
    let start = Instant::now();
    spec.facts.check()?;
    if spec.pull_at == 0 {
        return Err("--pull-at counts from 1".into());
    }
    let read = |path: &Path| std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()));
    let photo = read(&spec.photo)?;
    let forged_photo = match (spec.profile, &spec.forged_photo) {
        (Profile::ForgedPhoto, Some(path)) => Some(read(path)?),
        (Profile::ForgedPhoto, None) => Some(surface::default_forgery(&photo)?),
        _ => None,
    };
    let keys = Keys::load_or_make(spec.seed, run.key_cache.as_deref())?;
    let keys_ms = start.elapsed().as_millis() as u64;
    let variants = Variants {
        forged_photo,
        ff20_past_end: spec.profile == Profile::WrongLengths && spec.wrong_lengths == WrongLengths::Ff20PastEnd,
    };
    let files = surface::build(&spec.facts, &keys, &photo, &variants)?;
    let behaviour = Behaviour {
        profile: spec.profile,
        wrong_lengths: spec.wrong_lengths,
        copy_answer: spec.copy_answer,
        pull_at: spec.pull_at,
        garbage_seed: spec.garbage_seed,
        shogo_b_tries: spec.shogo_b_tries.unwrap_or(spec.profile.shogo_b_tries()),
        pin_tries: spec.pin_tries.unwrap_or(spec.profile.pin_tries()),
    };
    if let Some(dir) = &run.export {
        export(dir, spec, &behaviour, &files)?;
    }
    let Some(endpoint) = run.endpoint else { return Ok(()) };

    let out: Box<dyn std::io::Write + Send> = match &run.events {
        Some(path) => Box::new(
            std::fs::File::create(path).map_err(|e| format!("cannot write the event log {}: {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let mut log = EventLog::new(out, start);
    log.emit(Event::Started { profile: spec.profile.name().into(), pid: std::process::id(), keys_ms });
    let mut card = Card::new(&spec.facts, keys, files, behaviour);
    vpcd::serve(endpoint, run.connect_timeout, spec.mute_for, &mut card, &mut log)
}

fn export(dir: &Path, spec: &CardSpec, behaviour: &Behaviour, files: &Files) -> Result<(), String> {
    let names = ["ca.der", "photo.jp2", "ef0002.bin", "ef0004.bin", "ef000a.bin", "card.json"];
    let card = Exported {
        profile: spec.profile.name(),
        facts: &spec.facts,
        shogo_b: spec.facts.shogo_b(),
        expiry_date: spec.facts.expiry_date(),
        shogo_b_tries: behaviour.shogo_b_tries,
        pin_tries: behaviour.pin_tries,
        seed: spec.seed,
        cvc_issuer: String::from_utf8_lossy(surface::CVC_ISSUER).into(),
        cvc_subject: String::from_utf8_lossy(surface::CVC_SUBJECT).into(),
        files: names,
    };
    let json = serde_json::to_vec_pretty(&card).expect("the export serializes");
    let contents: [&[u8]; 6] =
        [&files.ca_certificate, &files.photo, &files.ef0002, &files.ef0004, &files.ef000a, &json];
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, bytes) in names.iter().zip(contents) {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
