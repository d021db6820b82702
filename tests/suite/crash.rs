//! Crash at every step: fail each host call of a checkout in each way, drop the engine, start a
//! new one over the same store and bank, recover, and let the buyer carry on as a person would.
//! Whatever happened, the buyer is debited exactly once, a payment is `Confirmed` if and only if
//! the bank holds its debit, and no payment is left where nobody can finish or fail it.
//!
//! The memory store writes batches: a right PIN's guard and payment, and a failed payment with
//! its share given back, are one call, failed before or after applying as a whole. Each sweep
//! runs again over the same store with its batches hidden, where they are a write each.
#![cfg(feature = "testkit")]

use crate::common::*;
use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::testkit::{Fault, FaultPlan, FaultyBank, FaultySms, FaultyStore};
use buyster::{
    AnyPayment, CancelReason, CodeCheck, Engine, EnrollmentKind, Error, Keys, OtpCode, OtpSent,
    PaymentId, PhoneNumber, PinCheck, SecretKey, StateKind, Store,
};

type FaultyEngine = Engine<
    FaultyStore<Batching<MemoryStore>>,
    FaultySms<MemorySms>,
    FaultyBank<MemoryBank>,
    ManualClock,
>;

/// What survives a crash: the store, the bank, the buyer's phone and the time.
#[derive(Clone)]
struct World {
    store: MemoryStore,
    sms: MemorySms,
    bank: MemoryBank,
    clock: ManualClock,
    /// Whether the store writes batches.
    batches: bool,
}

impl World {
    async fn new(batches: bool) -> Self {
        let world = Self {
            store: MemoryStore::new(),
            sms: MemorySms::new(),
            bank: MemoryBank::new(),
            clock: ManualClock::new(T0),
            batches,
        };
        world
            .engine(FaultPlan::none())
            .enroll(&PHONE.parse().unwrap(), &pin(PIN), IBAN.parse().unwrap())
            .await
            .unwrap();
        world
    }

    /// A fresh engine process over the durable parts.
    fn engine(&self, plan: FaultPlan) -> FaultyEngine {
        Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
            .store(FaultyStore::new(
                Batching {
                    inner: self.store.clone(),
                    batches: self.batches,
                },
                plan.clone(),
            ))
            .sms(FaultySms::new(self.sms.clone(), plan.clone()))
            .bank(FaultyBank::new(self.bank.clone(), plan))
            .clock(self.clock.clone())
            .build()
            .unwrap()
    }

    /// The code in the last SMS the buyer received for `id`.
    fn last_code(&self, id: PaymentId) -> Option<OtpCode> {
        self.sms.last_code_for(id)
    }
}

/// The checkout a web server runs over three requests; stops at the first error. Returns the
/// payment id if `initiate` answered.
async fn checkout(engine: &FaultyEngine, world: &World) -> Option<PaymentId> {
    let phone = PHONE.parse().unwrap();
    let payment = engine.initiate(order(4990), &phone).await.ok()?;
    let id = payment.id();
    let run = async {
        let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await? else {
            panic!("right PIN refused");
        };
        drop(engine.send_code(verified).await?);
        let payment = engine.resume::<OtpSent>(id).await?;
        let code = world.last_code(id).expect("an SMS was delivered");
        engine.confirm(payment, &code).await
    };
    let _ = run.await;
    Some(id)
}

