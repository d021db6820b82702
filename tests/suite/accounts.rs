//! An account's life: weak PINs refused wherever the buyer chooses a PIN, the buyer's PIN change
//! counted like a checkout, and the host's operations (status, funding source, PIN reset, unlock).
//! Every refusal is checked for its exact error and for what is stored after it.

use crate::common::*;
use buyster::{
    AccountStatus, DigitsError, Error, EventKind, FundingSource, NextLock, PhoneNumber, PinChange,
    Policy, StateKind, Store, WeakPinRule,
};

const NEW_PIN: &str = "402517";
const OTHER_IBAN: &str = "DE89 3704 0044 0532 0130 00";

fn unknown() -> PhoneNumber {
    "+33698765432".parse().unwrap()
}

async fn account_records(host: &Host) -> usize {
    host.store
        .keys()
        .iter()
        .filter(|k| k.as_str().starts_with("account/"))
        .count()
}

#[tokio::test]
async fn new_pins_refuse_each_kind_of_weak_pin_and_enroll_takes_the_hosts_pin() {
    let host = Host::empty(Policy::default(), buyster::memory::MemoryStore::new());
    for (digits, rule) in [
        ("000000", WeakPinRule::SameDigit),
        ("123456", WeakPinRule::Sequence),
        ("987654", WeakPinRule::Sequence),
        ("121212", WeakPinRule::Repeated),
        ("250690", WeakPinRule::Date),
        ("112233", WeakPinRule::Common),
        ("147258", WeakPinRule::Common),
    ] {
        let refused = Policy::default().check_new_pin(&pin(digits));
        assert!(
            matches!(refused, Err(Error::WeakPin(r)) if r == rule),
            "{digits}: {refused:?}"
        );
    }
    let short = host
        .engine
        .enroll(&host.phone, &pin("4025"), IBAN.parse().unwrap())
        .await;
    assert!(matches!(
        short,
        Err(Error::InvalidPin(DigitsError::Length { min: 6, max: 6 }))
    ));
    assert_eq!(account_records(&host).await, 0);
    assert!(host.events.events().is_empty());
    assert!(matches!(
        host.engine.back_office().account(&host.phone).await,
        Err(Error::NotEnrolled)
    ));
    // The host's direct route takes the PIN as the host gives it (an account brought over):
    // the length is checked, the rules are the host's to apply.
    host.engine
        .enroll(&host.phone, &pin("123456"), IBAN.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(host.events.kinds(), [EventKind::Enrolled]);
    let payment = host.initiate().await;
    let answer = host
        .engine
        .verify_pin(payment, &pin("123456"))
        .await
        .unwrap();
    assert!(matches!(answer, buyster::PinCheck::Verified(_)));
}

#[tokio::test]
async fn a_pin_change_replaces_the_pin_under_a_fresh_salt() {
    let host = Host::new().await;
    let before = host.store.get(&account_key(&host)).await.unwrap().unwrap();
    let answer = host
        .engine
        .change_pin(&host.phone, &pin(PIN), &pin(NEW_PIN))
        .await
        .unwrap();
    assert_eq!(answer, PinChange::Changed);
    let after = host.store.get(&account_key(&host)).await.unwrap().unwrap();
    assert_eq!(after.value.len(), before.value.len());
    assert_ne!(after.value[5..21], before.value[5..21], "a fresh salt");
    assert_eq!(
        checkout_pin(&host, &host.phone, PIN).await.unwrap(),
        Some(2)
    );
    assert_eq!(
        checkout_pin(&host, &host.phone, NEW_PIN).await.unwrap(),
        None
    );
    assert!(host.events.kinds().contains(&EventKind::PinChanged));
}

fn account_key(host: &Host) -> buyster::Key {
    host.store
        .keys()
        .into_iter()
        .find(|k| k.as_str().starts_with("account/"))
        .unwrap()
}

#[tokio::test]
async fn a_wrong_old_pin_counts_towards_the_checkout_lock() {
    let host = Host::new().await;
    let change = |old: &'static str| {
        let host = &host;
        async move {
            host.engine
                .change_pin(&host.phone, &pin(old), &pin(NEW_PIN))
                .await
        }
    };
    assert_eq!(
        change(WRONG_PIN).await.unwrap(),
        PinChange::Rejected {
            attempts_left: 2,
            next_lock: NextLock::Temporary(minutes(15))
        }
    );
    // The same count as a checkout's.
    assert_eq!(
        checkout_pin(&host, &host.phone, WRONG_PIN).await.unwrap(),
        Some(1)
    );
    let until = after(T0, minutes(15));
    assert!(matches!(change(WRONG_PIN).await, Err(Error::Locked { until: Some(u) }) if u == until));
    // Locked: the right old PIN is refused too, and the PIN is unchanged.
    assert!(matches!(change(PIN).await, Err(Error::Locked { .. })));
    host.clock.advance(minutes(15));
    assert_eq!(checkout_pin(&host, &host.phone, PIN).await.unwrap(), None);
    let kinds = host.events.kinds();
    assert!(kinds.contains(&EventKind::Locked { until: Some(until) }));
    assert!(!kinds.contains(&EventKind::PinChanged));
}

