//! Spending limits: per payment, over 24 hours and over 30 days, checked at the right PIN before
//! any SMS and reserved in the same write; a failed payment gives its share back. Every
//! refusal is checked for its exact error and for what is stored after it.

use crate::common::*;
use buyster::memory::BankFault;
use buyster::{
    Amount, CancelReason, CodeCheck, Currency, CurrencyLimits, DeclineReason, Error, EventKind,
    Merchant, Order, PaymentId, PinCheck, Policy, SpendingLimit, StateKind, Timestamp,
};

fn hours(n: u64) -> std::time::Duration {
    minutes(60 * n)
}

fn days(n: u64) -> std::time::Duration {
    hours(24 * n)
}

fn priced(minor: u64, currency: Currency) -> Order {
    let merchant = Merchant::new("boutique-exemple", "Boutique Exemple").unwrap();
    Order::new(merchant, Amount::new(minor, currency).unwrap(), "CMD-1").unwrap()
}

/// A payment of `minor` euro cents taken through its right PIN: the answer, and its id.
async fn verify(host: &Host, minor: u64) -> (Result<PinCheck, Error>, PaymentId) {
    verify_order(host, priced(minor, Currency::EUR)).await
}

async fn verify_order(host: &Host, order: Order) -> (Result<PinCheck, Error>, PaymentId) {
    let payment = host.engine.initiate(order, &host.phone).await.unwrap();
    let id = payment.id();
    (host.engine.verify_pin(payment, &pin(PIN)).await, id)
}

/// Pays `minor` euro cents in full.
async fn pay(host: &Host, minor: u64) {
    let (answer, _) = verify(host, minor).await;
    let Ok(PinCheck::Verified(verified)) = answer else {
        panic!("{answer:?}")
    };
    let sent = host.engine.send_code(verified).await.unwrap();
    let code = host.sms.last_code_for(sent.id()).unwrap();
    assert!(matches!(
        host.engine.confirm(sent, &code).await.unwrap(),
        CodeCheck::Confirmed(_)
    ));
}

fn refusal(answer: Result<PinCheck, Error>) -> (SpendingLimit, Option<Timestamp>) {
    match answer {
        Err(Error::LimitExceeded { limit, frees_at }) => (limit, frees_at),
        other => panic!("not refused for a limit: {other:?}"),
    }
}

fn above_the_per_payment_limit(answer: Result<impl std::fmt::Debug, Error>) {
    assert!(
        matches!(
            answer,
            Err(Error::LimitExceeded {
                limit: SpendingLimit::PerPayment,
                frees_at: None
            })
        ),
        "{answer:?}"
    );
}

#[tokio::test]
async fn a_payment_above_the_per_payment_limit_is_refused_when_started() {
    let host = Host::new().await;
    let (keys, sms) = (host.store.keys().len(), host.sms.sent().len());
    host.events.clear();
    above_the_per_payment_limit(
        host.engine
            .initiate(priced(100_001, Currency::EUR), &host.phone)
            .await,
    );
    let key: buyster::IdempotencyKey = "order-100001".parse().unwrap();
    above_the_per_payment_limit(
        host.engine
            .initiate_once(priced(100_001, Currency::EUR), &host.phone, &key)
            .await,
    );
    // The same for a number with no account: the limit is the policy's, not the buyer's.
    let unknown: buyster::PhoneNumber = "+33 6 98 76 54 32".parse().unwrap();
    above_the_per_payment_limit(
        host.engine
            .initiate(priced(100_001, Currency::EUR), &unknown)
            .await,
    );
    assert_eq!(host.store.keys().len(), keys, "nothing stored");
    assert_eq!(host.sms.sent().len(), sms, "no SMS");
    assert!(host.events.kinds().is_empty(), "no event");
    // Exactly the limit passes, and the key is still free for it.
    assert!(matches!(
        verify(&host, 100_000).await.0,
        Ok(PinCheck::Verified(_))
    ));
    let paid = priced(100_000, Currency::EUR);
    let started = host
        .engine
        .initiate_once(paid, &host.phone, &key)
        .await
        .unwrap();
    assert_eq!(started.kind(), StateKind::Initiated);
}

