//! [`Policy`]: every limit the engine enforces, with its default and its validation.

use core::fmt;
use core::time::Duration;

use crate::Error;
use crate::language::Language;
use crate::money::{Amount, Currency};
use crate::secret::{CODE_DIGITS, DigitsError, PIN_DIGITS, Pin};
use crate::weak_pin::weakness_of;

/// The limits of the engine. Start from [`Policy::default`] and change fields;
/// [`EngineBuilder::build`](crate::EngineBuilder::build) validates the result.
///
/// Set the fields you change and take the rest from the default, so that a limit added in a
/// later release comes with its default and your code still compiles. It is the only way: a
/// hidden field that only the default fills keeps a policy from being listed field by field.
///
/// ```
/// use std::time::Duration;
/// let policy = buyster::Policy {
///     max_pin_failures: 5,
///     payment_ttl: Duration::from_secs(10 * 60),
///     ..buyster::Policy::default()
/// };
/// assert!(policy.validate().is_ok());
/// ```
///
/// | field | default | allowed |
/// |---|---|---|
/// | `max_pin_failures` | 3 | 1 to 5 (PSD2 RTS art. 4(3)(b)) |
/// | `pin_lock` | 15 min, doubling with each lock | 1 s to 24 h |
/// | `max_pin_locks` | 5, then the lock is permanent | 1 to 10 |
/// | `min_pin_digits`, `max_pin_digits` | 6, 6 | 4 to 8, min ≤ max |
/// | `max_code_attempts` | 3 | 1 to 5 |
/// | `code_digits` | 6 | 6 to 9 |
/// | `code_ttl` | 5 min | 30 s to 10 min, ≤ `payment_ttl` |
/// | `payment_ttl` | 15 min | 1 min to 1 h |
/// | `resend_cooldown` | 30 s | 0 to `code_ttl` |
/// | `recovery_delay` | 30 s | 1 s to 1 h |
/// | `max_resends` | 3 | 0 to 10 |
/// | `max_sms_per_number` | 5 payment codes per `sms_window` | 1 to 100 |
/// | `max_enrollment_sms_per_number` | 3 enrollment codes per `sms_window` | 1 to 100 |
/// | `sms_window` | 10 min | 1 min to 24 h |
/// | `sms_language` | by the number's country | — |
/// | `currency` | EUR: the currency of the three limits below | — |
/// | `max_per_payment` | EUR 1,000 (100,000 minor units) | 1 to `max_per_24_hours` |
/// | `max_per_24_hours` | EUR 1,500, over any rolling 24 hours | `max_per_payment` to `max_per_30_days` |
/// | `max_per_30_days` | EUR 3,000, over any rolling 30 days | `max_per_24_hours` to [`Amount::MAX_MINOR_UNITS`] |
/// | `other_currencies` | none | each with limits as above; no currency twice |
/// | `low_value_exemption` | off | — |
/// | `exemption_max_amount` | EUR 30 (3,000 cents) | 1 to 3,000 (PSD2 RTS art. 16(a)) |
/// | `exemption_max_cumulative` | EUR 100 | `exemption_max_amount` to 10,000 (art. 16(b)) |
/// | `exemption_max_payments` | 5 | 1 to 5 (art. 16(c)) |
/// | `failed_payment_retention` | 30 days after it failed | 1 day to 10 years |
/// | `confirmed_payment_retention` | 400 days after its last movement of money | 30 days to 10 years |
/// | `enrollment_retention` | 30 days after it ended | 1 day to 10 years |
///
/// Payments are taken in `currency` (the euro by default) and in the `other_currencies` the
/// host lists, each with limits of its own in its minor units; a payment in any other currency
/// is refused ([`Error::CurrencyNotAccepted`]). Each currency's reservations count against its
/// own limits only, so that the most a stolen phone and PIN can spend is the sum of the limits
/// of the currencies accepted: EUR 1,000 a payment, 1,500 a day and 3,000 a month by default.
///
/// An ended payment or enrollment is kept for its retention, then removed by
/// [`Engine::recover_due`](crate::Engine::recover_due) when the store supports
/// [`Store::remove`](crate::Store::remove): anyone can start payments, and without an end each
/// abandoned one would stay in the store for good. A failed payment moved no money: 30 days
/// leave support time to answer a buyer who asks what happened, and the merchant time to see
/// a key's answer ([`Engine::initiate_once`](crate::Engine::initiate_once) gives the failed
/// payment back until then, a new one after). A confirmed payment is kept as long as money can
/// still come back: refunds are asked on it, and a SEPA debit the buyer did not authorise may
/// be returned up to 13 months after it (the SEPA Core rulebook; PSD2 art. 71): 400 days cover
/// that with a margin. Its end is the last time money moved: its confirmation or its latest
/// refund. A payment with a refund pending is never removed. An enrollment holds a number and
/// no money: 30 days after it was finished or failed.
///
/// [`Amount::MAX_MINOR_UNITS`]: crate::Amount::MAX_MINOR_UNITS
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "hosts set the fields they change with `..Policy::default()`, and cannot build it \
              field by field (`more`): a new limit breaks no host"
)]
pub struct Policy {
    /// Consecutive wrong PINs (per number, across payments) that lock PIN checks.
    pub max_pin_failures: u8,
    /// Length of the first lock; each further lock lasts twice the one before.
    pub pin_lock: Duration,
    /// Number of locks after which the lock is permanent (until the host intervenes).
    pub max_pin_locks: u8,
    /// Fewest digits of a PIN at enrollment.
    pub min_pin_digits: u8,
    /// Most digits of a PIN at enrollment.
    pub max_pin_digits: u8,
    /// Wrong codes a payment may receive; the last one fails the payment.
    pub max_code_attempts: u8,
    /// Digits of the SMS code.
    pub code_digits: u8,
    /// How long a code stays valid after it is sent.
    pub code_ttl: Duration,
    /// How long a payment may take from `initiate` to authorization.
    pub payment_ttl: Duration,
    /// How long after a payment is authorized, a refund asked or a payment failed, the
    /// record falls due for [`Engine::recover_due`](crate::Engine::recover_due) if the call
    /// that did it did not finish (a crash, a bank that did not answer); also the wait before
    /// it tries again what it could not finish.
    pub recovery_delay: Duration,
    /// Time between two sends of a code for the same payment.
    pub resend_cooldown: Duration,
    /// New codes a payment may ask for after the first.
    pub max_resends: u8,
    /// Payment codes sent to one number within `sms_window`, all payments together.
    pub max_sms_per_number: u8,
    /// Enrollment codes sent to one number within `sms_window`. A budget apart from
    /// `max_sms_per_number`: anyone may start an enrollment, with no PIN, and must not be able
    /// to use up the SMS the owner's checkouts need.
    pub max_enrollment_sms_per_number: u8,
    /// The sliding window of `max_sms_per_number`.
    pub sms_window: Duration,
    /// The SMS language; `None` picks it from the number ([`Language::for_number`]).
    pub sms_language: Option<Language>,
    /// The currency payments are taken in, and that the three limits below are in.
    pub currency: Currency,
    /// The most one payment may be, in minor units of `currency`.
    pub max_per_payment: u64,
    /// The most a number may spend over any rolling 24 hours, in minor units of `currency`.
    pub max_per_24_hours: u64,
    /// The most a number may spend over any rolling 30 days, in minor units of `currency`.
    pub max_per_30_days: u64,
    /// Further currencies payments may be taken in, each with its own limits; none by default.
    pub other_currencies: Vec<CurrencyLimits>,
    /// Whether small euro payments may skip the SMS code (PSD2 RTS art. 16), within the three
    /// figures below; the PIN is always checked.
    pub low_value_exemption: bool,
    /// The most an exempt payment may be, in euro cents.
    pub exemption_max_amount: u64,
    /// The most the exempt payments since the last one authorized by a code may total, in euro
    /// cents, this one included.
    pub exemption_max_cumulative: u64,
    /// The most exempt payments in a row since the last one authorized by a code, this one
    /// included.
    pub exemption_max_payments: u8,
    /// How long a failed payment is kept after it failed, before it is removed.
    pub failed_payment_retention: Duration,
    /// How long a confirmed payment is kept after the last time money moved on it (its
    /// confirmation or its latest refund), before it is removed.
    pub confirmed_payment_retention: Duration,
    /// How long an enrollment is kept after it ended (enrolled or failed), before it is
    /// removed.
    pub enrollment_retention: Duration,
    /// Keeps the policy open to new limits: its type has no constructor outside the crate, so
    /// a policy is built from [`Policy::default`] (`..Policy::default()`), never field by field,
    /// and a limit added later does not break a host's code.
    #[doc(hidden)]
    pub more: open::MoreLimits,
}