/// The buyer carries on after a failure, as a person would: looks at where the payment stands
/// and takes the next step, asks for a new code when the last one does not work, waits when
/// told to, starts a new checkout when there is no payment or it failed. Returns the payment
/// the buyer ended with.
async fn carry_on(engine: &FaultyEngine, world: &World, mut id: Option<PaymentId>) -> PaymentId {
    let phone = PHONE.parse().unwrap();
    for _ in 0..40 {
        let Some(current) = id else {
            id = engine
                .initiate(order(4990), &phone)
                .await
                .ok()
                .map(|p| p.id());
            continue;
        };
        let Ok(stored) = engine.load(current).await else {
            continue;
        };
        let outcome = match stored {
            AnyPayment::Initiated(p) => engine.verify_pin(p, &pin(PIN)).await.map(drop),
            AnyPayment::PinVerified(p) => engine.send_code(p).await.map(drop),
            AnyPayment::OtpSent(p) => match world.last_code(current) {
                Some(code) => match engine.confirm(p, &code).await {
                    Ok(CodeCheck::Rejected { payment, .. }) => {
                        world.clock.advance(seconds(30));
                        engine.resend_code(payment).await.map(drop)
                    }
                    other => other.map(drop),
                },
                None => {
                    world.clock.advance(seconds(30));
                    engine.resend_code(p).await.map(drop)
                }
            },
            AnyPayment::Authorized(_) => engine.recover(current).await.map(drop),
            AnyPayment::Confirmed(_) => return current,
            AnyPayment::Failed(_) => {
                id = None;
                Ok(())
            }
        };
        match outcome {
            Err(Error::RateLimited { retry_at } | Error::ResendTooSoon { retry_at }) => {
                world.clock.set(retry_at)
            }
            Err(Error::Expired) => {
                // The code expired: the next round asks for another.
            }
            _ => {}
        }
    }
    panic!(
        "the buyer could not finish: {:?}",
        id.map(|id| stored_state(world, id))
    );
}

fn stored_state(world: &World, id: PaymentId) -> StateKind {
    let engine = world.engine(FaultPlan::none());
    buyster::testkit::block_on(engine.load(id)).unwrap().kind()
}

/// Every payment in the store, after everything expired and a recovery pass.
async fn final_states(world: &World) -> Vec<(PaymentId, StateKind)> {
    world.clock.advance(minutes(60));
    let engine = world.engine(FaultPlan::none());
    let mut states = Vec::new();
    for key in world.store.keys() {
        if let Some(id) = key.as_str().strip_prefix("payment/") {
            let id: PaymentId = id.parse().unwrap();
            states.push((id, engine.recover(id).await.unwrap().kind()));
        }
    }
    states
}

async fn check_invariants(world: &World, paid: PaymentId, scenario: &str) {
    let debits = world.bank.debits();
    assert_eq!(
        debits.len(),
        1,
        "{scenario}: the buyer must be debited exactly once"
    );
    assert_eq!(debits[0].payment_id(), paid, "{scenario}");
    for (id, state) in final_states(world).await {
        assert!(state.is_terminal(), "{scenario}: payment {id} left {state}");
        let debited = debits.iter().any(|d| d.payment_id() == id);
        assert_eq!(
            state == StateKind::Confirmed,
            debited,
            "{scenario}: payment {id} is {state}, debited: {debited}"
        );
    }
    nothing_left(world, 4990, scenario).await;
}

/// Once every payment ended: nothing is left due but the end of each one's retention (a store
/// that batches wrote each failed payment with its share given back, due only then; otherwise
/// one more round a recovery delay later gives the shares back and moves the failed ones
/// there), and no failed payment keeps a share of the limits:
/// only the `paid` amount counts against the EUR 1,500 a day.
async fn nothing_left(world: &World, paid: u64, scenario: &str) {
    let engine = world.engine(FaultPlan::none());
    if !world.batches {
        world
            .clock
            .advance(buyster::Policy::default().recovery_delay);
        engine.recover_due(100).await.unwrap();
    }
    let now = buyster::Clock::now(&world.clock);
    assert_eq!(work_due(&world.store, now), [], "{scenario}");
    let phone = PHONE.parse().unwrap();
    for minor in [100_000, 150_000 - 100_000 - paid] {
        let payment = engine.initiate(order(minor), &phone).await.unwrap();
        let check = engine.verify_pin(payment, &pin(PIN)).await;
        assert!(
            matches!(check, Ok(PinCheck::Verified(_))),
            "{scenario}: EUR {minor} after the paid one: {check:?}"
        );
    }
}

#[tokio::test]
async fn every_call_of_a_checkout_can_fail_in_every_way() {
    sweep_checkout(true).await;
}

#[tokio::test]
async fn every_call_of_a_checkout_can_fail_in_every_way_one_write_at_a_time() {
    sweep_checkout(false).await;
}

