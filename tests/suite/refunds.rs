//! Refunds: full or partial, never more than was debited, each idempotent on its key through
//! the bank's own idempotency key. Every refusal is checked for its exact error and for what is
//! stored and moved after it.

use crate::common::*;
use buyster::memory::BankFault;
use buyster::{
    Amount, AmountError, AnyPayment, Bank, BankError, Confirmed, Currency, DebitReceipt,
    DebitRequest, DeclineReason, Engine, Error, EventKind, Keys, Payment, PinCheck, RefundKey,
    RefundReason, RefundStatus, SecretKey,
};

fn eur(minor: u64) -> Amount {
    Amount::new(minor, Currency::EUR).unwrap()
}

fn key(text: &str) -> RefundKey {
    text.parse().unwrap()
}

/// A payment of EUR 49.90, debited.
async fn paid(host: &Host) -> Payment<Confirmed> {
    let sent = host.sent().await;
    let id = sent.id();
    host.engine.confirm(sent, &host.code()).await.unwrap();
    host.engine.resume::<Confirmed>(id).await.unwrap()
}

async fn refund(
    host: &Host,
    payment: Payment<Confirmed>,
    refund_key: &str,
    minor: u64,
) -> Result<Payment<Confirmed>, Error> {
    host.engine
        .refund(
            payment,
            eur(minor),
            RefundReason::Returned,
            &key(refund_key),
        )
        .await
}

async fn stored(host: &Host, payment: &Payment<Confirmed>) -> Payment<Confirmed> {
    host.engine.resume::<Confirmed>(payment.id()).await.unwrap()
}

#[tokio::test]
async fn a_full_refund_goes_through_the_bank_under_its_own_key() {
    let host = Host::new().await;
    let payment = paid(&host).await;
    let id = payment.id();
    host.events.clear();
    let refunded = refund(&host, payment, "RMA-1", 4990).await.unwrap();
    assert_eq!(refunded.refunded(), Some(eur(4990)));
    assert_eq!(refunded.refundable(), None);
    let record = &refunded.refunds()[0];
    assert_eq!(record.status(), RefundStatus::Refunded);
    assert_eq!(record.bank_reference(), Some("MR-000001"));
    assert_eq!(record.refunded_at(), Some(T0));
    assert_eq!(record.reason(), RefundReason::Returned);
    let asked = host.bank.refunds();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].idempotency_key(), format!("{id}/refund/RMA-1"));
    assert_ne!(
        asked[0].idempotency_key(),
        host.bank.debits()[0].idempotency_key()
    );
    assert_eq!(asked[0].debit_reference(), "MB-000001");
    assert_eq!(asked[0].amount(), eur(4990));
    // Kept in the payment's record.
    let AnyPayment::Confirmed(loaded) = host.engine.load(id).await.unwrap() else {
        panic!()
    };
    assert_eq!(loaded.refunds(), refunded.refunds());
    assert_eq!(
        host.events.kinds(),
        [
            EventKind::RefundRequested { amount: eur(4990) },
            EventKind::Refunded { amount: eur(4990) }
        ]
    );
}

#[tokio::test]
async fn partial_refunds_add_up_to_the_amount_and_no_further() {
    let host = Host::new().await;
    let payment = paid(&host).await;
    let payment = refund(&host, payment, "r1", 1000).await.unwrap();
    let payment = refund(&host, payment, "r2", 2000).await.unwrap();
    assert_eq!(payment.refundable(), Some(eur(1990)));
    let beyond = refund(&host, stored(&host, &payment).await, "r3", 1991).await;
    assert!(matches!(
        beyond,
        Err(Error::RefundTooLarge { refundable: Some(left) }) if left == eur(1990)
    ));
    // Nothing recorded, nothing moved.
    assert_eq!(stored(&host, &payment).await.refunds().len(), 2);
    assert_eq!(host.bank.refunds().len(), 2);
    let payment = refund(&host, payment, "r3", 1990).await.unwrap();
    assert_eq!(payment.refunded(), Some(eur(4990)));
    let nothing_left = refund(&host, payment, "r4", 1).await;
    assert!(matches!(
        nothing_left,
        Err(Error::RefundTooLarge { refundable: None })
    ));
    let refunded: u64 = host
        .bank
        .refunds()
        .iter()
        .map(|r| r.amount().minor_units())
        .sum();
    assert_eq!(refunded, 4990);
}