#[tokio::test]
async fn a_weak_new_pin_is_refused_before_the_old_one_is_checked() {
    let host = Host::new().await;
    let refused = host
        .engine
        .change_pin(&host.phone, &pin(WRONG_PIN), &pin("135135"))
        .await;
    assert!(matches!(
        refused,
        Err(Error::WeakPin(WeakPinRule::Repeated))
    ));
    // No attempt was counted, and the PIN is the old one.
    assert_eq!(
        checkout_pin(&host, &host.phone, WRONG_PIN).await.unwrap(),
        Some(2)
    );
    assert_eq!(checkout_pin(&host, &host.phone, PIN).await.unwrap(), None);
}

#[tokio::test]
async fn a_pin_change_for_a_number_without_an_active_account_is_a_wrong_pin() {
    let host = Host::new().await;
    let answer = host
        .engine
        .change_pin(&unknown(), &pin(PIN), &pin(NEW_PIN))
        .await
        .unwrap();
    assert_eq!(
        answer,
        PinChange::Rejected {
            attempts_left: 2,
            next_lock: NextLock::Temporary(minutes(15))
        }
    );
    host.engine
        .back_office()
        .set_status(&host.phone, AccountStatus::Suspended)
        .await
        .unwrap();
    let answer = host
        .engine
        .change_pin(&host.phone, &pin(PIN), &pin(NEW_PIN))
        .await
        .unwrap();
    assert_eq!(
        answer,
        PinChange::Rejected {
            attempts_left: 2,
            next_lock: NextLock::Temporary(minutes(15))
        }
    );
    assert_eq!(account_records(&host).await, 1);
    host.engine
        .back_office()
        .set_status(&host.phone, AccountStatus::Active)
        .await
        .unwrap();
    assert_eq!(checkout_pin(&host, &host.phone, PIN).await.unwrap(), None);
}

#[tokio::test]
async fn a_suspended_account_pays_like_an_unknown_number_until_reactivated() {
    let host = Host::new().await;
    host.engine
        .back_office()
        .set_status(&host.phone, AccountStatus::Suspended)
        .await
        .unwrap();
    assert_eq!(
        host.engine
            .back_office()
            .account(&host.phone)
            .await
            .unwrap()
            .status(),
        AccountStatus::Suspended
    );
    let suspended = checkout_pin(&host, &host.phone, PIN).await;
    let never_enrolled = checkout_pin(&host, &unknown(), PIN).await;
    assert_eq!(suspended.unwrap(), Some(2));
    assert_eq!(never_enrolled.unwrap(), Some(2));
    host.engine
        .back_office()
        .set_status(&host.phone, AccountStatus::Active)
        .await
        .unwrap();
    assert_eq!(checkout_pin(&host, &host.phone, PIN).await.unwrap(), None);
    let kinds = host.events.kinds();
    assert!(kinds.contains(&EventKind::StatusChanged(AccountStatus::Suspended)));
    assert!(kinds.contains(&EventKind::StatusChanged(AccountStatus::Active)));
}

