//! The crate's one error type, and the names of the payment states it reports.

use core::fmt;

mod kinds;

pub use kinds::{EnrollmentKind, SpendingLimit, StateKind};

use crate::display_text::TextError;
use crate::host::{BankError, DeclineReason, SmsError, StoreError};
use crate::iban::IbanError;
use crate::idempotency::IdempotencyKeyError;
use crate::money::{Amount, AmountError, Currency};
use crate::phone::PhoneError;
use crate::policy::PolicyError;
use crate::secret::DigitsError;
use crate::time::Timestamp;
use crate::weak_pin::WeakPinRule;

/// Everything that can go wrong in buyster, as one non-exhaustive enum.
///
/// A rejected PIN or code with attempts left is *not* an error: it comes back as
/// [`PinCheck::Rejected`](crate::PinCheck::Rejected) or
/// [`CodeCheck::Rejected`](crate::CodeCheck::Rejected), so that the host can prompt again.
///
/// # Security
///
/// No message ever contains a PIN, a code, a key, a tag or a full phone number: input that failed
/// to parse is described, never echoed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A host-side operation on a closed account: nothing reopens it.
    #[error("this account is closed")]
    AccountClosed,
    /// The number already has an account (active or suspended): from `enroll`, or from
    /// `finish_enrollment` once the SMS code proved that the caller holds the number.
    #[error("this phone number is already enrolled")]
    AlreadyEnrolled,
    /// The bank could not be reached, or did not answer: the debit's outcome is unknown.
    ///
    /// The payment stays `Authorized`; [`Engine::settle`](crate::Engine::settle) retries it with
    /// the same idempotency key, so the buyer is never debited twice.
    #[error("the bank did not answer: {0}")]
    Bank(BankError),
    /// The stored payment kept changing under a racing call; load it again and retry.
    #[error("the payment was changed by a concurrent call; load it again")]
    Conflict,
    /// The policy takes no payment in this currency ([`Policy::limits`](crate::Policy::limits)):
    /// from `initiate`, or at the PIN of a payment made before the policy changed.
    #[error("payments in {0} are not accepted")]
    CurrencyNotAccepted(Currency),
    /// The bank refused the debit; the payment is now `Failed`.
    #[error("the bank declined the debit: {0}")]
    Declined(DeclineReason),
    /// The payment's exemption ticket no longer holds: the policy in force now has the
    /// low-value exemption off, or a lower per-payment figure, or a send of the payment's code
    /// was tried meanwhile. The payment is still `PinVerified`: send its code
    /// ([`Engine::send_code`](crate::Engine::send_code)).
    #[error("the low-value exemption no longer applies to this payment: send its code")]
    ExemptionWithdrawn,
    /// The code, or the payment itself, is past its time to live.
    ///
    /// When the payment has expired it is now `Failed`; when only the code has, the payment is
    /// still `OtpSent` and [`Engine::resend_code`](crate::Engine::resend_code) sends a new one.
    #[error("the payment or its code has expired")]
    Expired,
    /// The merchant's idempotency key already names a payment of another order (another
    /// amount, currency, reference, channel, display name or phone number): from
    /// [`Engine::initiate_once`](crate::Engine::initiate_once). The stored payment is
    /// unchanged; give this order a key of its own.
    #[error("this idempotency key was used for another order")]
    IdempotencyKeyReused,
    /// An amount could not be built or parsed.
    #[error("invalid amount: {0}")]
    InvalidAmount(AmountError),
    /// A channel name was not `web`, `mobile` or `tv`.
    #[error("invalid channel: expected web, mobile or tv")]
    InvalidChannel,
    /// A one-time code could not be parsed.
    #[error("invalid code: {0}")]
    InvalidCode(DigitsError),
    /// An enrollment id could not be parsed.
    #[error("invalid enrollment id: expected 32 lowercase hexadecimal digits")]
    InvalidEnrollmentId,
    /// A funding token could not be parsed.
    #[error("invalid funding token: {0}")]
    InvalidFundingToken(TextError),
    /// An IBAN could not be parsed or failed its checks.
    #[error("invalid IBAN: {0}")]
    InvalidIban(IbanError),
    /// An idempotency key could not be parsed.
    #[error("invalid idempotency key: {0}")]
    InvalidIdempotencyKey(IdempotencyKeyError),
    /// A secret key could not be parsed.
    #[error("invalid secret key: expected 64 hexadecimal digits")]
    InvalidKey,
    /// A merchant id or display name was refused.
    #[error("invalid merchant: {0}")]
    InvalidMerchant(TextError),
    /// A payment id could not be parsed.
    #[error("invalid payment id: expected 32 lowercase hexadecimal digits")]
    InvalidPaymentId,
    /// A phone number could not be parsed.
    #[error("invalid phone number: {0}")]
    InvalidPhone(PhoneError),
    /// A PIN could not be parsed, or its length is outside the policy's range.
    #[error("invalid PIN: {0}")]
    InvalidPin(DigitsError),
    /// A [`Policy`](crate::Policy) value was refused by `build()`.
    #[error("invalid policy: {0}")]
    InvalidPolicy(PolicyError),
    /// The merchant's order reference was refused.
    #[error("invalid order reference: {0}")]
    InvalidReference(TextError),
    /// A refund key could not be parsed.
    #[error("invalid refund key: {0}")]
    InvalidRefundKey(TextError),
    /// A region code is not one of the numbering plan's (see
    /// [`Region::from_code`](crate::Region::from_code)).
    #[error("invalid region: expected the ISO 3166 code of a region of the numbering plan")]
    InvalidRegion,
    /// [`Keys::rotate`](crate::Keys::rotate) was given a key id the ring already holds.
    #[error("key id {key_id} is already in the key ring")]
    KeyIdInUse {
        /// The repeated key id.
        key_id: u8,
    },
    /// The payment would take the number over a spending limit of the policy: `limit` says
    /// which, and `frees_at` when enough of the number's earlier payments leave its window for
    /// this one to fit (`None` when it never will: the amount alone is above the limit).
    ///
    /// An amount above the per-payment limit is refused when the payment is started
    /// (`initiate`, `initiate_once`), before anything is stored; the 24-hour and 30-day limits,
    /// which depend on the number's history, after the right PIN.
    #[error("the {limit} spending limit would be exceeded; {}", FreesAt(*.frees_at))]
    LimitExceeded {
        /// The limit.
        limit: SpendingLimit,
        /// When this payment's amount would fit again.
        frees_at: Option<Timestamp>,
    },
    /// Too many consecutive wrong PINs for this number: PIN checks are refused until `until`,
    /// or for good when `until` is `None`.
    #[error("too many wrong PINs: {}", LockedUntil(*.until))]
    Locked {
        /// When the lock lifts; `None` for a permanent lock.
        until: Option<Timestamp>,
    },
    /// A host-side operation on a number that has no account.
    #[error("this phone number has no account")]
    NotEnrolled,
    /// No payment is stored under this id.
    #[error("no such payment")]
    NotFound,
    /// Too many SMS were sent to this number recently.
    #[error("too many SMS sent to this number; retry at {retry_at}")]
    RateLimited {
        /// When the next SMS may be sent.
        retry_at: Timestamp,
    },
    /// The refund key was used for another refund of this payment (another amount or reason).
    #[error("this refund key was used for another refund of the payment")]
    RefundKeyReused,
    /// The refund asks for more than the payment debited, less its refunds refunded or
    /// pending; nothing was moved.
    #[error("the refund exceeds what is left to refund: {}", Refundable(*.refundable))]
    RefundTooLarge {
        /// What may still be refunded; `None` for nothing.
        refundable: Option<Amount>,
    },
    /// The payment has used all its resends.
    #[error("no resend left for this payment")]
    ResendLimit,
    /// A resend was asked for before the cooldown elapsed.
    #[error("a new code can be sent at {retry_at}")]
    ResendTooSoon {
        /// When a resend will be accepted.
        retry_at: Timestamp,
    },
    /// The SMS gateway failed; the payment stays where it was and the send can be retried.
    #[error("the SMS could not be sent: {0}")]
    Sms(SmsError),
    /// The store failed.
    #[error("storage failed: {0}")]
    Storage(StoreError),
    /// A stored record failed its integrity check (edited, moved, truncated or foreign).
    #[error("a stored record failed its integrity check")]
    Tampered,
    /// The last allowed code attempt was wrong; the payment is now `Failed`.
    #[error("too many wrong codes; the payment has failed")]
    TooManyAttempts,
    /// The payment has had as many refunds as a payment keeps (10, declined ones included).
    #[error("this payment has had its 10 refunds")]
    TooManyRefunds,
    /// A new PIN (at enrollment, change or reset) follows a pattern that is too easy to guess;
    /// the rule says which. PINs already set are never checked against these rules.
    #[error("weak PIN: {0}")]
    WeakPin(WeakPinRule),
    /// The enrollment is not in the state this call needs (its code was used, or it failed).
    #[error("the enrollment is {found}, not {expected}")]
    WrongEnrollmentState {
        /// The state the call needed.
        expected: EnrollmentKind,
        /// The state the enrollment is in.
        found: EnrollmentKind,
    },
    /// The payment is not in the state this call needs.
    #[error("the payment is {found}, not {expected}")]
    WrongState {
        /// The state the call needed.
        expected: StateKind,
        /// The state the payment is in.
        found: StateKind,
    },
}