mod open {
    /// The value of [`Policy::more`](super::Policy): nothing, and nameable nowhere outside the
    /// crate.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct MoreLimits;
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_pin_failures: 3,
            pin_lock: Duration::from_secs(15 * 60),
            max_pin_locks: 5,
            min_pin_digits: 6,
            max_pin_digits: 6,
            max_code_attempts: 3,
            code_digits: 6,
            code_ttl: Duration::from_secs(5 * 60),
            payment_ttl: Duration::from_secs(15 * 60),
            resend_cooldown: Duration::from_secs(30),
            recovery_delay: Duration::from_secs(30),
            max_resends: 3,
            max_sms_per_number: 5,
            max_enrollment_sms_per_number: 3,
            sms_window: Duration::from_secs(10 * 60),
            sms_language: None,
            currency: Currency::EUR,
            max_per_payment: 100_000,
            max_per_24_hours: 150_000,
            max_per_30_days: 300_000,
            other_currencies: Vec::new(),
            low_value_exemption: false,
            exemption_max_amount: 3_000,
            exemption_max_cumulative: 10_000,
            exemption_max_payments: 5,
            failed_payment_retention: FAILED_PAYMENT_RETENTION,
            confirmed_payment_retention: CONFIRMED_PAYMENT_RETENTION,
            enrollment_retention: ENROLLMENT_RETENTION,
            more: open::MoreLimits,
        }
    }
}

