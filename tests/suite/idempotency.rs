//! One order, one payment: `initiate_once` under a merchant's idempotency key gives back the
//! payment an earlier call made, in whatever state it is, and refuses the key for another order
//! without touching the stored payment. Every refusal is checked for its exact error and the
//! stored bytes after it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use crate::common::*;
use buyster::memory::{BankFault, MemoryStore};
use buyster::{
    Amount, AnyPayment, CancelReason, Channel, CodeCheck, Currency, CurrencyLimits, Entry, Error,
    EventKind, IdempotencyKey, IdempotencyKeyError, Key, Keys, Merchant, Order, PaymentId,
    PhoneNumber, PinCheck, Policy, SecretKey, StateKind, Store, StoreError, Version, Write,
};

const OTHER_PHONE: &str = "+33698765432";

fn key(text: &str) -> IdempotencyKey {
    text.parse().unwrap()
}

/// The order of `order(4990)` at the merchant `merchant_id`.
fn order_at(merchant_id: &str) -> Order {
    let merchant = Merchant::new(merchant_id, "Boutique Exemple").unwrap();
    Order::new(merchant, order(4990).amount(), order(4990).reference()).unwrap()
}

async fn once(host: &Host, order: Order, text: &str) -> Result<AnyPayment, Error> {
    host.engine
        .initiate_once(order, &host.phone, &key(text))
        .await
}

/// The ids of the payments stored.
fn payment_ids(host: &Host) -> Vec<PaymentId> {
    payments_in(&host.store)
}

fn payments_in(store: &MemoryStore) -> Vec<PaymentId> {
    store
        .keys()
        .iter()
        .filter_map(|k| k.as_str().strip_prefix("payment/"))
        .map(|id| id.parse().unwrap())
        .collect()
}

/// The stored bytes of payment `id`.
async fn record(host: &Host, id: PaymentId) -> Vec<u8> {
    host.store
        .get(&Key::payment(&id))
        .await
        .unwrap()
        .unwrap()
        .value
}

fn initiated_events(host: &Host) -> usize {
    host.events
        .kinds()
        .iter()
        .filter(|kind| **kind == EventKind::Initiated)
        .count()
}

/// Asks again for the order of `order(4990)` under `text`: the payment `id`, in state `kind`,
/// and nothing written.
async fn assert_again(host: &Host, text: &str, id: PaymentId, kind: StateKind) {
    let before = record(host, id).await;
    let events = host.events.kinds().len();
    let again = once(host, order(4990), text).await.unwrap();
    assert_eq!((again.id(), again.kind()), (id, kind));
    assert_eq!(record(host, id).await, before, "{kind}: nothing written");
    assert_eq!(
        host.events.kinds().len(),
        events,
        "{kind}: nothing reported"
    );
}

#[tokio::test]
async fn the_same_key_and_order_give_the_same_payment_in_every_state() {
    let host = Host::new().await;
    let AnyPayment::Initiated(payment) = once(&host, order(4990), "order-1").await.unwrap() else {
        panic!("a new payment is initiated");
    };
    let id = payment.id();
    assert_again(&host, "order-1", id, StateKind::Initiated).await;

    let PinCheck::Verified(verified) = host.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
    else {
        panic!("right PIN refused");
    };
    assert_again(&host, "order-1", id, StateKind::PinVerified).await;

    let sent = host.engine.send_code(verified).await.unwrap();
    assert_again(&host, "order-1", id, StateKind::OtpSent).await;

    host.bank.fail_next(BankFault::Unavailable);
    let unanswered = host.engine.confirm(sent, &host.code()).await;
    assert!(matches!(unanswered, Err(Error::Bank(_))));
    assert_again(&host, "order-1", id, StateKind::Authorized).await;
    let AnyPayment::Authorized(authorized) = once(&host, order(4990), "order-1").await.unwrap()
    else {
        panic!("left authorized by the outage");
    };

    host.engine.settle(authorized).await.unwrap();
    assert_again(&host, "order-1", id, StateKind::Confirmed).await;

    assert_eq!(payment_ids(&host), [id]);
    assert_eq!(host.bank.debits().len(), 1);
    assert_eq!(host.bank.debits()[0].payment_id(), id);
    assert_eq!(initiated_events(&host), 1);
}

