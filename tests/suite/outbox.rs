//! Durable events: each change's event is stored by the change's own write, delivered from the
//! store's outbox at least once, in order, under an id that stays the same.

use std::sync::{Arc, Mutex};

use crate::common::*;
use buyster::memory::{BankFault, MemoryEvents, MemoryStore};
use buyster::{
    DeliveryError, Due, Entry, Event, EventDelivery, EventId, Key, Keys, Outboxed, PinCheck,
    SecretKey, Store, StoreError, Timestamp, Version, Write,
};

type DurableEngine<St = MemoryStore> = buyster::Engine<
    St,
    buyster::memory::MemorySms,
    buyster::memory::MemoryBank,
    buyster::memory::ManualClock,
>;

/// An engine over `host`'s parts and `store`, keeping events durable, with its own sink.
fn durable<St: Store>(host: &Host, store: St) -> (DurableEngine<St>, MemoryEvents) {
    let sink = MemoryEvents::new();
    let engine = buyster::Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(store)
        .sms(host.sms.clone())
        .bank(host.bank.clone())
        .clock(host.clock.clone())
        .events(sink.clone())
        .durable_events()
        .build()
        .unwrap();
    (engine, sink)
}

/// A delivery that keeps what it is given, refusing from the `refuse_at`-th call on.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Event>>>,
    refuse_at: Option<usize>,
}

impl Receiver {
    fn kinds(&self) -> Vec<&'static str> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.kind().name())
            .collect()
    }

    fn ids(&self) -> Vec<EventId> {
        self.got.lock().unwrap().iter().map(Event::id).collect()
    }
}

impl EventDelivery for Receiver {
    async fn deliver(&self, event: &Event) -> Result<(), DeliveryError> {
        let mut got = self.got.lock().unwrap();
        if self.refuse_at.is_some_and(|at| got.len() >= at) {
            return Err(DeliveryError::new("the merchant's endpoint answered 503"));
        }
        got.push(event.clone());
        Ok(())
    }
}

async fn checkout_with_one_wrong_pin(engine: &DurableEngine, host: &Host) {
    let payment = engine.initiate(order(4990), &host.phone).await.unwrap();
    let PinCheck::Rejected { payment, .. } =
        engine.verify_pin(payment, &pin(WRONG_PIN)).await.unwrap()
    else {
        panic!("a wrong PIN was accepted");
    };
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!("the right PIN was refused");
    };
    let sent = engine.send_code(verified).await.unwrap();
    engine.confirm(sent, &host.code()).await.unwrap();
}

#[tokio::test]
async fn every_change_of_a_checkout_is_stored_with_it_and_delivered_in_order() {
    let host = Host::new().await;
    let (engine, sink) = durable(&host, host.store.clone());
    checkout_with_one_wrong_pin(&engine, &host).await;
    assert_eq!(host.store.outbox_len(), 5);
    let receiver = Receiver::default();
    let round = engine.deliver_events(&receiver, 100).await.unwrap();
    assert_eq!((round.examined, round.delivered, round.tampered), (5, 5, 0));
    assert!(!round.stopped);
    assert_eq!(
        receiver.kinds(),
        [
            "initiated",
            "pin_rejected",
            "pin_verified",
            "authorized",
            "confirmed"
        ]
    );
    // The sink had them at once, under the same ids, and the SMS's event besides.
    let fast: Vec<(EventId, &str)> = sink
        .events()
        .iter()
        .map(|e| (e.id(), e.kind().name()))
        .collect();
    let durable: Vec<(EventId, &str)> = receiver
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|e| (e.id(), e.kind().name()))
        .collect();
    let fast_without_sms: Vec<_> = fast
        .iter()
        .copied()
        .filter(|(_, n)| *n != "code_sent")
        .collect();
    assert_eq!(fast_without_sms, durable);
    assert_eq!(fast.len(), 6);
    assert_eq!(host.store.outbox_len(), 0, "acknowledged for good");
    let again = engine.deliver_events(&receiver, 100).await.unwrap();
    assert_eq!(again.examined, 0);
}

#[tokio::test]
async fn without_durable_events_nothing_is_stored() {
    let host = Host::new().await;
    let sent = host.sent().await;
    host.engine.confirm(sent, &host.code()).await.unwrap();
    assert_eq!(host.store.outbox_len(), 0);
    assert!(!host.events.events().is_empty(), "the sink still has them");
}

#[tokio::test]
async fn a_crash_between_the_write_and_the_sink_loses_nothing() {
    let host = Host::new().await;
    let pausing = PausingStore::new(host.store.clone());
    let (engine, sink) = durable(&host, pausing.clone());
    let engine = Arc::new(engine);
    let (reached, resume) = pausing.arm(Point::AfterPut, "payment/");
    let phone = host.phone.clone();
    let starting = {
        let engine = Arc::clone(&engine);
        tokio::spawn(async move { engine.initiate(order(4990), &phone).await })
    };
    reached.await.unwrap();
    // The process dies here: the payment is stored, its event never reached the sink.
    starting.abort();
    drop(resume);
    assert!(sink.events().is_empty());
    let receiver = Receiver::default();
    engine.deliver_events(&receiver, 10).await.unwrap();
    assert_eq!(receiver.kinds(), ["initiated"]);
}

