//! The model of a number's guard: PIN failures and locks, the SMS window, the spending ledger
//! and the low-value exemption's streak, written out plainly.

use buyster::SpendingLimit;

use super::reference::{Expect, MINUTE};

const MAX_PIN_FAILURES: u8 = 3;
const MAX_LOCKS: u8 = 5;
const LOCK: u64 = 15 * MINUTE;
const SMS_PER_WINDOW: usize = 5;
const ENROLLMENT_SMS_PER_WINDOW: usize = 3;
const SMS_WINDOW: u64 = 10 * MINUTE;
pub const DAY: u64 = 24 * 60 * MINUTE;
pub(super) const PER_PAYMENT: u64 = 100_000;
const PER_DAY: u64 = 150_000;
const PER_30_DAYS: u64 = 300_000;
const RESERVATIONS_KEPT: usize = 8;
const EXEMPT_AMOUNT: u64 = 3_000;
const EXEMPT_TOTAL: u64 = 10_000;
const EXEMPT_PAYMENTS: u8 = 5;
/// The engine's clock at the start, for the days of the ledger.
const T0_MILLIS: u64 = 1_795_786_860_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lock {
    Open,
    Until(u64),
    Permanent,
}

/// One payment's share of the limits.
#[derive(Clone, Debug)]
struct Reservation {
    /// The payment; none once merged.
    payment: Option<usize>,
    amount: u64,
    at: u64,
}

/// A payment let through without its code: its amount, and when its ticket lapses (its
/// payment's expiry).
#[derive(Clone, Debug)]
struct Ticket {
    payment: usize,
    amount: u64,
    lapses_at: u64,
}

/// What the engine keeps for a number in its guard record.
#[derive(Clone, Debug)]
pub struct Guard {
    failures: u8,
    locks: u8,
    lock: Lock,
    /// When payment codes went to the number (kept as the engine keeps them: the recent ones).
    sms: Vec<u64>,
    /// When enrollment codes went to the number: a window of their own.
    enrollment_sms: Vec<u64>,
    ledger: Vec<Reservation>,
    /// Exempt payments since the last code, one by one.
    streak: Vec<Ticket>,
}

impl Guard {
    pub fn new() -> Self {
        Self {
            failures: 0,
            locks: 0,
            lock: Lock::Open,
            sms: Vec::new(),
            enrollment_sms: Vec::new(),
            ledger: Vec::new(),
            streak: Vec::new(),
        }
    }

    /// The refusal of a locked number.
    pub fn check_open(&self, now: u64) -> Result<(), Expect> {
        match self.lock {
            Lock::Until(until) if now < until => Err(Expect::Locked(Some(until))),
            Lock::Permanent => Err(Expect::Locked(None)),
            _ => Ok(()),
        }
    }

    /// A right PIN, or the host lifting the lock: failures and locks forgotten.
    pub fn clear(&mut self) {
        self.failures = 0;
        self.locks = 0;
        self.lock = Lock::Open;
    }

    /// One more wrong PIN (or enrollment code) at `now`: the attempts left, or the lock.
    pub fn fail(&mut self, now: u64) -> Result<u8, Option<u64>> {
        self.lock = Lock::Open;
        self.failures += 1;
        if self.failures < MAX_PIN_FAILURES {
            return Ok(MAX_PIN_FAILURES - self.failures);
        }
        self.failures = 0;
        self.locks += 1;
        if self.locks >= MAX_LOCKS {
            self.lock = Lock::Permanent;
            Err(None)
        } else {
            let until = now + LOCK * (1 << (self.locks - 1));
            self.lock = Lock::Until(until);
            Err(Some(until))
        }
    }

    /// Counts a payment code sent at `now` in the window, or says when the window frees up.
    pub fn count_sms(&mut self, now: u64) -> Result<(), Expect> {
        count_in_window(&mut self.sms, SMS_PER_WINDOW, now)
    }

    /// Counts an enrollment code sent at `now` in its own window.
    pub fn count_enrollment_sms(&mut self, now: u64) -> Result<(), Expect> {
        count_in_window(&mut self.enrollment_sms, ENROLLMENT_SMS_PER_WINDOW, now)
    }

