//! Ended payments and enrollments are removed once their retention is over: not before, not
//! while work is left on them, and never so that a stale version can write over a record made
//! again under the same key.

use super::*;
use buyster::Version;
use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::{CancelReason, DueWork, Entry, IdempotencyKey, KeyedWrite, StoreError};

async fn round<St: Store>(
    engine: &buyster::Engine<St, MemorySms, MemoryBank, ManualClock>,
) -> DueWork {
    engine.recover_due(100).await.unwrap()
}

fn counts(work: &DueWork) -> (usize, usize, usize, usize, usize) {
    (
        work.examined,
        work.purged,
        work.finished,
        work.postponed,
        work.errors,
    )
}

const MILLI: Duration = Duration::from_millis(1);

#[tokio::test]
async fn a_failed_payment_is_removed_30_days_after_it_failed_and_not_before() {
    let host = Host::new().await;
    let id = host.initiate().await.id();
    let failed = host.engine.cancel(id, CancelReason::Buyer).await.unwrap();
    let kept = after(failed.state().failed_at(), 30 * DAY);
    assert_eq!(index(&host), [(key_of(id), kept)]);
    let records = host.store.len();
    host.clock.advance(30 * DAY - MILLI);
    assert_eq!(counts(&round(&host.engine).await), (0, 0, 0, 0, 0));
    assert_eq!(host.kind(id).await, StateKind::Failed);
    host.clock.advance(MILLI);
    assert_eq!(counts(&round(&host.engine).await), (1, 1, 0, 0, 0));
    assert!(matches!(host.engine.load(id).await, Err(Error::NotFound)));
    assert!(!host.store.keys().contains(&Key::payment(&id)));
    assert_eq!(host.store.len(), records - 1, "the payment alone is gone");
    assert_eq!(index(&host), []);
    // Nothing loops: the next round finds nothing.
    assert_eq!(counts(&round(&host.engine).await), (0, 0, 0, 0, 0));
}

#[tokio::test]
async fn a_confirmed_payment_is_kept_400_days_after_it_was_paid() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    host.engine.confirm(sent, &host.code()).await.unwrap();
    // Past the failed payments' 30 days and the 13 months of SEPA returns: still kept.
    host.clock.advance(400 * DAY - MILLI);
    assert_eq!(counts(&round(&host.engine).await), (0, 0, 0, 0, 0));
    assert_eq!(host.kind(id).await, StateKind::Confirmed);
    host.clock.advance(MILLI);
    assert_eq!(counts(&round(&host.engine).await), (1, 1, 0, 0, 0));
    assert!(matches!(host.engine.load(id).await, Err(Error::NotFound)));
    assert_eq!(index(&host), []);
    // Its share of the limits left the 30-day window 370 days ago: the whole 30-day limit of
    // EUR 3,000 is free, EUR 1,000 at a time.
    for _ in 0..3 {
        let payment = host
            .engine
            .initiate(order(100_000), &host.phone)
            .await
            .unwrap();
        let check = host.engine.verify_pin(payment, &pin(PIN)).await;
        assert!(matches!(check, Ok(PinCheck::Verified(_))), "{check:?}");
        host.clock.advance(DAY);
    }
}

#[tokio::test]
async fn a_payment_with_a_refund_pending_is_not_removed_past_its_retention() {
    let host = Host::new().await;
    let policy = Policy::default();
    let sent = host.sent().await;
    let id = sent.id();
    host.engine.confirm(sent, &host.code()).await.unwrap();
    let paid = host.engine.resume::<buyster::Confirmed>(id).await.unwrap();
    host.bank.fail_next(BankFault::Unavailable);
    let refund_key: RefundKey = "RMA-9".parse().unwrap();
    let amount = Amount::new(1_000, Currency::EUR).unwrap();
    let answer = host
        .engine
        .refund(paid, amount, RefundReason::Returned, &refund_key)
        .await;
    assert!(answer.is_err(), "{answer:?}");
    // The bank stays down past the payment's 400 days: the refund is asked again, the payment
    // kept.
    host.clock.advance(401 * DAY);
    host.bank.fail_next(BankFault::Unavailable);
    assert_eq!(counts(&round(&host.engine).await), (1, 0, 0, 1, 0));
    let AnyPayment::Confirmed(paid) = host.stored(id).await else {
        panic!("not confirmed");
    };
    assert_eq!(paid.refunds()[0].status(), RefundStatus::Pending);
    // The bank answers: the refund is the last money moved, and the payment is kept 400 days
    // from it.
    host.clock.advance(policy.recovery_delay);
    assert_eq!(counts(&round(&host.engine).await), (1, 0, 1, 0, 0));
    let AnyPayment::Confirmed(paid) = host.stored(id).await else {
        panic!("not confirmed");
    };
    let refunded_at = paid.refunds()[0].refunded_at().unwrap();
    assert_eq!(index(&host), [(key_of(id), after(refunded_at, 400 * DAY))]);
}

