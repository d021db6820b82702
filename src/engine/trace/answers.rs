//! What each kind of answer records on its step's span: the state reached, the outcome word,
//! and the ids it made known; and the name of each error, as a span's outcome.

use super::Span;
use crate::Error;
use crate::account::{AccountDetails, AccountStatus, PinChange};
use crate::enrollment::{AnyEnrollment, Enrollment, EnrollmentCheck, EnrollmentState};
use crate::error::{EnrollmentKind, StateKind};
use crate::payment::{AnyPayment, CodeCheck, Payment, PinCheck, State};

/// What a step's answer tells its span.
pub(in crate::engine) trait Traced {
    /// The outcome: `ok`, or the answer's own word when a step has several (`verified`,
    /// `rejected`, `confirmed`, …).
    fn outcome(&self) -> &'static str {
        "ok"
    }

    /// The state reached, when the answer has one.
    fn state(&self) -> Option<&'static str> {
        None
    }

    /// Records the ids the answer made known (a new payment's, a new enrollment's).
    fn record_ids(&self, span: &Span) {
        let _ = span;
    }
}

impl<S: State> Traced for Payment<S> {
    fn state(&self) -> Option<&'static str> {
        Some(payment_state(S::KIND))
    }

    fn record_ids(&self, span: &Span) {
        span.record("payment", tracing::field::display(self.id()));
    }
}

impl Traced for AnyPayment {
    fn state(&self) -> Option<&'static str> {
        Some(payment_state(self.kind()))
    }
}

impl Traced for PinCheck {
    fn outcome(&self) -> &'static str {
        match self {
            Self::Verified(_) => "verified",
            Self::Rejected { .. } => "rejected",
        }
    }

    fn state(&self) -> Option<&'static str> {
        Some(payment_state(match self {
            Self::Verified(_) => StateKind::PinVerified,
            Self::Rejected { .. } => StateKind::Initiated,
        }))
    }
}

impl Traced for CodeCheck {
    fn outcome(&self) -> &'static str {
        match self {
            Self::Confirmed(_) => "confirmed",
            Self::Rejected { .. } => "rejected",
        }
    }

    fn state(&self) -> Option<&'static str> {
        Some(payment_state(match self {
            Self::Confirmed(_) => StateKind::Confirmed,
            Self::Rejected { .. } => StateKind::OtpSent,
        }))
    }
}

impl<S: EnrollmentState> Traced for Enrollment<S> {
    fn state(&self) -> Option<&'static str> {
        Some(enrollment_state(S::KIND))
    }

    fn record_ids(&self, span: &Span) {
        span.record("enrollment", tracing::field::display(self.id()));
    }
}

impl Traced for AnyEnrollment {
    fn state(&self) -> Option<&'static str> {
        Some(enrollment_state(self.kind()))
    }
}

impl Traced for EnrollmentCheck {
    fn outcome(&self) -> &'static str {
        match self {
            Self::Enrolled(_) => "enrolled",
            Self::Rejected { .. } => "rejected",
        }
    }

    fn state(&self) -> Option<&'static str> {
        Some(enrollment_state(match self {
            Self::Enrolled(_) => EnrollmentKind::Enrolled,
            Self::Rejected { .. } => EnrollmentKind::CodeSent,
        }))
    }
}

impl Traced for PinChange {
    fn outcome(&self) -> &'static str {
        match self {
            Self::Changed => "changed",
            Self::Rejected { .. } => "rejected",
        }
    }
}

/// An account's status is its state; its funding source is never recorded.
impl Traced for AccountDetails {
    fn state(&self) -> Option<&'static str> {
        Some(account_state(self.status()))
    }
}

impl Traced for () {}

impl Traced for crate::engine::Delivered {
    fn outcome(&self) -> &'static str {
        if self.stopped { "stopped" } else { "ok" }
    }
}

