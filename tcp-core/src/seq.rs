//! Sequence-space arithmetic modulo 2^32 (RFC 9293 §3.4).
//!
//! Comparisons are only meaningful between numbers less than 2^31 apart,
//! which TCP guarantees for any two numbers inside one window.

use core::fmt;
use core::ops::{Add, AddAssign, Sub, SubAssign};

/// A TCP sequence (or acknowledgment) number.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// `self < other` in sequence space.
    #[inline]
    pub fn lt(self, other: SeqNum) -> bool {
        (self.0.wrapping_sub(other.0) as i32) < 0
    }

    /// `self <= other` in sequence space.
    #[inline]
    pub fn le(self, other: SeqNum) -> bool {
        (self.0.wrapping_sub(other.0) as i32) <= 0
    }

    /// `self > other` in sequence space.
    #[inline]
    pub fn gt(self, other: SeqNum) -> bool {
        other.lt(self)
    }

    /// `self >= other` in sequence space.
    #[inline]
    pub fn ge(self, other: SeqNum) -> bool {
        other.le(self)
    }

    /// `lo <= self < hi` in sequence space (empty when `lo == hi`).
    #[inline]
    pub fn in_range(self, lo: SeqNum, hi: SeqNum) -> bool {
        self.0.wrapping_sub(lo.0) < hi.0.wrapping_sub(lo.0)
    }

    /// The later of two numbers.
    #[inline]
    pub fn max(self, other: SeqNum) -> SeqNum {
        if self.lt(other) {
            other
        } else {
            self
        }
    }

    /// The earlier of two numbers.
    #[inline]
    pub fn min(self, other: SeqNum) -> SeqNum {
        if self.lt(other) {
            self
        } else {
            other
        }
    }

    /// Distance from `earlier` to `self` (`self - earlier` modulo 2^32).
    #[inline]
    pub fn since(self, earlier: SeqNum) -> u32 {
        self.0.wrapping_sub(earlier.0)
    }
}

impl Add<u32> for SeqNum {
    type Output = SeqNum;
    #[inline]
    fn add(self, rhs: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(rhs))
    }
}

impl AddAssign<u32> for SeqNum {
    #[inline]
    fn add_assign(&mut self, rhs: u32) {
        self.0 = self.0.wrapping_add(rhs);
    }
}

impl Sub<u32> for SeqNum {
    type Output = SeqNum;
    #[inline]
    fn sub(self, rhs: u32) -> SeqNum {
        SeqNum(self.0.wrapping_sub(rhs))
    }
}

impl SubAssign<u32> for SeqNum {
    #[inline]
    fn sub_assign(&mut self, rhs: u32) {
        self.0 = self.0.wrapping_sub(rhs);
    }
}

impl fmt::Debug for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn comparisons_wrap_around_2_pow_32() {
        let a = SeqNum(u32::MAX - 5);
        let b = a + 10;
        assert_eq!(b.0, 4);
        assert!(a.lt(b) && a.le(b) && b.gt(a) && b.ge(a));
        assert!(!b.lt(a));
        assert_eq!(b.since(a), 10);
        assert_eq!(a.max(b), b);
        assert_eq!(a.min(b), a);
        assert!((a + 3).in_range(a, b));
        assert!(!b.in_range(a, b));
        assert!(!a.in_range(a, a));
    }

    proptest! {
        #[test]
        fn order_is_consistent_near_wrap(base in any::<u32>(), d in 1u32..(1 << 30)) {
            let a = SeqNum(base);
            let b = a + d;
            prop_assert!(a.lt(b));
            prop_assert!(!b.lt(a));
            prop_assert_eq!(b - d, a);
            prop_assert_eq!(b.since(a), d);
            prop_assert!(a.in_range(a, b));
            prop_assert!(!b.in_range(a, b));
        }
    }
}
