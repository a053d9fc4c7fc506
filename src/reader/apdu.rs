//! Command APDUs honnin sends and the responses it accepts back.
//!
//! Short APDUs only (Lc ≤ 255, Le ≤ 256). A response is split into its data
//! and its status word; `61 xx` is followed by `GET RESPONSE` and `6C xx` by
//! resending the command with Le = xx, each a bounded number of times. A
//! command without Le (SELECT, VERIFY) is never resent: a VERIFY spends a
//! try, and honnin sends each one once.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::{Error, ReaderError, Result};
use crate::input::limits::Limits;
use crate::privacy::secret::Secret;
use crate::reader::transport::Transport;

/// The longest response a short APDU allows: 256 data bytes and the status word.
pub(crate) const MAX_RESPONSE: usize = 258;
/// The most data one short command asks for.
pub(crate) const MAX_LE: usize = 256;
/// How many times a `6C xx` answer is followed by a resend of the same command.
pub(crate) const MAX_RESENDS: usize = 2;
/// How many `GET RESPONSE` commands follow one command's `61 xx`.
pub(crate) const MAX_GET_RESPONSES: usize = 4;
/// The longest file honnin reads: every READ BINARY offset stays within 15 bits.
pub(crate) const MAX_FILE: usize = 0x8000;
/// Bytes read first to learn a file's TLV header.
const HEADER_PROBE: usize = 8;

pub(crate) const SW_OK: u16 = 0x9000;

/// `30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20`: the DigestInfo
/// prefix of a SHA-256 hash (RFC 8017, section 9.2).
pub(crate) const DIGEST_INFO_SHA256: [u8; 19] =
    [0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];

/// A command APDU: its header, its data (wiped when dropped: a VERIFY's
/// carries a code) and the response length it expects.
pub(crate) struct Command {
    pub(crate) name: &'static str,
    header: [u8; 4],
    data: Zeroizing<Vec<u8>>,
    le: Option<usize>,
}

impl Command {
    fn new(name: &'static str, header: [u8; 4], data: &[u8], le: Option<usize>) -> Self {
        let mut owned = Zeroizing::new(Vec::with_capacity(data.len()));
        owned.extend_from_slice(data);
        Self { name, header, data: owned, le }
    }