#[tokio::test]
async fn a_closed_account_stays_closed_but_its_number_can_enroll_again() {
    let host = Host::new().await;
    host.engine
        .back_office()
        .set_status(&host.phone, AccountStatus::Closed)
        .await
        .unwrap();
    assert_eq!(
        checkout_pin(&host, &host.phone, PIN).await.unwrap(),
        Some(2)
    );
    for refused in [
        host.engine
            .back_office()
            .set_status(&host.phone, AccountStatus::Active)
            .await,
        host.engine
            .back_office()
            .replace_funding_source(&host.phone, OTHER_IBAN.parse().unwrap())
            .await,
        host.engine
            .back_office()
            .reset_pin(&host.phone, &pin(NEW_PIN))
            .await,
        host.engine.back_office().unlock(&host.phone).await,
    ] {
        assert!(matches!(refused, Err(Error::AccountClosed)), "{refused:?}");
    }
    let details = host
        .engine
        .back_office()
        .account(&host.phone)
        .await
        .unwrap();
    assert_eq!(details.status(), AccountStatus::Closed);
    assert_eq!(details.funding_source().to_string(), IBAN);
    // Closing twice changes nothing.
    host.engine
        .back_office()
        .set_status(&host.phone, AccountStatus::Closed)
        .await
        .unwrap();
    // A new holder of the number enrolls: a new account replaces the closed one.
    host.engine
        .enroll(&host.phone, &pin(NEW_PIN), OTHER_IBAN.parse().unwrap())
        .await
        .unwrap();
    let details = host
        .engine
        .back_office()
        .account(&host.phone)
        .await
        .unwrap();
    assert_eq!(details.status(), AccountStatus::Active);
    assert_eq!(details.funding_source().to_string(), OTHER_IBAN);
    assert_eq!(
        checkout_pin(&host, &host.phone, NEW_PIN).await.unwrap(),
        None
    );
    assert_eq!(account_records(&host).await, 1);
}

#[tokio::test]
async fn host_operations_need_an_account() {
    let host = Host::new().await;
    let phone = unknown();
    for refused in [
        host.engine
            .back_office()
            .set_status(&phone, AccountStatus::Suspended)
            .await,
        host.engine
            .back_office()
            .replace_funding_source(&phone, IBAN.parse().unwrap())
            .await,
        host.engine
            .back_office()
            .reset_pin(&phone, &pin(NEW_PIN))
            .await,
    ] {
        assert!(matches!(refused, Err(Error::NotEnrolled)), "{refused:?}");
    }
    assert!(matches!(
        host.engine.back_office().account(&phone).await,
        Err(Error::NotEnrolled)
    ));
    assert_eq!(account_records(&host).await, 1);
}

#[tokio::test]
async fn a_new_funding_source_is_debited_from_the_next_pin_on() {
    let host = Host::new().await;
    let verified_before = host.verified().await;
    host.engine
        .back_office()
        .replace_funding_source(&host.phone, OTHER_IBAN.parse().unwrap())
        .await
        .unwrap();
    let old: FundingSource = IBAN.parse().unwrap();
    assert_eq!(verified_before.state().funding_source(), &old);
    let sent = host.engine.send_code(verified_before).await.unwrap();
    host.engine.confirm(sent, &host.code()).await.unwrap();
    host.clock.advance(minutes(1));
    let sent = host.sent().await;
    host.engine.confirm(sent, &host.code()).await.unwrap();
    let debited: Vec<String> = host
        .bank
        .debits()
        .iter()
        .map(|d| d.funding_source().to_string())
        .collect();
    assert_eq!(debited, [IBAN, OTHER_IBAN]);
    assert!(
        host.events
            .kinds()
            .contains(&EventKind::FundingSourceReplaced)
    );
}

#[tokio::test]
async fn a_reset_pin_replaces_the_pin_and_lifts_the_lock() {
    let host = Host::new().await;
    for _ in 0..3 {
        let _ = checkout_pin(&host, &host.phone, WRONG_PIN).await;
    }
    assert!(matches!(
        checkout_pin(&host, &host.phone, PIN).await,
        Err(Error::Locked { .. })
    ));
    let weak = host
        .engine
        .back_office()
        .reset_pin(&host.phone, &pin("111111"))
        .await;
    assert!(matches!(weak, Err(Error::WeakPin(WeakPinRule::SameDigit))));
    assert!(
        matches!(
            checkout_pin(&host, &host.phone, PIN).await,
            Err(Error::Locked { .. })
        ),
        "a refused reset lifts nothing"
    );
    host.engine
        .back_office()
        .reset_pin(&host.phone, &pin(NEW_PIN))
        .await
        .unwrap();
    assert_eq!(
        checkout_pin(&host, &host.phone, PIN).await.unwrap(),
        Some(2)
    );
    assert_eq!(
        checkout_pin(&host, &host.phone, NEW_PIN).await.unwrap(),
        None
    );
    assert!(host.events.kinds().contains(&EventKind::PinReset));
}

