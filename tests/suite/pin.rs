//! PIN checks: rejection, lockout and its end, per-number counting, unknown numbers, enrollment.

use std::sync::{Arc, Mutex};

use crate::common::*;
use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::{
    DigitsError, Engine, Entry, Error, Key, Keys, NextLock, PinCheck, Policy, SecretKey, StateKind,
    Store, StoreError, Version,
};

async fn wrong(host: &Host) -> Result<u8, Error> {
    let payment = host.initiate().await;
    match host.engine.verify_pin(payment, &pin(WRONG_PIN)).await? {
        PinCheck::Rejected {
            attempts_left,
            payment,
            ..
        } => {
            assert_eq!(payment.kind(), StateKind::Initiated);
            Ok(attempts_left)
        }
        PinCheck::Verified(_) => panic!("wrong PIN accepted"),
    }
}

async fn right(host: &Host) -> Result<StateKind, Error> {
    let payment = host.initiate().await;
    match host.engine.verify_pin(payment, &pin(PIN)).await? {
        PinCheck::Verified(p) => Ok(p.kind()),
        PinCheck::Rejected { .. } => panic!("right PIN refused"),
    }
}

#[tokio::test]
async fn a_wrong_pin_is_an_answer_and_leaves_the_payment_initiated() {
    let host = Host::new().await;
    let payment = host.initiate().await;
    let id = payment.id();
    let PinCheck::Rejected {
        payment,
        attempts_left,
        next_lock,
    } = host
        .engine
        .verify_pin(payment, &pin(WRONG_PIN))
        .await
        .unwrap()
    else {
        panic!("wrong PIN accepted");
    };
    assert_eq!(attempts_left, 2);
    assert_eq!(next_lock, NextLock::Temporary(minutes(15)));
    assert_eq!(host.kind(id).await, StateKind::Initiated);
    // The same payment takes the right PIN next.
    let answer = host.engine.verify_pin(payment, &pin(PIN)).await.unwrap();
    assert!(matches!(answer, PinCheck::Verified(_)));
    assert_eq!(host.kind(id).await, StateKind::PinVerified);
    assert!(host.sms.sent().is_empty());
}

#[tokio::test]
async fn the_third_wrong_pin_locks_for_fifteen_minutes() {
    let host = Host::new().await;
    assert_eq!(wrong(&host).await.unwrap(), 2);
    assert_eq!(wrong(&host).await.unwrap(), 1);
    let until = after(T0, minutes(15));
    assert!(matches!(wrong(&host).await, Err(Error::Locked { until: Some(u) }) if u == until));

    // Locked: even the right PIN is refused, without being checked, and nothing is sent.
    let payment = host.initiate().await;
    let id = payment.id();
    let refused = host
        .engine
        .verify_pin(payment, &pin(PIN))
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Locked { until: Some(u) } if u == until));
    assert!(
        refused.to_string().contains("2026-11-27T13:56:00.000Z"),
        "{refused}"
    );
    assert_eq!(host.kind(id).await, StateKind::Initiated);
    host.clock.advance(minutes(15) - seconds(1));
    assert!(matches!(right(&host).await, Err(Error::Locked { .. })));

    // The lock ends on time, and the count starts again.
    host.clock.advance(seconds(1));
    assert_eq!(right(&host).await.unwrap(), StateKind::PinVerified);
    assert_eq!(wrong(&host).await.unwrap(), 2);
    assert!(host.sms.sent().is_empty());
}

#[tokio::test]
async fn failures_count_per_number_across_payments() {
    let host = Host::new().await;
    let (a, b, c) = (
        host.initiate().await,
        host.initiate().await,
        host.initiate().await,
    );
    let PinCheck::Rejected {
        attempts_left: 2, ..
    } = host.engine.verify_pin(a, &pin(WRONG_PIN)).await.unwrap()
    else {
        panic!();
    };
    let PinCheck::Rejected {
        attempts_left: 1, ..
    } = host.engine.verify_pin(b, &pin(WRONG_PIN)).await.unwrap()
    else {
        panic!();
    };
    assert!(matches!(
        host.engine.verify_pin(c, &pin(WRONG_PIN)).await,
        Err(Error::Locked { .. })
    ));
}

#[tokio::test]
async fn a_right_pin_resets_the_count() {
    let host = Host::new().await;
    assert_eq!(wrong(&host).await.unwrap(), 2);
    assert_eq!(wrong(&host).await.unwrap(), 1);
    assert_eq!(right(&host).await.unwrap(), StateKind::PinVerified);
    assert_eq!(wrong(&host).await.unwrap(), 2);
}

