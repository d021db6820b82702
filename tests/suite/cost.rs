//! What a checkout costs in countable work, asserted so that a regression fails: store round
//! trips per step (9 for a whole checkout, a server's resumes included, on a store that writes
//! batches; 10 on one that does not), HMAC evaluations and random draws, and the size of each
//! record.

use crate::common::*;
use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::testkit::{CryptoWork, FaultPlan, FaultyStore};
use buyster::{
    CodeCheck, Engine, Initiated, Key, Keys, OtpSent, PinCheck, SecretKey, StateKind, Store,
};

type Counted = Engine<FaultyStore<Batching<MemoryStore>>, MemorySms, MemoryBank, ManualClock>;

struct Meter {
    plan: FaultPlan,
    calls: usize,
    work: CryptoWork,
}

impl Meter {
    fn new(plan: &FaultPlan) -> Self {
        Self {
            plan: plan.clone(),
            calls: plan.calls(),
            work: CryptoWork::on_this_thread(),
        }
    }

    /// Store calls, HMACs, draws and constant-time comparisons since the last reading.
    fn read(&mut self) -> (usize, u64, u64, u64) {
        let (calls, work) = (self.plan.calls(), CryptoWork::on_this_thread());
        let spent = work.since(self.work);
        let reading = (
            calls - self.calls,
            spent.hmacs,
            spent.random_draws,
            spent.constant_time_comparisons,
        );
        (self.calls, self.work) = (calls, work);
        reading
    }
}

async fn checkout(
    engine: &Counted,
    sms: &MemorySms,
    meter: &mut Meter,
) -> Vec<(usize, u64, u64, u64)> {
    let phone = PHONE.parse().unwrap();
    let mut steps = Vec::new();
    meter.read();
    let id = engine.initiate(order(4990), &phone).await.unwrap().id();
    steps.push(meter.read());
    let payment = engine.resume::<Initiated>(id).await.unwrap();
    steps.push(meter.read());
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!()
    };
    steps.push(meter.read());
    drop(engine.send_code(verified).await.unwrap());
    steps.push(meter.read());
    let payment = engine.resume::<OtpSent>(id).await.unwrap();
    steps.push(meter.read());
    let code = sms.last_code(&phone).unwrap();
    meter.read(); // reading the outbox is the buyer's, not the engine's
    let CodeCheck::Confirmed(_) = engine.confirm(payment, &code).await.unwrap() else {
        panic!()
    };
    steps.push(meter.read());
    steps
}

