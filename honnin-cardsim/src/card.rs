//! The card: applications, files, key EFs with their try counters, and the
//! answers to each command, per docs/card-protocol.md. Odd commands get an
//! ISO 7816-4 status word (`67 00`, `6A 86`, `6D 00`, `6E 00`, ...), never a panic.

use crate::events::{App, Event, EventLog, VerifyResult};
use crate::facts::{japanese_era_yymmdd, CardFacts};
use crate::keys::Keys;
use crate::profile::{CopyAnswer, Profile, WrongLengths, PIN_MAX_TRIES, SHOGO_B_MAX_TRIES};
use crate::surface::Files;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};

pub(crate) const AID_KENKAKU: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02];
pub(crate) const AID_KENHOJO: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];
pub(crate) const AID_JPKI: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];

/// The largest input `80 2A` signs: PKCS#1 v1.5 padding needs 11 of a 2048-bit key's 256 bytes.
const MAX_SIGN_INPUT: usize = 256 - 11;

/// Status words.
mod sw {
    pub const OK: u16 = 0x9000;
    pub const END_OF_FILE: u16 = 0x6282;
    pub const WRONG_LENGTH: u16 = 0x6700;
    pub const INCOMPATIBLE_FILE: u16 = 0x6981;
    pub const SECURITY_NOT_SATISFIED: u16 = 0x6982;
    pub const BLOCKED: u16 = 0x6984;
    pub const CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
    pub const NO_CURRENT_EF: u16 = 0x6986;
    pub const WRONG_DATA: u16 = 0x6A80;
    pub const NOT_SUPPORTED: u16 = 0x6A81;
    pub const NOT_FOUND: u16 = 0x6A82;
    pub const WRONG_P1P2: u16 = 0x6A86;
    pub const WRONG_OFFSET: u16 = 0x6B00;
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
}

/// How the card misbehaves, from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Behaviour {
    pub profile: Profile,
    pub wrong_lengths: WrongLengths,
    pub copy_answer: CopyAnswer,
    pub pull_at: u32,
    pub garbage_seed: u64,
    pub shogo_b_tries: u8,
    pub pin_tries: u8,
}

/// What the transport does with a command's answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Send these bytes (response data and status word).
    Send(Vec<u8>),
    /// Send these bytes, then never answer again (`mute`).
    SendThenMute(Vec<u8>),
    /// Pull the card now, mid-answer (`pulled-mid-read`).
    Pull { reads: u32 },
}

/// A parsed command APDU (ISO/IEC 7816-4 cases 1 to 4, short and extended).
struct Command<'a> {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: &'a [u8],
    /// Ne (256 for a short `00`, 65536 for an extended `00 00`).
    le: Option<usize>,
}

