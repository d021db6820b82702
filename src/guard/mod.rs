//! The guard record of a phone number: consecutive PIN failures, locks, recent SMS sends, the
//! spending ledger (`ledger.rs`) and the low-value exemption's streak (`streak.rs`), all decided
//! in one compare-and-swap write.
//!
//! A guard exists for every number that was tried, enrolled or not, so that an unknown number
//! locks exactly like a known one and lockout reveals nothing about enrollment. Every decision
//! here is a pure function of the guard, the time and the policy; the engine writes the result
//! with compare-and-swap, so concurrent guesses are counted one by one.

mod ledger;
mod streak;

use core::time::Duration;

use crate::Error;
use crate::codec::{Reader, Writer};
use crate::host::Key;
use crate::keys::Keys;
use crate::policy::Policy;
use crate::seal::{self, RecordKind};
use crate::time::Timestamp;
use ledger::Ledger;

/// Whether PIN checks are locked.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) enum Lock {
    #[default]
    Open,
    Until(Timestamp),
    Permanent,
}

/// The guard record of one number.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub(crate) struct Guard {
    /// Wrong PINs since the last right one or the last lock.
    failures: u8,
    /// Locks since the last right PIN.
    locks: u8,
    lock: Lock,
    /// When payment codes were sent to the number, oldest first, within the policy's window.
    sms_sent: Vec<Timestamp>,
    /// When enrollment codes were sent to the number, oldest first, within the policy's
    /// window: a budget of their own, since anyone may ask for one.
    enrollment_sms: Vec<Timestamp>,
    /// What the number's payments reserved of its spending limits.
    ledger: Ledger,
}

/// The lock the number's remaining attempts lead to, told with every wrong PIN so that the
/// host can warn the payer before PIN checks are locked for good (PSD2 RTS art. 4(3)(b)).
///
/// # Examples
///
/// ```
/// # use buyster::{NextLock, PinCheck};
/// fn warning(answer: &PinCheck) -> Option<String> {
///     match answer {
///         PinCheck::Rejected { attempts_left, next_lock: NextLock::Permanent, .. } => Some(format!(
///             "Wrong PIN. After {attempts_left} more wrong PIN(s), paying by mobile will be \
///              blocked until you contact us."
///         )),
///         _ => None,
///     }
/// }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(clippy::exhaustive_enums, reason = "a lock is temporary or permanent")]
pub enum NextLock {
    /// A lock of this length; the lock after it may be the permanent one.
    Temporary(Duration),
    /// A permanent lock, which only the host lifts ([`BackOffice::unlock`](crate::BackOffice::unlock),
    /// [`BackOffice::reset_pin`](crate::BackOffice::reset_pin)): warn the payer.
    Permanent,
}

/// The answer to a wrong PIN.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Failure {
    /// Counted; this many attempts remain before a lock, which will be `next_lock`.
    AttemptsLeft { left: u8, next_lock: NextLock },
    /// Counted, and it locked PIN checks.
    Locked(Option<Timestamp>),
}

impl Guard {
    /// `Err(Error::Locked)` while PIN checks are locked at `now`.
    pub(crate) fn check_open(&self, now: Timestamp) -> Result<(), Error> {
        match self.lock {
            Lock::Until(until) if now < until => Err(Error::Locked { until: Some(until) }),
            Lock::Permanent => Err(Error::Locked { until: None }),
            Lock::Open | Lock::Until(_) => Ok(()),
        }
    }

    /// The guard after one more wrong PIN at `now`; the guard must be open at `now`.
    pub(crate) fn after_failure(&self, now: Timestamp, policy: &Policy) -> (Self, Failure) {
        let mut next = self.clone();
        if let Lock::Until(_) = next.lock {
            next.lock = Lock::Open; // an expired lock: its failures were reset when it was set
        }
        next.failures = next.failures.saturating_add(1);
        if next.failures < policy.max_pin_failures {
            let left = policy.max_pin_failures.saturating_sub(next.failures);
            let next_lock = next.next_lock(policy);
            return (next, Failure::AttemptsLeft { left, next_lock });
        }
        next.failures = 0;
        next.locks = next.locks.saturating_add(1);
        next.lock = if next.locks >= policy.max_pin_locks {
            Lock::Permanent
        } else {
            Lock::Until(now.saturating_add(policy.lock_duration(next.locks)))
        };
        let until = match next.lock {
            Lock::Until(until) => Some(until),
            Lock::Open | Lock::Permanent => None,
        };
        (next, Failure::Locked(until))
    }

