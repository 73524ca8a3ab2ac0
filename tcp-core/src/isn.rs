//! Initial sequence numbers per RFC 6528:
//! `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)`, where
//! M is a clock ticking every 4 microseconds and F a keyed pseudorandom
//! function, here SipHash-2-4 (Aumasson and Bernstein, 2012), written from
//! its published description.
//!
//! The secret comes from the caller: a real stack draws 16 random bytes once
//! at start-up ([`IsnGenerator::new`]); the simulator and the tests derive it
//! from a seed ([`IsnGenerator::from_seed`]) so that runs are reproducible.

use crate::seq::SeqNum;
use crate::time::Instant;
use core::fmt;
use core::net::{IpAddr, SocketAddr};

/// RFC 6528 §3: M is incremented once every 4 microseconds.
const CLOCK_TICK_NANOS: u64 = 4_000;

/// RFC 6528 §3 generator of initial sequence numbers.
#[derive(Clone, PartialEq, Eq)]
pub struct IsnGenerator {
    key: [u8; 16],
}

impl fmt::Debug for IsnGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is the whole secret of RFC 6528: never print it.
        f.debug_struct("IsnGenerator")
            .field("key", &"<secret>")
            .finish()
    }
}

impl IsnGenerator {
    /// A generator keyed with `secret` (RFC 6528 §3: a random secret key,
    /// chosen at boot and kept).
    pub fn new(secret: [u8; 16]) -> IsnGenerator {
        IsnGenerator { key: secret }
    }

    /// A deterministic generator for tests and the simulator: the key is
    /// expanded from `seed` with SplitMix64 (Steele, Lea and Flood, 2014).
    /// Not for production: a seed is guessable, a random key is not.
    pub fn from_seed(seed: u64) -> IsnGenerator {
        let mut state = seed;
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        key[8..].copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        IsnGenerator { key }
    }

    /// RFC 6528 §3: `ISN = M + F(localip, localport, remoteip, remoteport,
    /// secretkey)`, with M = `now` in units of 4 µs (modulo 2^32).
    pub fn isn(&self, local: SocketAddr, remote: SocketAddr, now: Instant) -> SeqNum {
        // Truncation to 32 bits is the intended modulo-2^32 clock.
        let m = (now.as_nanos() / CLOCK_TICK_NANOS) as u32;
        SeqNum(self.offset(local, remote)) + m
    }

    /// F of RFC 6528 §3: SipHash-2-4 of the connection identifier, folded to
    /// 32 bits.
    fn offset(&self, local: SocketAddr, remote: SocketAddr) -> u32 {
        // family, local address, local port, remote address, remote port:
        // at most 1 + 16 + 2 + 16 + 2 bytes, on the stack.
        let mut msg = [0u8; 37];
        let mut len = 0;
        let family: u8 = match (local.ip(), remote.ip()) {
            (IpAddr::V4(_), IpAddr::V4(_)) => 4,
            (IpAddr::V6(_), IpAddr::V6(_)) => 6,
            _ => 46,
        };
        msg[len] = family;
        len += 1;
        for addr in [local, remote] {
            match addr.ip() {
                IpAddr::V4(ip) => {
                    msg[len..len + 4].copy_from_slice(&ip.octets());
                    len += 4;
                }
                IpAddr::V6(ip) => {
                    msg[len..len + 16].copy_from_slice(&ip.octets());
                    len += 16;
                }
            }
            msg[len..len + 2].copy_from_slice(&addr.port().to_be_bytes());
            len += 2;
        }
        let h = siphash24(&self.key, &msg[..len]);
        // Folding keeps all 64 output bits in play; truncation is intended.
        (h ^ (h >> 32)) as u32
    }
}

