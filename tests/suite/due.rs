//! The engine's own unfinished work: every write tells the store when its record falls due,
//! and `recover_due` finishes what is due, earliest first, with no id kept by the host.

use std::time::Duration;

use crate::common::*;
use buyster::memory::BankFault;
use buyster::{
    Amount, AnyEnrollment, AnyPayment, Currency, Due, EnrollmentFailure, Error, FailureReason,
    FundingSource, Key, PinCheck, Policy, RefundKey, RefundReason, RefundStatus, StateKind, Store,
    Timestamp, Write,
};

mod purge;

const DAY: Duration = Duration::from_secs(86_400);

/// The due index of `host`'s store, as (key, time) pairs.
fn index(host: &Host) -> Vec<(String, Timestamp)> {
    host.store
        .due_index()
        .into_iter()
        .map(|Due { key, at }| (key.as_str().to_owned(), at))
        .collect()
}

/// The work due: the index without the ended records kept until their retention is over,
/// which fall due a day or more from now (the shortest retention allowed).
fn work(host: &Host) -> Vec<(String, Timestamp)> {
    let horizon = after(buyster::Clock::now(&host.clock), DAY);
    index(host)
        .into_iter()
        .filter(|(_, at)| *at < horizon)
        .collect()
}

fn key_of(id: buyster::PaymentId) -> String {
    Key::payment(&id).as_str().to_owned()
}

#[tokio::test]
async fn each_state_tells_the_store_when_its_payment_falls_due() {
    let host = Host::new().await;
    let policy = Policy::default();
    let payment = host.initiate().await;
    let (id, expires) = (payment.id(), payment.expires_at());
    assert_eq!(
        index(&host),
        [(key_of(id), expires)],
        "initiated: at its expiry"
    );
    let PinCheck::Verified(verified) = host.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
    else {
        panic!("the right PIN was refused");
    };
    assert_eq!(index(&host), [(key_of(id), expires)], "PIN verified");
    let sent = host.engine.send_code(verified).await.unwrap();
    assert_eq!(index(&host), [(key_of(id), expires)], "code sent");
    host.engine.confirm(sent, &host.code()).await.unwrap();
    let AnyPayment::Confirmed(paid) = host.stored(id).await else {
        panic!("not confirmed");
    };
    let kept = after(paid.receipt().confirmed_at(), 400 * DAY);
    assert_eq!(
        index(&host),
        [(key_of(id), kept)],
        "confirmed: nothing left to do, removed 400 days after"
    );
    // Left authorized by a bank outage: due a recovery delay after the attempt.
    let authorized = host.authorized_despite(BankFault::Unavailable).await;
    assert_eq!(host.kind(authorized).await, StateKind::Authorized);
    assert_eq!(
        index(&host),
        [
            (key_of(authorized), after(T0, policy.recovery_delay)),
            (key_of(id), kept)
        ]
    );
}

