//! How the simulated card behaves: a genuine card, or one of the ways cards,
//! copies and readers go wrong.

use serde::{Deserialize, Serialize};

/// The card's behaviour (`--profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// A well-behaved card: the protocol of docs/card-protocol.md.
    Genuine,
    /// `DF27` holds another valid JPEG 2000 photo while `DF28` still signs the
    /// genuine one: the surface signature does not verify.
    ForgedPhoto,
    /// A replay of a genuine card's bytes without the `DF24` private key: the
    /// chip challenge is signed with another key, or refused (`--copy-answer`).
    Copy,
    /// 照合番号B blocked: no tries left (`69 84`).
    Blocked,
    /// 照合番号B has 2 tries left.
    FewTries,
    /// The JPKI PIN is locked: no tries left (`69 84`).
    PinLocked,
    /// The JPKI PIN has 1 try left.
    PinLastTry,
    /// Lengths that do not add up (`--wrong-lengths`).
    WrongLengths,
    /// The card is pulled during the Nth READ BINARY of EF `0002` (`--pull-at`).
    PulledMidRead,
    /// The card stops answering after the first SELECT (`--mute-for`).
    Mute,
    /// Random status words and truncated responses (`--garbage-seed`).
    Garbage,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 11] = [
        Profile::Genuine,
        Profile::ForgedPhoto,
        Profile::Copy,
        Profile::Blocked,
        Profile::FewTries,
        Profile::PinLocked,
        Profile::PinLastTry,
        Profile::WrongLengths,
        Profile::PulledMidRead,
        Profile::Mute,
        Profile::Garbage,
    ];

    /// The name `--profile` takes (`forged-photo`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Profile::Genuine => "genuine",
            Profile::ForgedPhoto => "forged-photo",
            Profile::Copy => "copy",
            Profile::Blocked => "blocked",
            Profile::FewTries => "few-tries",
            Profile::PinLocked => "pin-locked",
            Profile::PinLastTry => "pin-last-try",
            Profile::WrongLengths => "wrong-lengths",
            Profile::PulledMidRead => "pulled-mid-read",
            Profile::Mute => "mute",
            Profile::Garbage => "garbage",
        }
    }

    /// 照合番号B's tries left when the card is inserted.
    pub fn shogo_b_tries(&self) -> u8 {
        match self {
            Profile::Blocked => 0,
            Profile::FewTries => 2,
            _ => SHOGO_B_MAX_TRIES,
        }
    }

    /// The JPKI PIN's tries left when the card is inserted.
    pub fn pin_tries(&self) -> u8 {
        match self {
            Profile::PinLocked => 0,
            Profile::PinLastTry => 1,
            _ => PIN_MAX_TRIES,
        }
    }
}

/// 照合番号B's try counter after a correct VERIFY.
pub const SHOGO_B_MAX_TRIES: u8 = 10;
/// The JPKI PIN's try counter after a correct VERIFY.
pub const PIN_MAX_TRIES: u8 = 3;

/// Which lengths the `wrong-lengths` profile gets wrong (`--wrong-lengths`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum WrongLengths {
    /// READ BINARY returns 8 bytes more than Le asked for (where the file has them), with `90 00`.
    MoreThanLe,
    /// EF `0002`'s `FF20` header declares 4096 bytes more than the file holds.
    Ff20PastEnd,
    /// READ BINARY answers `6C xx` with an xx other than the Le it was sent, every time.
    #[value(name = "6c-loop")]
    #[serde(rename = "6c-loop")]
    SixCLoop,
}

impl WrongLengths {
    /// The name `--wrong-lengths` takes.
    pub fn name(&self) -> &'static str {
        match self {
            WrongLengths::MoreThanLe => "more-than-le",
            WrongLengths::Ff20PastEnd => "ff20-past-end",
            WrongLengths::SixCLoop => "6c-loop",
        }
    }
}

/// How the `copy` profile answers the chip challenge (`--copy-answer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum CopyAnswer {
    /// A signature by a key other than `DF24`'s (`90 00`).
    OtherKey,
    /// `6A 81` (function not supported).
    Refuse,
}

impl CopyAnswer {
    /// The name `--copy-answer` takes.
    pub fn name(&self) -> &'static str {
        match self {
            CopyAnswer::OtherKey => "other-key",
            CopyAnswer::Refuse => "refuse",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn names_are_the_command_line_values() {
        for profile in Profile::ALL {
            assert_eq!(profile.to_possible_value().unwrap().get_name(), profile.name());
            assert_eq!(serde_json::to_value(profile).unwrap(), profile.name());
        }
        for kind in WrongLengths::value_variants() {
            assert_eq!(kind.to_possible_value().unwrap().get_name(), kind.name());
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
        }
        for answer in CopyAnswer::value_variants() {
            assert_eq!(answer.to_possible_value().unwrap().get_name(), answer.name());
        }
    }
}
