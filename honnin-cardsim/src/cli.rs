//! The `honnin-cardsim` command line.

use crate::facts::{CardFacts, Date};
use crate::profile::{CopyAnswer, Profile, WrongLengths};
use crate::sim::{self, CardSpec, Run};
use crate::vpcd::Endpoint;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Plays a My Number card to pcscd's vpcd driver, on 127.0.0.1 only, for tests.
///
/// The card has the card-surface confirmation AP (照合番号B in key EF 0012, the
/// surface data in EF 0002, its certificate in EF 0004, the chip challenge) and
/// the JPKI AP (PIN in key EF 0018, certificate in EF 000A, key EF 0017), with
/// keys and certificates the simulator makes itself. Events (one JSON object per
/// line) go to standard output or --events. Without --connect or --listen it
/// builds the card, writes --export and exits.
#[derive(Debug, Parser)]
#[command(name = "honnin-cardsim", version)]
pub(crate) struct Cli {
    /// Dial vpcd on 127.0.0.1:PORT (reader.conf `DEVICENAME /dev/null:0xPORT`, where vpcd listens);
    /// one session, then exit.
    #[arg(long, value_name = "PORT", conflicts_with = "listen")]
    connect: Option<u16>,
    /// Listen on 127.0.0.1:PORT for vpcd to dial (reader.conf `DEVICENAME localhost:0xPORT`).
    #[arg(long, value_name = "PORT")]
    listen: Option<u16>,
    /// How long --connect keeps dialling while pcscd starts.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    connect_timeout_ms: u64,
    /// How the card behaves.
    #[arg(long, value_enum, default_value_t = Profile::Genuine)]
    profile: Profile,
    /// wrong-lengths: which lengths it gets wrong.
    #[arg(long, value_enum, default_value_t = WrongLengths::MoreThanLe)]
    wrong_lengths: WrongLengths,
    /// copy: how it answers the chip challenge.
    #[arg(long, value_enum, default_value_t = CopyAnswer::OtherKey)]
    copy_answer: CopyAnswer,
    /// pulled-mid-read: pull the card during this READ BINARY of EF 0002 (from 1).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pull_at: u32,
    /// mute: pull the card after this long without answering (default: stay silent).
    #[arg(long, value_name = "MS")]
    mute_for_ms: Option<u64>,
    /// garbage: the seed of its choices.
    #[arg(long, value_name = "N", default_value_t = 1)]
    garbage_seed: u64,
    /// The face photo for DF27 (JPEG 2000).
    #[arg(long, value_name = "FILE")]
    photo: PathBuf,
    /// forged-photo: the photo that replaces DF27 (default: the same JP2 with an XML box appended).
    #[arg(long, value_name = "FILE")]
    forged_photo: Option<PathBuf>,
    /// Birth date (Gregorian, YYYY-MM-DD; from 1926-12-25).
    #[arg(long, value_name = "DATE", default_value_t = CardFacts::default().birth)]
    birth: Date,
    /// The card's expiry year.
    #[arg(long, value_name = "YYYY", default_value_t = CardFacts::default().expiry_year)]
    expiry_year: u16,
    /// The 4-digit security code printed on the card.
    #[arg(long, value_name = "DIGITS", default_value_t = CardFacts::default().security_code)]
    security_code: String,
    /// The 4-digit JPKI user-authentication PIN.
    #[arg(long, value_name = "DIGITS", default_value_t = CardFacts::default().pin)]
    pin: String,
    /// DF23: 1, 2 or 9.
    #[arg(long, default_value_t = CardFacts::default().sex)]
    sex: u8,
    /// The name rendered (as a placeholder image) in DF25.
    #[arg(long, default_value_t = CardFacts::default().name)]
    name: String,
    /// The address rendered (as a placeholder image) in DF26.
    #[arg(long, default_value_t = CardFacts::default().address)]
    address: String,
    /// 照合番号B's tries left at insertion (default: the profile's).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=15))]
    shogo_b_tries: Option<u8>,
    /// The PIN's tries left at insertion (default: the profile's).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=15))]
    pin_tries: Option<u8>,
    /// Make the keys from this seed (default: random keys).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Keep seeded keys in this folder and load them from it next time.
    #[arg(long, value_name = "DIR", requires = "seed")]
    key_cache: Option<PathBuf>,
    /// Write the event log here instead of standard output.
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Write ca.der (the test CA, X.509 DER), photo.jp2 (DF27 as served), ef0002.bin,
    /// ef0004.bin, ef000a.bin and card.json (the facts, 照合番号B, the PIN: test values) here.
    #[arg(long, value_name = "DIR")]
    export: Option<PathBuf>,
}

impl Cli {
    pub(crate) fn spec(&self) -> CardSpec {
        CardSpec {
            profile: self.profile,
            wrong_lengths: self.wrong_lengths,
            copy_answer: self.copy_answer,
            pull_at: self.pull_at,
            mute_for: self.mute_for_ms.map(Duration::from_millis),
            garbage_seed: self.garbage_seed,
            photo: self.photo.clone(),
            forged_photo: self.forged_photo.clone(),
            facts: CardFacts {
                birth: self.birth,
                expiry_year: self.expiry_year,
                security_code: self.security_code.clone(),
                pin: self.pin.clone(),
                sex: self.sex,
                name: self.name.clone(),
                address: self.address.clone(),
            },
            shogo_b_tries: self.shogo_b_tries,
            pin_tries: self.pin_tries,
            seed: self.seed,
        }
    }

    fn run(&self) -> Run {
        Run {
            endpoint: match (self.connect, self.listen) {
                (Some(port), _) => Some(Endpoint::Connect(port)),
                (None, Some(port)) => Some(Endpoint::Listen(port)),
                (None, None) => None,
            },
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            events: self.events.clone(),
            export: self.export.clone(),
            key_cache: self.key_cache.clone(),
        }
    }
}

/// `honnin-cardsim`'s main: 0 when the session ended (or the export is written),
/// 1 on an error, 2 on a usage error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match sim::run(&cli.spec(), &cli.run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("honnin-cardsim: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_spec_survives_its_command_line() {
        let mut spec = CardSpec::new("photo.jp2").with_profile(Profile::Mute);
        spec.mute_for = Some(Duration::from_millis(1500));
        spec.forged_photo = Some("other.jp2".into());
        spec.shogo_b_tries = Some(4);
        spec.pin_tries = Some(0);
        spec.facts.name = "YAMADA HANAKO".into();
        spec.wrong_lengths = WrongLengths::SixCLoop;
        spec.copy_answer = CopyAnswer::Refuse;
        let mut args = vec!["honnin-cardsim".into()];
        args.extend(spec.args());
        assert_eq!(Cli::try_parse_from(args).unwrap().spec(), spec);

        let random = CardSpec { seed: None, ..CardSpec::new("photo.jp2") };
        let mut args = vec!["honnin-cardsim".into()];
        args.extend(random.args());
        assert_eq!(Cli::try_parse_from(args).unwrap().spec(), random);
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
