//! The system under test: the engine on the memory host, driven the way a web server drives it
//! (the payment id kept between calls, the payment resumed from the store).

use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::testkit::block_on;
use buyster::{
    AnyPayment, Authorized, CancelReason, CodeCheck, Engine, Error, FundingSource, Initiated, Keys,
    OtpCode, OtpSent, PaymentId, PhoneNumber, PinCheck, PinVerified, SecretKey, StateKind,
    Timestamp,
};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};

use super::reference::{Code, Expect, Model, NUMBERS, Op, Reference, reason_of};
use crate::common::{IBAN, MASTER, PIN, T0, WRONG_PIN, order, other_code, pin};

type MemoryEngine = Engine<MemoryStore, MemorySms, MemoryBank, ManualClock>;

pub struct System {
    engine: MemoryEngine,
    store: MemoryStore,
    sms: MemorySms,
    bank: MemoryBank,
    clock: ManualClock,
    phones: Vec<PhoneNumber>,
    ids: Vec<PaymentId>,
}

fn new_engine(
    store: &MemoryStore,
    sms: &MemorySms,
    bank: &MemoryBank,
    clock: &ManualClock,
) -> MemoryEngine {
    Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(store.clone())
        .sms(sms.clone())
        .bank(bank.clone())
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn millis(t: Timestamp) -> u64 {
    t.as_unix_millis() - T0.as_unix_millis()
}

/// The engine's answer, in the model's terms.
fn observe<T>(result: Result<T, Error>, ok: impl FnOnce(T) -> Expect) -> Expect {
    match result {
        Ok(value) => ok(value),
        Err(Error::Locked { until }) => Expect::Locked(until.map(millis)),
        Err(Error::Expired) => Expect::Expired,
        Err(Error::WrongState { expected, found }) => Expect::WrongState(expected, found),
        Err(Error::RateLimited { retry_at }) => Expect::RateLimited(millis(retry_at)),
        Err(Error::ResendTooSoon { retry_at }) => Expect::ResendTooSoon(millis(retry_at)),
        Err(Error::ResendLimit) => Expect::ResendLimit,
        Err(Error::Sms(_)) => Expect::Sms,
        Err(Error::TooManyAttempts) => Expect::TooManyAttempts,
        Err(Error::Declined(reason)) => Expect::Declined(reason),
        Err(Error::Bank(_)) => Expect::Bank,
        Err(Error::AlreadyEnrolled) => Expect::AlreadyEnrolled,
        Err(Error::LimitExceeded { limit, frees_at }) => {
            Expect::LimitExceeded(limit, frees_at.map(millis))
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}

impl System {
    fn new() -> Self {
        let (store, sms, bank) = (MemoryStore::new(), MemorySms::new(), MemoryBank::new());
        let clock = ManualClock::new(T0);
        let phones: Vec<PhoneNumber> = ["+33612345678", "+33611223344", "+33698765432"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(phones.len(), NUMBERS);
        let engine = new_engine(&store, &sms, &bank, &clock);
        block_on(engine.enroll(&phones[0], &pin(PIN), IBAN.parse().unwrap())).unwrap();
        Self {
            engine,
            store,
            sms,
            bank,
            clock,
            phones,
            ids: Vec::new(),
        }
    }

    /// The code in the last SMS sent for payment `p`, if any.
    fn last_code(&self, p: usize) -> Option<OtpCode> {
        self.sms.last_code_for(*self.ids.get(p)?)
    }

    /// The code the buyer types for payment `p`.
    fn typed_code(&self, p: usize, code: Code) -> OtpCode {
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
        let engine = &self.engine;
        match *op {
            Op::Enroll { number } => {
                let funding: FundingSource = IBAN.parse().unwrap();
                observe(
                    block_on(engine.enroll(&self.phones[number], &pin(PIN), funding)),
                    |()| Expect::Ok,
                )
            }
            Op::Initiate { number, amount } => {
                let payment =
                    block_on(engine.initiate(order(amount), &self.phones[number])).unwrap();
                self.ids.push(payment.id());
                Expect::Ok
            }
            Op::VerifyPin { payment, right } => {
                let digits = if right { PIN } else { WRONG_PIN };
                let result = block_on(async {
                    let p = engine.resume::<Initiated>(self.ids[payment]).await?;
                    engine.verify_pin(p, &pin(digits)).await
                });
                observe(result, |check| match check {
                    PinCheck::Verified(_) => Expect::Ok,
                    PinCheck::Rejected { attempts_left, .. } => Expect::Rejected(attempts_left),
                })
            }
            Op::SendCode { payment } => observe(
                block_on(async {
                    let p = engine.resume::<PinVerified>(self.ids[payment]).await?;
                    engine.send_code(p).await
                }),
                |_| Expect::Ok,
            ),
            Op::Resend { payment } => observe(
                block_on(async {
                    let p = engine.resume::<OtpSent>(self.ids[payment]).await?;
                    engine.resend_code(p).await
                }),
                |_| Expect::Ok,
            ),
            Op::Confirm { payment, code } => {
                let id = self.ids[payment];
                let result = block_on(async {
                    let p = engine.resume::<OtpSent>(id).await?;
                    let typed = self.typed_code(payment, code);
                    engine.confirm(p, &typed).await
                });
                observe(result, |check| match check {
                    CodeCheck::Confirmed(_) => Expect::Ok,
                    CodeCheck::Rejected { attempts_left, .. } => Expect::Rejected(attempts_left),
                })
            }
            Op::Settle { payment } => observe(
                block_on(async {
                    let p = engine.resume::<Authorized>(self.ids[payment]).await?;
                    engine.settle(p).await
                }),
                |_| Expect::Ok,
            ),
            Op::Cancel { payment } => observe(
                block_on(engine.cancel(self.ids[payment], CancelReason::Buyer)),
                |_| Expect::Ok,
            ),
            Op::Recover { payment } => {
                observe(block_on(engine.recover(self.ids[payment])), |_| Expect::Ok)
            }
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
                self.engine = new_engine(&self.store, &self.sms, &self.bank, &self.clock);
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
        assert_eq!(system.ids.len(), model.payments.len());
        for (p, (id, expected)) in system.ids.iter().zip(&model.payments).enumerate() {
            let stored = block_on(system.engine.load(*id)).unwrap();
            // Stored state is the model's: terminal states absorb, counters lose nothing.
            assert_eq!(stored.kind(), expected.state, "payment {p}");
            // The payment's data never changes between initiate and debit.
            assert_eq!(stored.order(), &order(expected.amount), "payment {p}");
            assert_eq!(
                stored.phone(),
                &system.phones[expected.number],
                "payment {p}"
            );
            match stored {
                AnyPayment::OtpSent(payment) => {
                    assert_eq!(
                        payment.attempts_left(),
                        expected.attempts_left,
                        "payment {p}"
                    );
                    assert_eq!(payment.resends_left(), expected.resends_left, "payment {p}");
                    assert_eq!(
                        millis(payment.code_expires_at()),
                        expected.code_expires_at,
                        "payment {p}"
                    );
                }
                AnyPayment::Failed(payment) => {
                    assert_eq!(
                        Some(reason_of(payment.reason())),
                        expected.reason,
                        "payment {p}"
                    );
                }
                AnyPayment::Confirmed(payment) => {
                    assert_eq!(payment.receipt().amount(), order(expected.amount).amount());
                }
                _ => {}
            }
        }
        // At most one debit per payment, only after its own right code, for its own amount.
        let debits = system.bank.debits();
        assert_eq!(debits.len(), model.debits);
        for debit in &debits {
            let p = system
                .ids
                .iter()
                .position(|id| *id == debit.payment_id())
                .unwrap();
            assert!(
                model.payments[p].authorized_by_code,
                "payment {p} debited without its code"
            );
            assert_eq!(debit.amount(), order(model.payments[p].amount).amount());
            assert_eq!(
                debits
                    .iter()
                    .filter(|d| d.payment_id() == debit.payment_id())
                    .count(),
                1
            );
        }
        // Never more SMS than the policy allows, and exactly those the model sent.
        for (number, phone) in system.phones.iter().enumerate() {
            let sent = system
                .sms
                .sent()
                .iter()
                .filter(|sms| sms.to() == phone)
                .count();
            assert_eq!(sent, model.delivered[number], "SMS to number {number}");
        }
        for (p, payment) in model.payments.iter().enumerate() {
            let id = system.ids[p];
            let sent = system
                .sms
                .sent()
                .iter()
                .filter(|sms| sms.payment_id() == id)
                .count();
            assert!(
                sent <= 1 + usize::from(payment.resends_left.max(3)),
                "payment {p}: {sent} SMS"
            );
        }
        let _ = <Reference as ReferenceStateMachine>::init_state;
        let _ = StateKind::Initiated;
    }
}