impl Traced for crate::engine::DueWork {
    fn outcome(&self) -> &'static str {
        if self.errors > 0 { "errors" } else { "ok" }
    }

    fn record_ids(&self, span: &Span) {
        span.record("examined", self.examined);
        span.record("finished", self.finished);
        span.record("postponed", self.postponed);
        span.record("purged", self.purged);
    }
}

/// A payment state's name, as serialized: `pin_verified`.
fn payment_state(kind: StateKind) -> &'static str {
    match kind {
        StateKind::Initiated => "initiated",
        StateKind::PinVerified => "pin_verified",
        StateKind::OtpSent => "otp_sent",
        StateKind::Authorized => "authorized",
        StateKind::Confirmed => "confirmed",
        StateKind::Failed => "failed",
    }
}

/// An enrollment state's name, as serialized: `code_sent`.
fn enrollment_state(kind: EnrollmentKind) -> &'static str {
    match kind {
        EnrollmentKind::CodeSent => "code_sent",
        EnrollmentKind::Accepted => "accepted",
        EnrollmentKind::Enrolled => "enrolled",
        EnrollmentKind::Failed => "failed",
    }
}

/// An account status's name: `active`.
fn account_state(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Active => "active",
        AccountStatus::Suspended => "suspended",
        AccountStatus::Closed => "closed",
    }
}

/// The error's variant in `snake_case`, as a span's outcome: `wrong_state`. Its data are
/// left out: they are the caller's to read from the error itself.
pub(super) fn error_name(error: &Error) -> &'static str {
    match error {
        Error::AccountClosed => "account_closed",
        Error::AlreadyEnrolled => "already_enrolled",
        Error::Bank(_) => "bank",
        Error::Conflict => "conflict",
        Error::CurrencyNotAccepted(_) => "currency_not_accepted",
        Error::Declined(_) => "declined",
        Error::ExemptionWithdrawn => "exemption_withdrawn",
        Error::Expired => "expired",
        Error::IdempotencyKeyReused => "idempotency_key_reused",
        Error::InvalidAmount(_) => "invalid_amount",
        Error::InvalidChannel => "invalid_channel",
        Error::InvalidCode(_) => "invalid_code",
        Error::InvalidEnrollmentId => "invalid_enrollment_id",
        Error::InvalidFundingToken(_) => "invalid_funding_token",
        Error::InvalidIban(_) => "invalid_iban",
        Error::InvalidIdempotencyKey(_) => "invalid_idempotency_key",
        Error::InvalidKey => "invalid_key",
        Error::InvalidMerchant(_) => "invalid_merchant",
        Error::InvalidPaymentId => "invalid_payment_id",
        Error::InvalidPhone(_) => "invalid_phone",
        Error::InvalidPin(_) => "invalid_pin",
        Error::InvalidPolicy(_) => "invalid_policy",
        Error::InvalidReference(_) => "invalid_reference",
        Error::InvalidRefundKey(_) => "invalid_refund_key",
        Error::InvalidRegion => "invalid_region",
        Error::KeyIdInUse { .. } => "key_id_in_use",
        Error::LimitExceeded { .. } => "limit_exceeded",
        Error::Locked { .. } => "locked",
        Error::NotEnrolled => "not_enrolled",
        Error::NotFound => "not_found",
        Error::RateLimited { .. } => "rate_limited",
        Error::RefundKeyReused => "refund_key_reused",
        Error::RefundTooLarge { .. } => "refund_too_large",
        Error::ResendLimit => "resend_limit",
        Error::ResendTooSoon { .. } => "resend_too_soon",
        Error::Sms(_) => "sms",
        Error::Storage(_) => "storage",
        Error::Tampered => "tampered",
        Error::TooManyAttempts => "too_many_attempts",
        Error::TooManyRefunds => "too_many_refunds",
        Error::WeakPin(_) => "weak_pin",
        Error::WrongEnrollmentState { .. } => "wrong_enrollment_state",
        Error::WrongState { .. } => "wrong_state",
    }
}