    /// The lock the next failures will set: the permanent one once the locks so far are one
    /// short of the policy's `max_pin_locks`.
    fn next_lock(&self, policy: &Policy) -> NextLock {
        let lock_number = self.locks.saturating_add(1);
        if lock_number >= policy.max_pin_locks {
            NextLock::Permanent
        } else {
            NextLock::Temporary(policy.lock_duration(lock_number))
        }
    }

    /// The guard with PIN checks refused, counts kept, while the host replaces the PIN: no
    /// attempt is answered, so none is counted, until [`Guard::after_success`] lifts it or
    /// [`Guard::with_pin_state_of`] puts the earlier state back.
    pub(crate) fn frozen(&self) -> Self {
        Self {
            lock: Lock::Permanent,
            ..self.clone()
        }
    }

    /// The guard with the failures, locks and lock of `earlier`, and its own SMS windows and
    /// ledger.
    pub(crate) fn with_pin_state_of(&self, earlier: &Self) -> Self {
        Self {
            failures: earlier.failures,
            locks: earlier.locks,
            lock: earlier.lock,
            ..self.clone()
        }
    }

    /// The guard after a right PIN: failures and lock history forgotten, SMS history and
    /// spending ledger kept.
    pub(crate) fn after_success(&self) -> Self {
        Self {
            sms_sent: self.sms_sent.clone(),
            enrollment_sms: self.enrollment_sms.clone(),
            ledger: self.ledger.clone(),
            ..Self::default()
        }
    }

    /// The number's spending ledger.
    pub(crate) fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The same guard with `ledger`.
    pub(crate) fn with_ledger(self, ledger: Ledger) -> Self {
        Self { ledger, ..self }
    }

    /// The guard with one more payment code sent at `now`, or `Error::RateLimited` when the
    /// window holds `max_sms_per_number` already.
    pub(crate) fn after_sms(&self, now: Timestamp, policy: &Policy) -> Result<Self, Error> {
        let sms_sent = one_more(&self.sms_sent, now, policy, policy.max_sms_per_number)?;
        Ok(Self {
            sms_sent,
            ..self.clone()
        })
    }

    /// The guard with one more enrollment code sent at `now`, or `Error::RateLimited` when the
    /// window holds `max_enrollment_sms_per_number` already. Payment codes are not counted
    /// here, nor these there: someone without the PIN cannot spend the owner's budget.
    pub(crate) fn after_enrollment_sms(
        &self,
        now: Timestamp,
        policy: &Policy,
    ) -> Result<Self, Error> {
        let max = policy.max_enrollment_sms_per_number;
        let enrollment_sms = one_more(&self.enrollment_sms, now, policy, max)?;
        Ok(Self {
            enrollment_sms,
            ..self.clone()
        })
    }

    /// Whether the guard counts no failure and holds no lock.
    pub(crate) fn is_clear(&self) -> bool {
        self.failures == 0 && self.locks == 0 && self.lock == Lock::Open
    }

    /// How many consecutive wrong PINs are counted now.
    #[cfg(test)]
    pub(crate) fn failures(&self) -> u8 {
        self.failures
    }

    pub(crate) fn encode(&self, keys: &Keys, key: &Key) -> Vec<u8> {
        let capacity = (self.sms_sent.len())
            .saturating_add(self.enrollment_sms.len())
            .saturating_mul(8)
            .saturating_add(self.ledger.max_len())
            .saturating_add(32);
        let mut w = seal::writer_with_room(RecordKind::Guard, keys, capacity);
        w.u8(self.failures);
        w.u8(self.locks);
        match self.lock {
            Lock::Open => w.u8(0),
            Lock::Until(until) => {
                w.u8(1);
                w.time(until);
            }
            Lock::Permanent => w.u8(2),
        }
        write_times(&mut w, &self.sms_sent);
        write_times(&mut w, &self.enrollment_sms);
        self.ledger.write(&mut w);
        seal::seal(w, keys, key)
    }

    pub(crate) fn decode(keys: &Keys, key: &Key, record: &[u8]) -> Result<Self, Error> {
        let mut r = seal::open(keys, key, RecordKind::Guard, record)?;
        let failures = r.u8()?;
        let locks = r.u8()?;
        let lock = match r.u8()? {
            0 => Lock::Open,
            1 => Lock::Until(r.time()?),
            2 => Lock::Permanent,
            _ => return Err(Error::Tampered),
        };
        let sms_sent = read_times(&mut r)?;
        let enrollment_sms = read_times(&mut r)?;
        let ledger = Ledger::read(&mut r)?;
        r.finish()?;
        Ok(Self {
            failures,
            locks,
            lock,
            sms_sent,
            enrollment_sms,
            ledger,
        })
    }
}

