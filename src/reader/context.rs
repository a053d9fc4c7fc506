//! PC/SC through pcsc-lite: the context, readers, waiting for a card, and
//! an exclusive connection to it that resets the card when dropped.

use std::ffi::CString;
use std::time::{Duration, Instant};

use zeroize::Zeroize;

use crate::error::{ReaderError, Result};
use crate::reader::apdu::MAX_RESPONSE;
use crate::reader::transport::{parse_features, PinpadSupport, Transport};

/// The longest any wait for a card lasts, whatever the caller asks for.
pub const MAX_WAIT: Duration = Duration::from_secs(600);

/// `CM_IOCTL_GET_FEATURE_REQUEST` is `SCARD_CTL_CODE(3400)` (0x42000D48 with pcsc-lite).
const GET_FEATURE_REQUEST: u32 = 3400;

/// A connection to the PC/SC service (pcscd).
pub struct ReaderContext {
    context: pcsc::Context,
}

impl std::fmt::Debug for ReaderContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReaderContext")
    }
}

/// Maps a PC/SC failure to what it means for the caller.
fn fault(call: &'static str, reader: &str, error: pcsc::Error) -> ReaderError {
    use pcsc::Error as E;
    match error {
        E::NoService | E::ServiceStopped => ReaderError::NoService,
        E::NoReadersAvailable => ReaderError::NoReader { reader: String::new() },
        E::UnknownReader | E::ReaderUnavailable | E::ReaderUnsupported => {
            ReaderError::NoReader { reader: reader.to_owned() }
        }
        E::NoSmartcard | E::UnpoweredCard | E::UnresponsiveCard | E::UnsupportedCard => ReaderError::NoCard,
        E::RemovedCard | E::ResetCard => ReaderError::CardRemoved,
        E::Timeout => ReaderError::Timeout,
        E::SharingViolation => ReaderError::CardInUse,
        E::InsufficientBuffer => ReaderError::ResponseTooLong { len: MAX_RESPONSE + 1, max: MAX_RESPONSE },
        other => ReaderError::Pcsc { call, reason: other.to_string() },
    }
}

fn reader_name(reader: &str) -> Result<CString> {
    CString::new(reader).map_err(|_| ReaderError::NoReader { reader: reader.replace('\0', "\\0") }.into())
}

impl ReaderContext {
    /// Connects to pcscd ([`ReaderError::NoService`] when it is not running).
    pub fn establish() -> Result<Self> {
        let context = pcsc::Context::establish(pcsc::Scope::User).map_err(|e| fault("SCardEstablishContext", "", e))?;
        Ok(Self { context })
    }

    /// The names of the readers connected now (none is an empty list).
    pub fn readers(&self) -> Result<Vec<String>> {
        match self.context.list_readers_owned() {
            Ok(names) => Ok(names.iter().map(|n| n.to_string_lossy().into_owned()).collect()),
            Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
            Err(e) => Err(fault("SCardListReaders", "", e).into()),
        }
    }

    /// Waits until `reader` holds a card: `true` when it does (at once if it
    /// already does), `false` when `timeout` passed first. Never waits longer
    /// than [`MAX_WAIT`].
    pub fn wait_for_card(&self, reader: &str, timeout: Duration) -> Result<bool> {
        self.wait_for(reader, timeout, |state| {
            state.contains(pcsc::State::PRESENT) && !state.contains(pcsc::State::MUTE)
        })
    }

    /// Waits until `reader` holds no card: `true` when it is empty, `false`
    /// when `timeout` passed first. Never waits longer than [`MAX_WAIT`].
    pub fn wait_for_removal(&self, reader: &str, timeout: Duration) -> Result<bool> {
        self.wait_for(reader, timeout, |state| state.contains(pcsc::State::EMPTY))
    }

    fn wait_for(&self, reader: &str, timeout: Duration, done: fn(pcsc::State) -> bool) -> Result<bool> {
        let deadline = Instant::now() + timeout.min(MAX_WAIT);
        let mut states = [pcsc::ReaderState::new(reader_name(reader)?, pcsc::State::UNAWARE)];
        let mut wait = Duration::ZERO;
        loop {
            match self.context.get_status_change(wait, &mut states) {
                Ok(()) => {}
                Err(pcsc::Error::Timeout) if wait > Duration::ZERO => return Ok(false),
                Err(pcsc::Error::Timeout) => {}
                Err(e) => return Err(fault("SCardGetStatusChange", reader, e).into()),
            }
            let [state] = &mut states;
            let event = state.event_state();
            if event.intersects(pcsc::State::UNKNOWN | pcsc::State::IGNORE | pcsc::State::UNAVAILABLE) {
                return Err(ReaderError::NoReader { reader: reader.to_owned() }.into());
            }
            if done(event) {
                return Ok(true);
            }
            state.sync_current_state();
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            wait = deadline - now;
        }
    }

