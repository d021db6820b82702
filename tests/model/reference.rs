//! The reference model: the engine's documented behaviour, written out plainly. The payment
//! flow is here; enrollment and accounts in `accounts.rs`, refunds and the path without a code
//! in `money.rs`, a number's guard in `ledger.rs`.

use std::collections::{HashMap, VecDeque};

use buyster::memory::BankFault;
use buyster::{
    AccountStatus, CancelReason, DeclineReason, EnrollmentFailure, EnrollmentKind, SpendingLimit,
    StateKind,
};
use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;

use super::ledger::Guard;

pub const MINUTE: u64 = 60_000;
pub const NUMBERS: usize = 3;
pub const CODE_ATTEMPTS: u8 = 3;
const RESENDS: u8 = 3;
pub const CODE_TTL: u64 = 5 * MINUTE;
const PAYMENT_TTL: u64 = 15 * MINUTE;
const COOLDOWN: u64 = 30_000;

/// A command.
#[derive(Clone, Debug)]
pub enum Op {
    Enroll {
        number: usize,
    },
    StartEnrollment {
        number: usize,
    },
    FinishEnrollment {
        enrollment: usize,
        right: bool,
        weak_pin: bool,
    },
    ChangePin {
        number: usize,
        right: bool,
    },
    ResetPin {
        number: usize,
    },
    Unlock {
        number: usize,
    },
    SetStatus {
        number: usize,
        status: AccountStatus,
    },
    Initiate {
        number: usize,
        amount: u64,
    },
    VerifyPin {
        payment: usize,
        right: bool,
    },
    SendCode {
        payment: usize,
    },
    AuthorizeExempt {
        payment: usize,
    },
    Resend {
        payment: usize,
    },
    Confirm {
        payment: usize,
        code: Code,
    },
    Settle {
        payment: usize,
    },
    Cancel {
        payment: usize,
    },
    Recover {
        payment: usize,
    },
    Refund {
        payment: usize,
        key: u8,
        amount: u64,
    },
    Advance {
        millis: u64,
    },
    BankFault(BankFault),
    SmsFault,
    Restart,
}

/// Which code the buyer types.
#[derive(Clone, Copy, Debug)]
pub enum Code {
    Right,
    Wrong,
    /// The last code sent for another payment.
    OtherPayments(usize),
}

/// The answer a command must get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Ok,
    Rejected(u8),
    Locked(Option<u64>),
    Expired,
    WrongState(StateKind, StateKind),
    WrongEnrollmentState(EnrollmentKind, EnrollmentKind),
    RateLimited(u64),
    ResendTooSoon(u64),
    ResendLimit,
    Sms,
    TooManyAttempts,
    Declined(DeclineReason),
    Bank,
    AlreadyEnrolled,
    NotEnrolled,
    AccountClosed,
    WeakPin,
    LimitExceeded(SpendingLimit, Option<u64>),
    /// `Payment::exemption` gave no ticket.
    NotExempt,
    RefundTooLarge(Option<u64>),
    RefundKeyReused,
    TooManyRefunds,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Expired,
    Cancelled,
    TooManyAttempts,
    Declined(DeclineReason),
}

/// A number: its account, if it has one, and its guard.
#[derive(Clone, Debug)]
pub struct Number {
    /// An account record exists (whatever its status).
    pub enrolled: bool,
    pub status: AccountStatus,
    /// Which of the two PINs the account has.
    pub pin: usize,
    pub guard: Guard,
}

impl Number {
    /// Whether its account passes a PIN check.
    pub fn pays(&self) -> bool {
        self.enrolled && self.status == AccountStatus::Active
    }

    /// Whether an enrollment would find it enrolled.
    pub fn holds_account(&self) -> bool {
        self.enrolled && self.status != AccountStatus::Closed
    }
}

/// One refund of a payment, and what the bank decided for its key.
#[derive(Clone, Debug)]
pub struct Refund {
    pub key: u8,
    pub amount: u64,
    /// `None` while pending.
    pub status: Option<Result<(), DeclineReason>>,
}

