//! Verified enrollment: the number proven by an SMS code before its account exists. Every
//! refusal is checked for its exact error and for what is stored after it.

use crate::common::*;
use buyster::memory::MemoryStore;
use buyster::{
    AccountStatus, AnyEnrollment, CodeSent, Enrollment, EnrollmentCheck, EnrollmentFailure,
    EnrollmentKind, Error, EventKind, OtpCode, PinCheck, Policy, SmsError, Store, WeakPinRule,
};

const NEW_PIN: &str = "402517";

fn fresh() -> Host {
    Host::empty(Policy::default(), MemoryStore::new())
}

async fn start(host: &Host) -> Enrollment<CodeSent> {
    host.engine.start_enrollment(&host.phone).await.unwrap()
}

fn code_of(host: &Host, enrollment: &Enrollment<CodeSent>) -> OtpCode {
    host.sms.last_code_for_enrollment(enrollment.id()).unwrap()
}

async fn finish(
    host: &Host,
    enrollment: Enrollment<CodeSent>,
    code: &OtpCode,
    digits: &str,
) -> Result<EnrollmentCheck, Error> {
    host.engine
        .finish_enrollment(enrollment, code, &pin(digits), IBAN.parse().unwrap())
        .await
}

async fn has_account(host: &Host) -> bool {
    host.store
        .keys()
        .iter()
        .any(|k| k.as_str().starts_with("account/"))
}

#[tokio::test]
async fn the_number_is_proven_by_sms_before_the_account_exists() {
    let host = fresh();
    let enrollment = start(&host).await;
    let id = enrollment.id();
    assert_eq!(enrollment.kind(), EnrollmentKind::CodeSent);
    assert_eq!(enrollment.attempts_left(), 3);
    assert_eq!(enrollment.expires_at(), after(T0, minutes(5)));
    assert!(!has_account(&host).await, "no account before the code");
    let sent = host.sms.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to(), &host.phone);
    assert_eq!(sent[0].enrollment_id(), Some(id));
    let code = code_of(&host, &enrollment);
    assert!(sent[0].body().contains(code.expose_secret()));
    assert!(sent[0].body().contains("Ne donnez jamais ce code"));
    // The record holds no code and no number in clear.
    let record = host
        .store
        .get(&buyster::Key::enrollment(&id))
        .await
        .unwrap()
        .unwrap();
    assert!(
        !record
            .value
            .windows(6)
            .any(|w| w == code.expose_secret().as_bytes())
    );

    // Between two requests the host keeps only the id.
    let enrollment = host.engine.resume_enrollment(id).await.unwrap();
    let EnrollmentCheck::Enrolled(done) = finish(&host, enrollment, &code, PIN).await.unwrap()
    else {
        panic!("right code refused")
    };
    assert_eq!(done.state().enrolled_at(), T0);
    assert_eq!(
        host.engine
            .back_office()
            .account(&host.phone)
            .await
            .unwrap()
            .status(),
        AccountStatus::Active
    );
    assert_eq!(checkout_pin(&host, &host.phone, PIN).await.unwrap(), None);
    // The code worked once.
    assert!(matches!(
        host.engine.resume_enrollment(id).await,
        Err(Error::WrongEnrollmentState {
            expected: EnrollmentKind::CodeSent,
            found: EnrollmentKind::Enrolled
        })
    ));
    let events = host.events.events();
    assert_eq!(events[0].kind(), &EventKind::EnrollmentStarted);
    assert_eq!(events[1].kind(), &EventKind::Enrolled);
    assert!(events[..2].iter().all(|e| e.enrollment_id() == Some(id)));
    assert!(
        events[..2]
            .iter()
            .all(|e| e.masked_phone() == "+33 6 •• •• •• 78")
    );
}

