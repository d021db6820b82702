//! The deterministic twin of the timing check: for an unknown number and for an enrolled number
//! with a wrong PIN, `verify_pin` makes the same host calls in the same order, the same number
//! of HMAC evaluations over the same number of bytes, and gives the same answer.
#![cfg(feature = "testkit")]

use crate::common::*;
use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::testkit::{Call, CryptoWork, FaultPlan, FaultyStore};
use buyster::{AccountStatus, Engine, Keys, PhoneNumber, PinChange, PinCheck, SecretKey};

type Traced = Engine<FaultyStore<MemoryStore>, MemorySms, MemoryBank, ManualClock>;

fn engine(keys: Keys, store: &MemoryStore, plan: &FaultPlan, clock: &ManualClock) -> Traced {
    Engine::builder(keys)
        .store(FaultyStore::new(store.clone(), plan.clone()))
        .sms(MemorySms::new())
        .bank(MemoryBank::new())
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// What one PIN attempt shows: the answer, the host calls, the cryptographic work.
#[derive(Debug, PartialEq)]
struct Trace {
    answer: String,
    calls: Vec<Call>,
    work: CryptoWork,
}

async fn attempt(engine: &Traced, plan: &FaultPlan, phone: &PhoneNumber) -> Trace {
    attempt_with(engine, plan, phone, WRONG_PIN).await
}

async fn attempt_with(
    engine: &Traced,
    plan: &FaultPlan,
    phone: &PhoneNumber,
    digits: &str,
) -> Trace {
    let payment = engine.initiate(order(4990), phone).await.unwrap();
    let calls_before = plan.calls();
    let work_before = CryptoWork::on_this_thread();
    let answer = match engine.verify_pin(payment, &pin(digits)).await {
        Ok(PinCheck::Rejected { attempts_left, .. }) => format!("rejected, {attempts_left} left"),
        Ok(PinCheck::Verified(_)) => panic!("a wrong PIN verified"),
        Err(error) => error.to_string(),
    };
    let work = CryptoWork::on_this_thread().since(work_before);
    let calls = plan
        .log()
        .into_iter()
        .skip(calls_before)
        .map(|(call, _)| call)
        .collect();
    Trace {
        answer,
        calls,
        work,
    }
}

/// Five attempts (two rejections, the lock, two refusals while locked) at an enrolled number
/// funded by `funding` and at an unknown number, under `keys`.
async fn compare(keys: impl Fn() -> Keys, funding: &str) {
    let (store, plan, clock) = (MemoryStore::new(), FaultPlan::none(), ManualClock::new(T0));
    let known: PhoneNumber = PHONE.parse().unwrap();
    let unknown: PhoneNumber = "+33698765432".parse().unwrap();
    let enrolling = engine(keys(), &store, &plan, &clock);
    enrolling
        .enroll(&known, &pin(PIN), funding.parse().unwrap())
        .await
        .unwrap();
    let engine = engine(keys(), &store, &plan, &clock);
    for round in 0..5 {
        let a = attempt(&engine, &plan, &known).await;
        let b = attempt(&engine, &plan, &unknown).await;
        assert_eq!(a, b, "attempt {round} with {funding}");
        assert!(a.work.hmacs > 0);
    }
}

fn first_key() -> Keys {
    Keys::new(1, SecretKey::from_bytes(MASTER))
}

#[tokio::test]
async fn an_unknown_number_and_a_wrong_pin_look_the_same() {
    compare(first_key, IBAN).await;
}

#[tokio::test]
async fn whatever_funds_the_account() {
    compare(first_key, "NO93 8601 1117 947").await;
    compare(first_key, &format!("token:{}", "t".repeat(128))).await;
}

#[tokio::test]
async fn after_a_key_rotation_too() {
    let (store, plan, clock) = (MemoryStore::new(), FaultPlan::none(), ManualClock::new(T0));
    let known: PhoneNumber = PHONE.parse().unwrap();
    let unknown: PhoneNumber = "+33698765432".parse().unwrap();
    engine(first_key(), &store, &plan, &clock)
        .enroll(&known, &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    let rotated = first_key()
        .rotate(2, SecretKey::from_bytes([0x11; 32]))
        .unwrap();
    let engine = engine(rotated, &store, &plan, &clock);
    for round in 0..4 {
        let a = attempt(&engine, &plan, &known).await;
        let b = attempt(&engine, &plan, &unknown).await;
        assert_eq!(a, b, "attempt {round}");
    }
}

#[tokio::test]
async fn the_trace_is_what_the_docs_say() {
    let (store, plan, clock) = (MemoryStore::new(), FaultPlan::none(), ManualClock::new(T0));
    let engine = engine(first_key(), &store, &plan, &clock);
    let trace = attempt(&engine, &plan, &PHONE.parse().unwrap()).await;
    assert_eq!(
        trace.calls,
        [Call::StoreGet, Call::StoreGet, Call::StorePut]
    );
    // Account index, account record (a decoy here), PIN hash, guard record sealed.
    assert_eq!((trace.work.hmacs, trace.work.random_draws), (4, 0));
    assert_eq!(trace.answer, "rejected, 2 left");
}

/// The trace of a PIN change whose old PIN is `digits`.
async fn change(engine: &Traced, plan: &FaultPlan, phone: &PhoneNumber, digits: &str) -> Trace {
    let calls_before = plan.calls();
    let work_before = CryptoWork::on_this_thread();
    let answer = match engine.change_pin(phone, &pin(digits), &pin("402517")).await {
        Ok(PinChange::Rejected { attempts_left, .. }) => format!("rejected, {attempts_left} left"),
        Ok(PinChange::Changed) => panic!("a PIN changed"),
        Err(error) => error.to_string(),
    };
    Trace {
        answer,
        calls: plan
            .log()
            .into_iter()
            .skip(calls_before)
            .map(|(call, _)| call)
            .collect(),
        work: CryptoWork::on_this_thread().since(work_before),
    }
}

#[tokio::test]
async fn a_suspended_or_closed_account_looks_like_an_unknown_number_even_with_its_pin() {
    for status in [AccountStatus::Suspended, AccountStatus::Closed] {
        let (store, plan, clock) = (MemoryStore::new(), FaultPlan::none(), ManualClock::new(T0));
        let known: PhoneNumber = PHONE.parse().unwrap();
        let unknown: PhoneNumber = "+33698765432".parse().unwrap();
        let engine = engine(first_key(), &store, &plan, &clock);
        engine
            .enroll(&known, &pin(PIN), IBAN.parse().unwrap())
            .await
            .unwrap();
        engine
            .back_office()
            .set_status(&known, status)
            .await
            .unwrap();
        for (round, digits) in [PIN, WRONG_PIN, PIN, PIN, WRONG_PIN].iter().enumerate() {
            let a = attempt_with(&engine, &plan, &known, digits).await;
            let b = attempt_with(&engine, &plan, &unknown, WRONG_PIN).await;
            assert_eq!(a, b, "{status}, attempt {round}");
        }
    }
}

#[tokio::test]
async fn a_pin_change_looks_the_same_for_every_number_without_an_active_account() {
    let (store, plan, clock) = (MemoryStore::new(), FaultPlan::none(), ManualClock::new(T0));
    let numbers: Vec<PhoneNumber> = ["+33612345678", "+33611223344", "+33698765432"]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    let engine = engine(first_key(), &store, &plan, &clock);
    for phone in &numbers[..2] {
        engine
            .enroll(phone, &pin(PIN), IBAN.parse().unwrap())
            .await
            .unwrap();
    }
    engine
        .back_office()
        .set_status(&numbers[1], AccountStatus::Suspended)
        .await
        .unwrap();
    for round in 0..4 {
        // A wrong old PIN, a suspended account's right one, no account at all.
        let wrong = change(&engine, &plan, &numbers[0], WRONG_PIN).await;
        let suspended = change(&engine, &plan, &numbers[1], PIN).await;
        let unknown = change(&engine, &plan, &numbers[2], PIN).await;
        assert_eq!(wrong, suspended, "attempt {round}");
        assert_eq!(wrong, unknown, "attempt {round}");
    }
}
