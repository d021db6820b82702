//! The reference model: the engine's documented behaviour, written out plainly.

use std::collections::VecDeque;

use buyster::memory::BankFault;
use buyster::{CancelReason, DeclineReason, SpendingLimit, StateKind};
use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;

pub const MINUTE: u64 = 60_000;
pub const NUMBERS: usize = 3;
const MAX_PIN_FAILURES: u8 = 3;
const MAX_LOCKS: u8 = 5;
const LOCK: u64 = 15 * MINUTE;
const CODE_ATTEMPTS: u8 = 3;
const RESENDS: u8 = 3;
const CODE_TTL: u64 = 5 * MINUTE;
const PAYMENT_TTL: u64 = 15 * MINUTE;
const COOLDOWN: u64 = 30_000;
const SMS_PER_WINDOW: usize = 5;
const SMS_WINDOW: u64 = 10 * MINUTE;
const DAY: u64 = 24 * 60 * MINUTE;
const PER_PAYMENT: u64 = 100_000;
const PER_DAY: u64 = 150_000;
const PER_30_DAYS: u64 = 300_000;
const RESERVATIONS_KEPT: usize = 16;
/// The engine's clock at the start, for the days of the ledger.
const T0_MILLIS: u64 = 1_795_786_860_000;

/// A command.
#[derive(Clone, Debug)]
pub enum Op {
    Enroll { number: usize },
    Initiate { number: usize, amount: u64 },
    VerifyPin { payment: usize, right: bool },
    SendCode { payment: usize },
    Resend { payment: usize },
    Confirm { payment: usize, code: Code },
    Settle { payment: usize },
    Cancel { payment: usize },
    Recover { payment: usize },
    Advance { millis: u64 },
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
    RateLimited(u64),
    ResendTooSoon(u64),
    ResendLimit,
    Sms,
    TooManyAttempts,
    Declined(DeclineReason),
    Bank,
    AlreadyEnrolled,
    LimitExceeded(SpendingLimit, Option<u64>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Expired,
    Cancelled,
    TooManyAttempts,
    Declined(DeclineReason),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lock {
    Open,
    Until(u64),
    Permanent,
}

#[derive(Clone, Debug)]
pub struct Number {
    pub enrolled: bool,
    failures: u8,
    locks: u8,
    lock: Lock,
    /// When SMS went to the number (kept as the engine keeps them: the recent ones).
    sms: Vec<u64>,
    /// Reservations of the spending limits, oldest first: the payment (none once merged),
    /// the amount, when.
    ledger: Vec<(Option<usize>, u64, u64)>,
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
    /// Whether the right PIN counted the first SMS in the number's window.
    sms_counted: bool,
    /// What the bank decided for this payment's key, if anything.
    pub ledger: Option<Result<(), DeclineReason>>,
}

#[derive(Clone, Debug)]
pub struct Model {
    pub now: u64,
    pub numbers: Vec<Number>,
    pub payments: Vec<Payment>,
    bank_faults: VecDeque<BankFault>,
    sms_faults: usize,
    /// SMS delivered, per number.
    pub delivered: Vec<usize>,
    pub debits: usize,
    pub last: Expect,
}

impl Model {
    pub fn new() -> Self {
        let number = Number {
            enrolled: false,
            failures: 0,
            locks: 0,
            lock: Lock::Open,
            sms: Vec::new(),
            ledger: Vec::new(),
        };
        let mut numbers = vec![number; NUMBERS];
        numbers[0].enrolled = true;
        Self {
            now: 0,
            numbers,
            payments: Vec::new(),
            bank_faults: VecDeque::new(),
            sms_faults: 0,
            delivered: vec![0; NUMBERS],
            debits: 0,
            last: Expect::Ok,
        }
    }

    fn fail(&mut self, p: usize, reason: Reason) {
        self.payments[p].state = StateKind::Failed;
        self.payments[p].reason = Some(reason);
        // A failed payment gives back its share of the limits.
        let number = &mut self.numbers[self.payments[p].number];
        number.ledger.retain(|(payment, _, _)| *payment != Some(p));
    }

    fn expired(&self, p: usize) -> bool {
        self.now >= self.payments[p].expires_at
    }

    /// The check `resume::<S>` makes.
    fn resume(&self, p: usize, expected: StateKind) -> Result<(), Expect> {
        let found = self.payments[p].state;
        if found == expected {
            Ok(())
        } else {
            Err(Expect::WrongState(expected, found))
        }
    }

    fn verify_pin(&mut self, p: usize, right: bool) -> Expect {
        if let Err(e) = self.resume(p, StateKind::Initiated) {
            return e;
        }
        if self.expired(p) {
            self.fail(p, Reason::Expired);
            return Expect::Expired;
        }
        let now = self.now;
        let n = &mut self.numbers[self.payments[p].number];
        match n.lock {
            Lock::Until(until) if now < until => return Expect::Locked(Some(until)),
            Lock::Permanent => return Expect::Locked(None),
            _ => {}
        }
        if right && n.enrolled {
            n.failures = 0;
            n.locks = 0;
            n.lock = Lock::Open;
            let amount = self.payments[p].amount;
            if let Err(refusal) = reserve(n, p, amount, now) {
                return refusal;
            }
            // The same write counts the SMS to come, when the window has room.
            let counted = count_in_window(n, now).is_ok();
            self.payments[p].state = StateKind::PinVerified;
            self.payments[p].sms_counted = counted;
            return Expect::Ok;
        }
        n.lock = Lock::Open;
        n.failures += 1;
        if n.failures < MAX_PIN_FAILURES {
            return Expect::Rejected(MAX_PIN_FAILURES - n.failures);
        }
        n.failures = 0;
        n.locks += 1;
        if n.locks >= MAX_LOCKS {
            n.lock = Lock::Permanent;
            Expect::Locked(None)
        } else {
            let until = now + LOCK * (1 << (n.locks - 1));
            n.lock = Lock::Until(until);
            Expect::Locked(Some(until))
        }
    }

    /// Counts an SMS in the number's window (unless `counted`) and hands it to the gateway.
    fn dispatch(&mut self, number: usize, counted: bool) -> Result<(), Expect> {
        if !counted {
            count_in_window(&mut self.numbers[number], self.now)?;
        }
        if self.sms_faults > 0 {
            self.sms_faults -= 1;
            return Err(Expect::Sms);
        }
        self.delivered[number] += 1;
        Ok(())
    }

    fn send_code(&mut self, p: usize) -> Expect {
        if let Err(e) = self.resume(p, StateKind::PinVerified) {
            return e;
        }
        if self.expired(p) {
            self.fail(p, Reason::Expired);
            return Expect::Expired;
        }
        let counted = self.payments[p].sms_counted;
        if let Err(e) = self.dispatch(self.payments[p].number, counted) {
            // The payment is put back as `PinVerified`; a counted SMS stays counted.
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
        if let Err(e) = self.resume(p, StateKind::OtpSent) {
            return e;
        }
        if self.expired(p) {
            self.fail(p, Reason::Expired);
            return Expect::Expired;
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
        if let Err(e) = self.resume(p, StateKind::OtpSent) {
            return e;
        }
        if self.expired(p) {
            self.fail(p, Reason::Expired);
            return Expect::Expired;
        }
        if self.now >= self.payments[p].code_expires_at {
            return Expect::Expired;
        }
        if right {
            self.payments[p].state = StateKind::Authorized;
            self.payments[p].authorized_by_code = true;
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
    fn settle_now(&mut self, p: usize) -> Expect {
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

/// Reserves `amount` for payment `p` within the three limits, or says which limit refuses it
/// and when it frees up (the one that frees up last).
fn reserve(n: &mut Number, p: usize, amount: u64, now: u64) -> Result<(), Expect> {
    n.ledger.retain(|(_, _, at)| now < at + 30 * DAY);
    if n.ledger.iter().any(|(payment, _, _)| *payment == Some(p)) {
        return Ok(());
    }
    let mut refusals = Vec::new();
    if amount > PER_PAYMENT {
        refusals.push((SpendingLimit::PerPayment, None));
    }
    for (limit, window, max) in [
        (SpendingLimit::Per24Hours, DAY, PER_DAY),
        (SpendingLimit::Per30Days, 30 * DAY, PER_30_DAYS),
    ] {
        let inside: Vec<_> = n
            .ledger
            .iter()
            .filter(|(_, _, at)| now < at + window)
            .collect();
        let mut total = amount + inside.iter().map(|(_, a, _)| a).sum::<u64>();
        if total <= max {
            continue;
        }
        let mut frees = None;
        for (_, a, at) in inside {
            total -= a;
            if total <= max {
                frees = Some(at + window);
                break;
            }
        }
        refusals.push((limit, frees));
    }
    if let Some((limit, frees)) = refusals
        .into_iter()
        .max_by_key(|(_, f)| f.unwrap_or(u64::MAX))
    {
        return Err(Expect::LimitExceeded(limit, frees));
    }
    n.ledger.push((Some(p), amount, now));
    if n.ledger.len() > RESERVATIONS_KEPT {
        // One currency here: the oldest that shares its day with a later one (the newest
        // excepted) merges into it.
        let day = |at: u64| (T0_MILLIS + at) / DAY;
        let older = n.ledger.len() - 1;
        let pair = (0..older).find_map(|i| {
            ((i + 1)..older)
                .find(|&j| day(n.ledger[j].2) == day(n.ledger[i].2))
                .map(|j| (i, j))
        });
        if let Some((i, j)) = pair {
            let (_, first, _) = n.ledger.remove(i);
            n.ledger[j - 1].0 = None;
            n.ledger[j - 1].1 += first;
        }
    }
    Ok(())
}

/// Counts an SMS sent at `now` in the number's window, or says when the window frees up.
fn count_in_window(n: &mut Number, now: u64) -> Result<(), Expect> {
    let recent: Vec<u64> = n
        .sms
        .iter()
        .copied()
        .filter(|t| *t + SMS_WINDOW > now)
        .collect();
    if recent.len() >= SMS_PER_WINDOW {
        return Err(Expect::RateLimited(recent[0] + SMS_WINDOW));
    }
    n.sms = recent;
    n.sms.push(now);
    Ok(())
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
            Op::Enroll { number } => {
                if model.numbers[number].enrolled {
                    Expect::AlreadyEnrolled
                } else {
                    model.numbers[number].enrolled = true;
                    Expect::Ok
                }
            }
            Op::Initiate { number, amount } => {
                model.payments.push(Payment {
                    number,
                    amount,
                    state: StateKind::Initiated,
                    reason: None,
                    expires_at: model.now + PAYMENT_TTL,
                    attempts_left: 0,
                    resends_left: 0,
                    code_expires_at: 0,
                    last_sent: 0,
                    authorized_by_code: false,
                    sms_counted: false,
                    ledger: None,
                });
                Expect::Ok
            }
            Op::VerifyPin { payment, right } => model.verify_pin(payment, right),
            Op::SendCode { payment } => model.send_code(payment),
            Op::Resend { payment } => model.resend(payment),
            Op::Confirm { payment, code } => model.confirm(payment, matches!(code, Code::Right)),
            Op::Settle { payment } => match model.resume(payment, StateKind::Authorized) {
                Ok(()) => model.settle_now(payment),
                Err(e) => e,
            },
            Op::Cancel { payment } => model.cancel(payment),
            Op::Recover { payment } => model.recover(payment),
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
        let numbers = 0..NUMBERS;
        let amounts = prop::sample::select(vec![1u64, 4990, 60_000, 99_999, 100_001]);
        let advance = prop::sample::select(vec![
            1_000u64,
            10_000,
            30_000,
            61_000,
            5 * MINUTE,
            10 * MINUTE,
            16 * MINUTE,
            120 * MINUTE,
        ]);
        let faults = prop::sample::select(vec![
            BankFault::Unavailable,
            BankFault::AppliedButUnavailable,
            BankFault::Decline(DeclineReason::InsufficientFunds),
        ]);
        let general = prop_oneof![
            3 => (numbers.clone(), amounts).prop_map(|(number, amount)| Op::Initiate { number, amount }),
            1 => numbers.prop_map(|number| Op::Enroll { number }),
            2 => advance.prop_map(|millis| Op::Advance { millis }),
            1 => faults.prop_map(Op::BankFault),
            1 => Just(Op::SmsFault),
            1 => Just(Op::Restart),
        ];
        if state.payments.is_empty() {
            return general.boxed();
        }
        let payments = 0..state.payments.len();
        let code = prop_oneof![
            3 => Just(Code::Right),
            2 => Just(Code::Wrong),
            1 => payments.clone().prop_map(Code::OtherPayments),
        ];
        prop_oneof![
            4 => general,
            6 => (payments.clone(), prop::bool::weighted(0.6)).prop_map(|(payment, right)| Op::VerifyPin { payment, right }),
            4 => payments.clone().prop_map(|payment| Op::SendCode { payment }),
            2 => payments.clone().prop_map(|payment| Op::Resend { payment }),
            6 => (payments.clone(), code).prop_map(|(payment, code)| Op::Confirm { payment, code }),
            1 => payments.clone().prop_map(|payment| Op::Settle { payment }),
            1 => payments.clone().prop_map(|payment| Op::Cancel { payment }),
            1 => payments.prop_map(|payment| Op::Recover { payment }),
        ]
        .boxed()
    }

    fn preconditions(state: &Model, op: &Op) -> bool {
        let exists = |p: usize| p < state.payments.len();
        match *op {
            Op::VerifyPin { payment, .. }
            | Op::SendCode { payment }
            | Op::Resend { payment }
            | Op::Settle { payment }
            | Op::Cancel { payment }
            | Op::Recover { payment } => exists(payment),
            Op::Confirm { payment, code } => {
                exists(payment)
                    && !matches!(code, Code::OtherPayments(other) if !exists(other) || other == payment)
            }
            _ => true,
        }
    }

    fn apply(model: Model, op: &Op) -> Model {
        Self::step(model, op)
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