    /// The bytes on the wire with `le` as the expected length (`None`: the command's own).
    pub(crate) fn encode(&self, le: Option<usize>) -> Zeroizing<Vec<u8>> {
        let le = le.or(self.le);
        let mut out = Zeroizing::new(Vec::with_capacity(4 + 1 + self.data.len() + 1));
        out.extend_from_slice(&self.header);
        if !self.data.is_empty() {
            // Callers never build more than 255 data bytes (a 51-byte DigestInfo at most).
            out.push(u8::try_from(self.data.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = le {
            // Le = 256 is written 00.
            out.push(if le >= MAX_LE { 0 } else { le as u8 });
        }
        out
    }

    /// The expected response length, if any.
    pub(crate) fn le(&self) -> Option<usize> {
        self.le
    }
}

/// `SELECT` an application by its AID (`00 A4 04 0C`), no FCI returned.
pub(crate) fn select_aid(aid: &[u8]) -> Command {
    Command::new("SELECT (application)", [0x00, 0xA4, 0x04, 0x0C], aid, None)
}

/// `SELECT` an elementary file of the current application (`00 A4 02 0C 02`).
pub(crate) fn select_ef(fid: u16) -> Command {
    Command::new("SELECT (file)", [0x00, 0xA4, 0x02, 0x0C], &fid.to_be_bytes(), None)
}

/// `VERIFY` without data (`00 20 00 80`): the tries left, none spent.
pub(crate) fn verify_query() -> Command {
    Command::new("VERIFY (tries left)", [0x00, 0x20, 0x00, 0x80], &[], None)
}

/// `VERIFY` with a code (`00 20 00 80 Lc` + digits).
pub(crate) fn verify(code: &[u8]) -> Command {
    Command::new("VERIFY", [0x00, 0x20, 0x00, 0x80], code, None)
}

/// `READ BINARY` of the current file at a 15-bit offset.
pub(crate) fn read_binary(offset: usize, le: usize) -> Result<Command> {
    let offset = u16::try_from(offset)
        .ok()
        .filter(|o| *o <= 0x7FFF)
        .ok_or(ReaderError::Malformed { what: "a file whose every offset fits in 15 bits" })?;
    let [p1, p2] = offset.to_be_bytes();
    Ok(Command::new("READ BINARY", [0x00, 0xB0, p1, p2], &[], Some(le.clamp(1, MAX_LE))))
}

/// `GET RESPONSE` for the `xx` of a `61 xx`.
fn get_response(le: usize) -> Command {
    Command::new("GET RESPONSE", [0x00, 0xC0, 0x00, 0x00], &[], Some(le))
}

/// The card's signature of a SHA-256 DigestInfo of `challenge` (`80 2A 00 P2 33` + DigestInfo + `00`).
pub(crate) fn sign(p2: u8, challenge: &[u8; 32]) -> Command {
    let mut data = [0u8; 51];
    let (prefix, hash) = data.split_at_mut(DIGEST_INFO_SHA256.len());
    prefix.copy_from_slice(&DIGEST_INFO_SHA256);
    hash.copy_from_slice(challenge);
    Command::new("SIGN (challenge)", [0x80, 0x2A, 0x00, p2], &data, Some(MAX_LE))
}

/// A response: its data (wiped when dropped) and its status word.
pub(crate) struct Response {
    pub(crate) data: Zeroizing<Vec<u8>>,
    pub(crate) sw: u16,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Response({} data bytes, status {:04X})", self.data.len(), self.sw)
    }
}

impl Response {
    /// Splits a raw response into data and status word, refusing one without
    /// a status word or longer than a short APDU allows.
    pub(crate) fn split(raw: Vec<u8>) -> Result<Self> {
        let mut data = Zeroizing::new(raw);
        if data.len() > MAX_RESPONSE {
            return Err(ReaderError::ResponseTooLong { len: data.len(), max: MAX_RESPONSE }.into());
        }
        let n = data.len();
        let sw = match data.get(n.wrapping_sub(2)..) {
            Some([sw1, sw2]) => u16::from_be_bytes([*sw1, *sw2]),
            _ => return Err(ReaderError::Malformed { what: "a response of at least the two status bytes" }.into()),
        };
        data.truncate(n - 2);
        Ok(Self { data, sw })
    }

    fn sw1(&self) -> u8 {
        (self.sw >> 8) as u8
    }

    fn sw2(&self) -> u8 {
        self.sw as u8
    }

    /// The status error for this response to `command`.
    pub(crate) fn status_error(&self, command: &'static str) -> Error {
        ReaderError::Status { command, sw: self.sw }.into()
    }
}

/// Sends `command` and returns its response, following `61 xx` with
/// `GET RESPONSE` and `6C xx` with a resend (both only for a command that
/// expects data, a bounded number of times). The data is never longer than
/// the command asked for; a command that expects none gets none.
pub(crate) fn exchange<T: Transport + ?Sized>(transport: &mut T, command: &Command) -> Result<Response> {
    let mut le = command.le();
    let mut resends = 0;
    loop {
        let response = Response::split(transport.transmit(&command.encode(le))?)?;
        let max = le.unwrap_or(0);
        match (response.sw1(), le) {
            (0x6C, Some(_)) => {
                if resends == MAX_RESENDS {
                    return Err(response.status_error(command.name));
                }
                resends += 1;
                le = Some(if response.sw2() == 0 { MAX_LE } else { usize::from(response.sw2()) });
            }
            (0x61, Some(_)) => return follow_get_response(transport, command.name, response, max),
            _ => {
                if response.data.len() > max {
                    return Err(ReaderError::ResponseTooLong { len: response.data.len(), max }.into());
                }
                return Ok(response);
            }
        }
    }
}

/// Collects the data a card announces with `61 xx`, at most `max` bytes in
/// all and at most [`MAX_GET_RESPONSES`] commands.
fn follow_get_response<T: Transport + ?Sized>(
    transport: &mut T,
    name: &'static str,
    first: Response,
    max: usize,
) -> Result<Response> {
    let mut data = Zeroizing::new(Vec::with_capacity(max));
    let mut pending = first;
    for _ in 0..MAX_GET_RESPONSES {
        if data.len() + pending.data.len() > max {
            return Err(ReaderError::ResponseTooLong { len: data.len() + pending.data.len(), max }.into());
        }
        data.extend_from_slice(&pending.data);
        if pending.sw1() != 0x61 {
            return Ok(Response { data, sw: pending.sw });
        }
        let announced = if pending.sw2() == 0 { MAX_LE } else { usize::from(pending.sw2()) };
        let command = get_response(announced);
        pending = Response::split(transport.transmit(&command.encode(None))?)?;
        if pending.data.len() > announced {
            return Err(ReaderError::ResponseTooLong { len: pending.data.len(), max: announced }.into());
        }
    }
    if data.len() + pending.data.len() > max {
        return Err(ReaderError::ResponseTooLong { len: data.len() + pending.data.len(), max }.into());
    }
    if pending.sw1() == 0x61 {
        return Err(pending.status_error(name));
    }
    data.extend_from_slice(&pending.data);
    Ok(Response { data, sw: pending.sw })
}

/// Sends a command that expects no data and requires `90 00`.
pub(crate) fn expect_ok<T: Transport + ?Sized>(transport: &mut T, command: &Command) -> Result<()> {
    let response = exchange(transport, command)?;
    if response.sw == SW_OK {
        Ok(())
    } else {
        Err(response.status_error(command.name))
    }
}

/// Selects an application; `6A 82` (not found) is [`ReaderError::NotMyNumberCard`].
pub(crate) fn select_application<T: Transport + ?Sized>(transport: &mut T, aid: &[u8]) -> Result<()> {
    let command = select_aid(aid);
    let response = exchange(transport, &command)?;
    match response.sw {
        SW_OK => Ok(()),
        0x6A82 => Err(ReaderError::NotMyNumberCard.into()),
        _ => Err(response.status_error(command.name)),
    }
}

/// The tries a card reports for the code of the key EF selected last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "state", content = "left", rename_all = "snake_case")]
pub enum Tries {
    /// This many tries are left (`63 Cx`, x > 0).
    Left(u8),
    /// No try is left (`63 C0`, `69 83` or `69 84`): only the municipal office can reset the code.
    Blocked,
    /// The code was already verified while the card was powered (`90 00`).
    AlreadyVerified,
}

impl Tries {
    /// What a `VERIFY` without data answers, or `None` for any other status word.
    pub fn from_status(sw: u16) -> Option<Self> {
        match sw {
            SW_OK => Some(Self::AlreadyVerified),
            0x63C0 | 0x6983 | 0x6984 => Some(Self::Blocked),
            0x63C1..=0x63CF => Some(Self::Left((sw & 0x0F) as u8)),
            _ => None,
        }
    }
}

/// Asks for the tries left (`VERIFY` without data), spending none.
pub(crate) fn query_tries<T: Transport + ?Sized>(transport: &mut T) -> Result<Tries> {
    let command = verify_query();
    let response = exchange(transport, &command)?;
    Tries::from_status(response.sw).ok_or_else(|| response.status_error(command.name))
}

/// Reads the current file as one BER-TLV element starting with `tag`: its
/// header first, then exactly the element's length (anything after it, such
/// as `FF` filler, is not read), in chunks of at most 256 bytes, into a
/// buffer wiped when dropped. The length is bounded by `limits.max_bytes` and
/// by [`MAX_FILE`]; a file that ends early (`6B 00`, or `62 82` before the
/// element is complete) is an error.
pub(crate) fn read_tlv_file<T: Transport + ?Sized>(
    transport: &mut T,
    tag: &[u8],
    what: &'static str,
    limits: &Limits,
) -> Result<Secret<u8>> {
    let first = exchange(transport, &read_binary(0, HEADER_PROBE)?)?;
    if first.sw != SW_OK && first.sw != 0x6282 {
        return Err(first.status_error("READ BINARY"));
    }
    let total = tlv_total_length(&first.data, tag).ok_or(ReaderError::Malformed { what })?;
    limits.check_bytes(total)?;
    if total > MAX_FILE {
        return Err(ReaderError::Malformed { what: "a file of at most 32,768 bytes" }.into());
    }
    let mut file = Secret::<u8>::zeroed(total);
    let mut filled = copy_chunk(&mut file, 0, &first.data);
    let mut ended = first.sw == 0x6282;
    while filled < total {
        if ended {
            return Err(ReaderError::Malformed { what: "a file as long as its header says" }.into());
        }
        let response = exchange(transport, &read_binary(filled, total - filled)?)?;
        match response.sw {
            SW_OK => {}
            0x6282 => ended = true,
            0x6B00 => return Err(ReaderError::Malformed { what: "a file as long as its header says" }.into()),
            _ => return Err(response.status_error("READ BINARY")),
        }
        if response.data.is_empty() && !ended {
            return Err(ReaderError::Malformed { what: "READ BINARY returning data" }.into());
        }
        filled = copy_chunk(&mut file, filled, &response.data);
    }
    Ok(file)
}

/// Copies as much of `chunk` as fits into `file` at `at`; returns the new fill.
fn copy_chunk(file: &mut [u8], at: usize, chunk: &[u8]) -> usize {
    let room = file.len().saturating_sub(at);
    let n = chunk.len().min(room);
    if let (Some(dst), Some(src)) = (file.get_mut(at..at + n), chunk.get(..n)) {
        dst.copy_from_slice(src);
    }
    at + n
}

/// The total length (header and value) of the BER-TLV element at the start
/// of `head`, whose tag must be `tag`; `None` when `head` holds no complete
/// header with that tag or the length is not a definite one of at most 3 bytes.
pub(crate) fn tlv_total_length(head: &[u8], tag: &[u8]) -> Option<usize> {
    let rest = head.strip_prefix(tag)?;
    let (&first, rest) = rest.split_first()?;
    let (len_bytes, value_len) = match first {
        0..=0x7F => (0, usize::from(first)),
        0x81..=0x83 => {
            let n = usize::from(first & 0x7F);
            let field = rest.get(..n)?;
            (n, field.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b)))
        }
        _ => return None,
    };
    (tag.len() + 1 + len_bytes).checked_add(value_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::scripted::{Card, SW_OK_BYTES};

    #[test]
    fn commands_are_encoded_as_short_apdus() {
        assert_eq!(&select_ef(0x0012).encode(None)[..], &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x12]);
        assert_eq!(&verify_query().encode(None)[..], &[0x00, 0x20, 0x00, 0x80]);
        assert_eq!(&read_binary(0x1234, 256).unwrap().encode(None)[..], &[0x00, 0xB0, 0x12, 0x34, 0x00]);
        assert_eq!(&read_binary(0, 8).unwrap().encode(None)[..], &[0x00, 0xB0, 0x00, 0x00, 0x08]);
        assert!(read_binary(0x8000, 1).is_err());
        let sign = sign(0x80, &[7; 32]).encode(None);
        assert_eq!(&sign[..5], &[0x80, 0x2A, 0x00, 0x80, 0x33]);
        assert_eq!(&sign[5..24], &DIGEST_INFO_SHA256);
        assert_eq!(&sign[24..56], &[7; 32]);
        assert_eq!(sign[56], 0x00);
        assert_eq!(sign.len(), 57);
    }

