//! Audit records from the command line: where they go (`--audit`), who and
//! where they name (`--terminal-id`, `--operator-id`), and `honnin audit
//! verify`, which checks a log's hash chain.
//!
//! Exit codes of `honnin audit verify`:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | intact: every record links to the one before, and the head file names the last |
//! | 1 | not intact: a record was removed, changed, moved or added, or a line is not a record |
//! | 2 | the last line is torn (a write cut short, as by a power cut); every record before it is intact |
//! | 3 | the log or its head file could not be read |
//! | 64 | usage error |

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use honnin::audit::{AuditLog, AuditRecord, ChainError};

const EXIT_NOT_INTACT: u8 = 1;
const EXIT_TORN: u8 = 2;

/// Who and where, for every audit record this run writes.
#[derive(Args, Clone, Default)]
pub(crate) struct AuditIds {
    /// The terminal's identifier, written to every audit record (1 to 64
    /// letters, digits, punctuation marks or inner spaces).
    #[arg(long, env = "HONNIN_TERMINAL_ID", value_parser = audit_id)]
    pub(crate) terminal_id: Option<String>,
    /// The operator's identifier (a staff number rather than a name), written
    /// to every audit record.
    #[arg(long, env = "HONNIN_OPERATOR_ID", value_parser = audit_id)]
    pub(crate) operator_id: Option<String>,
}

fn audit_id(text: &str) -> std::result::Result<String, String> {
    honnin::audit::check_audit_id(text).map(|()| text.to_string()).map_err(|e| e.to_string())
}

/// Where audit records go: a chained log file (opened, and checked, before
/// the sandbox forbids opening files for writing), or standard output ("-"),
/// where a record stands alone (`seq` 0).
pub(crate) struct AuditSink {
    target: Target,
    ids: AuditIds,
}

enum Target {
    Stdout,
    Log(AuditLog),
}

impl AuditSink {
    pub(crate) fn open(path: &Path, ids: &AuditIds) -> Result<Self> {
        let target = if path == Path::new("-") { Target::Stdout } else { Target::Log(AuditLog::open(path)?) };
        Ok(Self { target, ids: ids.clone() })
    }

    /// Writes the record with this run's identifiers; for a log, returns once
    /// it is on disk.
    pub(crate) fn write(&mut self, record: AuditRecord) -> Result<()> {
        let mut record = record.with_ids(self.ids.terminal_id.as_deref(), self.ids.operator_id.as_deref())?;
        match &mut self.target {
            Target::Stdout => record.write_line(std::io::stdout().lock())?,
            Target::Log(log) => {
                log.append(&mut record)?;
            }
        }
        Ok(())
    }
}

/// Arguments of `honnin audit`.
#[derive(Args)]
pub(crate) struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check an audit log's hash chain: exit 0 intact, 1 a record removed,
    /// changed, moved or added, 2 the last line torn (power cut), 3 unreadable.
    Verify {
        /// The audit log; its head file is FILE.head.
        file: PathBuf,
        /// Do not check the end of the log against FILE.head (for a log copied
        /// without it: a removed or changed last record then goes unseen).
        #[arg(long)]
        no_head: bool,
    },
}

pub(crate) fn audit(args: &AuditArgs) -> Result<ExitCode> {
    match &args.command {
        AuditCommand::Verify { file, no_head } => verify(file, !no_head),
    }
}

fn verify(file: &Path, check_head: bool) -> Result<ExitCode> {
    let name = file.display();
    match honnin::audit::verify_log_file(file, check_head) {
        Ok(report) => {
            let end = if report.head_checked {
                if report.head_behind_by_one {
                    "; the head file names the record before the last (a power cut between the two writes; \
                     the next record brings it up to date)"
                } else {
                    "; the head file names the last record"
                }
            } else {
                "; the head file was not checked, so a removed or changed last record would not show"
            };
            let records = match report.records {
                1 => "1 record".to_string(),
                n => format!("{n} records, each linked to the one before"),
            };
            outln!("{name}: intact: {records}{end}.");
            outln!("last record: {} sha256 {}", report.last.seq, report.last.sha256);
            Ok(ExitCode::SUCCESS)
        }
        Err(ChainError::Io(e)) => Err(e).with_context(|| format!("reading audit log {name}")),
        Err(e) if e.is_torn_tail() => {
            outln!("{name}: DAMAGED: {e}.");
            Ok(ExitCode::from(EXIT_TORN))
        }
        Err(e) => {
            outln!("{name}: NOT INTACT: {e}.");
            Ok(ExitCode::from(EXIT_NOT_INTACT))
        }
    }
}
