//! The forms of the kinds and reasons: each variant by its `snake_case` name, `"pin_verified"`,
//! and a variant with data as an object of one key, `{"cancelled": "buyer"}`.
//!
//! Each `…Form` is the type's mirror for serde's remote derive, which checks, variant by
//! variant, that the mirror and the type agree: a variant added to a type and not here does
//! not compile.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::account::{AccountStatus, PinChange};
use crate::enrollment::EnrollmentFailure;
use crate::error::{EnrollmentKind, SpendingLimit, StateKind};
use crate::guard::NextLock;
use crate::host::{DeclineReason, RefundReason};
use crate::language::Language;
use crate::payment::{CancelReason, FailureReason, RefundStatus};
use crate::time::millis;

/// `Serialize` and `Deserialize` for a type, through its mirror's remote derive.
macro_rules! through {
    ($($type:ty => $form:ident),+ $(,)?) => {$(
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $form::serialize(self, serializer)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $form::deserialize(deserializer)
            }
        }
    )+};
}

through! {
    StateKind => StateKindForm,
    EnrollmentKind => EnrollmentKindForm,
    EnrollmentFailure => EnrollmentFailureForm,
    FailureReason => FailureReasonForm,
    CancelReason => CancelReasonForm,
    DeclineReason => DeclineReasonForm,
    RefundReason => RefundReasonForm,
    RefundStatus => RefundStatusForm,
    AccountStatus => AccountStatusForm,
    SpendingLimit => SpendingLimitForm,
    Language => LanguageForm,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "StateKind", rename_all = "snake_case")]
enum StateKindForm {
    Initiated,
    PinVerified,
    OtpSent,
    Authorized,
    Confirmed,
    Failed,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "EnrollmentKind", rename_all = "snake_case")]
enum EnrollmentKindForm {
    CodeSent,
    Accepted,
    Enrolled,
    Failed,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "EnrollmentFailure", rename_all = "snake_case")]
enum EnrollmentFailureForm {
    Expired,
    TooManyAttempts,
    AlreadyEnrolled,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "FailureReason", rename_all = "snake_case")]
enum FailureReasonForm {
    Expired,
    Cancelled(CancelReason),
    TooManyAttempts,
    Declined(DeclineReason),
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "CancelReason", rename_all = "snake_case")]
enum CancelReasonForm {
    Buyer,
    Merchant,
    Fraud,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "DeclineReason", rename_all = "snake_case")]
enum DeclineReasonForm {
    InsufficientFunds,
    AccountClosed,
    LimitExceeded,
    SuspectedFraud,
    Refused,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "RefundReason", rename_all = "snake_case")]
enum RefundReasonForm {
    Returned,
    NotDelivered,
    Duplicate,
    Fraud,
    Goodwill,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "RefundStatus", rename_all = "snake_case")]
enum RefundStatusForm {
    Pending,
    Refunded,
    Declined(DeclineReason),
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "AccountStatus", rename_all = "snake_case")]
enum AccountStatusForm {
    Active,
    Suspended,
    Closed,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "SpendingLimit")]
enum SpendingLimitForm {
    #[serde(rename = "per_payment")]
    PerPayment,
    #[serde(rename = "per_24_hours")]
    Per24Hours,
    #[serde(rename = "per_30_days")]
    Per30Days,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Language", rename_all = "snake_case")]
enum LanguageForm {
    French,
    English,
}

/// `"permanent"`, or `{"temporary": {"millis": 900000}}` (whole milliseconds).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum NextLockForm {
    Temporary { millis: u64 },
    Permanent,
}

impl Serialize for NextLock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self::Temporary(lock) => NextLockForm::Temporary {
                millis: millis(lock),
            },
            Self::Permanent => NextLockForm::Permanent,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for NextLock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match NextLockForm::deserialize(deserializer)? {
            NextLockForm::Temporary { millis } => {
                Self::Temporary(core::time::Duration::from_millis(millis))
            }
            NextLockForm::Permanent => Self::Permanent,
        })
    }
}

/// An answer, written only: `"changed"`, or `{"rejected": {"attempts_left": 2, "next_lock":
/// "permanent"}}`.
#[derive(Serialize)]
#[serde(remote = "PinChange", rename_all = "snake_case")]
enum PinChangeForm {
    Changed,
    Rejected {
        attempts_left: u8,
        next_lock: NextLock,
    },
}

impl Serialize for PinChange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PinChangeForm::serialize(self, serializer)
    }
}
