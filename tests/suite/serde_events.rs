//! The `serde` feature on audit events and on what a real checkout leaves: a receipt, a
//! refund and every event, in the forms the crate documentation tables.
#![cfg(feature = "serde")]

use crate::common::*;
use buyster::{
    AccountStatus, Amount, CancelReason, Confirmed, Currency, DeclineReason, EnrollmentFailure,
    EventKind, FailureReason, Receipt, RefundKey, RefundReason, SpendingLimit,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Asserts that `value` is written as `form` and read back from it as itself.
#[track_caller]
fn round_trip<T>(value: &T, form: serde_json::Value)
where
    T: Serialize + DeserializeOwned + PartialEq + core::fmt::Debug,
{
    assert_eq!(serde_json::to_value(value).unwrap(), form);
    let back: T = serde_json::from_value(form).unwrap();
    assert_eq!(&back, value);
}

/// The message of the error that reading `form` as a `T` gives.
#[track_caller]
fn refusal<T: DeserializeOwned + core::fmt::Debug>(form: serde_json::Value) -> String {
    serde_json::from_value::<T>(form.clone())
        .map(|value| panic!("{form} read as {value:?}"))
        .unwrap_err()
        .to_string()
}

fn eur(minor: u64) -> Amount {
    Amount::new(minor, Currency::EUR).unwrap()
}

#[tokio::test]
async fn receipts_refunds_and_events_of_a_real_checkout() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    host.engine.confirm(sent, &host.code()).await.unwrap();
    let paid = host.engine.resume::<Confirmed>(id).await.unwrap();
    let receipt = paid.receipt().clone();
    let form = serde_json::to_value(&receipt).unwrap();
    assert_eq!(
        form,
        json!({
            "payment_id": id.to_string(),
            "amount": {"minor_units": 4990, "currency": "EUR"},
            "merchant": "boutique-exemple",
            "order_reference": "CMD-2026-000123",
            "bank_reference": receipt.bank_reference(),
            "confirmed_at": "2026-11-27T13:41:00.000Z",
            "low_value_exempt": false,
        })
    );
    round_trip(&receipt, form.clone());
    let mut odd = form.clone();
    odd["order_reference"] = json!(" CMD\u{200b}1");
    refusal::<Receipt>(odd);
    let mut odd = form;
    odd["bank_reference"] = json!("r".repeat(256));
    refusal::<Receipt>(odd);

    let key: RefundKey = "RMA-1".parse().unwrap();
    let paid = host
        .engine
        .refund(paid, eur(1000), RefundReason::Returned, &key)
        .await
        .unwrap();
    let refund = &paid.refunds()[0];
    assert_eq!(
        serde_json::to_value(refund).unwrap(),
        json!({
            "key": "RMA-1",
            "amount": {"minor_units": 1000, "currency": "EUR"},
            "reason": "returned",
            "requested_at": "2026-11-27T13:41:00.000Z",
            "status": "refunded",
            "bank_reference": refund.bank_reference().unwrap(),
            "refunded_at": "2026-11-27T13:41:00.000Z",
        })
    );

    let events = host.events.events();
    let pin_verified = events
        .iter()
        .find(|e| *e.kind() == EventKind::PinVerified)
        .unwrap();
    assert_eq!(
        serde_json::to_value(pin_verified).unwrap(),
        json!({
            "id": pin_verified.id().to_string(),
            "event": "pin_verified",
            "at": "2026-11-27T13:41:00.000Z",
            "phone": "+33 6 •• •• •• 78",
            "payment": id.to_string(),
            "amount": {"minor_units": 4990, "currency": "EUR"},
            "merchant": "boutique-exemple",
        })
    );
    for event in &events {
        let form = serde_json::to_value(event).unwrap();
        assert_eq!(form["event"], json!(event.kind().name()));
        let text = form.to_string();
        assert!(
            !text.contains("612345678") && !text.contains("30006000"),
            "{text}"
        );
        let kind: EventKind = serde_json::from_value(form).unwrap();
        assert_eq!(&kind, event.kind());
    }
    let enrolled = host
        .events
        .events()
        .into_iter()
        .find(|e| *e.kind() == EventKind::Enrolled);
    let enrolled = serde_json::to_value(enrolled.unwrap()).unwrap();
    assert_eq!(enrolled.as_object().unwrap().len(), 4, "{enrolled}");
}

