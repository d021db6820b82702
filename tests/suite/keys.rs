//! Key rotation: what was made under a previous key keeps working, and is made again under the
//! current key at its next write.

use std::sync::{Arc, Mutex};

use crate::common::*;
use buyster::memory::{BankFault, ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::{
    Authorized, CodeCheck, Engine, Entry, Error, Key, Keys, OtpSent, PinCheck, Policy, SecretKey,
    StateKind, Store, StoreError, Version,
};

const NEXT: [u8; 32] = [0x33; 32];

/// An engine over `host`'s parts with the key ring 1 → 2.
fn rotated(host: &Host) -> TestEngine {
    let keys = Keys::new(1, SecretKey::from_bytes(MASTER))
        .rotate(2, SecretKey::from_bytes(NEXT))
        .unwrap();
    host.restarted(keys, Policy::default())
}

async fn account_bytes(host: &Host) -> Vec<u8> {
    let key = host
        .store
        .keys()
        .into_iter()
        .find(|k| k.as_str().starts_with("account/"))
        .unwrap();
    host.store.get(&key).await.unwrap().unwrap().value
}

#[tokio::test]
async fn a_payment_authorized_before_a_rotation_settles_after_it() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    host.bank.fail_next(BankFault::AppliedButUnavailable);
    assert!(host.engine.confirm(sent, &host.code()).await.is_err());

    let engine = rotated(&host);
    let authorized = engine.resume::<Authorized>(id).await.unwrap();
    let confirmed = engine.settle(authorized).await.unwrap();
    assert_eq!(confirmed.receipt().bank_reference(), "MB-000001");
    assert_eq!(host.bank.debits().len(), 1);

    // Re-sealed under key 2: an engine holding only key 2 reads it; one holding only key 1
    // does not.
    let only_next = Engine::builder(Keys::new(2, SecretKey::from_bytes(NEXT)))
        .store(host.store.clone())
        .sms(host.sms.clone())
        .bank(host.bank.clone())
        .build()
        .unwrap();
    assert!(only_next.load(id).await.is_ok());
    assert!(matches!(host.engine.load(id).await, Err(Error::Tampered)));
}

#[tokio::test]
async fn a_code_sent_before_a_rotation_is_checked_after_it() {
    let host = Host::new().await;
    let id = host.sent().await.id();
    let engine = rotated(&host);
    let payment = engine.resume::<OtpSent>(id).await.unwrap();
    let answer = engine.confirm(payment, &host.code()).await.unwrap();
    assert!(matches!(answer, CodeCheck::Confirmed(_)));
}

#[tokio::test]
async fn a_pin_hash_is_made_again_under_the_current_key_at_the_next_right_pin() {
    let host = Host::new().await;
    let before = account_bytes(&host).await;
    // Header: format, kind, record key id; then status, PIN key id.
    assert_eq!((before[2], before[4]), (1, 1));

    let engine = rotated(&host);
    let payment = engine.initiate(order(4990), &host.phone).await.unwrap();
    let answer = engine.verify_pin(payment, &pin(WRONG_PIN)).await.unwrap();
    assert!(
        matches!(
            answer,
            PinCheck::Rejected {
                attempts_left: 2,
                ..
            }
        ),
        "the old hash is checked"
    );
    assert_eq!(
        account_bytes(&host).await,
        before,
        "a wrong PIN re-makes nothing"
    );

    let payment = engine.initiate(order(4990), &host.phone).await.unwrap();
    assert!(matches!(
        engine.verify_pin(payment, &pin(PIN)).await.unwrap(),
        PinCheck::Verified(_)
    ));
    let after = account_bytes(&host).await;
    assert_eq!((after[2], after[4]), (2, 2));
    assert_ne!(after[5..21], before[5..21], "a fresh salt");

    let payment = engine.initiate(order(4990), &host.phone).await.unwrap();
    assert!(matches!(
        engine.verify_pin(payment, &pin(PIN)).await.unwrap(),
        PinCheck::Verified(_)
    ));
}

/// A record to write, under its key.
type Write = (Key, Vec<u8>);

/// A store that, at its first read of an account, first writes `pending` (a guard record):
/// as if a parallel wrong PIN had locked the number between a PIN check and its write.
#[derive(Clone)]
struct LocksDuringTheCheck {
    inner: MemoryStore,
    pending: Arc<Mutex<Option<Write>>>,
}

impl Store for LocksDuringTheCheck {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        if key.as_str().starts_with("account/") {
            let pending = self.pending.lock().unwrap().take();
            if let Some((guard, value)) = pending {
                let version = self.inner.get(&guard).await?.map(|e| e.version);
                self.inner.put(&guard, version, value.into()).await?;
            }
        }
        self.inner.get(key).await
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: buyster::Write,
    ) -> Result<Version, StoreError> {
        self.inner.put(key, expected, write).await
    }
    async fn due(
        &self,
        until: buyster::Timestamp,
        limit: usize,
    ) -> Result<Vec<buyster::Due>, buyster::StoreError> {
        buyster::Store::due(&self.inner, until, limit).await
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<buyster::Outboxed>, buyster::StoreError> {
        buyster::Store::outbox(&self.inner, limit).await
    }

    async fn acknowledge(&self, seqs: &[u64]) -> Result<(), buyster::StoreError> {
        buyster::Store::acknowledge(&self.inner, seqs).await
    }
}

