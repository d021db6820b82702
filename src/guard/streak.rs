//! The low-value exemption of PSD2 (RTS art. 16): small payments without the SMS code, within
//! a count and a total since the last payment authorized by a code. The PIN is always checked.
//!
//! The streak lives in the number's guard record, beside the spending ledger, so that the
//! right PIN decides a payment's exemption in the same compare-and-swap that reserves its
//! amount: payments racing for the last exempt place are decided one after the other. The
//! streak lists its tickets one by one, with the time each lapses, so that the payments let
//! through without a code are known exactly, whatever the ledger merges and whatever the policy
//! says later.

use crate::Error;
use crate::codec::{Reader, Writer};
use crate::ids::PaymentId;
use crate::money::Amount;
use crate::policy::Policy;
use crate::time::Timestamp;

/// The most tickets a streak holds: the largest `exemption_max_payments` the policy allows.
pub(crate) const MAX_TICKETS: u8 = 5;

/// A payment let through without its code: an exemption ticket, used or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ticket {
    payment: PaymentId,
    /// Its amount, in euro cents.
    minor_units: u64,
    /// When the ticket can no longer be used: its payment's expiry, fixed when the payment was
    /// made, whatever `payment_ttl` says later.
    lapses_at: Timestamp,
}

/// The payments let through without a code since the last one authorized by a code, oldest
/// first: their count and total are what RTS art. 16 bounds.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Streak {
    tickets: Vec<Ticket>,
}

impl Streak {
    /// Whether a payment of `amount` may go without a code: the policy allows it, the amount
    /// is in euros and within the per-payment figure, and the streak stays within the count
    /// and the total with it.
    pub(crate) fn admits(&self, amount: Amount, policy: &Policy) -> bool {
        let total = self.tickets.iter().fold(amount.minor_units(), |sum, t| {
            sum.saturating_add(t.minor_units)
        });
        policy.exempts(amount)
            && self.tickets.len() < usize::from(policy.exemption_max_payments)
            && total <= policy.exemption_max_cumulative
    }

    /// The streak with the ticket of `payment`, of `amount`, good until `lapses_at`.
    pub(crate) fn with(&self, payment: PaymentId, amount: Amount, lapses_at: Timestamp) -> Self {
        let mut tickets = self.tickets.clone();
        tickets.push(Ticket {
            payment,
            minor_units: amount.minor_units(),
            lapses_at,
        });
        Self { tickets }
    }

    /// Whether `payment` holds a ticket of the streak.
    pub(crate) fn holds(&self, payment: PaymentId) -> bool {
        self.tickets.iter().any(|t| t.payment == payment)
    }

    /// The streak without the ticket of `payment`, which failed; `None` when it holds none.
    pub(crate) fn without(&self, payment: PaymentId) -> Option<Self> {
        let at = self.tickets.iter().position(|t| t.payment == payment)?;
        let mut tickets = self.tickets.clone();
        tickets.remove(at);
        Some(Self { tickets })
    }

    /// The payments whose tickets may still be in use at `now`, `payment` aside: those whose
    /// payment has not expired.
    pub(crate) fn outstanding(
        &self,
        payment: PaymentId,
        now: Timestamp,
    ) -> impl Iterator<Item = PaymentId> {
        self.tickets
            .iter()
            .filter(move |t| t.payment != payment && now < t.lapses_at)
            .map(|t| t.payment)
    }

    /// The streak after a payment was authorized by its code, a full authentication: only the
    /// `pending` tickets stay (of the [outstanding ones](Streak::outstanding), those not known
    /// to be used), since they may still be authorized without a code, and a code must not
    /// reopen the room they take.
    pub(crate) fn after_code(&self, pending: &[PaymentId]) -> Self {
        let tickets = self
            .tickets
            .iter()
            .filter(|t| pending.contains(&t.payment))
            .copied()
            .collect();
        Self { tickets }
    }

    /// A count, then each ticket: payment id, amount as a varint, the time it lapses.
    pub(crate) fn write(&self, w: &mut Writer) {
        w.list(&self.tickets, MAX_TICKETS, |w, ticket| {
            w.bytes(ticket.payment.as_bytes());
            w.varint(ticket.minor_units);
            w.time(ticket.lapses_at);
        });
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let count = r.count(MAX_TICKETS)?;
        let tickets = (0..count)
            .map(|_| {
                let payment = PaymentId::from_bytes(r.array()?);
                if payment == PaymentId::none() {
                    return Err(Error::Tampered);
                }
                Ok(Ticket {
                    payment,
                    minor_units: r.varint()?,
                    lapses_at: r.time()?,
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Self { tickets })
    }

    /// The most bytes [`Streak::write`] takes.
    pub(crate) const MAX_LEN: usize = 1 + MAX_TICKETS as usize * (16 + 10 + 8);

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.tickets.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.tickets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    const T0: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);

    fn on() -> Policy {
        Policy {
            low_value_exemption: true,
            ..Policy::default()
        }
    }

    fn eur(minor: u64) -> Amount {
        Amount::new(minor, Currency::EUR).unwrap()
    }

    fn of(amounts: &[u64]) -> Streak {
        amounts.iter().fold(Streak::default(), |s, minor| {
            s.with(PaymentId::random(), eur(*minor), T0)
        })
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
        let four = of(&[2_000; 4]);
        assert!(four.admits(eur(2_000), &policy), "EUR 100 in all");
        assert!(!four.admits(eur(2_001), &policy), "no more than EUR 100");
        assert!(
            !of(&[100; 5]).admits(eur(1), &policy),
            "five in a row at most"
        );
    }

    #[test]
    fn a_failed_ticket_gives_its_place_back_once() {
        let first = PaymentId::random();
        let streak = of(&[100; 4]).with(first, eur(100), T0);
        let released = streak.without(first).unwrap();
        assert_eq!(released.len(), 4);
        assert!(released.admits(eur(100), &on()));
        assert!(released.without(first).is_none());
    }

    #[test]
    fn tickets_lapse_with_their_payments_and_a_code_keeps_the_pending_ones() {
        let minute = |m: u64| T0.saturating_add(core::time::Duration::from_secs(60 * m));
        let (early, late, code) = (
            PaymentId::random(),
            PaymentId::random(),
            PaymentId::random(),
        );
        let streak = Streak::default()
            .with(early, eur(100), minute(15))
            .with(late, eur(100), minute(60))
            .with(code, eur(100), minute(60));
        let outstanding: Vec<_> = streak.outstanding(code, minute(15)).collect();
        assert_eq!(outstanding, [late], "lapsed at its payment's expiry");
        let kept = streak.after_code(&outstanding);
        assert!(kept.holds(late) && !kept.holds(early) && !kept.holds(code));
        assert!(streak.after_code(&[]).is_empty());
    }
}