/// An engine over a memory store that writes batches or not, every store call counted by
/// `plan`, the buyer enrolled.
async fn counted(plan: &FaultPlan, sms: &MemorySms, clock: &ManualClock, batches: bool) -> Counted {
    let store = Batching {
        inner: MemoryStore::new(),
        batches,
    };
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(FaultyStore::new(store, plan.clone()))
        .sms(sms.clone())
        .bank(MemoryBank::new())
        .clock(clock.clone())
        .build()
        .unwrap();
    engine
        .enroll(&PHONE.parse().unwrap(), &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    engine
}

#[tokio::test]
async fn a_checkout_takes_nine_round_trips_and_thirteen_hmacs() {
    let (plan, sms, clock) = (FaultPlan::none(), MemorySms::new(), ManualClock::new(T0));
    let engine = counted(&plan, &sms, &clock, true).await;
    let mut meter = Meter::new(&plan);

    // (store calls, HMACs, random draws, constant-time comparisons) per step: initiate,
    // resume, verify_pin, send_code, resume, confirm (with the debit). Every secret a step
    // compares (a record's tag, the PIN's, the code's) is counted only when compared in
    // constant time: a comparison rewritten with `==` changes these numbers. verify_pin reads
    // the guard and the account, then writes the guard and the payment in one batch: 3 calls
    // (4 on a store that does not batch, below).
    let first = checkout(&engine, &sms, &mut meter).await;
    assert_eq!(
        first,
        [
            (1, 1, 1, 0),
            (1, 1, 0, 1),
            (3, 5, 0, 2),
            (1, 2, 1, 0),
            (1, 1, 0, 1),
            (2, 3, 0, 1)
        ]
    );
    let calls: usize = first.iter().map(|s| s.0).sum();
    assert!(calls <= 9, "{calls} round trips");

    // Later checkouts read the number's guard too: one more verification.
    clock.advance(minutes(11));
    let later = checkout(&engine, &sms, &mut meter).await;
    assert_eq!(later[2], (3, 6, 0, 3));
    assert_eq!(later.iter().map(|s| s.0).sum::<usize>(), 9);
    assert_eq!(later.iter().map(|s| s.1).sum::<u64>(), 14);
    assert_eq!(later.iter().map(|s| s.2).sum::<u64>(), 2);
}

#[tokio::test]
async fn a_checkout_takes_ten_round_trips_on_a_store_that_does_not_batch() {
    let (plan, sms, clock) = (FaultPlan::none(), MemorySms::new(), ManualClock::new(T0));
    let engine = counted(&plan, &sms, &clock, false).await;
    let mut meter = Meter::new(&plan);

    // The same work, but verify_pin writes the guard, then the payment: 4 calls.
    let first = checkout(&engine, &sms, &mut meter).await;
    assert_eq!(
        first,
        [
            (1, 1, 1, 0),
            (1, 1, 0, 1),
            (4, 5, 0, 2),
            (1, 2, 1, 0),
            (1, 1, 0, 1),
            (2, 3, 0, 1)
        ]
    );
    clock.advance(minutes(11));
    let later = checkout(&engine, &sms, &mut meter).await;
    assert_eq!(later[2], (4, 6, 0, 3));
    assert_eq!(later.iter().map(|s| s.0).sum::<usize>(), 10);
    assert_eq!(later.iter().map(|s| s.1).sum::<u64>(), 14);
    assert_eq!(later.iter().map(|s| s.2).sum::<u64>(), 2);
}

#[tokio::test]
async fn records_stay_small() {
    let host = Host::new().await;
    let mut sizes = Vec::new();
    let record = |key: Key| {
        let store = host.store.clone();
        async move { store.get(&key).await.unwrap().unwrap().value.len() }
    };
    let payment = host.initiate().await;
    let id = payment.id();
    sizes.push((StateKind::Initiated, record(Key::payment(&id)).await));
    let PinCheck::Verified(verified) = host.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
    else {
        panic!()
    };
    sizes.push((StateKind::PinVerified, record(Key::payment(&id)).await));
    let sent = host.engine.send_code(verified).await.unwrap();
    sizes.push((StateKind::OtpSent, record(Key::payment(&id)).await));
    host.bank.fail_next(buyster::memory::BankFault::Unavailable);
    assert!(host.engine.confirm(sent, &host.code()).await.is_err());
    sizes.push((StateKind::Authorized, record(Key::payment(&id)).await));
    host.engine.recover(id).await.unwrap();
    sizes.push((StateKind::Confirmed, record(Key::payment(&id)).await));
    let cancelled = host.initiate().await.id();
    host.engine
        .cancel(cancelled, buyster::CancelReason::Buyer)
        .await
        .unwrap();
    sizes.push((StateKind::Failed, record(Key::payment(&cancelled)).await));
    for (state, size) in &sizes {
        assert!(*size <= 256, "a {state} payment record takes {size} bytes");
    }
    assert_eq!(sizes.iter().map(|s| s.1).max(), Some(226), "{sizes:?}");

    let keys = host.store.keys();
    let account = keys
        .iter()
        .find(|k| k.as_str().starts_with("account/"))
        .unwrap()
        .clone();
    assert_eq!(
        record(account).await,
        224,
        "every account record has the same size"
    );
    let guard = keys
        .iter()
        .find(|k| k.as_str().starts_with("guard/"))
        .unwrap()
        .clone();
    // The guard holds the enrollment codes' window (a count: none sent here) and the number's
    // spending ledger too: the low-value exemption's streak (a count of its tickets: none
    // here), a count, then per payment that reserved its amount its flag (held), payment id,
    // currency, amount (EUR 49.90: a 2-byte varint) and time: 28 bytes.
    let guard_size = record(guard.clone()).await;
    assert_eq!(
        guard_size,
        39 + 8 + 1 + 1 + 1 + 28,
        "a guard with one SMS in its window and one reservation"
    );
    // A full SMS window adds four more timestamps, at most; each payment its reservation.
    for _ in 0..4 {
        host.clock.advance(seconds(61));
        host.sent().await;
    }
    assert_eq!(record(guard).await, 39 + 5 * 8 + 1 + 1 + 1 + 5 * 28);
}

#[tokio::test]
async fn with_the_low_value_exemption_on() {
    let (plan, sms, clock) = (FaultPlan::none(), MemorySms::new(), ManualClock::new(T0));
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(FaultyStore::new(
            Batching::on(MemoryStore::new()),
            plan.clone(),
        ))
        .sms(sms.clone())
        .bank(MemoryBank::new())
        .clock(clock.clone())
        .policy(buyster::Policy {
            low_value_exemption: true,
            ..buyster::Policy::default()
        })
        .build()
        .unwrap();
    let phone = PHONE.parse().unwrap();
    engine
        .enroll(&phone, &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    let mut meter = Meter::new(&plan);

    // A payment under EUR 30 without a code: initiate, verify_pin (which does not count an
    // SMS; its guard and payment written in one batch), authorize_exempt, settle: 6 round
    // trips (7 on a store that does not batch), no SMS, one random draw.
    meter.read();
    let payment = engine.initiate(order(2000), &phone).await.unwrap();
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!()
    };
    let buyster::Exemption::Ticket(ticket) = verified.exemption() else {
        panic!("EUR 20 with the exemption on")
    };
    let authorized = engine.authorize_exempt(ticket).await.unwrap();
    engine.settle(authorized).await.unwrap();
    let exempt = meter.read();
    assert_eq!((exempt.0, exempt.2), (6, 1), "{exempt:?}");
    assert!(sms.sent().is_empty());

    // A checkout with its code then reads the guard to end the streak, and writes it: two
    // round trips more than with the exemption off; and one more to read the exempt payment
    // of 11 minutes ago, whose ticket could still be out (it was used: the streak ends).
    clock.advance(minutes(11));
    let with_code = checkout(&engine, &sms, &mut meter).await;
    assert_eq!(with_code[5].0, 5, "{with_code:?}");
    assert_eq!(with_code.iter().map(|s| s.0).sum::<usize>(), 12);
    // The streak is empty now: the next one reads the guard only.
    clock.advance(minutes(11));
    let again = checkout(&engine, &sms, &mut meter).await;
    assert_eq!(again.iter().map(|s| s.0).sum::<usize>(), 10);
}

#[tokio::test]
async fn enrollment_and_refund_records_stay_small() {
    use buyster::{Amount, Confirmed, Currency, RefundReason};
    let host = Host::new().await;
    let record = |key: Key| {
        let store = host.store.clone();
        async move { store.get(&key).await.unwrap().unwrap().value.len() }
    };
    let other = "+33698765432".parse().unwrap();
    let enrollment = host.engine.start_enrollment(&other).await.unwrap();
    let id = enrollment.id();
    assert_eq!(record(Key::enrollment(&id)).await, 116, "code sent");
    let code = host.sms.last_code_for_enrollment(id).unwrap();
    host.engine
        .finish_enrollment(enrollment, &code, &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(record(Key::enrollment(&id)).await, 90, "enrolled");
    let again = host.engine.start_enrollment(&other).await.unwrap();
    let failed = again.id();
    let code = host.sms.last_code_for_enrollment(failed).unwrap();
    let _ = host
        .engine
        .finish_enrollment(again, &code, &pin(PIN), IBAN.parse().unwrap())
        .await;
    assert_eq!(record(Key::enrollment(&failed)).await, 91, "failed");

    // A refund under a 13-character key, refunded with a 9-character reference: 52 bytes.
    let sent = host.sent().await;
    let paid = sent.id();
    host.engine.confirm(sent, &host.code()).await.unwrap();
    assert_eq!(record(Key::payment(&paid)).await, 166);
    let payment = host.engine.resume::<Confirmed>(paid).await.unwrap();
    let key = "RMA-2026-0042".parse().unwrap();
    let amount = Amount::new(100, Currency::EUR).unwrap();
    host.engine
        .refund(payment, amount, RefundReason::Returned, &key)
        .await
        .unwrap();
    assert_eq!(record(Key::payment(&paid)).await, 166 + 52);
}