/// Three payments abandoned with their codes sent, which fill the daily limit, expired by
/// `recover_due` on a store that writes batches or not: their shares come back.
async fn abandoned_payments_expire(batches: bool) -> Host {
    // A daily limit that three abandoned payments of EUR 49.90 would fill.
    let policy = Policy {
        max_per_payment: 5_000,
        max_per_24_hours: 15_000,
        ..Policy::default()
    };
    let host = Host::with_policy(policy.clone()).await;
    let engine = host.engine_over(Batching {
        inner: host.store.clone(),
        batches,
    });
    let mut abandoned = Vec::new();
    for _ in 0..3 {
        let payment = engine.initiate(order(4990), &host.phone).await.unwrap();
        let Ok(PinCheck::Verified(verified)) = engine.verify_pin(payment, &pin(PIN)).await else {
            panic!("the right PIN was refused");
        };
        abandoned.push(engine.send_code(verified).await.unwrap().id());
        host.clock.advance(seconds(1));
    }
    // The limit is full: a fourth payment is refused.
    let fourth = engine.initiate(order(4990), &host.phone).await.unwrap();
    assert!(matches!(
        engine.verify_pin(fourth, &pin(PIN)).await,
        Err(Error::LimitExceeded { .. })
    ));
    // Nothing is due before the first expiry.
    let work = engine.recover_due(100).await.unwrap();
    assert_eq!((work.examined, work.finished), (0, 0));
    host.clock.advance(policy.payment_ttl);
    let work = engine.recover_due(100).await.unwrap();
    assert_eq!(work.examined, 4, "{work:?}");
    assert_eq!((work.finished, work.postponed, work.errors), (4, 0, 0));
    for id in &abandoned {
        assert_eq!(host.failure(*id).await, FailureReason::Expired);
    }
    // The shares are back: a new payment fits.
    let fifth = engine.initiate(order(4990), &host.phone).await.unwrap();
    assert!(matches!(
        engine.verify_pin(fifth, &pin(PIN)).await,
        Ok(PinCheck::Verified(_))
    ));
    let work = engine.recover_due(100).await.unwrap();
    assert_eq!(work.examined, 0, "{work:?}");
    host
}

#[tokio::test]
async fn abandoned_payments_expire_with_no_id_kept_and_give_their_share_back() {
    // One write at a time: the failed ones come due once more, to give back a share a crash
    // between the payment's write and the guard's might have kept, and then leave the index.
    let host = abandoned_payments_expire(false).await;
    let engine = host.engine_over(Batching::off(host.store.clone()));
    assert_eq!(index(&host).len(), 5, "{:?}", index(&host));
    host.clock.advance(Policy::default().recovery_delay);
    let round = engine.recover_due(100).await.unwrap();
    assert_eq!((round.examined, round.finished), (4, 4), "{round:?}");
    let left: Vec<String> = work(&host).into_iter().map(|(key, _)| key).collect();
    assert_eq!(left.len(), 1, "only the fifth, open payment: {left:?}");
    assert_kept_30_days(&host, 4).await;
}

/// `count` failed payments are in the index, each due 30 days after it failed: when it is to
/// be removed.
async fn assert_kept_30_days(host: &Host, count: usize) {
    let mut kept = 0;
    for (key, at) in index(host) {
        let id = key.strip_prefix("payment/").unwrap().parse().unwrap();
        if let AnyPayment::Failed(failed) = host.stored(id).await {
            assert_eq!(at, after(failed.state().failed_at(), 30 * DAY), "{key}");
            kept += 1;
        }
    }
    assert_eq!(kept, count, "{:?}", index(host));
}

#[tokio::test]
async fn a_store_that_batches_leaves_a_failed_payment_due_only_at_its_retention() {
    // Each failed payment and its share given back in one write: nothing is left to do on it,
    // and that write makes it due only when it is to be removed.
    let host = abandoned_payments_expire(true).await;
    let left: Vec<String> = work(&host).into_iter().map(|(key, _)| key).collect();
    assert_eq!(left.len(), 1, "only the fifth, open payment: {left:?}");
    assert_kept_30_days(&host, 4).await;
    host.clock.advance(Policy::default().recovery_delay);
    let work = host.engine.recover_due(100).await.unwrap();
    assert_eq!(work.examined, 0, "{work:?}");
}

#[tokio::test]
async fn an_authorized_payment_is_settled_once_even_behind_many_abandoned_ones() {
    let host = Host::new().await;
    let policy = Policy::default();
    // 150 abandoned payments, started first.
    for _ in 0..150 {
        host.initiate().await;
    }
    // The debit was applied, and its answer lost.
    let id = host
        .authorized_despite(BankFault::AppliedButUnavailable)
        .await;
    assert_eq!(host.bank.debits().len(), 1);
    host.clock.advance(policy.recovery_delay);
    // Due before every abandoned one: a round of 10 settles it.
    let work = host.engine.recover_due(10).await.unwrap();
    assert_eq!((work.examined, work.finished), (1, 1), "{work:?}");
    assert_eq!(host.kind(id).await, StateKind::Confirmed);
    assert_eq!(
        host.bank.debits().len(),
        1,
        "found at the bank, not debited again"
    );
}