#[tokio::test]
async fn the_same_key_twice_refunds_once() {
    let host = Host::new().await;
    let payment = paid(&host).await;
    let stale = stored(&host, &payment).await;
    let first = refund(&host, payment, "once", 1500).await.unwrap();
    let calls = host.bank.attempts();
    let again = refund(&host, stale, "once", 1500).await.unwrap();
    assert_eq!(again.refunds(), first.refunds());
    assert_eq!(host.bank.attempts(), calls, "answered from the record");
    assert_eq!(host.bank.refunds().len(), 1);
    // The same key for another amount is a mistake, not a new refund.
    let other = refund(&host, again, "once", 1000).await;
    assert!(matches!(other, Err(Error::RefundKeyReused)));
    assert_eq!(host.bank.refunds().len(), 1);
    assert_eq!(stored(&host, &first).await.refunds().len(), 1);
}

#[tokio::test]
async fn an_unanswered_refund_stays_pending_and_is_retried_with_the_same_key() {
    let host = Host::new().await;
    let payment = paid(&host).await;
    let stale = stored(&host, &payment).await;
    host.bank.fail_next(BankFault::Unavailable);
    let lost = refund(&host, payment, "k", 4000).await;
    assert!(matches!(lost, Err(Error::Bank(BankError::Unavailable))));
    let pending = stored(&host, &stale).await;
    assert_eq!(pending.refunds()[0].status(), RefundStatus::Pending);
    assert_eq!(pending.refunded(), None);
    // Its amount is set aside while pending.
    assert_eq!(pending.refundable(), Some(eur(990)));
    assert!(matches!(
        refund(&host, stored(&host, &stale).await, "other", 1000).await,
        Err(Error::RefundTooLarge { .. })
    ));
    let done = refund(&host, pending, "k", 4000).await.unwrap();
    assert_eq!(done.refunds()[0].status(), RefundStatus::Refunded);
    assert_eq!(host.bank.refunds().len(), 1);
}

#[tokio::test]
async fn a_refund_made_but_unanswered_is_never_made_twice() {
    let host = Host::new().await;
    let payment = paid(&host).await;
    let id = payment.id();
    host.bank.fail_next(BankFault::AppliedButUnavailable);
    assert!(refund(&host, payment, "k", 4990).await.is_err());
    assert_eq!(host.bank.refunds().len(), 1, "the bank did refund");
    let pending = host.engine.resume::<Confirmed>(id).await.unwrap();
    let done = refund(&host, pending, "k", 4990).await.unwrap();
    assert_eq!(done.refunds()[0].bank_reference(), Some("MR-000001"));
    assert_eq!(host.bank.refunds().len(), 1);
    assert_eq!(done.refunded(), Some(eur(4990)));
}

#[tokio::test]
async fn recovery_finishes_pending_refunds_under_their_own_keys() {
    let host = Host::new().await;
    let payment = paid(&host).await;
    let id = payment.id();
    // Three refunds the bank left unanswered: one it made, one it did not, one it refuses.
    host.bank.fail_next(BankFault::AppliedButUnavailable);
    assert!(refund(&host, payment, "made", 1000).await.is_err());
    host.bank.fail_next(BankFault::Unavailable);
    let payment = host.engine.resume::<Confirmed>(id).await.unwrap();
    assert!(refund(&host, payment, "lost", 2000).await.is_err());
    host.bank.fail_next(BankFault::Unavailable);
    let payment = host.engine.resume::<Confirmed>(id).await.unwrap();
    assert!(refund(&host, payment, "refused", 500).await.is_err());
    assert_eq!(
        host.bank.refunds().len(),
        1,
        "only the first reached the bank"
    );

    // The recovery job, with the bank still down for two calls, then refusing the third.
    host.bank.fail_next(BankFault::Unavailable);
    host.bank.fail_next(BankFault::Unavailable);
    host.bank
        .fail_next(BankFault::Decline(DeclineReason::AccountClosed));
    let AnyPayment::Confirmed(after) = host.engine.recover(id).await.unwrap() else {
        panic!("not confirmed")
    };
    let statuses: Vec<RefundStatus> = after.refunds().iter().map(|r| r.status()).collect();
    let declined = RefundStatus::Declined(DeclineReason::AccountClosed);
    let pending = RefundStatus::Pending;
    assert_eq!(statuses, [pending, pending, declined]);
    // The next run, with the bank back: the refund it made is found, the other made.
    let AnyPayment::Confirmed(after) = host.engine.recover(id).await.unwrap() else {
        panic!("not confirmed")
    };
    let statuses: Vec<RefundStatus> = after.refunds().iter().map(|r| r.status()).collect();
    let refunded = RefundStatus::Refunded;
    assert_eq!(statuses, [refunded, refunded, declined]);
    assert_eq!(after.refunds()[0].bank_reference(), Some("MR-000001"));
    // Each key reached the bank, and none was refunded twice.
    let refunds = host.bank.refunds();
    let keys: Vec<&str> = refunds.iter().map(|r| r.idempotency_key()).collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(after.refunded(), Some(eur(3000)));
    assert_eq!(after.refundable(), Some(eur(1990)));
    // Nothing pending: recovery asks the bank nothing more.
    host.engine.recover(id).await.unwrap();
    assert_eq!(host.bank.refunds().len(), 2);
}