#[tokio::test]
async fn a_failed_payment_stays_the_answer_for_its_key() {
    let host = Host::new().await;
    let id = once(&host, order(4990), "order-1").await.unwrap().id();
    host.engine.cancel(id, CancelReason::Buyer).await.unwrap();
    assert_again(&host, "order-1", id, StateKind::Failed).await;
    // Trying again takes a new key: a new payment.
    let retry = once(&host, order(4990), "order-1/2").await.unwrap();
    assert_eq!(retry.kind(), StateKind::Initiated);
    assert_ne!(retry.id(), id);
    assert_eq!(payment_ids(&host).len(), 2);
    assert!(host.bank.debits().is_empty());
}

#[tokio::test]
async fn a_payment_past_its_time_comes_back_as_it_stands() {
    let host = Host::new().await;
    let id = once(&host, order(4990), "order-1").await.unwrap().id();
    host.clock.advance(minutes(16));
    // As `load` shows it: the expiry is recorded by the next step.
    assert_again(&host, "order-1", id, StateKind::Initiated).await;
    let AnyPayment::Initiated(late) = once(&host, order(4990), "order-1").await.unwrap() else {
        panic!("still initiated");
    };
    let answer = host.engine.verify_pin(late, &pin(PIN)).await;
    assert!(matches!(answer, Err(Error::Expired)));
    assert_again(&host, "order-1", id, StateKind::Failed).await;
}

#[tokio::test]
async fn another_order_under_the_same_key_is_refused_and_changes_nothing() {
    let pounds = CurrencyLimits::new(Currency::GBP, 80_000, 100_000, 200_000);
    let policy = Policy {
        other_currencies: vec![pounds],
        ..Policy::default()
    };
    let host = Host::with_policy(policy).await;
    let id = once(&host, order(4990), "order-1").await.unwrap().id();
    let stored = record(&host, id).await;
    let events = host.events.kinds();
    let merchant = order(4990).merchant().clone();
    let reference = order(4990).reference().to_owned();
    let at =
        |amount: Amount, reference: &str| Order::new(merchant.clone(), amount, reference).unwrap();
    let renamed = Merchant::new("boutique-exemple", "Boutique Renommée").unwrap();
    let others = [
        (
            "amount",
            at(Amount::new(4991, Currency::EUR).unwrap(), &reference),
        ),
        (
            "currency",
            at(Amount::new(4990, Currency::GBP).unwrap(), &reference),
        ),
        ("reference", at(order(4990).amount(), "CMD-2026-000124")),
        ("channel", order(4990).with_channel(Channel::Tv)),
        (
            "display name",
            Order::new(renamed, order(4990).amount(), &reference).unwrap(),
        ),
    ];
    for (what, other) in others {
        let answer = once(&host, other, "order-1").await;
        assert!(
            matches!(answer, Err(Error::IdempotencyKeyReused)),
            "{what}: {answer:?}"
        );
    }
    let other_phone: PhoneNumber = OTHER_PHONE.parse().unwrap();
    let answer = host
        .engine
        .initiate_once(order(4990), &other_phone, &key("order-1"))
        .await;
    let Err(error) = answer else {
        panic!("another number under the key: {answer:?}");
    };
    assert!(matches!(error, Error::IdempotencyKeyReused));
    // The error names neither number nor amount of either order.
    assert_eq!(
        error.to_string(),
        "this idempotency key was used for another order"
    );
    assert_eq!(record(&host, id).await, stored, "byte for byte");
    assert_eq!(payment_ids(&host), [id]);
    assert_eq!(host.events.kinds(), events);
    // The key's own order still gets its payment.
    assert_again(&host, "order-1", id, StateKind::Initiated).await;
}

