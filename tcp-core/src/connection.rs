//! One TCP connection, sans-IO (DESIGN "Sans-IO contract"): inputs
//! `handle_segment`, `handle_timeout` and the user calls, outputs
//! `poll_transmit`, `poll_timeout`, `poll_event`. Every input takes `now`.

use std::net::SocketAddr;

use crate::config::Config;
use crate::engine::{AppCall, Engine, TableEngine};
use crate::error::{ConnectionError, InputError};
use crate::seq::SeqNum;
use crate::state::TcpState;
use crate::tcb::{ConnEvent, Tcb};
use crate::time::Instant;
use crate::trace::TraceEvent;
use crate::wire::{self, PseudoHeader, Segment};

/// A connection driven by engine `E` (the zero-cost choice; use
/// [`crate::engine::AnyEngine`] to choose at run time).
pub struct Connection<E: Engine = TableEngine> {
    tcb: Tcb,
    engine: E,
    pseudo_in: PseudoHeader,
}

impl<E: Engine> Connection<E> {
    /// A connection in CLOSED between `local` and `remote`, with ISS `iss`.
    pub fn new(
        config: Config,
        local: SocketAddr,
        remote: SocketAddr,
        iss: SeqNum,
        engine: E,
        now: Instant,
    ) -> Self {
        let tcb = Tcb::new(config, local, remote, iss, engine.kind(), now);
        Connection {
            tcb,
            engine,
            pseudo_in: crate::tcb::pseudo_header(remote.ip(), local.ip()),
        }
    }

    /// Makes this (finished) connection a fresh one in CLOSED, as
    /// [`Connection::new`] would, reusing its buffers' memory.
    pub fn recycle(
        &mut self,
        config: Config,
        local: SocketAddr,
        remote: SocketAddr,
        iss: SeqNum,
        engine: E,
        now: Instant,
    ) {
        self.tcb
            .recycle(config, local, remote, iss, engine.kind(), now);
        self.engine = engine;
        self.pseudo_in = crate::tcb::pseudo_header(remote.ip(), local.ip());
    }

    pub fn state(&self) -> TcpState {
        self.tcb.state
    }

    /// The TCB, read-only (for tools, tests and traces).
    pub fn tcb(&self) -> &Tcb {
        &self.tcb
    }

    /// The TCB, mutable: for harnesses that set up corner cases (packetdrill).
    pub fn tcb_mut(&mut self) -> &mut Tcb {
        &mut self.tcb
    }

    pub fn engine(&self) -> &E {
        &self.engine
    }

    pub fn local(&self) -> SocketAddr {
        self.tcb.local
    }

    pub fn remote(&self) -> SocketAddr {
        self.tcb.remote
    }

    fn call(&mut self, now: Instant, call: AppCall<'_>) -> Result<usize, ConnectionError> {
        self.tcb.now = now;
        self.engine.app_call(&mut self.tcb, call)
    }

    /// OPEN, active (RFC 9293 §3.10.1).
    pub fn connect(&mut self, now: Instant) -> Result<(), ConnectionError> {
        self.call(now, AppCall::ActiveOpen).map(drop)
    }

    /// OPEN, passive (RFC 9293 §3.10.1).
    pub fn listen(&mut self, now: Instant) -> Result<(), ConnectionError> {
        self.call(now, AppCall::PassiveOpen).map(drop)
    }

    /// SEND (RFC 9293 §3.10.2): queues as much of `data` as fits.
    pub fn send(&mut self, now: Instant, data: &[u8]) -> Result<usize, ConnectionError> {
        let n = self.call(now, AppCall::Send(data))?;
        if n == 0 && !data.is_empty() {
            return Err(ConnectionError::WouldBlock);
        }
        Ok(n)
    }

    /// RECEIVE (RFC 9293 §3.10.3): `Ok(0)` means end of stream (the peer's FIN).
    pub fn recv(&mut self, now: Instant, buf: &mut [u8]) -> Result<usize, ConnectionError> {
        self.call(now, AppCall::Receive)?;
        let n = self.tcb.read(buf);
        if n > 0 || buf.is_empty() {
            return Ok(n);
        }
        if self.tcb.fin_received {
            return Ok(0);
        }
        if let Some(e) = self.tcb.error {
            return Err(e);
        }
        Err(ConnectionError::WouldBlock)
    }

    /// Bytes ready to read.
    pub fn readable(&self) -> usize {
        self.tcb.rcvbuf.readable()
    }

    /// Room in the send buffer.
    pub fn send_capacity(&self) -> usize {
        self.tcb.sndbuf.free()
    }

    /// CLOSE (RFC 9293 §3.10.4): no more data from us; a FIN follows.
    pub fn shutdown(&mut self, now: Instant) -> Result<(), ConnectionError> {
        self.call(now, AppCall::Close).map(drop)
    }

    /// CLOSE, as `close(2)` does it: the same user call as `shutdown`.
    pub fn close(&mut self, now: Instant) -> Result<(), ConnectionError> {
        self.shutdown(now)
    }

    /// ABORT (RFC 9293 §3.10.5).
    pub fn abort(&mut self, now: Instant) -> Result<(), ConnectionError> {
        self.call(now, AppCall::Abort).map(drop)
    }

    /// SEGMENT ARRIVES: `bytes` is a TCP segment (header and payload) from
    /// `remote` to `local`; the checksum is verified first.
    pub fn handle_segment(&mut self, now: Instant, bytes: &[u8]) -> Result<(), InputError> {
        if !wire::verify_checksum(&self.pseudo_in, bytes) {
            return Err(InputError::BadChecksum);
        }
        let seg = wire::parse_segment(bytes)?;
        self.handle_parsed(now, &seg);
        Ok(())
    }

    /// SEGMENT ARRIVES for an already parsed and verified segment.
    pub fn handle_parsed(&mut self, now: Instant, seg: &Segment<'_>) {
        self.tcb.now = now;
        self.engine.segment_arrives(&mut self.tcb, seg);
    }

    /// Fires every timer due at `now` (RFC 9293 §3.10.8).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tcb.now = now;
        while let Some(timer) = self.tcb.timers.take_expired(now) {
            self.engine.timer_fires(&mut self.tcb, timer);
        }
    }

    /// The next segment to send, written into `buf` (at least 60 bytes plus
    /// an MSS); returns its length.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.tcb.poll_transmit(now, buf)
    }

    /// When `handle_timeout` must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.tcb.poll_timeout()
    }

    pub fn poll_event(&mut self) -> Option<ConnEvent> {
        self.tcb.events.pop_front()
    }

    /// Takes the trace events recorded so far.
    pub fn drain_traces(&mut self) -> std::vec::Drain<'_, TraceEvent> {
        self.tcb.traces.drain(..)
    }

    /// The TCB was deleted and nothing is left to send: the connection can go.
    pub fn is_finished(&self) -> bool {
        self.tcb.deleted && self.tcb.state == TcpState::Closed && !self.tcb.wants_to_send()
            || self.tcb.deleted && self.tcb.state == TcpState::Listen && !self.tcb.wants_to_send()
    }
}
