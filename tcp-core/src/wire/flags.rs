//! TCP control bits (RFC 9293 §3.1; ECE and CWR from RFC 3168 §6.1).

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign, Not};
use core::str::FromStr;

/// The eight control bits of byte 13 of the TCP header.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    /// No more data from sender.
    pub const FIN: Flags = Flags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: Flags = Flags(0x02);
    /// Reset the connection.
    pub const RST: Flags = Flags(0x04);
    /// Push function.
    pub const PSH: Flags = Flags(0x08);
    /// Acknowledgment field is significant.
    pub const ACK: Flags = Flags(0x10);
    /// Urgent pointer field is significant.
    pub const URG: Flags = Flags(0x20);
    /// ECN-Echo (RFC 3168 §6.1).
    pub const ECE: Flags = Flags(0x40);
    /// Congestion Window Reduced (RFC 3168 §6.1).
    pub const CWR: Flags = Flags(0x80);

    /// No bits set.
    pub const fn empty() -> Flags {
        Flags(0)
    }

    /// The raw byte.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// True if every bit of `other` is set in `self`.
    #[inline]
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// True if any bit of `other` is set in `self`.
    #[inline]
    pub const fn intersects(self, other: Flags) -> bool {
        self.0 & other.0 != 0
    }

    /// True if no bit is set.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Sets the bits of `other`.
    #[inline]
    pub fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    /// Clears the bits of `other`.
    #[inline]
    pub fn remove(&mut self, other: Flags) {
        self.0 &= !other.0;
    }
}

impl BitOr for Flags {
    type Output = Flags;
    #[inline]
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    #[inline]
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Flags {
    type Output = Flags;
    #[inline]
    fn bitand(self, rhs: Flags) -> Flags {
        Flags(self.0 & rhs.0)
    }
}

impl Not for Flags {
    type Output = Flags;
    #[inline]
    fn not(self) -> Flags {
        Flags(!self.0)
    }
}

/// Packetdrill letters, in bit order: `F S R P . U E W`.
const LETTERS: [(Flags, char); 8] = [
    (Flags::FIN, 'F'),
    (Flags::SYN, 'S'),
    (Flags::RST, 'R'),
    (Flags::PSH, 'P'),
    (Flags::ACK, '.'),
    (Flags::URG, 'U'),
    (Flags::ECE, 'E'),
    (Flags::CWR, 'W'),
];

/// Packetdrill notation: `S` (SYN), `S.` (SYN+ACK), `.` (ACK), `P.`, `F.`,
/// `R`, `R.`, `SEW`; no bits set prints as the empty string.
impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (flag, letter) in LETTERS {
            if self.contains(flag) {
                fmt::Write::write_char(f, letter)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({self})")
    }
}

/// A character that is not a packetdrill flag letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{ch:?} is not a TCP flag letter (one of F S R P . U E W)")]
pub struct ParseFlagsError {
    /// The offending character.
    pub ch: char,
}

/// Parses packetdrill notation, letters in any order (`"S."`, `".S"`,
/// `"SEW"`); the empty string is no flags.
impl FromStr for Flags {
    type Err = ParseFlagsError;

    fn from_str(s: &str) -> Result<Flags, ParseFlagsError> {
        let mut flags = Flags::empty();
        for ch in s.chars() {
            let Some((flag, _)) = LETTERS.iter().find(|(_, l)| *l == ch) else {
                return Err(ParseFlagsError { ch });
            };
            flags |= *flag;
        }
        Ok(flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_uses_packetdrill_letters() {
        assert_eq!(Flags::SYN.to_string(), "S");
        assert_eq!((Flags::SYN | Flags::ACK).to_string(), "S.");
        assert_eq!((Flags::FIN | Flags::ACK).to_string(), "F.");
        assert_eq!((Flags::PSH | Flags::ACK).to_string(), "P.");
        assert_eq!(Flags::RST.to_string(), "R");
        assert_eq!((Flags::RST | Flags::ACK).to_string(), "R.");
        assert_eq!(Flags::ACK.to_string(), ".");
        assert_eq!((Flags::SYN | Flags::ECE | Flags::CWR).to_string(), "SEW");
        assert_eq!(Flags::empty().to_string(), "");
        assert_eq!(Flags(0xff).to_string(), "FSRP.UEW");
    }

    #[test]
    fn from_str_inverts_display_for_every_byte() {
        for b in 0..=255u8 {
            let f = Flags(b);
            assert_eq!(f.to_string().parse::<Flags>(), Ok(f));
        }
        assert_eq!(".S".parse::<Flags>(), Ok(Flags::SYN | Flags::ACK));
        assert_eq!("SX".parse::<Flags>(), Err(ParseFlagsError { ch: 'X' }));
    }

    #[test]
    fn contains_and_set_operations() {
        let mut f = Flags::SYN | Flags::ACK;
        assert!(f.contains(Flags::SYN));
        assert!(f.contains(Flags::SYN | Flags::ACK));
        assert!(!f.contains(Flags::SYN | Flags::FIN));
        assert!(f.intersects(Flags::SYN | Flags::FIN));
        assert!(!f.intersects(Flags::FIN | Flags::RST));
        f.remove(Flags::SYN);
        assert_eq!(f, Flags::ACK);
        f.insert(Flags::FIN);
        assert_eq!(f, Flags::FIN | Flags::ACK);
        assert_eq!(f & !Flags::ACK, Flags::FIN);
        assert!(Flags::empty().is_empty());
        assert_eq!(format!("{:?}", Flags::SYN | Flags::ACK), "Flags(S.)");
    }
}