#[derive(Clone, Debug)]
pub struct Payment {
    pub number: usize,
    pub amount: u64,
    pub state: StateKind,
    pub reason: Option<Reason>,
    pub expires_at: u64,
    pub attempts_left: u8,
    pub resends_left: u8,
    pub code_expires_at: u64,
    last_sent: u64,
    /// Whether the right code of this payment was typed (and the code consumed).
    pub authorized_by_code: bool,
    /// Whether it was authorized without a code, under the low-value exemption.
    pub authorized_by_exemption: bool,
    /// Whether the right PIN counted the first SMS in the number's window.
    sms_counted: bool,
    /// Whether the right PIN found it exempt from the code.
    pub exempt: bool,
    /// What the bank decided for this payment's key, if anything.
    pub ledger: Option<Result<(), DeclineReason>>,
    pub refunds: Vec<Refund>,
    /// What the bank decided for each refund key.
    pub refund_ledger: HashMap<u8, Result<(), DeclineReason>>,
}

#[derive(Clone, Debug)]
pub struct Enrollment {
    pub number: usize,
    pub state: EnrollmentKind,
    pub reason: Option<EnrollmentFailure>,
    pub attempts_left: u8,
    pub expires_at: u64,
}

#[derive(Clone, Debug)]
pub struct Model {
    pub now: u64,
    pub numbers: Vec<Number>,
    pub payments: Vec<Payment>,
    pub enrollments: Vec<Enrollment>,
    pub bank_faults: VecDeque<BankFault>,
    pub sms_faults: usize,
    /// SMS delivered, per number.
    pub delivered: Vec<usize>,
    pub debits: usize,
    pub refunds: usize,
    pub last: Expect,
}

impl Model {
    pub fn new() -> Self {
        let number = Number {
            enrolled: false,
            status: AccountStatus::Active,
            pin: 0,
            guard: Guard::new(),
        };
        let mut numbers = vec![number; NUMBERS];
        numbers[0].enrolled = true;
        Self {
            now: 0,
            numbers,
            payments: Vec::new(),
            enrollments: Vec::new(),
            bank_faults: VecDeque::new(),
            sms_faults: 0,
            delivered: vec![0; NUMBERS],
            debits: 0,
            refunds: 0,
            last: Expect::Ok,
        }
    }

    /// Payment `p` fails; its share of the limits comes back.
    pub fn fail(&mut self, p: usize, reason: Reason) {
        self.payments[p].state = StateKind::Failed;
        self.payments[p].reason = Some(reason);
        self.numbers[self.payments[p].number].guard.release(p);
    }

    pub fn expired(&self, p: usize) -> bool {
        self.now >= self.payments[p].expires_at
    }

    /// The check `resume::<S>` makes.
    pub fn resume(&self, p: usize, expected: StateKind) -> Result<(), Expect> {
        let found = self.payments[p].state;
        if found == expected {
            Ok(())
        } else {
            Err(Expect::WrongState(expected, found))
        }
    }

    /// `Expired` once the payment is failed, when it is past its time to live.
    fn not_expired(&mut self, p: usize) -> Result<(), Expect> {
        if self.expired(p) {
            self.fail(p, Reason::Expired);
            return Err(Expect::Expired);
        }
        Ok(())
    }

    fn initiate(&mut self, number: usize, amount: u64) -> Expect {
        self.payments.push(Payment {
            number,
            amount,
            state: StateKind::Initiated,
            reason: None,
            expires_at: self.now + PAYMENT_TTL,
            attempts_left: 0,
            resends_left: 0,
            code_expires_at: 0,
            last_sent: 0,
            authorized_by_code: false,
            authorized_by_exemption: false,
            sms_counted: false,
            exempt: false,
            ledger: None,
            refunds: Vec::new(),
            refund_ledger: HashMap::new(),
        });
        Expect::Ok
    }

