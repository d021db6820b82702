//! Spending limits: a number's ledger of reservations, kept in its guard record.
//!
//! A right PIN reserves the payment's amount in the same compare-and-swap that resets the
//! guard, after checking the three limits of the [`Policy`] against what is reserved already:
//! two payments racing for the last room are decided one after the other. A reservation counts
//! as spent until its payment fails, and then the failure gives it back. Every decision here is
//! a pure function of the ledger, the time and the policy.

use core::time::Duration;

use super::streak::Streak;
use crate::Error;
use crate::codec::{Reader, Writer};
use crate::error::SpendingLimit;
use crate::ids::PaymentId;
use crate::money::{Amount, Currency};
use crate::policy::Policy;
use crate::time::Timestamp;

/// The reservations kept apart; beyond, those of the same day merge (see
/// [`Ledger::merge_if_full`]): a ledger holds at most these and one per day and currency of the
/// 30-day window. Eight is more payments than a buyer has in flight at once.
pub(crate) const MAX_RESERVATIONS: usize = 8;

/// The most bytes one reservation takes in a record.
const RESERVATION_MAX_LEN: usize = 1 + 16 + 1 + 10 + 8;

const DAY: Duration = Duration::from_secs(86_400);
const THIRTY_DAYS: Duration = Duration::from_secs(30 * 86_400);

/// The UTC day of `at`, counted from the epoch.
fn day_of(at: Timestamp) -> u64 {
    at.as_unix_millis() / 86_400_000
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

/// The reservations of one number within the last 30 days, in time order (a clock that went
/// back puts a new one before later ones), and its streak of payments exempt from the code.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Ledger {
    reservations: Vec<Reservation>,
    streak: Streak,
}

impl Ledger {
    /// The ledger with `amount` reserved for `payment` at `now`, if the three limits of its
    /// currency allow it, and whether the payment may go without a code (the low-value
    /// exemption, its ticket counted in the streak at once, good until `lapses_at`: the
    /// payment's expiry). A payment that holds a reservation or a ticket already keeps it (a
    /// PIN check repeated after a crash or a race reserves once).
    ///
    /// # Errors
    ///
    /// [`Error::CurrencyNotAccepted`] for a currency the policy does not take,
    /// [`Error::LimitExceeded`] naming, of the limits exceeded, the one that frees up last.
    pub(crate) fn reserve(
        &self,
        payment: PaymentId,
        amount: Amount,
        now: Timestamp,
        lapses_at: Timestamp,
        policy: &Policy,
    ) -> Result<(Self, bool), Error> {
        let mut next = self.pruned(now);
        let exempt = next.streak.holds(payment);
        if exempt || next.reservations.iter().any(|r| r.payment == payment) {
            return Ok((next, exempt));
        }
        next.check(amount, now, policy)?;
        let exempt = next.streak.admits(amount, policy);
        if exempt {
            next.streak = next.streak.with(payment, amount, lapses_at);
        }
        // After the last reservation made at or before `now`: time order, whatever the clock did.
        let at = next.reservations.partition_point(|r| r.at <= now);
        next.reservations.insert(
            at,
            Reservation {
                payment,
                currency: amount.currency(),
                minor_units: amount.minor_units(),
                at: now,
            },
        );
        next.merge_if_full(payment);
        Ok((next, exempt))
    }

    /// The ledger without the reservation of `payment` and without its exemption ticket, or
    /// `None` when it holds neither (never made, given back already, or out of the window; a
    /// merged reservation is no longer the payment's, but its ticket still is).
    pub(crate) fn release(&self, payment: PaymentId) -> Option<Self> {
        let held = self
            .reservations
            .iter()
            .position(|r| r.payment == payment && payment != PaymentId::none());
        let streak = self.streak.without(payment);
        if held.is_none() && streak.is_none() {
            return None;
        }
        let mut next = self.clone();
        if let Some(at) = held {
            next.reservations.remove(at);
        }
        if let Some(streak) = streak {
            next.streak = streak;
        }
        Some(next)
    }

    /// The payments whose exemption tickets may still be in use at `now`, `payment` aside
    /// (see [`Streak::outstanding`]).
    pub(crate) fn outstanding_tickets(
        &self,
        payment: PaymentId,
        now: Timestamp,
    ) -> impl Iterator<Item = PaymentId> {
        self.streak.outstanding(payment, now)
    }

