//! A hostile database: edited, truncated, moved and foreign records are refused, never trusted.

use crate::common::*;
use buyster::memory::MemoryStore;
use buyster::{Error, Key, PinCheck, Policy, Store};

async fn edit(store: &MemoryStore, key: &Key, change: impl FnOnce(&mut Vec<u8>)) {
    let entry = store.get(key).await.unwrap().unwrap();
    let mut bytes = entry.value().to_vec();
    change(&mut bytes);
    store
        .put(key, Some(entry.version()), bytes.into())
        .await
        .unwrap();
}

fn key_of_kind(store: &MemoryStore, kind: &str) -> Key {
    store
        .keys()
        .into_iter()
        .find(|k| k.as_str().starts_with(kind))
        .unwrap()
}

#[tokio::test]
async fn an_edited_payment_is_refused() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    let key = Key::payment(&id);
    // Raise the attempts counter (or any byte) in place.
    edit(&host.store, &key, |bytes| {
        let at = bytes.len() - 40;
        bytes[at] ^= 0x01;
    })
    .await;
    assert!(matches!(host.engine.load(id).await, Err(Error::Tampered)));
    assert!(matches!(
        host.engine.resume::<buyster::OtpSent>(id).await,
        Err(Error::Tampered)
    ));
    // The value in hand is stale; the engine re-reads on the lost race and refuses.
    let error = host
        .engine
        .confirm(sent, &other_code(&host.code()))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Tampered));
    assert!(host.bank.debits().is_empty());
}

#[tokio::test]
async fn a_truncated_or_extended_payment_is_refused() {
    let host = Host::new().await;
    let id = host.initiate().await.id();
    let key = Key::payment(&id);
    edit(&host.store, &key, |bytes| bytes.push(0)).await;
    assert!(matches!(host.engine.load(id).await, Err(Error::Tampered)));
    edit(&host.store, &key, |bytes| bytes.truncate(10)).await;
    assert!(matches!(host.engine.load(id).await, Err(Error::Tampered)));
    edit(&host.store, &key, Vec::clear).await;
    assert!(matches!(host.engine.load(id).await, Err(Error::Tampered)));
}

#[tokio::test]
async fn a_record_moved_to_another_payment_is_refused() {
    let host = Host::new().await;
    let cheap = host.engine.initiate(order(1), &host.phone).await.unwrap();
    let dear = host
        .engine
        .initiate(order(99_999), &host.phone)
        .await
        .unwrap();
    let cheap_bytes = host
        .store
        .get(&Key::payment(&cheap.id()))
        .await
        .unwrap()
        .unwrap();
    let dear_key = Key::payment(&dear.id());
    let dear_version = host.store.get(&dear_key).await.unwrap().unwrap().version();
    host.store
        .put(
            &dear_key,
            Some(dear_version),
            cheap_bytes.into_value().into(),
        )
        .await
        .unwrap();
    assert!(matches!(
        host.engine.load(dear.id()).await,
        Err(Error::Tampered)
    ));
    assert!(matches!(
        host.engine.verify_pin(dear, &pin(PIN)).await,
        Err(Error::Tampered)
    ));
}

#[tokio::test]
async fn an_edited_account_is_refused() {
    let host = Host::new().await;
    let key = key_of_kind(&host.store, "account/");
    edit(&host.store, &key, |bytes| bytes[10] ^= 0x80).await;
    let payment = host.initiate().await;
    assert!(matches!(
        host.engine.verify_pin(payment, &pin(PIN)).await,
        Err(Error::Tampered)
    ));
}

