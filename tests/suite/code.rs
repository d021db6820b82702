//! Codes: wrong codes, exhaustion, expiry, resends, SMS limits, dynamic linking, SMS failures.

use crate::common::*;
use buyster::{
    CodeCheck, DigitsError, Error, FailureReason, OtpCode, PinCheck, PinVerified, SmsError,
    StateKind,
};

#[tokio::test]
async fn a_wrong_code_is_an_answer_and_is_counted() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    let code = host.code();
    let CodeCheck::Rejected {
        payment,
        attempts_left,
    } = host.engine.confirm(sent, &other_code(&code)).await.unwrap()
    else {
        panic!("wrong code accepted");
    };
    assert_eq!(attempts_left, 2);
    assert_eq!(payment.attempts_left(), 2);
    assert_eq!(host.stored_otp(id).await.attempts_left(), 2);
    assert!(host.bank.debits().is_empty());
    let answer = host.engine.confirm(payment, &code).await.unwrap();
    assert!(matches!(answer, CodeCheck::Confirmed(_)));
    assert_eq!(host.bank.debits().len(), 1);
}

#[tokio::test]
async fn the_third_wrong_code_fails_the_payment() {
    let host = Host::new().await;
    let mut payment = host.sent().await;
    let id = payment.id();
    let code = host.code();
    let wrong = other_code(&code);
    for left in [2, 1] {
        match host.engine.confirm(payment, &wrong).await.unwrap() {
            CodeCheck::Rejected {
                payment: p,
                attempts_left,
            } => {
                assert_eq!(attempts_left, left);
                payment = p;
            }
            CodeCheck::Confirmed(_) => panic!(),
        }
    }
    assert!(matches!(
        host.engine.confirm(payment, &wrong).await,
        Err(Error::TooManyAttempts)
    ));
    assert_eq!(host.failure(id).await, FailureReason::TooManyAttempts);
    // The right code is now worthless.
    let error = host
        .engine
        .resume::<buyster::OtpSent>(id)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::WrongState {
            found: StateKind::Failed,
            ..
        }
    ));
    assert!(host.bank.debits().is_empty());
}

#[tokio::test]
async fn an_expired_code_is_refused_uncounted_and_a_new_one_works() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    let old = host.code();
    host.clock.advance(minutes(5));
    assert!(matches!(
        host.engine.confirm(sent, &old).await,
        Err(Error::Expired)
    ));
    let stored = host.stored_otp(id).await;
    assert_eq!(stored.attempts_left(), 3, "an expired code is not a guess");

    let resent = host.engine.resend_code(stored).await.unwrap();
    assert_eq!(resent.code_expires_at(), after(T0, minutes(10)));
    let answer = host.engine.confirm(resent, &host.code()).await.unwrap();
    assert!(matches!(answer, CodeCheck::Confirmed(_)));
}

#[tokio::test]
async fn an_expired_payment_fails() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    let code = host.code();
    host.clock.advance(minutes(15));
    assert!(matches!(
        host.engine.confirm(sent, &code).await,
        Err(Error::Expired)
    ));
    assert_eq!(host.failure(id).await, FailureReason::Expired);
    assert!(host.bank.debits().is_empty());
}

#[tokio::test]
async fn a_code_never_outlives_its_payment() {
    let host = Host::new().await;
    let verified = host.verified().await;
    host.clock.advance(minutes(12));
    let sent = host.engine.send_code(verified).await.unwrap();
    assert_eq!(sent.code_expires_at(), after(T0, minutes(15)));
}

#[tokio::test]
async fn resending_waits_for_the_cooldown_and_replaces_the_code() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    let first = host.code();
    let error = host.engine.resend_code(sent).await.unwrap_err();
    assert!(
        matches!(error, Error::ResendTooSoon { retry_at } if retry_at == after(T0, seconds(30)))
    );
    assert_eq!(host.stored_otp(id).await.resends_left(), 3);
    assert_eq!(host.sms.sent().len(), 1);

    host.clock.advance(seconds(30));
    let resent = host
        .engine
        .resend_code(host.stored_otp(id).await)
        .await
        .unwrap();
    assert_eq!(resent.resends_left(), 2);
    assert_eq!(host.sms.sent().len(), 2);
    let second = host.code();

    // The old code is now just a wrong code; wrong attempts are per payment.
    let CodeCheck::Rejected {
        payment,
        attempts_left: 2,
    } = host.engine.confirm(resent, &first).await.unwrap()
    else {
        panic!("old code accepted after a resend (or the codes collided)");
    };
    assert!(matches!(
        host.engine.confirm(payment, &second).await.unwrap(),
        CodeCheck::Confirmed(_)
    ));
}

