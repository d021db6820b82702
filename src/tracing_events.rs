//! [`TracingEvents`]: audit events written as `tracing` events, behind the `tracing` feature.

use core::fmt;

use tracing::field;

use crate::account::AccountStatus;
use crate::error::SpendingLimit;
use crate::events::{Event, EventKind, EventSink};
use crate::money::Amount;
use crate::time::Timestamp;

/// An [`EventSink`] that writes each audit [`Event`] as a `tracing` event at `INFO`, target
/// `buyster::events`, with the event's data as structured fields: `event` (its
/// [`EventKind::name`]), `at`, `phone` (masked), and those of `payment`, `enrollment`,
/// `amount`, `merchant`, `attempts_left`, `resends_left`, `until`, `limit`, `frees_at`,
/// `reason`, `status` and `refund` (a refund's amount) that it has, under the keys of its log
/// line (`Display`).
///
/// ```
/// use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
/// use buyster::{Engine, Keys, SecretKey, TracingEvents};
///
/// let engine = Engine::builder(Keys::new(1, SecretKey::generate()))
///     .store(MemoryStore::new())
///     .sms(MemorySms::new())
///     .bank(MemoryBank::new())
///     .events(TracingEvents)
///     .build()?;
/// # Ok::<(), buyster::Error>(())
/// ```
///
/// # Security
///
/// Like every event, these hold no PIN, code, key, tag, full phone number or funding source.
#[derive(Debug, Clone, Copy, Default)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a sink with nothing to configure"
)]
pub struct TracingEvents;

impl EventSink for TracingEvents {
    fn record(&self, event: &Event) {
        let details = Details::of(event.kind());
        tracing::info!(
            target: "buyster::events",
            event = event.kind().name(),
            id = %event.id(),
            at = %event.at(),
            phone = event.masked_phone(),
            payment = event.payment_id().map(field::display),
            enrollment = event.enrollment_id().map(field::display),
            amount = event.amount().map(field::display),
            merchant = event.merchant().map(field::display),
            attempts_left = details.attempts_left,
            resends_left = details.resends_left,
            until = details.until.map(field::display),
            limit = details.limit.map(field::display),
            frees_at = details.frees_at.map(field::display),
            reason = details.reason.map(field::display),
            status = details.status.map(field::display),
            refund = details.refund.map(field::display),
            "audit event"
        );
    }
}

/// An instant, or the word for none: `permanent` for a lock, `never` for a limit.
#[derive(Clone, Copy)]
struct Moment(Option<Timestamp>, &'static str);

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(at) => at.fmt(f),
            None => f.write_str(self.1),
        }
    }
}

/// The data of an event's kind, each field present only for the kinds that have it.
#[derive(Default)]
struct Details {
    attempts_left: Option<u8>,
    resends_left: Option<u8>,
    until: Option<Moment>,
    limit: Option<SpendingLimit>,
    frees_at: Option<Moment>,
    reason: Option<String>,
    status: Option<AccountStatus>,
    refund: Option<Amount>,
}

impl Details {
    fn of(kind: &EventKind) -> Self {
        let none = Self::default();
        match *kind {
            EventKind::PinRejected { attempts_left }
            | EventKind::CodeRejected { attempts_left }
            | EventKind::EnrollmentCodeRejected { attempts_left } => Self {
                attempts_left: Some(attempts_left),
                ..none
            },
            EventKind::CodeSent { resends_left } => Self {
                resends_left: Some(resends_left),
                ..none
            },
            EventKind::Locked { until } => Self {
                until: Some(Moment(until, "permanent")),
                ..none
            },
            EventKind::LimitExceeded { limit, frees_at } => Self {
                limit: Some(limit),
                frees_at: Some(Moment(frees_at, "never")),
                ..none
            },
            EventKind::Failed(reason) => Self::because(reason, None),
            EventKind::EnrollmentFailed(reason) => Self::because(reason, None),
            EventKind::StatusChanged(status) => Self {
                status: Some(status),
                ..none
            },
            EventKind::RefundRequested { amount } | EventKind::Refunded { amount } => Self {
                refund: Some(amount),
                ..none
            },
            EventKind::RefundDeclined { amount, reason } => Self::because(reason, Some(amount)),
            EventKind::EnrollmentStarted
            | EventKind::Enrolled
            | EventKind::PinChanged
            | EventKind::PinReset
            | EventKind::Unlocked
            | EventKind::FundingSourceReplaced
            | EventKind::Initiated
            | EventKind::PinVerified
            | EventKind::Authorized
            | EventKind::ExemptAuthorized
            | EventKind::Confirmed => none,
        }
    }

    /// The details of a kind with a reason, and a refund's amount when it has one.
    fn because(reason: impl fmt::Display, refund: Option<Amount>) -> Self {
        Self {
            reason: Some(reason.to_string()),
            refund,
            ..Self::default()
        }
    }
}
