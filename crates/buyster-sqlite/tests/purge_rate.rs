//! How fast `recover_due` removes ended payments from an SQLite file: a figure, printed.
//!
//! `cargo test --release -p buyster-sqlite --test purge_rate -- --ignored --nocapture`

use std::sync::Arc;
use std::time::{Duration, Instant};

use buyster::memory::{ManualClock, MemoryBank, MemorySms};
use buyster::{
    Amount, CancelReason, Currency, Engine, Keys, Merchant, Order, PhoneNumber, SecretKey, Store,
    Timestamp,
};
use buyster_sqlite::SqliteStore;

const PAYMENTS: usize = 5_000;
const ROUND: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a figure: run it with --release"]
async fn failed_payments_are_removed_round_after_round() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("purge.db")).unwrap();
    let clock = ManualClock::new(Timestamp::from_unix_millis(1_795_786_860_000));
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes([7; 32])))
        .store(store.clone())
        .sms(MemorySms::new())
        .bank(MemoryBank::new())
        .clock(clock.clone())
        .build()
        .unwrap();
    let engine = Arc::new(engine);
    let phone: PhoneNumber = "+33612345678".parse().unwrap();
    for _ in 0..PAYMENTS / 100 {
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (engine, phone) = (Arc::clone(&engine), phone.clone());
                tokio::spawn(async move {
                    let merchant = Merchant::new("boutique", "Boutique").unwrap();
                    let amount = Amount::new(4990, Currency::EUR).unwrap();
                    let order = Order::new(merchant, amount, "CMD-1").unwrap();
                    let id = engine.initiate(order, &phone).await.unwrap().id();
                    engine.cancel(id, CancelReason::Buyer).await.unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }
    clock.advance(Duration::from_secs(30 * 86_400));
    let started = Instant::now();
    let (mut purged, mut rounds) = (0, 0);
    loop {
        let work = engine.recover_due(ROUND).await.unwrap();
        assert_eq!((work.purged, work.errors), (work.examined, 0), "{work:?}");
        purged += work.purged;
        rounds += 1;
        if !work.reached(ROUND) {
            break;
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{purged} failed payments removed by {rounds} rounds of recover_due({ROUND}) in \
         {elapsed:?}: {:.0} a second",
        purged as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(purged, PAYMENTS);
    let left = store
        .due(Timestamp::from_unix_millis(u64::MAX >> 1), 10)
        .await;
    assert!(left.unwrap().is_empty());
}
