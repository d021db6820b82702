//! The random commands: what proptest draws, and when a command may be drawn.

use buyster::memory::BankFault;
use buyster::{AccountStatus, DeclineReason};
use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;

use super::reference::{Code, MINUTE, Model, NUMBERS, Op, Reference};

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model::new()).boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Op> {
        let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![(5, general_ops().boxed())];
        if !state.enrollments.is_empty() {
            let enrollments = 0..state.enrollments.len();
            let finish = (
                enrollments,
                prop::bool::weighted(0.7),
                prop::bool::weighted(0.1),
            )
                .prop_map(|(enrollment, right, weak_pin)| Op::FinishEnrollment {
                    enrollment,
                    right,
                    weak_pin,
                });
            ops.push((3, finish.boxed()));
        }
        if !state.payments.is_empty() {
            ops.extend(payment_ops(state.payments.len()));
        }
        prop::strategy::Union::new_weighted(ops).boxed()
    }

    fn preconditions(state: &Model, op: &Op) -> bool {
        let exists = |p: usize| p < state.payments.len();
        match *op {
            Op::VerifyPin { payment, .. }
            | Op::SendCode { payment }
            | Op::AuthorizeExempt { payment }
            | Op::Resend { payment }
            | Op::Settle { payment }
            | Op::Cancel { payment }
            | Op::Recover { payment }
            | Op::Refund { payment, .. } => exists(payment),
            Op::Confirm { payment, code } => {
                exists(payment)
                    && !matches!(code, Code::OtherPayments(other) if !exists(other) || other == payment)
            }
            Op::FinishEnrollment { enrollment, .. } => enrollment < state.enrollments.len(),
            _ => true,
        }
    }

    fn apply(model: Model, op: &Op) -> Model {
        Self::step(model, op)
    }
}

/// The commands on one of `count` payments, weighted.
fn payment_ops(count: usize) -> Vec<(u32, BoxedStrategy<Op>)> {
    let payments = 0..count;
    let code = prop_oneof![
        3 => Just(Code::Right),
        2 => Just(Code::Wrong),
        1 => payments.clone().prop_map(Code::OtherPayments),
    ];
    let refund_amounts = prop::sample::select(vec![1u64, 1_000, 2_990, 4_990, 60_000]);
    let on = |f: fn(usize) -> Op| payments.clone().prop_map(f).boxed();
    vec![
        (
            6,
            (payments.clone(), prop::bool::weighted(0.6))
                .prop_map(|(payment, right)| Op::VerifyPin { payment, right })
                .boxed(),
        ),
        (4, on(|payment| Op::SendCode { payment })),
        (2, on(|payment| Op::AuthorizeExempt { payment })),
        (2, on(|payment| Op::Resend { payment })),
        (
            6,
            (payments.clone(), code)
                .prop_map(|(payment, code)| Op::Confirm { payment, code })
                .boxed(),
        ),
        (1, on(|payment| Op::Settle { payment })),
        (1, on(|payment| Op::Cancel { payment })),
        (1, on(|payment| Op::Recover { payment })),
        (
            3,
            (payments.clone(), 0u8..4, refund_amounts)
                .prop_map(|(payment, key, amount)| Op::Refund {
                    payment,
                    key,
                    amount,
                })
                .boxed(),
        ),
    ]
}

/// The commands that need no payment.
fn general_ops() -> impl Strategy<Value = Op> {
    let numbers = 0..NUMBERS;
    let amounts = prop::sample::select(vec![1u64, 2_990, 4_990, 60_000, 99_999, 100_001]);
    let advance = prop::sample::select(vec![
        1_000u64,
        10_000,
        30_000,
        61_000,
        5 * MINUTE,
        10 * MINUTE,
        16 * MINUTE,
        120 * MINUTE,
        25 * 60 * MINUTE,
    ]);
    let faults = prop::sample::select(vec![
        BankFault::Unavailable,
        BankFault::AppliedButUnavailable,
        BankFault::Decline(DeclineReason::InsufficientFunds),
    ]);
    let statuses = prop::sample::select(vec![
        AccountStatus::Active,
        AccountStatus::Suspended,
        AccountStatus::Closed,
    ]);
    prop_oneof![
        4 => (numbers.clone(), amounts).prop_map(|(number, amount)| Op::Initiate { number, amount }),
        1 => numbers.clone().prop_map(|number| Op::Enroll { number }),
        2 => numbers.clone().prop_map(|number| Op::StartEnrollment { number }),
        1 => (numbers.clone(), prop::bool::weighted(0.6)).prop_map(|(number, right)| Op::ChangePin { number, right }),
        1 => numbers.clone().prop_map(|number| Op::ResetPin { number }),
        1 => numbers.clone().prop_map(|number| Op::Unlock { number }),
        1 => (numbers, statuses).prop_map(|(number, status)| Op::SetStatus { number, status }),
        2 => advance.prop_map(|millis| Op::Advance { millis }),
        1 => faults.prop_map(Op::BankFault),
        1 => Just(Op::SmsFault),
        1 => Just(Op::Restart),
    ]
}