async fn sweep_checkout(batches: bool) {
    let world = World::new(batches).await;
    let plan = FaultPlan::none();
    let paid = checkout(&world.engine(plan.clone()), &world).await.unwrap();
    assert_eq!(
        world
            .engine(FaultPlan::none())
            .load(paid)
            .await
            .unwrap()
            .kind(),
        StateKind::Confirmed
    );
    let calls = plan.calls();
    assert!(
        calls >= 10,
        "a checkout makes {calls} host calls: {:?}",
        plan.log()
    );

    let mut scenarios = 0;
    for call in 0..calls {
        for fault in [Fault::FailBefore, Fault::FailAfter, Fault::Yield(2)] {
            let world = World::new(batches).await;
            let plan = FaultPlan::at(call, fault);
            let engine = world.engine(plan.clone());
            let id = checkout(&engine, &world).await;
            let scenario = format!(
                "{fault:?} on call {call} ({:?})",
                plan.log().get(call).map(|c| c.0)
            );
            drop(engine); // the process dies

            let engine = world.engine(FaultPlan::none());
            if let Some(id) = id {
                engine.recover(id).await.unwrap();
            }
            let paid = carry_on(&engine, &world, id).await;
            check_invariants(&world, paid, &scenario).await;
            scenarios += 1;
        }
    }
    assert_eq!(scenarios, calls * 3);
}

#[tokio::test]
async fn many_faults_at_random_still_debit_once() {
    many_faults(true).await;
}

#[tokio::test]
async fn many_faults_at_random_still_debit_once_one_write_at_a_time() {
    many_faults(false).await;
}

async fn many_faults(batches: bool) {
    for seed in 0..150u64 {
        let world = World::new(batches).await;
        let plan = FaultPlan::seeded(seed, 150);
        let engine = world.engine(plan.clone());
        let id = checkout(&engine, &world).await;
        let mut id = id;
        // The buyer carries on while faults keep coming, through several crashes.
        for _ in 0..3 {
            let engine = world.engine(plan.clone());
            if let Some(current) = id {
                let _ = engine.recover(current).await;
            }
            id = Some(carry_on_briefly(&engine, &world, id).await).flatten();
        }
        plan.disarm();
        let engine = world.engine(plan.clone());
        let paid = carry_on(&engine, &world, id).await;
        check_invariants(&world, paid, &format!("seed {seed}")).await;
    }
}

/// A payment with its PIN verified (its share of the limits reserved), on a fresh world.
async fn verified(world: &World) -> PaymentId {
    let engine = world.engine(FaultPlan::none());
    let payment = engine
        .initiate(order(4990), &PHONE.parse().unwrap())
        .await
        .unwrap();
    let Ok(PinCheck::Verified(verified)) = engine.verify_pin(payment, &pin(PIN)).await else {
        panic!("the right PIN was refused");
    };
    verified.id()
}

/// Every call of a cancel failed each way (the batch of the failed payment and its share, on
/// a store that batches; the payment, then the guard, on one that does not), the process
/// dead, the buyer cancelling again: the payment is failed, its share back, nothing left due.
async fn sweep_cancel(batches: bool) {
    let world = World::new(batches).await;
    let id = verified(&world).await;
    let plan = FaultPlan::none();
    world
        .engine(plan.clone())
        .cancel(id, CancelReason::Buyer)
        .await
        .unwrap();
    let calls = plan.calls();
    assert_eq!(calls, if batches { 3 } else { 4 }, "{:?}", plan.log());
    for call in 0..calls {
        for fault in [Fault::FailBefore, Fault::FailAfter, Fault::Yield(2)] {
            let world = World::new(batches).await;
            let id = verified(&world).await;
            let plan = FaultPlan::at(call, fault);
            let _ = world
                .engine(plan.clone())
                .cancel(id, CancelReason::Buyer)
                .await;
            let scenario = format!("{fault:?} on call {call} ({:?})", plan.log().get(call));
            let engine = world.engine(FaultPlan::none());
            let failed = engine.cancel(id, CancelReason::Buyer).await;
            assert!(failed.is_ok(), "{scenario}: {failed:?}");
            nothing_left(&world, 0, &scenario).await;
        }
    }
}