/// SplitMix64: one step of the generator, returning the next output.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// SipHash-2-4 of `msg` under the 128-bit `key`: two compression rounds per
/// 8-byte word, four finalization rounds, 64-bit output.
pub fn siphash24(key: &[u8; 16], msg: &[u8]) -> u64 {
    let mut k0 = [0u8; 8];
    let mut k1 = [0u8; 8];
    k0.copy_from_slice(&key[..8]);
    k1.copy_from_slice(&key[8..]);
    let k0 = u64::from_le_bytes(k0);
    let k1 = u64::from_le_bytes(k1);
    // Initialization: the key XORed with "somepseudorandomlygeneratedbytes".
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];

    let mut words = msg.chunks_exact(8);
    for word in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(word);
        compress(&mut v, u64::from_le_bytes(b));
    }
    // Last word: the remaining bytes, little-endian, with the message length
    // modulo 256 in the top byte.
    let rest = words.remainder();
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    // `msg.len() as u8` is the length modulo 256 by definition.
    last[7] = msg.len() as u8;
    compress(&mut v, u64::from_le_bytes(last));

    // Finalization.
    v[2] ^= 0xff;
    for _ in 0..4 {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

fn compress(v: &mut [u64; 4], m: u64) {
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
}

fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key_00_to_0f() -> [u8; 16] {
        core::array::from_fn(|i| i as u8)
    }

    #[test]
    fn siphash24_matches_the_published_test_vector() {
        // SipHash paper, Appendix A: key 00..0f, message 00..0e.
        let msg: [u8; 15] = core::array::from_fn(|i| i as u8);
        assert_eq!(siphash24(&key_00_to_0f(), &msg), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn siphash24_of_empty_message_matches_the_reference_vector() {
        // Reference implementation's vectors.h, first entry (empty input).
        assert_eq!(siphash24(&key_00_to_0f(), &[]), 0x726f_db47_dd0e_0e31);
    }

    #[allow(deprecated)]
    fn std_siphash24(key: &[u8; 16], msg: &[u8]) -> u64 {
        use std::hash::Hasher;
        let mut k0 = [0u8; 8];
        let mut k1 = [0u8; 8];
        k0.copy_from_slice(&key[..8]);
        k1.copy_from_slice(&key[8..]);
        // std's deprecated SipHasher is SipHash-2-4; `write` adds no framing.
        let mut h =
            std::hash::SipHasher::new_with_keys(u64::from_le_bytes(k0), u64::from_le_bytes(k1));
        h.write(msg);
        h.finish()
    }

    proptest! {
        #[test]
        fn siphash24_agrees_with_std_siphasher(
            key in any::<[u8; 16]>(),
            msg in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            prop_assert_eq!(siphash24(&key, &msg), std_siphash24(&key, &msg));
        }

        #[test]
        fn isn_advances_one_per_four_microseconds(
            seed in any::<u64>(),
            start in 0u64..(1 << 50),
            ticks in 0u32..u32::MAX,
        ) {
            let g = IsnGenerator::from_seed(seed);
            let (l, r) = tuple();
            let t0 = Instant::from_nanos(start);
            let t1 = t0 + core::time::Duration::from_micros(4 * u64::from(ticks));
            let a = g.isn(l, r, t0);
            let b = g.isn(l, r, t1);
            prop_assert_eq!(b.since(a), ticks);
        }
    }

    fn tuple() -> (SocketAddr, SocketAddr) {
        (
            "10.0.0.1:49152".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
        )
    }

    #[test]
    fn isn_is_deterministic_given_the_seed() {
        let (l, r) = tuple();
        let now = Instant::from_millis(1234);
        let a = IsnGenerator::from_seed(7);
        let b = IsnGenerator::from_seed(7);
        assert_eq!(a, b);
        assert_eq!(a.isn(l, r, now), b.isn(l, r, now));
        let c = IsnGenerator::from_seed(8);
        assert_ne!(a.isn(l, r, now), c.isn(l, r, now));
        // The same key given directly gives the same numbers.
        let d = IsnGenerator::new(a.key);
        assert_eq!(a.isn(l, r, now), d.isn(l, r, now));
    }

    #[test]
    fn isn_differs_between_four_tuples() {
        let g = IsnGenerator::from_seed(1);
        let now = Instant::from_millis(10);
        let (l, r) = tuple();
        let base = g.isn(l, r, now);
        let other_port: SocketAddr = "10.0.0.1:49153".parse().unwrap();
        let other_ip: SocketAddr = "10.0.0.3:80".parse().unwrap();
        let v6_l: SocketAddr = "[fe80::1]:49152".parse().unwrap();
        let v6_r: SocketAddr = "[fe80::2]:80".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:10.0.0.2]:80".parse().unwrap();
        let others = [
            g.isn(other_port, r, now),
            g.isn(l, other_ip, now),
            g.isn(r, l, now),
            g.isn(v6_l, v6_r, now),
            g.isn(l, mapped, now),
        ];
        for (i, isn) in others.iter().enumerate() {
            assert_ne!(*isn, base, "tuple {i}");
        }
    }

    #[test]
    fn isn_clock_component_is_now_over_four_microseconds() {
        let g = IsnGenerator::from_seed(99);
        let (l, r) = tuple();
        let at_zero = g.isn(l, r, Instant::ZERO);
        // 1 s = 250 000 ticks of 4 µs.
        assert_eq!(
            g.isn(l, r, Instant::from_millis(1000)).since(at_zero),
            250_000
        );
        // Less than one tick does not move it.
        assert_eq!(g.isn(l, r, Instant::from_nanos(3_999)), at_zero);
        assert_eq!(g.isn(l, r, Instant::from_nanos(4_000)), at_zero + 1);
        // The clock wraps modulo 2^32 ticks (about 4.77 hours).
        let wrap = Instant::from_nanos(CLOCK_TICK_NANOS << 32);
        assert_eq!(g.isn(l, r, wrap), at_zero);
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let g = IsnGenerator::new([0xab; 16]);
        let shown = format!("{g:?}");
        assert!(!shown.contains("171") && !shown.contains("ab"), "{shown}");
    }
}