#[tokio::test]
async fn a_payment_started_under_a_higher_limit_is_refused_at_its_right_pin() {
    let host = Host::new().await;
    let keys = || buyster::Keys::new(1, buyster::SecretKey::from_bytes(MASTER));
    let before = host.restarted(
        keys(),
        Policy {
            max_per_payment: 150_000,
            ..Policy::default()
        },
    );
    let key: buyster::IdempotencyKey = "order-100001".parse().unwrap();
    let payment = before
        .initiate_once(priced(100_001, Currency::EUR), &host.phone, &key)
        .await
        .unwrap();
    let id = payment.id();
    // Asked again under today's policy, the order gets its payment back, not a refusal.
    let again = host
        .engine
        .initiate_once(priced(100_001, Currency::EUR), &host.phone, &key)
        .await
        .unwrap();
    assert_eq!((again.id(), again.kind()), (id, StateKind::Initiated));
    // Another order under the key is still the key's misuse.
    assert!(matches!(
        host.engine
            .initiate_once(priced(100_002, Currency::EUR), &host.phone, &key)
            .await,
        Err(Error::IdempotencyKeyReused)
    ));
    // A wrong PIN first: the limit says nothing to someone without the PIN.
    let payment = host.engine.resume::<buyster::Initiated>(id).await.unwrap();
    let PinCheck::Rejected {
        payment,
        attempts_left: 2,
        ..
    } = host
        .engine
        .verify_pin(payment, &pin(WRONG_PIN))
        .await
        .unwrap()
    else {
        panic!()
    };
    let answer = host.engine.verify_pin(payment, &pin(PIN)).await;
    assert_eq!(refusal(answer), (SpendingLimit::PerPayment, None));
    assert_eq!(host.kind(id).await, StateKind::Initiated);
    assert!(host.sms.sent().is_empty());
    // The right PIN was counted: the failure count starts again.
    let payment = host.initiate().await;
    assert!(matches!(
        host.engine
            .verify_pin(payment, &pin(WRONG_PIN))
            .await
            .unwrap(),
        PinCheck::Rejected {
            attempts_left: 2,
            ..
        }
    ));
    let event = host
        .events
        .events()
        .into_iter()
        .find(|e| matches!(e.kind(), EventKind::LimitExceeded { .. }));
    assert_eq!(
        event.unwrap().kind(),
        &EventKind::LimitExceeded {
            limit: SpendingLimit::PerPayment,
            frees_at: None
        }
    );
}

#[tokio::test]
async fn the_24_hour_limit_says_when_it_frees_up() {
    let host = Host::new().await;
    pay(&host, 100_000).await;
    host.clock.advance(hours(1));
    pay(&host, 50_000).await;
    host.clock.advance(hours(1));
    let (answer, id) = verify(&host, 1).await;
    let frees_at = after(T0, hours(24));
    assert_eq!(refusal(answer), (SpendingLimit::Per24Hours, Some(frees_at)));
    let error = Error::LimitExceeded {
        limit: SpendingLimit::Per24Hours,
        frees_at: Some(frees_at),
    };
    assert_eq!(
        error.to_string(),
        "the 24-hour spending limit would be exceeded; it frees up at 2026-11-28T13:41:00.000Z"
    );
    assert_eq!(host.kind(id).await, StateKind::Initiated);
    assert_eq!(host.sms.sent().len(), 2);
    // At that time, the first payment leaves the window.
    host.clock.set(frees_at);
    assert!(matches!(
        verify(&host, 100_000).await.0,
        Ok(PinCheck::Verified(_))
    ));
}

#[tokio::test]
async fn the_30_day_limit_counts_every_payment_of_the_month() {
    let host = Host::new().await;
    for (day, minor) in [(0, 100_000), (0, 50_000), (2, 100_000), (2, 50_000)] {
        host.clock.set(after(T0, days(day)));
        pay(&host, minor).await;
    }
    host.clock.set(after(T0, days(3) + hours(1)));
    let (answer, _) = verify(&host, 1).await;
    assert_eq!(
        refusal(answer),
        (SpendingLimit::Per30Days, Some(after(T0, days(30))))
    );
    host.clock.set(after(T0, days(30)));
    assert!(matches!(
        verify(&host, 100_000).await.0,
        Ok(PinCheck::Verified(_))
    ));
}