    fn verify_pin(&mut self, p: usize, right: bool) -> Expect {
        if let Err(e) = self
            .resume(p, StateKind::Initiated)
            .and_then(|()| self.not_expired(p))
        {
            return e;
        }
        let (now, amount) = (self.now, self.payments[p].amount);
        let n = &mut self.numbers[self.payments[p].number];
        if let Err(e) = n.guard.check_open(now) {
            return e;
        }
        if !(right && n.pays()) {
            return wrong_pin(&mut n.guard, now);
        }
        n.guard.clear();
        let exempt = match n.guard.reserve(p, amount, now) {
            Ok(exempt) => exempt,
            Err(refusal) => return refusal,
        };
        // The same write counts the SMS to come, when one is needed and the window has room.
        let counted = !exempt && n.guard.count_sms(now).is_ok();
        let payment = &mut self.payments[p];
        payment.state = StateKind::PinVerified;
        payment.sms_counted = counted;
        payment.exempt = exempt;
        Expect::Ok
    }

    /// Counts an SMS in the number's window (unless `counted`) and hands it to the gateway.
    pub fn dispatch(&mut self, number: usize, counted: bool) -> Result<(), Expect> {
        if !counted {
            self.numbers[number].guard.count_sms(self.now)?;
        }
        if self.sms_faults > 0 {
            self.sms_faults -= 1;
            return Err(Expect::Sms);
        }
        self.delivered[number] += 1;
        Ok(())
    }

    fn send_code(&mut self, p: usize) -> Expect {
        if let Err(e) = self
            .resume(p, StateKind::PinVerified)
            .and_then(|()| self.not_expired(p))
        {
            return e;
        }
        let counted = self.payments[p].sms_counted;
        if let Err(e) = self.dispatch(self.payments[p].number, counted) {
            // Put back as `PinVerified`, on the code's path now; a counted SMS stays counted.
            self.payments[p].exempt = false;
            if e == Expect::Sms {
                self.payments[p].sms_counted = false;
            }
            return e;
        }
        let now = self.now;
        let payment = &mut self.payments[p];
        payment.state = StateKind::OtpSent;
        payment.attempts_left = CODE_ATTEMPTS;
        payment.resends_left = RESENDS;
        payment.last_sent = now;
        payment.code_expires_at = (now + CODE_TTL).min(payment.expires_at);
        Expect::Ok
    }

    fn resend(&mut self, p: usize) -> Expect {
        if let Err(e) = self
            .resume(p, StateKind::OtpSent)
            .and_then(|()| self.not_expired(p))
        {
            return e;
        }
        let payment = &self.payments[p];
        if payment.resends_left == 0 {
            return Expect::ResendLimit;
        }
        if self.now < payment.last_sent + COOLDOWN {
            return Expect::ResendTooSoon(payment.last_sent + COOLDOWN);
        }
        if let Err(e) = self.dispatch(payment.number, false) {
            return e;
        }
        let now = self.now;
        let payment = &mut self.payments[p];
        payment.resends_left -= 1;
        payment.last_sent = now;
        payment.code_expires_at = (now + CODE_TTL).min(payment.expires_at);
        Expect::Ok
    }

    fn confirm(&mut self, p: usize, right: bool) -> Expect {
        if let Err(e) = self
            .resume(p, StateKind::OtpSent)
            .and_then(|()| self.not_expired(p))
        {
            return e;
        }
        if self.now >= self.payments[p].code_expires_at {
            return Expect::Expired;
        }
        if right {
            self.payments[p].state = StateKind::Authorized;
            self.payments[p].authorized_by_code = true;
            // A full authentication: the exemption's streak starts again.
            self.numbers[self.payments[p].number].guard.end_streak();
            return self.settle_now(p);
        }
        let payment = &mut self.payments[p];
        payment.attempts_left -= 1;
        if payment.attempts_left == 0 {
            self.fail(p, Reason::TooManyAttempts);
            return Expect::TooManyAttempts;
        }
        Expect::Rejected(payment.attempts_left)
    }

