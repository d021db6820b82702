//! Racing calls on a multi-threaded runtime, with the store yielding inside every call so that
//! reads and writes interleave: every guess is counted once, every payment debited at most once.

mod common;

use std::sync::Arc;

use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::{
    CodeCheck, Engine, Entry, Error, Key, Keys, OtpSent, PinCheck, Policy, SecretKey, StateKind,
    Store, StoreError, Version,
};
use common::*;

/// A memory store that yields to the scheduler before and after each call.
#[derive(Clone, Default)]
struct Yielding(MemoryStore);

impl Store for Yielding {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        tokio::task::yield_now().await;
        let entry = self.0.get(key).await;
        tokio::task::yield_now().await;
        entry
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        value: Vec<u8>,
    ) -> Result<Version, StoreError> {
        tokio::task::yield_now().await;
        let version = self.0.put(key, expected, value).await;
        tokio::task::yield_now().await;
        version
    }
}

type Racing = Engine<Yielding, MemorySms, MemoryBank, ManualClock>;

struct Race {
    engine: Arc<Racing>,
    sms: MemorySms,
    bank: MemoryBank,
    clock: ManualClock,
}

async fn race() -> Race {
    let (sms, bank, clock) = (MemorySms::new(), MemoryBank::new(), ManualClock::new(T0));
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(Yielding::default())
        .sms(sms.clone())
        .bank(bank.clone())
        .clock(clock.clone())
        .policy(Policy::default())
        .build()
        .unwrap();
    engine
        .enroll(&PHONE.parse().unwrap(), &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    Race {
        engine: Arc::new(engine),
        sms,
        bank,
        clock,
    }
}

async fn sent(race: &Race) -> buyster::PaymentId {
    let payment = race
        .engine
        .initiate(order(4990), &PHONE.parse().unwrap())
        .await
        .unwrap();
    let PinCheck::Verified(verified) = race.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
    else {
        panic!();
    };
    race.engine.send_code(verified).await.unwrap().id()
}

const TASKS: usize = 16;
const ROUNDS: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_right_codes_confirm_once_and_debit_once() {
    for _ in 0..ROUNDS {
        let race = race().await;
        let id = sent(&race).await;
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let engine = Arc::clone(&race.engine);
            let code = race.sms.last_code(&PHONE.parse().unwrap()).unwrap();
            tasks.push(tokio::spawn(async move {
                let payment = engine.resume::<OtpSent>(id).await?;
                engine.confirm(payment, &code).await
            }));
        }
        let mut confirmed = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(CodeCheck::Confirmed(_)) => confirmed += 1,
                Ok(CodeCheck::Rejected { .. }) => panic!("the right code was rejected"),
                Err(Error::WrongState { .. } | Error::Conflict) => {}
                Err(other) => panic!("{other}"),
            }
        }
        assert_eq!(confirmed, 1);
        assert_eq!(race.bank.debits().len(), 1);
        assert_eq!(
            race.engine.load(id).await.unwrap().kind(),
            StateKind::Confirmed
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_codes_get_at_most_the_allowed_answers() {
    for _ in 0..ROUNDS {
        let race = race().await;
        let id = sent(&race).await;
        let wrong = other_code(&race.sms.last_code(&PHONE.parse().unwrap()).unwrap());
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let engine = Arc::clone(&race.engine);
            let wrong: buyster::OtpCode = wrong.expose_secret().parse().unwrap();
            tasks.push(tokio::spawn(async move {
                let payment = engine.resume::<OtpSent>(id).await?;
                engine.confirm(payment, &wrong).await
            }));
        }
        let (mut rejected, mut exhausted) = (Vec::new(), 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(CodeCheck::Rejected { attempts_left, .. }) => rejected.push(attempts_left),
                Ok(CodeCheck::Confirmed(_)) => panic!("a wrong code confirmed"),
                Err(Error::TooManyAttempts) => exhausted += 1,
                Err(Error::WrongState { .. } | Error::Conflict) => {}
                Err(other) => panic!("{other}"),
            }
        }
        rejected.sort_unstable();
        assert_eq!(rejected, [1, 2], "each counter value answered once");
        assert_eq!(exhausted, 1);
        assert_eq!(
            race.engine.load(id).await.unwrap().kind(),
            StateKind::Failed
        );
        assert!(race.bank.debits().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_pins_across_payments_lock_at_the_limit() {
    for _ in 0..ROUNDS {
        let race = race().await;
        let mut payments = Vec::new();
        for _ in 0..TASKS {
            payments.push(
                race.engine
                    .initiate(order(4990), &PHONE.parse().unwrap())
                    .await
                    .unwrap(),
            );
        }
        let mut tasks = Vec::new();
        for payment in payments {
            let engine = Arc::clone(&race.engine);
            tasks.push(tokio::spawn(async move {
                engine.verify_pin(payment, &pin(WRONG_PIN)).await
            }));
        }
        let (mut rejected, mut locked) = (Vec::new(), 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(PinCheck::Rejected { attempts_left, .. }) => rejected.push(attempts_left),
                Ok(PinCheck::Verified(_)) => panic!("a wrong PIN verified"),
                Err(Error::Locked { .. }) => locked += 1,
                Err(Error::Conflict) => {}
                Err(other) => panic!("{other}"),
            }
        }
        rejected.sort_unstable();
        assert_eq!(
            rejected,
            [1, 2],
            "at most max_pin_failures - 1 rejections, each counted once"
        );
        assert!(locked >= 1);
        // The lock holds against the right PIN.
        let payment = race
            .engine
            .initiate(order(4990), &PHONE.parse().unwrap())
            .await
            .unwrap();
        assert!(matches!(
            race.engine.verify_pin(payment, &pin(PIN)).await,
            Err(Error::Locked { .. })
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_right_pin_among_parallel_guesses_gets_through_only_before_the_lock() {
    for _ in 0..ROUNDS {
        let race = race().await;
        let mut tasks = Vec::new();
        for i in 0..TASKS {
            let engine = Arc::clone(&race.engine);
            let payment = race
                .engine
                .initiate(order(4990), &PHONE.parse().unwrap())
                .await
                .unwrap();
            let digits = if i == TASKS / 2 { PIN } else { WRONG_PIN };
            tasks.push(tokio::spawn(async move {
                engine.verify_pin(payment, &pin(digits)).await
            }));
        }
        let (mut answered_wrong, mut verified) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(PinCheck::Rejected { .. }) => answered_wrong += 1,
                Ok(PinCheck::Verified(_)) => verified += 1,
                Err(Error::Locked { .. } | Error::Conflict) => {}
                Err(other) => panic!("{other}"),
            }
        }
        // Guesses are serialized on the guard. A right PIN is answered only before the lock,
        // and resets the count: at most 2 wrong answers before it and 2 after it; without it,
        // at most 2 in all.
        assert!(verified <= 1);
        assert!(
            answered_wrong <= 2 * (verified + 1),
            "{answered_wrong} wrong + {verified} right answered"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_resends_send_one_sms() {
    for round in 0..ROUNDS {
        let race = race().await;
        let id = sent(&race).await;
        // Half the rounds within the cooldown (no resend may go out), half after it (one).
        let after_cooldown = round % 2 == 1;
        if after_cooldown {
            race.clock.advance(seconds(30));
        }
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let engine = Arc::clone(&race.engine);
            tasks.push(tokio::spawn(async move {
                let payment = engine.resume::<OtpSent>(id).await?;
                engine.resend_code(payment).await
            }));
        }
        let mut resent = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => resent += 1,
                Err(Error::ResendTooSoon { .. } | Error::WrongState { .. } | Error::Conflict) => {}
                Err(other) => panic!("{other}"),
            }
        }
        let expected = usize::from(after_cooldown);
        assert_eq!(resent, expected);
        assert_eq!(race.sms.sent().len(), 1 + expected);
        let stored = race.engine.resume::<OtpSent>(id).await.unwrap();
        assert_eq!(usize::from(stored.resends_left()), 3 - expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_racing_confirm_ends_one_way_only() {
    for _ in 0..ROUNDS {
        let race = race().await;
        let id = sent(&race).await;
        let code = race.sms.last_code(&PHONE.parse().unwrap()).unwrap();
        let engine = Arc::clone(&race.engine);
        let confirm = tokio::spawn(async move {
            let payment = engine.resume::<OtpSent>(id).await?;
            engine.confirm(payment, &code).await
        });
        let engine = Arc::clone(&race.engine);
        let cancel =
            tokio::spawn(async move { engine.cancel(id, buyster::CancelReason::Buyer).await });
        let (confirmed, cancelled) = (confirm.await.unwrap(), cancel.await.unwrap());
        let stored = race.engine.load(id).await.unwrap().kind();
        match stored {
            StateKind::Confirmed => {
                assert!(matches!(confirmed, Ok(CodeCheck::Confirmed(_))));
                assert!(cancelled.is_err());
                assert_eq!(race.bank.debits().len(), 1);
            }
            StateKind::Failed => {
                assert!(cancelled.is_ok());
                assert!(confirmed.is_err());
                assert!(race.bank.debits().is_empty());
            }
            other => panic!("{other}"),
        }
    }
}
