//! Parsers for the human inputs of the lab (CLI flags, scenario files):
//! durations (`20ms`, `1.5s`), link rates (`100Mbit`, `1Gbps`) and
//! probabilities (`1%`, `0.01`).
//!
//! Numbers are parsed as exact decimals (never through `f64` for durations
//! and rates), so `1.1s` is exactly 1 100 000 000 ns.

use core::fmt;
use core::str::FromStr;

use tcp_core::time::Duration;
use thiserror::Error;

/// What kind of value was being parsed, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    Duration,
    Bandwidth,
    Probability,
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Quantity::Duration => "duration",
            Quantity::Bandwidth => "bandwidth",
            Quantity::Probability => "probability",
        })
    }
}

/// Why a human input was rejected. Every variant names the input.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("empty {what}")]
    Empty { what: Quantity },
    #[error("{what} {input:?} does not start with a number")]
    InvalidNumber { what: Quantity, input: String },
    #[error("{what} {input:?} is negative")]
    Negative { what: Quantity, input: String },
    #[error("duration {input:?} has no unit (use ns, us, ms, s, min or h, e.g. \"{input}ms\")")]
    MissingUnit { input: String },
    #[error("{what} {input:?} has an unknown unit {unit:?} (expected {expected})")]
    UnknownUnit {
        what: Quantity,
        input: String,
        unit: String,
        expected: &'static str,
    },
    #[error("{what} {input:?} is too large")]
    Overflow { what: Quantity, input: String },
    #[error("{what} {input:?} is finer than the smallest unit ({smallest})")]
    TooPrecise {
        what: Quantity,
        input: String,
        smallest: &'static str,
    },
    #[error(
        "probability {input:?} is out of range (a fraction in 0..=1 or a percentage in 0%..=100%)"
    )]
    OutOfRange { input: String },
}

/// An exact decimal: `mantissa / 10^scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Decimal {
    mantissa: u128,
    scale: u32,
}

impl Decimal {
    /// `self * factor`, as an exact integer, or `None` when the product has a
    /// fractional part. `Err(())` on overflow.
    fn times_exact(self, factor: u128) -> Result<Option<u128>, ()> {
        let product = self.mantissa.checked_mul(factor).ok_or(())?;
        let divisor = 10u128.checked_pow(self.scale).ok_or(())?;
        if product % divisor == 0 {
            Ok(Some(product / divisor))
        } else {
            Ok(None)
        }
    }
}

/// Splits `input` (already trimmed) into a leading decimal number and the
/// rest (the unit, with surrounding spaces removed).
fn split_number(input: &str, what: Quantity) -> Result<(Decimal, &str), ParseError> {
    if input.is_empty() {
        return Err(ParseError::Empty { what });
    }
    if input.starts_with('-') {
        return Err(ParseError::Negative {
            what,
            input: input.to_owned(),
        });
    }
    let body = input.strip_prefix('+').unwrap_or(input);
    let end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(body.len());
    let (number, unit) = body.split_at(end);
    let invalid = || ParseError::InvalidNumber {
        what,
        input: input.to_owned(),
    };
    let overflow = || ParseError::Overflow {
        what,
        input: input.to_owned(),
    };
    let mut mantissa: u128 = 0;
    let mut scale: u32 = 0;
    let mut digits = 0usize;
    let mut seen_point = false;
    for c in number.chars() {
        match c {
            '_' => {}
            '.' if !seen_point => seen_point = true,
            '.' => return Err(invalid()),
            d => {
                let v = u128::from(d.to_digit(10).ok_or_else(invalid)?);
                mantissa = mantissa
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(v))
                    .ok_or_else(overflow)?;
                digits += 1;
                if seen_point {
                    scale += 1;
                }
            }
        }
    }
    if digits == 0 {
        return Err(invalid());
    }
    Ok((Decimal { mantissa, scale }, unit.trim()))
}

