//! The forms of audit events: flat objects whose `event` key is [`EventKind::name`], with the
//! keys of the event's log line (`Display`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::account::AccountStatus;
use crate::enrollment::EnrollmentFailure;
use crate::error::SpendingLimit;
use crate::events::{Event, EventKind};
use crate::host::DeclineReason;
use crate::ids::{EnrollmentId, PaymentId};
use crate::money::Amount;
use crate::order::MerchantId;
use crate::payment::FailureReason;
use crate::time::Timestamp;

/// [`EventKind`] with every variant's data named: `{"event": "pin_rejected", "attempts_left":
/// 2}`, `{"event": "failed", "reason": "expired"}`. A refund's amount is `refund`, as in the
/// log line, apart from the payment's `amount` in an [`Event`]. Other keys are ignored when it
/// is read: an event's own form reads as its kind.
#[derive(Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum EventKindForm {
    EnrollmentStarted,
    EnrollmentCodeRejected {
        attempts_left: u8,
    },
    EnrollmentFailed {
        reason: EnrollmentFailure,
    },
    Enrolled,
    PinChanged,
    PinReset,
    Unlocked,
    StatusChanged {
        status: AccountStatus,
    },
    FundingSourceReplaced,
    Initiated,
    PinRejected {
        attempts_left: u8,
    },
    Locked {
        until: Option<Timestamp>,
    },
    PinVerified,
    LimitExceeded {
        limit: SpendingLimit,
        frees_at: Option<Timestamp>,
    },
    CodeSent {
        resends_left: u8,
    },
    CodeRejected {
        attempts_left: u8,
    },
    Authorized,
    ExemptAuthorized,
    Confirmed,
    Failed {
        reason: FailureReason,
    },
    RefundRequested {
        refund: Amount,
    },
    Refunded {
        refund: Amount,
    },
    RefundDeclined {
        refund: Amount,
        reason: DeclineReason,
    },
}

impl From<&EventKind> for EventKindForm {
    fn from(kind: &EventKind) -> Self {
        match *kind {
            EventKind::EnrollmentStarted => Self::EnrollmentStarted,
            EventKind::EnrollmentCodeRejected { attempts_left } => {
                Self::EnrollmentCodeRejected { attempts_left }
            }
            EventKind::EnrollmentFailed(reason) => Self::EnrollmentFailed { reason },
            EventKind::Enrolled => Self::Enrolled,
            EventKind::PinChanged => Self::PinChanged,
            EventKind::PinReset => Self::PinReset,
            EventKind::Unlocked => Self::Unlocked,
            EventKind::StatusChanged(status) => Self::StatusChanged { status },
            EventKind::FundingSourceReplaced => Self::FundingSourceReplaced,
            EventKind::Initiated => Self::Initiated,
            EventKind::PinRejected { attempts_left } => Self::PinRejected { attempts_left },
            EventKind::Locked { until } => Self::Locked { until },
            EventKind::PinVerified => Self::PinVerified,
            EventKind::LimitExceeded { limit, frees_at } => Self::LimitExceeded { limit, frees_at },
            EventKind::CodeSent { resends_left } => Self::CodeSent { resends_left },
            EventKind::CodeRejected { attempts_left } => Self::CodeRejected { attempts_left },
            EventKind::Authorized => Self::Authorized,
            EventKind::ExemptAuthorized => Self::ExemptAuthorized,
            EventKind::Confirmed => Self::Confirmed,
            EventKind::Failed(reason) => Self::Failed { reason },
            EventKind::RefundRequested { amount } => Self::RefundRequested { refund: amount },
            EventKind::Refunded { amount } => Self::Refunded { refund: amount },
            EventKind::RefundDeclined { amount, reason } => Self::RefundDeclined {
                refund: amount,
                reason,
            },
        }
    }
}

impl From<EventKindForm> for EventKind {
    fn from(form: EventKindForm) -> Self {
        use EventKindForm as F;
        match form {
            F::EnrollmentStarted => Self::EnrollmentStarted,
            F::EnrollmentCodeRejected { attempts_left } => {
                Self::EnrollmentCodeRejected { attempts_left }
            }
            F::EnrollmentFailed { reason } => Self::EnrollmentFailed(reason),
            F::Enrolled => Self::Enrolled,
            F::PinChanged => Self::PinChanged,
            F::PinReset => Self::PinReset,
            F::Unlocked => Self::Unlocked,
            F::StatusChanged { status } => Self::StatusChanged(status),
            F::FundingSourceReplaced => Self::FundingSourceReplaced,
            F::Initiated => Self::Initiated,
            F::PinRejected { attempts_left } => Self::PinRejected { attempts_left },
            F::Locked { until } => Self::Locked { until },
            F::PinVerified => Self::PinVerified,
            F::LimitExceeded { limit, frees_at } => Self::LimitExceeded { limit, frees_at },
            F::CodeSent { resends_left } => Self::CodeSent { resends_left },
            F::CodeRejected { attempts_left } => Self::CodeRejected { attempts_left },
            F::Authorized => Self::Authorized,
            F::ExemptAuthorized => Self::ExemptAuthorized,
            F::Confirmed => Self::Confirmed,
            F::Failed { reason } => Self::Failed(reason),
            F::RefundRequested { refund } => Self::RefundRequested { amount: refund },
            F::Refunded { refund } => Self::Refunded { amount: refund },
            F::RefundDeclined { refund, reason } => Self::RefundDeclined {
                amount: refund,
                reason,
            },
        }
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EventKindForm::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        EventKindForm::deserialize(deserializer).map(Self::from)
    }
}

/// An event: its `id`, its kind's keys, then `at`, the masked `phone`, and those of `payment`,
/// `enrollment`, `amount` and `merchant` that it has. Written only: an event is the engine's
/// account of a change, and its masked number cannot be checked back.
#[derive(Serialize)]
struct EventForm<'a> {
    id: String,
    #[serde(flatten)]
    kind: EventKindForm,
    at: Timestamp,
    phone: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment: Option<PaymentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enrollment: Option<EnrollmentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    merchant: Option<&'a MerchantId>,
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EventForm {
            id: self.id().to_string(),
            kind: EventKindForm::from(self.kind()),
            at: self.at(),
            phone: self.masked_phone(),
            payment: self.payment_id(),
            enrollment: self.enrollment_id(),
            amount: self.amount(),
            merchant: self.merchant(),
        }
        .serialize(serializer)
    }
}
