//! Schedule exploration of the hardest races, confirm against confirm and confirm against
//! cancel, with shuttle's randomized scheduler over a store built on its primitives: 10,000
//! schedules each, every interleaving of store calls a possibility. Confirm against cancel and
//! a right PIN against wrong ones run again over the store writing batches, where the cancel
//! writes the failed payment with its share given back, and the right PIN its guard with its
//! payment, in one call.
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
/// call, so that shuttle can interleave the engine's reads and writes every possible way;
/// writing batches (all or none, under the one lock) when `batches` says so.
#[derive(Clone, Default)]
struct ShuttleStore {
    map: Arc<Mutex<HashMap<Key, Entry>>>,
    batches: bool,
}

/// The version `key` gets in `map` if `expected` is its version now.
fn next_version(
    map: &HashMap<Key, Entry>,
    key: &Key,
    expected: Option<Version>,
) -> Option<Version> {
    let current = map.get(key).map(Entry::version);
    (current == expected).then(|| Version::new(current.map_or(1, |v| v.number() + 1)))
}

impl Store for ShuttleStore {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        thread::yield_now();
        let entry = self.map.lock().unwrap().get(key).cloned();
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
            let mut map = self.map.lock().unwrap();
            match next_version(&map, key, expected) {
                Some(next) => {
                    map.insert(key.clone(), Entry::new(next, write.value));
                    Ok(next)
                }
                None => Err(StoreError::Conflict),
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

    async fn put_together(
        &self,
        writes: Vec<buyster::KeyedWrite>,
    ) -> Option<Result<Vec<Version>, StoreError>> {
        if !self.batches {
            return None;
        }
        thread::yield_now();
        let outcome = {
            let mut map = self.map.lock().unwrap();
            let versions: Option<Vec<Version>> = writes
                .iter()
                .map(|w| next_version(&map, &w.key, w.expected))
                .collect();
            versions.ok_or(StoreError::Conflict).inspect(|versions| {
                for (w, next) in writes.into_iter().zip(versions) {
                    map.insert(w.key, Entry::new(*next, w.write.value));
                }
            })
        };
        thread::yield_now();
        Some(outcome)
    }
}

type ShuttleEngine = Engine<ShuttleStore, MemorySms, MemoryBank, ManualClock>;

/// An engine over a store that writes batches or not, its buyer enrolled.
fn engine(batches: bool) -> (ShuttleEngine, MemorySms, MemoryBank) {
    let (sms, bank) = (MemorySms::new(), MemoryBank::new());
    let store = ShuttleStore {
        batches,
        ..ShuttleStore::default()
    };
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(store)
        .sms(sms.clone())
        .bank(bank.clone())
        .clock(ManualClock::new(T0))
        .build()
        .unwrap();
    block_on(engine.enroll(&PHONE.parse().unwrap(), &pin(PIN), IBAN.parse().unwrap())).unwrap();
    (engine, sms, bank)
}

/// An engine with one payment waiting for its code.
fn payment_waiting_for_its_code() -> (Arc<ShuttleEngine>, MemorySms, MemoryBank, PaymentId) {
    payment_waiting_on(false)
}

/// An engine over a store that writes batches or not, with one payment waiting for its code.
fn payment_waiting_on(batches: bool) -> (Arc<ShuttleEngine>, MemorySms, MemoryBank, PaymentId) {
    let (engine, sms, bank) = engine(batches);
    let id = block_on(async {
        let phone = PHONE.parse().unwrap();
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
    explore(|| confirm_against_cancel_on(false));
}

#[test]
fn confirm_against_cancel_on_a_store_that_batches() {
    explore(|| confirm_against_cancel_on(true));
}

/// Whether right PINs for new payments of `amounts`, one after the other, all pass: what is
/// left of the EUR 1,500 a day.
fn fits(engine: &ShuttleEngine, amounts: &[u64]) -> bool {
    block_on(async {
        for &minor in amounts {
            let payment = engine
                .initiate(order(minor), &PHONE.parse().unwrap())
                .await
                .unwrap();
            if !matches!(
                engine.verify_pin(payment, &pin(PIN)).await,
                Ok(PinCheck::Verified(_))
            ) {
                return false;
            }
        }
        true
    })
}

/// Confirm against cancel over a store that writes batches or not: one way only, and a
/// failed payment's share given back.
fn confirm_against_cancel_on(batches: bool) {
    let (engine, sms, bank, id) = payment_waiting_on(batches);
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
    // Failed, it gave its EUR 49.90 back: EUR 1,500 are left; paid, EUR 1,450.10.
    let paid = 4990 * bank.debits().len() as u64;
    assert!(fits(&engine, &[100_000, 50_000 - paid]));
    assert!(!fits(&engine, &[1]));
}

#[test]
fn a_right_pin_against_wrong_pins_on_a_store_that_batches() {
    explore(|| {
        let (engine, _, _) = engine(true);
        let engine = Arc::new(engine);
        let phone: buyster::PhoneNumber = PHONE.parse().unwrap();
        // One wrong PIN first: two more lock the number.
        let first = block_on(engine.initiate(order(4990), &phone)).unwrap();
        let answer = block_on(engine.verify_pin(first, &pin(WRONG_PIN))).unwrap();
        assert!(matches!(
            answer,
            PinCheck::Rejected {
                attempts_left: 2,
                ..
            }
        ));
        let guesses: Vec<_> = [PIN, WRONG_PIN, WRONG_PIN]
            .into_iter()
            .map(|digits| {
                let engine = Arc::clone(&engine);
                let payment = block_on(engine.initiate(order(4990), &PHONE.parse().unwrap()));
                let payment = payment.unwrap();
                thread::spawn(move || {
                    let id = payment.id();
                    (id, block_on(engine.verify_pin(payment, &pin(digits))))
                })
            })
            .collect();
        let answers: Vec<_> = guesses.into_iter().map(|g| g.join().unwrap()).collect();
        let (right_id, right) = &answers[0];
        let mut rejected: Vec<u8> = answers[1..]
            .iter()
            .filter_map(|(_, a)| match a {
                Ok(PinCheck::Rejected { attempts_left, .. }) => Some(*attempts_left),
                _ => None,
            })
            .collect();
        rejected.sort_unstable();
        match right {
            // Answered before the lock: it reset the count, and the two wrong ones, before or
            // after it, got 1 and 2 or 2 and 1.
            Ok(PinCheck::Verified(_)) => {
                assert_eq!(rejected, [1, 2], "{answers:?}");
                assert_eq!(
                    block_on(engine.load(*right_id)).unwrap().kind(),
                    StateKind::PinVerified
                );
            }
            // The two wrong ones came first and locked the number: the right one is refused,
            // nothing of it written.
            Err(Error::Locked { .. }) => {
                assert_eq!(rejected, [1], "{answers:?}");
                assert_eq!(
                    block_on(engine.load(*right_id)).unwrap().kind(),
                    StateKind::Initiated
                );
            }
            other => panic!("{other:?}"),
        }
    });
}
