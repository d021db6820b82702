//! The JSON form of a payment: what every successful answer carries.

use buyster::{AnyPayment, FailureReason, Language, Order, Payment, State, StateKind};
use serde::Serialize;

use super::super::bank::decline_code;

/// A payment as the API shows it. No PIN, code, tag or key is ever part of it, and the phone
/// number is masked.
#[derive(Serialize)]
pub struct PaymentView {
    id: String,
    state: &'static str,
    merchant: String,
    merchant_name: String,
    amount_minor: u64,
    currency: &'static str,
    amount: String,
    reference: String,
    channel: String,
    phone: String,
    created_at: String,
    expires_at: String,
    #[serde(flatten)]
    details: Details,
}

/// What only some states carry.
#[derive(Serialize, Default)]
struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts_left: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resends_left: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code_expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<ReceiptView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decline_reason: Option<&'static str>,
}

#[derive(Serialize)]
struct ReceiptView {
    bank_reference: String,
    confirmed_at: String,
}

impl PaymentView {
    /// The view of `payment`.
    pub fn of(payment: &AnyPayment) -> Self {
        match payment {
            AnyPayment::Initiated(p) => Self::common(p, Details::default()),
            AnyPayment::PinVerified(p) => Self::common(p, Details::default()),
            AnyPayment::OtpSent(p) => Self::common(
                p,
                Details {
                    attempts_left: Some(p.attempts_left()),
                    resends_left: Some(p.resends_left()),
                    code_expires_at: Some(p.code_expires_at().to_string()),
                    ..Details::default()
                },
            ),
            AnyPayment::Authorized(p) => Self::common(p, Details::default()),
            AnyPayment::Confirmed(p) => Self::common(
                p,
                Details {
                    receipt: Some(ReceiptView {
                        bank_reference: p.receipt().bank_reference().to_owned(),
                        confirmed_at: p.receipt().confirmed_at().to_string(),
                    }),
                    ..Details::default()
                },
            ),
            AnyPayment::Failed(p) => {
                let (failure, decline_reason) = failure_names(p.reason());
                Self::common(
                    p,
                    Details {
                        failure: Some(failure),
                        decline_reason,
                        ..Details::default()
                    },
                )
            }
        }
    }

    fn common<S: State>(payment: &Payment<S>, details: Details) -> Self {
        let order: &Order = payment.order();
        let amount = order.amount();
        Self {
            id: payment.id().to_string(),
            state: state_name(payment.kind()),
            merchant: order.merchant().id().to_string(),
            merchant_name: order.merchant().display_name().to_owned(),
            amount_minor: amount.minor_units(),
            currency: amount.currency().code(),
            amount: amount.localized(Language::French),
            reference: order.reference().to_owned(),
            channel: order.channel().to_string(),
            phone: payment.phone().masked(),
            created_at: payment.created_at().to_string(),
            expires_at: payment.expires_at().to_string(),
            details,
        }
    }
}

/// The API's names for why a payment failed, and for a decline, why the bank refused.
fn failure_names(reason: FailureReason) -> (&'static str, Option<&'static str>) {
    match reason {
        FailureReason::Expired => ("expired", None),
        FailureReason::Cancelled(_) => ("cancelled", None),
        FailureReason::TooManyAttempts => ("too_many_attempts", None),
        FailureReason::Declined(why) => ("declined", Some(decline_code(why))),
        _ => ("failed", None),
    }
}

/// The state's name in the API: `initiated`, `pin_verified`, `otp_sent`, `authorized`,
/// `confirmed`, `failed`.
pub fn state_name(state: StateKind) -> &'static str {
    match state {
        StateKind::Initiated => "initiated",
        StateKind::PinVerified => "pin_verified",
        StateKind::OtpSent => "otp_sent",
        StateKind::Authorized => "authorized",
        StateKind::Confirmed => "confirmed",
        StateKind::Failed => "failed",
    }
}