/// The sends within the window ending at `now`, with one more at `now`; `Error::RateLimited`
/// when they are `max` already.
fn one_more(
    sent: &[Timestamp],
    now: Timestamp,
    policy: &Policy,
    max: u8,
) -> Result<Vec<Timestamp>, Error> {
    let window_start = Timestamp::from_unix_millis(
        now.as_unix_millis()
            .saturating_sub(crate::time::millis(policy.sms_window)),
    );
    let mut recent: Vec<Timestamp> = sent
        .iter()
        .copied()
        .filter(|sent| *sent > window_start)
        .collect();
    if let Some(over) = recent.len().checked_sub(usize::from(max)) {
        // The send whose lapse leaves room for one more (the oldest but under a lowered
        // `max`); a validated policy sends at least one code a window.
        #[expect(
            clippy::expect_used,
            reason = "Policy::validate: 1 code or more a window"
        )]
        let frees = recent
            .get(over)
            .expect("a policy sends 1 code or more a window");
        let retry_at = frees.saturating_add(policy.sms_window);
        return Err(Error::RateLimited { retry_at });
    }
    recent.push(now);
    Ok(recent)
}

fn write_times(w: &mut Writer, times: &[Timestamp]) {
    w.list(times, u8::MAX, |w, time| w.time(*time));
}

