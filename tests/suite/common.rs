//! A ready host for the integration tests: an engine on the memory host with a manual clock,
//! and one enrolled buyer.

use std::time::Duration;

use buyster::memory::{ManualClock, MemoryBank, MemoryEvents, MemorySms, MemoryStore};
use buyster::{
    Amount, AnyPayment, Currency, Engine, Error, FundingSource, Keys, Merchant, Order, OtpCode,
    OtpSent, Payment, PaymentId, PhoneNumber, Pin, PinCheck, PinVerified, Policy, SecretKey,
    StateKind, Timestamp,
};

/// The store calls of the engine's background work (the due index, the outbox, removal),
/// handed to `self.inner` as they are: for a test store that wraps another to change its `get`
/// or `put`.
macro_rules! forward_background_calls {
    () => {
        forward_background_calls!(except remove);

        async fn remove(
            &self,
            key: &buyster::Key,
            expected: buyster::Version,
        ) -> Option<Result<(), buyster::StoreError>> {
            buyster::Store::remove(&self.inner, key, expected).await
        }
    };
    // For a store that removes in its own way, or keeps everything.
    (except remove) => {
        async fn due(
            &self,
            until: buyster::Timestamp,
            limit: usize,
        ) -> Result<Vec<buyster::Due>, buyster::StoreError> {
            buyster::Store::due(&self.inner, until, limit).await
        }

        async fn outbox(
            &self,
            limit: usize,
        ) -> Result<Vec<buyster::Outboxed>, buyster::StoreError> {
            buyster::Store::outbox(&self.inner, limit).await
        }

        async fn acknowledge(&self, seqs: &[u64]) -> Result<(), buyster::StoreError> {
            buyster::Store::acknowledge(&self.inner, seqs).await
        }
    };
}

#[allow(
    unused_imports,
    reason = "common.rs is a module of test binaries with no store of their own too"
)]
pub(crate) use forward_background_calls;

pub const PIN: &str = "246813";
pub const WRONG_PIN: &str = "246831";
pub const PHONE: &str = "+33612345678";
pub const IBAN: &str = "FR76 3000 6000 0112 3456 7890 189";
pub const T0: Timestamp = Timestamp::from_unix_millis(1_795_786_860_000);
pub const MASTER: [u8; 32] = [0x5a; 32];

pub type TestEngine = Engine<MemoryStore, MemorySms, MemoryBank, ManualClock>;

pub fn pin(digits: &str) -> Pin {
    digits.parse().unwrap()
}

pub fn minutes(n: u64) -> Duration {
    Duration::from_secs(60 * n)
}