#[tokio::test]
async fn a_declined_refund_frees_its_amount_and_stays_declined() {
    let host = Host::new().await;
    let payment = paid(&host).await;
    host.bank
        .fail_next(BankFault::Decline(DeclineReason::AccountClosed));
    let refused = refund(&host, payment, "k", 4990).await;
    assert!(matches!(
        refused,
        Err(Error::Declined(DeclineReason::AccountClosed))
    ));
    let after = host
        .engine
        .resume::<Confirmed>(host.bank.debits()[0].payment_id())
        .await
        .unwrap();
    assert_eq!(
        after.refunds()[0].status(),
        RefundStatus::Declined(DeclineReason::AccountClosed)
    );
    assert_eq!(after.refundable(), Some(eur(4990)));
    let calls = host.bank.attempts();
    let again = refund(&host, after, "k", 4990).await;
    assert!(matches!(
        again,
        Err(Error::Declined(DeclineReason::AccountClosed))
    ));
    assert_eq!(host.bank.attempts(), calls);
    assert!(host.events.kinds().contains(&EventKind::RefundDeclined {
        amount: eur(4990),
        reason: DeclineReason::AccountClosed
    }));
    let payment = host
        .engine
        .resume::<Confirmed>(host.bank.debits()[0].payment_id())
        .await
        .unwrap();
    refund(&host, payment, "k2", 4990).await.unwrap();
    assert!(host.bank.refunds().len() == 1);
}

#[tokio::test]
async fn ten_refunds_at_most() {
    let host = Host::new().await;
    let mut payment = paid(&host).await;
    for i in 0..10 {
        payment = refund(&host, payment, &format!("r{i}"), 1).await.unwrap();
    }
    let eleventh = refund(&host, payment, "r10", 1).await;
    assert!(matches!(eleventh, Err(Error::TooManyRefunds)));
    assert_eq!(host.bank.refunds().len(), 10);
}

#[tokio::test]
async fn a_refund_in_another_currency_is_refused() {
    let host = Host::new().await;
    let payment = paid(&host).await;
    let pounds = Amount::new(100, Currency::GBP).unwrap();
    let refused = host
        .engine
        .refund(payment, pounds, RefundReason::Goodwill, &key("k"))
        .await;
    assert!(matches!(
        refused,
        Err(Error::InvalidAmount(AmountError::CurrencyMismatch))
    ));
    assert!(host.bank.refunds().is_empty());
}

/// A bank that takes payments and does not implement refunds.
#[derive(Clone, Default)]
struct DebitOnly(buyster::memory::MemoryBank);

impl Bank for DebitOnly {
    async fn debit(&self, request: &DebitRequest) -> Result<DebitReceipt, BankError> {
        self.0.debit(request).await
    }
}

#[tokio::test]
async fn a_bank_without_refunds_declines_them() {
    let (store, sms) = (
        buyster::memory::MemoryStore::new(),
        buyster::memory::MemorySms::new(),
    );
    let clock = buyster::memory::ManualClock::new(T0);
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(store)
        .sms(sms.clone())
        .bank(DebitOnly::default())
        .clock(clock)
        .build()
        .unwrap();
    let phone = PHONE.parse().unwrap();
    engine
        .enroll(&phone, &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    let payment = engine.initiate(order(4990), &phone).await.unwrap();
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!()
    };
    let sent = engine.send_code(verified).await.unwrap();
    let id = sent.id();
    engine
        .confirm(sent, &sms.last_code(&phone).unwrap())
        .await
        .unwrap();
    let payment = engine.resume::<Confirmed>(id).await.unwrap();
    let refused = engine
        .refund(payment, eur(100), RefundReason::Goodwill, &key("k"))
        .await;
    assert!(matches!(
        refused,
        Err(Error::Declined(DeclineReason::Refused))
    ));
    let after = engine.resume::<Confirmed>(id).await.unwrap();
    assert_eq!(
        after.refunds()[0].status(),
        RefundStatus::Declined(DeclineReason::Refused)
    );
}