    #[test]
    fn truncated_and_oversized_responses_are_typed_errors() {
        assert!(matches!(Response::split(vec![0x90]), Err(Error::Reader(ReaderError::Malformed { .. }))));
        assert!(matches!(Response::split(vec![]), Err(Error::Reader(ReaderError::Malformed { .. }))));
        assert!(matches!(
            Response::split(vec![0; 259]),
            Err(Error::Reader(ReaderError::ResponseTooLong { len: 259, max: 258 }))
        ));
        let ok = Response::split(vec![1, 2, 0x90, 0x00]).unwrap();
        assert_eq!((&ok.data[..], ok.sw), (&[1u8, 2][..], 0x9000));
        // More data than asked for.
        let mut card = Card::new(vec![[vec![0; 9], SW_OK_BYTES.to_vec()].concat()]);
        let err = exchange(&mut card, &read_binary(0, 8).unwrap()).unwrap_err();
        assert!(matches!(err, Error::Reader(ReaderError::ResponseTooLong { len: 9, max: 8 })), "{err:?}");
        // Data where none is expected.
        let mut card = Card::new(vec![vec![1, 0x90, 0x00]]);
        assert!(exchange(&mut card, &select_ef(2)).is_err());
    }

    #[test]
    fn six_c_resends_with_the_length_the_card_names_a_bounded_number_of_times() {
        let mut card = Card::new(vec![vec![0x6C, 0x04], vec![1, 2, 3, 4, 0x90, 0x00]]);
        let response = exchange(&mut card, &read_binary(0, 8).unwrap()).unwrap();
        assert_eq!(&response.data[..], &[1, 2, 3, 4]);
        assert_eq!(card.sent()[1], vec![0x00, 0xB0, 0x00, 0x00, 0x04]);
        // A card that answers 6C forever: an error after the bound, not a loop.
        let mut card = Card::forever(vec![0x6C, 0x04]);
        let err = exchange(&mut card, &read_binary(0, 8).unwrap()).unwrap_err();
        assert!(matches!(err, Error::Reader(ReaderError::Status { sw: 0x6C04, .. })), "{err:?}");
        assert_eq!(card.sent().len(), 1 + MAX_RESENDS);
        // A command without Le is never resent (a VERIFY spends a try).
        let mut card = Card::forever(vec![0x6C, 0x04]);
        let response = exchange(&mut card, &verify(b"1234")).unwrap();
        assert_eq!(response.sw, 0x6C04);
        assert_eq!(card.sent().len(), 1);
    }

