//! A My Number card simulator for honnin's tests, and a harness that puts it in
//! a private pcscd's virtual reader.
//!
//! `honnin-cardsim` plays a My Number card over vpcd's protocol (pcscd's virtual
//! reader driver from vsmartcard), as docs/card-protocol.md describes it: the
//! card-surface confirmation AP (照合番号B, the surface data with the face photo,
//! its signature and certificate, the chip challenge) and the JPKI AP (the
//! user-authentication PIN, certificate and signature). It makes its own keys
//! and certificates (nothing from a real card), takes the photo from a file,
//! misbehaves on request ([`Profile`]), and logs what it sees ([`events`]) so
//! that tests can check a reader without trusting it. It talks to 127.0.0.1 only.
//!
//! [`harness::Harness`] starts a private pcscd (in namespaces of its own: see
//! the module's documentation) with the simulator's reader, for tests of any
//! crate in the workspace.
//!
//! This crate is a test tool: it is never part of a terminal's build.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod card;
pub mod cli;
mod der;
pub mod events;
pub mod facts;
pub mod harness;
mod keys;
mod png;
pub mod profile;
mod sim;
mod surface;
mod sys;
mod vpcd;

pub use facts::{CardFacts, Date};
pub use profile::{CopyAnswer, Profile, WrongLengths};
pub use sim::{run, CardSpec, Run, TEST_SEED};
pub use vpcd::Endpoint;

/// Application identifiers, as `SELECT` (`00 A4 04 0C`) takes them.
pub mod aid {
    /// 券面事項確認AP (card-surface confirmation): the photo.
    pub const KENKAKU: [u8; 10] = crate::card::AID_KENKAKU;
    /// 券面事項入力補助AP (input support): never selected by honnin.
    pub const KENHOJO: [u8; 10] = crate::card::AID_KENHOJO;
    /// 公的個人認証AP (JPKI).
    pub const JPKI: [u8; 10] = crate::card::AID_JPKI;
}
