//! Durable commits: how many writes (`put`, and `put_together` of a non-empty batch: each one
//! commit of the store) a whole checkout and an expired payment's life make, on a store that
//! writes batches and on one that does not.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::{
    CodeCheck, Engine, Entry, Key, KeyedWrite, Keys, PinCheck, Policy, SecretKey, Store,
    StoreError, Version, Write,
};

use crate::common::*;

/// A store over a [`MemoryStore`] that counts its commits, and writes batches or not.
#[derive(Clone)]
struct Counting {
    inner: MemoryStore,
    batches: bool,
    commits: Arc<AtomicUsize>,
}

impl Counting {
    fn new(batches: bool) -> Self {
        Self {
            inner: MemoryStore::new(),
            batches,
            commits: Arc::default(),
        }
    }

    /// The commits made since the last call.
    fn take(&self) -> usize {
        self.commits.swap(0, Ordering::SeqCst)
    }
}

impl Store for Counting {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        self.inner.get(key).await
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: Write,
    ) -> Result<Version, StoreError> {
        self.commits.fetch_add(1, Ordering::SeqCst);
        self.inner.put(key, expected, write).await
    }

    forward_background_calls!();

    async fn put_together(
        &self,
        writes: Vec<KeyedWrite>,
    ) -> Option<Result<Vec<Version>, StoreError>> {
        if !self.batches {
            return None;
        }
        if !writes.is_empty() {
            self.commits.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.put_together(writes).await
    }
}

/// An engine over `store`, one buyer enrolled, the commits of the enrollment forgotten.
async fn engine(
    store: &Counting,
    sms: &MemorySms,
    clock: &ManualClock,
) -> Engine<Counting, MemorySms, MemoryBank, ManualClock> {
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(store.clone())
        .sms(sms.clone())
        .bank(MemoryBank::new())
        .clock(clock.clone())
        .build()
        .unwrap();
    engine
        .enroll(&PHONE.parse().unwrap(), &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    store.take();
    engine
}

/// The commits of each step of a whole checkout: initiate, verify_pin, send_code, confirm
/// (with the debit's settle).
async fn checkout(batches: bool) -> [usize; 4] {
    let (store, sms, clock) = (
        Counting::new(batches),
        MemorySms::new(),
        ManualClock::new(T0),
    );
    let engine = engine(&store, &sms, &clock).await;
    let phone = PHONE.parse().unwrap();
    let payment = engine.initiate(order(4990), &phone).await.unwrap();
    let initiate = store.take();
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!("the right PIN was refused");
    };
    let verify = store.take();
    let sent = engine.send_code(verified).await.unwrap();
    let send = store.take();
    let code = sms.last_code(&phone).unwrap();
    let CodeCheck::Confirmed(_) = engine.confirm(sent, &code).await.unwrap() else {
        panic!("the right code was refused");
    };
    let confirm = store.take();
    let now = buyster::Clock::now(&clock);
    assert_eq!(work_due(&store.inner, now), [], "nothing left to do");
    [initiate, verify, send, confirm]
}

/// The commits of an abandoned payment's life: initiate, verify_pin, then `recover_due` rounds
/// (each after the work due came due) until the due index is empty; and how many rounds
/// wrote anything.
async fn expired(batches: bool) -> ([usize; 3], usize) {
    let (store, sms, clock) = (
        Counting::new(batches),
        MemorySms::new(),
        ManualClock::new(T0),
    );
    let engine = engine(&store, &sms, &clock).await;
    let policy = Policy::default();
    let payment = engine
        .initiate(order(4990), &PHONE.parse().unwrap())
        .await
        .unwrap();
    let initiate = store.take();
    let PinCheck::Verified(_) = engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!("the right PIN was refused");
    };
    let verify = store.take();
    clock.advance(policy.payment_ttl);
    let (mut recovery, mut rounds) = (0, 0);
    for _ in 0..5 {
        if work_due(&store.inner, buyster::Clock::now(&clock)).is_empty() {
            break;
        }
        engine.recover_due(100).await.unwrap();
        let commits = store.take();
        recovery += commits;
        rounds += usize::from(commits > 0);
        clock.advance(policy.recovery_delay);
    }
    let now = buyster::Clock::now(&clock);
    assert_eq!(work_due(&store.inner, now), [], "nothing left to do");
    ([initiate, verify, recovery], rounds)
}

#[tokio::test]
async fn a_checkout_and_an_expired_payment_count_their_commits() {
    // Per step: initiate, verify_pin, send_code, confirm (the code used up, then the debit's
    // outcome). One write at a time, verify_pin writes the guard (failures forgotten, the
    // amount reserved, the SMS counted), then the payment; a store that batches takes both in
    // one commit: 6 commits become 5.
    let one_by_one = checkout(false).await;
    let batched = checkout(true).await;
    assert_eq!(one_by_one, [1, 2, 1, 2], "one write at a time");
    assert_eq!(batched, [1, 1, 1, 2], "a store that batches");
    assert_eq!(
        (
            one_by_one.iter().sum::<usize>(),
            batched.iter().sum::<usize>()
        ),
        (6, 5)
    );
    // initiate, verify_pin, and the recovery. One write at a time: the payment failed, its
    // share given back, and, a recovery delay later (a second round), the failed record
    // written again to leave the due index. Batched: the failed payment and its share in one
    // commit, the record leaving the index with it: 6 commits become 3, 2 rounds 1.
    let one_by_one = expired(false).await;
    let batched = expired(true).await;
    assert_eq!(one_by_one, ([1, 2, 3], 2), "one write at a time");
    assert_eq!(batched, ([1, 1, 1], 1), "a store that batches");
    assert_eq!(
        (
            one_by_one.0.iter().sum::<usize>(),
            batched.0.iter().sum::<usize>()
        ),
        (6, 3)
    );
}