#[tokio::test]
async fn a_refused_delivery_stops_the_round_and_the_rest_follow_in_order() {
    let host = Host::new().await;
    let (engine, _) = durable(&host, host.store.clone());
    checkout_with_one_wrong_pin(&engine, &host).await;
    let refusing = Receiver {
        refuse_at: Some(2),
        ..Receiver::default()
    };
    let round = engine.deliver_events(&refusing, 100).await.unwrap();
    assert_eq!((round.examined, round.delivered), (5, 2));
    assert!(round.stopped);
    assert_eq!(
        host.store.outbox_len(),
        3,
        "the refused one and every later one stay"
    );
    let receiver = Receiver::default();
    engine.deliver_events(&receiver, 100).await.unwrap();
    assert_eq!(
        receiver.kinds(),
        ["pin_verified", "authorized", "confirmed"]
    );
}

/// A store whose first `acknowledge` fails: the process died after delivering.
#[derive(Clone)]
struct ForgetfulAcks {
    inner: MemoryStore,
    failed_once: Arc<Mutex<bool>>,
}

impl Store for ForgetfulAcks {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        self.inner.get(key).await
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: Write,
    ) -> Result<Version, StoreError> {
        self.inner.put(key, expected, write).await
    }

    async fn due(&self, until: Timestamp, limit: usize) -> Result<Vec<Due>, StoreError> {
        self.inner.due(until, limit).await
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<Outboxed>, StoreError> {
        self.inner.outbox(limit).await
    }

    async fn acknowledge(&self, seqs: &[u64]) -> Result<(), StoreError> {
        let first = !std::mem::replace(&mut *self.failed_once.lock().unwrap(), true);
        if first {
            return Err(StoreError::backend("the connection dropped"));
        }
        self.inner.acknowledge(seqs).await
    }
}

#[tokio::test]
async fn an_event_delivered_but_not_acknowledged_comes_again_under_its_id() {
    let host = Host::new().await;
    let store = ForgetfulAcks {
        inner: host.store.clone(),
        failed_once: Arc::default(),
    };
    let (engine, _) = durable(&host, store);
    engine.initiate(order(4990), &host.phone).await.unwrap();
    let receiver = Receiver::default();
    assert!(matches!(
        engine.deliver_events(&receiver, 10).await,
        Err(buyster::Error::Storage(_))
    ));
    engine.deliver_events(&receiver, 10).await.unwrap();
    let ids = receiver.ids();
    assert_eq!(ids.len(), 2, "delivered twice");
    assert_eq!(ids[0], ids[1], "under one id: the receiver drops the copy");
    assert_eq!(host.store.outbox_len(), 0);
}

#[tokio::test]
async fn a_forged_outbox_row_is_never_delivered() {
    let host = Host::new().await;
    let (engine, _) = durable(&host, host.store.clone());
    // A row written straight into the database, and an event sealed under another master key.
    let forged = Write::new(b"x".to_vec()).with_event(b"{\"event\":\"confirmed\"}".to_vec());
    host.store
        .put(&Key::for_testing("forged/1"), None, forged)
        .await
        .unwrap();
    let elsewhere = MemoryStore::new();
    let other = buyster::Engine::builder(Keys::new(1, SecretKey::from_bytes([7; 32])))
        .store(elsewhere.clone())
        .sms(host.sms.clone())
        .bank(host.bank.clone())
        .durable_events()
        .build()
        .unwrap();
    other
        .enroll(&host.phone, &pin(PIN), IBAN.parse().unwrap())
        .await
        .unwrap();
    let foreign = elsewhere.outbox(10).await.unwrap();
    let stolen = Write::new(b"y".to_vec()).with_event(foreign[0].event.clone());
    host.store
        .put(&Key::for_testing("forged/2"), None, stolen)
        .await
        .unwrap();
    engine.initiate(order(4990), &host.phone).await.unwrap();
    let receiver = Receiver::default();
    let round = engine.deliver_events(&receiver, 10).await.unwrap();
    assert_eq!(
        (round.examined, round.delivered, round.tampered),
        (3, 1, 2),
        "{:?}",
        receiver.kinds()
    );
    assert_eq!(receiver.kinds(), ["initiated"]);
    assert_eq!(host.store.outbox_len(), 0, "the forged rows are removed");
}