/// The spending limits of one currency, in its minor units: an entry of
/// [`Policy::other_currencies`], or what [`Policy::limits`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CurrencyLimits {
    /// The currency.
    pub currency: Currency,
    /// The most one payment may be.
    pub max_per_payment: u64,
    /// The most a number may spend over any rolling 24 hours.
    pub max_per_24_hours: u64,
    /// The most a number may spend over any rolling 30 days.
    pub max_per_30_days: u64,
}

impl CurrencyLimits {
    /// The limits of `currency`, in its minor units: at most `per_payment` a payment,
    /// `per_24_hours` over any rolling 24 hours, `per_30_days` over any rolling 30 days.
    /// [`Policy::validate`] checks that they are in that order.
    #[must_use]
    pub const fn new(
        currency: Currency,
        per_payment: u64,
        per_24_hours: u64,
        per_30_days: u64,
    ) -> Self {
        Self {
            currency,
            max_per_payment: per_payment,
            max_per_24_hours: per_24_hours,
            max_per_30_days: per_30_days,
        }
    }

    /// Whether `1 ≤ max_per_payment ≤ max_per_24_hours ≤ max_per_30_days ≤` the largest amount.
    fn are_ordered(&self) -> bool {
        self.max_per_payment >= 1
            && self.max_per_payment <= self.max_per_24_hours
            && self.max_per_24_hours <= self.max_per_30_days
            && self.max_per_30_days <= Amount::MAX_MINOR_UNITS
    }
}

/// Which [`Policy`] field was refused, and the rule it broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyError {
    field: &'static str,
    rule: &'static str,
}

impl PolicyError {
    /// The name of the field, as in [`Policy`].
    #[must_use]
    pub const fn field(&self) -> &'static str {
        self.field
    }

    /// The rule the value broke.
    #[must_use]
    pub const fn rule(&self) -> &'static str {
        self.rule
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.rule)
    }
}

