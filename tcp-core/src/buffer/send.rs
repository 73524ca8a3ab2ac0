//! The send buffer: bytes the application has handed to TCP and that the
//! peer has not yet acknowledged (RFC 9293 §3.3.1, "send sequence space").
//!
//! Offset 0 is the octet at SND.UNA. The bytes at offsets below
//! SND.NXT − SND.UNA have been sent and are kept for retransmission; the rest
//! are queued and not yet sent. Which is which is the TCB's business: the
//! buffer only holds bytes, drops acknowledged ones from the front
//! ([`SendBuffer::consume`]) and hands out any range for (re)transmission
//! without copying ([`SendBuffer::slices`]).

use super::Ring;

/// A fixed-capacity byte ring holding unacknowledged and unsent data.
///
/// Allocated once (not zeroed) by [`SendBuffer::new`]; no method allocates
/// afterwards.
pub struct SendBuffer {
    ring: Ring,
    /// Ring index of offset 0 (the octet at SND.UNA); `< capacity`, or 0
    /// when the capacity is 0.
    head: usize,
    /// Bytes held, from `head` on.
    len: usize,
}

impl SendBuffer {
    /// A buffer that holds at most `capacity` bytes.
    pub fn new(capacity: usize) -> SendBuffer {
        SendBuffer::with_ring(Ring::new(capacity))
    }

    /// An empty buffer of `capacity` bytes that reuses this one's memory
    /// when it has that capacity (no allocation).
    pub fn recycled(self, capacity: usize) -> SendBuffer {
        SendBuffer::with_ring(self.ring.recycled(capacity))
    }

    fn with_ring(ring: Ring) -> SendBuffer {
        SendBuffer {
            ring,
            head: 0,
            len: 0,
        }
    }

    /// The most bytes the buffer can hold.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Bytes held: unacknowledged plus not yet sent.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Room left for [`SendBuffer::write`].
    #[inline]
    pub fn free(&self) -> usize {
        self.ring.capacity() - self.len
    }

    /// No bytes held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Ring index of `offset` bytes after offset 0; `offset < capacity`.
    #[inline]
    fn index(&self, offset: usize) -> usize {
        self.ring.wrap(self.head + offset)
    }

    /// Appends as much of `data` as fits and returns how many bytes were
    /// taken (RFC 9293 §3.10.2: SEND queues the data; a full buffer takes a
    /// prefix and the caller retries with the rest later).
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        if n == 0 {
            return 0;
        }
        let at = self.index(self.len);
        self.ring.write(at, &data[..n]);
        self.len += n;
        n
    }

    /// Up to `len` bytes starting `offset` bytes after offset 0, as at most
    /// two contiguous slices (the second is empty unless the range wraps
    /// around the end of the ring). Both are empty when `offset >= len()`.
    ///
    /// This is how a segment is built for transmission or retransmission
    /// from any sequence number in [SND.UNA, SND.UNA + len()) without an
    /// intermediate copy (RFC 9293 §3.8.1, RFC 6298 §5.4).
    pub fn slices(&self, offset: usize, len: usize) -> (&[u8], &[u8]) {
        if offset >= self.len {
            return (&[], &[]);
        }
        let len = len.min(self.len - offset);
        self.ring.slices(self.index(offset), len)
    }

    /// Copies bytes starting `offset` bytes after offset 0 into `out` and
    /// returns how many were copied (at most `out.len()`, and 0 when
    /// `offset >= len()`).
    pub fn read_at(&self, offset: usize, out: &mut [u8]) -> usize {
        let (a, b) = self.slices(offset, out.len());
        out[..a.len()].copy_from_slice(a);
        out[a.len()..a.len() + b.len()].copy_from_slice(b);
        a.len() + b.len()
    }

    /// Drops `n` acknowledged bytes from the front (SND.UNA advanced by `n`,
    /// RFC 9293 §3.10.7.4 "fifth, check the ACK field"). Clamps to `len()`
    /// and returns how many bytes were dropped.
    pub fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        if n == self.len {
            // Empty now: restart at index 0 so the next writes are contiguous.
            self.head = 0;
            self.len = 0;
        } else {
            self.head = self.index(n);
            self.len -= n;
        }
        n
    }
}

