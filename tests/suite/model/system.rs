//! The system under test: the engine on the memory host, driven the way a web server drives it
//! (the payment or enrollment id kept between calls, the record resumed from the store).

use buyster::memory::{ManualClock, MemoryBank, MemoryEvents, MemorySms, MemoryStore};
use buyster::testkit::block_on;
use buyster::{
    AnyPayment, Authorized, CancelReason, Engine, EnrollmentId, Error, Keys, OtpCode, OtpSent,
    PaymentId, PhoneNumber, PinVerified, Policy, RefundStatus, SecretKey, Timestamp,
};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};

use super::reference::{Code, Expect, Model, NUMBERS, Op, Reference, reason_of};
use crate::common::{IBAN, MASTER, T0, WRONG_PIN, order, other_code, pin};

type MemoryEngine = Engine<MemoryStore, MemorySms, MemoryBank, ManualClock>;

/// The two PINs an account may have, and a weak one.
pub(super) const PINS: [&str; 2] = ["246813", "402517"];
pub(super) const WEAK_PIN: &str = "123456";

pub struct System {
    pub(super) engine: MemoryEngine,
    pub(super) store: MemoryStore,
    pub(super) sms: MemorySms,
    pub(super) bank: MemoryBank,
    pub(super) clock: ManualClock,
    pub(super) events: MemoryEvents,
    pub(super) phones: Vec<PhoneNumber>,
    /// Which PIN each number's account has, as the engine's answers told.
    pub(super) pins: Vec<usize>,
    pub(super) ids: Vec<PaymentId>,
    pub(super) enrollments: Vec<EnrollmentId>,
}

fn new_engine(system: &System) -> MemoryEngine {
    build(
        &system.store,
        &system.sms,
        &system.bank,
        &system.clock,
        &system.events,
    )
}

fn build(
    store: &MemoryStore,
    sms: &MemorySms,
    bank: &MemoryBank,
    clock: &ManualClock,
    events: &MemoryEvents,
) -> MemoryEngine {
    Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(store.clone())
        .sms(sms.clone())
        .bank(bank.clone())
        .clock(clock.clone())
        .policy(Policy {
            low_value_exemption: true,
            ..Policy::default()
        })
        .events(events.clone())
        .build()
        .unwrap()
}

fn millis(t: Timestamp) -> u64 {
    t.as_unix_millis() - T0.as_unix_millis()
}

/// The engine's answer, in the model's terms.
pub(super) fn observe<T>(result: Result<T, Error>, ok: impl FnOnce(T) -> Expect) -> Expect {
    match result {
        Ok(value) => ok(value),
        Err(Error::Locked { until }) => Expect::Locked(until.map(millis)),
        Err(Error::Expired) => Expect::Expired,
        Err(Error::WrongState { expected, found }) => Expect::WrongState(expected, found),
        Err(Error::WrongEnrollmentState { expected, found }) => {
            Expect::WrongEnrollmentState(expected, found)
        }
        Err(Error::RateLimited { retry_at }) => Expect::RateLimited(millis(retry_at)),
        Err(Error::ResendTooSoon { retry_at }) => Expect::ResendTooSoon(millis(retry_at)),
        Err(Error::ResendLimit) => Expect::ResendLimit,
        Err(Error::Sms(_)) => Expect::Sms,
        Err(Error::TooManyAttempts) => Expect::TooManyAttempts,
        Err(Error::Declined(reason)) => Expect::Declined(reason),
        Err(Error::Bank(_)) => Expect::Bank,
        Err(Error::AlreadyEnrolled) => Expect::AlreadyEnrolled,
        Err(Error::NotEnrolled) => Expect::NotEnrolled,
        Err(Error::AccountClosed) => Expect::AccountClosed,
        Err(Error::WeakPin(_)) => Expect::WeakPin,
        Err(Error::LimitExceeded { limit, frees_at }) => {
            Expect::LimitExceeded(limit, frees_at.map(millis))
        }
        Err(Error::RefundTooLarge { refundable }) => {
            Expect::RefundTooLarge(refundable.map(|a| a.minor_units()))
        }
        Err(Error::RefundKeyReused) => Expect::RefundKeyReused,
        Err(Error::TooManyRefunds) => Expect::TooManyRefunds,
        Err(other) => panic!("unexpected error: {other}"),
    }
}

impl System {
    fn new() -> Self {
        let (store, sms, bank) = (MemoryStore::new(), MemorySms::new(), MemoryBank::new());
        let (clock, events) = (ManualClock::new(T0), MemoryEvents::new());
        let phones: Vec<PhoneNumber> = ["+33612345678", "+33611223344", "+33698765432"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(phones.len(), NUMBERS);
        let engine = build(&store, &sms, &bank, &clock, &events);
        block_on(engine.enroll(&phones[0], &pin(PINS[0]), IBAN.parse().unwrap())).unwrap();
        Self {
            engine,
            store,
            sms,
            bank,
            clock,
            events,
            phones,
            pins: vec![0; NUMBERS],
            ids: Vec::new(),
            enrollments: Vec::new(),
        }
    }

    /// The PIN of number `n`, or a wrong one.
    pub(super) fn pin_of(&self, n: usize, right: bool) -> &'static str {
        if right { PINS[self.pins[n]] } else { WRONG_PIN }
    }

    /// The code in the last SMS sent for payment `p`, if any.
    fn last_code(&self, p: usize) -> Option<OtpCode> {
        self.sms.last_code_for(*self.ids.get(p)?)
    }

