//! The demo bank's refunds: idempotent on their key, within the debit, in its SQLite ledger.

use buyster::memory::{MemorySms, MemoryStore};
use buyster::{
    Amount, CodeCheck, Confirmed, Currency, Engine, Error, Keys, Merchant, Order, PhoneNumber,
    PinCheck, RefundReason, RefundStatus, SecretKey,
};

use super::server::{DemoBank, ServerClock, seed};

fn euros(minor: u64) -> Amount {
    Amount::new(minor, Currency::EUR).unwrap()
}

#[tokio::test]
async fn the_demo_bank_refunds_once_per_key_and_within_the_debit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.db");
    let clock = ServerClock::default();
    let sms = MemorySms::new();
    let engine = Engine::builder(Keys::new(1, SecretKey::generate()))
        .store(MemoryStore::new())
        .sms(sms.clone())
        .bank(DemoBank::open(&path, clock.clone()).unwrap())
        .clock(clock)
        .build()
        .unwrap();
    let phone: PhoneNumber = seed::BUYER_PHONE.parse().unwrap();
    let pin = seed::BUYER_PIN.parse().unwrap();
    engine
        .enroll(&phone, &pin, seed::BUYER_IBAN.parse().unwrap())
        .await
        .unwrap();
    let merchant = Merchant::new("boutique-demo", "Boutique Demo").unwrap();
    let order = Order::new(merchant, euros(4990), "CMD-1").unwrap();
    let payment = engine.initiate(order, &phone).await.unwrap();
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin).await.unwrap() else {
        panic!()
    };
    let sent = engine.send_code(verified).await.unwrap();
    let id = sent.id();
    let code = sms.last_code(&phone).unwrap();
    let CodeCheck::Confirmed(paid) = engine.confirm(sent, &code).await.unwrap() else {
        panic!()
    };

    let key = "RMA-1".parse().unwrap();
    let stale = engine.resume::<Confirmed>(id).await.unwrap();
    let refunded = engine
        .refund(paid, euros(2000), RefundReason::Returned, &key)
        .await
        .unwrap();
    let reference = refunded.refunds()[0].bank_reference().unwrap().to_owned();
    assert!(reference.starts_with("DEMO-R-"), "{reference}");
    let again = engine
        .refund(stale, euros(2000), RefundReason::Returned, &key)
        .await
        .unwrap();
    assert_eq!(again.refunds()[0].status(), RefundStatus::Refunded);
    let beyond = engine
        .refund(
            again,
            euros(2991),
            RefundReason::Returned,
            &"RMA-2".parse().unwrap(),
        )
        .await;
    assert!(matches!(beyond, Err(Error::RefundTooLarge { .. })));

    let ledger = rusqlite::Connection::open(&path).unwrap();
    let rows: Vec<(String, u64, String)> = ledger
        .prepare("SELECT idempotency_key, amount_minor, outcome FROM bank_refunds")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [(format!("{id}/refund/RMA-1"), 2000, "refunded".to_owned())]
    );
}