#[tokio::test]
async fn work_that_cannot_finish_goes_behind_the_rest() {
    let host = Host::new().await;
    let policy = Policy::default();
    let mut stuck = Vec::new();
    for _ in 0..5 {
        stuck.push(host.authorized_despite(BankFault::Unavailable).await);
    }
    let expiring = host.initiate().await.id();
    host.clock.advance(policy.payment_ttl);
    // The bank stays down for the five: each round postpones what it took.
    for _ in 0..5 {
        host.bank.fail_next(BankFault::Unavailable);
    }
    let work = host.engine.recover_due(5).await.unwrap();
    assert_eq!((work.examined, work.postponed), (5, 5), "{work:?}");
    for id in &stuck {
        assert_eq!(host.kind(*id).await, StateKind::Authorized);
    }
    // The next round of 5 reaches the expired payment at once: the postponed are behind it.
    let work = host.engine.recover_due(5).await.unwrap();
    assert_eq!((work.examined, work.finished), (1, 1), "{work:?}");
    assert_eq!(host.failure(expiring).await, FailureReason::Expired);
    // The bank is back: one delay later, all five are settled, once each.
    host.clock.advance(policy.recovery_delay);
    let work = host.engine.recover_due(100).await.unwrap();
    assert_eq!(work.postponed, 0, "{work:?}");
    for id in &stuck {
        assert_eq!(host.kind(*id).await, StateKind::Confirmed);
    }
    assert_eq!(host.bank.debits().len(), 5);
}

#[tokio::test]
async fn a_pending_refund_is_asked_again_when_due() {
    let host = Host::new().await;
    let policy = Policy::default();
    let sent = host.sent().await;
    let id = sent.id();
    host.engine.confirm(sent, &host.code()).await.unwrap();
    let paid = host.engine.resume::<buyster::Confirmed>(id).await.unwrap();
    host.bank.fail_next(BankFault::Unavailable);
    let refund_key: RefundKey = "RMA-7".parse().unwrap();
    let amount = Amount::new(4990, Currency::EUR).unwrap();
    let answer = host
        .engine
        .refund(paid, amount, RefundReason::Returned, &refund_key)
        .await;
    assert!(answer.is_err(), "{answer:?}");
    assert_eq!(index(&host).len(), 1, "the pending refund is due");
    host.clock.advance(policy.recovery_delay);
    let work = host.engine.recover_due(10).await.unwrap();
    assert_eq!((work.examined, work.finished), (1, 1), "{work:?}");
    let AnyPayment::Confirmed(paid) = host.stored(id).await else {
        panic!("not confirmed");
    };
    assert_eq!(paid.refunds()[0].status(), RefundStatus::Refunded);
    assert_eq!(host.bank.refunds().len(), 1);
    // Money moved last with the refund: kept 400 days from then.
    let refunded_at = paid.refunds()[0].refunded_at().unwrap();
    assert_eq!(refunded_at, after(T0, policy.recovery_delay));
    assert_eq!(index(&host), [(key_of(id), after(refunded_at, 400 * DAY))]);
}