    /// The ledger after a payment was authorized by its code: the streak starts again with the
    /// `pending` tickets only (see [`Streak::after_code`]). `None` when nothing changes.
    pub(crate) fn after_code(&self, pending: &[PaymentId]) -> Option<Self> {
        let streak = self.streak.after_code(pending);
        (streak != self.streak).then(|| Self {
            reservations: self.reservations.clone(),
            streak,
        })
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
        // The streak outlives the window: it ends only with a code.
        Self {
            reservations,
            streak: self.streak.clone(),
        }
    }

    /// `Err(CurrencyNotAccepted)` for a currency the policy does not take, `Err(LimitExceeded)`
    /// when `amount` does not fit one of its currency's limits at `now`.
    fn check(&self, amount: Amount, now: Timestamp, policy: &Policy) -> Result<(), Error> {
        let currency = amount.currency();
        let limits = policy
            .limits(currency)
            .ok_or(Error::CurrencyNotAccepted(currency))?;
        let refusals = [
            (amount.minor_units() > limits.max_per_payment)
                .then_some((SpendingLimit::PerPayment, None)),
            self.refusal(amount, now, DAY, limits.max_per_24_hours)
                .map(|frees_at| (SpendingLimit::Per24Hours, frees_at)),
            self.refusal(amount, now, THIRTY_DAYS, limits.max_per_30_days)
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
    /// its currency and its (UTC) day with a later one is merged into it, the reservation of
    /// `newest` (just made, which its payment may yet give back) excepted. The merged
    /// reservation keeps the later time of the two, so that it counts until the later part
    /// leaves the window: less than a day longer than its first part would, never shorter. It
    /// can no longer be given back: the bound costs a little room, never room the limits did
    /// not allow. Merges stay within a day, so that they never carry amounts forward from day
    /// to day; with no two reservations of a day left to merge, the 30-day window holds at most
    /// one per day.
    fn merge_if_full(&mut self, newest: PaymentId) {
        if self.reservations.len() <= MAX_RESERVATIONS {
            return;
        }
        let mergeable = |r: &Reservation| r.payment != newest;
        // The reservations are in time order: those of a day follow each other.
        let pair = self.reservations.iter().enumerate().find_map(|(i, first)| {
            let day = day_of(first.at);
            let j = (i.saturating_add(1)..self.reservations.len())
                .take_while(|&j| {
                    self.reservations
                        .get(j)
                        .is_some_and(|r| day_of(r.at) == day)
                })
                .find(|&j| {
                    self.reservations
                        .get(j)
                        .is_some_and(|r| r.currency == first.currency && mergeable(r))
                })?;
            mergeable(first).then_some((i, j))
        });
        let Some((i, j)) = pair else {
            return;
        };
        let merged = self.reservations.remove(i);
        if let Some(later) = self.reservations.get_mut(j.saturating_sub(1)) {
            later.minor_units = later.minor_units.saturating_add(merged.minor_units);
            later.at = later.at.max(merged.at);
            later.payment = PaymentId::none();
        }
    }

    /// The most bytes [`Ledger::write`] takes.
    pub(crate) fn max_len(&self) -> usize {
        self.reservations
            .len()
            .saturating_mul(RESERVATION_MAX_LEN)
            .saturating_add(Streak::MAX_LEN)
            .saturating_add(1)
    }

    /// The streak, a count, then each reservation: its flag (held), the payment id when held
    /// (merged ones have none), the currency, the amount as a varint, the time.
    pub(crate) fn write(&self, w: &mut Writer) {
        self.streak.write(w);
        w.list(&self.reservations, u8::MAX, |w, r| {
            let held = r.payment != PaymentId::none();
            w.flags([held]);
            if held {
                w.bytes(r.payment.as_bytes());
            }
            w.coded(r.currency);
            w.varint(r.minor_units);
            w.time(r.at);
        });
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let streak = Streak::read(r)?;
        let count = r.u8()?;
        let reservations = (0..count)
            .map(|_| {
                let [held] = r.flags()?;
                let payment = if !held {
                    PaymentId::none()
                } else {
                    let id = PaymentId::from_bytes(r.array()?);
                    if id == PaymentId::none() {
                        return Err(Error::Tampered);
                    }
                    id
                };
                Ok(Reservation {
                    payment,
                    currency: r.coded()?,
                    minor_units: r.varint()?,
                    at: r.time()?,
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Self {
            reservations,
            streak,
        })
    }
}

#[cfg(test)]
mod tests;