#[tokio::test]
async fn wrong_codes_count_down_then_fail_the_enrollment() {
    let host = fresh();
    let mut enrollment = start(&host).await;
    let id = enrollment.id();
    let wrong = other_code(&code_of(&host, &enrollment));
    for left in [2, 1] {
        let EnrollmentCheck::Rejected {
            enrollment: next,
            attempts_left,
        } = finish(&host, enrollment, &wrong, PIN).await.unwrap()
        else {
            panic!()
        };
        assert_eq!(attempts_left, left);
        assert_eq!(
            host.engine
                .resume_enrollment(id)
                .await
                .unwrap()
                .attempts_left(),
            left
        );
        enrollment = next;
    }
    assert!(matches!(
        finish(&host, enrollment, &wrong, PIN).await,
        Err(Error::TooManyAttempts)
    ));
    let AnyEnrollment::Failed(failed) = host.engine.load_enrollment(id).await.unwrap() else {
        panic!()
    };
    assert_eq!(failed.state().reason(), EnrollmentFailure::TooManyAttempts);
    assert!(!has_account(&host).await);
    // Three wrong codes also locked the number, as three wrong PINs would.
    let until = Some(after(T0, minutes(15)));
    assert!(matches!(
        host.engine.start_enrollment(&host.phone).await,
        Err(Error::Locked { until: u }) if u == until
    ));
    let kinds = host.events.kinds();
    assert!(kinds.contains(&EventKind::EnrollmentCodeRejected { attempts_left: 2 }));
    assert!(kinds.contains(&EventKind::EnrollmentFailed(
        EnrollmentFailure::TooManyAttempts
    )));
    assert!(kinds.contains(&EventKind::Locked { until }));
}

#[tokio::test]
async fn a_stale_copy_with_the_right_code_makes_no_account_once_the_enrollment_ended() {
    // Two wrong codes end the enrollment without locking the number (the lock is at three).
    let policy = Policy {
        max_code_attempts: 2,
        ..Policy::default()
    };
    let host = Host::empty(policy, MemoryStore::new());
    let enrollment = host.engine.start_enrollment(&host.phone).await.unwrap();
    let id = enrollment.id();
    let code = code_of(&host, &enrollment);
    let stale = host.engine.resume_enrollment(id).await.unwrap();
    let wrong = other_code(&code);
    let EnrollmentCheck::Rejected { enrollment, .. } =
        finish(&host, enrollment, &wrong, PIN).await.unwrap()
    else {
        panic!()
    };
    assert!(matches!(
        finish(&host, enrollment, &wrong, PIN).await,
        Err(Error::TooManyAttempts)
    ));
    // The copy read before the wrong codes still holds the tag the right code matches.
    assert!(matches!(
        finish(&host, stale, &code, PIN).await,
        Err(Error::WrongEnrollmentState {
            expected: EnrollmentKind::CodeSent,
            found: EnrollmentKind::Failed
        })
    ));
    assert!(
        !has_account(&host).await,
        "an account after a failed enrollment"
    );
    let AnyEnrollment::Failed(failed) = host.engine.load_enrollment(id).await.unwrap() else {
        panic!()
    };
    assert_eq!(failed.state().reason(), EnrollmentFailure::TooManyAttempts);
    assert!(!host.events.kinds().contains(&EventKind::Enrolled));
}

#[tokio::test]
async fn a_second_call_with_the_right_code_finds_it_used() {
    let host = fresh();
    let enrollment = start(&host).await;
    let id = enrollment.id();
    let code = code_of(&host, &enrollment);
    let second = host.engine.resume_enrollment(id).await.unwrap();
    assert!(matches!(
        finish(&host, enrollment, &code, PIN).await,
        Ok(EnrollmentCheck::Enrolled(_))
    ));
    assert!(matches!(
        finish(&host, second, &code, NEW_PIN).await,
        Err(Error::WrongEnrollmentState {
            expected: EnrollmentKind::CodeSent,
            found: EnrollmentKind::Enrolled
        })
    ));
    // The account keeps the first call's PIN.
    assert_eq!(checkout_pin(&host, &host.phone, PIN).await.unwrap(), None);
    assert_eq!(
        host.events
            .kinds()
            .iter()
            .filter(|k| **k == EventKind::Enrolled)
            .count(),
        1
    );
}