    #[test]
    fn sixty_one_is_followed_by_get_response_a_bounded_number_of_times() {
        let mut card = Card::new(vec![vec![0x61, 0x03], vec![1, 2, 3, 0x61, 0x02], vec![4, 5, 0x90, 0x00]]);
        let response = exchange(&mut card, &read_binary(0, 8).unwrap()).unwrap();
        assert_eq!(&response.data[..], &[1, 2, 3, 4, 5]);
        assert_eq!(card.sent()[1], vec![0x00, 0xC0, 0x00, 0x00, 0x03]);
        assert_eq!(card.sent()[2], vec![0x00, 0xC0, 0x00, 0x00, 0x02]);
        // 61 forever.
        let mut card = Card::forever(vec![0x61, 0x01]);
        let err = exchange(&mut card, &read_binary(0, 200).unwrap()).unwrap_err();
        assert!(matches!(err, Error::Reader(ReaderError::Status { sw: 0x6101, .. })), "{err:?}");
        assert_eq!(card.sent().len(), 1 + MAX_GET_RESPONSES);
        // More data in all than the command asked for.
        let mut card = Card::new(vec![vec![0x61, 0x05], vec![1, 2, 3, 4, 5, 0x90, 0x00]]);
        let err = exchange(&mut card, &read_binary(0, 4).unwrap()).unwrap_err();
        assert!(matches!(err, Error::Reader(ReaderError::ResponseTooLong { .. })), "{err:?}");
        // A GET RESPONSE answering more than announced.
        let mut card = Card::new(vec![vec![0x61, 0x01], vec![1, 2, 0x90, 0x00]]);
        assert!(exchange(&mut card, &read_binary(0, 8).unwrap()).is_err());
    }