#[tokio::test]
async fn a_failed_payment_whose_share_a_crash_kept_gives_it_back_before_it_is_removed() {
    // A 30-day limit one payment fills, and failed payments kept one day.
    let policy = Policy {
        max_per_payment: 5_000,
        max_per_24_hours: 5_000,
        max_per_30_days: 5_000,
        failed_payment_retention: DAY,
        ..Policy::default()
    };
    let host = Host::with_policy(policy.clone()).await;
    let verified = host.verified().await;
    let id = verified.id();
    // One write at a time, and the call dies after the payment's failure, before its share
    // is given back.
    let pausing = PausingStore::new(host.store.clone());
    let (reached, resume) = pausing.arm(Point::AfterPut, "payment/");
    let engine = host.engine_over(pausing);
    let cancelling = tokio::spawn(async move {
        let _ = engine.cancel(id, CancelReason::Buyer).await;
    });
    reached.await.unwrap();
    cancelling.abort();
    drop(resume);
    assert_eq!(host.kind(id).await, StateKind::Failed);
    let refused = host
        .engine
        .initiate(order(4_990), &host.phone)
        .await
        .unwrap();
    assert!(matches!(
        host.engine.verify_pin(refused, &pin(PIN)).await,
        Err(Error::LimitExceeded { .. })
    ));
    // A day later (the 24 hours are over, the 30 days are not), one round gives the share
    // back and then removes the payment.
    host.clock.advance(DAY);
    let work = round(&host.engine).await;
    assert_eq!((work.purged, work.errors), (1, 0), "{work:?}");
    assert!(matches!(host.engine.load(id).await, Err(Error::NotFound)));
    let payment = host
        .engine
        .initiate(order(4_990), &host.phone)
        .await
        .unwrap();
    let check = host.engine.verify_pin(payment, &pin(PIN)).await;
    assert!(matches!(check, Ok(PinCheck::Verified(_))), "{check:?}");
}

#[tokio::test]
async fn an_order_whose_payment_was_removed_comes_back_with_versions_it_never_had() {
    let host = Host::new().await;
    let key: IdempotencyKey = "order/2026-000042".parse().unwrap();
    let AnyPayment::Initiated(first) = host
        .engine
        .initiate_once(order(4990), &host.phone, &key)
        .await
        .unwrap()
    else {
        panic!("not a new payment");
    };
    let id = first.id();
    let record = Key::payment(&id);
    let mut old_versions = vec![host.store.get(&record).await.unwrap().unwrap().version()];
    host.engine.cancel(id, CancelReason::Buyer).await.unwrap();
    old_versions.push(host.store.get(&record).await.unwrap().unwrap().version());
    // Within its retention the key answers with the failed payment.
    host.clock.advance(29 * DAY);
    let again = host
        .engine
        .initiate_once(order(4990), &host.phone, &key)
        .await;
    assert!(matches!(again, Ok(AnyPayment::Failed(_))), "{again:?}");
    host.clock.advance(DAY);
    assert_eq!(counts(&round(&host.engine).await), (1, 1, 0, 0, 0));
    // Then the order comes back: the same id, a new payment, at a version the old one never had.
    let AnyPayment::Initiated(new) = host
        .engine
        .initiate_once(order(4990), &host.phone, &key)
        .await
        .unwrap()
    else {
        panic!("not a new payment");
    };
    assert_eq!(new.id(), id);
    assert_eq!(new.created_at(), after(T0, 30 * DAY));
    let entry = host.store.get(&record).await.unwrap().unwrap();
    assert!(
        !old_versions.contains(&entry.version()),
        "{:?} reused from {old_versions:?}",
        entry.version()
    );
    // A writer still holding the removed record's versions writes nothing.
    for stale in old_versions {
        let write = Write::new(b"stale".to_vec());
        let answer = host.store.put(&record, Some(stale), write).await;
        assert!(matches!(answer, Err(StoreError::Conflict)), "{answer:?}");
    }
    assert_eq!(host.store.get(&record).await.unwrap().unwrap(), entry);
    assert_eq!(host.kind(id).await, StateKind::Initiated);
}

/// A store whose removal loses its race: just before it, another writer writes the record
/// again (unchanged, due an hour later).
#[derive(Clone)]
struct RacedRemoval {
    inner: MemoryStore,
}

impl Store for RacedRemoval {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        self.inner.get(key).await
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: Write,
    ) -> Result<Version, StoreError> {
        self.inner.put(key, expected, write).await
    }

    forward_background_calls!(except remove);

    async fn put_together(
        &self,
        writes: Vec<KeyedWrite>,
    ) -> Option<Result<Vec<Version>, StoreError>> {
        self.inner.put_together(writes).await
    }

    async fn remove(&self, key: &Key, expected: Version) -> Option<Result<(), StoreError>> {
        let entry = self.inner.get(key).await.unwrap().unwrap();
        let racing = Write::new(entry.into_value()).due_at(after(T0, 31 * DAY));
        self.inner.put(key, Some(expected), racing).await.unwrap();
        self.inner.remove(key, expected).await
    }
}

