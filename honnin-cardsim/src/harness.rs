//! A private pcscd with one virtual reader and a simulated card in it, for
//! tests in any crate of the workspace.
//!
//! ```no_run
//! use honnin_cardsim::harness::{Harness, Options};
//! use honnin_cardsim::{CardSpec, Profile};
//!
//! let photo = concat!(env!("CARGO_MANIFEST_DIR"), "/../samples/astronaut_card_grey.jp2");
//! let mut harness = Harness::start(Options::locate()?, &CardSpec::new(photo))?;
//! // PC/SC calls of this process (and of its children) now reach the private pcscd:
//! let ctx = pcsc::Context::establish(pcsc::Scope::User)?;
//! let card = ctx.connect(&harness.reader_cstr(), pcsc::ShareMode::Exclusive, pcsc::Protocols::ANY)?;
//! // ... drive the card, then look at what it saw:
//! let events = harness.events();
//! // another card (removal, then insertion):
//! harness.swap(&CardSpec::new(photo).with_profile(Profile::Copy))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it keeps away from the system's pcscd and from the network
//!
//! pcscd 1.9.9 ignores `PCSCLITE_CSOCK_NAME` (only libpcsclite, the client
//! side, reads it) and always creates `/run/pcscd/pcscd.comm` and
//! `/run/pcscd/pcscd.pid`. So the harness starts pcscd with `unshare` in a mount
//! namespace of its own where a private folder is bind-mounted over `/run`, and
//! sets `PCSCLITE_CSOCK_NAME` in this process to the socket inside that folder
//! (children inherit it). The system's pcscd, if any, is never touched.
//!
//! Debian 12's vpcd (vsmartcard 0.8) aborts pcscd when a card it dialled
//! (`DEVICENAME localhost:0xPORT`) goes away: its reconnect path calls `select`
//! on an invalid descriptor, which glibc's fortify check turns into an abort.
//! Removing cards is what these tests do, so the harness uses vpcd's other mode,
//! where vpcd listens and the card dials (`DEVICENAME /dev/null:0xPORT`). That
//! listening socket binds all interfaces of its network namespace, so pcscd runs
//! in a **network namespace of its own that has nothing but a loopback
//! interface**: nothing outside the namespace can reach the port, and ports never
//! clash between harnesses. The simulator joins that namespace (`nsenter
//! --net`) and dials 127.0.0.1.
//!
//! Needs: `pcscd`, vpcd's driver (Debian `vsmartcard-vpcd`), `unshare`,
//! `nsenter` and `mount` (util-linux), `ip` (iproute2), and either root or
//! unprivileged user namespaces (then `unshare --user --map-root-user`).
//!
//! One harness runs at a time in a process ([`Harness::start`] waits for the
//! previous one to be dropped), and all of them use the same socket path,
//! because libpcsclite reads `PCSCLITE_CSOCK_NAME` once per process. Start the
//! harness before the process makes its first PC/SC call.
//!
//! Dropping the harness kills pcscd and the simulator. Should the test process
//! die without unwinding, its children get SIGKILL too (a parent-death signal,
//! as root; in a user namespace the kernel clears it), so keep a harness in the
//! thread that started it: the signal fires when that thread ends.
//! [`stray_processes`] lists whatever of this process's harnesses still runs.
//!
//! # What vpcd does that a real reader might not
//!
//! - A command of 1 byte is a control code in vpcd's protocol: the card never
//!   answers it and pcscd waits for ever. Send at least 2 bytes.
//! - A card that goes away while pcscd waits for its answer: the command fails
//!   (`NotTransacted`) when the card had started to answer (`pulled-mid-read`,
//!   `mute` with `mute_for`), but *succeeds with an empty response* when it had
//!   not (the simulator killed by [`Harness::remove`]). A reader must treat a
//!   response shorter than 2 bytes as an error. Later calls get `RemovedCard`
//!   once pcscd has polled (every 400 ms).
//! - A card that stops answering (`mute`) blocks `SCardTransmit` for good: pcscd
//!   and vpcd have no timeout. Only the card's removal releases it.
//! - After a swap, pcscd refuses new connections (`SharingViolation`, "other
//!   connections outstanding") until an exclusive handle to the old card is released.
//! - Insertion and removal are seen at pcscd's next poll: a swap takes about 0.8 s.