    #[test]
    fn tries_are_read_from_the_status_word() {
        assert_eq!(Tries::from_status(0x63C9), Some(Tries::Left(9)));
        assert_eq!(Tries::from_status(0x63C1), Some(Tries::Left(1)));
        assert_eq!(Tries::from_status(0x63C0), Some(Tries::Blocked));
        assert_eq!(Tries::from_status(0x6984), Some(Tries::Blocked));
        assert_eq!(Tries::from_status(0x9000), Some(Tries::AlreadyVerified));
        assert_eq!(Tries::from_status(0x6A82), None);
        assert_eq!(Tries::from_status(0x6300), None);
    }

    #[test]
    fn a_file_is_read_as_its_header_says_in_chunks_of_at_most_256() {
        let value: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        let file = crate::card::build::tlv(0xFF20, &value);
        assert_eq!(file.len(), 605);
        let mut padded = file.clone();
        padded.extend(std::iter::repeat_n(0xFF, 100));
        let mut card = Card::file(padded);
        let read = read_tlv_file(&mut card, &[0xFF, 0x20], "FF20", &Limits::default()).unwrap();
        assert_eq!(&read[..], &file[..]);
        let les: Vec<u8> = card.sent().iter().map(|c| c[4]).collect();
        assert_eq!(les, vec![8, 0, 0, 85]);
        // The wrong tag, a bad length form, a file shorter than its header says.
        let mut card = Card::file(crate::card::build::tlv(0x7F21, &[1, 2]));
        assert!(read_tlv_file(&mut card, &[0xFF, 0x20], "FF20", &Limits::default()).is_err());
        let mut card = Card::file(vec![0xFF, 0x20, 0x84, 1, 1, 1, 1, 1]);
        assert!(read_tlv_file(&mut card, &[0xFF, 0x20], "FF20", &Limits::default()).is_err());
        let mut card = Card::file(file[..300].to_vec());
        let err = read_tlv_file(&mut card, &[0xFF, 0x20], "FF20", &Limits::default()).unwrap_err();
        assert!(matches!(err, Error::Reader(ReaderError::Malformed { .. })), "{err:?}");
    }