    /// The code the buyer types for payment `p`.
    pub(super) fn typed_code(&self, p: usize, code: Code) -> OtpCode {
        let right = self.last_code(p);
        let wrong = |right: &Option<OtpCode>| match right {
            Some(code) => other_code(code),
            None => "000000".parse().unwrap(),
        };
        match code {
            Code::Right => right.expect("a payment waiting for its code has had one delivered"),
            Code::Wrong => wrong(&right),
            Code::OtherPayments(other) => match (self.last_code(other), &right) {
                (Some(theirs), Some(ours)) if theirs.expose_secret() != ours.expose_secret() => {
                    theirs
                }
                (Some(theirs), None) => theirs,
                _ => wrong(&right),
            },
        }
    }

    fn run(&mut self, op: &Op) -> Expect {
        match *op {
            Op::Enroll { number } => self.enroll(number),
            Op::StartEnrollment { number } => self.start_enrollment(number),
            Op::FinishEnrollment {
                enrollment,
                right,
                weak_pin,
            } => self.finish_enrollment(enrollment, right, weak_pin),
            Op::ChangePin { number, right } => self.change_pin(number, right),
            Op::ResetPin { number } => self.reset_pin(number),
            Op::Unlock { number } => observe(
                block_on(self.engine.back_office().unlock(&self.phones[number])),
                |()| Expect::Ok,
            ),
            Op::SetStatus { number, status } => observe(
                block_on(
                    self.engine
                        .back_office()
                        .set_status(&self.phones[number], status),
                ),
                |()| Expect::Ok,
            ),
            Op::Initiate { number, amount } => observe(
                block_on(self.engine.initiate(order(amount), &self.phones[number])),
                |payment| {
                    self.ids.push(payment.id());
                    Expect::Ok
                },
            ),
            Op::VerifyPin { payment, right } => self.verify_pin(payment, right),
            Op::SendCode { payment } => observe(
                block_on(async {
                    let p = self.engine.resume::<PinVerified>(self.ids[payment]).await?;
                    self.engine.send_code(p).await
                }),
                |_| Expect::Ok,
            ),
            Op::AuthorizeExempt { payment } => self.authorize_exempt(payment),
            Op::Resend { payment } => observe(
                block_on(async {
                    let p = self.engine.resume::<OtpSent>(self.ids[payment]).await?;
                    self.engine.resend_code(p).await
                }),
                |_| Expect::Ok,
            ),
            Op::Confirm { payment, code } => self.confirm(payment, code),
            Op::Settle { payment } => observe(
                block_on(async {
                    let p = self.engine.resume::<Authorized>(self.ids[payment]).await?;
                    self.engine.settle(p).await
                }),
                |_| Expect::Ok,
            ),
            Op::Cancel { payment } => observe(
                block_on(self.engine.cancel(self.ids[payment], CancelReason::Buyer)),
                |_| Expect::Ok,
            ),
            Op::Recover { payment } => {
                observe(block_on(self.engine.recover(self.ids[payment])), |_| {
                    Expect::Ok
                })
            }
            Op::Refund {
                payment,
                key,
                amount,
            } => self.refund(payment, key, amount),
            Op::Advance { millis } => {
                self.clock.advance(std::time::Duration::from_millis(millis));
                Expect::Ok
            }
            Op::BankFault(fault) => {
                self.bank.fail_next(fault);
                Expect::Ok
            }
            Op::SmsFault => {
                self.sms.fail_next();
                Expect::Ok
            }
            Op::Restart => {
                self.engine = new_engine(self);
                Expect::Ok
            }
        }
    }
}

pub struct EngineUnderTest;

impl StateMachineTest for EngineUnderTest {
    type SystemUnderTest = System;
    type Reference = Reference;

    fn init_test(_: &Model) -> System {
        System::new()
    }

    fn apply(mut system: System, model: &Model, op: Op) -> System {
        let answer = system.run(&op);
        assert_eq!(answer, model.last, "{op:?}");
        system
    }

    fn check_invariants(system: &System, model: &Model) {
        super::invariants::payments(system, model);
        super::invariants::money(system, model);
        super::invariants::numbers(system, model);
        let _ = <Reference as ReferenceStateMachine>::init_state;
    }
}

/// What the invariants look at.
impl System {
    pub fn engine(&self) -> &MemoryEngine {
        &self.engine
    }

    pub fn ids(&self) -> &[PaymentId] {
        &self.ids
    }

    pub fn enrollment_ids(&self) -> &[EnrollmentId] {
        &self.enrollments
    }

    pub fn phones(&self) -> &[PhoneNumber] {
        &self.phones
    }

    pub fn sms(&self) -> &MemorySms {
        &self.sms
    }

    pub fn bank(&self) -> &MemoryBank {
        &self.bank
    }

    pub fn events(&self) -> &MemoryEvents {
        &self.events
    }

    /// The stored payment `p`.
    pub fn stored(&self, p: usize) -> AnyPayment {
        block_on(self.engine.load(self.ids[p])).unwrap()
    }

    /// The stored refunds of payment `p`: key, amount, status.
    pub fn refunds(&self, p: usize) -> Vec<(String, u64, RefundStatus)> {
        match self.stored(p) {
            AnyPayment::Confirmed(paid) => paid
                .refunds()
                .iter()
                .map(|r| (r.key().to_string(), r.amount().minor_units(), r.status()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The secrets no event may show.
pub const SECRETS: [&str; 4] = [PINS[0], PINS[1], WEAK_PIN, WRONG_PIN];

pub fn reason(reason: buyster::FailureReason) -> super::reference::Reason {
    reason_of(reason)
}
