//! Audit events: one typed [`Event`] per state change, handed to the host's [`EventSink`] at
//! once, and, when the engine keeps them durable, stored with the change in the store's outbox
//! and delivered from there at least once through an [`EventDelivery`].

mod record;

use core::fmt;
use core::future::Future;

use crate::account::AccountStatus;
use crate::enrollment::{Enrollment, EnrollmentFailure, EnrollmentState};
use crate::error::SpendingLimit;
use crate::host::DeclineReason;
use crate::ids::{EnrollmentId, EventId, PaymentId};
use crate::money::Amount;
use crate::order::MerchantId;
use crate::payment::{FailureReason, Payment, State};
use crate::phone::PhoneNumber;
use crate::time::Timestamp;

/// Receives the engine's [`Event`]s: an audit log, metrics, a fraud monitor.
///
/// The engine calls [`record`](EventSink::record) synchronously, once for each state change,
/// right after the change is stored (never before, and never for a write that failed). A
/// closure `Fn(&Event) + Send + Sync` is a sink.
///
/// ```
/// use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
/// use buyster::{Engine, Event, Keys, SecretKey};
///
/// let engine = Engine::builder(Keys::new(1, SecretKey::generate()))
///     .store(MemoryStore::new())
///     .sms(MemorySms::new())
///     .bank(MemoryBank::new())
///     .events(|event: &Event| eprintln!("{event}"))
///     .build()?;
/// # Ok::<(), buyster::Error>(())
/// ```
///
/// # Contract
///
/// - `record` MUST be quick and MUST NOT block: it runs inside the engine's call, on the
///   caller's task. Hand events to a channel or a buffer when they go further.
/// - `record` MUST NOT panic. It cannot fail: an event that cannot be kept is the sink's to
///   count or drop.
///
/// # Security
///
/// An event never holds a PIN, a code, a key, a tag, a full phone number or an account
/// number: the number is masked (`+33 6 •• •• •• 78`) and funding sources are not named.
pub trait EventSink: Send + Sync {
    /// Receives one event. The default does nothing.
    fn record(&self, event: &Event) {
        let _ = event;
    }
}

impl<F: Fn(&Event) + Send + Sync> EventSink for F {
    fn record(&self, event: &Event) {
        self(event);
    }
}

/// What happened. Every kind of state change of payments, enrollments and accounts has its
/// own variant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// An enrollment's code was sent by SMS.
    EnrollmentStarted,
    /// A wrong enrollment code was counted.
    EnrollmentCodeRejected {
        /// Wrong codes left before the enrollment fails.
        attempts_left: u8,
    },
    /// An enrollment ended without an account.
    EnrollmentFailed(EnrollmentFailure),
    /// An account was created, by `enroll` or at the end of an enrollment.
    Enrolled,
    /// The buyer changed their PIN.
    PinChanged,
    /// The host set a new PIN (and lifted any lock).
    PinReset,
    /// The host lifted the number's lock.
    Unlocked,
    /// The host changed the account's status.
    StatusChanged(AccountStatus),
    /// The host replaced the account's funding source (which no event names).
    FundingSourceReplaced,
    /// A payment was created (`initiate`).
    Initiated,
    /// A wrong PIN was counted (for an unknown, suspended or closed number too, which are
    /// answered alike): so many attempts remain before the number locks.
    PinRejected {
        /// Wrong PINs left before the lock.
        attempts_left: u8,
    },
    /// A wrong PIN (or enrollment code) locked the number.
    Locked {
        /// When the lock lifts; `None` for good.
        until: Option<Timestamp>,
    },
    /// The PIN was right; the payment may go on.
    PinVerified,
    /// The PIN was right, but the payment would exceed a spending limit: it was not
    /// reserved, and stays where it was.
    LimitExceeded {
        /// The limit.
        limit: SpendingLimit,
        /// When the amount would fit again; `None` for never.
        frees_at: Option<Timestamp>,
    },
    /// A code was sent by SMS for the payment.
    CodeSent {
        /// New codes the buyer may still ask for.
        resends_left: u8,
    },
    /// A wrong code was counted.
    CodeRejected {
        /// Wrong codes left before the payment fails.
        attempts_left: u8,
    },
    /// The payment was authorized: its code was right and consumed.
    Authorized,
    /// The payment was authorized without a code, under the low-value exemption.
    ExemptAuthorized,
    /// The bank debited the buyer.
    Confirmed,
    /// The payment ended without a debit.
    Failed(FailureReason),
    /// A refund was recorded, pending, and asked of the bank.
    RefundRequested {
        /// What is to be given back.
        amount: Amount,
    },
    /// The bank gave a refund back.
    Refunded {
        /// What was given back.
        amount: Amount,
    },
    /// The bank refused a refund, for good.
    RefundDeclined {
        /// What was asked for.
        amount: Amount,
        /// Why.
        reason: DeclineReason,
    },
}