#[tokio::test]
async fn a_verified_payment_holds_its_share_so_no_other_takes_it() {
    let host = Host::new().await;
    let (first, _) = verify(&host, 100_000).await;
    let (second, _) = verify(&host, 50_000).await;
    let (Ok(PinCheck::Verified(first)), Ok(PinCheck::Verified(second))) = (first, second) else {
        panic!()
    };
    let (third, _) = verify(&host, 1).await;
    assert_eq!(refusal(third).0, SpendingLimit::Per24Hours);
    // Both authorize and settle without a second check: their shares were reserved.
    for verified in [first, second] {
        let sent = host.engine.send_code(verified).await.unwrap();
        let code = host.sms.last_code_for(sent.id()).unwrap();
        host.engine.confirm(sent, &code).await.unwrap();
    }
    assert_eq!(host.bank.debits().len(), 2);
}

#[tokio::test]
async fn a_declined_payment_gives_its_share_back() {
    let host = Host::new().await;
    let (answer, _) = verify(&host, 100_000).await;
    let Ok(PinCheck::Verified(verified)) = answer else {
        panic!()
    };
    let sent = host.engine.send_code(verified).await.unwrap();
    let code = host.sms.last_code_for(sent.id()).unwrap();
    host.bank
        .fail_next(BankFault::Decline(DeclineReason::InsufficientFunds));
    assert!(matches!(
        host.engine.confirm(sent, &code).await,
        Err(Error::Declined(_))
    ));
    pay(&host, 100_000).await;
    pay(&host, 50_000).await;
}

#[tokio::test]
async fn cancelled_and_exhausted_payments_give_their_share_back() {
    let host = Host::new().await;
    let (answer, _) = verify(&host, 100_000).await;
    let Ok(PinCheck::Verified(cancelled)) = answer else {
        panic!()
    };
    host.engine
        .cancel(cancelled.id(), CancelReason::Buyer)
        .await
        .unwrap();
    let (answer, _) = verify(&host, 100_000).await;
    let Ok(PinCheck::Verified(exhausted)) = answer else {
        panic!()
    };
    let mut sent = host.engine.send_code(exhausted).await.unwrap();
    let wrong = other_code(&host.sms.last_code_for(sent.id()).unwrap());
    loop {
        match host.engine.confirm(sent, &wrong).await {
            Ok(CodeCheck::Rejected { payment, .. }) => sent = payment,
            Err(Error::TooManyAttempts) => break,
            other => panic!("{other:?}"),
        }
    }
    pay(&host, 100_000).await;
    pay(&host, 50_000).await;
}

#[tokio::test]
async fn an_expired_payment_keeps_its_share_until_its_expiry_is_recorded() {
    let host = Host::new().await;
    let (answer, _) = verify(&host, 100_000).await;
    let Ok(PinCheck::Verified(abandoned)) = answer else {
        panic!()
    };
    let id = abandoned.id();
    host.clock.advance(minutes(16));
    let (answer, _) = verify(&host, 100_000).await;
    assert_eq!(refusal(answer).0, SpendingLimit::Per24Hours);
    // The recovery job records the expiry, and the share comes back.
    host.engine.recover(id).await.unwrap();
    assert_eq!(host.failure(id).await, buyster::FailureReason::Expired);
    assert!(matches!(
        verify(&host, 100_000).await.0,
        Ok(PinCheck::Verified(_))
    ));
}