#[tokio::test]
async fn every_call_of_a_cancel_can_fail_in_every_way_and_the_share_comes_back() {
    sweep_cancel(true).await;
}

#[tokio::test]
async fn every_call_of_a_cancel_can_fail_in_every_way_one_write_at_a_time() {
    sweep_cancel(false).await;
}

/// A few steps of [`carry_on`] that may not finish, for runs with faults still armed.
async fn carry_on_briefly(
    engine: &FaultyEngine,
    world: &World,
    id: Option<PaymentId>,
) -> Option<PaymentId> {
    let attempt = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let phone = PHONE.parse().unwrap();
        let mut id = id;
        for _ in 0..6 {
            let current = match id {
                Some(current) => current,
                None => match engine.initiate(order(4990), &phone).await {
                    Ok(p) => {
                        id = Some(p.id());
                        continue;
                    }
                    Err(_) => continue,
                },
            };
            match engine.load(current).await {
                Ok(AnyPayment::Initiated(p)) => drop(engine.verify_pin(p, &pin(PIN)).await),
                Ok(AnyPayment::PinVerified(p)) => drop(engine.send_code(p).await),
                Ok(AnyPayment::OtpSent(p)) => {
                    if let Some(code) = world.last_code(current) {
                        drop(engine.confirm(p, &code).await);
                    }
                }
                Ok(AnyPayment::Authorized(_)) => drop(engine.recover(current).await),
                Ok(AnyPayment::Failed(_)) => id = None,
                Ok(AnyPayment::Confirmed(_)) | Err(_) => {}
            }
        }
        id
    });
    attempt.await.unwrap()
}

#[tokio::test]
async fn the_store_never_holds_an_unfinishable_payment_after_recovery() {
    // A payment abandoned at every state, then recovered after its time to live.
    let world = World::new(true).await;
    let engine = world.engine(FaultPlan::none());
    let phone = PHONE.parse().unwrap();
    let initiated = engine.initiate(order(100), &phone).await.unwrap().id();
    let payment = engine.initiate(order(200), &phone).await.unwrap();
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!()
    };
    let pin_verified = verified.id();
    let payment = engine.initiate(order(300), &phone).await.unwrap();
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!()
    };
    let otp_sent = engine.send_code(verified).await.unwrap().id();
    for id in [initiated, pin_verified, otp_sent] {
        assert!(
            !engine.recover(id).await.unwrap().kind().is_terminal(),
            "alive before its TTL"
        );
    }
    let states = final_states(&world).await;
    assert_eq!(states.len(), 3);
    for (_, state) in states {
        assert_eq!(state, StateKind::Failed);
    }
    assert!(world.bank.debits().is_empty());
    assert!(
        world
            .store
            .get(&buyster::Key::payment(&initiated))
            .await
            .unwrap()
            .is_some()
    );
}

/// One refund of EUR 20 under the key `RMA-1`, as the merchant's back office asks for it.
async fn refund_once(engine: &FaultyEngine, paid: PaymentId) -> Result<(), Error> {
    let payment = engine.resume::<buyster::Confirmed>(paid).await?;
    let amount = buyster::Amount::new(2000, buyster::Currency::EUR).unwrap();
    let key = "RMA-1".parse().unwrap();
    engine
        .refund(payment, amount, buyster::RefundReason::Returned, &key)
        .await
        .map(drop)
}