/// Parses a duration: a decimal number and a unit among `ns`, `us` (or
/// `µs`), `ms`, `s`, `min`, `h` (case-insensitive, optional space between).
/// A bare `0` is accepted; any other number needs a unit.
///
/// ```
/// use conformance::sim::parse_duration;
/// use tcp_core::time::Duration;
/// assert_eq!(parse_duration("20ms").unwrap(), Duration::from_millis(20));
/// assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
/// assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
/// ```
pub fn parse_duration(input: &str) -> Result<Duration, ParseError> {
    const WHAT: Quantity = Quantity::Duration;
    let trimmed = input.trim();
    let (number, unit) = split_number(trimmed, WHAT)?;
    let nanos_per_unit: u128 = match unit.to_ascii_lowercase().as_str() {
        "" if number.mantissa == 0 => 1,
        "" => {
            return Err(ParseError::MissingUnit {
                input: trimmed.to_owned(),
            })
        }
        "ns" | "nsec" => 1,
        "us" | "µs" | "μs" | "usec" => 1_000,
        "ms" | "msec" => 1_000_000,
        "s" | "sec" | "secs" => 1_000_000_000,
        "min" | "mins" => 60_000_000_000,
        "h" | "hr" | "hrs" => 3_600_000_000_000,
        _ => {
            return Err(ParseError::UnknownUnit {
                what: WHAT,
                input: trimmed.to_owned(),
                unit: unit.to_owned(),
                expected: "ns, us, ms, s, min or h",
            })
        }
    };
    let nanos = number
        .times_exact(nanos_per_unit)
        .map_err(|()| ParseError::Overflow {
            what: WHAT,
            input: trimmed.to_owned(),
        })?
        .ok_or_else(|| ParseError::TooPrecise {
            what: WHAT,
            input: trimmed.to_owned(),
            smallest: "1ns",
        })?;
    let nanos = u64::try_from(nanos).map_err(|_| ParseError::Overflow {
        what: WHAT,
        input: trimmed.to_owned(),
    })?;
    Ok(Duration::from_nanos(nanos))
}

/// A link rate in bits per second; [`Bandwidth::UNLIMITED`] (0) means the
/// link serializes instantly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bandwidth(pub u64);

impl Bandwidth {
    pub const UNLIMITED: Bandwidth = Bandwidth(0);

    pub fn bits_per_sec(bps: u64) -> Bandwidth {
        Bandwidth(bps)
    }

    pub fn kbit(k: u64) -> Bandwidth {
        Bandwidth(k.saturating_mul(1_000))
    }

    pub fn mbit(m: u64) -> Bandwidth {
        Bandwidth(m.saturating_mul(1_000_000))
    }

    pub fn gbit(g: u64) -> Bandwidth {
        Bandwidth(g.saturating_mul(1_000_000_000))
    }

    pub fn is_unlimited(self) -> bool {
        self.0 == 0
    }

    pub fn as_bits_per_sec(self) -> u64 {
        self.0
    }

    /// Time to put `bytes` on the wire, rounded up to the next nanosecond;
    /// zero when unlimited.
    pub fn serialization_delay(self, bytes: usize) -> Duration {
        if self.0 == 0 {
            return Duration::ZERO;
        }
        let bits = (bytes as u128) * 8;
        let nanos = (bits * 1_000_000_000).div_ceil(u128::from(self.0));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bps = self.0;
        if bps == 0 {
            return f.write_str("unlimited");
        }
        // The largest unit that divides the rate exactly (MSRV 1.85: no
        // `is_multiple_of`).
        for (unit, name) in [
            (1_000_000_000, "Gbit"),
            (1_000_000, "Mbit"),
            (1_000, "kbit"),
        ] {
            let (whole, rest) = (bps / unit, bps % unit);
            if rest == 0 {
                return write!(f, "{whole}{name}");
            }
        }
        write!(f, "{bps}bit")
    }
}

impl FromStr for Bandwidth {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Bandwidth, ParseError> {
        parse_bandwidth(s)
    }
}

/// Parses a link rate. Accepted forms:
/// * `0`, `inf`, `unlimited`, `none`: an unlimited link;
/// * a decimal number, an optional SI prefix `k`, `M`, `G`, `T` (any case,
///   powers of 1000; `Ki`, `Mi`, `Gi`, `Ti` for powers of 1024), then a
///   suffix: nothing, `bit`, `bits`, `bit/s`, `b`, `bps` or `b/s` for bits
///   per second, or `B`, `Bps`, `B/s`, `byte`, `bytes` for bytes per second.
///
/// So `10M` = `10Mbit` = `10Mbps` = 10 000 000 bit/s and `1MBps` = 8 000 000
/// bit/s. Note: unlike `tc`, `bps` means *bits* per second here.
pub fn parse_bandwidth(input: &str) -> Result<Bandwidth, ParseError> {
    const WHAT: Quantity = Quantity::Bandwidth;
    const EXPECTED: &str = "an optional k/M/G/T prefix then bit, bps or B (bytes), e.g. 100Mbit";
    let trimmed = input.trim();
    if matches!(
        trimmed.to_ascii_lowercase().as_str(),
        "inf" | "infinite" | "infinity" | "unlimited" | "none"
    ) {
        return Ok(Bandwidth::UNLIMITED);
    }
    let (number, unit) = split_number(trimmed, WHAT)?;
    let unknown = || ParseError::UnknownUnit {
        what: WHAT,
        input: trimmed.to_owned(),
        unit: unit.to_owned(),
        expected: EXPECTED,
    };
    let (multiplier, suffix) = split_prefix(unit);
    let bits_per_unit: u128 = match suffix {
        "" | "b" | "bps" | "b/s" => 1,
        s if s.eq_ignore_ascii_case("bit")
            || s.eq_ignore_ascii_case("bits")
            || s.eq_ignore_ascii_case("bit/s")
            || s.eq_ignore_ascii_case("bits/s") =>
        {
            1
        }
        "B" | "Bps" | "B/s" => 8,
        s if s.eq_ignore_ascii_case("byte") || s.eq_ignore_ascii_case("bytes") => 8,
        _ => return Err(unknown()),
    };
    let bps = number
        .times_exact(multiplier * bits_per_unit)
        .map_err(|()| ParseError::Overflow {
            what: WHAT,
            input: trimmed.to_owned(),
        })?
        .ok_or_else(|| ParseError::TooPrecise {
            what: WHAT,
            input: trimmed.to_owned(),
            smallest: "1 bit/s",
        })?;
    let bps = u64::try_from(bps).map_err(|_| ParseError::Overflow {
        what: WHAT,
        input: trimmed.to_owned(),
    })?;
    Ok(Bandwidth(bps))
}

