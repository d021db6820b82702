//! The bank: declines, outages, lost answers, settling again, and cancelling.

use crate::common::*;
use buyster::memory::BankFault;
use buyster::{
    AnyPayment, Authorized, BankError, CancelReason, CodeCheck, DeclineReason, Error,
    FailureReason, PaymentId, StateKind,
};

#[tokio::test]
async fn a_decline_fails_the_payment_without_a_debit() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    host.bank
        .fail_next(BankFault::Decline(DeclineReason::InsufficientFunds));
    let error = host.engine.confirm(sent, &host.code()).await.unwrap_err();
    assert!(matches!(
        error,
        Error::Declined(DeclineReason::InsufficientFunds)
    ));
    assert_eq!(
        host.failure(id).await,
        FailureReason::Declined(DeclineReason::InsufficientFunds)
    );
    assert!(host.bank.debits().is_empty());
    assert_eq!(host.bank.attempts(), 1);
}

#[tokio::test]
async fn an_outage_leaves_the_payment_authorized_and_settle_finishes_it() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    let code = host.code();
    host.bank.fail_next(BankFault::Unavailable);
    let error = host.engine.confirm(sent, &code).await.unwrap_err();
    assert!(matches!(error, Error::Bank(BankError::Unavailable)));
    assert_eq!(host.kind(id).await, StateKind::Authorized);
    assert!(host.bank.debits().is_empty());

    // The code was consumed: it cannot be used again, the payment can only be settled.
    assert!(matches!(
        host.engine.resume::<buyster::OtpSent>(id).await,
        Err(Error::WrongState {
            found: StateKind::Authorized,
            ..
        })
    ));
    // An authorized payment never expires: money may be moving.
    host.clock.advance(minutes(60));
    let authorized = host.engine.resume::<Authorized>(id).await.unwrap();
    let confirmed = host.engine.settle(authorized).await.unwrap();
    assert_eq!(confirmed.receipt().bank_reference(), "MB-000001");
    assert_eq!(host.bank.debits().len(), 1);
    assert_eq!(host.kind(id).await, StateKind::Confirmed);
}

#[tokio::test]
async fn a_lost_answer_is_settled_without_a_second_debit() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    host.bank.fail_next(BankFault::AppliedButUnavailable);
    assert!(matches!(
        host.engine.confirm(sent, &host.code()).await,
        Err(Error::Bank(BankError::Unavailable))
    ));
    assert_eq!(host.kind(id).await, StateKind::Authorized);
    assert_eq!(host.bank.debits().len(), 1, "the bank applied it");

    let settled = host
        .engine
        .settle(host.engine.resume::<Authorized>(id).await.unwrap())
        .await
        .unwrap();
    assert_eq!(settled.receipt().bank_reference(), "MB-000001");
    assert_eq!(host.bank.debits().len(), 1);
    assert_eq!(host.bank.attempts(), 2);
}

#[tokio::test]
async fn repeated_outages_keep_the_payment_authorized() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    host.bank.fail_next(BankFault::Unavailable);
    host.bank.fail_next(BankFault::Unavailable);
    assert!(host.engine.confirm(sent, &host.code()).await.is_err());
    let again = host
        .engine
        .settle(host.engine.resume::<Authorized>(id).await.unwrap())
        .await;
    assert!(matches!(again, Err(Error::Bank(BankError::Unavailable))));
    assert_eq!(host.kind(id).await, StateKind::Authorized);
    host.engine
        .settle(host.engine.resume::<Authorized>(id).await.unwrap())
        .await
        .unwrap();
    assert_eq!(host.bank.debits().len(), 1);
}

#[tokio::test]
async fn a_decline_after_an_outage_fails_the_payment() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    host.bank.fail_next(BankFault::Unavailable);
    host.bank
        .fail_next(BankFault::Decline(DeclineReason::AccountClosed));
    assert!(host.engine.confirm(sent, &host.code()).await.is_err());
    let settled = host
        .engine
        .settle(host.engine.resume::<Authorized>(id).await.unwrap())
        .await;
    assert!(matches!(
        settled,
        Err(Error::Declined(DeclineReason::AccountClosed))
    ));
    assert_eq!(
        host.failure(id).await,
        FailureReason::Declined(DeclineReason::AccountClosed)
    );
    assert!(host.bank.debits().is_empty());
}

