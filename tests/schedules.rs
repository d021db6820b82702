//! Schedule exploration of the two hardest races, confirm against confirm and confirm against
//! cancel, with shuttle's randomized scheduler over a store built on its primitives: 10,000
//! schedules each, every interleaving of store calls a possibility.
//!
//! A binary of its own, not a module of `tests/suite/`: shuttle installs a panic hook for the
//! whole process the first time it runs, and from then on every other test's failure would
//! start with shuttle's "Task failed, serializing schedule", misleading whoever reads it.

#[allow(dead_code, reason = "these checks use part of the suite's helpers")]
#[path = "suite/common.rs"]
mod common;

use std::collections::HashMap;
use std::sync::Arc;

use buyster::memory::{ManualClock, MemoryBank, MemorySms};
use buyster::{
    CancelReason, CodeCheck, Engine, Entry, Error, Key, Keys, OtpSent, PaymentId, PinCheck,
    SecretKey, StateKind, Store, StoreError, Version,
};
use common::*;
use shuttle::future::block_on;
use shuttle::sync::Mutex;
use shuttle::thread;

const SCHEDULES: usize = 10_000;

/// Runs `test` under `SCHEDULES` random schedules from a fixed seed (a failure prints the
/// schedule to replay), on stacks roomy enough for the engine's futures in debug builds.
fn explore(test: impl Fn() + Send + Sync + 'static) {
    let mut config = shuttle::Config::new();
    config.stack_size = 1 << 20;
    let scheduler =
        shuttle::scheduler::RandomScheduler::new_from_seed(0x0062_7573_7465_72ff, SCHEDULES);
    shuttle::Runner::new(scheduler, config).run(test);
}

/// A compare-and-swap map on shuttle's mutex, with a scheduling point before and after each
/// call, so that shuttle can interleave the engine's reads and writes every possible way.
#[derive(Clone, Default)]
struct ShuttleStore(Arc<Mutex<HashMap<Key, Entry>>>);

impl Store for ShuttleStore {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        thread::yield_now();
        let entry = self.0.lock().unwrap().get(key).cloned();
        thread::yield_now();
        Ok(entry)
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: buyster::Write,
    ) -> Result<Version, StoreError> {
        thread::yield_now();
        let outcome = {
            let mut map = self.0.lock().unwrap();
            let current = map.get(key).map(Entry::version);
            if current == expected {
                let next = Version::new(current.map_or(1, |v| v.number() + 1));
                map.insert(key.clone(), Entry::new(next, write.value));
                Ok(next)
            } else {
                Err(StoreError::Conflict)
            }
        };
        thread::yield_now();
        outcome
    }

    /// No due index and no outbox: the schedules explore the buyer's steps, which read
    /// neither; the background work that does is tested on the memory store.
    async fn due(&self, _: buyster::Timestamp, _: usize) -> Result<Vec<buyster::Due>, StoreError> {
        Ok(Vec::new())
    }

    async fn outbox(&self, _: usize) -> Result<Vec<buyster::Outboxed>, StoreError> {
        Ok(Vec::new())
    }

    async fn acknowledge(&self, _: &[u64]) -> Result<(), StoreError> {
        Ok(())
    }
}

type ShuttleEngine = Engine<ShuttleStore, MemorySms, MemoryBank, ManualClock>;

/// An engine with one payment waiting for its code.
fn payment_waiting_for_its_code() -> (Arc<ShuttleEngine>, MemorySms, MemoryBank, PaymentId) {
    let (sms, bank) = (MemorySms::new(), MemoryBank::new());
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(ShuttleStore::default())
        .sms(sms.clone())
        .bank(bank.clone())
        .clock(ManualClock::new(T0))
        .build()
        .unwrap();
    let id = block_on(async {
        let phone = PHONE.parse().unwrap();
        engine
            .enroll(&phone, &pin(PIN), IBAN.parse().unwrap())
            .await
            .unwrap();
        let payment = engine.initiate(order(4990), &phone).await.unwrap();
        let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await.unwrap()
        else {
            panic!("right PIN refused");
        };
        engine.send_code(verified).await.unwrap().id()
    });
    (Arc::new(engine), sms, bank, id)
}

fn confirm_in_thread(
    engine: &Arc<ShuttleEngine>,
    sms: &MemorySms,
    id: PaymentId,
) -> thread::JoinHandle<Result<CodeCheck, Error>> {
    let engine = Arc::clone(engine);
    let code = sms.last_code(&PHONE.parse().unwrap()).unwrap();
    thread::spawn(move || {
        block_on(async {
            let payment = engine.resume::<OtpSent>(id).await?;
            engine.confirm(payment, &code).await
        })
    })
}

#[test]
fn confirm_against_confirm() {
    explore(|| {
        let (engine, sms, bank, id) = payment_waiting_for_its_code();
        let first = confirm_in_thread(&engine, &sms, id);
        let second = confirm_in_thread(&engine, &sms, id);
        let answers = [first.join().unwrap(), second.join().unwrap()];
        let confirmed = answers
            .iter()
            .filter(|a| matches!(a, Ok(CodeCheck::Confirmed(_))))
            .count();
        assert_eq!(confirmed, 1, "{answers:?}");
        for answer in &answers {
            assert!(
                matches!(
                    answer,
                    Ok(CodeCheck::Confirmed(_)) | Err(Error::WrongState { .. })
                ),
                "{answer:?}"
            );
        }
        assert_eq!(bank.debits().len(), 1);
        assert_eq!(
            block_on(engine.load(id)).unwrap().kind(),
            StateKind::Confirmed
        );
    });
}

#[test]
fn confirm_against_cancel() {
    explore(|| {
        let (engine, sms, bank, id) = payment_waiting_for_its_code();
        let confirm = confirm_in_thread(&engine, &sms, id);
        let canceller = Arc::clone(&engine);
        let cancel = thread::spawn(move || block_on(canceller.cancel(id, CancelReason::Buyer)));
        let (confirmed, cancelled) = (confirm.join().unwrap(), cancel.join().unwrap());
        match block_on(engine.load(id)).unwrap().kind() {
            StateKind::Confirmed => {
                assert!(
                    matches!(confirmed, Ok(CodeCheck::Confirmed(_))),
                    "{confirmed:?}"
                );
                assert!(
                    matches!(
                        cancelled,
                        Err(Error::WrongState {
                            found: StateKind::Authorized | StateKind::Confirmed,
                            ..
                        })
                    ),
                    "{cancelled:?}"
                );
                assert_eq!(bank.debits().len(), 1);
            }
            StateKind::Failed => {
                assert!(cancelled.is_ok(), "{cancelled:?}");
                assert!(
                    matches!(confirmed, Err(Error::WrongState { .. })),
                    "{confirmed:?}"
                );
                assert!(bank.debits().is_empty());
            }
            other => panic!("ended {other}"),
        }
    });
}
