//! The application on top of one connection of our stack: `echo`, `sink`
//! or `source`, as `tcpfsm tun` offers them, plus the byte pattern the
//! bulk tests send and check.

use std::io::Write;

use thiserror::Error;

use tcp_core::engine::Engine;
use tcp_core::{ConnHandle, ConnectionError, Endpoint, EndpointError, Instant, TcpState};

/// What the application does with the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Send back everything received; close after the peer's FIN.
    Echo,
    /// Read until the peer's FIN, then close.
    Sink,
    /// Send the payload, close the sending side, read until the peer's FIN.
    Source,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Echo => "echo",
            Mode::Sink => "sink",
            Mode::Source => "source",
        }
    }
}

/// The 8 pattern bytes of word `w` (bytes `8w .. 8w+8`): a multiplicative
/// hash, so that a dropped, duplicated or misplaced block of any length
/// shows.
#[inline]
fn pattern_word(w: u64) -> [u8; 8] {
    let x = w.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x ^ (x >> 29)).to_le_bytes()
}

/// Byte `offset` of the test pattern.
#[inline]
pub fn pattern_byte(offset: u64) -> u8 {
    pattern_word(offset >> 3)[(offset & 7) as usize]
}

/// Fills `buf` with the pattern from `offset` on, a word at a time.
pub fn fill_pattern(offset: u64, buf: &mut [u8]) {
    let head = ((8 - (offset & 7)) & 7).min(buf.len() as u64) as usize;
    let (first, rest) = buf.split_at_mut(head);
    for (i, b) in first.iter_mut().enumerate() {
        *b = pattern_byte(offset + i as u64);
    }
    let base = offset + head as u64;
    let tail_off = base + (rest.len() / 8 * 8) as u64;
    let mut chunks = rest.chunks_exact_mut(8);
    for (k, c) in (&mut chunks).enumerate() {
        c.copy_from_slice(&pattern_word((base >> 3) + k as u64));
    }
    let tail = chunks.into_remainder();
    for (i, b) in tail.iter_mut().enumerate() {
        *b = pattern_byte(tail_off + i as u64);
    }
}

/// The offset of the first byte of `data` (found at stream `offset`) that
/// differs from the pattern; compares a word at a time.
pub fn first_pattern_mismatch(offset: u64, data: &[u8]) -> Option<u64> {
    let head = ((8 - (offset & 7)) & 7).min(data.len() as u64) as usize;
    let byte_check = |off: u64, bytes: &[u8]| {
        bytes
            .iter()
            .enumerate()
            .find(|&(i, &b)| b != pattern_byte(off + i as u64))
            .map(|(i, _)| off + i as u64)
    };
    if let Some(m) = byte_check(offset, &data[..head]) {
        return Some(m);
    }
    let base = offset + head as u64;
    let rest = &data[head..];
    let chunks = rest.chunks_exact(8);
    let tail = chunks.remainder();
    for (k, c) in chunks.enumerate() {
        if c != pattern_word((base >> 3) + k as u64) {
            return byte_check(base + 8 * k as u64, c);
        }
    }
    byte_check(base + (rest.len() - tail.len()) as u64, tail)
}

/// What a [`Session`] sends in `source` mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// `n` bytes of the test pattern.
    Pattern(u64),
    /// These bytes.
    Bytes(Vec<u8>),
}

