//! Send and receive buffers for one connection (RFC 9293 §3.3.1, §3.8.6).
//!
//! Both are byte rings of a fixed capacity, allocated once when the buffer is
//! made (and not zeroed: see `Ring`); nothing on the data path allocates
//! afterwards. Data are copied once
//! in (application → [`SendBuffer`], network → [`RecvBuffer`]) and once out.
//!
//! The buffers work in byte offsets, not sequence numbers: the TCB maps
//! SND.UNA to offset 0 of the send buffer and RCV.NXT to the end of the
//! readable bytes of the receive buffer.

mod recv;
mod send;

pub use recv::{FinError, InsertOutcome, OooRanges, RecvBuffer, MAX_OOO_RANGES};
pub use send::SendBuffer;

/// The byte storage of a ring of fixed capacity.
///
/// The memory for the whole capacity is allocated once, in [`Ring::new`],
/// but not zeroed: bytes come into existence only when they are first
/// written (`Vec::extend_from_slice` past the initialised prefix), so a
/// connection that exchanges a few bytes touches a few bytes of its
/// buffers, not the whole capacity. `storage.len()` is that initialised
/// prefix; it only grows, never past the capacity, so the vector never
/// reallocates. Every byte a buffer hands out was written before, hence
/// lies inside the prefix.
struct Ring {
    storage: Vec<u8>,
    capacity: usize,
}

impl Ring {
    /// One allocation of `capacity` bytes, none of them initialised yet.
    fn new(capacity: usize) -> Ring {
        Ring {
            storage: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// The same allocation for a new stream of `capacity` bytes, when it
    /// is that size (a connection taken from the endpoint's pool); a fresh
    /// one otherwise. The prefix the previous stream wrote stays
    /// initialised: the new stream hands out only bytes it wrote itself.
    fn recycled(self, capacity: usize) -> Ring {
        if self.capacity == capacity {
            self
        } else {
            Ring::new(capacity)
        }
    }

    #[inline]
    fn capacity(&self) -> usize {
        self.capacity
    }

    /// Ring index `i` (< 2 × capacity) folded into [0, capacity).
    #[inline]
    fn wrap(&self, i: usize) -> usize {
        if i >= self.capacity {
            i - self.capacity
        } else {
            i
        }
    }

    /// Writes `src` at ring indices [at, at + len) of the contiguous run
    /// that does not wrap: `at + src.len() <= capacity`.
    #[inline]
    fn write_run(&mut self, at: usize, src: &[u8]) {
        let init = self.storage.len();
        if at + src.len() <= init {
            self.storage[at..at + src.len()].copy_from_slice(src);
            return;
        }
        if at > init {
            // Out-of-order text beyond everything written so far: the gap
            // before it is filled with zeros (it is overwritten before it is
            // ever read: only written bytes are handed out).
            self.storage.resize(at, 0);
        }
        let overlap = self.storage.len() - at;
        self.storage[at..].copy_from_slice(&src[..overlap]);
        self.storage.extend_from_slice(&src[overlap..]);
    }

    /// Copies `src` into the ring starting at ring index `at`, wrapping
    /// once.
    ///
    /// `at < capacity` (or the ring is empty and `src` too) and
    /// `src.len() <= capacity`.
    #[inline]
    fn write(&mut self, at: usize, src: &[u8]) {
        let first = src.len().min(self.capacity - at);
        self.write_run(at, &src[..first]);
        // After a wrap the first run ended at the capacity, so the whole
        // ring is initialised and the rest is a plain copy.
        let rest = src.len() - first;
        if rest > 0 {
            self.storage[..rest].copy_from_slice(&src[first..]);
        }
    }

    /// The `len` bytes starting at ring index `at`, as at most two
    /// contiguous slices (the second is empty unless the range wraps).
    ///
    /// `at < capacity` (or `len == 0`), `len <= capacity`, and every byte
    /// of the range was written before.
    #[inline]
    fn slices(&self, at: usize, len: usize) -> (&[u8], &[u8]) {
        if len == 0 {
            return (&[], &[]);
        }
        let first = len.min(self.capacity - at);
        (&self.storage[at..at + first], &self.storage[..len - first])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_initialises_only_the_bytes_written() {
        let mut ring = Ring::new(1 << 16);
        assert_eq!(ring.capacity(), 1 << 16);
        assert!(ring.storage.capacity() >= 1 << 16);
        assert_eq!(ring.storage.len(), 0);
        ring.write(0, b"hello");
        assert_eq!(ring.storage.len(), 5);
        assert_eq!(ring.slices(0, 5), (&b"hello"[..], &[][..]));
        // Overwriting inside the prefix and extending past it in one run.
        ring.write(3, b"LO world");
        assert_eq!(ring.storage.len(), 11);
        assert_eq!(ring.slices(0, 11), (&b"helLO world"[..], &[][..]));
    }

    #[test]
    fn ring_write_beyond_the_prefix_fills_the_gap() {
        let mut ring = Ring::new(32);
        ring.write(0, b"ab");
        // Out-of-order text at 10: the gap 2..10 becomes initialised.
        ring.write(10, b"kl");
        assert_eq!(ring.storage.len(), 12);
        assert_eq!(ring.slices(10, 2), (&b"kl"[..], &[][..]));
        ring.write(2, b"cdefghij");
        assert_eq!(ring.slices(0, 12), (&b"abcdefghijkl"[..], &[][..]));
    }

    #[test]
    fn ring_write_that_wraps_initialises_the_whole_ring() {
        let mut ring = Ring::new(8);
        ring.write(0, b"012");
        // From index 6: "ab" at 6..8, then "cd" at 0..2.
        ring.write(6, b"abcd");
        assert_eq!(ring.storage.len(), 8);
        assert_eq!(ring.slices(6, 4), (&b"ab"[..], &b"cd"[..]));
        assert_eq!(ring.slices(1, 2), (&b"d2"[..], &[][..]));
        assert_eq!(ring.wrap(9), 1);
        assert_eq!(ring.wrap(7), 7);
    }

    #[test]
    fn ring_never_reallocates() {
        let mut ring = Ring::new(100);
        let ptr = ring.storage.as_ptr();
        for k in 0..50 {
            let at = (k * 37) % 100;
            ring.write(at, &[k as u8; 60]);
        }
        assert_eq!(ring.storage.len(), 100);
        assert_eq!(ring.storage.as_ptr(), ptr);
    }
}