#[tokio::test]
async fn locks_double_and_the_fifth_is_permanent() {
    let host = Host::new().await;
    let mut lengths = Vec::new();
    loop {
        match wrong(&host).await {
            Ok(_) => {}
            Err(Error::Locked { until: Some(until) }) => {
                lengths.push(until.saturating_duration_since(buyster::Clock::now(&host.clock)));
                host.clock.set(until);
            }
            Err(Error::Locked { until: None }) => break,
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(
        lengths,
        [minutes(15), minutes(30), minutes(60), minutes(120)]
    );
    host.clock.advance(minutes(60 * 24 * 365));
    assert!(matches!(
        right(&host).await,
        Err(Error::Locked { until: None })
    ));
}

#[tokio::test]
async fn the_policy_sets_the_limit() {
    let policy = Policy {
        max_pin_failures: 5,
        ..Policy::default()
    };
    let host = Host::with_policy(policy).await;
    for left in (1..=4).rev() {
        assert_eq!(wrong(&host).await.unwrap(), left);
    }
    assert!(matches!(wrong(&host).await, Err(Error::Locked { .. })));
}

#[tokio::test]
async fn an_unknown_number_is_answered_like_a_wrong_pin() {
    let host = Host::new().await;
    let unknown = "+33698765432".parse().unwrap();
    let mut answers = Vec::new();
    for _ in 0..3 {
        let payment = host.engine.initiate(order(4990), &unknown).await.unwrap();
        answers.push(match host.engine.verify_pin(payment, &pin(PIN)).await {
            Ok(PinCheck::Rejected { attempts_left, .. }) => Ok(attempts_left),
            Ok(PinCheck::Verified(_)) => panic!("no account, yet verified"),
            Err(error) => Err(error.to_string()),
        });
    }
    let mut known = Vec::new();
    for _ in 0..3 {
        known.push(wrong(&host).await.map_err(|e| e.to_string()));
    }
    assert_eq!(answers, known);
    assert_eq!(
        answers[2],
        Err("too many wrong PINs: locked until 2026-11-27T13:56:00.000Z".into())
    );
}

/// A store that records the calls it receives, by kind of key.
#[derive(Clone, Default)]
struct Recording {
    inner: MemoryStore,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Recording {
    fn log(&self, call: &str, key: &Key) {
        let kind = key.as_str().split('/').next().unwrap().to_owned();
        self.calls.lock().unwrap().push(format!("{call} {kind}"));
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.calls.lock().unwrap())
    }
}

impl Store for Recording {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        self.log("get", key);
        self.inner.get(key).await
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: buyster::Write,
    ) -> Result<Version, StoreError> {
        self.log(
            if expected.is_some() {
                "update"
            } else {
                "insert"
            },
            key,
        );
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
async fn an_unknown_number_costs_the_same_store_calls_as_a_wrong_pin() {
    let store = Recording::default();
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(store.clone())
        .sms(MemorySms::new())
        .bank(MemoryBank::new())
        .clock(ManualClock::new(T0))
        .build()
        .unwrap();
    let known = "+33612345678".parse().unwrap();
    let unknown = "+33698765432".parse().unwrap();
    engine
        .enroll(&known, &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    let mut traces = Vec::new();
    for phone in [&known, &unknown, &known, &unknown] {
        let payment = engine.initiate(order(4990), phone).await.unwrap();
        store.take();
        let answer = engine.verify_pin(payment, &pin(WRONG_PIN)).await.unwrap();
        assert!(matches!(answer, PinCheck::Rejected { .. }));
        traces.push(store.take());
    }
    assert_eq!(traces[0], ["get guard", "get account", "insert guard"]);
    assert_eq!(traces[0], traces[1]);
    assert_eq!(traces[2], ["get guard", "get account", "update guard"]);
    assert_eq!(traces[2], traces[3]);
}

#[tokio::test]
async fn an_expired_payment_fails_at_the_pin() {
    let host = Host::new().await;
    let payment = host.initiate().await;
    let id = payment.id();
    host.clock.advance(minutes(15));
    let error = host
        .engine
        .verify_pin(payment, &pin(PIN))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Expired));
    assert_eq!(host.failure(id).await, buyster::FailureReason::Expired);
}

#[tokio::test]
async fn a_second_tab_cannot_verify_a_payment_twice() {
    let host = Host::new().await;
    let id = host.initiate().await.id();
    let first = host.engine.resume::<buyster::Initiated>(id).await.unwrap();
    let second = host.engine.resume::<buyster::Initiated>(id).await.unwrap();
    assert!(matches!(
        host.engine.verify_pin(first, &pin(PIN)).await.unwrap(),
        PinCheck::Verified(_)
    ));
    let error = host.engine.verify_pin(second, &pin(PIN)).await.unwrap_err();
    assert!(matches!(
        error,
        Error::WrongState {
            expected: StateKind::Initiated,
            found: StateKind::PinVerified
        }
    ));
    assert_eq!(host.kind(id).await, StateKind::PinVerified);
}

#[tokio::test]
async fn enrollment_refuses_a_second_account_and_a_pin_outside_the_policy() {
    let host = Host::new().await;
    let again = host
        .engine
        .enroll(&host.phone, &pin("135790"), IBAN.parse().unwrap())
        .await;
    assert!(matches!(again, Err(Error::AlreadyEnrolled)));
    // The first PIN still works: nothing was overwritten.
    assert_eq!(right(&host).await.unwrap(), StateKind::PinVerified);

    let other = "+33781223344".parse().unwrap();
    let short = host
        .engine
        .enroll(&other, &pin("1357"), IBAN.parse().unwrap())
        .await;
    assert!(matches!(
        short,
        Err(Error::InvalidPin(DigitsError::Length { min: 6, max: 6 }))
    ));
    let payment = host.engine.initiate(order(4990), &other).await.unwrap();
    let answer = host.engine.verify_pin(payment, &pin("1357")).await.unwrap();
    assert!(
        matches!(
            answer,
            PinCheck::Rejected {
                attempts_left: 2,
                ..
            }
        ),
        "no account was made"
    );
}

/// A wrong PIN's answer: the attempts left and the lock they lead to.
async fn warned(host: &Host) -> Result<(u8, NextLock), Error> {
    let payment = host.initiate().await;
    match host.engine.verify_pin(payment, &pin(WRONG_PIN)).await? {
        PinCheck::Rejected {
            attempts_left,
            next_lock,
            ..
        } => Ok((attempts_left, next_lock)),
        PinCheck::Verified(_) => panic!("wrong PIN accepted"),
    }
}

#[tokio::test]
async fn wrong_pins_warn_before_the_lock_that_is_permanent() {
    let host = Host::new().await;
    let mut answers = Vec::new();
    loop {
        match warned(&host).await {
            Ok(answer) => answers.push(answer),
            Err(Error::Locked { until: Some(until) }) => host.clock.set(until),
            Err(Error::Locked { until: None }) => break,
            Err(other) => panic!("{other}"),
        }
    }
    let temporary = |m| NextLock::Temporary(minutes(m));
    assert_eq!(
        answers,
        [
            (2, temporary(15)),
            (1, temporary(15)),
            (2, temporary(30)),
            (1, temporary(30)),
            (2, temporary(60)),
            (1, temporary(60)),
            (2, temporary(120)),
            (1, temporary(120)),
            (2, NextLock::Permanent),
            (1, NextLock::Permanent),
        ]
    );
    // A PIN change's wrong old PIN warns alike.
    host.engine.back_office().unlock(&host.phone).await.unwrap();
    let policy = Policy {
        max_pin_locks: 1,
        ..Policy::default()
    };
    let keys = buyster::Keys::new(1, buyster::SecretKey::from_bytes(MASTER));
    let strict = host.restarted(keys, policy);
    let answer = strict
        .change_pin(&host.phone, &pin(WRONG_PIN), &pin("402517"))
        .await
        .unwrap();
    assert_eq!(
        answer,
        buyster::PinChange::Rejected {
            attempts_left: 2,
            next_lock: NextLock::Permanent
        }
    );
}

#[tokio::test]
async fn a_lock_reached_while_a_right_pins_batch_waits_refuses_the_right_pin() {
    let host = Host::new().await;
    assert_eq!(wrong(&host).await.unwrap(), 2);
    assert_eq!(wrong(&host).await.unwrap(), 1);
    // The right PIN's guard and payment, decided from what it read, wait to be written...
    let pausing = PausingStore::batching(host.store.clone());
    let (reached, resume) = pausing.arm(Point::BeforePut, "guard/");
    let engine = host.engine_over(pausing);
    let payment = host.initiate().await;
    let id = payment.id();
    let checking = tokio::spawn(async move { engine.verify_pin(payment, &pin(PIN)).await });
    reached.await.unwrap();
    // ...while a wrong PIN reaches the lock.
    assert!(matches!(wrong(&host).await, Err(Error::Locked { .. })));
    resume.send(()).unwrap();
    // The batch lost the race: the guard read again is locked, and the right PIN is refused,
    // nothing of it written.
    let answer = checking.await.unwrap();
    assert!(matches!(answer, Err(Error::Locked { .. })), "{answer:?}");
    assert_eq!(host.kind(id).await, StateKind::Initiated);
    assert!(matches!(right(&host).await, Err(Error::Locked { .. })));
}

#[tokio::test]
async fn a_right_pin_for_a_payment_that_moved_on_is_still_counted() {
    for batches in [true, false] {
        let host = Host::new().await;
        let engine = host.engine_over(Batching {
            inner: host.store.clone(),
            batches,
        });
        let id = host.initiate().await.id();
        let first = engine.resume::<buyster::Initiated>(id).await.unwrap();
        let second = engine.resume::<buyster::Initiated>(id).await.unwrap();
        assert!(matches!(
            engine.verify_pin(first, &pin(PIN)).await,
            Ok(PinCheck::Verified(_))
        ));
        assert_eq!(wrong(&host).await.unwrap(), 2, "batches: {batches}");
        // The second tab's right PIN finds the payment verified already: it is refused, after
        // its guess is counted (the wrong one before it forgotten).
        let error = engine.verify_pin(second, &pin(PIN)).await.unwrap_err();
        assert!(
            matches!(
                error,
                Error::WrongState {
                    expected: StateKind::Initiated,
                    found: StateKind::PinVerified
                }
            ),
            "batches: {batches}: {error}"
        );
        assert_eq!(wrong(&host).await.unwrap(), 2, "batches: {batches}");
    }
}