#[tokio::test]
async fn a_currency_the_policy_does_not_take_is_refused_before_anything_is_stored() {
    let host = Host::new().await;
    let events = host.events.kinds();
    let pounds = Order::new(
        order(4990).merchant().clone(),
        Amount::new(4990, Currency::GBP).unwrap(),
        "CMD-2026-000123",
    )
    .unwrap();
    let answer = once(&host, pounds, "order-1").await;
    assert!(matches!(
        answer,
        Err(Error::CurrencyNotAccepted(Currency::GBP))
    ));
    assert!(payment_ids(&host).is_empty());
    assert_eq!(host.events.kinds(), events);
}

#[tokio::test]
async fn the_same_key_at_another_merchant_is_another_payment() {
    let host = Host::new().await;
    let here = once(&host, order_at("boutique-exemple"), "order-1")
        .await
        .unwrap();
    let there = once(&host, order_at("autre-boutique"), "order-1")
        .await
        .unwrap();
    assert_ne!(here.id(), there.id());
    assert_eq!(there.kind(), StateKind::Initiated);
    assert_eq!(there.order().merchant().id().as_str(), "autre-boutique");
    let mut stored = payment_ids(&host);
    stored.sort();
    let mut made = vec![here.id(), there.id()];
    made.sort();
    assert_eq!(stored, made);
    assert_eq!(initiated_events(&host), 2);
    // And another key at the same merchant too.
    let other_key = once(&host, order(4990), "order-2").await.unwrap();
    assert!(![here.id(), there.id()].contains(&other_key.id()));
}

#[tokio::test]
async fn initiate_without_a_key_makes_a_payment_each_call() {
    let host = Host::new().await;
    let first = host.initiate().await.id();
    let second = host.initiate().await.id();
    assert_ne!(first, second);
    let keyed = once(&host, order(4990), "order-1").await.unwrap().id();
    assert!(![first, second].contains(&keyed));
    assert_eq!(payment_ids(&host).len(), 3);
}

#[tokio::test]
async fn after_a_rotation_the_same_key_finds_the_same_payment() {
    let host = Host::new().await;
    let id = once(&host, order(4990), "order-1").await.unwrap().id();
    let keys = Keys::new(1, SecretKey::from_bytes(MASTER))
        .rotate(2, SecretKey::from_bytes([0x33; 32]))
        .unwrap();
    let rotated = host.restarted(keys, Policy::default());
    let again = rotated
        .initiate_once(order(4990), &host.phone, &key("order-1"))
        .await
        .unwrap();
    assert_eq!((again.id(), again.kind()), (id, StateKind::Initiated));
    assert_eq!(payment_ids(&host), [id]);
    // Another master key as first key of the ring is another index: another id.
    let foreign = Host::empty_with_key(Policy::default(), MemoryStore::new(), [0x44; 32]);
    let elsewhere = once(&foreign, order(4990), "order-1").await.unwrap();
    assert_ne!(elsewhere.id(), id);
}

#[tokio::test]
async fn a_record_moved_under_the_key_is_refused() {
    let host = Host::new().await;
    let id = once(&host, order(4990), "order-1").await.unwrap().id();
    let other = host.initiate().await.id();
    let under_key = host.store.get(&Key::payment(&id)).await.unwrap().unwrap();
    let moved = record(&host, other).await;
    host.store
        .put(&Key::payment(&id), Some(under_key.version), moved.into())
        .await
        .unwrap();
    let answer = once(&host, order(4990), "order-1").await;
    assert!(matches!(answer, Err(Error::Tampered)), "{answer:?}");
}

/// A store that answers `None` to the next `hidden` reads of a payment, as if the host had
/// archived it just then, and forwards everything else to a [`MemoryStore`].
#[derive(Clone)]
struct ArchivingStore {
    inner: MemoryStore,
    hidden: Arc<AtomicUsize>,
}

