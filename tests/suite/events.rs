//! Audit events: one per state change, after the change is stored, with the payment's id,
//! amount and merchant and the masked number, and never a secret.

use crate::common::*;
use buyster::memory::BankFault;
use buyster::{
    CancelReason, CodeCheck, DeclineReason, Error, EventKind, FailureReason, PinCheck, Policy,
};

#[tokio::test]
async fn a_checkout_records_each_step_in_order() {
    let host = Host::new().await;
    host.events.clear();
    let payment = host.initiate().await;
    let id = payment.id();
    let PinCheck::Rejected { payment, .. } = host
        .engine
        .verify_pin(payment, &pin(WRONG_PIN))
        .await
        .unwrap()
    else {
        panic!()
    };
    let PinCheck::Verified(verified) = host.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
    else {
        panic!()
    };
    let sent = host.engine.send_code(verified).await.unwrap();
    let code = host.code();
    let CodeCheck::Rejected { payment, .. } =
        host.engine.confirm(sent, &other_code(&code)).await.unwrap()
    else {
        panic!()
    };
    host.clock.advance(seconds(40));
    let sent = host.engine.resend_code(payment).await.unwrap();
    host.engine.confirm(sent, &host.code()).await.unwrap();

    assert_eq!(
        host.events.kinds(),
        [
            EventKind::Initiated,
            EventKind::PinRejected { attempts_left: 2 },
            EventKind::PinVerified,
            EventKind::CodeSent { resends_left: 3 },
            EventKind::CodeRejected { attempts_left: 2 },
            EventKind::CodeSent { resends_left: 2 },
            EventKind::Authorized,
            EventKind::Confirmed,
        ]
    );
    for (i, event) in host.events.events().iter().enumerate() {
        assert_eq!(event.payment_id(), Some(id), "{event}");
        assert_eq!(event.amount(), Some(order(4990).amount()));
        assert_eq!(event.merchant(), Some(order(4990).merchant().id()));
        assert_eq!(event.masked_phone(), "+33 6 •• •• •• 78");
        let at = if i < 5 { T0 } else { after(T0, seconds(40)) };
        assert_eq!(event.at(), at, "{event}");
    }
    let line = host.events.events()[1].to_string();
    assert_eq!(
        line,
        format!(
            "2026-11-27T13:41:00.000Z event=pin_rejected attempts_left=2 \
             phone=\"+33 6 •• •• •• 78\" payment={id} amount=\"49.90 EUR\" \
             merchant=boutique-exemple"
        )
    );
}

#[tokio::test]
async fn failures_and_locks_are_recorded_with_their_reason() {
    let host = Host::new().await;
    host.events.clear();
    for _ in 0..3 {
        let payment = host.initiate().await;
        let _ = host.engine.verify_pin(payment, &pin(WRONG_PIN)).await;
    }
    let until = Some(after(T0, minutes(15)));
    assert_eq!(host.events.kinds()[5], EventKind::Locked { until });
    // A refusal while locked changes nothing, and records nothing.
    let payment = host.initiate().await;
    let id = payment.id();
    assert!(matches!(
        host.engine.verify_pin(payment, &pin(PIN)).await,
        Err(Error::Locked { .. })
    ));
    assert_eq!(host.events.kinds().last(), Some(&EventKind::Initiated));
    host.engine.cancel(id, CancelReason::Buyer).await.unwrap();
    let cancelled = EventKind::Failed(FailureReason::Cancelled(CancelReason::Buyer));
    assert_eq!(host.events.kinds().last(), Some(&cancelled));
    // Cancelling again stores nothing new: no second event.
    host.engine.cancel(id, CancelReason::Buyer).await.unwrap();
    assert_eq!(
        host.events
            .kinds()
            .iter()
            .filter(|k| **k == cancelled)
            .count(),
        1
    );
}

#[tokio::test]
async fn a_decline_and_too_many_codes_are_failures() {
    let host = Host::with_policy(Policy {
        max_code_attempts: 1,
        ..Policy::default()
    })
    .await;
    let sent = host.sent().await;
    let wrong = other_code(&host.code());
    assert!(matches!(
        host.engine.confirm(sent, &wrong).await,
        Err(Error::TooManyAttempts)
    ));
    assert_eq!(
        host.events.kinds().last(),
        Some(&EventKind::Failed(FailureReason::TooManyAttempts))
    );
    host.clock.advance(minutes(11));
    let declined = host
        .authorized_despite(BankFault::Decline(DeclineReason::InsufficientFunds))
        .await;
    let kinds = host.events.kinds();
    assert_eq!(
        kinds[kinds.len() - 2..],
        [
            EventKind::Authorized,
            EventKind::Failed(FailureReason::Declined(DeclineReason::InsufficientFunds))
        ]
    );
    assert_eq!(
        host.events.events().last().unwrap().payment_id(),
        Some(declined)
    );
}

#[tokio::test]
async fn an_outage_leaves_the_payment_authorized_and_records_no_confirmation() {
    let host = Host::new().await;
    let id = host.authorized_despite(BankFault::Unavailable).await;
    assert_eq!(host.events.kinds().last(), Some(&EventKind::Authorized));
    host.engine.recover(id).await.unwrap();
    assert_eq!(host.events.kinds().last(), Some(&EventKind::Confirmed));
}

#[cfg(feature = "testkit")]
#[tokio::test]
async fn nothing_is_recorded_for_a_write_that_failed() {
    use buyster::memory::{ManualClock, MemoryBank, MemoryEvents, MemorySms, MemoryStore};
    use buyster::testkit::{Fault, FaultPlan, FaultyStore};
    use buyster::{Engine, Keys, SecretKey};

    let (store, events) = (MemoryStore::new(), MemoryEvents::new());
    let plan = FaultPlan::none();
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(FaultyStore::new(store.clone(), plan.clone()))
        .sms(MemorySms::new())
        .bank(MemoryBank::new())
        .clock(ManualClock::new(T0))
        .events(events.clone())
        .build()
        .unwrap();
    let phone = PHONE.parse().unwrap();
    // The payment's insert fails before it is applied: no payment, no event.
    let _ = plan.clone().and(plan.calls(), Fault::FailBefore);
    assert!(engine.initiate(order(4990), &phone).await.is_err());
    assert!(events.events().is_empty());
    assert!(store.is_empty());
    let payment = engine.initiate(order(4990), &phone).await.unwrap();
    assert_eq!(events.kinds(), [EventKind::Initiated]);
    // The guard's write (after reading the guard and the account) fails: the wrong PIN is
    // not counted, and not recorded.
    let _ = plan.clone().and(plan.calls() + 2, Fault::FailBefore);
    assert!(matches!(
        engine.verify_pin(payment, &pin(WRONG_PIN)).await,
        Err(Error::Storage(_))
    ));
    assert_eq!(events.kinds(), [EventKind::Initiated]);
}