fn parse(apdu: &[u8]) -> Option<Command<'_>> {
    let &[cla, ins, p1, p2] = apdu.first_chunk::<4>()?;
    let body = &apdu[4..];
    let short_le = |b: u8| if b == 0 { 256 } else { usize::from(b) };
    let long_le = |hi: u8, lo: u8| match u16::from_be_bytes([hi, lo]) {
        0 => 65536,
        n => usize::from(n),
    };
    let (data, le) = match *body {
        [] => (&body[..0], None),
        [le] => (&body[..0], Some(short_le(le))),
        [0, hi, lo] => (&body[..0], Some(long_le(hi, lo))),
        [lc, ..] if lc != 0 => {
            let lc = usize::from(lc);
            match body.len() - 1 {
                n if n == lc => (&body[1..], None),
                n if n == lc + 1 => (&body[1..=lc], Some(short_le(body[lc + 1]))),
                _ => return None,
            }
        }
        [0, hi, lo, ..] => {
            let lc = usize::from(u16::from_be_bytes([hi, lo]));
            match body.len() - 3 {
                _ if lc == 0 => return None,
                n if n == lc => (&body[3..], None),
                n if n == lc + 2 => (&body[3..3 + lc], Some(long_le(body[3 + lc], body[4 + lc]))),
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(Command { cla, ins, p1, p2, data, le })
}

/// A key EF and its try counter. Tries persist while the simulator runs (as a
/// card's do); the verified state ends with power off or reset.
struct KeyEf {
    app: App,
    id: u16,
    secret: Vec<u8>,
    max: u8,
    tries: u8,
    verified: bool,
    /// A key a terminal has no business with (0013, 0011): using it is logged.
    sensitive: bool,
}

/// An elementary file of an application.
enum Ef {
    Binary {
        bytes: Vec<u8>,
        needs: Option<u16>,
        sensitive: bool,
    },
    Key(usize),
    /// EF `0017`, the JPKI private key: selectable, never readable.
    PrivateKey,
}

pub(crate) struct Card {
    files: Vec<(App, u16, Ef)>,
    keys: Vec<KeyEf>,
    card_key: RsaPrivateKey,
    other_key: RsaPrivateKey,
    jpki_key: RsaPrivateKey,
    behaviour: Behaviour,
    app: Option<App>,
    ef: Option<u16>,
    /// What GET RESPONSE hands out.
    pending: Vec<u8>,
    reads_0002: u32,
    rng: ChaCha20Rng,
}

struct Answer {
    data: Vec<u8>,
    sw: u16,
}

fn status(sw: u16) -> Answer {
    Answer { data: Vec::new(), sw }
}

fn hex4(id: u16) -> String {
    format!("{id:04X}")
}

impl Card {
    pub(crate) fn new(facts: &CardFacts, keys: Keys, files: Files, behaviour: Behaviour) -> Card {
        let key = |app, id, secret: String, max, tries, sensitive| KeyEf {
            app,
            id,
            secret: secret.into_bytes(),
            max,
            tries,
            verified: false,
            sensitive,
        };
        let birth = japanese_era_yymmdd(facts.birth).unwrap_or_default();
        let keys_efs = vec![
            key(App::Kenkaku, 0x0012, facts.shogo_b(), SHOGO_B_MAX_TRIES, behaviour.shogo_b_tries, false),
            key(App::Kenkaku, 0x0013, "000000000000".into(), 10, 10, true),
            key(App::Kenkaku, 0x0011, birth, 10, 10, true),
            key(App::Jpki, 0x0018, facts.pin.clone(), PIN_MAX_TRIES, behaviour.pin_tries, false),
        ];
        let binary = |bytes, needs, sensitive| Ef::Binary { bytes, needs, sensitive };
        let files = vec![
            (App::Kenkaku, 0x0002, binary(files.ef0002, Some(0x0012), false)),
            (App::Kenkaku, 0x0004, binary(files.ef0004, None, false)),
            (App::Kenkaku, 0x0005, binary(files.ef0005, Some(0x0013), true)),
            (App::Kenkaku, 0x0012, Ef::Key(0)),
            (App::Kenkaku, 0x0013, Ef::Key(1)),
            (App::Kenkaku, 0x0011, Ef::Key(2)),
            (App::Jpki, 0x000A, binary(files.ef000a, None, false)),
            (App::Jpki, 0x0017, Ef::PrivateKey),
            (App::Jpki, 0x0018, Ef::Key(3)),
        ];
        let rng = ChaCha20Rng::seed_from_u64(behaviour.garbage_seed);
        Card {
            files,
            keys: keys_efs,
            card_key: keys.card,
            other_key: keys.surface,
            jpki_key: keys.jpki,
            behaviour,
            app: None,
            ef: None,
            pending: Vec::new(),
            reads_0002: 0,
            rng,
        }
    }

    /// READ BINARY commands of EF `0002` so far.
    pub(crate) fn reads_0002(&self) -> u32 {
        self.reads_0002
    }

    /// Power off, on or reset: no application selected, nothing verified.
    pub(crate) fn power(&mut self, action: &str, log: &mut EventLog) {
        self.app = None;
        self.ef = None;
        self.pending.clear();
        for key in &mut self.keys {
            key.verified = false;
        }
        log.emit(Event::Power { action: action.into() });
    }

    /// Answers one command APDU.
    pub(crate) fn process(&mut self, apdu: &[u8], log: &mut EventLog) -> Reply {
        let header: String = apdu.iter().take(4).map(|b| format!("{b:02X}")).collect();
        let Some(command) = parse(apdu) else {
            self.pending.clear();
            return self.answer("unknown", header, 0, None, status(sw::WRONG_LENGTH), log);
        };
        if command.ins != 0xC0 {
            self.pending.clear();
        }
        let (name, answer) = match self.dispatch(&command, log) {
            Ok(pair) => pair,
            Err(reads) => {
                log.emit(Event::Pulled { reads });
                return Reply::Pull { reads };
            }
        };
        let select_ok = command.ins == 0xA4 && answer.sw == sw::OK;
        let reply = self.answer(name, header, command.data.len(), command.le, answer, log);
        match reply {
            Reply::Send(bytes) if select_ok && self.behaviour.profile == Profile::Mute => {
                log.emit(Event::Muted);
                Reply::SendThenMute(bytes)
            }
            other => other,
        }
    }

    /// Logs the command and builds its answer (garbled under `garbage`).
    fn answer(
        &mut self,
        cmd: &str,
        header: String,
        lc: usize,
        le: Option<usize>,
        answer: Answer,
        log: &mut EventLog,
    ) -> Reply {
        let mut bytes = answer.data.clone();
        bytes.extend_from_slice(&answer.sw.to_be_bytes());
        let mut sw_text = hex4(answer.sw);
        if self.behaviour.profile == Profile::Garbage && self.rng.next_u32().is_multiple_of(2) {
            let (how, garbled) = self.garble(&answer);
            log.emit(Event::Garbled { how: how.into() });
            bytes = garbled;
            sw_text = "none".into();
        }
        log.emit(Event::Apdu {
            cmd: cmd.into(),
            header,
            lc,
            le,
            app: self.app,
            file: self.ef.map(hex4),
            sw: sw_text,
            data_len: answer.data.len(),
        });
        Reply::Send(bytes)
    }

    /// A broken answer (never empty: vpcd drops a card that sends nothing).
    fn garble(&mut self, answer: &Answer) -> (&'static str, Vec<u8>) {
        const ODD: [u16; 12] =
            [0x6F00, 0x6A88, 0x6985, 0x6282, 0x6100, 0x6C05, 0x63C3, 0x6581, 0x6E00, 0x6D00, 0x6700, 0x9000];
        match self.rng.next_u32() % 4 {
            0 => {
                let pick = self.rng.next_u32() as usize % (ODD.len() + 1);
                let sw = ODD.get(pick).copied().unwrap_or(self.rng.next_u32() as u16);
                ("status_word", sw.to_be_bytes().to_vec())
            }
            1 => ("truncated", vec![answer.data.first().copied().unwrap_or((answer.sw >> 8) as u8)]),
            2 if !answer.data.is_empty() => ("no_status_word", answer.data.clone()),
            _ => {
                let mut extra = vec![0u8; 1 + self.rng.next_u32() as usize % 16];
                self.rng.fill_bytes(&mut extra);
                let mut bytes = answer.data.clone();
                bytes.extend_from_slice(&extra);
                bytes.extend_from_slice(&answer.sw.to_be_bytes());
                ("extra_bytes", bytes)
            }
        }
    }

    /// The command's name and answer; `Err(reads)` to pull the card.
    fn dispatch(&mut self, c: &Command<'_>, log: &mut EventLog) -> Result<(&'static str, Answer), u32> {
        let proprietary = c.cla == 0x80;
        if c.cla != 0x00 && !(proprietary && c.ins == 0x2A) {
            return Ok(("unknown", status(sw::CLA_NOT_SUPPORTED)));
        }
        Ok(match c.ins {
            0xA4 => self.select(c, log),
            0x20 => ("verify", self.verify(c, log)),
            0xB0 => ("read_binary", self.read_binary(c, log)?),
            0xC0 => ("get_response", self.get_response(c)),
            0x84 => ("get_challenge", self.get_challenge(c)),
            0x2A if proprietary => ("internal_authenticate", self.sign(c, log)),
            _ => ("unknown", status(sw::INS_NOT_SUPPORTED)),
        })
    }

    fn select(&mut self, c: &Command<'_>, log: &mut EventLog) -> (&'static str, Answer) {
        if c.p2 != 0x0C && c.p2 != 0x00 {
            return ("select_file", status(sw::WRONG_P1P2));
        }
        match c.p1 {
            0x04 => {
                let app = match c.data {
                    d if d == AID_KENKAKU => App::Kenkaku,
                    d if d == AID_KENHOJO => App::Kenhojo,
                    d if d == AID_JPKI => App::Jpki,
                    _ => return ("select_app", status(sw::NOT_FOUND)),
                };
                if app == App::Kenhojo {
                    log.emit(Event::Sensitive { app, file: None, op: "select".into() });
                }
                self.app = Some(app);
                self.ef = None;
                ("select_app", status(sw::OK))
            }
            0x02 => {
                let Ok(id) = <[u8; 2]>::try_from(c.data).map(u16::from_be_bytes) else {
                    return ("select_file", status(sw::WRONG_LENGTH));
                };
                let Some(app) = self.app else { return ("select_file", status(sw::NOT_FOUND)) };
                let Some(ef) = self.file(app, id) else { return ("select_file", status(sw::NOT_FOUND)) };
                let sensitive = match ef {
                    Ef::Binary { sensitive, .. } => *sensitive,
                    Ef::Key(index) => self.keys[*index].sensitive,
                    Ef::PrivateKey => false,
                };
                if sensitive {
                    log.emit(Event::Sensitive { app, file: Some(hex4(id)), op: "select".into() });
                }
                self.ef = Some(id);
                ("select_file", status(sw::OK))
            }
            0x00 if c.data.is_empty() || c.data == [0x3F, 0x00] => {
                self.app = None;
                self.ef = None;
                ("select_mf", status(sw::OK))
            }
            0x00 => ("select_mf", status(sw::NOT_FOUND)),
            _ => ("select_file", status(sw::WRONG_P1P2)),
        }
    }

    fn file(&self, app: App, id: u16) -> Option<&Ef> {
        self.files.iter().find(|(a, i, _)| *a == app && *i == id).map(|(_, _, ef)| ef)
    }

    fn current(&self) -> Option<&Ef> {
        self.file(self.app?, self.ef?)
    }

    fn verify(&mut self, c: &Command<'_>, log: &mut EventLog) -> Answer {
        if c.p1 != 0x00 || c.p2 != 0x80 {
            return status(sw::WRONG_P1P2);
        }
        let Some(&Ef::Key(index)) = self.current() else { return status(sw::NO_CURRENT_EF) };
        let key = &mut self.keys[index];
        let before = key.tries;
        let attempt = !c.data.is_empty();
        let (result, sw) = if !attempt {
            match (key.verified, key.tries) {
                (true, _) => (VerifyResult::AlreadyVerified, sw::OK),
                (false, 0) => (VerifyResult::Blocked, sw::BLOCKED),
                (false, n) => (VerifyResult::TriesLeft, 0x63C0 | u16::from(n.min(15))),
            }
        } else if key.tries == 0 {
            (VerifyResult::Blocked, sw::BLOCKED)
        } else if c.data == key.secret.as_slice() {
            key.tries = key.max;
            key.verified = true;
            (VerifyResult::Verified, sw::OK)
        } else {
            // A wrong value, whatever its length, costs one try.
            key.tries -= 1;
            key.verified = false;
            (VerifyResult::Wrong, 0x63C0 | u16::from(key.tries.min(15)))
        };
        let (app, id, after, sensitive) = (key.app, key.id, key.tries, key.sensitive);
        if sensitive {
            log.emit(Event::Sensitive { app, file: Some(hex4(id)), op: "verify".into() });
        }
        log.emit(Event::Verify { app, key: hex4(id), attempt, tries_before: before, tries_after: after, result });
        status(sw)
    }

    fn verified(&self, key_id: u16) -> bool {
        self.keys.iter().any(|k| k.id == key_id && k.verified)
    }

    fn read_binary(&mut self, c: &Command<'_>, log: &mut EventLog) -> Result<Answer, u32> {
        if c.p1 & 0x80 != 0 {
            return Ok(status(sw::NOT_SUPPORTED)); // short EF identifiers: not offered
        }
        if !c.data.is_empty() {
            return Ok(status(sw::WRONG_LENGTH));
        }
        let offset = (usize::from(c.p1) << 8) | usize::from(c.p2);
        let (app, id) = match (self.app, self.ef) {
            (Some(app), Some(id)) => (app, id),
            _ => return Ok(status(sw::NO_CURRENT_EF)),
        };
        let (needs, sensitive, len) = match self.file(app, id) {
            Some(Ef::Binary { bytes, needs, sensitive }) => (*needs, *sensitive, bytes.len()),
            Some(_) => return Ok(status(sw::INCOMPATIBLE_FILE)),
            None => return Ok(status(sw::NO_CURRENT_EF)),
        };
        if sensitive {
            log.emit(Event::Sensitive { app, file: Some(hex4(id)), op: "read".into() });
        }
        if needs.is_some_and(|key| !self.verified(key)) {
            return Ok(status(sw::SECURITY_NOT_SATISFIED));
        }
        let Some(le) = c.le else { return Ok(status(sw::WRONG_LENGTH)) };
        if app == App::Kenkaku && id == 0x0002 {
            self.reads_0002 += 1;
            if self.behaviour.profile == Profile::PulledMidRead && self.reads_0002 >= self.behaviour.pull_at {
                return Err(self.reads_0002);
            }
        }
        let mut end = (offset + le).min(len);
        if self.behaviour.profile == Profile::WrongLengths {
            match self.behaviour.wrong_lengths {
                WrongLengths::SixCLoop => return Ok(status(0x6C00 | u16::from((le % 256) as u8 ^ 0x01))),
                WrongLengths::MoreThanLe => end = (offset + le + 8).min(len),
                WrongLengths::Ff20PastEnd => {}
            }
        }
        if offset >= len {
            return Ok(status(sw::WRONG_OFFSET));
        }
        let sw = if end - offset < le { sw::END_OF_FILE } else { sw::OK };
        let data = match self.file(app, id) {
            Some(Ef::Binary { bytes, .. }) => bytes[offset..end].to_vec(),
            _ => Vec::new(),
        };
        Ok(Answer { data, sw })
    }

    fn get_response(&mut self, c: &Command<'_>) -> Answer {
        if c.p1 != 0 || c.p2 != 0 {
            return status(sw::WRONG_P1P2);
        }
        if self.pending.is_empty() {
            return status(sw::CONDITIONS_NOT_SATISFIED);
        }
        let Some(le) = c.le else { return status(sw::WRONG_LENGTH) };
        let take = le.min(self.pending.len());
        let data: Vec<u8> = self.pending.drain(..take).collect();
        let sw = match self.pending.len() {
            0 => sw::OK,
            left => 0x6100 | u16::from((left.min(256) % 256) as u8),
        };
        Answer { data, sw }
    }

    fn get_challenge(&mut self, c: &Command<'_>) -> Answer {
        if c.p1 != 0 || c.p2 != 0 {
            return status(sw::WRONG_P1P2);
        }
        match c.le {
            Some(le) if le <= 256 && c.data.is_empty() => {
                let mut data = vec![0u8; le];
                self.rng.fill_bytes(&mut data);
                Answer { data, sw: sw::OK }
            }
            _ => status(sw::WRONG_LENGTH),
        }
    }

    /// `80 2A 00 00`: the Kenkaku chip challenge; `80 2A 00 80`: a JPKI signature
    /// after the PIN. The input (a DigestInfo) is signed as it comes
    /// (RSASSA-PKCS1-v1_5 padding, no hashing by the card).
    fn sign(&mut self, c: &Command<'_>, log: &mut EventLog) -> Answer {
        let app = match (c.p1, c.p2, self.app) {
            (0x00, 0x00, Some(App::Kenkaku)) => App::Kenkaku,
            (0x00, 0x80, Some(App::Jpki)) => App::Jpki,
            _ => return status(sw::WRONG_P1P2),
        };
        if c.data.is_empty() || c.data.len() > MAX_SIGN_INPUT {
            return status(sw::WRONG_LENGTH);
        }
        let refused = |log: &mut EventLog, sw| {
            log.emit(Event::Challenge { app, key: "none".into(), signed: false });
            status(sw)
        };
        let (key, name) = if app == App::Kenkaku {
            match (self.behaviour.profile, self.behaviour.copy_answer) {
                (Profile::Copy, CopyAnswer::Refuse) => return refused(log, sw::NOT_SUPPORTED),
                (Profile::Copy, CopyAnswer::OtherKey) => (&self.other_key, "other"),
                _ => (&self.card_key, "card"),
            }
        } else {
            if !self.verified(0x0018) {
                return refused(log, sw::SECURITY_NOT_SATISFIED);
            }
            if self.ef != Some(0x0017) {
                return refused(log, sw::NO_CURRENT_EF);
            }
            (&self.jpki_key, "jpki")
        };
        // A signature is as long as the modulus: a shorter Le gets `6C xx` (xx = 00 for 256), unsigned.
        let length = rsa::traits::PublicKeyParts::size(key);
        if c.le.is_some_and(|le| le < length) {
            return status(0x6C00 | (length % 256) as u16);
        }
        let Ok(signature) = key.sign(Pkcs1v15Sign::new_unprefixed(), c.data) else {
            return refused(log, sw::WRONG_DATA);
        };
        log.emit(Event::Challenge { app, key: name.into(), signed: true });
        if c.le.is_none() {
            // No Le: the signature waits for GET RESPONSE.
            self.pending = signature;
            return status(0x6100);
        }
        Answer { data: signature, sw: sw::OK }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apdus_of_every_case_parse() {
        let c = parse(&[0x00, 0x20, 0x00, 0x80]).unwrap();
        assert_eq!((c.ins, c.data.len(), c.le), (0x20, 0, None));
        let c = parse(&[0x00, 0xB0, 0x00, 0x10, 0x00]).unwrap();
        assert_eq!((c.p2, c.le), (0x10, Some(256)));
        let c = parse(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x12]).unwrap();
        assert_eq!((c.data, c.le), (&[0x00, 0x12][..], None));
        let c = parse(&[0x80, 0x2A, 0x00, 0x00, 0x01, 0xAA, 0x00]).unwrap();
        assert_eq!((c.data, c.le), (&[0xAA][..], Some(256)));
        let c = parse(&[0x00, 0xB0, 0x00, 0x00, 0x00, 0x10, 0x00]).unwrap();
        assert_eq!(c.le, Some(4096));
        let c = parse(&[0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00]).unwrap();
        assert_eq!(c.le, Some(65536));
        let c = parse(&[0x00, 0x2A, 0x00, 0x00, 0x00, 0x00, 0x02, 0xAA, 0xBB, 0x01, 0x00]).unwrap();
        assert_eq!((c.data, c.le), (&[0xAA, 0xBB][..], Some(256)));
    }

    #[test]
    fn inconsistent_lengths_do_not_parse() {
        for bad in [
            &[][..],
            &[0x00, 0xA4, 0x04],
            &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00],
            &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x12, 0x00, 0x00],
            &[0x00, 0xA4, 0x02, 0x0C, 0x00, 0x00, 0x00, 0x00],
            &[0x00, 0xA4, 0x02, 0x0C, 0x00, 0x00, 0x05, 0x01],
        ] {
            assert!(parse(bad).is_none(), "{bad:02X?}");
        }
    }
}
