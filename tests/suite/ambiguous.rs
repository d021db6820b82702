//! Ambiguous store writes: a `put` that committed but reported an error never loses a counted
//! guess and never allows a second debit; a `put` that failed before committing changes nothing.
#![cfg(feature = "testkit")]

use crate::common::*;
use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::testkit::{Call, Fault, FaultPlan, FaultyStore};
use buyster::{
    AnyPayment, CodeCheck, Engine, Error, Keys, OtpSent, PinCheck, SecretKey, StateKind, StoreError,
};

type Ambiguous = Engine<FaultyStore<MemoryStore>, MemorySms, MemoryBank, ManualClock>;

struct Setup {
    engine: Ambiguous,
    plan: FaultPlan,
    sms: MemorySms,
    bank: MemoryBank,
}

async fn setup() -> Setup {
    let (plan, sms, bank) = (FaultPlan::none(), MemorySms::new(), MemoryBank::new());
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(FaultyStore::new(MemoryStore::new(), plan.clone()))
        .sms(sms.clone())
        .bank(bank.clone())
        .clock(ManualClock::new(T0))
        .build()
        .unwrap();
    engine
        .enroll(&PHONE.parse().unwrap(), &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    Setup {
        engine,
        plan,
        sms,
        bank,
    }
}

impl Setup {
    /// Plays `fault` on the store call that comes `ahead` calls from now.
    fn fault_in(&self, ahead: usize, fault: Fault) {
        let _ = self.plan.clone().and(self.plan.calls() + ahead, fault);
    }

    async fn sent(&self) -> buyster::Payment<OtpSent> {
        let payment = self
            .engine
            .initiate(order(4990), &PHONE.parse().unwrap())
            .await
            .unwrap();
        let PinCheck::Verified(verified) =
            self.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
        else {
            panic!();
        };
        self.engine.send_code(verified).await.unwrap()
    }

    fn code(&self) -> buyster::OtpCode {
        self.sms.last_code(&PHONE.parse().unwrap()).unwrap()
    }
}

fn is_injected(error: &Error) -> bool {
    matches!(error, Error::Storage(StoreError::Backend(_)))
}

#[tokio::test]
async fn a_wrong_pin_whose_write_committed_stays_counted() {
    let s = setup().await;
    let payment = s
        .engine
        .initiate(order(4990), &PHONE.parse().unwrap())
        .await
        .unwrap();
    // verify_pin: get guard, get account, put guard.
    s.fault_in(2, Fault::FailAfter);
    let error = s
        .engine
        .verify_pin(payment, &pin(WRONG_PIN))
        .await
        .unwrap_err();
    assert!(is_injected(&error), "{error}");
    assert_eq!(
        s.plan.log()[s.plan.calls() - 1],
        (Call::StorePut, Some(Fault::FailAfter))
    );

    let payment = s
        .engine
        .initiate(order(4990), &PHONE.parse().unwrap())
        .await
        .unwrap();
    let answer = s.engine.verify_pin(payment, &pin(WRONG_PIN)).await.unwrap();
    assert!(
        matches!(
            answer,
            PinCheck::Rejected {
                attempts_left: 1,
                ..
            }
        ),
        "the first guess still counts"
    );
}

#[tokio::test]
async fn a_wrong_pin_whose_write_failed_is_not_answered_and_not_counted() {
    let s = setup().await;
    let payment = s
        .engine
        .initiate(order(4990), &PHONE.parse().unwrap())
        .await
        .unwrap();
    s.fault_in(2, Fault::FailBefore);
    assert!(is_injected(
        &s.engine
            .verify_pin(payment, &pin(WRONG_PIN))
            .await
            .unwrap_err()
    ));
    let payment = s
        .engine
        .initiate(order(4990), &PHONE.parse().unwrap())
        .await
        .unwrap();
    let answer = s.engine.verify_pin(payment, &pin(WRONG_PIN)).await.unwrap();
    assert!(matches!(
        answer,
        PinCheck::Rejected {
            attempts_left: 2,
            ..
        }
    ));
}

#[tokio::test]
async fn a_wrong_code_whose_write_committed_stays_counted() {
    let s = setup().await;
    let sent = s.sent().await;
    let id = sent.id();
    let wrong = other_code(&s.code());
    s.fault_in(0, Fault::FailAfter);
    assert!(is_injected(
        &s.engine.confirm(sent, &wrong).await.unwrap_err()
    ));
    let stored = s.engine.resume::<OtpSent>(id).await.unwrap();
    assert_eq!(stored.attempts_left(), 2);
    let answer = s.engine.confirm(stored, &wrong).await.unwrap();
    assert!(matches!(
        answer,
        CodeCheck::Rejected {
            attempts_left: 1,
            ..
        }
    ));
}

#[tokio::test]
async fn an_authorization_whose_write_committed_is_settled_once() {
    let s = setup().await;
    let sent = s.sent().await;
    let id = sent.id();
    let code = s.code();
    // confirm: put Authorized (committed, answer lost); the bank is never called.
    s.fault_in(0, Fault::FailAfter);
    assert!(is_injected(
        &s.engine.confirm(sent, &code).await.unwrap_err()
    ));
    assert!(s.bank.debits().is_empty());
    // The code is spent: the buyer cannot use it again.
    let again = s.engine.resume::<OtpSent>(id).await.unwrap_err();
    assert!(matches!(
        again,
        Error::WrongState {
            found: StateKind::Authorized,
            ..
        }
    ));
    let recovered = s.engine.recover(id).await.unwrap();
    assert!(matches!(recovered, AnyPayment::Confirmed(_)));
    assert_eq!(s.bank.debits().len(), 1);
    assert!(matches!(
        s.engine.recover(id).await.unwrap(),
        AnyPayment::Confirmed(_)
    ));
    assert_eq!(s.bank.debits().len(), 1);
}

#[tokio::test]
async fn an_authorization_whose_write_failed_leaves_the_code_usable() {
    let s = setup().await;
    let sent = s.sent().await;
    let id = sent.id();
    let code = s.code();
    s.fault_in(0, Fault::FailBefore);
    assert!(is_injected(
        &s.engine.confirm(sent, &code).await.unwrap_err()
    ));
    let stored = s.engine.resume::<OtpSent>(id).await.unwrap();
    assert_eq!(stored.attempts_left(), 3);
    assert!(matches!(
        s.engine.confirm(stored, &code).await.unwrap(),
        CodeCheck::Confirmed(_)
    ));
    assert_eq!(s.bank.debits().len(), 1);
}

#[tokio::test]
async fn a_lost_confirmation_write_after_the_debit_is_recovered_without_a_second_debit() {
    for fault in [Fault::FailBefore, Fault::FailAfter] {
        let s = setup().await;
        let sent = s.sent().await;
        let id = sent.id();
        let code = s.code();
        // confirm: put Authorized, (bank debit, not a store call), put Confirmed.
        s.fault_in(1, fault);
        assert!(
            is_injected(&s.engine.confirm(sent, &code).await.unwrap_err()),
            "{fault:?}"
        );
        assert_eq!(s.bank.debits().len(), 1, "{fault:?}");
        let expected = if fault == Fault::FailBefore {
            StateKind::Authorized
        } else {
            StateKind::Confirmed
        };
        assert_eq!(
            s.engine.load(id).await.unwrap().kind(),
            expected,
            "{fault:?}"
        );
        let AnyPayment::Confirmed(paid) = s.engine.recover(id).await.unwrap() else {
            panic!("{fault:?}")
        };
        assert_eq!(paid.receipt().bank_reference(), "MB-000001");
        assert_eq!(s.bank.debits().len(), 1, "{fault:?}");
        assert_eq!(
            s.bank.attempts(),
            if fault == Fault::FailBefore { 2 } else { 1 },
            "{fault:?}"
        );
    }
}

impl Setup {
    /// Whether payments of `minors`, one after the other, all get their PIN verified: what is
    /// left of the EUR 1,500 a day.
    async fn fits(&self, minors: &[u64]) -> bool {
        for &minor in minors {
            let payment = self
                .engine
                .initiate(order(minor), &PHONE.parse().unwrap())
                .await
                .unwrap();
            match self.engine.verify_pin(payment, &pin(PIN)).await {
                Ok(PinCheck::Verified(_)) => {}
                Err(Error::LimitExceeded { .. }) => return false,
                other => panic!("{other:?}"),
            }
        }
        true
    }

    async fn wrong_pin(&self) -> u8 {
        let payment = self
            .engine
            .initiate(order(4990), &PHONE.parse().unwrap())
            .await
            .unwrap();
        match self.engine.verify_pin(payment, &pin(WRONG_PIN)).await {
            Ok(PinCheck::Rejected { attempts_left, .. }) => attempts_left,
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn a_right_pin_whose_batch_committed_is_recovered_and_its_reservation_made_once() {
    for fault in [Fault::FailBefore, Fault::FailAfter] {
        let s = setup().await;
        assert_eq!(s.wrong_pin().await, 2);
        let payment = s
            .engine
            .initiate(order(4990), &PHONE.parse().unwrap())
            .await
            .unwrap();
        let id = payment.id();
        // verify_pin: get guard, get account, the guard and the payment in one batch.
        s.fault_in(2, fault);
        let error = s.engine.verify_pin(payment, &pin(PIN)).await.unwrap_err();
        assert!(is_injected(&error), "{fault:?}: {error}");
        assert_eq!(
            s.plan.log()[s.plan.calls() - 1],
            (Call::StorePut, Some(fault))
        );
        let applied = fault == Fault::FailAfter;
        // All or none: the payment verified and the failures forgotten, or neither.
        let expected = if applied {
            StateKind::PinVerified
        } else {
            StateKind::Initiated
        };
        assert_eq!(
            s.engine.load(id).await.unwrap().kind(),
            expected,
            "{fault:?}"
        );
        assert_eq!(
            s.wrong_pin().await,
            if applied { 2 } else { 1 },
            "{fault:?}"
        );
        // The buyer carries on from where the payment stands.
        let verified = if applied {
            s.engine.resume::<buyster::PinVerified>(id).await.unwrap()
        } else {
            let payment = s.engine.resume::<buyster::Initiated>(id).await.unwrap();
            let PinCheck::Verified(verified) =
                s.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
            else {
                panic!("{fault:?}");
            };
            verified
        };
        let sent = s.engine.send_code(verified).await.unwrap();
        let answer = s.engine.confirm(sent, &s.code()).await.unwrap();
        assert!(matches!(answer, CodeCheck::Confirmed(_)), "{fault:?}");
        assert_eq!(s.bank.debits().len(), 1, "{fault:?}");
        // Its EUR 49.90 counts once against the EUR 1,500 a day: the rest fits, not a cent more.
        assert!(s.fits(&[100_000, 45_010]).await, "{fault:?}");
        assert!(!s.fits(&[1]).await, "{fault:?}");
    }
}

#[tokio::test]
async fn an_expiry_whose_batch_committed_is_recovered_and_its_share_given_back() {
    let s = setup().await;
    let clock = ManualClock::new(T0);
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(FaultyStore::new(MemoryStore::new(), s.plan.clone()))
        .sms(s.sms.clone())
        .bank(s.bank.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let phone = PHONE.parse().unwrap();
    engine
        .enroll(&phone, &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    let payment = engine.initiate(order(100_000), &phone).await.unwrap();
    let id = payment.id();
    let PinCheck::Verified(_) = engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!("the right PIN was refused");
    };
    clock.advance(buyster::Policy::default().payment_ttl);
    // recover_due: get the payment, get it again to recover it, get the guard, the failed
    // payment and its share given back in one batch (committed, answer lost).
    s.fault_in(3, Fault::FailAfter);
    let work = engine.recover_due(10).await.unwrap();
    assert_eq!((work.examined, work.errors), (1, 1), "{work:?}");
    assert_eq!(engine.load(id).await.unwrap().kind(), StateKind::Failed);
    // The error put the record back due a recovery delay later; the next round finds it
    // failed with its share given back, and takes it out of the index.
    clock.advance(buyster::Policy::default().recovery_delay);
    let work = engine.recover_due(10).await.unwrap();
    assert_eq!((work.examined, work.finished), (1, 1), "{work:?}");
    assert_eq!(engine.recover_due(10).await.unwrap().examined, 0);
    for minor in [100_000, 50_000] {
        let payment = engine.initiate(order(minor), &phone).await.unwrap();
        let check = engine.verify_pin(payment, &pin(PIN)).await;
        assert!(matches!(check, Ok(PinCheck::Verified(_))), "{check:?}");
    }
}