#[tokio::test]
async fn racing_right_codes_store_one_authorization_and_one_debit_event() {
    let host = Host::new().await;
    let (engine, _) = durable(&host, host.store.clone());
    let engine = Arc::new(engine);
    let payment = engine.initiate(order(4990), &host.phone).await.unwrap();
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!("refused");
    };
    let sent = engine.send_code(verified).await.unwrap();
    let id = sent.id();
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (engine, code) = (Arc::clone(&engine), host.code());
            tokio::spawn(async move {
                let sent = engine.resume::<buyster::OtpSent>(id).await?;
                engine.confirm(sent, &code).await
            })
        })
        .collect();
    for racer in racers {
        let _ = racer.await.unwrap();
    }
    let receiver = Receiver::default();
    engine.deliver_events(&receiver, 100).await.unwrap();
    let kinds = receiver.kinds();
    assert_eq!(
        kinds.iter().filter(|k| **k == "authorized").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "confirmed").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(host.bank.debits().len(), 1);
}

#[tokio::test]
async fn a_bank_outage_then_recovery_reports_each_change_once() {
    let host = Host::new().await;
    let (engine, _) = durable(&host, host.store.clone());
    let payment = engine.initiate(order(4990), &host.phone).await.unwrap();
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await.unwrap() else {
        panic!("refused");
    };
    let sent = engine.send_code(verified).await.unwrap();
    host.bank.fail_next(BankFault::AppliedButUnavailable);
    assert!(engine.confirm(sent, &host.code()).await.is_err());
    host.clock
        .advance(buyster::Policy::default().recovery_delay);
    engine.recover_due(10).await.unwrap();
    let receiver = Receiver::default();
    engine.deliver_events(&receiver, 100).await.unwrap();
    assert_eq!(
        receiver.kinds(),
        ["initiated", "pin_verified", "authorized", "confirmed"]
    );
}

/// Four payments of `host`'s buyer through `engine`: paid after a wrong PIN, cancelled after
/// its PIN, failed by too many wrong codes, declined by the bank. The last three give their
/// shares back.
async fn four_payments<St: Store>(engine: &DurableEngine<St>, host: &Host) {
    let verified = || async {
        let payment = engine.initiate(order(4990), &host.phone).await.unwrap();
        let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin(PIN)).await.unwrap()
        else {
            panic!("the right PIN was refused");
        };
        verified
    };
    let payment = engine.initiate(order(4990), &host.phone).await.unwrap();
    let PinCheck::Rejected { .. } = engine.verify_pin(payment, &pin(WRONG_PIN)).await.unwrap()
    else {
        panic!("a wrong PIN was accepted");
    };
    let sent = engine.send_code(verified().await).await.unwrap();
    engine.confirm(sent, &host.code()).await.unwrap();
    let cancelled = verified().await.id();
    engine
        .cancel(cancelled, buyster::CancelReason::Buyer)
        .await
        .unwrap();
    let mut sent = engine.send_code(verified().await).await.unwrap();
    let wrong = other_code(&host.code());
    loop {
        match engine.confirm(sent, &wrong).await {
            Ok(buyster::CodeCheck::Rejected { payment, .. }) => sent = payment,
            Err(buyster::Error::TooManyAttempts) => break,
            other => panic!("{other:?}"),
        }
    }
    let sent = engine.send_code(verified().await).await.unwrap();
    host.bank.fail_next(BankFault::Decline(
        buyster::DeclineReason::InsufficientFunds,
    ));
    assert!(engine.confirm(sent, &host.code()).await.is_err());
}

#[tokio::test]
async fn a_store_that_batches_stores_the_events_of_the_writes_it_replaces() {
    let mut kinds = Vec::new();
    for batches in [true, false] {
        let host = Host::new().await;
        let store = Batching {
            inner: host.store.clone(),
            batches,
        };
        let (engine, sink) = durable(&host, store);
        four_payments(&engine, &host).await;
        let receiver = Receiver::default();
        let round = engine.deliver_events(&receiver, 100).await.unwrap();
        assert_eq!(round.delivered, 18, "batches: {batches}");
        // The sink had each stored event once the write was applied, under the same id.
        let stored: Vec<EventId> = sink
            .events()
            .iter()
            .filter(|e| e.kind().name() != "code_sent" && e.kind().name() != "limit_exceeded")
            .map(Event::id)
            .collect();
        assert_eq!(stored, receiver.ids(), "batches: {batches}");
        kinds.push(receiver.kinds());
    }
    assert_eq!(kinds[0], kinds[1]);
    assert_eq!(
        kinds[0],
        [
            ["initiated", "pin_rejected", "initiated", "pin_verified"].as_slice(),
            &["authorized", "confirmed"],
            &["initiated", "pin_verified", "failed"],
            &[
                "initiated",
                "pin_verified",
                "code_rejected",
                "code_rejected",
                "failed"
            ],
            &["initiated", "pin_verified", "authorized", "failed"],
        ]
        .concat()
    );
}