#[tokio::test]
async fn wrong_codes_and_wrong_pins_share_the_numbers_lock() {
    let host = fresh();
    let enrollment = start(&host).await;
    let id = enrollment.id();
    let wrong = other_code(&code_of(&host, &enrollment));
    let EnrollmentCheck::Rejected { enrollment, .. } =
        finish(&host, enrollment, &wrong, PIN).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(
        checkout_pin(&host, &host.phone, WRONG_PIN).await.unwrap(),
        Some(1)
    );
    let until = Some(after(T0, minutes(15)));
    assert!(matches!(
        finish(&host, enrollment, &wrong, PIN).await,
        Err(Error::Locked { until: u }) if u == until
    ));
    // Counted in the enrollment too; the right code is refused while the number is locked.
    let enrollment = host.engine.resume_enrollment(id).await.unwrap();
    assert_eq!(enrollment.attempts_left(), 1);
    let code = code_of(&host, &enrollment);
    assert!(matches!(
        finish(&host, enrollment, &code, PIN).await,
        Err(Error::Locked { .. })
    ));
    assert!(!has_account(&host).await);
}

#[tokio::test]
async fn a_right_code_does_not_reset_the_pin_count() {
    let host = Host::new().await;
    assert_eq!(
        checkout_pin(&host, &host.phone, WRONG_PIN).await.unwrap(),
        Some(2)
    );
    let enrollment = start(&host).await;
    let code = code_of(&host, &enrollment);
    assert!(matches!(
        finish(&host, enrollment, &code, NEW_PIN).await,
        Err(Error::AlreadyEnrolled)
    ));
    assert_eq!(
        checkout_pin(&host, &host.phone, WRONG_PIN).await.unwrap(),
        Some(1)
    );
}

#[tokio::test]
async fn an_enrolled_number_gets_its_sms_and_learns_it_only_with_the_code() {
    let host = Host::new().await;
    let enrollment = start(&host).await;
    let id = enrollment.id();
    assert_eq!(
        host.sms.sent().len(),
        1,
        "the same answer as for any number"
    );
    let code = code_of(&host, &enrollment);
    assert!(matches!(
        finish(&host, enrollment, &code, NEW_PIN).await,
        Err(Error::AlreadyEnrolled)
    ));
    let AnyEnrollment::Failed(failed) = host.engine.load_enrollment(id).await.unwrap() else {
        panic!()
    };
    assert_eq!(failed.state().reason(), EnrollmentFailure::AlreadyEnrolled);
    // The account is untouched: the old PIN pays, the new one does not.
    assert_eq!(
        checkout_pin(&host, &host.phone, NEW_PIN).await.unwrap(),
        Some(2)
    );
    assert_eq!(checkout_pin(&host, &host.phone, PIN).await.unwrap(), None);
}