impl Store for ArchivingStore {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        let hide = |left: usize| left.checked_sub(1);
        let payment = key.as_str().starts_with("payment/");
        if payment && self.hidden.fetch_update(SeqCst, SeqCst, hide).is_ok() {
            return Ok(None);
        }
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

    forward_background_calls!();
}

#[tokio::test]
async fn a_payment_gone_between_the_write_and_the_read_is_looked_for_again() {
    let host = Host::new().await;
    let id = once(&host, order(4990), "order-1").await.unwrap().id();
    let hidden = Arc::new(AtomicUsize::new(15));
    let store = ArchivingStore {
        inner: host.store.clone(),
        hidden: hidden.clone(),
    };
    let engine = host.engine_over(store);
    let order_key = key("order-1");
    let call = || engine.initiate_once(order(4990), &host.phone, &order_key);
    // Its write refused and the payment not found 15 times, the 16th attempt finds it.
    let found = call().await.unwrap();
    assert_eq!((found.id(), found.kind()), (id, StateKind::Initiated));
    assert_eq!(hidden.load(SeqCst), 0);
    // Not found 16 times: the call gives up, nothing written.
    let stored = record(&host, id).await;
    hidden.store(16, SeqCst);
    assert!(matches!(call().await, Err(Error::Conflict)));
    assert_eq!(record(&host, id).await, stored);
    assert_eq!(payment_ids(&host), [id]);
}

#[test]
fn malformed_keys_are_refused_with_their_exact_error() {
    let refusal = |text: &str| match text.parse::<IdempotencyKey>() {
        Err(Error::InvalidIdempotencyKey(refusal)) => refusal,
        other => panic!("{text:?}: {other:?}"),
    };
    let at = |index| IdempotencyKeyError::ForbiddenCharacter { index };
    assert_eq!(refusal(""), IdempotencyKeyError::Empty);
    assert_eq!(
        refusal(&"k".repeat(256)),
        IdempotencyKeyError::TooLong { max: 255 }
    );
    assert_eq!(refusal("order\t1"), at(5));
    assert_eq!(refusal("\norder-1"), at(0));
    assert_eq!(refusal("commande-n°1"), at(10));
    assert_eq!(refusal("order-1\u{7f}"), at(7));
    assert_eq!(key(&"k".repeat(255)).as_str().len(), 255);
    assert_eq!(key("order 1 / ~{x}").to_string(), "order 1 / ~{x}");
    let error = "clé-secrète".parse::<IdempotencyKey>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid idempotency key: the character at index 2 is not printable ASCII"
    );
}

#[cfg(feature = "testkit")]
mod races {
    //! Racing calls on `std` threads, over a store that yields at random inside every call so
    //! that reads and writes interleave.

    use std::sync::Barrier;
    use std::thread;

    use super::*;
    use buyster::memory::{ManualClock, MemoryBank, MemoryEvents, MemorySms};
    use buyster::testkit::{FaultPlan, FaultyStore, block_on};
    use buyster::{Engine, OtpSent};

    const ROUNDS: u64 = 50;
    const CALLERS: usize = 16;

    struct Round {
        engine: Engine<FaultyStore<MemoryStore>, MemorySms, MemoryBank, ManualClock>,
        store: MemoryStore,
        sms: MemorySms,
        bank: MemoryBank,
        events: MemoryEvents,
        phone: PhoneNumber,
    }

    impl Round {
        fn new(seed: u64) -> Self {
            let (store, sms, bank) = (MemoryStore::new(), MemorySms::new(), MemoryBank::new());
            let events = MemoryEvents::new();
            let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
                .store(FaultyStore::new(store.clone(), FaultPlan::seeded(seed, 0)))
                .sms(sms.clone())
                .bank(bank.clone())
                .clock(ManualClock::new(T0))
                .events(events.clone())
                .build()
                .unwrap();
            let phone: PhoneNumber = PHONE.parse().unwrap();
            block_on(engine.enroll(&phone, &pin(PIN), IBAN.parse().unwrap())).unwrap();
            Self {
                engine,
                store,
                sms,
                bank,
                events,
                phone,
            }
        }