pub fn seconds(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn after(t: Timestamp, d: Duration) -> Timestamp {
    t.saturating_add(d)
}

/// The work due in `store` at `now`: its due index without the ended records it keeps until
/// their retention is over, which fall due a day or more after `now` (the shortest retention).
pub fn work_due(store: &MemoryStore, now: Timestamp) -> Vec<buyster::Due> {
    let horizon = after(now, Duration::from_secs(86_400));
    store
        .due_index()
        .into_iter()
        .filter(|due| due.at < horizon)
        .collect()
}

pub fn order(minor: u64) -> Order {
    let merchant = Merchant::new("boutique-exemple", "Boutique Exemple").unwrap();
    Order::new(
        merchant,
        Amount::new(minor, Currency::EUR).unwrap(),
        "CMD-2026-000123",
    )
    .unwrap()
}

/// A code surely different from `code`: its last digit changed.
pub fn other_code(code: &OtpCode) -> OtpCode {
    let mut digits: Vec<u8> = code.expose_secret().bytes().collect();
    let last = digits.last_mut().unwrap();
    *last = b'0' + (*last - b'0' + 1) % 10;
    String::from_utf8(digits).unwrap().parse().unwrap()
}

/// The answer to a PIN at a new checkout of `phone`: `Ok(None)` when verified, `Ok(Some(n))`
/// when rejected with `n` attempts left.
pub async fn checkout_pin(
    host: &Host,
    phone: &PhoneNumber,
    digits: &str,
) -> Result<Option<u8>, Error> {
    let payment = host.engine.initiate(order(4990), phone).await?;
    match host.engine.verify_pin(payment, &pin(digits)).await? {
        PinCheck::Verified(_) => Ok(None),
        PinCheck::Rejected { attempts_left, .. } => Ok(Some(attempts_left)),
    }
}

pub struct Host {
    pub engine: TestEngine,
    pub store: MemoryStore,
    pub sms: MemorySms,
    pub bank: MemoryBank,
    pub clock: ManualClock,
    pub events: MemoryEvents,
    pub phone: PhoneNumber,
}

impl Host {
    pub async fn new() -> Self {
        Self::with_policy(Policy::default()).await
    }

    pub async fn with_policy(policy: Policy) -> Self {
        let host = Self::empty(policy, MemoryStore::new());
        let iban: FundingSource = IBAN.parse().unwrap();
        host.engine
            .enroll(&host.phone, &pin(PIN), iban)
            .await
            .unwrap();
        host
    }

    /// A host with no buyer enrolled, over `store`.
    pub fn empty(policy: Policy, store: MemoryStore) -> Self {
        Self::empty_with_key(policy, store, MASTER)
    }

    /// Another engine process over this host's store, SMS outbox, bank and clock, with `keys`
    /// and `policy`: the host restarted with a rotated key or a changed policy.
    pub fn restarted(&self, keys: Keys, policy: Policy) -> TestEngine {
        Engine::builder(keys)
            .store(self.store.clone())
            .sms(self.sms.clone())
            .bank(self.bank.clone())
            .clock(self.clock.clone())
            .policy(policy)
            .build()
            .unwrap()
    }

    /// A host with no buyer enrolled, over `store`, with its own master key.
    pub fn empty_with_key(policy: Policy, store: MemoryStore, master: [u8; 32]) -> Self {
        let (sms, bank, clock) = (MemorySms::new(), MemoryBank::new(), ManualClock::new(T0));
        let events = MemoryEvents::new();
        let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(master)))
            .store(store.clone())
            .sms(sms.clone())
            .bank(bank.clone())
            .clock(clock.clone())
            .policy(policy)
            .events(events.clone())
            .build()
            .unwrap();
        Self {
            engine,
            store,
            sms,
            bank,
            clock,
            events,
            phone: PHONE.parse().unwrap(),
        }
    }

    pub async fn initiate(&self) -> Payment<buyster::Initiated> {
        self.engine
            .initiate(order(4990), &self.phone)
            .await
            .unwrap()
    }

    pub async fn verified(&self) -> Payment<PinVerified> {
        let payment = self.initiate().await;
        match self.engine.verify_pin(payment, &pin(PIN)).await.unwrap() {
            PinCheck::Verified(p) => p,
            other => panic!("{other:?}"),
        }
    }

    pub async fn sent(&self) -> Payment<OtpSent> {
        let verified = self.verified().await;
        self.engine.send_code(verified).await.unwrap()
    }

    /// A payment whose right code met `fault` at the bank: left `Authorized` (or `Failed` for a
    /// decline).
    pub async fn authorized_despite(&self, fault: buyster::memory::BankFault) -> PaymentId {
        let sent = self.sent().await;
        let id = sent.id();
        self.bank.fail_next(fault);
        assert!(self.engine.confirm(sent, &self.code()).await.is_err());
        id
    }

    /// The last code sent to the buyer.
    pub fn code(&self) -> OtpCode {
        self.sms.last_code(&self.phone).unwrap()
    }

    pub async fn stored(&self, id: PaymentId) -> AnyPayment {
        self.engine.load(id).await.unwrap()
    }

    pub async fn kind(&self, id: PaymentId) -> StateKind {
        self.stored(id).await.kind()
    }

    pub async fn failure(&self, id: PaymentId) -> buyster::FailureReason {
        match self.stored(id).await {
            AnyPayment::Failed(p) => p.reason(),
            other => panic!("not failed: {other:?}"),
        }
    }

    pub async fn stored_otp(&self, id: PaymentId) -> Payment<OtpSent> {
        self.engine.resume::<OtpSent>(id).await.unwrap()
    }
}

/// Where a [`PausingStore`] stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// Before a `put` is carried out.
    BeforePut,
    /// Once a `put` was carried out, before its answer is returned.
    AfterPut,
}

struct Pause {
    point: Point,
    prefix: String,
    reached: tokio::sync::oneshot::Sender<()>,
    resume: tokio::sync::oneshot::Receiver<()>,
}

/// A store over a [`MemoryStore`] that stops once, at the first call of the armed kind on a
/// key with the armed prefix, until the test lets it go: a way to land other calls exactly
/// between two steps of an engine operation. It writes one key at a time unless made with
/// [`PausingStore::batching`]; a batch with a key of the prefix stops as a `put` would.
#[derive(Clone)]
pub struct PausingStore {
    inner: MemoryStore,
    pause: std::sync::Arc<std::sync::Mutex<Option<Pause>>>,
    batches: bool,
}

impl PausingStore {
    pub fn new(inner: MemoryStore) -> Self {
        Self {
            inner,
            pause: Default::default(),
            batches: false,
        }
    }