#[tokio::test]
async fn each_currency_accepted_counts_apart_against_its_own_limits() {
    let host = Host::with_policy(Policy {
        other_currencies: vec![CurrencyLimits::new(Currency::GBP, 80_000, 100_000, 200_000)],
        ..Policy::default()
    })
    .await;
    pay(&host, 100_000).await;
    pay(&host, 50_000).await;
    above_the_per_payment_limit(
        host.engine
            .initiate(priced(80_001, Currency::GBP), &host.phone)
            .await,
    );
    let (answer, _) = verify_order(&host, priced(80_000, Currency::GBP)).await;
    assert!(matches!(answer, Ok(PinCheck::Verified(_))));
    let (answer, id) = verify_order(&host, priced(20_001, Currency::GBP)).await;
    assert_eq!(
        refusal(answer),
        (SpendingLimit::Per24Hours, Some(after(T0, hours(24))))
    );
    assert_eq!(host.kind(id).await, StateKind::Initiated);
}

#[tokio::test]
async fn a_currency_the_policy_does_not_name_is_refused_before_anything_is_stored() {
    let host = Host::new().await;
    let (keys, sms) = (host.store.keys().len(), host.sms.sent().len());
    host.events.clear();
    for currency in [Currency::GBP, Currency::CHF, Currency::USD] {
        let answer = host
            .engine
            .initiate(priced(100, currency), &host.phone)
            .await;
        assert!(
            matches!(answer, Err(Error::CurrencyNotAccepted(c)) if c == currency),
            "{answer:?}"
        );
    }
    assert_eq!(host.store.keys().len(), keys, "nothing stored");
    assert_eq!(host.sms.sent().len(), sms);
    assert!(host.events.kinds().is_empty());
    // A payment made while pounds were taken, its PIN checked after they no longer are.
    let pounds = CurrencyLimits::new(Currency::GBP, 100_000, 150_000, 300_000);
    let keys = buyster::Keys::new(1, buyster::SecretKey::from_bytes(MASTER));
    let before = host.restarted(
        keys,
        Policy {
            other_currencies: vec![pounds],
            ..Policy::default()
        },
    );
    let payment = before
        .initiate(priced(100, Currency::GBP), &host.phone)
        .await
        .unwrap();
    let id = payment.id();
    let answer = host.engine.verify_pin(payment, &pin(PIN)).await;
    assert!(matches!(
        answer,
        Err(Error::CurrencyNotAccepted(Currency::GBP))
    ));
    assert_eq!(host.kind(id).await, StateKind::Initiated);
    assert!(host.sms.sent().len() == sms, "no SMS");
    // The right PIN was answered: the failure count starts again.
    assert!(matches!(
        host.engine
            .verify_pin(host.initiate().await, &pin(WRONG_PIN))
            .await,
        Ok(PinCheck::Rejected {
            attempts_left: 2,
            ..
        })
    ));
}

#[tokio::test]
async fn the_policy_sets_the_figures() {
    let host = Host::with_policy(Policy {
        max_per_payment: 5_000,
        max_per_24_hours: 6_000,
        max_per_30_days: 6_000,
        ..Policy::default()
    })
    .await;
    above_the_per_payment_limit(
        host.engine
            .initiate(priced(5_001, Currency::EUR), &host.phone)
            .await,
    );
    pay(&host, 5_000).await;
    assert_eq!(
        refusal(verify(&host, 1_001).await.0),
        (SpendingLimit::Per30Days, Some(after(T0, days(30))))
    );
}

#[cfg(feature = "testkit")]
type FaultyEngine = buyster::Engine<
    buyster::testkit::FaultyStore<Batching<buyster::memory::MemoryStore>>,
    buyster::memory::MemorySms,
    buyster::memory::MemoryBank,
    buyster::memory::ManualClock,
>;