        fn once(&self) -> Result<AnyPayment, Error> {
            block_on(
                self.engine
                    .initiate_once(order(4990), &self.phone, &key("order-1")),
            )
        }

        /// One browser tab paying the order: it asks for the order's payment and takes it a
        /// step further, again and again, until it is paid; a step another tab took first
        /// (a refusal) sends it back to the order's payment.
        fn tab(&self) -> PaymentId {
            for _ in 0..100 {
                let step = match self.once().unwrap() {
                    AnyPayment::Initiated(p) => {
                        block_on(self.engine.verify_pin(p, &pin(PIN))).map(|_| ())
                    }
                    AnyPayment::PinVerified(p) => block_on(self.engine.send_code(p)).map(|_| ()),
                    AnyPayment::OtpSent(p) => self.confirm(p),
                    AnyPayment::Authorized(p) => block_on(self.engine.settle(p)).map(|_| ()),
                    AnyPayment::Confirmed(p) => return p.id(),
                    AnyPayment::Failed(p) => panic!("failed: {:?}", p.reason()),
                };
                match step {
                    Ok(()) | Err(Error::WrongState { .. } | Error::Conflict) => {}
                    Err(other) => panic!("{other}"),
                }
            }
            panic!("not paid after 100 steps");
        }

        fn confirm(&self, payment: buyster::Payment<OtpSent>) -> Result<(), Error> {
            // Another tab stored the code's payment and has not handed its SMS over yet: this
            // tab asks for the order's payment again, as a buyer waiting for the SMS would.
            let Some(code) = self.sms.last_code(&self.phone) else {
                thread::yield_now();
                return Ok(());
            };
            match block_on(self.engine.confirm(payment, &code))? {
                CodeCheck::Confirmed(_) => Ok(()),
                CodeCheck::Rejected { .. } => panic!("the right code was rejected"),
            }
        }

        fn initiated_events(&self) -> usize {
            let kinds = self.events.kinds();
            kinds.iter().filter(|k| **k == EventKind::Initiated).count()
        }
    }

    /// Runs `task` on `threads` threads released at once, and collects the answers.
    fn race<T: Send>(threads: usize, task: impl Fn() -> T + Sync) -> Vec<T> {
        let start = Barrier::new(threads);
        thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let (start, task) = (&start, &task);
                    scope.spawn(move || {
                        start.wait();
                        task()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    #[test]
    fn sixteen_calls_racing_with_one_key_make_one_payment() {
        for seed in 0..ROUNDS {
            let round = Round::new(seed);
            let answers = race(CALLERS, || round.once());
            let ids: Vec<PaymentId> = answers.into_iter().map(|a| a.unwrap().id()).collect();
            assert!(ids.iter().all(|id| *id == ids[0]), "seed {seed}: {ids:?}");
            assert_eq!(payments_in(&round.store), [ids[0]], "seed {seed}");
            assert_eq!(round.initiated_events(), 1, "seed {seed}");
        }
    }

    #[test]
    fn two_tabs_racing_the_checkout_of_one_order_debit_once() {
        for seed in 0..ROUNDS {
            let round = Round::new(seed);
            let paid = race(2, || round.tab());
            assert_eq!(paid[0], paid[1], "seed {seed}");
            assert_eq!(payments_in(&round.store), [paid[0]], "seed {seed}");
            let debits = round.bank.debits();
            assert_eq!(debits.len(), 1, "seed {seed}");
            assert_eq!(debits[0].payment_id(), paid[0]);
            assert_eq!(round.sms.sent().len(), 1, "seed {seed}: one code sent");
            assert_eq!(round.initiated_events(), 1, "seed {seed}");
        }
    }
}