#[tokio::test]
async fn resends_stop_at_the_policy_cap() {
    let host = Host::new().await;
    let mut payment = host.sent().await;
    for left in [2, 1, 0] {
        host.clock.advance(seconds(30));
        payment = host.engine.resend_code(payment).await.unwrap();
        assert_eq!(payment.resends_left(), left);
    }
    let id = payment.id();
    host.clock.advance(seconds(30));
    assert!(matches!(
        host.engine.resend_code(payment).await,
        Err(Error::ResendLimit)
    ));
    assert_eq!(host.sms.sent().len(), 4);
    assert_eq!(host.kind(id).await, StateKind::OtpSent);
}

#[tokio::test]
async fn sms_to_one_number_are_capped_per_window() {
    let host = Host::new().await;
    for _ in 0..5 {
        host.sent().await;
        host.clock.advance(minutes(1));
    }
    let verified = host.verified().await;
    let id = verified.id();
    let error = host.engine.send_code(verified).await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { retry_at } if retry_at == after(T0, minutes(10))));
    assert_eq!(host.kind(id).await, StateKind::PinVerified);
    assert_eq!(host.sms.sent().len(), 5);

    host.clock.set(after(T0, minutes(10)));
    let verified = host.engine.resume::<PinVerified>(id).await.unwrap();
    host.engine.send_code(verified).await.unwrap();
    assert_eq!(host.sms.sent().len(), 6);
}

#[tokio::test]
async fn a_code_is_bound_to_its_payment() {
    let host = Host::new().await;
    let a = host.sent().await;
    let code_a = host.code();
    let b = host.sent().await;
    let code_b = host.code();
    let CodeCheck::Rejected {
        payment: b,
        attempts_left: 2,
    } = host.engine.confirm(b, &code_a).await.unwrap()
    else {
        panic!("payment A's code paid payment B (or the codes collided)");
    };
    assert!(matches!(
        host.engine.confirm(b, &code_b).await.unwrap(),
        CodeCheck::Confirmed(_)
    ));
    assert!(matches!(
        host.engine.confirm(a, &code_a).await.unwrap(),
        CodeCheck::Confirmed(_)
    ));
    assert_eq!(host.bank.debits().len(), 2);
}

#[tokio::test]
async fn a_failed_sms_leaves_the_payment_ready_to_send_again() {
    let host = Host::new().await;
    let verified = host.verified().await;
    let id = verified.id();
    host.sms.fail_next();
    let error = host.engine.send_code(verified).await.unwrap_err();
    assert!(matches!(error, Error::Sms(SmsError::Unavailable)));
    assert_eq!(host.kind(id).await, StateKind::PinVerified);
    assert!(host.sms.sent().is_empty());

    let verified = host.engine.resume::<PinVerified>(id).await.unwrap();
    let sent = host.engine.send_code(verified).await.unwrap();
    assert!(matches!(
        host.engine.confirm(sent, &host.code()).await.unwrap(),
        CodeCheck::Confirmed(_)
    ));
}

#[tokio::test]
async fn a_failed_resend_keeps_the_previous_code() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    let code = host.code();
    host.clock.advance(seconds(30));
    host.sms.fail_next_with(SmsError::Rejected);
    assert!(matches!(
        host.engine.resend_code(sent).await,
        Err(Error::Sms(SmsError::Rejected))
    ));
    let stored = host.stored_otp(id).await;
    assert_eq!(stored.resends_left(), 3);
    assert_eq!(stored.code_expires_at(), after(T0, minutes(5)));
    assert!(matches!(
        host.engine.confirm(stored, &code).await.unwrap(),
        CodeCheck::Confirmed(_)
    ));
}