/// An engine over a store that fails the calls `plan` says, writing batches or not, with the
/// buyer enrolled and a payment of EUR 1,000 verified (a daily limit of EUR 1,500): its id.
#[cfg(feature = "testkit")]
async fn faulty_with_a_share(
    plan: &buyster::testkit::FaultPlan,
    batches: bool,
) -> (FaultyEngine, buyster::PaymentId) {
    use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
    use buyster::{Engine, Keys, SecretKey};

    let store = Batching {
        inner: MemoryStore::new(),
        batches,
    };
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(buyster::testkit::FaultyStore::new(store, plan.clone()))
        .sms(MemorySms::new())
        .bank(MemoryBank::new())
        .clock(ManualClock::new(T0))
        .build()
        .unwrap();
    let phone = PHONE.parse().unwrap();
    engine
        .enroll(&phone, &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    let Ok(PinCheck::Verified(first)) = verify_on(&engine, 150_000 - 50_000).await else {
        panic!()
    };
    (engine, first.id())
}

#[cfg(feature = "testkit")]
async fn verify_on(engine: &FaultyEngine, minor: u64) -> Result<PinCheck, Error> {
    let phone = PHONE.parse().unwrap();
    let payment = engine.initiate(order(minor), &phone).await.unwrap();
    engine.verify_pin(payment, &pin(PIN)).await
}

#[cfg(feature = "testkit")]
#[tokio::test]
async fn a_share_kept_by_a_failed_write_comes_back_at_the_next_cancel() {
    use buyster::testkit::{Fault, FaultPlan};

    // A store that writes one key at a time.
    let plan = FaultPlan::none();
    let (engine, id) = faulty_with_a_share(&plan, false).await;
    // The cancel: read the payment, write it failed, read the guard, write the guard (fails).
    let _ = plan.clone().and(plan.calls() + 3, Fault::FailBefore);
    engine.cancel(id, CancelReason::Buyer).await.unwrap();
    assert!(matches!(
        verify_on(&engine, 100_000).await,
        Err(Error::LimitExceeded { .. })
    ));
    // Cancelling again is idempotent, and gives the share back this time.
    engine.cancel(id, CancelReason::Buyer).await.unwrap();
    assert!(matches!(
        verify_on(&engine, 100_000).await,
        Ok(PinCheck::Verified(_))
    ));
}

#[cfg(feature = "testkit")]
#[tokio::test]
async fn a_store_that_batches_fails_a_payment_and_gives_its_share_back_all_or_none() {
    use buyster::testkit::{Fault, FaultPlan};

    let plan = FaultPlan::none();
    let (engine, id) = faulty_with_a_share(&plan, true).await;
    // The cancel: read the payment, read the guard, write both together (fails): nothing
    // written, the payment still open and its share still held.
    let _ = plan.clone().and(plan.calls() + 2, Fault::FailBefore);
    assert!(matches!(
        engine.cancel(id, CancelReason::Buyer).await,
        Err(Error::Storage(_))
    ));
    assert_eq!(
        engine.load(id).await.unwrap().kind(),
        buyster::StateKind::PinVerified
    );
    assert!(matches!(
        verify_on(&engine, 100_000).await,
        Err(Error::LimitExceeded { .. })
    ));
    // Cancelled again: failed, and its share back in the same write.
    engine.cancel(id, CancelReason::Buyer).await.unwrap();
    assert!(matches!(
        verify_on(&engine, 100_000).await,
        Ok(PinCheck::Verified(_))
    ));
}

#[tokio::test]
async fn a_clock_gone_back_never_shortens_a_reservation() {
    let host = Host::new().await;
    let next_day = T0.as_unix_millis() / 86_400_000 + 1;
    let at = |minutes: u64| Timestamp::from_unix_millis((next_day * 1440 + minutes) * 60_000);
    // EUR 1,000 at noon; then the clock goes back to 01:00 the same day, and small payments
    // at 01:00 fill the ledger so that its reservations of that day merge.
    host.clock.set(at(12 * 60));
    pay(&host, 100_000).await;
    host.clock.set(at(60));
    for _ in 0..8 {
        let (answer, _) = verify(&host, 100).await;
        assert!(matches!(answer, Ok(PinCheck::Verified(_))), "{answer:?}");
    }
    // 24 hours after the small ones, 13 after the noon one: it still counts until noon.
    host.clock.set(at(25 * 60));
    let (answer, id) = verify(&host, 100_000).await;
    assert_eq!(
        refusal(answer),
        (SpendingLimit::Per24Hours, Some(at(36 * 60)))
    );
    assert_eq!(host.kind(id).await, StateKind::Initiated);
}
