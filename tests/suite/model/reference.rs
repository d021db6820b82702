//! The reference model: the engine's documented behaviour, written out plainly. Its state and
//! commands are here; the payment flow in `payments.rs`, enrollment and accounts in
//! `accounts.rs`, refunds and the path without a code in `money.rs`, a number's guard in
//! `ledger.rs`, and the random commands in `commands.rs`.

use std::collections::{HashMap, VecDeque};

use super::ledger::Guard;
use buyster::memory::BankFault;
use buyster::{
    AccountStatus, CancelReason, DeclineReason, EnrollmentFailure, EnrollmentKind, SpendingLimit,
    StateKind,
};

pub const MINUTE: u64 = 60_000;
pub const NUMBERS: usize = 3;
pub const CODE_ATTEMPTS: u8 = 3;
pub const RESENDS: u8 = 3;
pub const CODE_TTL: u64 = 5 * MINUTE;
pub const PAYMENT_TTL: u64 = 15 * MINUTE;
pub const COOLDOWN: u64 = 30_000;

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
    /// The payments authorized without a code since the last one authorized by its code (a
    /// declined one taken out): what PSD2 RTS art. 16 bounds, kept apart from the guard's
    /// own bookkeeping.
    pub without_code: Vec<usize>,
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
    pub last_sent: u64,
    /// Whether the right code of this payment was typed (and the code consumed).
    pub authorized_by_code: bool,
    /// Whether it was authorized without a code, under the low-value exemption.
    pub authorized_by_exemption: bool,
    /// Whether the right PIN counted the first SMS in the number's window.
    pub sms_counted: bool,
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
            without_code: Vec::new(),
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
