//! Model-based test: a reference model of the whole engine (accounts and their status,
//! enrollments, guards with their spending ledger and exemption streak, payments and their
//! refunds, SMS outbox, bank ledger, clock), and random sequences of up to 50 commands run
//! against both the model and the engine on the memory host. After every step the engine's
//! answer must be the model's, and the stored state the model's state; the checks in
//! `model/invariants.rs` hold throughout.
//!
//! Records are never removed here: removal is `recover_due`'s, which no command runs (the
//! store's due index is `due.rs`'s to test), so every payment and enrollment the model made
//! stays stored, whatever the clock, and the model needs no notion of retention.
//!
//! `PROPTEST_CASES` sets the number of sequences (1,000 by default).
#![cfg(feature = "testkit")]

mod accounts;
mod commands;
mod driver;
mod invariants;
mod ledger;
mod money;
mod payments;
mod reference;
mod system;

use proptest::test_runner::Config;
use proptest_state_machine::prop_state_machine;
use reference::Reference;
use system::EngineUnderTest;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

prop_state_machine! {
    #![proptest_config(config())]

    #[test]
    fn the_engine_behaves_like_its_model(sequential 1..50 => EngineUnderTest);
}

#[test]
fn the_model_gives_the_documented_answers() {
    use reference::{Expect, Op};
    let model = reference::Model::new();
    let model = Reference::step(
        model,
        &Op::Initiate {
            number: 0,
            amount: 4990,
        },
    );
    assert_eq!(model.last, Expect::Ok);
    let model = Reference::step(
        model,
        &Op::VerifyPin {
            payment: 0,
            right: false,
        },
    );
    assert_eq!(model.last, Expect::Rejected(2));
    let model = Reference::step(
        model,
        &Op::VerifyPin {
            payment: 0,
            right: false,
        },
    );
    assert_eq!(model.last, Expect::Rejected(1));
    let model = Reference::step(
        model,
        &Op::VerifyPin {
            payment: 0,
            right: false,
        },
    );
    let lock = Expect::Locked(Some(15 * reference::MINUTE));
    assert_eq!(model.last, lock);
    let model = Reference::step(
        model,
        &Op::VerifyPin {
            payment: 0,
            right: true,
        },
    );
    assert_eq!(model.last, lock);
}

/// The random sequences reach every kind of answer: a model test whose commands never got past
/// their first refusal would prove nothing.
#[test]
fn the_sequences_reach_every_answer() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    use proptest_state_machine::ReferenceStateMachine;
    use reference::{Expect, Op};
    use std::collections::BTreeSet;

    let strategy = Reference::sequential_strategy(1..50);
    let mut runner = TestRunner::deterministic();
    let mut seen = BTreeSet::new();
    for _ in 0..2000 {
        let (mut model, ops, _) = strategy.new_tree(&mut runner).unwrap().current();
        for op in &ops {
            model = Reference::step(model, op);
            let answer = format!("{:?}", model.last);
            let name = answer.split(['(', ' ']).next().unwrap().to_owned();
            let command = format!("{op:?}");
            let command = command.split([' ', '(']).next().unwrap().to_owned();
            seen.insert(format!("{command} {name}"));
            if let (Op::Refund { .. }, Expect::Ok) = (op, &model.last) {
                seen.insert("refunded".into());
            }
        }
    }
    for wanted in [
        "StartEnrollment Ok",
        "FinishEnrollment Ok",
        "FinishEnrollment Rejected",
        "FinishEnrollment AlreadyEnrolled",
        "FinishEnrollment WeakPin",
        "FinishEnrollment Expired",
        "FinishEnrollment WrongEnrollmentState",
        "ChangePin Ok",
        "ChangePin Rejected",
        "ResetPin Ok",
        "ResetPin NotEnrolled",
        "SetStatus AccountClosed",
        "Unlock Ok",
        "VerifyPin LimitExceeded",
        "AuthorizeExempt Ok",
        "AuthorizeExempt NotExempt",
        "Refund Ok",
        "Refund RefundTooLarge",
        "Refund RefundKeyReused",
        "Refund Declined",
        "FinishEnrollment TooManyAttempts",
        "FinishEnrollment Locked",
        "AuthorizeExempt Expired",
        "Refund Bank",
        "Refund WrongState",
        "Confirm Ok",
        "VerifyPin Locked",
    ] {
        assert!(seen.contains(wanted), "never seen: {wanted}\n{seen:?}");
    }
}