impl EventKind {
    /// A short stable name, `pin_rejected`, as log lines and metrics use it.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::EnrollmentStarted => "enrollment_started",
            Self::EnrollmentCodeRejected { .. } => "enrollment_code_rejected",
            Self::EnrollmentFailed(_) => "enrollment_failed",
            Self::Enrolled => "enrolled",
            Self::PinChanged => "pin_changed",
            Self::PinReset => "pin_reset",
            Self::Unlocked => "unlocked",
            Self::StatusChanged(_) => "status_changed",
            Self::FundingSourceReplaced => "funding_source_replaced",
            Self::Initiated => "initiated",
            Self::PinRejected { .. } => "pin_rejected",
            Self::Locked { .. } => "locked",
            Self::PinVerified => "pin_verified",
            Self::LimitExceeded { .. } => "limit_exceeded",
            Self::CodeSent { .. } => "code_sent",
            Self::CodeRejected { .. } => "code_rejected",
            Self::Authorized => "authorized",
            Self::ExemptAuthorized => "exempt_authorized",
            Self::Confirmed => "confirmed",
            Self::Failed(_) => "failed",
            Self::RefundRequested { .. } => "refund_requested",
            Self::Refunded { .. } => "refunded",
            Self::RefundDeclined { .. } => "refund_declined",
        }
    }

    /// The kind's own data as `key=value` pairs after the name, for a log line.
    fn write_details(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PinRejected { attempts_left }
            | Self::CodeRejected { attempts_left }
            | Self::EnrollmentCodeRejected { attempts_left } => {
                write!(f, " attempts_left={attempts_left}")
            }
            Self::Locked { until: Some(until) } => write!(f, " until={until}"),
            Self::Locked { until: None } => f.write_str(" until=permanent"),
            Self::CodeSent { resends_left } => write!(f, " resends_left={resends_left}"),
            Self::Failed(reason) => write!(f, " reason=\"{reason}\""),
            Self::StatusChanged(status) => write!(f, " status={status}"),
            Self::RefundRequested { amount } | Self::Refunded { amount } => {
                write!(f, " refund=\"{amount}\"")
            }
            Self::RefundDeclined { amount, reason } => {
                write!(f, " refund=\"{amount}\" reason=\"{reason}\"")
            }
            Self::LimitExceeded { limit, frees_at } => {
                write!(f, " limit={limit}")?;
                match frees_at {
                    Some(at) => write!(f, " frees_at={at}"),
                    None => f.write_str(" frees_at=never"),
                }
            }
            Self::EnrollmentFailed(reason) => write!(f, " reason=\"{reason}\""),
            Self::EnrollmentStarted
            | Self::Enrolled
            | Self::PinChanged
            | Self::PinReset
            | Self::Unlocked
            | Self::FundingSourceReplaced
            | Self::Initiated
            | Self::PinVerified
            | Self::Authorized
            | Self::ExemptAuthorized
            | Self::Confirmed => Ok(()),
        }
    }
}

/// One state change, as the audit trail records it: what happened, when, to which number
/// (masked), and for a payment its id, amount and merchant (for an enrollment, its id).
///
/// `Display` prints it as one log line of `key=value` pairs:
///
/// ```text
/// 2026-11-27T13:41:00.000Z event=pin_rejected attempts_left=2 phone="+33 6 •• •• •• 78" payment=5f0c… amount="49.90 EUR" merchant=boutique-exemple
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    id: EventId,
    kind: EventKind,
    at: Timestamp,
    phone: String,
    payment: Option<PaymentId>,
    enrollment: Option<EnrollmentId>,
    amount: Option<Amount>,
    merchant: Option<MerchantId>,
}

impl Event {
    /// An event of `payment`.
    pub(crate) fn payment<S: State>(
        id: EventId,
        kind: EventKind,
        payment: &Payment<S>,
        at: Timestamp,
    ) -> Self {
        let order = payment.order();
        Self {
            id,
            kind,
            at,
            phone: payment.phone().masked(),
            payment: Some(payment.id()),
            enrollment: None,
            amount: Some(order.amount()),
            merchant: Some(order.merchant().id().clone()),
        }
    }

