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