/// Every kind of event: its form names it as [`EventKind::name`] does, and reads back.
#[test]
fn every_event_kind_reads_back() {
    let (amount, at) = (eur(1250), Some(T0));
    let kinds = [
        (
            EventKind::EnrollmentStarted,
            json!({"event": "enrollment_started"}),
        ),
        (
            EventKind::EnrollmentCodeRejected { attempts_left: 1 },
            json!({"event": "enrollment_code_rejected", "attempts_left": 1}),
        ),
        (
            EventKind::EnrollmentFailed(EnrollmentFailure::Expired),
            json!({"event": "enrollment_failed", "reason": "expired"}),
        ),
        (EventKind::Enrolled, json!({"event": "enrolled"})),
        (EventKind::PinChanged, json!({"event": "pin_changed"})),
        (EventKind::PinReset, json!({"event": "pin_reset"})),
        (EventKind::Unlocked, json!({"event": "unlocked"})),
        (
            EventKind::StatusChanged(AccountStatus::Closed),
            json!({"event": "status_changed", "status": "closed"}),
        ),
        (
            EventKind::FundingSourceReplaced,
            json!({"event": "funding_source_replaced"}),
        ),
        (EventKind::Initiated, json!({"event": "initiated"})),
        (
            EventKind::PinRejected { attempts_left: 2 },
            json!({"event": "pin_rejected", "attempts_left": 2}),
        ),
        (
            EventKind::Locked { until: at },
            json!({"event": "locked", "until": "2026-11-27T13:41:00.000Z"}),
        ),
        (
            EventKind::Locked { until: None },
            json!({"event": "locked", "until": null}),
        ),
        (EventKind::PinVerified, json!({"event": "pin_verified"})),
        (
            EventKind::LimitExceeded {
                limit: SpendingLimit::Per24Hours,
                frees_at: None,
            },
            json!({"event": "limit_exceeded", "limit": "per_24_hours", "frees_at": null}),
        ),
        (
            EventKind::CodeSent { resends_left: 3 },
            json!({"event": "code_sent", "resends_left": 3}),
        ),
        (
            EventKind::CodeRejected { attempts_left: 1 },
            json!({"event": "code_rejected", "attempts_left": 1}),
        ),
        (EventKind::Authorized, json!({"event": "authorized"})),
        (
            EventKind::ExemptAuthorized,
            json!({"event": "exempt_authorized"}),
        ),
        (EventKind::Confirmed, json!({"event": "confirmed"})),
        (
            EventKind::Failed(FailureReason::Cancelled(CancelReason::Merchant)),
            json!({"event": "failed", "reason": {"cancelled": "merchant"}}),
        ),
        (
            EventKind::RefundRequested { amount },
            json!({
                "event": "refund_requested",
                "refund": {"minor_units": 1250, "currency": "EUR"},
            }),
        ),
        (
            EventKind::Refunded { amount },
            json!({"event": "refunded", "refund": {"minor_units": 1250, "currency": "EUR"}}),
        ),
        (
            EventKind::RefundDeclined {
                amount,
                reason: DeclineReason::AccountClosed,
            },
            json!({
                "event": "refund_declined",
                "refund": {"minor_units": 1250, "currency": "EUR"},
                "reason": "account_closed",
            }),
        ),
    ];
    for (kind, form) in kinds {
        assert_eq!(form["event"], json!(kind.name()));
        round_trip(&kind, form);
    }
    refusal::<EventKind>(json!({"event": "teleported"}));
    refusal::<EventKind>(json!({"event": "pin_rejected"}));
    refusal::<EventKind>(json!({"event": "refunded", "refund": {"minor_units": 0}}));
}
