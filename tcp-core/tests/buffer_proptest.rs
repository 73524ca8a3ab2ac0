//! Property tests of the send and receive buffers against simple models.

use std::collections::VecDeque;

use proptest::prelude::*;
use tcp_core::buffer::{FinError, RecvBuffer, SendBuffer};
use tcp_core::seq::SeqNum;

/// A small deterministic generator for delivery schedules (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }
}

/// Cuts `len` bytes into segments at the given (unsorted, possibly
/// repeated) points: `(start, end)` offsets into the stream.
fn segments(len: usize, cuts: &[usize]) -> Vec<(usize, usize)> {
    let mut points: Vec<usize> = cuts.iter().map(|&c| c % (len + 1)).collect();
    points.push(0);
    points.push(len);
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| (w[0], w[1])).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A byte stream cut into random segments, delivered in random order with
    /// duplicates and with retransmission of whatever the bounded buffer
    /// dropped, read in random amounts as it goes, comes out exactly as sent,
    /// and the FIN is reached exactly when the last byte is in order.
    #[test]
    fn reassembly_yields_the_original_stream(
        stream in prop::collection::vec(any::<u8>(), 0..3000),
        cuts in prop::collection::vec(any::<usize>(), 0..60),
        capacity in 1usize..700,
        isn in any::<u32>(),
        seed in any::<u64>(),
    ) {
        let segs = segments(stream.len(), &cuts);
        let mut rng = Rng::new(seed);
        let mut buf = RecvBuffer::new(capacity);
        let isn = SeqNum(isn);
        let mut rcv_nxt = isn;
        let mut received = Vec::with_capacity(stream.len());
        let mut read_buf = vec![0u8; capacity];
        let mut fin_processed = false;
        // The "network": segments in flight, possibly more than once.
        let mut flight: Vec<(usize, usize)> = Vec::new();
        // Every refill delivers the segment at RCV.NXT unless the window is
        // closed, and a closed window reopens after a few reads.
        let max_rounds = 1000 + 16 * (stream.len() + 1) * (segs.len() + 1);
        let mut rounds = 0;
        while !fin_processed {
            rounds += 1;
            prop_assert!(rounds < max_rounds, "no progress: {:?}", buf);
            if flight.is_empty() {
                // Retransmit the segments not yet cumulatively acknowledged
                // that reach into the advertised window, now and then one
                // beyond it, some twice, in a shuffled order.
                let acked = rcv_nxt.since(isn) as usize;
                let right = acked + buf.window();
                for &(a, b) in &segs {
                    let wanted = b > acked || (b == stream.len() && !fin_processed);
                    if wanted && (a < right.max(acked + 1) || rng.below(8) == 0) {
                        flight.push((a, b));
                        if rng.below(4) == 0 {
                            flight.push((a, b));
                        }
                    }
                }
                if segs.is_empty() {
                    flight.push((0, 0));
                }
                for i in (1..flight.len()).rev() {
                    flight.swap(i, rng.below(i + 1));
                }
            }
            let Some((a, b)) = flight.pop() else { continue };
            let seq = isn + a as u32;
            let is_last = b == stream.len();
            if is_last {
                // The FIN follows the last byte: record it before the text.
                let end = isn + b as u32;
                let fin_off = end.since(rcv_nxt) as usize;
                match buf.set_fin(fin_off) {
                    Ok(()) | Err(FinError::BeyondWindow { .. }) => {}
                    Err(e) => prop_assert!(false, "valid stream refused: {e}"),
                }
            }
            let held_before = buf.window();
            let out = buf.insert_seq(rcv_nxt, seq, &stream[a..b]);
            prop_assert!(out.stored <= b - a);
            prop_assert!(out.advanced <= held_before);
            rcv_nxt += out.advanced as u32;
            prop_assert_eq!(buf.readable() + received.len(), rcv_nxt.since(isn) as usize);
            for (lo, hi) in buf.ooo_ranges() {
                prop_assert!(0 < lo && lo < hi && hi <= buf.window());
            }
            // Read a random amount.
            let want = rng.below(capacity + 1);
            let n = buf.read(&mut read_buf[..want]);
            received.extend_from_slice(&read_buf[..n]);
            prop_assert_eq!(&received[..], &stream[..received.len()]);
            if buf.fin_reached() {
                prop_assert_eq!(rcv_nxt.since(isn) as usize, stream.len());
                fin_processed = true;
            }
        }
        while buf.readable() > 0 {
            let n = buf.read(&mut read_buf);
            received.extend_from_slice(&read_buf[..n]);
        }
        prop_assert_eq!(received, stream);
        prop_assert!(!buf.has_out_of_order());
    }

    /// SendBuffer behaves like a bounded VecDeque<u8>.
    #[test]
    fn send_buffer_matches_a_vecdeque(
        capacity in 0usize..64,
        ops in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..40).prop_map(Op::Write),
                (0usize..80).prop_map(Op::Consume),
                (0usize..80, 0usize..80).prop_map(|(o, l)| Op::Slices(o, l)),
                (0usize..80, 0usize..80).prop_map(|(o, l)| Op::ReadAt(o, l)),
            ],
            0..60,
        ),
    ) {
        let mut buf = SendBuffer::new(capacity);
        let mut model: VecDeque<u8> = VecDeque::new();
        for op in ops {
            match op {
                Op::Write(data) => {
                    let n = buf.write(&data);
                    prop_assert_eq!(n, data.len().min(capacity - model.len()));
                    model.extend(&data[..n]);
                }
                Op::Consume(n) => {
                    let dropped = buf.consume(n);
                    prop_assert_eq!(dropped, n.min(model.len()));
                    model.drain(..dropped);
                }
                Op::Slices(offset, len) => {
                    let (a, b) = buf.slices(offset, len);
                    let got: Vec<u8> = a.iter().chain(b).copied().collect();
                    let want: Vec<u8> = model.iter().skip(offset).take(len).copied().collect();
                    prop_assert_eq!(got, want);
                    prop_assert!(b.is_empty() || !a.is_empty());
                }
                Op::ReadAt(offset, len) => {
                    let mut out = vec![0u8; len];
                    let n = buf.read_at(offset, &mut out);
                    let want: Vec<u8> = model.iter().skip(offset).take(len).copied().collect();
                    prop_assert_eq!(&out[..n], &want[..]);
                }
            }
            prop_assert_eq!(buf.len(), model.len());
            prop_assert_eq!(buf.free(), capacity - model.len());
            prop_assert_eq!(buf.is_empty(), model.is_empty());
            prop_assert_eq!(buf.capacity(), capacity);
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Write(Vec<u8>),
    Consume(usize),
    Slices(usize, usize),
    ReadAt(usize, usize),
}