#[tokio::test]
async fn a_closed_account_is_replaced_by_an_enrollment() {
    let host = Host::new().await;
    host.engine
        .back_office()
        .set_status(&host.phone, AccountStatus::Closed)
        .await
        .unwrap();
    let enrollment = start(&host).await;
    let code = code_of(&host, &enrollment);
    let answer = finish(&host, enrollment, &code, NEW_PIN).await.unwrap();
    assert!(matches!(answer, EnrollmentCheck::Enrolled(_)));
    assert_eq!(
        checkout_pin(&host, &host.phone, NEW_PIN).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn an_expired_enrollment_fails_and_makes_no_account() {
    let host = fresh();
    let enrollment = start(&host).await;
    let id = enrollment.id();
    let code = code_of(&host, &enrollment);
    host.clock.advance(minutes(5));
    assert!(matches!(
        finish(&host, enrollment, &code, PIN).await,
        Err(Error::Expired)
    ));
    let AnyEnrollment::Failed(failed) = host.engine.load_enrollment(id).await.unwrap() else {
        panic!()
    };
    assert_eq!(failed.state().reason(), EnrollmentFailure::Expired);
    assert_eq!(failed.state().failed_at(), after(T0, minutes(5)));
    assert!(!has_account(&host).await);
}

#[tokio::test]
async fn a_weak_pin_costs_no_attempt_and_keeps_the_code() {
    let host = fresh();
    let enrollment = start(&host).await;
    let id = enrollment.id();
    let code = code_of(&host, &enrollment);
    assert!(matches!(
        finish(&host, enrollment, &code, "123456").await,
        Err(Error::WeakPin(WeakPinRule::Sequence))
    ));
    let enrollment = host.engine.resume_enrollment(id).await.unwrap();
    assert_eq!(enrollment.attempts_left(), 3);
    assert!(!has_account(&host).await);
    let answer = finish(&host, enrollment, &code, PIN).await.unwrap();
    assert!(matches!(answer, EnrollmentCheck::Enrolled(_)));
}

#[tokio::test]
async fn a_code_works_only_for_its_own_enrollment() {
    let host = fresh();
    let first = start(&host).await;
    let first_code = code_of(&host, &first);
    let second = start(&host).await;
    let second_code = code_of(&host, &second);
    if first_code.expose_secret() == second_code.expose_secret() {
        return; // one chance in a million: nothing to tell apart
    }
    let answer = finish(&host, second, &first_code, PIN).await.unwrap();
    assert!(matches!(
        answer,
        EnrollmentCheck::Rejected {
            attempts_left: 2,
            ..
        }
    ));
    assert!(!has_account(&host).await);
}

#[tokio::test]
async fn enrollment_sms_have_a_window_of_their_own_that_checkouts_do_not_share() {
    let host = fresh();
    host.engine
        .enroll(&host.phone, &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    // Anyone may start enrollments of the number, with no PIN: three SMS per window.
    for _ in 0..3 {
        start(&host).await;
        host.clock.advance(seconds(10));
    }
    let refused = host.engine.start_enrollment(&host.phone).await;
    let retry_at = after(T0, minutes(10));
    assert!(matches!(refused, Err(Error::RateLimited { retry_at: r }) if r == retry_at));
    assert_eq!(host.sms.sent().len(), 3);
    let enrollments = |host: &Host| {
        host.store
            .keys()
            .iter()
            .filter(|k| k.as_str().starts_with("enrollment/"))
            .count()
    };
    assert_eq!(enrollments(&host), 3);
    // The owner's checkouts still get their five codes in the same window.
    for _ in 0..5 {
        let payment = host
            .engine
            .initiate(order(4990), &host.phone)
            .await
            .unwrap();
        let PinCheck::Verified(verified) =
            host.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
        else {
            panic!("right PIN refused")
        };
        host.engine.send_code(verified).await.unwrap();
    }
    assert_eq!(host.sms.sent().len(), 8);
    // And the enrollment window reopens on its own schedule.
    host.clock.set(retry_at);
    start(&host).await;
    assert_eq!(enrollments(&host), 4);
}

#[tokio::test]
async fn a_failed_sms_is_an_error_and_no_enrollment_event() {
    let host = fresh();
    host.sms.fail_next_with(SmsError::Rejected);
    assert!(matches!(
        host.engine.start_enrollment(&host.phone).await,
        Err(Error::Sms(SmsError::Rejected))
    ));
    assert!(host.events.events().is_empty());
    assert!(host.sms.sent().is_empty());
}

#[tokio::test]
async fn a_right_code_is_not_answered_once_guesses_locked_the_number_meanwhile() {
    let host = fresh();
    let target = start(&host).await;
    let (target_id, code) = (target.id(), code_of(&host, &target));
    let other = start(&host).await;
    let wrong = other_code(&code_of(&host, &other));
    // The right code's call is held just before its first write, after it found the number
    // open; three wrong codes on the other enrollment of the number lock it meanwhile.
    let store = PausingStore::new(host.store.clone());
    let paused = host.engine_over(store.clone());
    let (reached, resume) = store.arm(Point::BeforePut, "");
    let new_pin = pin(NEW_PIN);
    let right = paused.finish_enrollment(target, &code, &new_pin, IBAN.parse().unwrap());
    let guesses = async {
        reached.await.unwrap();
        let mut answers = Vec::new();
        for _ in 0..3 {
            let enrollment = host.engine.resume_enrollment(other.id()).await.unwrap();
            answers.push(finish(&host, enrollment, &wrong, PIN).await.map(|_| ()));
        }
        resume.send(()).unwrap();
        answers
    };
    let (answer, guesses) = tokio::join!(right, guesses);
    assert!(
        matches!(guesses[2], Err(Error::TooManyAttempts)),
        "{guesses:?}"
    );
    let until = Some(after(T0, minutes(15)));
    assert!(
        matches!(answer, Err(Error::Locked { until: u }) if u == until),
        "the right code was answered after the lock: {answer:?}"
    );
    assert!(!has_account(&host).await);
    // Its code was not used up.
    let enrollment = host.engine.resume_enrollment(target_id).await.unwrap();
    assert_eq!(enrollment.attempts_left(), 3);
}