#[tokio::test]
async fn an_account_moved_to_another_number_is_refused() {
    let host = Host::new().await;
    let attacker = "+33781000001".parse().unwrap();
    host.engine
        .enroll(&attacker, &pin("135790"), IBAN.parse().unwrap())
        .await
        .unwrap();
    let keys: Vec<Key> = host
        .store
        .keys()
        .into_iter()
        .filter(|k| k.as_str().starts_with("account/"))
        .collect();
    // Copy one account over the other: whichever is the victim now holds a foreign record.
    let source = host.store.get(&keys[0]).await.unwrap().unwrap();
    let target = host.store.get(&keys[1]).await.unwrap().unwrap();
    host.store
        .put(&keys[1], Some(target.version()), source.into_value().into())
        .await
        .unwrap();
    let mut tampered = 0;
    for (phone, digits) in [(host.phone.clone(), PIN), (attacker, "135790")] {
        let payment = host.engine.initiate(order(4990), &phone).await.unwrap();
        match host.engine.verify_pin(payment, &pin(digits)).await {
            Err(Error::Tampered) => tampered += 1,
            Ok(PinCheck::Verified(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(tampered, 1);
}

#[tokio::test]
async fn an_edited_guard_is_refused() {
    let host = Host::new().await;
    let payment = host.initiate().await;
    host.engine
        .verify_pin(payment, &pin(WRONG_PIN))
        .await
        .unwrap();
    let key = key_of_kind(&host.store, "guard/");
    // Try to reset the failure counter.
    edit(&host.store, &key, |bytes| bytes[3] = 0).await;
    let payment = host.initiate().await;
    assert!(matches!(
        host.engine.verify_pin(payment, &pin(WRONG_PIN)).await,
        Err(Error::Tampered)
    ));
}

#[tokio::test]
async fn records_made_under_another_key_are_refused() {
    let host = Host::new().await;
    let id = host.sent().await.id();
    let other = Host::empty_with_key(Policy::default(), host.store.clone(), [0x77; 32]);
    assert!(matches!(other.engine.load(id).await, Err(Error::Tampered)));
    // Same master, different key id: also refused.
    let renamed = buyster::Engine::builder(buyster::Keys::new(
        2,
        buyster::SecretKey::from_bytes(MASTER),
    ))
    .store(host.store.clone())
    .sms(host.sms.clone())
    .bank(host.bank.clone())
    .build()
    .unwrap();
    assert!(matches!(renamed.load(id).await, Err(Error::Tampered)));
    assert!(host.engine.load(id).await.is_ok());
}

#[tokio::test]
async fn an_enrollment_record_moved_to_another_enrollment_is_refused() {
    let host = Host::new().await;
    let other = "+33698765432".parse().unwrap();
    let first = host.engine.start_enrollment(&other).await.unwrap().id();
    let second = host.engine.start_enrollment(&other).await.unwrap().id();
    let (from, to) = (Key::enrollment(&first), Key::enrollment(&second));
    let moved = host.store.get(&from).await.unwrap().unwrap().value;
    edit(&host.store, &to, |bytes| *bytes = moved).await;
    assert!(matches!(
        host.engine.load_enrollment(second).await,
        Err(Error::Tampered)
    ));
    assert!(matches!(
        host.engine.resume_enrollment(second).await,
        Err(Error::Tampered)
    ));
    assert!(host.engine.load_enrollment(first).await.is_ok());
}

#[tokio::test]
async fn an_edited_guard_does_not_keep_a_payment_from_failing() {
    let host = Host::new().await;
    let verified = host.verified().await;
    let id = verified.id();
    let key = key_of_kind(&host.store, "guard/");
    edit(&host.store, &key, |bytes| bytes[3] ^= 1).await;
    // The guard cannot be read: the cancel is written alone, the payment due again for the
    // share it could not give back.
    let cancelled = host
        .engine
        .cancel(id, buyster::CancelReason::Buyer)
        .await
        .unwrap();
    assert_eq!(cancelled.id(), id);
    assert_eq!(host.kind(id).await, buyster::StateKind::Failed);
    let due: Vec<Key> = host.store.due_index().into_iter().map(|d| d.key).collect();
    assert_eq!(due, [Key::payment(&id)]);
}