#[tokio::test]
async fn unlock_lifts_even_a_permanent_lock_and_works_for_unknown_numbers() {
    let host = Host::new().await;
    for phone in [host.phone.clone(), unknown()] {
        loop {
            match checkout_pin(&host, &phone, WRONG_PIN).await {
                Ok(_) => {}
                Err(Error::Locked { until: Some(until) }) => host.clock.set(until),
                Err(Error::Locked { until: None }) => break,
                Err(other) => panic!("{other}"),
            }
        }
        host.engine.back_office().unlock(&phone).await.unwrap();
        assert_eq!(
            checkout_pin(&host, &phone, WRONG_PIN).await.unwrap(),
            Some(2)
        );
    }
    assert_eq!(checkout_pin(&host, &host.phone, PIN).await.unwrap(), None);
    assert_eq!(account_records(&host).await, 1, "unlock makes no account");
    let unlocks = host
        .events
        .kinds()
        .into_iter()
        .filter(|k| *k == EventKind::Unlocked)
        .count();
    assert_eq!(unlocks, 2);
    // Nothing to unlock: nothing written, no event.
    host.engine.back_office().unlock(&host.phone).await.unwrap();
    assert_eq!(
        host.events
            .kinds()
            .into_iter()
            .filter(|k| *k == EventKind::Unlocked)
            .count(),
        2
    );
}

#[tokio::test]
async fn a_verified_payment_goes_on_after_a_suspension_unless_cancelled() {
    let host = Host::new().await;
    let sent = host.sent().await;
    host.engine
        .back_office()
        .set_status(&host.phone, AccountStatus::Suspended)
        .await
        .unwrap();
    let id = sent.id();
    host.engine
        .cancel(id, buyster::CancelReason::Fraud)
        .await
        .unwrap();
    assert_eq!(host.kind(id).await, StateKind::Failed);
    assert!(host.bank.debits().is_empty());
}

#[tokio::test]
async fn a_reset_pin_forgets_no_guess_made_while_it_runs() {
    let host = Host::new().await;
    // The reset is held once the new PIN is stored; guesses land there, then after it.
    let store = PausingStore::new(host.store.clone());
    let paused = host.engine_over(store.clone());
    let (reached, resume) = store.arm(Point::AfterPut, "account/");
    let new_pin = pin(NEW_PIN);
    let reset = paused.back_office().reset_pin(&host.phone, &new_pin);
    let during = async {
        reached.await.unwrap();
        let answers = [
            checkout_pin(&host, &host.phone, WRONG_PIN).await,
            checkout_pin(&host, &host.phone, WRONG_PIN).await,
        ];
        resume.send(()).unwrap();
        answers
    };
    let (reset, during) = tokio::join!(reset, during);
    reset.unwrap();
    let mut answers: Vec<_> = during.into_iter().collect();
    loop {
        let answer = checkout_pin(&host, &host.phone, WRONG_PIN).await;
        let locked = matches!(answer, Err(Error::Locked { .. }));
        answers.push(answer);
        if locked || answers.len() > 10 {
            break;
        }
    }
    let tries = answers.iter().filter(|a| matches!(a, Ok(Some(_)))).count();
    assert_eq!(
        tries, 2,
        "wrong PINs answered 'try again' before the lock: {answers:?}"
    );
    assert_eq!(
        answers
            .last()
            .map(|a| matches!(a, Err(Error::Locked { until: Some(_) }))),
        Some(true)
    );
    assert!(matches!(
        checkout_pin(&host, &host.phone, NEW_PIN).await,
        Err(Error::Locked { .. })
    ));
}