#[tokio::test]
async fn every_call_of_a_refund_can_fail_in_every_way_and_it_is_made_once() {
    let world = World::new(true).await;
    let paid = checkout(&world.engine(FaultPlan::none()), &world)
        .await
        .unwrap();
    let plan = FaultPlan::none();
    refund_once(&world.engine(plan.clone()), paid)
        .await
        .unwrap();
    let calls = plan.calls();
    assert_eq!(calls, 4, "resume, record, bank, record: {:?}", plan.log());

    for call in 0..calls {
        for fault in [Fault::FailBefore, Fault::FailAfter, Fault::Yield(2)] {
            let world = World::new(true).await;
            let paid = checkout(&world.engine(FaultPlan::none()), &world)
                .await
                .unwrap();
            let plan = FaultPlan::at(call, fault);
            let _ = refund_once(&world.engine(plan.clone()), paid).await;
            let scenario = format!("{fault:?} on call {call} ({:?})", plan.log().get(call));
            // The process dies; the merchant asks again with the same key until it is done.
            let engine = world.engine(FaultPlan::none());
            let mut answer = refund_once(&engine, paid).await;
            if answer.is_err() {
                answer = refund_once(&engine, paid).await;
            }
            assert!(answer.is_ok(), "{scenario}: {answer:?}");
            let refunds = world.bank.refunds();
            assert_eq!(refunds.len(), 1, "{scenario}: refunded once");
            let stored = engine.resume::<buyster::Confirmed>(paid).await.unwrap();
            assert_eq!(
                stored.refunded().map(|a| a.minor_units()),
                Some(2000),
                "{scenario}"
            );
            assert_eq!(stored.refunds().len(), 1, "{scenario}");
        }
    }
}

/// An enrollment by SMS of `phone`, start to finish.
async fn enroll_by_sms(
    engine: &FaultyEngine,
    world: &World,
    phone: &PhoneNumber,
) -> Result<(), Error> {
    let enrollment = engine.start_enrollment(phone).await?;
    let code = world
        .sms
        .last_code_for_enrollment(enrollment.id())
        .ok_or(Error::NotFound)?;
    let funding = IBAN.parse().unwrap();
    engine
        .finish_enrollment(enrollment, &code, &pin(PIN), funding)
        .await
        .map(drop)
}

#[tokio::test]
async fn every_call_of_an_enrollment_can_fail_and_the_applicant_still_enrolls() {
    let phone: PhoneNumber = "+33698765432".parse().unwrap();
    let world = World::new(true).await;
    let plan = FaultPlan::none();
    enroll_by_sms(&world.engine(plan.clone()), &world, &phone)
        .await
        .unwrap();
    let calls = plan.calls();
    // start: guard read and write, record, SMS; finish: guard read, the guard written back
    // (found open), the code used up, the account, the record closed.
    assert_eq!(calls, 9, "{:?}", plan.log());

    let mut stranded = 0;
    for call in 0..calls {
        for fault in [Fault::FailBefore, Fault::FailAfter, Fault::Yield(2)] {
            let world = World::new(true).await;
            let plan = FaultPlan::at(call, fault);
            let _ = enroll_by_sms(&world.engine(plan.clone()), &world, &phone).await;
            let scenario = format!("{fault:?} on call {call} ({:?})", plan.log().get(call));
            // An enrollment left with its code used up may or may not have its account; one
            // that says enrolled has it.
            let engine = world.engine(FaultPlan::none());
            let has_account = engine.back_office().account(&phone).await.is_ok();
            for id in world
                .sms
                .sent()
                .iter()
                .filter_map(|sms| sms.enrollment_id())
            {
                match engine.load_enrollment(id).await.unwrap().kind() {
                    EnrollmentKind::Enrolled => assert!(has_account, "{scenario}"),
                    EnrollmentKind::Accepted => stranded += usize::from(!has_account),
                    EnrollmentKind::CodeSent | EnrollmentKind::Failed => {}
                }
            }
            // The applicant starts again until the number is enrolled (or found so).
            let engine = world.engine(FaultPlan::none());
            let mut answer = Err(Error::Conflict);
            for _ in 0..3 {
                answer = enroll_by_sms(&engine, &world, &phone).await;
                if matches!(answer, Ok(()) | Err(Error::AlreadyEnrolled)) {
                    break;
                }
            }
            assert!(
                matches!(answer, Ok(()) | Err(Error::AlreadyEnrolled)),
                "{scenario}: {answer:?}"
            );
            let payment = engine.initiate(order(4990), &phone).await.unwrap();
            let check = engine.verify_pin(payment, &pin(PIN)).await;
            assert!(
                matches!(check, Ok(PinCheck::Verified(_))),
                "{scenario}: {check:?}"
            );
        }
    }
    assert!(
        stranded > 0,
        "no fault stopped between the code and the account"
    );
}
