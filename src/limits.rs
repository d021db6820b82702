//! Spending limits: a number's ledger of reservations, kept in its guard record.
//!
//! A right PIN reserves the payment's amount in the same compare-and-swap that resets the
//! guard, after checking the three limits of the [`Policy`] against what is reserved already:
//! two payments racing for the last room are decided one after the other. A reservation counts
//! as spent until its payment fails, and then the failure gives it back. Every decision here is
//! a pure function of the ledger, the time and the policy.

use core::fmt;
use core::time::Duration;

use crate::Error;
use crate::codec::{Reader, Writer};
use crate::host::Timestamp;
use crate::ids::PaymentId;
use crate::money::{Amount, Currency};
use crate::policy::Policy;

/// Which spending limit a payment would exceed (see [`Error::LimitExceeded`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpendingLimit {
    /// The most one payment may be: [`Policy::max_per_payment`].
    PerPayment,
    /// The most reserved over any 24 hours: [`Policy::max_per_24_hours`].
    Per24Hours,
    /// The most reserved over any 30 days: [`Policy::max_per_30_days`].
    Per30Days,
}

impl fmt::Display for SpendingLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PerPayment => "per-payment",
            Self::Per24Hours => "24-hour",
            Self::Per30Days => "30-day",
        })
    }
}

/// The reservations kept apart; beyond, those of the same day merge (see
/// [`Ledger::merge_if_full`]), which bounds a ledger at 32 reservations.
pub(crate) const MAX_RESERVATIONS: usize = 16;

const DAY: Duration = Duration::from_secs(86_400);
const THIRTY_DAYS: Duration = Duration::from_secs(30 * 86_400);

/// The UTC day of `at`, counted from the epoch.
fn day_of(at: Timestamp) -> u64 {
    at.as_unix_millis().checked_div(86_400_000).unwrap_or(0)
}

/// One payment's share of the number's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Reservation {
    /// The payment that holds it; none for reservations merged to bound the record.
    payment: PaymentId,
    currency: Currency,
    minor_units: u64,
    at: Timestamp,
}

/// The reservations of one number within the last 30 days, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Ledger {
    reservations: Vec<Reservation>,
}

impl Ledger {
    /// The ledger with `amount` reserved for `payment` at `now`, if the three limits allow it.
    /// A payment that holds a reservation already keeps it (a PIN check repeated after a crash
    /// or a race reserves once).
    ///
    /// # Errors
    ///
    /// [`Error::LimitExceeded`] naming, of the limits exceeded, the one that frees up last.
    pub(crate) fn reserve(
        &self,
        payment: PaymentId,
        amount: Amount,
        now: Timestamp,
        policy: &Policy,
    ) -> Result<Self, Error> {
        let mut next = self.pruned(now);
        if next.reservations.iter().any(|r| r.payment == payment) {
            return Ok(next);
        }
        next.check(amount, now, policy)?;
        next.reservations.push(Reservation {
            payment,
            currency: amount.currency(),
            minor_units: amount.minor_units(),
            at: now,
        });
        next.merge_if_full();
        Ok(next)
    }

    /// The ledger without the reservation of `payment`, or `None` when it holds none (never
    /// made, given back already, merged, or out of the window).
    pub(crate) fn release(&self, payment: PaymentId) -> Option<Self> {
        let at = self
            .reservations
            .iter()
            .position(|r| r.payment == payment && payment != PaymentId::none())?;
        let mut next = self.clone();
        next.reservations.remove(at);
        Some(next)
    }

    /// Whether `payment` holds a reservation.
    #[cfg(test)]
    pub(crate) fn holds(&self, payment: PaymentId) -> bool {
        self.reservations.iter().any(|r| r.payment == payment)
    }

    /// The ledger without the reservations that left the 30-day window at `now`.
    fn pruned(&self, now: Timestamp) -> Self {
        let reservations = self
            .reservations
            .iter()
            .filter(|r| now < r.at.saturating_add(THIRTY_DAYS))
            .cloned()
            .collect();
        Self { reservations }
    }

    /// `Err(LimitExceeded)` when `amount` does not fit one of the limits at `now`.
    fn check(&self, amount: Amount, now: Timestamp, policy: &Policy) -> Result<(), Error> {
        let refusals = [
            (amount.minor_units() > policy.max_per_payment)
                .then_some((SpendingLimit::PerPayment, None)),
            self.refusal(amount, now, DAY, policy.max_per_24_hours)
                .map(|frees_at| (SpendingLimit::Per24Hours, frees_at)),
            self.refusal(amount, now, THIRTY_DAYS, policy.max_per_30_days)
                .map(|frees_at| (SpendingLimit::Per30Days, frees_at)),
        ];
        // The limit that frees up last (never, for an amount above a limit) is the one to name:
        // at its time, the payment would pass.
        let last = refusals
            .into_iter()
            .flatten()
            .max_by_key(|(_, frees_at)| frees_at.map_or(u64::MAX, Timestamp::as_unix_millis));
        match last {
            Some((limit, frees_at)) => Err(Error::LimitExceeded { limit, frees_at }),
            None => Ok(()),
        }
    }