#[tokio::test]
async fn settling_twice_returns_the_same_confirmation() {
    let host = Host::new().await;
    let id = host.authorized_despite(BankFault::Unavailable).await;
    let first = host.engine.resume::<Authorized>(id).await.unwrap();
    let second = host.engine.resume::<Authorized>(id).await.unwrap();
    let a = host.engine.settle(first).await.unwrap();
    let b = host.engine.settle(second).await.unwrap();
    assert_eq!(a.receipt(), b.receipt());
    assert_eq!(host.bank.debits().len(), 1);
}

#[tokio::test]
async fn cancel_fails_an_unauthorized_payment_and_is_idempotent() {
    let host = Host::new().await;
    for step in 0..3 {
        let id = match step {
            0 => host.initiate().await.id(),
            1 => host.verified().await.id(),
            _ => host.sent().await.id(),
        };
        let cancelled = host.engine.cancel(id, CancelReason::Buyer).await.unwrap();
        assert_eq!(
            cancelled.reason(),
            FailureReason::Cancelled(CancelReason::Buyer)
        );
        assert_eq!(
            host.failure(id).await,
            FailureReason::Cancelled(CancelReason::Buyer)
        );
        let again = host
            .engine
            .cancel(id, CancelReason::Merchant)
            .await
            .unwrap();
        assert_eq!(
            again.reason(),
            FailureReason::Cancelled(CancelReason::Buyer)
        );
    }
}

#[tokio::test]
async fn a_cancelled_payment_cannot_be_confirmed() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    host.engine
        .cancel(id, CancelReason::Merchant)
        .await
        .unwrap();
    let error = host.engine.confirm(sent, &host.code()).await.unwrap_err();
    assert!(matches!(
        error,
        Error::WrongState {
            expected: StateKind::OtpSent,
            found: StateKind::Failed
        }
    ));
    assert!(host.bank.debits().is_empty());
    assert_eq!(
        host.failure(id).await,
        FailureReason::Cancelled(CancelReason::Merchant)
    );
}

#[tokio::test]
async fn an_authorized_or_confirmed_payment_cannot_be_cancelled() {
    let host = Host::new().await;
    let id = host.authorized_despite(BankFault::Unavailable).await;
    let error = host
        .engine
        .cancel(id, CancelReason::Buyer)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::WrongState {
            found: StateKind::Authorized,
            ..
        }
    ));
    assert_eq!(host.kind(id).await, StateKind::Authorized);

    host.engine
        .settle(host.engine.resume::<Authorized>(id).await.unwrap())
        .await
        .unwrap();
    let error = host
        .engine
        .cancel(id, CancelReason::Buyer)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::WrongState {
            found: StateKind::Confirmed,
            ..
        }
    ));
    assert_eq!(host.bank.debits().len(), 1);
}

#[tokio::test]
async fn cancelling_an_expired_payment_records_the_expiry() {
    let host = Host::new().await;
    let id = host.initiate().await.id();
    host.clock.advance(minutes(16));
    assert_eq!(
        host.engine
            .cancel(id, CancelReason::Buyer)
            .await
            .unwrap()
            .reason(),
        FailureReason::Expired
    );
    let unknown: PaymentId = "ffffffffffffffffffffffffffffffff".parse().unwrap();
    assert!(matches!(
        host.engine.cancel(unknown, CancelReason::Buyer).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn confirmed_payments_load_with_their_receipt() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    let CodeCheck::Confirmed(done) = host.engine.confirm(sent, &host.code()).await.unwrap() else {
        panic!();
    };
    let AnyPayment::Confirmed(loaded) = host.engine.load(id).await.unwrap() else {
        panic!();
    };
    assert_eq!(loaded.receipt(), done.receipt());
    assert_eq!(loaded.order(), done.order());
}