use crate::events::{read_log, Event, Record};
use crate::sim::CardSpec;
use std::ffi::{CString, OsString};
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The environment variable libpcsclite takes its socket path from.
pub const SOCKET_ENV: &str = "PCSCLITE_CSOCK_NAME";
/// The environment variable [`Options::locate`] takes the simulator's path from.
pub const SIMULATOR_ENV: &str = "HONNIN_CARDSIM";
/// The environment variable that names vpcd's driver when it is not in a usual place.
pub const DRIVER_ENV: &str = "HONNIN_VPCD_DRIVER";
/// vpcd's port inside the private network namespace (and port + 1 for its second, unused slot).
pub const VPCD_PORT: u16 = 0x8C7B;
/// The reader the card is in (vpcd's first slot; pcscd lists its second slot,
/// `honnin-cardsim 00 01`, always empty).
pub const READER: &str = "honnin-cardsim 00 00";

/// How long the simulator may take to make its keys (a debug build is slow at it).
const KEYS_TIMEOUT: Duration = Duration::from_secs(600);

const DRIVERS: [&str; 3] = [
    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/lib64/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so",
];

/// Why the harness could not do what it was asked.
#[derive(Debug)]
pub enum HarnessError {
    /// Something it needs is missing (a program, a driver, a permission), or
    /// `PCSCLITE_CSOCK_NAME` already names another socket.
    Setup(String),
    /// pcscd, the reader or the card did not come (or go) in time. The message
    /// ends with the relevant log.
    Timeout(String),
    /// A process could not be started or ended early, or a PC/SC call failed.
    Failed(String),
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HarnessError::Setup(m) => write!(f, "card harness setup: {m}"),
            HarnessError::Timeout(m) => write!(f, "card harness timeout: {m}"),
            HarnessError::Failed(m) => write!(f, "card harness: {m}"),
        }
    }
}

impl std::error::Error for HarnessError {}

/// Where the simulator is, and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The `honnin-cardsim` binary (build it with `cargo build --release -p honnin-cardsim`).
    pub simulator: PathBuf,
    /// Where the simulator keeps seeded keys between runs (`None`: made at every start).
    pub key_cache: Option<PathBuf>,
    /// How long to wait for pcscd, for the reader to show a card (once the simulator
    /// has its keys), and for it to go.
    pub timeout: Duration,
}

impl Options {
    /// `simulator`, a key cache beside it (`honnin-cardsim-keys/`), and 10 s to wait.
    pub fn new(simulator: impl Into<PathBuf>) -> Options {
        let simulator = simulator.into();
        let key_cache = simulator.parent().map(|dir| dir.join("honnin-cardsim-keys"));
        Options { simulator, key_cache, timeout: Duration::from_secs(10) }
    }

    /// The simulator named by `HONNIN_CARDSIM`, or else `honnin-cardsim` in the
    /// target folder of the running test binary (`<target>/<profile>/deps/<test>`
    /// → `<target>/<profile>/honnin-cardsim`), which a workspace-wide `cargo test`
    /// builds.
    pub fn locate() -> Result<Options, HarnessError> {
        if let Some(path) = std::env::var_os(SIMULATOR_ENV) {
            return Ok(Options::new(path));
        }
        let exe = std::env::current_exe().map_err(|e| HarnessError::Setup(format!("no current executable: {e}")))?;
        let beside = exe.parent().and_then(Path::parent).map(|dir| dir.join("honnin-cardsim"));
        match beside {
            Some(path) if path.is_file() => Ok(Options::new(path)),
            _ => Err(HarnessError::Setup(format!(
                "no honnin-cardsim binary beside {}: run `cargo build --release -p honnin-cardsim` \
                 (or a workspace-wide `cargo test --release`), or set {SIMULATOR_ENV}",
                exe.display()
            ))),
        }
    }
}