    #[test]
    fn a_file_longer_than_the_limits_is_refused_before_it_is_read() {
        let file = crate::card::build::tlv(0xFF20, &vec![0; 5000]);
        let mut card = Card::file(file);
        let limits = Limits { max_bytes: 4096, ..Limits::default() };
        let err = read_tlv_file(&mut card, &[0xFF, 0x20], "FF20", &limits).unwrap_err();
        assert!(matches!(err, Error::LimitExceeded { limit: "bytes", max: 4096, .. }), "{err:?}");
        assert_eq!(card.sent().len(), 1);
        // Past 15-bit offsets.
        let mut card = Card::new(vec![vec![0xFF, 0x20, 0x83, 0x01, 0x00, 0x00, 0, 0, 0x90, 0x00]]);
        let err = read_tlv_file(&mut card, &[0xFF, 0x20], "FF20", &Limits::no_limits()).unwrap_err();
        assert!(matches!(err, Error::Reader(ReaderError::Malformed { .. })), "{err:?}");
    }

    #[test]
    fn a_card_that_returns_nothing_or_the_end_of_file_early_ends_in_an_error() {
        let mut card = Card::new(vec![vec![0xFF, 0x20, 0x10, 0, 0x90, 0x00], vec![0x90, 0x00]]);
        assert!(read_tlv_file(&mut card, &[0xFF, 0x20], "FF20", &Limits::default()).is_err());
        let mut card = Card::new(vec![vec![0xFF, 0x20, 0x10, 0, 0x90, 0x00], vec![1, 2, 0x62, 0x82]]);
        assert!(read_tlv_file(&mut card, &[0xFF, 0x20], "FF20", &Limits::default()).is_err());
        let mut card = Card::new(vec![vec![0xFF, 0x20, 0x10, 0, 0x90, 0x00], vec![0x6B, 0x00]]);
        assert!(read_tlv_file(&mut card, &[0xFF, 0x20], "FF20", &Limits::default()).is_err());
        // A short last chunk ending 62 82 is the end of a complete file.
        let mut card = Card::new(vec![vec![0xFF, 0x20, 0x03, 1, 0x90, 0x00], vec![2, 3, 0x62, 0x82]]);
        let read = read_tlv_file(&mut card, &[0xFF, 0x20], "FF20", &Limits::default()).unwrap();
        assert_eq!(&read[..], &[0xFF, 0x20, 3, 1, 2, 3]);
    }

    #[test]
    fn tlv_lengths_are_read_in_their_three_forms() {
        assert_eq!(tlv_total_length(&[0xFF, 0x20, 0x05], &[0xFF, 0x20]), Some(8));
        assert_eq!(tlv_total_length(&[0xFF, 0x20, 0x81, 0x80], &[0xFF, 0x20]), Some(4 + 128));
        assert_eq!(tlv_total_length(&[0x30, 0x82, 0x04, 0x00], &[0x30]), Some(4 + 1024));
        assert_eq!(tlv_total_length(&[0x30, 0x82, 0x04], &[0x30]), None);
        assert_eq!(tlv_total_length(&[0x30, 0x80], &[0x30]), None);
        assert_eq!(tlv_total_length(&[0x31, 0x01], &[0x30]), None);
    }
}
