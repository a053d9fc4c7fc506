//! The card reader from the command line (feature `reader`): which reader,
//! waiting for a card, and 照合番号B's parts typed on standard input.
//!
//! 照合番号B and the PIN are never taken from arguments (they would show in
//! the process list and the shell's history): they are read from standard
//! input, kept in wiped buffers and never echoed back or logged.

use std::io::Read;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use honnin::reader::{Connection, ReaderContext, TryPolicy, VerificationNumberB};
use zeroize::Zeroizing;

/// Which reader, how long to wait for a card, and the try policy.
#[derive(Args, Clone)]
pub(crate) struct ReaderArgs {
    /// The PC/SC reader by name (see `honnin read-card --list`); default: the only reader.
    #[arg(long, value_name = "NAME")]
    pub(crate) reader: Option<String>,
    /// Seconds to wait for a card in the reader.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub(crate) wait: u64,
    /// Tries of 照合番号B that must remain even after a wrong value: honnin
    /// refuses to send it with this many tries left or fewer.
    #[arg(long, value_name = "N", default_value_t = TryPolicy::default().min_tries_left, value_parser = clap::value_parser!(u8).range(1..=9))]
    pub(crate) keep_tries: u8,
    /// A CA certificate (X.509, DER or PEM) the card-surface signer's
    /// certificate must chain to (repeatable); without one, the signature is
    /// checked against the card's own certificate only.
    #[arg(long, value_name = "CERT")]
    pub(crate) ca: Vec<std::path::PathBuf>,
}

impl ReaderArgs {
    pub(crate) fn anchors(&self) -> Result<honnin::authenticity::TrustAnchors> {
        Ok(honnin::authenticity::TrustAnchors::from_files(&self.ca)?)
    }

    pub(crate) fn policy(&self) -> TryPolicy {
        TryPolicy { min_tries_left: self.keep_tries, ..TryPolicy::default() }
    }
}

/// The PC/SC context and the name of the reader to use.
pub(crate) struct Reader {
    pub(crate) context: ReaderContext,
    pub(crate) name: String,
}

impl Reader {
    /// Connects to pcscd and picks the reader: the one named, or the only one.
    pub(crate) fn open(args: &ReaderArgs) -> Result<Self> {
        let context = ReaderContext::establish()?;
        let readers = context.readers()?;
        let name = match &args.reader {
            Some(name) if readers.contains(name) => name.clone(),
            Some(name) => bail!("no card reader named {name:?}; readers: {}", list(&readers)),
            None => match readers.as_slice() {
                [only] => only.clone(),
                [] => bail!("no card reader is connected"),
                many => bail!("{} readers are connected; name one with --reader: {}", many.len(), list(many)),
            },
        };
        Ok(Self { context, name })
    }

    /// Waits for a card (up to `--wait` seconds) and connects to it exclusively.
    pub(crate) fn card(&self, args: &ReaderArgs) -> Result<Connection> {
        if !self.context.wait_for_card(&self.name, Duration::from_secs(args.wait))? {
            bail!("no card was inserted in {:?} within {} s", self.name, args.wait);
        }
        Ok(self.context.connect(&self.name)?)
    }
}

fn list(readers: &[String]) -> String {
    if readers.is_empty() {
        return "none".into();
    }
    readers.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join(", ")
}

/// Standard input without a buffer of its own: a byte read for a secret
/// lands in the caller's wiped buffer and nowhere else (std's buffered stdin
/// would keep a copy in its process-wide buffer).
pub(crate) fn unbuffered_stdin() -> Result<std::fs::File> {
    std::fs::File::open("/dev/stdin").context("opening standard input")
}

/// The longest line a secret's prompt accepts.
const MAX_LINE: usize = 64;

/// One line from `input`, read a byte at a time into a wiped buffer that
/// never grows (so no copy is left behind in freed memory), without its line end.
pub(crate) fn secret_line(input: &mut dyn Read, prompt: &str) -> Result<Zeroizing<String>> {
    eprint!("{prompt}");
    let _quiet = EchoOff::new();
    let mut line = Zeroizing::new(Vec::<u8>::with_capacity(MAX_LINE));
    let mut byte = Zeroizing::new([0u8; 1]);
    loop {
        match input.read(&mut byte[..])? {
            0 if line.is_empty() => bail!("standard input ended before {}", prompt.trim_end_matches([':', ' '])),
            0 => break,
            _ if byte[0] == b'\n' => break,
            _ if line.len() == MAX_LINE => bail!("a line of at most {MAX_LINE} characters"),
            _ => line.push(byte[0]),
        }
    }
    let text = std::str::from_utf8(&line).context("a line of text")?.trim();
    let mut out = Zeroizing::new(String::with_capacity(MAX_LINE));
    out.push_str(text);
    Ok(out)
}

/// 照合番号B from its parts, read line by line: the birth date
/// (YYYY-MM-DD), the card's expiry year and the security code printed on
/// the card's front.
pub(crate) fn number_b(input: &mut dyn Read) -> Result<VerificationNumberB> {
    let birth = secret_line(input, "Birth date on the card (YYYY-MM-DD): ")?;
    let date = parse_date(&birth).context("the birth date, as YYYY-MM-DD")?;
    let expiry = secret_line(input, "Expiry year on the card (YYYY): ")?;
    let expiry: u16 = expiry.parse().context("the expiry year, as 4 digits")?;
    let code = secret_line(input, "Security code on the card's front (4 digits): ")?;
    Ok(VerificationNumberB::from_parts(date, expiry, &code)?)
}

pub(crate) fn parse_date(text: &str) -> Result<(u16, u8, u8)> {
    let mut parts = text.splitn(3, '-');
    let mut next = || parts.next().context("three parts");
    let (y, m, d) = (next()?, next()?, next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        bail!("YYYY-MM-DD");
    }
    Ok((y.parse()?, m.parse()?, d.parse()?))
}

/// The terminal's echo turned off while a secret is typed (standard input a
/// terminal), and back on when this drops, on every path out.
pub(crate) struct EchoOff(Option<libc::termios>);

impl EchoOff {
    pub(crate) fn new() -> Self {
        // SAFETY: isatty, tcgetattr and tcsetattr read or set the terminal
        // attributes of standard input through a termios value we own.
        unsafe {
            if libc::isatty(libc::STDIN_FILENO) != 1 {
                return Self(None);
            }
            let mut attributes: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut attributes) != 0 {
                return Self(None);
            }
            let saved = attributes;
            attributes.c_lflag &= !libc::ECHO;
            attributes.c_lflag |= libc::ECHONL;
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &attributes) != 0 {
                return Self(None);
            }
            Self(Some(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(saved) = self.0.take() {
            // SAFETY: restores the attributes read in `new`.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &saved) };
        }
    }
}
