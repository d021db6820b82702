//! Policy validation at `build()`.

use crate::common::*;
use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
use buyster::{Engine, Error, Keys, Policy, SecretKey};

fn build(policy: Policy) -> Result<(), Error> {
    Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(MemoryStore::new())
        .sms(MemorySms::new())
        .bank(MemoryBank::new())
        .policy(policy)
        .build()
        .map(drop)
}

#[test]
fn psd2_caps_consecutive_pin_failures_at_five() {
    let error = build(Policy {
        max_pin_failures: 6,
        ..Policy::default()
    })
    .unwrap_err();
    let Error::InvalidPolicy(problem) = &error else {
        panic!("{error}")
    };
    assert_eq!(problem.field(), "max_pin_failures");
    assert!(error.to_string().contains("PSD2"), "{error}");
    build(Policy {
        max_pin_failures: 5,
        ..Policy::default()
    })
    .unwrap();
}

#[test]
fn durations_and_counts_are_checked() {
    let cases = [
        (
            Policy {
                code_ttl: minutes(20),
                ..Policy::default()
            },
            "code_ttl",
        ),
        (
            Policy {
                payment_ttl: seconds(10),
                ..Policy::default()
            },
            "payment_ttl",
        ),
        (
            Policy {
                code_digits: 4,
                ..Policy::default()
            },
            "code_digits",
        ),
        (
            Policy {
                max_code_attempts: 0,
                ..Policy::default()
            },
            "max_code_attempts",
        ),
        (
            Policy {
                max_sms_per_number: 0,
                ..Policy::default()
            },
            "max_sms_per_number",
        ),
        (
            Policy {
                resend_cooldown: minutes(6),
                ..Policy::default()
            },
            "resend_cooldown",
        ),
        (
            Policy {
                min_pin_digits: 7,
                max_pin_digits: 6,
                ..Policy::default()
            },
            "max_pin_digits",
        ),
    ];
    for (policy, field) in cases {
        match build(policy) {
            Err(Error::InvalidPolicy(problem)) => assert_eq!(problem.field(), field),
            other => panic!("{field}: {other:?}"),
        }
    }
    build(Policy::default()).unwrap();
}

#[tokio::test]
async fn a_longer_code_is_sent_when_the_policy_asks() {
    let host = Host::with_policy(Policy {
        code_digits: 8,
        max_code_attempts: 5,
        ..Policy::default()
    })
    .await;
    let sent = host.sent().await;
    assert_eq!(sent.attempts_left(), 5);
    assert_eq!(host.code().expose_secret().len(), 8);
}
