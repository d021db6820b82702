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
use crate::exemption::Streak;
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
/// [`Ledger::merge_if_full`]): a ledger holds at most these and one per day and currency of the
/// 30-day window. Eight is more payments than a buyer has in flight at once.
pub(crate) const MAX_RESERVATIONS: usize = 8;

/// A reservation's flags in its record.
const EXEMPT: u8 = 1;
const HELD: u8 = 2;
/// The most bytes one reservation takes in a record.
const RESERVATION_MAX_LEN: usize = 1 + 16 + 1 + 10 + 8;

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
    /// Whether the payment counts in the streak of the low-value exemption.
    exempt: bool,
}

/// The reservations of one number within the last 30 days, oldest first, and its streak of
/// payments exempt from the code.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Ledger {
    reservations: Vec<Reservation>,
    streak: Streak,
}

impl Ledger {
    /// The ledger with `amount` reserved for `payment` at `now`, if the three limits allow it,
    /// and whether the payment may go without a code (the low-value exemption, counted in the
    /// streak at once). A payment that holds a reservation already keeps it (a PIN check
    /// repeated after a crash or a race reserves once).
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
    ) -> Result<(Self, bool), Error> {
        let mut next = self.pruned(now);
        if let Some(held) = next.reservations.iter().find(|r| r.payment == payment) {
            let exempt = held.exempt;
            return Ok((next, exempt));
        }
        next.check(amount, now, policy)?;
        let exempt = next.streak.admits(amount, policy);
        if exempt {
            next.streak = next.streak.with(amount.minor_units());
        }
        next.reservations.push(Reservation {
            payment,
            currency: amount.currency(),
            minor_units: amount.minor_units(),
            at: now,
            exempt,
        });
        next.merge_if_full();
        Ok((next, exempt))
    }

    /// The ledger without the reservation of `payment` (and its place in the exemption's
    /// streak), or `None` when it holds none (never made, given back already, merged, or out
    /// of the window).
    pub(crate) fn release(&self, payment: PaymentId) -> Option<Self> {
        let at = self
            .reservations
            .iter()
            .position(|r| r.payment == payment && payment != PaymentId::none())?;
        let mut next = self.clone();
        let released = next.reservations.remove(at);
        if released.exempt {
            next.streak = next.streak.without(released.minor_units);
        }
        Some(next)
    }

    /// The payments whose exemption tickets may still be in use at `now`, `payment` aside:
    /// those reserved as exempt less than the policy's `payment_ttl` ago (a ticket is good
    /// until its payment expires, at most that long after its reservation).
    pub(crate) fn recent_tickets(
        &self,
        payment: PaymentId,
        now: Timestamp,
        policy: &Policy,
    ) -> impl Iterator<Item = PaymentId> {
        self.reservations
            .iter()
            .filter(move |r| {
                r.exempt && r.payment != payment && now < r.at.saturating_add(policy.payment_ttl)
            })
            .map(|r| r.payment)
    }

    /// The ledger after a payment was authorized by its code, a full authentication: the
    /// exemption's streak starts again. `None` when there is nothing to change.
    ///
    /// The new streak holds the `pending` tickets (of the [recent ones](Ledger::recent_tickets),
    /// those not known to be used): they may still be authorized without a code, and a code
    /// must not reopen the room they take. They keep their flag, for a failure to give their
    /// place back; every other reservation loses it.
    pub(crate) fn after_code(&self, pending: &[PaymentId]) -> Option<Self> {
        let mut next = self.clone();
        next.streak = Streak::default();
        for reservation in &mut next.reservations {
            if reservation.exempt && pending.contains(&reservation.payment) {
                next.streak = next.streak.with(reservation.minor_units);
            } else {
                reservation.exempt = false;
            }
        }
        (next != *self).then_some(next)
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
            streak: self.streak,
        }
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
        // Reservations come in time order: those of a day follow each other.
        let pair = (0..older).find_map(|i| {
            let first = self.reservations.get(i)?;
            let day = day_of(first.at);
            let j = (i.saturating_add(1)..older)
                .take_while(|&j| {
                    self.reservations
                        .get(j)
                        .is_some_and(|r| day_of(r.at) == day)
                })
                .find(|&j| {
                    self.reservations
                        .get(j)
                        .is_some_and(|r| r.currency == first.currency)
                })?;
            Some((i, j))
        });
        let Some((i, j)) = pair else {
            return;
        };
        let merged = self.reservations.remove(i);
        if let Some(later) = self.reservations.get_mut(j.saturating_sub(1)) {
            later.minor_units = later.minor_units.saturating_add(merged.minor_units);
            later.payment = PaymentId::none();
            // Out of reach of a release: it stays counted in the streak until a code.
            later.exempt = false;
        }
    }

    /// The most bytes [`Ledger::write`] takes.
    pub(crate) fn max_len(&self) -> usize {
        self.reservations
            .len()
            .saturating_mul(RESERVATION_MAX_LEN)
            .saturating_add(10)
    }

    /// The streak, a count, then each reservation: flags (exempt, held), the payment id when
    /// held (merged ones have none), the currency, the amount as a varint, the time.
    pub(crate) fn write(&self, w: &mut Writer) {
        self.streak.write(w);
        let count = self.reservations.len().min(usize::from(u8::MAX));
        w.u8(u8::try_from(count).unwrap_or(u8::MAX));
        for r in self.reservations.iter().take(count) {
            let held = r.payment != PaymentId::none();
            let exempt = if r.exempt { EXEMPT } else { 0 };
            w.u8(exempt | if held { HELD } else { 0 });
            if held {
                w.bytes(r.payment.as_bytes());
            }
            w.u8(r.currency.byte());
            w.varint(r.minor_units);
            w.time(r.at);
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let streak = Streak::read(r)?;
        let count = r.u8()?;
        let reservations = (0..count)
            .map(|_| {
                let flags = r.u8()?;
                // Only merged reservations lack an id, and they are never exempt.
                if flags & !(EXEMPT | HELD) != 0 || flags == EXEMPT {
                    return Err(Error::Tampered);
                }
                let payment = if flags & HELD == 0 {
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
                    currency: Currency::from_byte(r.u8()?).ok_or(Error::Tampered)?,
                    minor_units: r.varint()?,
                    at: r.time()?,
                    exempt: flags & EXEMPT != 0,
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