impl core::fmt::Debug for SendBuffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SendBuffer")
            .field("capacity", &self.capacity())
            .field("len", &self.len)
            .field("head", &self.head)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
            .collect()
    }

    fn collect(buf: &SendBuffer, offset: usize, len: usize) -> Vec<u8> {
        let (a, b) = buf.slices(offset, len);
        let mut v = a.to_vec();
        v.extend_from_slice(b);
        v
    }

    #[test]
    fn new_buffer_is_empty_with_full_room() {
        let buf = SendBuffer::new(16);
        assert_eq!(buf.capacity(), 16);
        assert_eq!(buf.len(), 0);
        assert_eq!(buf.free(), 16);
        assert!(buf.is_empty());
        assert_eq!(buf.slices(0, 10), (&[][..], &[][..]));
    }

    #[test]
    fn write_takes_only_what_fits() {
        let mut buf = SendBuffer::new(10);
        assert_eq!(buf.write(&pattern(6, 1)), 6);
        assert_eq!(buf.write(&pattern(6, 2)), 4);
        assert_eq!(buf.len(), 10);
        assert_eq!(buf.free(), 0);
        assert_eq!(buf.write(b"x"), 0);
        let mut expect = pattern(6, 1);
        expect.extend_from_slice(&pattern(4, 2));
        assert_eq!(collect(&buf, 0, 100), expect);
    }

    #[test]
    fn consume_drops_front_and_clamps() {
        let mut buf = SendBuffer::new(8);
        buf.write(b"abcdef");
        assert_eq!(buf.consume(2), 2);
        assert_eq!(collect(&buf, 0, 8), b"cdef");
        assert_eq!(buf.consume(100), 4);
        assert!(buf.is_empty());
        assert_eq!(buf.free(), 8);
        assert_eq!(buf.consume(1), 0);
    }

    #[test]
    fn write_wraps_around_the_ring_end() {
        let mut buf = SendBuffer::new(8);
        buf.write(b"0123456");
        buf.consume(5);
        // Held: "56" at ring 5..7; the next write wraps.
        assert_eq!(buf.write(b"abcdef"), 6);
        assert_eq!(buf.len(), 8);
        let (a, b) = buf.slices(0, 8);
        assert_eq!(a, b"56a");
        assert_eq!(b, b"bcdef");
    }

    #[test]
    fn retransmission_slices_cross_the_wrap() {
        let mut buf = SendBuffer::new(10);
        buf.write(&[0u8; 7]);
        buf.consume(6);
        buf.write(b"ABCDEFGHI");
        buf.consume(1);
        // Head at ring index 7: offsets 0..3 are contiguous, 3.. wrap.
        assert_eq!(buf.len(), 9);
        assert_eq!(buf.slices(1, 4), (&b"BC"[..], &b"DE"[..]));
        assert_eq!(buf.slices(0, 9), (&b"ABC"[..], &b"DEFGHI"[..]));
        assert_eq!(buf.slices(3, 4), (&b"DEFG"[..], &[][..]));
        assert_eq!(buf.slices(8, 5), (&b"I"[..], &[][..]));
        assert_eq!(buf.slices(9, 5), (&[][..], &[][..]));
        assert_eq!(buf.slices(2, 0), (&[][..], &[][..]));
    }

    #[test]
    fn read_at_copies_across_the_wrap_and_stops_at_the_end() {
        let mut buf = SendBuffer::new(6);
        buf.write(b"xxxx");
        buf.consume(3);
        buf.write(b"uvwxy");
        buf.consume(1);
        assert_eq!(buf.write(b"z"), 1);
        // Head at ring index 4: "uv" then "wxyz" from index 0.
        let mut out = [0u8; 4];
        assert_eq!(buf.read_at(1, &mut out), 4);
        assert_eq!(&out, b"vwxy");
        let mut out = [0u8; 10];
        assert_eq!(buf.read_at(3, &mut out), 3);
        assert_eq!(&out[..3], b"xyz");
        assert_eq!(buf.read_at(6, &mut out), 0);
    }

    #[test]
    fn zero_capacity_buffer_takes_nothing() {
        let mut buf = SendBuffer::new(0);
        assert_eq!(buf.write(b"abc"), 0);
        assert_eq!(buf.consume(3), 0);
        assert_eq!(buf.slices(0, 3), (&[][..], &[][..]));
        let mut out = [0u8; 2];
        assert_eq!(buf.read_at(0, &mut out), 0);
    }
}
