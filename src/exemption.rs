//! The low-value exemption of PSD2 (RTS art. 16): small payments without the SMS code, within
//! a count and a total since the last payment authorized by a code. The PIN is always checked.
//!
//! The streak lives in the number's spending ledger, so that the right PIN decides a payment's
//! exemption in the same compare-and-swap that reserves its amount: payments racing for the
//! last exempt place are decided one after the other.

use crate::Error;
use crate::codec::{Reader, Writer};
use crate::money::Amount;
use crate::policy::Policy;

/// The payments let through without a code since the last one authorized by a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Streak {
    /// How many.
    count: u8,
    /// Their total, in euro cents.
    total: u64,
}

impl Streak {
    /// Whether a payment of `amount` may go without a code: the policy allows it, the amount
    /// is in euros and within the per-payment figure, and the streak stays within the count
    /// and the total with it.
    pub(crate) fn admits(&self, amount: Amount, policy: &Policy) -> bool {
        let minor = amount.minor_units();
        policy.exempts(amount)
            && self.count < policy.exemption_max_payments
            && self.total.saturating_add(minor) <= policy.exemption_max_cumulative
    }

    /// The streak with one more exempt payment of `minor` cents.
    pub(crate) fn with(self, minor: u64) -> Self {
        Self {
            count: self.count.saturating_add(1),
            total: self.total.saturating_add(minor),
        }
    }

    /// The streak without an exempt payment of `minor` cents that failed.
    pub(crate) fn without(self, minor: u64) -> Self {
        Self {
            count: self.count.saturating_sub(1),
            total: self.total.saturating_sub(minor),
        }
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        w.u8(self.count);
        w.u64(self.total);
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            count: r.u8()?,
            total: r.u64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn on() -> Policy {
        Policy {
            low_value_exemption: true,
            ..Policy::default()
        }
    }

    fn eur(minor: u64) -> Amount {
        Amount::new(minor, Currency::EUR).unwrap()
    }

    #[test]
    fn off_by_default() {
        assert!(!Streak::default().admits(eur(100), &Policy::default()));
        assert!(Streak::default().admits(eur(100), &on()));
    }

    #[test]
    fn each_rule_of_article_16() {
        let policy = on();
        let empty = Streak::default();
        assert!(empty.admits(eur(3_000), &policy));
        assert!(!empty.admits(eur(3_001), &policy), "at most EUR 30 each");
        let pounds = Amount::new(100, Currency::GBP).unwrap();
        assert!(!empty.admits(pounds, &policy), "euros only");
        let four = (0..4).fold(empty, |s, _| s.with(2_000));
        assert!(four.admits(eur(2_000), &policy), "EUR 100 in all");
        assert!(!four.admits(eur(2_001), &policy), "no more than EUR 100");
        let five = (0..5).fold(empty, |s, _| s.with(100));
        assert!(!five.admits(eur(1), &policy), "five in a row at most");
        assert_eq!(five.without(100), (0..4).fold(empty, |s, _| s.with(100)));
        assert!(empty.without(100).is_empty());
    }
}
