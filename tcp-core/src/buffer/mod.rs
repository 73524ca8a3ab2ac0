//! Send and receive buffers for one connection (RFC 9293 §3.3.1, §3.8.6).
//!
//! Both are byte rings of a fixed capacity, allocated once when the buffer is
//! made; nothing on the data path allocates afterwards. Data are copied once
//! in (application → [`SendBuffer`], network → [`RecvBuffer`]) and once out.
//!
//! The buffers work in byte offsets, not sequence numbers: the TCB maps
//! SND.UNA to offset 0 of the send buffer and RCV.NXT to the end of the
//! readable bytes of the receive buffer.

mod recv;
mod send;

pub use recv::{FinError, InsertOutcome, OooRanges, RecvBuffer, MAX_OOO_RANGES};
pub use send::SendBuffer;

/// Copies `src` into `ring` starting at ring index `at`, wrapping once.
///
/// `at < ring.len()` (or the ring is empty and `src` too) and
/// `src.len() <= ring.len()`.
#[inline]
fn copy_into_ring(ring: &mut [u8], at: usize, src: &[u8]) {
    let first = src.len().min(ring.len() - at);
    ring[at..at + first].copy_from_slice(&src[..first]);
    let rest = src.len() - first;
    ring[..rest].copy_from_slice(&src[first..]);
}

/// The `len` bytes of `ring` starting at ring index `at`, as at most two
/// contiguous slices (the second is empty unless the range wraps).
///
/// `at < ring.len()` (or `len == 0`) and `len <= ring.len()`.
#[inline]
fn ring_slices(ring: &[u8], at: usize, len: usize) -> (&[u8], &[u8]) {
    if len == 0 {
        return (&[], &[]);
    }
    let first = len.min(ring.len() - at);
    (&ring[at..at + first], &ring[..len - first])
}