    /// Connects to the card in `reader`, exclusively (no other program can
    /// talk to it meanwhile), T=1 or T=0 as the reader negotiates.
    pub fn connect(&self, reader: &str) -> Result<Connection> {
        let card = self
            .context
            .connect(&reader_name(reader)?, pcsc::ShareMode::Exclusive, pcsc::Protocols::ANY)
            .map_err(|e| fault("SCardConnect", reader, e))?;
        Ok(Connection { card: Some(card), reader: reader.to_owned(), lost: false })
    }
}

/// An exclusive PC/SC connection to one card. Dropping it disconnects with a
/// reset, so no verified state (照合番号B, PIN) outlives it.
pub struct Connection {
    card: Option<pcsc::Card>,
    reader: String,
    /// The card went away during an exchange: it is left, not reset, once the
    /// reader confirms it is gone.
    lost: bool,
}

impl Connection {
    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    fn card(&self) -> Result<&pcsc::Card> {
        self.card.as_ref().ok_or_else(|| ReaderError::CardRemoved.into())
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("reader", &self.reader).finish_non_exhaustive()
    }
}

impl Transport for Connection {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        let mut buffer = [0u8; MAX_RESPONSE];
        let result = self.card()?.transmit(command, &mut buffer).map(<[u8]>::to_vec);
        buffer.zeroize();
        let fault = match result {
            Ok(response) => return Ok(response),
            // The exchange broke off midway: the reader lost the card (pulled
            // out during the command, or it stopped answering and the reader
            // gave up). pcscd reports the removal itself only at its next poll.
            Err(pcsc::Error::NotTransacted | pcsc::Error::CommError) => ReaderError::CardRemoved,
            Err(e) => fault("SCardTransmit", &self.reader, e),
        };
        self.lost |= matches!(fault, ReaderError::CardRemoved);
        Err(fault.into())
    }

    fn features(&mut self) -> Result<PinpadSupport> {
        let mut buffer = [0u8; 256];
        match self.card()?.control(pcsc::ctl_code(GET_FEATURE_REQUEST.into()), &[], &mut buffer) {
            Ok(list) => parse_features(list),
            Err(e @ (pcsc::Error::RemovedCard | pcsc::Error::ResetCard | pcsc::Error::NoService)) => {
                Err(fault("SCardControl", &self.reader, e).into())
            }
            // A reader without Part 10 features refuses the request.
            Err(_) => Ok(PinpadSupport::None),
        }
    }

    fn verify_pin_on_pinpad(&mut self, control_code: u32, pin_verify_structure: &[u8]) -> Result<Vec<u8>> {
        let mut buffer = [0u8; MAX_RESPONSE];
        let result = self.card()?.control(control_code.into(), pin_verify_structure, &mut buffer).map(<[u8]>::to_vec);
        buffer.zeroize();
        result.map_err(|e| fault("SCardControl", &self.reader, e).into())
    }
}

/// Whether the reader reports the card gone, asking for up to a second.
fn gone(card: &pcsc::Card) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match card.status2_owned() {
            Err(pcsc::Error::RemovedCard | pcsc::Error::NoSmartcard) => return true,
            Ok(status) if !status.status().contains(pcsc::Status::PRESENT) => return true,
            _ if Instant::now() >= deadline => return false,
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(card) = self.card.take() {
            // Reset, so no verification outlives the session. A card lost in
            // an exchange is left alone once the reader confirms it is gone
            // (some readers fail on resetting an absent card); if it is still
            // there after a second, it is reset. On failure the card comes
            // back and its own drop resets it.
            let how =
                if self.lost && gone(&card) { pcsc::Disposition::LeaveCard } else { pcsc::Disposition::ResetCard };
            let _ = card.disconnect(how);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcsc_failures_map_to_typed_reader_errors() {
        use pcsc::Error as E;
        let map = |e| fault("SCardTransmit", "Reader 0", e);
        assert_eq!(map(E::RemovedCard), ReaderError::CardRemoved);
        assert_eq!(map(E::ResetCard), ReaderError::CardRemoved);
        assert_eq!(map(E::NoSmartcard), ReaderError::NoCard);
        assert_eq!(map(E::Timeout), ReaderError::Timeout);
        assert_eq!(map(E::NoService), ReaderError::NoService);
        assert_eq!(map(E::ServiceStopped), ReaderError::NoService);
        assert_eq!(map(E::UnknownReader), ReaderError::NoReader { reader: "Reader 0".into() });
        assert_eq!(map(E::NoReadersAvailable), ReaderError::NoReader { reader: String::new() });
        assert_eq!(map(E::SharingViolation), ReaderError::CardInUse);
        assert!(matches!(map(E::CommError), ReaderError::Pcsc { call: "SCardTransmit", .. }));
        use crate::ErrorKind;
        assert_eq!(ReaderError::NoService.kind(), ErrorKind::Deployment);
        assert_eq!(ReaderError::NoReader { reader: String::new() }.kind(), ErrorKind::System);
        assert_eq!(ReaderError::CardRemoved.kind(), ErrorKind::Input);
        assert_eq!(crate::Error::from(ReaderError::Blocked).kind(), ErrorKind::Input);
        // A reader name with a NUL byte is refused before PC/SC sees it.
        assert!(reader_name("a\0b").is_err());
    }
}