/// Whether a harness is running in this process.
static BUSY: Mutex<bool> = Mutex::new(false);
static FREED: Condvar = Condvar::new();
static STARTED: Mutex<u32> = Mutex::new(0);

/// This process's folder: `<tmp>/honnin-cardsim-<pid>`, holding `run/` (bound
/// over `/run` in pcscd's namespace) and one `h<N>/` per harness.
pub fn process_dir() -> PathBuf {
    std::env::temp_dir().join(format!("honnin-cardsim-{}", std::process::id()))
}

/// The socket the harness's pcscd listens on (what `PCSCLITE_CSOCK_NAME` is set to).
pub fn socket_path() -> PathBuf {
    process_dir().join("run/pcscd/pcscd.comm")
}

/// A running private pcscd with vpcd's reader, and the simulated card in it.
/// Dropping it stops both and removes its files.
pub struct Harness {
    options: Options,
    dir: PathBuf,
    pcscd: Child,
    simulator: Option<Child>,
    cards: u32,
    as_root: bool,
    nsenter: PathBuf,
    startup: Duration,
}

impl Harness {
    /// Starts pcscd in its namespaces, then the card `card`, and returns once the
    /// reader shows it. Waits first until no other harness of this process runs.
    pub fn start(options: Options, card: &CardSpec) -> Result<Harness, HarnessError> {
        let start = Instant::now();
        let mut busy = BUSY.lock().unwrap_or_else(|e| e.into_inner());
        while *busy {
            busy = FREED.wait(busy).unwrap_or_else(|e| e.into_inner());
        }
        *busy = true;
        drop(busy);
        match Harness::launch(options, card, start) {
            Ok(harness) => Ok(harness),
            Err(err) => {
                release();
                Err(err)
            }
        }
    }

