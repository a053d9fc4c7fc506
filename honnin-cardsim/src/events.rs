//! What the simulated card saw, one JSON object per line (`--events FILE`, or
//! standard output), so that a test can check what a reader did without
//! trusting the reader's own account.
//!
//! Every line is a [`Record`]: `seq` (from 0), `t_ms` (milliseconds since the
//! simulator started) and the [`Event`]'s fields, tagged by `event`:
//!
//! ```json
//! {"seq":7,"t_ms":412,"event":"verify","app":"kenkaku","key":"0012","attempt":false,"tries_before":10,"tries_after":10,"result":"tries_left"}
//! ```
//!
//! No line carries a secret: VERIFY data (照合番号B, the PIN) and challenge data
//! are never written, only their lengths.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::time::Instant;

/// One line of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The line's number, from 0.
    pub seq: u64,
    /// Milliseconds since the simulator started.
    pub t_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// An application on the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum App {
    /// 券面事項確認AP (card-surface confirmation): the photo.
    Kenkaku,
    /// 券面事項入力補助AP (input support): the My Number as text. honnin never selects it.
    Kenhojo,
    /// 公的個人認証AP (JPKI): the user-authentication PIN, key and certificate.
    Jpki,
}

/// What a VERIFY did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyResult {
    /// A query without data: `63 Cx`, nothing spent.
    TriesLeft,
    /// A query without data while verified: `90 00`.
    AlreadyVerified,
    /// The right value: `90 00`, tries back to the maximum.
    Verified,
    /// A wrong value: one try spent (`63 Cx`).
    Wrong,
    /// No tries left: `69 84`, nothing compared.
    Blocked,
}

/// What happened on the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The simulator is ready to serve (keys made or loaded, files built).
    Started {
        /// `--profile`.
        profile: String,
        /// The simulator's process id.
        pid: u32,
        /// Milliseconds spent making or loading the keys.
        keys_ms: u64,
    },
    /// A vpcd connection is up: the card is in the reader.
    Connected,
    /// vpcd switched the card's power. `off` and `reset` clear every verified state.
    Power {
        /// `on`, `off` or `reset`.
        action: String,
    },
    /// A command APDU and the status word answered. The command's data is not
    /// logged, only its length.
    Apdu {
        /// `select_app`, `select_file`, `select_mf`, `verify`, `read_binary`,
        /// `get_response`, `get_challenge`, `internal_authenticate` or `unknown`.
        cmd: String,
        /// CLA, INS, P1, P2 as hex (`00A4020C`), or as much of it as came.
        header: String,
        /// Lc (0 when absent).
        lc: usize,
        /// Ne: the response length asked for (256 for a short `00`), absent when no Le.
        le: Option<usize>,
        /// The application selected after the command.
        app: Option<App>,
        /// The elementary file selected after the command (`0002`).
        file: Option<String>,
        /// The status word answered (`9000`), or `none` when the card answered nothing
        /// or garbled its answer (see the `garbled` event).
        sw: String,
        /// Response data bytes (without the status word).
        data_len: usize,
    },
    /// A VERIFY of a key EF, or a query of its tries.
    Verify {
        /// The application.
        app: App,
        /// The key EF (`0012` 照合番号B, `0018` the JPKI PIN, `0013`, `0011`).
        key: String,
        /// `false` for a query without data (which spends nothing).
        attempt: bool,
        /// Tries left before the command.
        tries_before: u8,
        /// Tries left after it.
        tries_after: u8,
        /// The outcome.
        result: VerifyResult,
    },
    /// A file a face-verification terminal has no business with was selected or
    /// read: EF `0005` (the rendered My Number), key EFs `0013` (照合番号A, the My
    /// Number) and `0011`, or the Kenhojo AP.
    Sensitive {
        /// The application.
        app: App,
        /// The file (`0005`, `0013`, `0011`), absent when the application itself was selected.
        file: Option<String>,
        /// `select`, `read` or `verify`.
        op: String,
    },
    /// A signature command (`80 2A`): the Kenkaku chip challenge (P2 `00`) or a
    /// JPKI signature (P2 `80`).
    Challenge {
        /// The application.
        app: App,
        /// Which key signed: `card` (the `DF24` key), `jpki` (EF `0017`), `other`
        /// (the `copy` profile), or `none` when the card refused.
        key: String,
        /// Whether a signature was returned.
        signed: bool,
    },
    /// The `garbage` profile replaced an answer.
    Garbled {
        /// `status_word`, `truncated`, `no_status_word` or `extra_bytes`.
        how: String,
    },
    /// The `mute` profile stopped answering.
    Muted,
    /// The card was pulled (`pulled-mid-read` during a READ BINARY, `mute` after `--mute-for`).
    Pulled {
        /// The number of READ BINARY commands of EF `0002` so far, this one included.
        reads: u32,
    },
    /// The vpcd connection ended (pcscd stopped, or vpcd dropped the card).
    Disconnected,
}

/// Writes [`Record`]s, one line each, flushed before the card answers.
pub(crate) struct EventLog {
    out: Box<dyn Write + Send>,
    seq: u64,
    start: Instant,
}

impl EventLog {
    pub(crate) fn new(out: Box<dyn Write + Send>, start: Instant) -> EventLog {
        EventLog { out, seq: 0, start }
    }

    /// Writes one line. A log that cannot be written is reported on standard
    /// error once per line, and the card goes on.
    pub(crate) fn emit(&mut self, event: Event) {
        let record = Record { seq: self.seq, t_ms: self.start.elapsed().as_millis() as u64, event };
        self.seq += 1;
        let mut line = serde_json::to_string(&record).expect("events serialize");
        line.push('\n');
        if let Err(err) = self.out.write_all(line.as_bytes()).and_then(|()| self.out.flush()) {
            eprintln!("honnin-cardsim: cannot write the event log: {err}");
        }
    }
}

/// Reads an event log (complete lines only; a line being written is left out).
pub fn read_log(text: &str) -> Vec<Record> {
    text.split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .filter_map(|line| serde_json::from_str(line.trim_end()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_as_flat_json_lines() {
        let record = Record {
            seq: 3,
            t_ms: 12,
            event: Event::Verify {
                app: App::Kenkaku,
                key: "0012".into(),
                attempt: false,
                tries_before: 10,
                tries_after: 10,
                result: VerifyResult::TriesLeft,
            },
        };
        let line = serde_json::to_string(&record).unwrap();
        assert_eq!(
            line,
            r#"{"seq":3,"t_ms":12,"event":"verify","app":"kenkaku","key":"0012","attempt":false,"tries_before":10,"tries_after":10,"result":"tries_left"}"#
        );
        assert_eq!(read_log(&format!("{line}\n{{\"seq\":4")), vec![record]);
    }
}