impl Payload {
    pub fn len(&self) -> u64 {
        match self {
            Payload::Pattern(n) => *n,
            Payload::Bytes(b) => b.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a session failed.
#[derive(Debug, Error)]
pub enum SessionError {
    #[error("connection failed: {0}")]
    Connection(#[from] ConnectionError),
    #[error("endpoint: {0}")]
    Endpoint(EndpointError),
    #[error("received byte {offset} differs from the pattern")]
    PatternMismatch { offset: u64 },
    #[error("received {got} bytes, expected {expected}")]
    WrongLength { expected: u64, got: u64 },
    #[error("cannot write received data: {0}")]
    Output(#[source] std::io::Error),
}

impl From<EndpointError> for SessionError {
    fn from(e: EndpointError) -> SessionError {
        match e {
            EndpointError::Connection(c) => SessionError::Connection(c),
            other => SessionError::Endpoint(other),
        }
    }
}

/// One connection's application.
pub struct Session {
    pub handle: ConnHandle,
    mode: Mode,
    payload: Payload,
    /// Sink: the exact number of bytes expected, if any.
    expect: Option<u64>,
    /// Check received bytes against the pattern.
    verify: bool,
    out: Option<Box<dyn Write + Send>>,
    sent: u64,
    received: u64,
    echo: Vec<u8>,
    echo_off: usize,
    shut: bool,
    released: bool,
    eof: bool,
    error: Option<SessionError>,
    started: Option<Instant>,
    finished_at: Option<Instant>,
    buf: Vec<u8>,
}

impl Session {
    /// A session in `mode` on connection `handle`. `payload` is what
    /// `source` sends; `expect` is how many bytes `sink` must receive.
    pub fn new(handle: ConnHandle, mode: Mode, payload: Payload, expect: Option<u64>) -> Session {
        Session {
            handle,
            mode,
            payload,
            expect,
            verify: false,
            out: None,
            sent: 0,
            received: 0,
            echo: Vec::new(),
            echo_off: 0,
            shut: false,
            released: false,
            eof: false,
            error: None,
            started: None,
            finished_at: None,
            buf: vec![0; 64 * 1024],
        }
    }

    /// Checks every received byte against the test pattern.
    pub fn verify_pattern(mut self, on: bool) -> Session {
        self.verify = on;
        self
    }

    /// Copies every received byte to `out` (e.g. standard output).
    pub fn output(mut self, out: Box<dyn Write + Send>) -> Session {
        self.out = Some(out);
        self
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn sent(&self) -> u64 {
        self.sent
    }

    pub fn received(&self) -> u64 {
        self.received
    }

    /// The peer's FIN was read.
    pub fn eof(&self) -> bool {
        self.eof
    }

    pub fn error(&self) -> Option<&SessionError> {
        self.error.as_ref()
    }

    pub fn take_error(&mut self) -> Option<SessionError> {
        self.error.take()
    }

    /// When data first moved, and when the session was done.
    pub fn span(&self) -> Option<(Instant, Instant)> {
        Some((self.started?, self.finished_at?))
    }

    /// Reads, writes and closes as the mode says; call after every step.
    pub fn pump<E: Engine + Clone>(&mut self, now: Instant, ep: &mut Endpoint<E>) {
        if self.error.is_some() || self.finished_at.is_some() {
            return;
        }
        if let Err(e) = self.pump_inner(now, ep) {
            self.error = Some(e);
            self.finished_at = Some(now);
            return;
        }
        if self.is_done(ep) {
            self.finished_at = Some(now);
        }
    }

    fn is_done<E: Engine + Clone>(&self, ep: &Endpoint<E>) -> bool {
        let state = ep
            .connection(self.handle)
            .map_or(TcpState::Closed, |c| c.state());
        // Our FIN is acknowledged (or the connection is gone) and the
        // peer's FIN was read.
        self.released && self.eof && matches!(state, TcpState::TimeWait | TcpState::Closed)
    }

    fn pump_inner<E: Engine + Clone>(
        &mut self,
        now: Instant,
        ep: &mut Endpoint<E>,
    ) -> Result<(), SessionError> {
        let h = self.handle;
        let Some(conn) = ep.connection(h) else {
            // The endpoint frees a connection only after we let go of it.
            return if self.released {
                Ok(())
            } else {
                Err(SessionError::Connection(
                    ConnectionError::ConnectionDoesNotExist,
                ))
            };
        };
        // Reset, refused or timed out (RFC 9293 §3.10.7, §3.10.8).
        if let Some(e) = conn.tcb().error {
            return Err(e.into());
        }
        if matches!(conn.state(), TcpState::SynSent | TcpState::SynReceived) {
            return Ok(());
        }
        self.read(now, ep)?;
        match self.mode {
            Mode::Source => self.write_payload(now, ep)?,
            Mode::Echo => self.write_echo(now, ep)?,
            Mode::Sink => {}
        }
        let all_sent = match self.mode {
            Mode::Source => self.sent == self.payload.len(),
            Mode::Echo => self.eof && self.echo_off == self.echo.len(),
            Mode::Sink => self.eof,
        };
        if all_sent && !self.shut {
            self.shut = true;
            ep.shutdown(now, h)?;
        }
        if self.shut && self.eof && !self.released {
            if self.mode == Mode::Sink {
                if let Some(expected) = self.expect {
                    if expected != self.received {
                        return Err(SessionError::WrongLength {
                            expected,
                            got: self.received,
                        });
                    }
                }
            }
            self.released = true;
            ep.close(now, h)?;
        }
        Ok(())
    }

    fn read<E: Engine + Clone>(
        &mut self,
        now: Instant,
        ep: &mut Endpoint<E>,
    ) -> Result<(), SessionError> {
        while !self.eof {
            match ep.recv(now, self.handle, &mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.started.get_or_insert(now);
                    let data = &self.buf[..n];
                    if self.verify {
                        if let Some(offset) = first_pattern_mismatch(self.received, data) {
                            return Err(SessionError::PatternMismatch { offset });
                        }
                    }
                    if let Some(out) = self.out.as_mut() {
                        out.write_all(data).map_err(SessionError::Output)?;
                    }
                    if self.mode == Mode::Echo {
                        self.echo.extend_from_slice(data);
                    }
                    self.received += n as u64;
                }
                Err(EndpointError::Connection(ConnectionError::WouldBlock)) => break,
                Err(e) => return Err(e.into()),
            }
        }
        if self.eof {
            if let Some(out) = self.out.as_mut() {
                out.flush().map_err(SessionError::Output)?;
            }
        }
        Ok(())
    }

    fn write_payload<E: Engine + Clone>(
        &mut self,
        now: Instant,
        ep: &mut Endpoint<E>,
    ) -> Result<(), SessionError> {
        let total = self.payload.len();
        while self.sent < total {
            let n = match &self.payload {
                Payload::Pattern(_) => {
                    let chunk = ((total - self.sent) as usize).min(self.buf.len());
                    fill_pattern(self.sent, &mut self.buf[..chunk]);
                    ep.send(now, self.handle, &self.buf[..chunk])
                }
                Payload::Bytes(b) => ep.send(now, self.handle, &b[self.sent as usize..]),
            };
            match n {
                Ok(n) => {
                    self.started.get_or_insert(now);
                    self.sent += n as u64;
                }
                Err(EndpointError::Connection(ConnectionError::WouldBlock)) => break,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn write_echo<E: Engine + Clone>(
        &mut self,
        now: Instant,
        ep: &mut Endpoint<E>,
    ) -> Result<(), SessionError> {
        while self.echo_off < self.echo.len() {
            match ep.send(now, self.handle, &self.echo[self.echo_off..]) {
                Ok(n) => {
                    self.echo_off += n;
                    self.sent += n as u64;
                }
                Err(EndpointError::Connection(ConnectionError::WouldBlock)) => break,
                Err(e) => return Err(e.into()),
            }
        }
        if self.echo_off == self.echo.len() {
            self.echo.clear();
            self.echo_off = 0;
        }
        Ok(())
    }

    /// The session is over: done or failed.
    pub fn finished(&self) -> bool {
        self.finished_at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_and_check_agree_with_pattern_byte_at_any_alignment() {
        for offset in 0..20u64 {
            for len in [0usize, 1, 5, 8, 13, 64, 67] {
                let mut buf = vec![0u8; len];
                fill_pattern(offset, &mut buf);
                for (i, &b) in buf.iter().enumerate() {
                    assert_eq!(
                        b,
                        pattern_byte(offset + i as u64),
                        "offset {offset} len {len} byte {i}"
                    );
                }
                assert_eq!(first_pattern_mismatch(offset, &buf), None);
                if len > 0 {
                    buf[len - 1] ^= 0x40;
                    assert_eq!(
                        first_pattern_mismatch(offset, &buf),
                        Some(offset + len as u64 - 1)
                    );
                }
            }
        }
    }

    #[test]
    fn pattern_detects_a_shifted_block() {
        let mut a = vec![0u8; 4096];
        fill_pattern(1000, &mut a);
        assert_eq!(first_pattern_mismatch(1000, &a), None);
        // The same bytes claimed one position later do not match.
        assert!(first_pattern_mismatch(1001, &a).is_some());
        a[77] ^= 1;
        assert_eq!(first_pattern_mismatch(1000, &a), Some(1077));
    }

    #[test]
    fn payload_lengths() {
        assert_eq!(Payload::Pattern(5).len(), 5);
        assert!(Payload::Bytes(Vec::new()).is_empty());
    }
}