    /// The bank call of an authorized payment, as the memory bank plays it.
    pub fn settle_now(&mut self, p: usize) -> Expect {
        let fault = self.bank_faults.pop_front();
        let first = self.payments[p].ledger;
        let outcome = match (fault, first) {
            (Some(BankFault::Unavailable), _) => return Expect::Bank,
            (Some(BankFault::AppliedButUnavailable), None) => {
                self.payments[p].ledger = Some(Ok(()));
                self.debits += 1;
                return Expect::Bank;
            }
            (Some(BankFault::AppliedButUnavailable), Some(_)) => return Expect::Bank,
            (Some(BankFault::Decline(reason)), None) => Err(reason),
            (_, Some(decided)) => decided,
            (None, None) => {
                self.debits += 1;
                Ok(())
            }
            (Some(_), None) => unreachable!("no other fault"),
        };
        self.payments[p].ledger = Some(outcome);
        match outcome {
            Ok(()) => {
                self.payments[p].state = StateKind::Confirmed;
                Expect::Ok
            }
            Err(reason) => {
                self.fail(p, Reason::Declined(reason));
                Expect::Declined(reason)
            }
        }
    }

    fn cancel(&mut self, p: usize) -> Expect {
        match self.payments[p].state {
            StateKind::Initiated | StateKind::PinVerified | StateKind::OtpSent => {
                let reason = if self.expired(p) {
                    Reason::Expired
                } else {
                    Reason::Cancelled
                };
                self.fail(p, reason);
                Expect::Ok
            }
            StateKind::Failed => Expect::Ok,
            found => Expect::WrongState(StateKind::OtpSent, found),
        }
    }

    fn recover(&mut self, p: usize) -> Expect {
        match self.payments[p].state {
            StateKind::Authorized => {
                let _ = self.settle_now(p);
            }
            StateKind::Initiated | StateKind::PinVerified | StateKind::OtpSent
                if self.expired(p) =>
            {
                self.fail(p, Reason::Expired);
            }
            _ => {}
        }
        Expect::Ok
    }
}

/// A wrong PIN (or a refused account) counted at `now`: the answer.
pub fn wrong_pin(guard: &mut Guard, now: u64) -> Expect {
    match guard.fail(now) {
        Ok(left) => Expect::Rejected(left),
        Err(until) => Expect::Locked(until),
    }
}

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}

pub struct Reference;

impl Reference {
    pub fn step(mut model: Model, op: &Op) -> Model {
        model.last = match *op {
            Op::Enroll { number } => model.enroll(number),
            Op::StartEnrollment { number } => model.start_enrollment(number),
            Op::FinishEnrollment {
                enrollment,
                right,
                weak_pin,
            } => model.finish_enrollment(enrollment, right, weak_pin),
            Op::ChangePin { number, right } => model.change_pin(number, right),
            Op::ResetPin { number } => model.reset_pin(number),
            Op::Unlock { number } => model.unlock(number),
            Op::SetStatus { number, status } => model.set_status(number, status),
            Op::Initiate { number, amount } => model.initiate(number, amount),
            Op::VerifyPin { payment, right } => model.verify_pin(payment, right),
            Op::SendCode { payment } => model.send_code(payment),
            Op::AuthorizeExempt { payment } => model.authorize_exempt(payment),
            Op::Resend { payment } => model.resend(payment),
            Op::Confirm { payment, code } => model.confirm(payment, matches!(code, Code::Right)),
            Op::Settle { payment } => match model.resume(payment, StateKind::Authorized) {
                Ok(()) => model.settle_now(payment),
                Err(e) => e,
            },
            Op::Cancel { payment } => model.cancel(payment),
            Op::Recover { payment } => model.recover(payment),
            Op::Refund {
                payment,
                key,
                amount,
            } => model.refund(payment, key, amount),
            Op::Advance { millis } => {
                model.now += millis;
                Expect::Ok
            }
            Op::BankFault(fault) => {
                model.bank_faults.push_back(fault);
                Expect::Ok
            }
            Op::SmsFault => {
                model.sms_faults += 1;
                Expect::Ok
            }
            Op::Restart => Expect::Ok,
        };
        model
    }
}

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

/// Reasons as the model names them, for a stored failure reason.
pub fn reason_of(reason: buyster::FailureReason) -> Reason {
    match reason {
        buyster::FailureReason::Expired => Reason::Expired,
        buyster::FailureReason::Cancelled(CancelReason::Buyer) => Reason::Cancelled,
        buyster::FailureReason::TooManyAttempts => Reason::TooManyAttempts,
        buyster::FailureReason::Declined(reason) => Reason::Declined(reason),
        other => panic!("unexpected reason {other:?}"),
    }
}
