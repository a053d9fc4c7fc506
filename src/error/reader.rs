//! Card reader faults (`honnin::reader`, feature `reader`).

use std::fmt;

/// A fault of the card reader, the card or PC/SC ([`Error::Reader`](crate::Error::Reader)).
///
/// None of them carries card data: no 照合番号B, no PIN, no photo byte. A
/// status word is two bytes of protocol, not data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReaderError {
    /// The PC/SC service (pcscd) is not running or cannot be reached.
    NoService,
    /// No reader by that name, or no reader at all.
    NoReader {
        /// The reader asked for (empty when none was named).
        reader: String,
    },
    /// The reader holds no card.
    NoCard,
    /// The card was removed or reset while honnin was talking to it.
    CardRemoved,
    /// The card or the reader did not answer in time.
    Timeout,
    /// Another program holds the card (honnin connects exclusively).
    CardInUse,
    /// The card has no My Number application (`6A 82` when selecting it).
    NotMyNumberCard,
    /// The card answered a command with a status word honnin does not accept there.
    Status {
        /// The command, for example `"READ BINARY"`.
        command: &'static str,
        /// The status word (SW1 SW2).
        sw: u16,
    },
    /// Fewer tries are left than the policy keeps in reserve: no VERIFY was sent.
    TooFewTries {
        /// The tries the card reports.
        left: u8,
        /// The tries that must remain after a wrong value ([`TryPolicy`](crate::reader::TryPolicy)).
        min: u8,
    },
    /// The card's counter for this code is blocked: only the municipal office can reset it.
    Blocked,
    /// The 照合番号B was wrong. One try was spent; honnin does not retry.
    WrongNumberB {
        /// The tries the card reports left.
        tries_left: u8,
    },
    /// The card already holds a verification from earlier in this connection;
    /// reconnect (which resets the card) before checking a PIN.
    AlreadyVerified,
    /// The reader has no keypad that PC/SC Part 10 can drive (no `FEATURE_VERIFY_PIN_DIRECT`).
    NoPinpad,
    /// The PIN entry on the reader's keypad was cancelled (`64 01`) or timed out (`64 00`). No try was spent.
    PinpadAborted {
        /// The status word the reader returned.
        sw: u16,
    },
    /// A response longer than honnin asked for or than any short APDU allows.
    ResponseTooLong {
        /// Its length in bytes.
        len: usize,
        /// The most honnin accepts there.
        max: usize,
    },
    /// A response or a file that does not have the expected form.
    Malformed {
        /// What was expected.
        what: &'static str,
    },
    /// The operating system's random source failed (no challenge is ever made without it).
    Rng,
    /// Any other PC/SC failure.
    Pcsc {
        /// The PC/SC call that failed.
        call: &'static str,
        /// PC/SC's description.
        reason: String,
    },
}

/// What a status word means, in a few words (ISO/IEC 7816-4 and PC/SC Part 10).
pub(crate) fn status_meaning(sw: u16) -> &'static str {
    match sw {
        0x6200..=0x62FF => "warning, data unchanged",
        0x6400 => "pin entry timed out",
        0x6401 => "pin entry cancelled",
        0x6581 => "memory failure",
        0x6700 => "wrong length",
        0x6882 => "secure messaging not supported",
        0x6982 => "security status not satisfied",
        0x6983 | 0x6984 => "blocked",
        0x6985 => "conditions of use not satisfied",
        0x6986 => "command not allowed",
        0x6A80 => "incorrect data",
        0x6A81 => "function not supported",
        0x6A82 => "file or application not found",
        0x6A86 | 0x6B00 => "wrong parameters",
        0x6B80 => "invalid pinpad parameters",
        0x6C00..=0x6CFF => "wrong length expected",
        0x6D00 => "instruction not supported",
        0x6E00 => "class not supported",
        0x6F00 => "no precise diagnosis",
        _ => "unexpected status",
    }
}

impl fmt::Display for ReaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoService => f.write_str("the pc/sc service (pcscd) is not running"),
            Self::NoReader { reader } if reader.is_empty() => f.write_str("no card reader is connected"),
            Self::NoReader { reader } => write!(f, "no card reader named {reader:?}"),
            Self::NoCard => f.write_str("the reader holds no card: insert the card"),
            Self::CardRemoved => f.write_str("the card was removed or reset during the read: insert it again"),
            Self::Timeout => f.write_str("the card or the reader did not answer in time"),
            Self::CardInUse => f.write_str("another program is using the card"),
            Self::NotMyNumberCard => f.write_str("the card has no my number card-surface application"),
            Self::Status { command, sw } => {
                write!(f, "the card answered {command} with status {sw:04X} ({})", status_meaning(*sw))
            }
            Self::TooFewTries { left, min } => write!(
                f,
                "the card has {left} tries left, and honnin keeps {min} in reserve: no code was sent (ask the \
                 holder to check the digits, or go to the municipal office)"
            ),
            Self::Blocked => f.write_str("the card's code is blocked: only the municipal office can reset it"),
            Self::WrongNumberB { tries_left } => write!(
                f,
                "the card refused the verification number (照合番号B): {tries_left} tries left; check the \
                 birth date, expiry year and security code before trying again"
            ),
            Self::AlreadyVerified => f.write_str(
                "the card holds an earlier verification in this connection: reconnect before checking a pin",
            ),
            Self::NoPinpad => f.write_str("the reader has no pc/sc part 10 keypad for pin entry"),
            Self::PinpadAborted { sw } => {
                write!(f, "the pin entry on the reader's keypad ended without a pin ({})", status_meaning(*sw))
            }
            Self::ResponseTooLong { len, max } => {
                write!(f, "the card answered {len} bytes where at most {max} were expected")
            }
            Self::Malformed { what } => write!(f, "the card's answer is malformed: expected {what}"),
            Self::Rng => f.write_str("the operating system's random source failed"),
            Self::Pcsc { call, reason } => write!(f, "pc/sc {call} failed: {reason}"),
        }
    }
}