#[tokio::test]
async fn a_right_pin_that_loses_the_race_to_a_lock_re_makes_nothing() {
    let host = Host::new().await;
    // A locked guard, kept aside; then the number unlocked.
    for _ in 0..3 {
        let payment = host
            .engine
            .initiate(order(4990), &host.phone)
            .await
            .unwrap();
        let _ = host.engine.verify_pin(payment, &pin(WRONG_PIN)).await;
    }
    let guard = host
        .store
        .keys()
        .into_iter()
        .find(|k| k.as_str().starts_with("guard/"))
        .unwrap();
    let locked = host.store.get(&guard).await.unwrap().unwrap().value;
    host.engine.back_office().unlock(&host.phone).await.unwrap();
    let before = account_bytes(&host).await;

    let store = LocksDuringTheCheck {
        inner: host.store.clone(),
        pending: Arc::new(Mutex::new(Some((guard, locked)))),
    };
    let keys = Keys::new(1, SecretKey::from_bytes(MASTER))
        .rotate(2, SecretKey::from_bytes(NEXT))
        .unwrap();
    let engine: Engine<LocksDuringTheCheck, MemorySms, MemoryBank, ManualClock> =
        Engine::builder(keys)
            .store(store)
            .sms(host.sms.clone())
            .bank(host.bank.clone())
            .clock(host.clock.clone())
            .build()
            .unwrap();
    let payment = engine.initiate(order(4990), &host.phone).await.unwrap();
    let id = payment.id();
    let until = Some(after(T0, minutes(15)));
    assert!(matches!(
        engine.verify_pin(payment, &pin(PIN)).await,
        Err(Error::Locked { until: u }) if u == until
    ));
    // The PIN was not accepted: its hash is not made again, the payment has not moved.
    assert_eq!(account_bytes(&host).await, before);
    assert_eq!(engine.load(id).await.unwrap().kind(), StateKind::Initiated);
    assert!(host.sms.sent().is_empty());
}

#[tokio::test]
async fn a_ring_without_the_old_key_refuses_its_records() {
    let host = Host::new().await;
    let id = host.sent().await.id();
    let stranger = Engine::builder(Keys::new(2, SecretKey::from_bytes(NEXT)))
        .store(host.store.clone())
        .sms(host.sms.clone())
        .bank(host.bank.clone())
        .build()
        .unwrap();
    assert!(matches!(stranger.load(id).await, Err(Error::Tampered)));
}

#[tokio::test]
async fn a_changed_or_reset_pin_is_hashed_under_the_current_key() {
    let host = Host::new().await;
    let engine = rotated(&host);
    let answer = engine
        .change_pin(&host.phone, &pin(PIN), &pin("402517"))
        .await
        .unwrap();
    assert_eq!(answer, buyster::PinChange::Changed);
    let changed = account_bytes(&host).await;
    assert_eq!((changed[2], changed[4]), (2, 2));
    // An engine with only the old key can no longer read the account: it was re-sealed.
    let payment = host
        .engine
        .initiate(order(4990), &host.phone)
        .await
        .unwrap();
    assert!(matches!(
        host.engine.verify_pin(payment, &pin("402517")).await,
        Err(Error::Tampered)
    ));

    let host = Host::new().await;
    let engine = rotated(&host);
    engine
        .back_office()
        .reset_pin(&host.phone, &pin("402517"))
        .await
        .unwrap();
    let reset = account_bytes(&host).await;
    assert_eq!((reset[2], reset[4]), (2, 2));
    let payment = engine.initiate(order(4990), &host.phone).await.unwrap();
    assert!(matches!(
        engine.verify_pin(payment, &pin("402517")).await.unwrap(),
        PinCheck::Verified(_)
    ));
}

/// A rotation across two server instances, in two steps: first every instance accepts key 2
/// while sealing with key 1, then one by one they seal with key 2. At no time does an instance
/// meet a record it cannot read.
#[tokio::test]
async fn a_rotation_across_instances_in_two_steps_never_meets_a_record_it_cannot_read() {
    let host = Host::new().await;
    let step_one = || {
        Keys::new(1, SecretKey::from_bytes(MASTER))
            .accept(2, SecretKey::from_bytes(NEXT))
            .unwrap()
    };
    let (a, b) = (
        host.restarted(step_one(), Policy::default()),
        host.restarted(step_one(), Policy::default()),
    );
    assert_eq!(step_one().key_id(), 1);
    // Step two on instance a only: it seals with key 2; b, still on step one, reads it.
    let a = {
        drop(a);
        rotated(&host)
    };
    let payment = a.initiate(order(4990), &host.phone).await.unwrap();
    let id = payment.id();
    let PinCheck::Verified(verified) = b
        .verify_pin(b.resume(id).await.unwrap(), &pin(PIN))
        .await
        .unwrap()
    else {
        panic!("the right PIN was refused");
    };
    let sent = a.send_code(verified).await.unwrap();
    let CodeCheck::Confirmed(_) = b.confirm(sent, &host.code()).await.unwrap() else {
        panic!("the right code was refused");
    };
    // The index of accounts did not move: both found the same buyer.
    assert_eq!(host.bank.debits().len(), 1);
    // A ring that only accepts key 2 never seals with it.
    assert!(matches!(
        Keys::new(1, SecretKey::from_bytes(MASTER)).accept(1, SecretKey::from_bytes(NEXT)),
        Err(Error::KeyIdInUse { key_id: 1 })
    ));
}