impl std::error::Error for PolicyError {}

const SECOND: Duration = Duration::from_secs(1);
const HALF_MINUTE: Duration = Duration::from_secs(30);
const MINUTE: Duration = Duration::from_secs(60);
const TEN_MINUTES: Duration = Duration::from_secs(600);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);
const THIRTY_DAYS: Duration = Duration::from_secs(30 * 86_400);
const TEN_YEARS: Duration = Duration::from_secs(3_650 * 86_400);

/// The default of [`Policy::failed_payment_retention`]: 30 days, for support.
pub(crate) const FAILED_PAYMENT_RETENTION: Duration = THIRTY_DAYS;
/// The default of [`Policy::confirmed_payment_retention`]: 400 days, past the 13 months in
/// which a SEPA debit the buyer did not authorise may be returned.
pub(crate) const CONFIRMED_PAYMENT_RETENTION: Duration = Duration::from_secs(400 * 86_400);
/// The default of [`Policy::enrollment_retention`]: 30 days.
pub(crate) const ENROLLMENT_RETENTION: Duration = THIRTY_DAYS;

impl Policy {
    /// Checks every field against the table above.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPolicy`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), Error> {
        let checks: [(bool, &'static str, &'static str); 27] = [
            (
                within(self.max_pin_failures, 1, 5),
                "max_pin_failures",
                "must be 1 to 5: PSD2 allows at most 5 consecutive failures",
            ),
            (
                self.pin_lock >= SECOND && self.pin_lock <= DAY,
                "pin_lock",
                "must be 1 second to 24 hours",
            ),
            (
                within(self.max_pin_locks, 1, 10),
                "max_pin_locks",
                "must be 1 to 10",
            ),
            (
                within(self.min_pin_digits, PIN_DIGITS.0, PIN_DIGITS.1),
                "min_pin_digits",
                "must be 4 to 8",
            ),
            (
                within(self.max_pin_digits, self.min_pin_digits, PIN_DIGITS.1),
                "max_pin_digits",
                "must be min_pin_digits to 8",
            ),
            (
                within(self.max_code_attempts, 1, 5),
                "max_code_attempts",
                "must be 1 to 5",
            ),
            (
                within(self.code_digits, CODE_DIGITS.0, CODE_DIGITS.1),
                "code_digits",
                "must be 6 to 9",
            ),
            (
                self.code_ttl >= HALF_MINUTE && self.code_ttl <= TEN_MINUTES,
                "code_ttl",
                "must be 30 seconds to 10 minutes",
            ),
            (
                self.payment_ttl >= MINUTE && self.payment_ttl <= HOUR,
                "payment_ttl",
                "must be 1 minute to 1 hour",
            ),
            (
                self.recovery_delay >= Duration::from_secs(1) && self.recovery_delay <= HOUR,
                "recovery_delay",
                "must be 1 second to 1 hour",
            ),
            (
                self.code_ttl <= self.payment_ttl,
                "code_ttl",
                "must not exceed payment_ttl",
            ),
            (
                self.resend_cooldown <= self.code_ttl,
                "resend_cooldown",
                "must not exceed code_ttl",
            ),
            (self.max_resends <= 10, "max_resends", "must be 0 to 10"),
            (
                within(self.max_sms_per_number, 1, 100),
                "max_sms_per_number",
                "must be 1 to 100",
            ),
            (
                within(self.max_enrollment_sms_per_number, 1, 100),
                "max_enrollment_sms_per_number",
                "must be 1 to 100",
            ),
            (
                self.sms_window >= MINUTE && self.sms_window <= DAY,
                "sms_window",
                "must be 1 minute to 24 hours",
            ),
            (
                self.max_per_payment >= 1 && self.max_per_payment <= self.max_per_24_hours,
                "max_per_payment",
                "must be 1 to max_per_24_hours",
            ),
            (
                self.max_per_24_hours <= self.max_per_30_days,
                "max_per_24_hours",
                "must not exceed max_per_30_days",
            ),
            (
                self.max_per_30_days <= Amount::MAX_MINOR_UNITS,
                "max_per_30_days",
                "must not exceed the largest amount",
            ),
            (
                self.other_currencies
                    .iter()
                    .all(CurrencyLimits::are_ordered),
                "other_currencies",
                "must each have 1 <= max_per_payment <= max_per_24_hours <= max_per_30_days <= \
                 the largest amount",
            ),
            (
                self.currencies_are_distinct(),
                "other_currencies",
                "must not name a currency twice, nor the policy's currency",
            ),
            (
                self.exemption_max_amount >= 1 && self.exemption_max_amount <= 3_000,
                "exemption_max_amount",
                "must be 1 to 3000 cents: PSD2 exempts payments of at most EUR 30",
            ),
            (
                self.exemption_max_cumulative >= self.exemption_max_amount
                    && self.exemption_max_cumulative <= 10_000,
                "exemption_max_cumulative",
                "must be exemption_max_amount to 10000 cents: PSD2 allows EUR 100 in all",
            ),
            (
                within(self.exemption_max_payments, 1, 5),
                "exemption_max_payments",
                "must be 1 to 5: PSD2 allows 5 payments in a row",
            ),
            (
                self.failed_payment_retention >= DAY && self.failed_payment_retention <= TEN_YEARS,
                "failed_payment_retention",
                "must be 1 day to 10 years: an order's idempotency key lives in its payment",
            ),
            (
                self.confirmed_payment_retention >= THIRTY_DAYS
                    && self.confirmed_payment_retention <= TEN_YEARS,
                "confirmed_payment_retention",
                "must be 30 days to 10 years: a payment counts against the limits for 30 days",
            ),
            (
                self.enrollment_retention >= DAY && self.enrollment_retention <= TEN_YEARS,
                "enrollment_retention",
                "must be 1 day to 10 years",
            ),
        ];
        match checks.into_iter().find(|(ok, _, _)| !ok) {
            Some((_, field, rule)) => Err(Error::InvalidPolicy(PolicyError { field, rule })),
            None => Ok(()),
        }
    }

    /// The limits of `currency`, or `None` when the policy takes no payment in it.
    #[must_use]
    pub fn limits(&self, currency: Currency) -> Option<CurrencyLimits> {
        let own = CurrencyLimits {
            currency: self.currency,
            max_per_payment: self.max_per_payment,
            max_per_24_hours: self.max_per_24_hours,
            max_per_30_days: self.max_per_30_days,
        };
        core::iter::once(own)
            .chain(self.other_currencies.iter().copied())
            .find(|limits| limits.currency == currency)
    }

    fn currencies_are_distinct(&self) -> bool {
        let named = || {
            core::iter::once(self.currency).chain(self.other_currencies.iter().map(|l| l.currency))
        };
        named()
            .enumerate()
            .all(|(i, currency)| named().skip(i.saturating_add(1)).all(|c| c != currency))
    }

    /// Whether the low-value exemption is on and a payment of `amount` is within its
    /// per-payment figure, in euros; the streak's count and total are the ledger's to check.
    pub(crate) fn exempts(&self, amount: Amount) -> bool {
        self.low_value_exemption
            && amount.currency() == crate::money::Currency::EUR
            && amount.minor_units() <= self.exemption_max_amount
    }

    /// Checks a PIN about to be chosen against the policy's length and the weak-PIN rules: what
    /// `finish_enrollment`, `change_pin` and `reset_pin` apply, for a host to apply before
    /// `enroll` too.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPin`] for a length outside the range, [`Error::WeakPin`] naming the
    /// first rule the PIN breaks.
    pub fn check_new_pin(&self, pin: &Pin) -> Result<(), Error> {
        self.check_pin_length(pin)?;
        weakness_of(pin).map_or(Ok(()), |rule| Err(Error::WeakPin(rule)))
    }

    /// Checks a PIN's length against the policy's range, as [`Engine::enroll`] does for a PIN
    /// the host brings.
    ///
    /// [`Engine::enroll`]: crate::Engine::enroll
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPin`] when its length is outside the range.
    pub(crate) fn check_pin_length(&self, pin: &Pin) -> Result<(), Error> {
        let (min, max) = (self.min_pin_digits, self.max_pin_digits);
        if pin.digits() < usize::from(min) || pin.digits() > usize::from(max) {
            return Err(Error::InvalidPin(DigitsError::Length { min, max }));
        }
        Ok(())
    }

    /// How long the `lock_number`-th lock (from 1) lasts: `pin_lock` doubled each time.
    pub(crate) fn lock_duration(&self, lock_number: u8) -> Duration {
        let doublings = u32::from(lock_number.saturating_sub(1)).min(16);
        self.pin_lock
            .checked_mul(1u32 << doublings)
            .unwrap_or(Duration::MAX)
    }
}

const fn within(value: u8, min: u8, max: u8) -> bool {
    value >= min && value <= max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_field(policy: &Policy) -> &'static str {
        match policy.validate() {
            Err(Error::InvalidPolicy(e)) => e.field(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_are_the_documented_ones_and_valid() {
        let p = Policy::default();
        assert_eq!(
            (p.max_pin_failures, p.max_pin_locks, p.max_code_attempts),
            (3, 5, 3)
        );
        assert_eq!(
            (p.code_digits, p.max_resends, p.max_sms_per_number),
            (6, 3, 5)
        );
        assert_eq!(p.max_enrollment_sms_per_number, 3);
        assert_eq!(p.pin_lock, 15 * MINUTE);
        assert_eq!(
            (p.max_per_payment, p.max_per_24_hours, p.max_per_30_days),
            (100_000, 150_000, 300_000)
        );
        assert_eq!((p.code_ttl, p.payment_ttl), (5 * MINUTE, 15 * MINUTE));
        assert_eq!(
            (p.resend_cooldown, p.sms_window),
            (30 * SECOND, 10 * MINUTE)
        );
        assert_eq!(
            (
                p.failed_payment_retention,
                p.confirmed_payment_retention,
                p.enrollment_retention
            ),
            (30 * DAY, 400 * DAY, 30 * DAY)
        );
        assert!(p.validate().is_ok());
    }

    #[test]
    fn each_rule_names_its_field() {
        type Change = fn(&mut Policy);
        let cases: [(Change, &str); 27] = [
            (|p| p.max_pin_failures = 6, "max_pin_failures"),
            (|p| p.max_pin_failures = 0, "max_pin_failures"),
            (|p| p.pin_lock = Duration::ZERO, "pin_lock"),
            (|p| p.max_pin_locks = 0, "max_pin_locks"),
            (|p| p.min_pin_digits = 3, "min_pin_digits"),
            (|p| p.max_pin_digits = 5, "max_pin_digits"),
            (|p| p.max_code_attempts = 0, "max_code_attempts"),
            (|p| p.code_digits = 5, "code_digits"),
            (|p| p.code_ttl = 11 * MINUTE, "code_ttl"),
            (|p| p.payment_ttl = 2 * HOUR, "payment_ttl"),
            (|p| p.resend_cooldown = 6 * MINUTE, "resend_cooldown"),
            (|p| p.max_resends = 11, "max_resends"),
            (|p| p.max_sms_per_number = 0, "max_sms_per_number"),
            (
                |p| p.max_enrollment_sms_per_number = 101,
                "max_enrollment_sms_per_number",
            ),
            (|p| p.sms_window = SECOND, "sms_window"),
            (|p| p.max_per_payment = 0, "max_per_payment"),
            (|p| p.max_per_24_hours = 90_000, "max_per_payment"),
            (|p| p.max_per_30_days = 100_000, "max_per_24_hours"),
            (|p| p.exemption_max_amount = 3_001, "exemption_max_amount"),
            (
                |p| p.exemption_max_cumulative = 10_001,
                "exemption_max_cumulative",
            ),
            (|p| p.exemption_max_payments = 6, "exemption_max_payments"),
            (
                |p| p.failed_payment_retention = 23 * HOUR,
                "failed_payment_retention",
            ),
            (
                |p| p.confirmed_payment_retention = 29 * DAY,
                "confirmed_payment_retention",
            ),
            (
                |p| p.enrollment_retention = 3_651 * DAY,
                "enrollment_retention",
            ),
            (
                |p| p.other_currencies = vec![pounds(100, 50, 200)],
                "other_currencies",
            ),
            (
                |p| p.other_currencies = vec![pounds(100, 100, 100), pounds(1, 1, 1)],
                "other_currencies",
            ),
            (
                |p| {
                    p.other_currencies = vec![CurrencyLimits {
                        currency: Currency::EUR,
                        ..pounds(1, 1, 1)
                    }];
                },
                "other_currencies",
            ),
        ];
        for (change, field) in cases {
            let mut policy = Policy::default();
            change(&mut policy);
            assert_eq!(refused_field(&policy), field);
        }
        let policy = Policy {
            payment_ttl: 2 * MINUTE,
            ..Policy::default()
        };
        assert_eq!(refused_field(&policy), "code_ttl");
        let err = Policy {
            max_pin_failures: 9,
            ..Policy::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid policy: max_pin_failures must be 1 to 5: PSD2 allows at most 5 consecutive failures"
        );
    }

    fn pounds(payment: u64, day: u64, month: u64) -> CurrencyLimits {
        CurrencyLimits {
            currency: Currency::GBP,
            max_per_payment: payment,
            max_per_24_hours: day,
            max_per_30_days: month,
        }
    }

    #[test]
    fn the_euro_alone_is_taken_unless_the_host_names_other_currencies() {
        let p = Policy::default();
        assert_eq!(
            p.limits(Currency::EUR),
            Some(CurrencyLimits {
                currency: Currency::EUR,
                max_per_payment: 100_000,
                max_per_24_hours: 150_000,
                max_per_30_days: 300_000,
            })
        );
        for other in [Currency::GBP, Currency::CHF, Currency::USD] {
            assert_eq!(p.limits(other), None, "{other}");
        }
        let with_pounds = Policy {
            other_currencies: vec![pounds(50_000, 80_000, 100_000)],
            ..Policy::default()
        };
        assert!(with_pounds.validate().is_ok());
        assert_eq!(
            with_pounds.limits(Currency::GBP),
            Some(pounds(50_000, 80_000, 100_000))
        );
        assert_eq!(with_pounds.limits(Currency::USD), None);
        let pounds_only = Policy {
            currency: Currency::GBP,
            ..Policy::default()
        };
        assert_eq!(pounds_only.limits(Currency::EUR), None);
        assert!(pounds_only.limits(Currency::GBP).is_some());
    }

    #[test]
    fn a_new_pin_has_the_policys_length_and_breaks_no_rule() {
        assert!(matches!(
            Policy::default().check_new_pin(&pin("1357")),
            Err(Error::InvalidPin(DigitsError::Length { min: 6, max: 6 }))
        ));
        assert!(matches!(
            Policy::default().check_new_pin(&pin("123456")),
            Err(Error::WeakPin(WeakPinRule::Sequence))
        ));
        assert!(Policy::default().check_new_pin(&pin("246813")).is_ok());
        let policy = Policy {
            min_pin_digits: 4,
            max_pin_digits: 8,
            ..Policy::default()
        };
        assert!(policy.check_new_pin(&"5820".parse().unwrap()).is_ok());
        assert!(matches!(
            policy.check_new_pin(&"2580".parse().unwrap()),
            Err(Error::WeakPin(WeakPinRule::Common))
        ));
    }

    use crate::weak_pin::WeakPinRule;

    fn pin(digits: &str) -> Pin {
        digits.parse().unwrap()
    }

    #[test]
    fn locks_double() {
        let p = Policy::default();
        assert_eq!(p.lock_duration(1), 15 * MINUTE);
        assert_eq!(p.lock_duration(2), 30 * MINUTE);
        assert_eq!(p.lock_duration(4), 2 * HOUR);
        assert!(p.lock_duration(255) >= p.lock_duration(17));
    }
}