    /// Reserves `amount` for payment `p` within the three limits, deciding its exemption from
    /// the code (a ticket that lapses at `expires_at`); or says which limit refuses it and when
    /// it frees up (the one that frees up last).
    pub fn reserve(
        &mut self,
        p: usize,
        amount: u64,
        now: u64,
        expires_at: u64,
    ) -> Result<bool, Expect> {
        self.ledger.retain(|r| now < r.at + 30 * DAY);
        if let Some(refusal) = self.refusal(amount, now) {
            return Err(refusal);
        }
        let total: u64 = self.streak.iter().map(|t| t.amount).sum();
        let exempt = amount <= EXEMPT_AMOUNT
            && self.streak.len() < usize::from(EXEMPT_PAYMENTS)
            && total + amount <= EXEMPT_TOTAL;
        if exempt {
            self.streak.push(Ticket {
                payment: p,
                amount,
                lapses_at: expires_at,
            });
        }
        // The model's clock never goes back: the ledger stays in time order.
        self.ledger.push(Reservation {
            payment: Some(p),
            amount,
            at: now,
        });
        self.merge_if_full(p);
        Ok(exempt)
    }

    fn refusal(&self, amount: u64, now: u64) -> Option<Expect> {
        let mut refusals = Vec::new();
        if amount > PER_PAYMENT {
            refusals.push((SpendingLimit::PerPayment, None));
        }
        for (limit, window, max) in [
            (SpendingLimit::Per24Hours, DAY, PER_DAY),
            (SpendingLimit::Per30Days, 30 * DAY, PER_30_DAYS),
        ] {
            let inside: Vec<_> = self.ledger.iter().filter(|r| now < r.at + window).collect();
            let mut total = amount + inside.iter().map(|r| r.amount).sum::<u64>();
            if total <= max {
                continue;
            }
            let mut frees = None;
            for r in inside {
                total -= r.amount;
                if total <= max {
                    frees = Some(r.at + window);
                    break;
                }
            }
            refusals.push((limit, frees));
        }
        refusals
            .into_iter()
            .max_by_key(|(_, f)| f.unwrap_or(u64::MAX))
            .map(|(limit, frees)| Expect::LimitExceeded(limit, frees))
    }

    /// One currency here: the oldest reservation that shares its day with a later one merges
    /// into it, `newest` excepted; the merged one keeps the later time.
    fn merge_if_full(&mut self, newest: usize) {
        if self.ledger.len() <= RESERVATIONS_KEPT {
            return;
        }
        let day = |at: u64| (T0_MILLIS + at) / DAY;
        let mergeable = |r: &Reservation| r.payment != Some(newest);
        let pair = (0..self.ledger.len()).find_map(|i| {
            let first = &self.ledger[i];
            ((i + 1)..self.ledger.len())
                .take_while(|&j| day(self.ledger[j].at) == day(first.at))
                .find(|&j| mergeable(&self.ledger[j]))
                .filter(|_| mergeable(first))
                .map(|j| (i, j))
        });
        if let Some((i, j)) = pair {
            let first = self.ledger.remove(i);
            let later = &mut self.ledger[j - 1];
            later.payment = None;
            later.amount += first.amount;
            later.at = later.at.max(first.at);
        }
    }

    /// Payment `p` failed: its share comes back (unless merged), and its place in the streak.
    pub fn release(&mut self, p: usize) {
        if let Some(i) = self.ledger.iter().position(|r| r.payment == Some(p)) {
            self.ledger.remove(i);
        }
        self.streak.retain(|t| t.payment != p);
    }

    /// Payment `code` authorized by its code at `now`: the streak starts again, holding the
    /// tickets not lapsed whose payments are still `pending` (their ticket may still be used).
    pub fn end_streak(&mut self, code: usize, now: u64, pending: &[usize]) {
        self.streak
            .retain(|t| t.payment != code && now < t.lapses_at && pending.contains(&t.payment));
    }
}

/// Counts a send at `now` in `sent`, within `max` per window, or says when the window frees up.
fn count_in_window(sent: &mut Vec<u64>, max: usize, now: u64) -> Result<(), Expect> {
    sent.retain(|t| *t + SMS_WINDOW > now);
    if sent.len() >= max {
        return Err(Expect::RateLimited(sent[0] + SMS_WINDOW));
    }
    sent.push(now);
    Ok(())
}
