//! Runs a sans-IO [`Endpoint`] on real time over a [`TunDevice`]: packets
//! read from the device go to `handle_packet`, packets from `poll_transmit`
//! are written to it, and `handle_timeout` runs when `poll_timeout` says.
//!
//! Time is the monotonic clock, as nanoseconds since the driver was made
//! ([`TunDriver::now`]). Everything happens on the calling thread; a step
//! blocks in `poll(2)` for at most the time to the next timer or the
//! caller's limit.
//!
//! For tests the driver can also hold back what our stack sends
//! ([`TunDriver::set_hold_outbound`]), read a packet from the kernel without
//! giving it to our stack ([`TunDriver::capture`]), and inject crafted
//! packets either way. Every packet is recorded in a [`PacketLog`], which a
//! timeout error carries.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant as WallClock};

use thiserror::Error;

use tcp_core::engine::Engine;
use tcp_core::{ConnEvent, ConnHandle, Endpoint, EndpointError, Instant, TcpState, TraceEvent};

use super::device::TunDevice;
use super::dump::{Direction, PacketLog, SegmentSummary};

/// Packets read per step before our stack gets to answer (a bound on ACK
/// compression, and on the latency of our transmissions).
const READ_BATCH: usize = 32;
/// Room for any packet a TUN device with an Ethernet-sized MTU delivers
/// (and for a 64 KiB one if the MTU was raised).
const PACKET_BUFFER: usize = 65_536;

/// Errors of driving the endpoint.
#[derive(Debug, Error)]
pub enum DriverError {
    #[error("TUN device I/O failed: {0}")]
    Io(#[from] io::Error),
    #[error("timed out after {waited:?} waiting for {what}; packets so far:\n{log}")]
    Timeout {
        what: String,
        waited: Duration,
        log: String,
    },
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
}

/// Counters of the driver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// Packets read from the device (given to our stack or captured).
    pub packets_in: u64,
    pub bytes_in: u64,
    /// Packets our stack sent (written or held).
    pub packets_out: u64,
    pub bytes_out: u64,
    /// Packets our stack refused (not TCP, not for us, bad checksum).
    pub rejected_in: u64,
}

/// An endpoint on a TUN device.
pub struct TunDriver<E: Engine + Clone> {
    endpoint: Endpoint<E>,
    dev: TunDevice,
    origin: WallClock,
    buf: Vec<u8>,
    log: PacketLog,
    hold_outbound: bool,
    held: VecDeque<Vec<u8>>,
    events: Vec<(ConnHandle, ConnEvent)>,
    traces: Vec<TraceEvent>,
    stats: DriverStats,
    coalesce: bool,
}

impl<E: Engine + Clone> TunDriver<E> {
    /// Drives `endpoint` over `dev`, keeping the last `log_capacity` packets.
    pub fn new(dev: TunDevice, endpoint: Endpoint<E>, log_capacity: usize) -> TunDriver<E> {
        TunDriver {
            endpoint,
            dev,
            origin: WallClock::now(),
            buf: vec![0; PACKET_BUFFER],
            log: PacketLog::new(log_capacity),
            hold_outbound: false,
            held: VecDeque::new(),
            events: Vec::new(),
            traces: Vec::new(),
            stats: DriverStats::default(),
            coalesce: false,
        }
    }