    fn launch(options: Options, card: &CardSpec, start: Instant) -> Result<Harness, HarnessError> {
        let socket = socket_path();
        match std::env::var_os(SOCKET_ENV) {
            None => std::env::set_var(SOCKET_ENV, &socket),
            Some(set) if Path::new(&set) == socket => {}
            Some(set) => {
                return Err(HarnessError::Setup(format!(
                    "{SOCKET_ENV} is {set:?}; the harness points it at its own pcscd ({}): unset it",
                    socket.display()
                )))
            }
        }
        if !options.simulator.is_file() {
            return Err(HarnessError::Setup(format!(
                "the simulator {} does not exist: cargo build --release -p honnin-cardsim",
                options.simulator.display()
            )));
        }
        let pcscd = tool("pcscd", "Debian package pcscd (python3 tools/setup.py --dev)")?;
        let unshare = tool("unshare", "util-linux")?;
        let nsenter = tool("nsenter", "util-linux")?;
        let ip = tool("ip", "Debian package iproute2 (python3 tools/setup.py --dev)")?;
        let driver = driver()?;

        let number = {
            let mut started = STARTED.lock().unwrap_or_else(|e| e.into_inner());
            *started += 1;
            *started
        };
        remove_stale_dirs();
        let run_dir = process_dir().join("run");
        let dir = process_dir().join(format!("h{number}"));
        let conf = dir.join("reader.conf.d");
        let _ = std::fs::remove_dir_all(&run_dir);
        let _ = std::fs::remove_dir_all(&dir);
        let io = |what: &str, e: std::io::Error| HarnessError::Failed(format!("{what}: {e}"));
        std::fs::create_dir_all(&run_dir).map_err(|e| io("creating the run folder", e))?;
        std::fs::create_dir_all(&conf).map_err(|e| io("creating the reader.conf.d folder", e))?;
        std::fs::write(
            conf.join("honnin-cardsim"),
            format!(
                "FRIENDLYNAME \"honnin-cardsim\"\nDEVICENAME   /dev/null:0x{VPCD_PORT:04X}\nLIBPATH      {}\nCHANNELID    0x{VPCD_PORT:04X}\n",
                driver.display()
            ),
        )
        .map_err(|e| io("writing reader.conf.d", e))?;

        let as_root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        let log = std::fs::File::create(dir.join("pcscd.log")).map_err(|e| io("creating pcscd.log", e))?;
        let log2 = log.try_clone().map_err(|e| io("pcscd.log", e))?;
        let mut command = Command::new(&unshare);
        if !as_root {
            command.args(["--user", "--map-root-user"]);
        }
        // unshare and sh exec, so the child's pid is pcscd's.
        command
            .args(["--net", "--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
            .arg(r#"mount --bind "$1" /run && "$2" link set lo up && exec "$3" --foreground -c "$4""#)
            .arg("honnin-cardsim-pcscd")
            .args([run_dir.as_os_str(), ip.as_os_str(), pcscd.as_os_str(), conf.as_os_str()])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        crate::sys::die_with_parent(&mut command);
        let pcscd = command.spawn().map_err(|e| HarnessError::Failed(format!("starting pcscd: {e}")))?;
        let mut harness =
            Harness { options, dir, pcscd, simulator: None, cards: 0, as_root, nsenter, startup: Duration::ZERO };
        harness.wait_for_reader(&socket)?;
        harness.insert(card)?;
        harness.startup = start.elapsed();
        Ok(harness)
    }

    /// Waits until pcscd lists the reader.
    fn wait_for_reader(&mut self, socket: &Path) -> Result<(), HarnessError> {
        let deadline = Instant::now() + self.options.timeout;
        let mut last = String::from("no socket yet");
        loop {
            if let Ok(Some(status)) = self.pcscd.try_wait() {
                return Err(HarnessError::Failed(format!(
                    "pcscd ended ({status}) before its reader was up (root or user namespaces needed){}",
                    tail(&self.dir.join("pcscd.log"))
                )));
            }
            if socket.exists() {
                match pcsc::Context::establish(pcsc::Scope::User) {
                    Ok(ctx) => match ctx.list_readers_owned() {
                        Ok(readers) if readers.iter().any(|r| r.to_bytes() == READER.as_bytes()) => return Ok(()),
                        Ok(readers) => last = format!("readers {readers:?}"),
                        Err(err) => last = format!("listing readers: {err}"),
                    },
                    Err(err) => last = format!("establishing a context: {err}"),
                }
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::Timeout(format!(
                    "pcscd's reader {READER} did not come up ({last}){}",
                    tail(&self.dir.join("pcscd.log"))
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Inserts a card: starts the simulator with `card` and waits until the
    /// reader shows it. A card already in the reader is removed first.
    pub fn insert(&mut self, card: &CardSpec) -> Result<(), HarnessError> {
        if self.simulator.is_some() {
            self.remove()?;
        }
        self.cards += 1;
        let events = self.events_path();
        let export = self.export_dir();
        let errors = std::fs::File::create(self.dir.join(format!("card-{}.log", self.cards)))
            .map_err(|e| HarnessError::Failed(format!("creating the simulator's log: {e}")))?;
        let mut command = Command::new(&self.nsenter);
        command.arg("--target").arg(self.pcscd.id().to_string()).arg("--net");
        if !self.as_root {
            command.args(["--user", "--preserve-credentials"]);
        }
        command
            .arg("--")
            .arg(&self.options.simulator)
            .args(["--connect", &VPCD_PORT.to_string()])
            .arg("--events")
            .arg(&events)
            .arg("--export")
            .arg(&export)
            .args(card.args());
        if let (Some(cache), Some(_)) = (&self.options.key_cache, card.seed) {
            command.arg("--key-cache").arg(cache);
        }
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(errors);
        crate::sys::die_with_parent(&mut command);
        let child = command.spawn().map_err(|e| HarnessError::Failed(format!("starting the simulator: {e}")))?;
        self.simulator = Some(child);
        self.wait_for_keys()?;
        self.wait_for(true)
    }

    /// Waits for the simulator's `started` event: making keys takes a second in a
    /// release build and far longer in a debug one (once per seed, with a key
    /// cache), which the reader's timeout should not count.
    fn wait_for_keys(&mut self) -> Result<(), HarnessError> {
        let started = |h: &Harness| h.events().iter().any(|r| matches!(r.event, Event::Started { .. }));
        let deadline = Instant::now() + KEYS_TIMEOUT;
        while !started(self) {
            if let Some(Ok(Some(status))) = self.simulator.as_mut().map(Child::try_wait) {
                return Err(HarnessError::Failed(format!(
                    "the simulator ended ({status}) before it started{}",
                    tail(&self.dir.join(format!("card-{}.log", self.cards)))
                )));
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::Timeout(format!("the simulator made no keys in {KEYS_TIMEOUT:?}")));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Removes the card: stops the simulator (closing its connection) and waits
    /// until the reader is empty.
    pub fn remove(&mut self) -> Result<(), HarnessError> {
        if let Some(mut child) = self.simulator.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.wait_for(false)
    }

    /// Swaps cards: removal, then insertion of `card`.
    pub fn swap(&mut self, card: &CardSpec) -> Result<(), HarnessError> {
        self.remove()?;
        self.insert(card)
    }

    /// Waits until the reader shows a card (`present`) or none.
    fn wait_for(&mut self, present: bool) -> Result<(), HarnessError> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User)
            .map_err(|e| HarnessError::Failed(format!("establishing a PC/SC context: {e}")))?;
        let reader = self.reader_cstr();
        let mut states = [pcsc::ReaderState::new(reader, pcsc::State::UNAWARE)];
        let deadline = Instant::now() + self.options.timeout;
        loop {
            match ctx.get_status_change(Duration::from_millis(100), &mut states) {
                Ok(()) | Err(pcsc::Error::Timeout) => {}
                Err(err) => return Err(HarnessError::Failed(format!("waiting for the reader: {err}"))),
            }
            let state = states[0].event_state();
            if present && state.contains(pcsc::State::PRESENT) && !state.contains(pcsc::State::MUTE) {
                return Ok(());
            }
            if !present && state.contains(pcsc::State::EMPTY) {
                return Ok(());
            }
            states[0].sync_current_state();
            if present {
                if let Some(Ok(Some(status))) = self.simulator.as_mut().map(Child::try_wait) {
                    return Err(HarnessError::Failed(format!(
                        "the simulator ended ({status}) before the reader showed its card{}",
                        tail(&self.dir.join(format!("card-{}.log", self.cards)))
                    )));
                }
            }
            if Instant::now() >= deadline {
                let what = if present { "show the card" } else { "become empty" };
                return Err(HarnessError::Timeout(format!(
                    "the reader did not {what} within {:?} (state {state:?}){}{}",
                    self.options.timeout,
                    tail(&self.dir.join(format!("card-{}.log", self.cards))),
                    tail(&self.dir.join("pcscd.log"))
                )));
            }
        }
    }

    /// The reader's name (`honnin-cardsim 00 00`).
    pub fn reader(&self) -> &'static str {
        READER
    }

    /// The reader's name as the `pcsc` crate takes it.
    pub fn reader_cstr(&self) -> CString {
        CString::new(READER).expect("no NUL in the reader's name")
    }

    /// The socket of this harness's pcscd (also in `PCSCLITE_CSOCK_NAME`).
    pub fn socket(&self) -> PathBuf {
        socket_path()
    }

    /// The environment a child process needs to reach this pcscd
    /// (`PCSCLITE_CSOCK_NAME`; the harness has set it in this process already).
    pub fn env(&self) -> [(&'static str, OsString); 1] {
        [(SOCKET_ENV, socket_path().into_os_string())]
    }

    /// How long [`Harness::start`] took, up to the reader showing the first card.
    pub fn startup(&self) -> Duration {
        self.startup
    }

    /// How many cards have been inserted (the current one is this number).
    pub fn cards(&self) -> u32 {
        self.cards
    }

    /// The current card's event log.
    pub fn events_path(&self) -> PathBuf {
        self.dir.join(format!("card-{}.jsonl", self.cards))
    }

    /// The current card's events so far (each is flushed before the card answers
    /// the command that caused it).
    pub fn events(&self) -> Vec<Record> {
        self.events_of(self.cards)
    }

    /// The events of card `number` (from 1) of this harness.
    pub fn events_of(&self, number: u32) -> Vec<Record> {
        let path = self.dir.join(format!("card-{number}.jsonl"));
        read_log(&std::fs::read_to_string(path).unwrap_or_default())
    }

    /// The current card's `--export` folder: `ca.der` (the test CA's X.509
    /// certificate), `photo.jp2` (`DF27` as served), `ef0002.bin`, `ef0004.bin`,
    /// `ef000a.bin` and `card.json`.
    pub fn export_dir(&self) -> PathBuf {
        self.dir.join(format!("card-{}", self.cards))
    }

    /// This harness's folder (pcscd's log, the reader configuration, each card's
    /// events, export and log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the simulator has ended (`pulled-mid-read` ends it), and how.
    pub fn simulator_status(&mut self) -> Option<ExitStatus> {
        self.simulator.as_mut().and_then(|child| child.try_wait().ok().flatten())
    }

    /// The process ids of pcscd and the simulator.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.pcscd.id()];
        pids.extend(self.simulator.as_ref().map(Child::id));
        pids
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(mut child) = self.simulator.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // pcscd's files are in the private run folder, removed below: no need for a clean exit.
        let _ = self.pcscd.kill();
        let _ = self.pcscd.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(process_dir().join("run"));
        let _ = std::fs::remove_dir(process_dir());
        release();
    }
}

fn release() {
    *BUSY.lock().unwrap_or_else(|e| e.into_inner()) = false;
    FREED.notify_all();
}

/// Processes whose command line mentions this process's harness folder: pcscd
/// and simulators that outlived their harness. Empty once every harness is dropped.
pub fn stray_processes() -> Vec<u32> {
    let mark = process_dir().into_os_string().into_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|cmdline| cmdline.windows(mark.len()).any(|w| w == mark.as_slice()))
                .unwrap_or(false)
        })
        .collect()
}

/// Removes the folders of harnesses whose process died without cleaning up
/// (`honnin-cardsim-<pid>` in the temporary folder, ours, the pid gone).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    let me = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("honnin-cardsim-")) else { continue };
        let ours = entry.metadata().ok().map(|m| m.uid()) == me;
        if ours && pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// `name` on PATH or in the system folders PATH often lacks.
fn tool(name: &str, from: &str) -> Result<PathBuf, HarnessError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| HarnessError::Setup(format!("{name} not found (it comes with {from})")))
}

fn driver() -> Result<PathBuf, HarnessError> {
    if let Some(path) = std::env::var_os(DRIVER_ENV) {
        return Ok(PathBuf::from(path));
    }
    DRIVERS.iter().map(PathBuf::from).find(|path| path.exists()).ok_or_else(|| {
        HarnessError::Setup(format!(
            "vpcd's driver libifdvpcd.so not found in {DRIVERS:?} (Debian package vsmartcard-vpcd, \
             python3 tools/setup.py --dev; or set {DRIVER_ENV})"
        ))
    })
}

/// The last lines of a log, to append to an error.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    format!("\n--- {} (last lines) ---\n{}", path.display(), lines[lines.len().saturating_sub(15)..].join("\n"))
}