    /// A pausing store that writes batches, as the memory store does.
    pub fn batching(inner: MemoryStore) -> Self {
        Self {
            batches: true,
            ..Self::new(inner)
        }
    }

    /// Arms the pause at `point` for keys starting with `prefix`: the first receiver fires
    /// when the call is reached, and the call goes on once the sender is used.
    pub fn arm(
        &self,
        point: Point,
        prefix: &str,
    ) -> (
        tokio::sync::oneshot::Receiver<()>,
        tokio::sync::oneshot::Sender<()>,
    ) {
        let (reached_tx, reached_rx) = tokio::sync::oneshot::channel();
        let (resume_tx, resume_rx) = tokio::sync::oneshot::channel();
        *self.pause.lock().unwrap() = Some(Pause {
            point,
            prefix: prefix.to_owned(),
            reached: reached_tx,
            resume: resume_rx,
        });
        (reached_rx, resume_tx)
    }

    /// Stops here if the armed pause is for `point` and `key`.
    async fn maybe_pause(&self, point: Point, key: &buyster::Key) {
        let pause = {
            let mut armed = self.pause.lock().unwrap();
            match armed.as_ref() {
                Some(p) if p.point == point && key.as_str().starts_with(&p.prefix) => armed.take(),
                _ => None,
            }
        };
        if let Some(pause) = pause {
            pause.reached.send(()).unwrap();
            pause.resume.await.unwrap();
        }
    }
}

impl buyster::Store for PausingStore {
    async fn get(&self, key: &buyster::Key) -> Result<Option<buyster::Entry>, buyster::StoreError> {
        buyster::Store::get(&self.inner, key).await
    }

    async fn put(
        &self,
        key: &buyster::Key,
        expected: Option<buyster::Version>,
        write: buyster::Write,
    ) -> Result<buyster::Version, buyster::StoreError> {
        self.maybe_pause(Point::BeforePut, key).await;
        let written = buyster::Store::put(&self.inner, key, expected, write).await;
        self.maybe_pause(Point::AfterPut, key).await;
        written
    }
    forward_background_calls!();

    async fn put_together(
        &self,
        writes: Vec<buyster::KeyedWrite>,
    ) -> Option<Result<Vec<buyster::Version>, buyster::StoreError>> {
        if !self.batches {
            return None;
        }
        let keys: Vec<buyster::Key> = writes.iter().map(|write| write.key.clone()).collect();
        for key in &keys {
            self.maybe_pause(Point::BeforePut, key).await;
        }
        let written = buyster::Store::put_together(&self.inner, writes).await;
        for key in &keys {
            self.maybe_pause(Point::AfterPut, key).await;
        }
        written
    }
}

impl Host {
    /// A second engine over this host's parts, with `store` in front of its store: the same
    /// keys, policy, SMS outbox, bank and clock.
    pub fn engine_over<St: buyster::Store>(
        &self,
        store: St,
    ) -> Engine<St, MemorySms, MemoryBank, ManualClock> {
        Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
            .store(store)
            .sms(self.sms.clone())
            .bank(self.bank.clone())
            .clock(self.clock.clone())
            .policy(self.engine.policy().clone())
            .build()
            .unwrap()
    }
}

/// A store over `S` that writes batches only when `batches` says so: otherwise its
/// `put_together` answers `None`, as a store that cannot write several keys atomically does,
/// and the engine writes one key at a time.
#[derive(Clone)]
pub struct Batching<S> {
    pub inner: S,
    pub batches: bool,
}

impl<S> Batching<S> {
    /// `inner` as it is: with its batches, if it has them.
    pub fn on(inner: S) -> Self {
        Self {
            inner,
            batches: true,
        }
    }

    /// `inner` with its batches hidden.
    pub fn off(inner: S) -> Self {
        Self {
            inner,
            batches: false,
        }
    }
}

impl<S: buyster::Store> buyster::Store for Batching<S> {
    async fn get(&self, key: &buyster::Key) -> Result<Option<buyster::Entry>, buyster::StoreError> {
        self.inner.get(key).await
    }

    async fn put(
        &self,
        key: &buyster::Key,
        expected: Option<buyster::Version>,
        write: buyster::Write,
    ) -> Result<buyster::Version, buyster::StoreError> {
        self.inner.put(key, expected, write).await
    }

    forward_background_calls!();

    async fn put_together(
        &self,
        writes: Vec<buyster::KeyedWrite>,
    ) -> Option<Result<Vec<buyster::Version>, buyster::StoreError>> {
        if self.batches {
            self.inner.put_together(writes).await
        } else {
            None
        }
    }
}
