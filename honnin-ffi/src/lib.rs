//! The C API of honnin: on-device face verification for counter terminals.
//!
//! The header `include/honnin.h` is generated from this crate by a pinned
//! cbindgen (`tests/header.rs` fails when it is out of date). Conventions,
//! the same for every function:
//!
//! - Every function returns a [`honnin_status`]; `HONNIN_STATUS_OK` (0) is
//!   success. Codes are fixed numbers that never change meaning.
//! - Outputs go through pointer arguments and are written only on success.
//! - Every pointer is checked: NULL gives `HONNIN_STATUS_NULL_ARGUMENT`,
//!   except where a NULL is documented as a choice (a string option of
//!   `honnin_engine_config`, or the half of a model or calibration source
//!   not given).
//! - Objects come in `_new`/`_free` pairs (an engine: `honnin_engine_create`/`honnin_engine_free`). Handles are numbers, not
//!   addresses: a freed or unknown handle gives `HONNIN_STATUS_INVALID_HANDLE`,
//!   even after a new object was created.
//! - A panic inside honnin is caught at the boundary and returned as
//!   `HONNIN_STATUS_PANIC`.
//! - After a failure, `honnin_last_error_detail` gives a text for the
//!   calling thread. Texts never carry image content. The library never
//!   prints: it wraps the process's panic hook so that a panic inside a call
//!   prints nothing (panics elsewhere reach the previous hook).
//! - Buffers the caller passes in are borrowed for the call only, must not
//!   change during it, and are never kept.
//! - The structs are part of the ABI and do not change within a release
//!   series (0.3.x; from 1.0, a major version): a new field would come with
//!   a new struct and new functions, under new names, so that a program
//!   built against an older header fails to load instead of passing a
//!   struct of the old size. 0.3 replaced the four engine constructors and
//!   `honnin_engine_options` with `honnin_engine_create`, which reads
//!   everything from a `honnin_engine_config` (the models, the calibrations,
//!   the PAD mode and the runtime): the 0.2 symbols no longer exist.
//! - Each function states whether it may be called from several threads at
//!   once.
//!
//! Biometric data does not leave the library except the card photo scaled
//! for the staff's screen (`honnin_session_card_for_display`), which
//! `honnin_display_photo_free` wipes. Card photos, live frames, templates and
//! face crops are wiped inside honnin as soon as a decision is made.
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

// One module per C object, in the header's order (cbindgen follows the
// declarations).
//
// Status codes, the thread's last error detail, the boundary guard.
mod status;
// The library as a whole: version, code texts, handle count, hardening.
mod library;
// honnin_engine: options, constructor, verification, PAD, free.
mod engine;
// honnin_outcome: what a verification or a session decided.
mod outcome;
// honnin_session: the counter session, its steps and options.
mod session;
// honnin_display_photo: the card photo on the staff's screen.
mod display_photo;
// honnin_audit_log: the log and a session's record in it.
mod audit_log;
// honnin_authenticity: whether a card photo is the one its issuer wrote.
mod authenticity;
// honnin_reader: a PC/SC card reader, sessions from it, the PIN (feature `reader`).
#[cfg(feature = "reader")]
mod reader;

// What the objects share: argument checks, and the handle table.
mod args;
mod handles;

pub use audit_log::*;
pub use authenticity::*;
pub use display_photo::*;
pub use engine::*;
pub use library::*;
pub use outcome::*;
#[cfg(feature = "reader")]
pub use reader::*;
pub use session::*;
pub use status::honnin_status;