    /// When `amount` would fit under `limit` over `window`, if it does not now: `Some(None)`
    /// when it never will (it is above the limit on its own).
    fn refusal(
        &self,
        amount: Amount,
        now: Timestamp,
        window: Duration,
        limit: u64,
    ) -> Option<Option<Timestamp>> {
        let leaves = |r: &Reservation| r.at.saturating_add(window);
        let in_window: Vec<&Reservation> = self
            .reservations
            .iter()
            .filter(|r| r.currency == amount.currency() && now < leaves(r))
            .collect();
        let mut total = in_window.iter().fold(amount.minor_units(), |sum, r| {
            sum.saturating_add(r.minor_units)
        });
        if total <= limit {
            return None;
        }
        for reservation in in_window {
            total = total.saturating_sub(reservation.minor_units);
            if total <= limit {
                return Some(Some(leaves(reservation)));
            }
        }
        Some(None)
    }

    /// Keeps the ledger small: beyond [`MAX_RESERVATIONS`], the oldest reservation that shares
    /// its currency and its (UTC) day with a later one, the newest excepted, is merged into it.
    /// A merged reservation counts until the later of the two leaves the window, less than a
    /// day longer than its first part would, and can no longer be given back: the bound costs
    /// a little precision, never room the limits did not allow. Merges stay within a day, so
    /// that they never carry amounts forward from day to day; with no two reservations of a
    /// day left to merge, the 30-day window holds at most one per day.
    fn merge_if_full(&mut self) {
        if self.reservations.len() <= MAX_RESERVATIONS {
            return;
        }
        let older = self.reservations.len().saturating_sub(1);
        let same_day = |a: &Reservation, b: &Reservation| {
            a.currency == b.currency && day_of(a.at) == day_of(b.at)
        };
        let pair = (0..older).find_map(|i| {
            let first = self.reservations.get(i)?;
            let j = (i.saturating_add(1)..older)
                .find(|&j| self.reservations.get(j).is_some_and(|r| same_day(first, r)))?;
            Some((i, j))
        });
        let Some((i, j)) = pair else {
            return;
        };
        let merged = self.reservations.remove(i);
        if let Some(later) = self.reservations.get_mut(j.saturating_sub(1)) {
            later.minor_units = later.minor_units.saturating_add(merged.minor_units);
            later.payment = PaymentId::none();
        }
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        let count = self.reservations.len().min(usize::from(u8::MAX));
        w.u8(u8::try_from(count).unwrap_or(u8::MAX));
        for r in self.reservations.iter().take(count) {
            w.bytes(r.payment.as_bytes());
            w.u8(r.currency.byte());
            w.u64(r.minor_units);
            w.time(r.at);
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let count = r.u8()?;
        let reservations = (0..count)
            .map(|_| {
                Ok(Reservation {
                    payment: PaymentId::from_bytes(r.array()?),
                    currency: Currency::from_byte(r.u8()?).ok_or(Error::Tampered)?,
                    minor_units: r.u64()?,
                    at: r.time()?,
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Self { reservations })
    }
}

#[cfg(test)]
#[allow(
    clippy::arithmetic_side_effects,
    reason = "hours, days and cents of a few test payments, far from any bound"
)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);
    const HOUR: Duration = Duration::from_secs(3600);

    fn eur(minor: u64) -> Amount {
        Amount::new(minor, Currency::EUR).unwrap()
    }

    fn at(hours: u64) -> Timestamp {
        T0.saturating_add(HOUR * u32::try_from(hours).unwrap())
    }

    fn refused(result: Result<Ledger, Error>) -> (SpendingLimit, Option<Timestamp>) {
        match result {
            Err(Error::LimitExceeded { limit, frees_at }) => (limit, frees_at),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_limit_is_checked_and_says_when_it_frees_up() {
        let policy = Policy::default();
        let ledger = Ledger::default();
        assert_eq!(
            refused(ledger.reserve(PaymentId::random(), eur(100_001), T0, &policy)),
            (SpendingLimit::PerPayment, None)
        );
        let ledger = ledger
            .reserve(PaymentId::random(), eur(100_000), T0, &policy)
            .unwrap();
        let ledger = ledger
            .reserve(PaymentId::random(), eur(40_000), at(2), &policy)
            .unwrap();
        // 1,400 of 1,500 in 24 hours: 100.01 more does not fit until the first leaves.
        assert_eq!(
            refused(ledger.reserve(PaymentId::random(), eur(10_001), at(3), &policy)),
            (SpendingLimit::Per24Hours, Some(at(24)))
        );
        let ledger = ledger
            .reserve(PaymentId::random(), eur(10_000), at(3), &policy)
            .unwrap();
        let ledger = ledger
            .reserve(PaymentId::random(), eur(100_000), at(24), &policy)
            .unwrap();
        let ledger = ledger
            .reserve(PaymentId::random(), eur(50_000), at(27), &policy)
            .unwrap();
        // 3,000 of 3,000 in 30 days, 1,500 of 1,500 in 24 hours: the 24-hour limit frees up
        // sooner than the 30-day one, which is named.
        assert_eq!(
            refused(ledger.reserve(PaymentId::random(), eur(100), at(28), &policy)),
            (SpendingLimit::Per30Days, Some(at(30 * 24)))
        );
        // Once 30 days have passed since the last one, everything is free again.
        let later = ledger.reserve(PaymentId::random(), eur(100_000), at(27 + 30 * 24), &policy);
        assert_eq!(later.unwrap().reservations.len(), 1);
    }

    #[test]
    fn a_released_payment_gives_its_room_back_once() {
        let policy = Policy::default();
        let first = PaymentId::random();
        let ledger = Ledger::default()
            .reserve(first, eur(100_000), T0, &policy)
            .unwrap();
        let ledger = ledger
            .reserve(PaymentId::random(), eur(50_000), T0, &policy)
            .unwrap();
        assert!(
            ledger
                .reserve(PaymentId::random(), eur(1), T0, &policy)
                .is_err()
        );
        let released = ledger.release(first).unwrap();
        assert!(released.release(first).is_none());
        assert!(
            released
                .reserve(PaymentId::random(), eur(100_000), T0, &policy)
                .is_ok()
        );
    }

    #[test]
    fn a_payment_reserves_once() {
        let policy = Policy::default();
        let payment = PaymentId::random();
        let once = Ledger::default()
            .reserve(payment, eur(100_000), T0, &policy)
            .unwrap();
        let twice = once.reserve(payment, eur(100_000), T0, &policy).unwrap();
        assert_eq!(once, twice);
    }

    #[test]
    fn currencies_count_apart() {
        let policy = Policy::default();
        let ledger = Ledger::default()
            .reserve(PaymentId::random(), eur(100_000), T0, &policy)
            .unwrap();
        let ledger = ledger
            .reserve(PaymentId::random(), eur(50_000), T0, &policy)
            .unwrap();
        let pounds = Amount::new(100_000, Currency::GBP).unwrap();
        assert!(
            ledger
                .reserve(PaymentId::random(), pounds, T0, &policy)
                .is_ok()
        );
    }

    fn lifted() -> Policy {
        Policy {
            max_per_24_hours: 10_000_000,
            max_per_30_days: 10_000_000,
            ..Policy::default()
        }
    }

    fn total(ledger: &Ledger) -> u64 {
        ledger.reservations.iter().map(|r| r.minor_units).sum()
    }

    #[test]
    fn many_payments_in_a_day_merge_and_never_lose_an_amount() {
        let mut ledger = Ledger::default();
        let mut last = PaymentId::random();
        for i in 0..40 {
            last = PaymentId::random();
            let now = T0.saturating_add(Duration::from_secs(60 * i));
            ledger = ledger.reserve(last, eur(1000 + i), now, &lifted()).unwrap();
            assert!(ledger.reservations.len() <= MAX_RESERVATIONS);
        }
        assert_eq!(total(&ledger), (0..40).map(|i| 1000 + i).sum::<u64>());
        assert!(ledger.holds(last), "the newest keeps its payment");
        assert!(ledger.release(last).is_some());
        assert!(ledger.release(PaymentId::none()).is_none());
    }

    #[test]
    fn a_payment_a_day_never_carries_amounts_past_their_window() {
        let mut ledger = Ledger::default();
        for day in 0..90 {
            let now = at(day * 24 + day % 5);
            ledger = ledger
                .reserve(PaymentId::random(), eur(100), now, &lifted())
                .unwrap();
            assert!(
                ledger.reservations.len() <= 2 * MAX_RESERVATIONS,
                "day {day}"
            );
            // What counts over 30 days is never more than the last 31 days' payments.
            assert!(total(&ledger) <= 31 * 100, "day {day}: {}", total(&ledger));
        }
        let mut busy = Ledger::default();
        for hour in 0..24 * 60 {
            let now = at(hour);
            busy = busy
                .reserve(PaymentId::random(), eur(1), now, &lifted())
                .unwrap();
            assert!(
                busy.reservations.len() <= 2 * MAX_RESERVATIONS,
                "hour {hour}"
            );
            assert!(total(&busy) <= 31 * 24, "hour {hour}: {}", total(&busy));
        }
    }

    #[test]
    fn the_record_round_trips() {
        use crate::codec::RecordKind;
        use crate::host::Key;
        use crate::keys::Keys;
        use crate::secret::SecretKey;
        let keys = Keys::new(1, SecretKey::from_bytes([5; 32]));
        let key = Key::guard("ab");
        let policy = Policy::default();
        let ledger = Ledger::default()
            .reserve(PaymentId::random(), eur(4990), T0, &policy)
            .unwrap();
        let mut w = Writer::new(RecordKind::Guard, &keys);
        ledger.write(&mut w);
        let record = w.seal(&keys, &key);
        assert_eq!(record.len(), 3 + 1 + 33 + 32);
        let mut r = Reader::open(&keys, &key, RecordKind::Guard, &record).unwrap();
        assert_eq!(Ledger::read(&mut r).unwrap(), ledger);
        r.finish().unwrap();
    }
}