fn read_times(r: &mut Reader<'_>) -> Result<Vec<Timestamp>, Error> {
    let count = r.u8()?;
    (0..count).map(|_| r.time()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretKey;
    use core::time::Duration;

    const T0: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);
    const MINUTE: Duration = Duration::from_secs(60);

    fn after(t: Timestamp, duration: Duration) -> Timestamp {
        t.saturating_add(duration)
    }

    fn fail(guard: &Guard, now: Timestamp) -> (Guard, Failure) {
        guard.check_open(now).unwrap();
        guard.after_failure(now, &Policy::default())
    }

    fn left(left: u8, next_lock: NextLock) -> Failure {
        Failure::AttemptsLeft { left, next_lock }
    }

    #[test]
    fn third_failure_locks_for_fifteen_minutes() {
        let first = NextLock::Temporary(15 * MINUTE);
        let (g, f) = fail(&Guard::default(), T0);
        assert_eq!(f, left(2, first));
        let (g, f) = fail(&g, T0);
        assert_eq!(f, left(1, first));
        let (g, f) = fail(&g, T0);
        let until = after(T0, 15 * MINUTE);
        assert_eq!(f, Failure::Locked(Some(until)));
        assert!(matches!(g.check_open(T0), Err(Error::Locked { until: Some(u) }) if u == until));
        assert!(g.check_open(after(until, Duration::from_millis(0))).is_ok());
        assert_eq!(g.failures(), 0);
    }

    #[test]
    fn locks_double_then_become_permanent() {
        let mut guard = Guard::default();
        let mut now = T0;
        let mut lengths = Vec::new();
        let mut warned = Vec::new();
        loop {
            let (next, failure) = fail(&guard, now);
            guard = next;
            match failure {
                Failure::AttemptsLeft { next_lock, .. } => warned.push(next_lock),
                Failure::Locked(Some(until)) => {
                    lengths.push(until.saturating_duration_since(now));
                    now = until;
                }
                Failure::Locked(None) => break,
            }
        }
        assert_eq!(
            lengths,
            [15 * MINUTE, 30 * MINUTE, 60 * MINUTE, 120 * MINUTE]
        );
        // Each wrong PIN tells the lock it leads to; before the fifth, that it is permanent.
        let temporary = |m: u32| NextLock::Temporary(MINUTE * m);
        assert_eq!(
            warned,
            [
                [temporary(15); 2],
                [temporary(30); 2],
                [temporary(60); 2],
                [temporary(120); 2],
                [NextLock::Permanent; 2]
            ]
            .concat()
        );
        assert!(matches!(
            guard.check_open(after(now, 1000 * MINUTE)),
            Err(Error::Locked { until: None })
        ));
    }

    #[test]
    fn a_frozen_guard_answers_nothing_and_thaws_to_either_state() {
        let policy = Policy::default();
        let (before, _) = fail(&Guard::default(), T0);
        let frozen = before.frozen().after_sms(T0, &policy).unwrap();
        assert!(matches!(
            frozen.check_open(T0),
            Err(Error::Locked { until: None })
        ));
        let restored = frozen.with_pin_state_of(&before);
        assert_eq!(restored.failures(), 1);
        assert!(restored.check_open(T0).is_ok());
        assert_eq!(restored.sms_sent, vec![T0], "what happened meanwhile stays");
        assert!(frozen.after_success().is_clear());
    }

    #[test]
    fn a_single_lock_policy_warns_of_the_permanent_lock_at_once() {
        let policy = Policy {
            max_pin_locks: 1,
            ..Policy::default()
        };
        let (_, failure) = Guard::default().after_failure(T0, &policy);
        assert_eq!(failure, left(2, NextLock::Permanent));
    }

    #[test]
    fn success_forgets_failures_and_locks_but_not_sms() {
        let policy = Policy::default();
        let (g, _) = fail(&Guard::default(), T0);
        let g = g.after_sms(T0, &policy).unwrap();
        let reset = g.after_success();
        assert_eq!(reset.failures(), 0);
        assert_eq!(reset.locks, 0);
        assert_eq!(reset.sms_sent, vec![T0]);
    }

    #[test]
    fn sms_window_slides() {
        let policy = Policy::default();
        let mut guard = Guard::default();
        for i in 0..5 {
            guard = guard.after_sms(after(T0, i * MINUTE), &policy).unwrap();
        }
        let now = after(T0, 5 * MINUTE);
        let retry_at = after(T0, 10 * MINUTE);
        assert!(
            matches!(guard.after_sms(now, &policy), Err(Error::RateLimited { retry_at: r }) if r == retry_at)
        );
        let later = guard.after_sms(retry_at, &policy).unwrap();
        assert_eq!(later.sms_sent.len(), 5);
        assert_eq!(later.sms_sent.first(), Some(&after(T0, MINUTE)));
    }

    #[test]
    fn under_a_lowered_budget_the_retry_time_is_when_room_frees() {
        let mut guard = Guard::default();
        for i in 0..5 {
            guard = guard
                .after_sms(after(T0, i * MINUTE), &Policy::default())
                .unwrap();
        }
        let lowered = Policy {
            max_sms_per_number: 3,
            ..Policy::default()
        };
        // Sends at 0, 1, 2, 3 and 4 minutes, 3 allowed: room frees when the third lapses.
        let retry_at = after(T0, 12 * MINUTE);
        assert!(matches!(
            guard.after_sms(after(T0, 5 * MINUTE), &lowered),
            Err(Error::RateLimited { retry_at: r }) if r == retry_at
        ));
        assert!(matches!(
            guard.after_sms(after(T0, 12 * MINUTE - Duration::from_millis(1)), &lowered),
            Err(Error::RateLimited { .. })
        ));
        let later = guard.after_sms(retry_at, &lowered).unwrap();
        assert_eq!(later.sms_sent.len(), 3);
    }

    #[test]
    fn enrollment_codes_have_a_budget_of_their_own() {
        let policy = Policy::default();
        let mut guard = Guard::default();
        for i in 0..3 {
            guard = guard
                .after_enrollment_sms(after(T0, i * MINUTE), &policy)
                .unwrap();
        }
        let now = after(T0, 3 * MINUTE);
        let retry_at = after(T0, 10 * MINUTE);
        assert!(matches!(
            guard.after_enrollment_sms(now, &policy),
            Err(Error::RateLimited { retry_at: r }) if r == retry_at
        ));
        // The payment codes' window is untouched, and does not feed this one.
        for _ in 0..5 {
            guard = guard.after_sms(now, &policy).unwrap();
        }
        assert!(guard.after_sms(now, &policy).is_err());
        assert_eq!(guard.enrollment_sms.len(), 3);
        assert_eq!(guard.after_success().enrollment_sms.len(), 3);
    }

    #[test]
    fn record_round_trips() {
        let keys = Keys::new(1, SecretKey::from_bytes([1; 32]));
        let key = Key::guard("0011");
        let policy = Policy::default();
        let (g, _) = fail(&Guard::default(), T0);
        let (g, _) = fail(&g, T0);
        let (g, _) = fail(&g, T0);
        let g = g.after_sms(T0, &policy).unwrap();
        let g = g.after_enrollment_sms(T0, &policy).unwrap();
        for guard in [
            Guard::default(),
            g,
            Guard {
                lock: Lock::Permanent,
                ..Guard::default()
            },
        ] {
            let record = guard.encode(&keys, &key);
            assert_eq!(Guard::decode(&keys, &key, &record).unwrap(), guard);
        }
    }
}