#[tokio::test]
async fn a_write_racing_the_removal_wins_and_the_record_stays() {
    let host = Host::new().await;
    let id = host.initiate().await.id();
    host.engine.cancel(id, CancelReason::Buyer).await.unwrap();
    let engine = host.engine_over(RacedRemoval {
        inner: host.store.clone(),
    });
    host.clock.advance(30 * DAY);
    // Refused at the version read: counted finished (the racing write set its own due
    // time), not removed.
    assert_eq!(counts(&round(&engine).await), (1, 0, 1, 0, 0));
    assert_eq!(host.kind(id).await, StateKind::Failed);
    assert_eq!(index(&host), [(key_of(id), after(T0, 31 * DAY))]);
}

/// A store without removal: it keeps every record.
#[derive(Clone)]
struct Keeping {
    inner: MemoryStore,
}

impl Store for Keeping {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        self.inner.get(key).await
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: Write,
    ) -> Result<Version, StoreError> {
        self.inner.put(key, expected, write).await
    }

    forward_background_calls!(except remove);
}

#[tokio::test]
async fn a_store_that_keeps_every_record_has_its_due_time_cleared_once() {
    let host = Host::new().await;
    let engine = host.engine_over(Keeping {
        inner: host.store.clone(),
    });
    let id = engine
        .initiate(order(4990), &host.phone)
        .await
        .unwrap()
        .id();
    engine.cancel(id, CancelReason::Buyer).await.unwrap();
    let version = host
        .store
        .get(&Key::payment(&id))
        .await
        .unwrap()
        .unwrap()
        .version();
    host.clock.advance(30 * DAY);
    assert_eq!(counts(&round(&engine).await), (1, 0, 1, 0, 0));
    // Kept as it was, written once more with no due time: it left the index.
    assert_eq!(host.kind(id).await, StateKind::Failed);
    let entry = host.store.get(&Key::payment(&id)).await.unwrap().unwrap();
    assert_ne!(entry.version(), version);
    assert_eq!(index(&host), []);
    assert_eq!(counts(&round(&engine).await), (0, 0, 0, 0, 0));
}

#[tokio::test]
async fn an_ended_enrollment_is_removed_30_days_after_it_ended() {
    let host = Host::empty(Policy::default(), MemoryStore::new());
    let id = host
        .engine
        .start_enrollment(&host.phone)
        .await
        .unwrap()
        .id();
    host.clock.advance(minutes(60));
    assert_eq!(counts(&round(&host.engine).await), (1, 0, 1, 0, 0));
    let AnyEnrollment::Failed(failed) = host.engine.load_enrollment(id).await.unwrap() else {
        panic!("not failed");
    };
    let ended = failed.state().failed_at();
    host.clock.advance(30 * DAY - MILLI);
    assert_eq!(counts(&round(&host.engine).await), (0, 0, 0, 0, 0));
    assert_eq!(
        after(buyster::Clock::now(&host.clock), MILLI),
        after(ended, 30 * DAY)
    );
    host.clock.advance(MILLI);
    assert_eq!(counts(&round(&host.engine).await), (1, 1, 0, 0, 0));
    assert!(matches!(
        host.engine.load_enrollment(id).await,
        Err(Error::NotFound)
    ));
    assert!(
        host.store
            .keys()
            .iter()
            .all(|key| !key.as_str().starts_with("enrollment/"))
    );
}

#[tokio::test]
async fn records_that_ended_with_no_due_time_are_removed_once_made_due() {
    let host = Host::new().await;
    let old = host.initiate().await.id();
    host.engine.cancel(old, CancelReason::Buyer).await.unwrap();
    host.clock.advance(10 * DAY);
    let recent = host.initiate().await.id();
    host.engine
        .cancel(recent, CancelReason::Buyer)
        .await
        .unwrap();
    // As a release without retention wrote them: no due time.
    for id in [old, recent] {
        let key = Key::payment(&id);
        let entry = host.store.get(&key).await.unwrap().unwrap();
        let write = Write::new(entry.value().to_vec());
        host.store
            .put(&key, Some(entry.version()), write)
            .await
            .unwrap();
    }
    assert_eq!(index(&host), []);
    host.clock.advance(25 * DAY);
    assert_eq!(counts(&round(&host.engine).await), (0, 0, 0, 0, 0));
    // Made due at the epoch, as DEPLOYMENT.md's statement does.
    for id in [old, recent] {
        let key = Key::payment(&id);
        let entry = host.store.get(&key).await.unwrap().unwrap();
        let write = Write::new(entry.value().to_vec()).due_at(Timestamp::from_unix_millis(0));
        host.store
            .put(&key, Some(entry.version()), write)
            .await
            .unwrap();
    }
    // The one 35 days old is removed; the one 25 days old is due at its own end.
    assert_eq!(counts(&round(&host.engine).await), (2, 1, 1, 0, 0));
    assert!(matches!(host.engine.load(old).await, Err(Error::NotFound)));
    assert_eq!(index(&host), [(key_of(recent), after(T0, 40 * DAY))]);
}