    /// Now, on the driver's clock.
    pub fn now(&self) -> Instant {
        Instant::from_nanos(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    pub fn endpoint(&self) -> &Endpoint<E> {
        &self.endpoint
    }

    /// The endpoint, for app calls; the driver sends what they produce on
    /// the next [`flush`](Self::flush) or step.
    pub fn endpoint_mut(&mut self) -> &mut Endpoint<E> {
        &mut self.endpoint
    }

    pub fn device(&self) -> &TunDevice {
        &self.dev
    }

    pub fn log(&self) -> &PacketLog {
        &self.log
    }

    pub fn stats(&self) -> DriverStats {
        self.stats
    }

    /// Our state of connection `h` (`Closed` once the endpoint freed it).
    pub fn state(&self, h: ConnHandle) -> TcpState {
        self.endpoint
            .connection(h)
            .map_or(TcpState::Closed, |c| c.state())
    }

    /// Every application event so far, in order.
    pub fn events(&self) -> &[(ConnHandle, ConnEvent)] {
        &self.events
    }

    /// Takes the application events collected so far.
    pub fn take_events(&mut self) -> Vec<(ConnHandle, ConnEvent)> {
        std::mem::take(&mut self.events)
    }

    /// Every state change so far (all connections).
    pub fn traces(&self) -> &[TraceEvent] {
        &self.traces
    }

    /// Takes the state changes collected so far.
    pub fn take_traces(&mut self) -> Vec<TraceEvent> {
        std::mem::take(&mut self.traces)
    }

    /// The states the connection on local port `port` went through, from
    /// its first recorded state on.
    pub fn state_sequence(&self, port: u16) -> Vec<TcpState> {
        let mut seq = Vec::new();
        for t in self.traces.iter().filter(|t| t.local_port == port) {
            if seq.is_empty() {
                seq.push(t.previous_tcp_state);
            }
            seq.push(t.tcp_state);
        }
        seq
    }

    fn collect(&mut self) {
        while let Some(e) = self.endpoint.poll_event() {
            self.events.push(e);
        }
        self.traces.extend(self.endpoint.drain_traces());
    }

    /// When set, a step reads a batch of up to 32 packets before our
    /// stack's answers are sent, as interrupt coalescing or GRO would batch
    /// them: fewer, cumulative ACKs and fewer system calls. Off by default,
    /// so that the wire shows our stack's own ACK policy.
    pub fn set_ack_coalescing(&mut self, on: bool) {
        self.coalesce = on;
    }

    /// While set, what our stack sends is kept (see [`held`](Self::held))
    /// instead of being written to the device.
    pub fn set_hold_outbound(&mut self, hold: bool) {
        self.hold_outbound = hold;
    }

    /// Packets held back, oldest first.
    pub fn held(&self) -> &VecDeque<Vec<u8>> {
        &self.held
    }

    /// Writes the held packets to the device, in order.
    pub fn release_held(&mut self) -> Result<usize, DriverError> {
        let mut n = 0;
        while let Some(p) = self.held.pop_front() {
            self.dev.send(&p)?;
            self.log.record(self.now(), Direction::ToKernel, &p);
            n += 1;
        }
        Ok(n)
    }

    /// Discards the held packets (they are "lost"); returns how many.
    pub fn drop_held(&mut self) -> usize {
        let n = self.held.len();
        self.held.clear();
        n
    }

    /// Writes everything our stack has to send (or holds it); returns the
    /// number of packets.
    pub fn flush(&mut self) -> Result<usize, DriverError> {
        let mut n = 0;
        loop {
            let now = self.now();
            let Some(t) = self.endpoint.poll_transmit(now, &mut self.buf) else {
                break;
            };
            let pkt = &self.buf[..t.len];
            self.stats.packets_out += 1;
            self.stats.bytes_out += t.len as u64;
            if self.hold_outbound {
                self.log.record(now, Direction::Held, pkt);
                self.held.push_back(pkt.to_vec());
            } else {
                self.dev.send(pkt)?;
                self.log.record(now, Direction::ToKernel, pkt);
            }
            n += 1;
        }
        self.collect();
        Ok(n)
    }

    /// Reads up to `max` queued packets and gives them to our stack.
    fn receive_batch(&mut self, max: usize) -> Result<usize, DriverError> {
        let mut n = 0;
        while n < max {
            let Some(len) = self.dev.recv(&mut self.buf)? else {
                break;
            };
            let now = self.now();
            self.stats.packets_in += 1;
            self.stats.bytes_in += len as u64;
            self.log
                .record(now, Direction::FromKernel, &self.buf[..len]);
            if self.endpoint.handle_packet(now, &self.buf[..len]).is_err() {
                self.stats.rejected_in += 1;
            }
            n += 1;
            // Send what the packet called for (an ACK every second
            // segment, RFC 1122 §4.2.3.2) before reading the next one, so
            // that the batch does not coalesce our ACKs, unless asked to.
            if !self.coalesce {
                self.flush()?;
            }
        }
        Ok(n)
    }

    fn fire_timers(&mut self) {
        let now = self.now();
        if self.endpoint.poll_timeout().is_some_and(|t| t <= now) {
            self.endpoint.handle_timeout(now);
        }
    }

    /// One round: send what is pending, read what the kernel sent (waiting
    /// up to `max_wait`, or less if a timer is due sooner), fire due timers,
    /// send the answers. Returns the number of packets read.
    pub fn step(&mut self, max_wait: Duration) -> Result<usize, DriverError> {
        self.flush()?;
        self.fire_timers();
        let mut got = self.receive_batch(READ_BATCH)?;
        if got == 0 {
            let now = self.now();
            let wait = match self.endpoint.poll_timeout() {
                Some(t) => max_wait.min(t.saturating_duration_since(now)),
                None => max_wait,
            };
            if self.dev.wait_readable(Some(wait))? {
                got = self.receive_batch(READ_BATCH)?;
            }
        }
        self.fire_timers();
        self.flush()?;
        Ok(got)
    }

    /// Steps until `done` says so, for at most `limit`; `what` names the
    /// condition in the timeout error (which carries the packet log).
    pub fn run_until<F>(
        &mut self,
        limit: Duration,
        what: &str,
        mut done: F,
    ) -> Result<(), DriverError>
    where
        F: FnMut(&mut Self) -> bool,
    {
        let start = WallClock::now();
        loop {
            if done(self) {
                return Ok(());
            }
            let waited = start.elapsed();
            if waited >= limit {
                return Err(DriverError::Timeout {
                    what: what.to_string(),
                    waited,
                    log: self.log.render(),
                });
            }
            self.step((limit - waited).min(Duration::from_millis(20)))?;
        }
    }

    /// Steps until nothing was read or sent for `quiet` (at most `limit`).
    pub fn settle(&mut self, quiet: Duration, limit: Duration) -> Result<(), DriverError> {
        let start = WallClock::now();
        let mut last_activity = WallClock::now();
        while last_activity.elapsed() < quiet {
            if start.elapsed() >= limit {
                return Err(DriverError::Timeout {
                    what: format!("{quiet:?} without packets"),
                    waited: start.elapsed(),
                    log: self.log.render(),
                });
            }
            let before = self.stats.packets_out;
            let got = self.step(quiet.min(Duration::from_millis(10)))?;
            if got > 0 || self.stats.packets_out != before {
                last_activity = WallClock::now();
            }
        }
        Ok(())
    }

    /// Reads packets from the kernel for up to `limit`: the first one that
    /// `want` accepts is returned and *not* given to our stack; the others
    /// are given to our stack as usual.
    pub fn capture<F>(
        &mut self,
        limit: Duration,
        what: &str,
        want: F,
    ) -> Result<Vec<u8>, DriverError>
    where
        F: Fn(&SegmentSummary) -> bool,
    {
        let start = WallClock::now();
        loop {
            self.flush()?;
            self.fire_timers();
            while let Some(len) = self.dev.recv(&mut self.buf)? {
                let now = self.now();
                self.stats.packets_in += 1;
                self.stats.bytes_in += len as u64;
                let pkt = &self.buf[..len];
                if SegmentSummary::parse(pkt).is_some_and(|s| want(&s)) {
                    self.log.record(now, Direction::Captured, pkt);
                    return Ok(pkt.to_vec());
                }
                self.log.record(now, Direction::FromKernel, pkt);
                if self.endpoint.handle_packet(now, pkt).is_err() {
                    self.stats.rejected_in += 1;
                }
                self.flush()?;
            }
            let waited = start.elapsed();
            if waited >= limit {
                return Err(DriverError::Timeout {
                    what: what.to_string(),
                    waited,
                    log: self.log.render(),
                });
            }
            let wait = (limit - waited).min(Duration::from_millis(20));
            self.dev.wait_readable(Some(wait))?;
        }
    }

    /// Reads everything the kernel sends for `window`, giving none of it to
    /// our stack; returns the packets.
    pub fn capture_all(&mut self, window: Duration) -> Result<Vec<Vec<u8>>, DriverError> {
        let start = WallClock::now();
        let mut got = Vec::new();
        loop {
            while let Some(len) = self.dev.recv(&mut self.buf)? {
                let now = self.now();
                self.stats.packets_in += 1;
                self.stats.bytes_in += len as u64;
                self.log.record(now, Direction::Captured, &self.buf[..len]);
                got.push(self.buf[..len].to_vec());
            }
            let waited = start.elapsed();
            if waited >= window {
                return Ok(got);
            }
            self.dev.wait_readable(Some(window - waited))?;
        }
    }

    /// Gives a packet (e.g. one [`capture`](Self::capture)d earlier) to our
    /// stack, then sends what it answers.
    pub fn deliver(&mut self, packet: &[u8]) -> Result<(), DriverError> {
        let now = self.now();
        self.log.record(now, Direction::FromKernel, packet);
        if self.endpoint.handle_packet(now, packet).is_err() {
            self.stats.rejected_in += 1;
        }
        self.flush()?;
        Ok(())
    }

    /// Gives a crafted packet to our stack as if the kernel had sent it; our
    /// answer is *not* flushed (so the caller can inspect it with
    /// [`set_hold_outbound`](Self::set_hold_outbound)). Returns whether our
    /// stack accepted the packet for processing.
    pub fn inject_to_us(&mut self, packet: &[u8]) -> bool {
        let now = self.now();
        self.log.record(now, Direction::InjectedToUs, packet);
        let ok = self.endpoint.handle_packet(now, packet).is_ok();
        self.collect();
        ok
    }

    /// Writes a crafted packet to the device (the kernel receives it).
    pub fn inject_to_kernel(&mut self, packet: &[u8]) -> Result<(), DriverError> {
        self.dev.send(packet)?;
        self.log
            .record(self.now(), Direction::InjectedToKernel, packet);
        Ok(())
    }
}