#[tokio::test]
async fn a_malformed_code_is_a_typed_error() {
    assert!(matches!(
        "48291".parse::<OtpCode>(),
        Err(Error::InvalidCode(DigitsError::Length { min: 6, max: 9 }))
    ));
    assert!(matches!(
        "48291a".parse::<OtpCode>(),
        Err(Error::InvalidCode(DigitsError::NotDigits))
    ));
    assert!(matches!(
        "".parse::<OtpCode>(),
        Err(Error::InvalidCode(DigitsError::Empty))
    ));
}

#[tokio::test]
async fn a_stale_payment_value_cannot_undo_a_wrong_guess() {
    let host = Host::new().await;
    let id = host.sent().await.id();
    let code = host.code();
    let wrong = other_code(&code);
    // Two tabs hold the payment; one spends an attempt, the other still sees 3.
    let first = host.stored_otp(id).await;
    let second = host.stored_otp(id).await;
    assert!(matches!(
        host.engine.confirm(first, &wrong).await.unwrap(),
        CodeCheck::Rejected {
            attempts_left: 2,
            ..
        }
    ));
    assert_eq!(second.attempts_left(), 3);
    let CodeCheck::Rejected { attempts_left, .. } =
        host.engine.confirm(second, &wrong).await.unwrap()
    else {
        panic!();
    };
    assert_eq!(attempts_left, 1, "the stale tab re-read the stored counter");
    assert_eq!(host.stored_otp(id).await.attempts_left(), 1);
}

#[tokio::test]
async fn the_pin_comes_before_any_sms() {
    let host = Host::new().await;
    let payment = host.initiate().await;
    let PinCheck::Rejected { .. } = host
        .engine
        .verify_pin(payment, &pin(WRONG_PIN))
        .await
        .unwrap()
    else {
        panic!();
    };
    assert!(host.sms.sent().is_empty());
    assert_eq!(host.sms.attempts(), 0);
}

#[tokio::test]
async fn a_rate_limited_resend_keeps_the_previous_code() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    let code = host.code();
    for _ in 0..4 {
        host.sent().await;
    }
    host.clock.advance(seconds(30));
    let error = host.engine.resend_code(sent).await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { retry_at } if retry_at == after(T0, minutes(10))));
    let stored = host.stored_otp(id).await;
    assert_eq!(stored.resends_left(), 3);
    assert_eq!(stored.state().last_sent_at(), T0);
    assert_eq!(host.sms.sent().len(), 5);
    assert!(matches!(
        host.engine.confirm(stored, &code).await.unwrap(),
        CodeCheck::Confirmed(_)
    ));
}

#[tokio::test]
async fn a_stale_value_of_a_paid_payment_is_not_reported_expired() {
    let host = Host::new().await;
    let id = host.sent().await.id();
    let code = host.code();
    let (first, second) = (host.stored_otp(id).await, host.stored_otp(id).await);
    assert!(matches!(
        host.engine.confirm(first, &code).await.unwrap(),
        CodeCheck::Confirmed(_)
    ));
    host.clock.advance(minutes(20));
    let error = host.engine.confirm(second, &code).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::WrongState {
                expected: StateKind::OtpSent,
                found: StateKind::Confirmed
            }
        ),
        "{error}"
    );
    assert_eq!(host.kind(id).await, StateKind::Confirmed);
    assert_eq!(host.bank.debits().len(), 1);
}

#[tokio::test]
async fn a_stale_value_of_a_cancelled_payment_is_not_reported_expired() {
    let host = Host::new().await;
    let sent = host.sent().await;
    let id = sent.id();
    host.engine
        .cancel(id, buyster::CancelReason::Buyer)
        .await
        .unwrap();
    host.clock.advance(minutes(20));
    let error = host.engine.confirm(sent, &host.code()).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::WrongState {
                found: StateKind::Failed,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(
        host.failure(id).await,
        FailureReason::Cancelled(buyster::CancelReason::Buyer)
    );
}
