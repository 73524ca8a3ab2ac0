//! The data path of the buffers and the SACK scoreboard allocates nothing
//! after construction: a counting global allocator proves it.

use tcp_core::buffer::{RecvBuffer, SendBuffer, MAX_OOO_RANGES};
use tcp_core::sack::Scoreboard;
use tcp_core::seq::SeqNum;

mod common;
use common::{allocations_in, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn counting_allocator_sees_an_allocation() {
    // The counter works: a Vec made while watched is counted.
    let n = allocations_in(|| {
        let v: Vec<u8> = Vec::with_capacity(std::hint::black_box(64));
        std::hint::black_box(&v);
    });
    assert!(n >= 1, "counted {n}");
    // And constructing the buffers does allocate (once each ring).
    let n = allocations_in(|| {
        std::hint::black_box(SendBuffer::new(4096));
        std::hint::black_box(RecvBuffer::new(4096));
    });
    assert_eq!(n, 2);
}

#[test]
fn send_buffer_data_path_allocates_nothing() {
    let mut buf = SendBuffer::new(64 * 1024);
    let chunk = vec![0xabu8; 1460];
    let mut out = vec![0u8; 1460];
    let n = allocations_in(|| {
        for round in 0..2000usize {
            buf.write(&chunk);
            let (a, b) = buf.slices(round % 1000, 1460);
            std::hint::black_box((a, b));
            buf.read_at(round % 700, &mut out);
            if buf.free() < 1460 {
                buf.consume(1460 * 3 + round % 17);
            }
        }
        buf.consume(usize::MAX);
    });
    assert_eq!(n, 0);
}

#[test]
fn recv_buffer_data_path_allocates_nothing() {
    let mut buf = RecvBuffer::new(64 * 1024);
    let seg = vec![0x5au8; 1000];
    let mut out = vec![0u8; 4096];
    let mut blocks = [(SeqNum(0), SeqNum(0)); 4];
    let mut rcv_nxt = SeqNum(u32::MAX - 10_000);
    let n = allocations_in(|| {
        for round in 0..500u32 {
            let base = rcv_nxt;
            // Every other segment first, then the gaps: ranges come and go.
            for k in (1..40u32).step_by(2) {
                buf.insert_seq(rcv_nxt, base + k * 1000, &seg);
            }
            // More disjoint ranges than the table holds, to hit the drop path.
            for k in 0..MAX_OOO_RANGES + 4 {
                buf.insert(45_000 + k * 500, &seg[..10]);
            }
            std::hint::black_box(buf.sack_blocks(rcv_nxt, &mut blocks));
            std::hint::black_box(buf.sack_blocks(rcv_nxt, &mut blocks[..3]));
            std::hint::black_box(buf.ooo_ranges().count());
            for k in (0..40u32).step_by(2) {
                let o = buf.insert_seq(rcv_nxt, base + k * 1000, &seg);
                rcv_nxt += o.advanced as u32;
            }
            let o = buf.insert_seq(rcv_nxt, rcv_nxt - 5, &seg[..20]);
            rcv_nxt += o.advanced as u32;
            while buf.readable() > 0 {
                buf.read(&mut out);
            }
            if round == 499 {
                let fin_at = buf.window() / 2;
                std::hint::black_box(buf.set_fin(fin_at).is_ok());
                std::hint::black_box(buf.set_fin(fin_at + 1).is_err());
                std::hint::black_box(buf.fin_reached());
            }
            let (a, b) = buf.peek_slices();
            std::hint::black_box((a, b));
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn scoreboard_allocates_nothing() {
    let mut sb = Scoreboard::new();
    let n = allocations_in(|| {
        let mut snd_una = SeqNum(u32::MAX - 100_000);
        for round in 0..300u32 {
            let snd_nxt = snd_una + 200_000;
            let blocks = [
                (
                    snd_una + 3000 * (round % 50) + 1000,
                    snd_una + 3000 * (round % 50) + 2000,
                ),
                (snd_una + 100 * round, snd_una + 100 * round + 50),
                (snd_una + 150_000, snd_una + 151_460),
                (snd_una + 199_000, snd_una + 200_000),
            ];
            sb.on_ack(snd_una, snd_nxt, &blocks);
            let high_rxt = snd_una + 1460;
            std::hint::black_box(sb.pipe(snd_una, snd_nxt, high_rxt, 1460));
            std::hint::black_box(sb.next_seg(snd_una, snd_nxt, high_rxt, 1460));
            std::hint::black_box(sb.next_seg_rule3(snd_una, snd_nxt, high_rxt));
            std::hint::black_box(sb.highest_unsacked(snd_una, snd_nxt));
            std::hint::black_box(sb.is_lost(snd_una, 1460, 3));
            std::hint::black_box(sb.unsacked_len(snd_una, snd_nxt, 1460));
            std::hint::black_box((sb.sacked_bytes(), sb.highest_sacked()));
            std::hint::black_box(sb.is_sacked(snd_una + 1500));
            snd_una += 700;
        }
        sb.clear();
    });
    assert_eq!(n, 0);
}