    /// An event of the number `phone` alone (an account or an enrollment).
    pub(crate) fn number(id: EventId, kind: EventKind, phone: &PhoneNumber, at: Timestamp) -> Self {
        Self {
            id,
            kind,
            at,
            phone: phone.masked(),
            payment: None,
            enrollment: None,
            amount: None,
            merchant: None,
        }
    }

    /// An event of `enrollment`.
    pub(crate) fn enrollment<S: EnrollmentState>(
        id: EventId,
        kind: EventKind,
        enrollment: &Enrollment<S>,
        at: Timestamp,
    ) -> Self {
        Self {
            enrollment: Some(enrollment.id()),
            ..Self::number(id, kind, enrollment.phone(), at)
        }
    }

    /// The event's id: the same for every delivery of it, in the in-process sink and from the
    /// outbox alike, so that a receiver drops the copies at-least-once delivery may bring.
    #[must_use]
    pub fn id(&self) -> EventId {
        self.id
    }

    /// The sealed bytes of the event, for the store's outbox.
    pub(crate) fn seal(&self, keys: &crate::keys::Keys) -> Vec<u8> {
        record::encode(self, keys)
    }

    /// The event sealed in `bytes` by [`Event::seal`].
    pub(crate) fn open(bytes: &[u8], keys: &crate::keys::Keys) -> Result<Self, crate::Error> {
        record::decode(bytes, keys)
    }

    /// What happened.
    #[must_use]
    pub fn kind(&self) -> &EventKind {
        &self.kind
    }

    /// When it happened, by the engine's clock.
    #[must_use]
    pub fn at(&self) -> Timestamp {
        self.at
    }

    /// The number concerned, masked: `+33 6 •• •• •• 78`.
    #[must_use]
    pub fn masked_phone(&self) -> &str {
        &self.phone
    }

    /// The payment concerned, if the event is a payment's.
    #[must_use]
    pub fn payment_id(&self) -> Option<PaymentId> {
        self.payment
    }

    /// The enrollment concerned, if the event is an enrollment's.
    #[must_use]
    pub fn enrollment_id(&self) -> Option<EnrollmentId> {
        self.enrollment
    }

    /// The payment's amount, if the event is a payment's.
    #[must_use]
    pub fn amount(&self) -> Option<Amount> {
        self.amount
    }

    /// The payment's merchant, if the event is a payment's.
    #[must_use]
    pub fn merchant(&self) -> Option<&MerchantId> {
        self.merchant.as_ref()
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} event={}", self.at, self.kind.name())?;
        self.kind.write_details(f)?;
        write!(f, " phone=\"{}\"", self.phone)?;
        if let Some(payment) = self.payment {
            write!(f, " payment={payment}")?;
        }
        if let Some(enrollment) = self.enrollment {
            write!(f, " enrollment={enrollment}")?;
        }
        if let Some(amount) = self.amount {
            write!(f, " amount=\"{amount}\"")?;
        }
        if let Some(merchant) = &self.merchant {
            write!(f, " merchant={merchant}")?;
        }
        Ok(())
    }
}

/// Where the engine delivers the events of its outbox: a webhook sender, a message queue, an
/// audit store of the host's. Called by [`Engine::deliver_events`](crate::Engine::deliver_events)
/// for each event in the order the store numbered them, so each payment's events come in the
/// order of its changes.
///
/// # Contract
///
/// - `deliver` answers `Ok` only once the event is safely handed on (the webhook answered 2xx,
///   the queue acknowledged): the engine then removes it from the outbox for good.
/// - An error leaves the event, and every later one, in the outbox for the next round.
/// - Delivery is at least once: a crash between the hand-over and the removal, or two server
///   instances delivering at the same time, hand an event on twice. Receivers drop copies by
///   [`Event::id`].
pub trait EventDelivery: Send + Sync {
    /// Hands `event` on.
    fn deliver(&self, event: &Event) -> impl Future<Output = Result<(), DeliveryError>> + Send;
}

/// Why an event could not be handed on.
#[derive(Debug, thiserror::Error)]
#[error("the event could not be delivered: {0}")]
pub struct DeliveryError(Box<dyn std::error::Error + Send + Sync>);

impl DeliveryError {
    /// Wraps the cause.
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(cause.into())
    }
}