#[tokio::test]
async fn an_expired_enrollment_ends_when_due() {
    let host = Host::empty(Policy::default(), buyster::memory::MemoryStore::new());
    let enrollment = host.engine.start_enrollment(&host.phone).await.unwrap();
    let id = enrollment.id();
    assert_eq!(index(&host).len(), 1);
    host.clock.advance(minutes(60));
    let work = host.engine.recover_due(10).await.unwrap();
    assert_eq!((work.examined, work.finished), (1, 1), "{work:?}");
    match host.engine.load_enrollment(id).await.unwrap() {
        AnyEnrollment::Failed(failed) => {
            assert_eq!(failed.state().reason(), EnrollmentFailure::Expired);
            assert_eq!(
                index(&host),
                [(
                    Key::enrollment(&id).as_str().to_owned(),
                    after(failed.state().failed_at(), 30 * DAY)
                )]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_accepted_enrollment_left_unfinished_is_closed_by_what_was_made() {
    let host = Host::empty(Policy::default(), buyster::memory::MemoryStore::new());
    let enrollment = host.engine.start_enrollment(&host.phone).await.unwrap();
    let id = enrollment.id();
    let code = host.sms.last_code(&host.phone).unwrap();
    let iban: FundingSource = IBAN.parse().unwrap();
    // The account is made; the call dies before the enrollment is closed.
    let pausing = PausingStore::new(host.store.clone());
    let (reached, resume) = pausing.arm(Point::AfterPut, "account/");
    let engine = host.engine_over(pausing);
    let finishing = tokio::spawn(async move {
        let _ = engine
            .finish_enrollment(enrollment, &code, &pin(PIN), iban)
            .await;
    });
    reached.await.unwrap();
    finishing.abort();
    drop(resume);
    assert!(matches!(
        host.engine.load_enrollment(id).await.unwrap(),
        AnyEnrollment::Accepted(_)
    ));
    host.clock.advance(Policy::default().recovery_delay);
    let work = host.engine.recover_due(10).await.unwrap();
    assert_eq!((work.examined, work.finished), (1, 1), "{work:?}");
    assert!(matches!(
        host.engine.load_enrollment(id).await.unwrap(),
        AnyEnrollment::Enrolled(_)
    ));
}

#[tokio::test]
async fn a_key_the_engine_does_not_make_never_holds_the_head_of_the_index() {
    let host = Host::new().await;
    let policy = Policy::default();
    let odd = Key::for_testing("odd/record");
    let write = Write::new(b"not a record".to_vec()).due_at(T0);
    host.store.put(&odd, None, write).await.unwrap();
    let id = host.initiate().await.id();
    host.clock.advance(policy.payment_ttl);
    let work = host.engine.recover_due(1).await.unwrap();
    assert_eq!((work.examined, work.errors), (1, 1), "{work:?}");
    // It went behind: the next round of one finishes the payment.
    let work = host.engine.recover_due(1).await.unwrap();
    assert_eq!((work.examined, work.finished), (1, 1), "{work:?}");
    assert_eq!(host.failure(id).await, FailureReason::Expired);
    let odd_due: Vec<_> = index(&host)
        .into_iter()
        .filter(|(key, _)| key == "odd/record")
        .collect();
    assert_eq!(
        odd_due,
        [(
            "odd/record".to_owned(),
            after(after(T0, policy.payment_ttl), policy.recovery_delay)
        )]
    );
}

#[tokio::test]
async fn the_cost_of_a_round_follows_the_work_due_not_the_history() {
    let host = Host::with_policy(Policy {
        max_per_24_hours: 10_000_000,
        max_per_30_days: 10_000_000,
        max_sms_per_number: 100,
        ..Policy::default()
    })
    .await;
    for _ in 0..300 {
        let sent = host.sent().await;
        host.engine.confirm(sent, &host.code()).await.unwrap();
        host.clock.advance(minutes(1));
    }
    let open = host.initiate().await.id();
    host.clock.advance(Policy::default().payment_ttl);
    assert_eq!(
        host.store.len(),
        303,
        "300 paid payments, an account, a guard, an open one"
    );
    assert_eq!(work(&host).len(), 1, "300 paid payments, none due");
    assert_eq!(index(&host).len(), 301, "each paid one due in 400 days");
    let round = host.engine.recover_due(1_000).await.unwrap();
    assert_eq!(round.examined, 1, "{round:?}");
    assert_eq!(host.failure(open).await, FailureReason::Expired);
}