struct Refundable(Option<Amount>);

impl fmt::Display for Refundable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(amount) => write!(f, "{amount}"),
            None => f.write_str("nothing"),
        }
    }
}

struct FreesAt(Option<Timestamp>);

impl fmt::Display for FreesAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(at) => write!(f, "it frees up at {at}"),
            None => f.write_str("the amount is above it"),
        }
    }
}

struct LockedUntil(Option<Timestamp>);

impl fmt::Display for LockedUntil {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(until) => write!(f, "locked until {until}"),
            None => f.write_str("locked for good; the account holder must contact the service"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{AmountError, Currency};
    use crate::phone::PhoneError;
    use crate::policy::Policy;

    /// One of every variant.
    fn every_error() -> Vec<Error> {
        let policy = Policy {
            max_pin_failures: 9,
            ..Policy::default()
        };
        let Err(invalid_policy) = policy.validate() else {
            panic!("a PIN limit of 9 is refused");
        };
        let t = Timestamp::from_unix_millis(1_800_000_000_000);
        vec![
            Error::AccountClosed,
            Error::AlreadyEnrolled,
            Error::Bank(BankError::Unavailable),
            Error::Conflict,
            Error::CurrencyNotAccepted(Currency::GBP),
            Error::Declined(DeclineReason::InsufficientFunds),
            Error::Expired,
            Error::ExemptionWithdrawn,
            Error::IdempotencyKeyReused,
            Error::InvalidAmount(AmountError::Malformed),
            Error::InvalidChannel,
            Error::InvalidCode(DigitsError::NotDigits),
            Error::InvalidEnrollmentId,
            Error::InvalidFundingToken(TextError::Empty),
            Error::InvalidIban(IbanError::ChecksumMismatch),
            Error::InvalidIdempotencyKey(IdempotencyKeyError::ForbiddenCharacter { index: 254 }),
            Error::InvalidKey,
            Error::InvalidMerchant(TextError::TooLongForSms { max_septets: 40 }),
            Error::InvalidPaymentId,
            Error::InvalidRefundKey(TextError::TooLong { max: 40 }),
            Error::InvalidPhone(PhoneError::TooShort),
            Error::InvalidPin(DigitsError::Length { min: 4, max: 8 }),
            invalid_policy,
            Error::InvalidReference(TextError::ForbiddenCharacter),
            Error::InvalidRegion,
            Error::KeyIdInUse { key_id: 7 },
            Error::LimitExceeded {
                limit: SpendingLimit::Per24Hours,
                frees_at: Some(t),
            },
            Error::LimitExceeded {
                limit: SpendingLimit::PerPayment,
                frees_at: None,
            },
            Error::Locked { until: Some(t) },
            Error::Locked { until: None },
            Error::NotEnrolled,
            Error::NotFound,
            Error::RefundKeyReused,
            Error::RefundTooLarge {
                refundable: Some(Amount::new(1250, Currency::EUR).unwrap()),
            },
            Error::RefundTooLarge { refundable: None },
            Error::RateLimited { retry_at: t },
            Error::ResendLimit,
            Error::ResendTooSoon { retry_at: t },
            Error::Sms(SmsError::Rejected),
            Error::Storage(StoreError::Conflict),
            Error::Tampered,
            Error::TooManyAttempts,
            Error::TooManyRefunds,
            Error::WeakPin(WeakPinRule::Sequence),
            Error::WrongEnrollmentState {
                expected: EnrollmentKind::CodeSent,
                found: EnrollmentKind::Enrolled,
            },
            Error::WrongState {
                expected: StateKind::OtpSent,
                found: StateKind::Confirmed,
            },
        ]
    }

    /// Does not compile when a variant is added and not listed in `every_error`.
    fn listed(error: &Error) -> bool {
        match error {
            Error::AccountClosed
            | Error::AlreadyEnrolled
            | Error::Bank(_)
            | Error::Conflict
            | Error::CurrencyNotAccepted(_)
            | Error::Declined(_)
            | Error::Expired
            | Error::ExemptionWithdrawn
            | Error::IdempotencyKeyReused
            | Error::InvalidAmount(_)
            | Error::InvalidChannel
            | Error::InvalidCode(_)
            | Error::InvalidEnrollmentId
            | Error::InvalidFundingToken(_)
            | Error::InvalidIban(_)
            | Error::InvalidIdempotencyKey(_)
            | Error::InvalidKey
            | Error::InvalidMerchant(_)
            | Error::InvalidPaymentId
            | Error::InvalidRefundKey(_)
            | Error::InvalidPhone(_)
            | Error::InvalidPin(_)
            | Error::InvalidPolicy(_)
            | Error::InvalidReference(_)
            | Error::InvalidRegion
            | Error::KeyIdInUse { .. }
            | Error::LimitExceeded { .. }
            | Error::Locked { .. }
            | Error::NotEnrolled
            | Error::NotFound
            | Error::RefundKeyReused
            | Error::RefundTooLarge { .. }
            | Error::RateLimited { .. }
            | Error::ResendLimit
            | Error::ResendTooSoon { .. }
            | Error::Sms(_)
            | Error::Storage(_)
            | Error::Tampered
            | Error::TooManyAttempts
            | Error::TooManyRefunds
            | Error::WeakPin(_)
            | Error::WrongEnrollmentState { .. }
            | Error::WrongState { .. } => true,
        }
    }

    #[test]
    fn every_variant_reads_as_a_lowercase_sentence_without_data() {
        let errors = every_error();
        assert_eq!(errors.len(), 46);
        for error in errors {
            assert!(listed(&error));
            let text = error.to_string();
            let first = text.chars().next().unwrap();
            assert!(first.is_lowercase(), "{text}");
            // Only times, key ids, limits and state names appear: no run of 5 digits but in a
            // timestamp.
            let without_time = text.replace("2027-01-15T08:00:00.000Z", "");
            let longest_run = without_time
                .split(|c: char| !c.is_ascii_digit())
                .map(str::len)
                .max()
                .unwrap_or(0);
            assert!(longest_run < 5, "{text}");
        }
    }

    #[test]
    fn states_name_themselves() {
        assert!(StateKind::Confirmed.is_terminal() && StateKind::Failed.is_terminal());
        assert!(!StateKind::Authorized.is_terminal());
        assert_eq!(StateKind::PinVerified.to_string(), "pin verified");
    }
}
