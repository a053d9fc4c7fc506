//! Reading the face photo from a My Number card in a PC/SC reader (feature
//! `reader`), and the PIN path that stands in for the face check.
//!
//! [`ReaderContext`] finds readers and waits for a card; [`Connection`] is an
//! exclusive connection to it that resets the card when dropped;
//! [`MyNumberCard`] speaks the card's protocol over any [`Transport`] (a
//! `Connection`, or scripted responses in tests and fuzzing). docs/card-protocol.md
//! lists every APDU, docs/card-reader.md walks an integrator through.
//!
//! ```no_run
//! use std::time::Duration;
//! use honnin::authenticity::TrustAnchors;
//! use honnin::reader::{MyNumberCard, ReaderContext, TryPolicy, VerificationNumberB};
//! use honnin::Limits;
//!
//! # fn main() -> honnin::Result<()> {
//! let context = ReaderContext::establish()?;
//! let reader = context.readers()?.into_iter().next().expect("a reader");
//! if context.wait_for_card(&reader, Duration::from_secs(30))? {
//!     let mut card = MyNumberCard::new(context.connect(&reader)?);
//!     let number_b = VerificationNumberB::from_parts((1980, 2, 17), 2030, "1234")?;
//!     let read = card.read_face(&number_b, &TryPolicy::default(), &TrustAnchors::none(), &Limits::default())?;
//!     let photo = read.into_photo(); // its authenticity() says what the chip proved
//! #   let _ = photo;
//! }
//! # Ok(()) }
//! ```
//!
//! Every byte a card returns is untrusted: lengths are bounded (a response
//! of at most 258 bytes, a file within [`Limits`](crate::Limits) and 15-bit
//! offsets), every status word has a typed meaning
//! ([`ReaderError`](crate::error::ReaderError)), and nothing loops without
//! bound. honnin never selects EF `0005` (the rendered My Number) or the key
//! EFs `0013` (照合番号A) and `0011`.

mod apdu;
mod codes;
mod context;
mod jpki;
mod my_number;
#[cfg(test)]
mod scripted;
mod transport;

pub use apdu::Tries;
pub use codes::{CardPin, VerificationNumberB};
pub use context::{Connection, ReaderContext, MAX_WAIT};
pub(crate) use jpki::MIN_PIN_FLOOR;
pub use jpki::{PinCheck, PinEntry};
pub use my_number::{CardRead, MyNumberCard, ReadSummary, TryPolicy};
pub use transport::{PinpadSupport, Transport};
