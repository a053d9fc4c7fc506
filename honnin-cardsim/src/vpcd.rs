//! vpcd's protocol on a loopback TCP connection: each message is a 2-byte
//! big-endian length and a payload. A 1-byte payload is a control code (0 power
//! off, 1 power on, 2 reset, 4 get ATR, answered with the ATR); a longer one is
//! a command APDU, answered with the response APDU. Closing the connection
//! removes the card.
//!
//! The simulator only ever binds or dials 127.0.0.1: the port is all it takes.

use crate::card::{Card, Reply};
use crate::events::{Event, EventLog};
use crate::sys;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Which side opens the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Dial vpcd on 127.0.0.1:port (reader.conf `DEVICENAME /dev/null:0xPORT`:
    /// vpcd listens). One card session; the simulator exits when it ends.
    Connect(u16),
    /// Listen on 127.0.0.1:port for vpcd to dial (reader.conf `DEVICENAME
    /// localhost:0xPORT`). Sessions follow one another until the simulator is stopped.
    Listen(u16),
}

/// The ATR: T=0 and T=1 offered, historical bytes "HonninSm", TCK.
pub(crate) fn atr() -> Vec<u8> {
    let mut atr = vec![0x3B, 0x88, 0x80, 0x01];
    atr.extend_from_slice(b"HonninSm");
    let tck = atr[1..].iter().fold(0u8, |x, b| x ^ b);
    atr.push(tck);
    atr
}

/// How a session ended.
enum End {
    /// vpcd (or pcscd) closed the connection.
    Closed,
    /// The card pulled itself.
    Pulled,
}

/// Serves the card until the session (Connect) or the process (Listen) ends.
pub(crate) fn serve(
    endpoint: Endpoint,
    connect_timeout: Duration,
    mute_for: Option<Duration>,
    card: &mut Card,
    log: &mut EventLog,
) -> Result<(), String> {
    match endpoint {
        Endpoint::Connect(port) => {
            let stream = dial(port, connect_timeout)?;
            session(stream, mute_for, card, log);
            Ok(())
        }
        Endpoint::Listen(port) => {
            let address = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
            let listener = TcpListener::bind(address).map_err(|e| format!("cannot listen on {address}: {e}"))?;
            loop {
                let (stream, _) = listener.accept().map_err(|e| format!("accepting on {address}: {e}"))?;
                session(stream, mute_for, card, log);
            }
        }
    }
}

/// Dials 127.0.0.1:port until vpcd accepts or `timeout` passes (pcscd may still be starting).
fn dial(port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let address = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    let start = Instant::now();
    loop {
        match TcpStream::connect(address) {
            Ok(stream) => return Ok(stream),
            Err(err) if start.elapsed() >= timeout => {
                return Err(format!("vpcd did not accept on {address} within {timeout:?}: {err}"))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
}

fn session(stream: TcpStream, mute_for: Option<Duration>, card: &mut Card, log: &mut EventLog) {
    let _ = stream.set_nodelay(true);
    log.emit(Event::Connected);
    match exchange(&stream, mute_for, card, log) {
        Ok(End::Pulled) => sys::abort(stream),
        Ok(End::Closed) | Err(_) => log.emit(Event::Disconnected),
    }
}

fn exchange(
    stream: &TcpStream,
    mute_for: Option<Duration>,
    card: &mut Card,
    log: &mut EventLog,
) -> std::io::Result<End> {
    loop {
        let Some(message) = receive(stream)? else { return Ok(End::Closed) };
        let reply = match message.as_slice() {
            [] => continue,
            [0] => {
                card.power("off", log);
                continue;
            }
            [1] => {
                card.power("on", log);
                continue;
            }
            [2] => {
                card.power("reset", log);
                continue;
            }
            [4] => Reply::Send(atr()),
            [_] => continue,
            apdu => card.process(apdu, log),
        };
        match reply {
            Reply::Send(bytes) => send(stream, &bytes)?,
            Reply::SendThenMute(bytes) => {
                send(stream, &bytes)?;
                return mute(stream, mute_for, card, log);
            }
            Reply::Pull { .. } => return pull(stream),
        }
    }
}

/// Starts an answer (a length promising 258 bytes) and leaves: the caller then
/// resets the connection, so vpcd's receive fails mid-answer and the command
/// fails (`SCARD_E_NOT_TRANSACTED`). A reset before any answer byte would not do:
/// Debian's vpcd reports a failed read of the length as an empty answer.
fn pull(mut stream: &TcpStream) -> std::io::Result<End> {
    stream.write_all(&258u16.to_be_bytes())?;
    stream.flush()?;
    std::thread::sleep(Duration::from_millis(20));
    Ok(End::Pulled)
}

/// Reads one message; `None` at the end of the connection.
fn receive(mut stream: &TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut length = [0u8; 2];
    sys::quickack(stream);
    match stream.read_exact(&mut length) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(err) => return Err(err),
    }
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(length))];
    sys::quickack(stream);
    stream.read_exact(&mut payload)?;
    Ok(Some(payload))
}

fn send(mut stream: &TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    let length = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    let mut message = Vec::with_capacity(2 + bytes.len());
    message.extend_from_slice(&length.to_be_bytes());
    message.extend_from_slice(&bytes[..usize::from(length)]);
    stream.write_all(&message)
}

/// Answers nothing more: until the connection ends, or for `mute_for` and then
/// the card is pulled.
fn mute(mut stream: &TcpStream, mute_for: Option<Duration>, card: &Card, log: &mut EventLog) -> std::io::Result<End> {
    let until = mute_for.map(|d| Instant::now() + d);
    let mut sink = [0u8; 512];
    loop {
        let wait = match until {
            Some(until) => match until.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => {
                    log.emit(Event::Pulled { reads: card.reads_0002() });
                    return pull(stream);
                }
            },
            None => None,
        };
        stream.set_read_timeout(wait)?;
        match stream.read(&mut sink) {
            Ok(0) => return Ok(End::Closed),
            Ok(_) => {}
            Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_atr_checks_out() {
        let atr = super::atr();
        assert_eq!(atr.len(), 13);
        assert_eq!(atr[1..].iter().fold(0u8, |x, b| x ^ b), 0, "TCK makes the XOR of T0..TCK zero");
    }
}