/// Splits an SI or binary prefix off a rate unit. Returns (multiplier, rest).
fn split_prefix(unit: &str) -> (u128, &str) {
    let mut chars = unit.chars();
    let decimal: u128 = match chars.next() {
        Some('k' | 'K') => 1_000,
        Some('m' | 'M') => 1_000_000,
        Some('g' | 'G') => 1_000_000_000,
        Some('t' | 'T') => 1_000_000_000_000,
        _ => return (1, unit),
    };
    // Every prefix letter is ASCII, so byte offsets 1 and 2 are boundaries.
    let rest = &unit[1..];
    if let Some(after_i) = rest.strip_prefix('i') {
        let power = match decimal {
            1_000 => 1,
            1_000_000 => 2,
            1_000_000_000 => 3,
            _ => 4,
        };
        return (1024u128.pow(power), after_i);
    }
    (decimal, rest)
}

/// Parses a probability: a percentage (`1%`, `0.5 %`, `100%`) or a fraction
/// in `0..=1` (`0.01`, `1`). `50` without `%` is rejected as out of range
/// rather than silently read as 50 %.
pub fn parse_percent(input: &str) -> Result<f64, ParseError> {
    const WHAT: Quantity = Quantity::Probability;
    let trimmed = input.trim();
    let (number, unit) = split_number(trimmed, WHAT)?;
    let divisor = match unit {
        "" => 1.0,
        "%" => 100.0,
        _ => {
            return Err(ParseError::UnknownUnit {
                what: WHAT,
                input: trimmed.to_owned(),
                unit: unit.to_owned(),
                expected: "% or nothing (a fraction)",
            })
        }
    };
    // Exactness does not matter here: the value becomes a 64-bit threshold.
    let value = number.mantissa as f64 / 10f64.powi(number.scale as i32) / divisor;
    if !(0.0..=1.0).contains(&value) {
        return Err(ParseError::OutOfRange {
            input: trimmed.to_owned(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_unit() {
        let cases = [
            ("20ms", Duration::from_millis(20)),
            ("1.5s", Duration::from_millis(1500)),
            ("250us", Duration::from_micros(250)),
            ("250µs", Duration::from_micros(250)),
            ("7ns", Duration::from_nanos(7)),
            ("0", Duration::ZERO),
            ("0.0", Duration::ZERO),
            ("0ms", Duration::ZERO),
            (" 20 ms ", Duration::from_millis(20)),
            ("2min", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("1.1s", Duration::from_nanos(1_100_000_000)),
            ("0.000000001s", Duration::from_nanos(1)),
            ("1_000ms", Duration::from_secs(1)),
            ("20MS", Duration::from_millis(20)),
            (".5s", Duration::from_millis(500)),
        ];
        for (input, want) in cases {
            assert_eq!(parse_duration(input), Ok(want), "{input}");
        }
    }

    #[test]
    fn duration_errors_name_the_input() {
        assert_eq!(
            parse_duration(""),
            Err(ParseError::Empty {
                what: Quantity::Duration
            })
        );
        assert_eq!(
            parse_duration("20"),
            Err(ParseError::MissingUnit {
                input: "20".to_owned()
            })
        );
        let unknown = parse_duration("20 parsecs").unwrap_err();
        assert!(matches!(&unknown, ParseError::UnknownUnit { unit, .. } if unit == "parsecs"));
        assert!(unknown.to_string().contains("\"20 parsecs\""), "{unknown}");
        assert!(matches!(
            parse_duration("ms"),
            Err(ParseError::InvalidNumber { .. })
        ));
        assert!(matches!(
            parse_duration("1.2.3s"),
            Err(ParseError::InvalidNumber { .. })
        ));
        assert!(matches!(
            parse_duration("-5ms"),
            Err(ParseError::Negative { .. })
        ));
        assert!(matches!(
            parse_duration("0.5ns"),
            Err(ParseError::TooPrecise { .. })
        ));
        assert!(matches!(
            parse_duration("99999999999h"),
            Err(ParseError::Overflow { .. })
        ));
        assert!(matches!(
            parse_duration("999999999999999999999999999999999999999999s"),
            Err(ParseError::Overflow { .. })
        ));
    }

    #[test]
    fn bandwidths_in_every_notation() {
        let cases = [
            ("100Mbit", 100_000_000),
            ("1Gbps", 1_000_000_000),
            ("10M", 10_000_000),
            ("10mbit", 10_000_000),
            ("12 Mbit/s", 12_000_000),
            ("1.5Gbit", 1_500_000_000),
            ("64kbit", 64_000),
            ("64K", 64_000),
            ("1MBps", 8_000_000),
            ("1 MB/s", 8_000_000),
            ("1KiB", 8_192),
            ("1Mibit", 1_048_576),
            ("9600", 9_600),
            ("9600bps", 9_600),
            ("0", 0),
            ("inf", 0),
            ("Unlimited", 0),
        ];
        for (input, want) in cases {
            assert_eq!(parse_bandwidth(input), Ok(Bandwidth(want)), "{input}");
        }
        assert!(parse_bandwidth("0").unwrap().is_unlimited());
        assert_eq!("100Mbit".parse::<Bandwidth>(), Ok(Bandwidth::mbit(100)));
    }

    #[test]
    fn bandwidth_errors_name_the_input() {
        let err = parse_bandwidth("100Mfurlongs").unwrap_err();
        assert!(matches!(&err, ParseError::UnknownUnit { unit, .. } if unit == "Mfurlongs"));
        assert!(err.to_string().contains("100Mfurlongs"), "{err}");
        assert!(matches!(
            parse_bandwidth("1.5bit"),
            Err(ParseError::TooPrecise { .. })
        ));
        assert!(matches!(
            parse_bandwidth("fast"),
            Err(ParseError::InvalidNumber { .. })
        ));
        assert!(matches!(
            parse_bandwidth("-1M"),
            Err(ParseError::Negative { .. })
        ));
        assert!(matches!(
            parse_bandwidth("100000000Tbit"),
            Err(ParseError::Overflow { .. })
        ));
        assert!(matches!(
            parse_bandwidth("  "),
            Err(ParseError::Empty { .. })
        ));
        assert!(matches!(
            parse_bandwidth("10BPS"),
            Err(ParseError::UnknownUnit { .. })
        ));
    }

    #[test]
    fn bandwidth_display_round_trips() {
        for bps in [
            0u64,
            1,
            9_600,
            64_000,
            12_000_000,
            1_000_000_000,
            1_500_000_000,
        ] {
            let b = Bandwidth(bps);
            assert_eq!(parse_bandwidth(&b.to_string()), Ok(b), "{b}");
        }
    }

    #[test]
    fn serialization_delay_is_bits_over_rate() {
        // 1500 bytes = 12 000 bits at 12 Mbit/s: exactly 1 ms.
        assert_eq!(
            Bandwidth::mbit(12).serialization_delay(1500),
            Duration::from_millis(1)
        );
        // 1 byte at 3 bit/s: 8/3 s, rounded up to the nanosecond.
        assert_eq!(
            Bandwidth(3).serialization_delay(1),
            Duration::from_nanos(2_666_666_667)
        );
        assert_eq!(
            Bandwidth::UNLIMITED.serialization_delay(1500),
            Duration::ZERO
        );
    }

    #[test]
    fn percentages_and_fractions() {
        let cases = [
            ("1%", 0.01),
            ("0.01", 0.01),
            ("0", 0.0),
            ("1", 1.0),
            ("100%", 1.0),
            ("0.5 %", 0.005),
            ("12.5%", 0.125),
        ];
        for (input, want) in cases {
            let got = parse_percent(input).unwrap();
            assert!((got - want).abs() < 1e-12, "{input}: {got} != {want}");
        }
    }

    #[test]
    fn percent_errors_name_the_input() {
        assert_eq!(
            parse_percent("50"),
            Err(ParseError::OutOfRange {
                input: "50".to_owned()
            })
        );
        assert!(matches!(
            parse_percent("101%"),
            Err(ParseError::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_percent("-1%"),
            Err(ParseError::Negative { .. })
        ));
        assert!(matches!(
            parse_percent("5 percent"),
            Err(ParseError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_percent("%"),
            Err(ParseError::InvalidNumber { .. })
        ));
        assert!(parse_percent("abc")
            .unwrap_err()
            .to_string()
            .contains("abc"));
    }
}
