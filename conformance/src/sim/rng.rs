//! The simulator's own small seeded PRNGs, so that a seed fixes a run byte
//! for byte on every platform and with every version of every dependency.
//!
//! * [`SplitMix64`] (Steele, Lea and Flood, "Fast splittable pseudorandom
//!   number generators", OOPSLA 2014) turns one 64-bit seed into a stream of
//!   well-mixed words; it seeds the main generator and derives per-link seeds.
//! * [`Xoshiro256StarStar`] (Blackman and Vigna, "Scrambled linear
//!   pseudorandom number generators", 2018) is the generator the links draw
//!   from: 256 bits of state, period 2^256 - 1, a few cycles per word.
//!
//! Neither is cryptographic; neither needs to be.

/// SplitMix64: a 64-bit counter passed through a bijective mixing function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

/// The odd constant SplitMix64 adds per step (2^64 / golden ratio).
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Derives the seed of an independent stream (one per link) from the
/// simulation seed, so that adding an impairment to one link never changes
/// the random choices made on another.
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    let mut mixer = SplitMix64::new(seed ^ stream.wrapping_mul(GOLDEN_GAMMA).rotate_left(17));
    // Two rounds so that nearby (seed, stream) pairs land far apart.
    mixer.next_u64();
    mixer.next_u64()
}

/// xoshiro256**: the links' random source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xoshiro256StarStar {
    s: [u64; 4],
}

impl Xoshiro256StarStar {
    /// Seeds the 256-bit state from one word through SplitMix64, as the
    /// generator's authors recommend (this can never yield the all-zero state,
    /// because SplitMix64 is a bijection of a counter that visits four
    /// distinct values).
    pub fn seed_from_u64(seed: u64) -> Xoshiro256StarStar {
        let mut mixer = SplitMix64::new(seed);
        let s = [
            mixer.next_u64(),
            mixer.next_u64(),
            mixer.next_u64(),
            mixer.next_u64(),
        ];
        Xoshiro256StarStar::from_state(s)
    }

    /// A generator with exactly this state. The all-zero state is a fixed
    /// point of the generator, so it is replaced by a fixed non-zero one.
    pub fn from_state(s: [u64; 4]) -> Xoshiro256StarStar {
        if s == [0; 4] {
            return Xoshiro256StarStar::seed_from_u64(0);
        }
        Xoshiro256StarStar { s }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform value in `0..bound` (Lemire's multiply-and-reject method,
    /// unbiased). `bound == 0` yields 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        let mut product = u128::from(self.next_u64()) * u128::from(bound);
        let mut low = product as u64;
        if low < bound {
            // Reject the values of `low` that would over-represent some results.
            let threshold = bound.wrapping_neg() % bound;
            while low < threshold {
                product = u128::from(self.next_u64()) * u128::from(bound);
                low = product as u64;
            }
        }
        (product >> 64) as u64
    }

    /// A uniform `f64` in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `chance` (see [`Chance`]). Draws one word unless
    /// the outcome is certain, so a disabled impairment costs no randomness.
    pub fn roll(&mut self, chance: Chance) -> bool {
        match chance {
            Chance::Never => false,
            Chance::Always => true,
            Chance::Below(threshold) => self.next_u64() < threshold,
        }
    }
}

/// A probability prepared for fast integer comparison against a random word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Chance {
    #[default]
    Never,
    Always,
    /// True when a uniform `u64` is below this threshold (= p · 2^64).
    Below(u64),
}

impl Chance {
    /// Converts a probability. Values at or below 0 (and NaN) never happen;
    /// values at or above 1 always do. Callers validate the range first.
    pub fn from_probability(p: f64) -> Chance {
        if p.is_nan() || p <= 0.0 {
            Chance::Never
        } else if p >= 1.0 {
            Chance::Always
        } else {
            // p < 1, so p · 2^64 < 2^64 and the conversion cannot saturate;
            // it can round to 0 for p < 2^-64, which is "never" in practice.
            let threshold = (p * 18_446_744_073_709_551_616.0) as u64;
            if threshold == 0 {
                Chance::Never
            } else {
                Chance::Below(threshold)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_reference_outputs() {
        // Reference outputs of SplitMix64 for seed 1234567 (the values the
        // generator's public C reference prints).
        let mut g = SplitMix64::new(1_234_567);
        let expected = [
            6_457_827_717_110_365_317u64,
            3_203_168_211_198_807_973,
            9_817_491_932_198_370_423,
            4_593_380_528_125_082_431,
            16_408_922_859_458_223_821,
        ];
        for want in expected {
            assert_eq!(g.next_u64(), want);
        }
    }

    #[test]
    fn xoshiro256starstar_matches_reference_outputs() {
        // State [1, 2, 3, 4]: the first three outputs can be checked by hand
        // from the update rule (11520 = rotl(2·5, 7)·9).
        let mut g = Xoshiro256StarStar::from_state([1, 2, 3, 4]);
        let expected = [11_520u64, 0, 1_509_978_240, 1_215_971_899_390_074_240];
        for want in expected {
            assert_eq!(g.next_u64(), want);
        }
    }

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let mut a = Xoshiro256StarStar::seed_from_u64(7);
        let mut b = Xoshiro256StarStar::seed_from_u64(7);
        let mut c = Xoshiro256StarStar::seed_from_u64(8);
        let xs: Vec<u64> = (0..64).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..64).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..64).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn derived_streams_differ_per_stream_and_seed() {
        assert_ne!(derive_seed(1, 0), derive_seed(1, 1));
        assert_ne!(derive_seed(1, 0), derive_seed(2, 0));
        assert_eq!(derive_seed(5, 3), derive_seed(5, 3));
    }

    #[test]
    fn below_stays_in_range_and_covers_it_uniformly() {
        let mut g = Xoshiro256StarStar::seed_from_u64(99);
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            let v = g.below(10);
            assert!(v < 10);
            counts[v as usize] += 1;
        }
        // Each bucket expects 10 000, σ ≈ 95: ±600 is over 6σ.
        for c in counts {
            assert!((9_400..=10_600).contains(&c), "bucket count {c}");
        }
        assert_eq!(g.below(0), 0);
        assert_eq!(g.below(1), 0);
    }

    #[test]
    fn next_f64_is_in_unit_interval() {
        let mut g = Xoshiro256StarStar::seed_from_u64(3);
        let mut sum = 0.0;
        for _ in 0..10_000 {
            let x = g.next_f64();
            assert!((0.0..1.0).contains(&x));
            sum += x;
        }
        let mean = sum / 10_000.0;
        assert!((0.47..0.53).contains(&mean), "mean {mean}");
    }

    #[test]
    fn chance_edges_and_rate() {
        assert_eq!(Chance::from_probability(0.0), Chance::Never);
        assert_eq!(Chance::from_probability(-1.0), Chance::Never);
        assert_eq!(Chance::from_probability(f64::NAN), Chance::Never);
        assert_eq!(Chance::from_probability(1.0), Chance::Always);
        assert_eq!(Chance::from_probability(0.5), Chance::Below(1 << 63));
        let mut g = Xoshiro256StarStar::seed_from_u64(11);
        let before = g.clone();
        assert!(!g.roll(Chance::Never));
        assert!(g.roll(Chance::Always));
        assert_eq!(g, before, "certain outcomes must not consume randomness");
        let hits = (0..100_000)
            .filter(|_| g.roll(Chance::from_probability(0.25)))
            .count();
        // Expect 25 000, σ ≈ 137: ±800 is almost 6σ.
        assert!((24_200..=25_800).contains(&hits), "hits {hits}");
    }
}
