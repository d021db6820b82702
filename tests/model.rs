//! Model-based test: a reference model of the whole engine (accounts, guards, payments, SMS
//! outbox, bank ledger, clock), and random sequences of up to 50 commands run against both the
//! model and the engine on the memory host. After every step the engine's answer must be the
//! model's, and the stored state the model's state; the checks below hold throughout.
//!
//! `PROPTEST_CASES` sets the number of sequences (1,000 by default).
#![cfg(feature = "testkit")]

mod common;
mod model {
    pub mod reference;
    pub mod system;
}

use model::reference::Reference;
use model::system::EngineUnderTest;
use proptest::test_runner::Config;
use proptest_state_machine::prop_state_machine;

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
    use model::reference::{Expect, Op};
    let model = model::reference::Model::new();
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
    let lock = Expect::Locked(Some(15 * model::reference::MINUTE));
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
