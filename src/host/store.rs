//! The [`Store`] trait: a versioned key-value map with compare-and-swap.

use core::fmt;
use core::future::Future;

use crate::ids::{EnrollmentId, PaymentId};
use crate::time::Timestamp;

/// A record's name in the store: printable ASCII, at most 80 bytes.
///
/// Four kinds exist: `payment/<id>`, `enrollment/<id>`, `account/<hash>` and `guard/<hash>`,
/// where `<hash>` is a keyed hash of the phone number, so that no key reveals a number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(String);

impl Key {
    /// The key of a payment record.
    #[must_use]
    pub fn payment(id: &PaymentId) -> Self {
        let mut key = String::with_capacity(40);
        key.push_str("payment/");
        crate::ids::push_hex(&mut key, id.as_bytes());
        Self(key)
    }

    /// The key of an enrollment record.
    #[must_use]
    pub fn enrollment(id: &EnrollmentId) -> Self {
        let mut key = String::with_capacity(43);
        key.push_str("enrollment/");
        crate::ids::push_hex(&mut key, id.as_bytes());
        Self(key)
    }

    pub(crate) fn account(index: &str) -> Self {
        Self::named("account/", index)
    }

    pub(crate) fn guard(index: &str) -> Self {
        Self::named("guard/", index)
    }

    /// The name an event's seal is bound to: it is stored in the outbox, under no key.
    pub(crate) fn event(id: &crate::ids::EventId) -> Self {
        let mut key = String::with_capacity(38);
        key.push_str("event/");
        crate::ids::push_hex(&mut key, id.as_bytes());
        Self(key)
    }

    /// `a` where `keep_a` is all ones, `b` where it is zero, chosen byte by byte into a new
    /// key, reading both whole whichever is chosen. The keys must have the same length.
    pub(crate) fn select(a: &Self, b: &Self, keep_a: u8) -> Option<Self> {
        let (a, b) = (a.0.as_bytes(), b.0.as_bytes());
        if a.len() != b.len() {
            return None;
        }
        let bytes = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x & keep_a) | (y & !keep_a))
            .collect();
        String::from_utf8(bytes).ok().map(Self)
    }

    fn named(kind: &str, name: &str) -> Self {
        let mut key = String::with_capacity(kind.len().saturating_add(name.len()));
        key.push_str(kind);
        key.push_str(name);
        Self(key)
    }

    /// The key text, for a host's own storage.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key a store kept as `text`, as it gives it back from [`Store::due`]; `None` unless
    /// `text` is printable ASCII of 1 to 80 bytes, as every key the engine makes is.
    #[must_use]
    pub fn from_stored(text: &str) -> Option<Self> {
        let printable = text.bytes().all(|byte| byte.is_ascii_graphic());
        (printable && (1..=80).contains(&text.len())).then(|| Self(text.to_owned()))
    }

    /// A key with arbitrary text, for testing a store with names the engine does not make.
    #[cfg(feature = "testkit")]
    #[must_use]
    pub fn for_testing(name: &str) -> Self {
        Self(name.to_owned())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.0)
    }
}

/// The version of a stored value; the store assigns it on every write.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Version(u64);

impl Version {
    /// A version with the store's own number (a row version, a Redis counter, …).
    #[must_use]
    pub const fn new(number: u64) -> Self {
        Self(number)
    }

    /// The store's number.
    #[must_use]
    pub const fn number(self) -> u64 {
        self.0
    }
}

/// A stored value and its current version. `Debug` shows the value's length only: a payment
/// record holds the buyer's number.
#[derive(Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a version and the bytes are all an entry is; stores build it as they read"
)]
pub struct Entry {
    /// The version the value was written with.
    pub version: Version,
    /// The stored bytes.
    pub value: Vec<u8>,
}

impl Entry {
    /// An entry as read from the store.
    #[must_use]
    pub const fn new(version: Version, value: Vec<u8>) -> Self {
        Self { version, value }
    }

    /// The version the value was written with.
    #[must_use]
    pub const fn version(&self) -> Version {
        self.version
    }

    /// The stored bytes.
    #[must_use]
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// The stored bytes, owned.
    #[must_use]
    pub fn into_value(self) -> Vec<u8> {
        self.value
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("version", &self.version)
            .field("value", &format_args!("[{} bytes]", self.value.len()))
            .finish()
    }
}

/// What one [`Store::put`] writes: the record's bytes, the time its record falls due, and the
/// events of the change, all in the same atomic write.
///
/// Built by the engine; a store reads the fields. `From<Vec<u8>>` makes a plain write (no due
/// time, no event), for a host's tests.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Write {
    /// The record's bytes: what [`Store::get`] gives back.
    pub value: Vec<u8>,
    /// When the engine has work to do on this record (a payment to expire or settle, a refund
    /// to ask again, an enrollment to end): the key MUST be listed by [`Store::due`] from then
    /// on, until a later write of the key says otherwise. `None`: the record is finished, and
    /// the key MUST leave the due index.
    pub due: Option<Timestamp>,
    /// The events of the change, as opaque sealed bytes: appended to the store's outbox in
    /// this order, if and only if the write is applied.
    pub events: Vec<Vec<u8>>,
}

impl Write {
    /// A write of `value` with no due time and no event.
    #[must_use]
    pub fn new(value: Vec<u8>) -> Self {
        Self {
            value,
            due: None,
            events: Vec::new(),
        }
    }

    /// The same write, falling due at `at`.
    #[must_use]
    pub fn due_at(self, at: Timestamp) -> Self {
        Self {
            due: Some(at),
            ..self
        }
    }

    /// The same write, with `event` appended to its events.
    #[must_use]
    pub fn with_event(mut self, event: Vec<u8>) -> Self {
        self.events.push(event);
        self
    }
}

impl From<Vec<u8>> for Write {
    fn from(value: Vec<u8>) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Write")
            .field("value", &format_args!("[{} bytes]", self.value.len()))
            .field("due", &self.due)
            .field("events", &self.events.len())
            .finish()
    }
}

/// A key of the due index, and the time it fell due.
#[derive(Clone, PartialEq, Eq, Debug)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a key and a time are all a due entry is; stores build it as they read"
)]
pub struct Due {
    /// The record's key.
    pub key: Key,
    /// When it fell due.
    pub at: Timestamp,
}

/// An event waiting in the store's outbox, with the number the store gave it.
#[derive(Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a number and the bytes are all an outbox entry is; stores build it as they read"
)]
pub struct Outboxed {
    /// The store's number for the event: every event appended gets a number greater than any
    /// before it, and keeps it until acknowledged.
    pub seq: u64,
    /// The sealed event, byte for byte as written.
    pub event: Vec<u8>,
}

impl fmt::Debug for Outboxed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outboxed")
            .field("seq", &self.seq)
            .field("event", &format_args!("[{} bytes]", self.event.len()))
            .finish()
    }
}

/// One write of [`Store::put_together`]: a key, the version it must have, and what to write.
#[derive(Clone, Debug)]
#[allow(
    clippy::exhaustive_structs,
    reason = "the three arguments of a put, and nothing else"
)]
pub struct KeyedWrite {
    /// The key written.
    pub key: Key,
    /// Its version now (`None`: absent).
    pub expected: Option<Version>,
    /// What to write.
    pub write: Write,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The key's version was not the expected one: another writer got there first.
    #[error("the stored version is not the expected one")]
    Conflict,
    /// The backend failed. After a failed `put` the write may or may not have been applied;
    /// the engine treats it as unknown.
    #[error("the store backend failed: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    /// The database could not be reached, and nothing was sent: the write was NOT applied, and
    /// may be tried again as it is.
    #[error("the store is unavailable, nothing was written: {0}")]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// The write was sent, and its answer was lost (the connection dropped after the commit
    /// was sent): it may or may not have been applied. Read the key again to know.
    #[error("the store's answer was lost, the write may have been applied: {0}")]
    OutcomeUnknown(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps a backend error.
    pub fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Backend(error.into())
    }
}

/// A versioned key-value map with compare-and-swap: the engine's only persistent state.
///
/// Two methods map onto any database a host already runs: a table with a version column in
/// SQLite or PostgreSQL (`INSERT … ON CONFLICT DO NOTHING`, `UPDATE … WHERE version = ?`),
/// `WATCH`/`MULTI` or a Lua script in Redis, a condition expression in DynamoDB, a transaction in
/// FoundationDB or etcd. Values are opaque bytes made and authenticated by the engine.
///
/// # Contract
///
/// - `get` MUST return the latest value written under `key` by a `put` that returned `Ok`,
///   with the version that `put` returned, or `None` if no value was written since the key
///   was created or last removed.
/// - `put` MUST be atomic: it writes `value` if and only if the key's current version is
///   `expected` (`None`: the key MUST be absent), and returns the new version; otherwise it
///   writes nothing and returns [`StoreError::Conflict`].
/// - Values MUST come back byte for byte. Values are small (a few hundred bytes).
/// - When a `put` returns [`StoreError::Backend`], the write MAY have been applied. That is
///   allowed; writing half a value, or applying a write whose `expected` did not match, is not.
///
/// - `put` MUST store `write.due` with the value, in the same atomic write, and keep the key in
///   the due index exactly while its last applied write had a due time: [`Store::due`] lists
///   the keys due at or before a time, earliest first (ties in key order), reading an index
///   ordered by due time, never a scan of every record.
/// - `put` MUST append `write.events` to the outbox in the same atomic write, in their order,
///   each with a number greater than any given before ([`Outboxed::seq`]); a `put` that is not
///   applied appends nothing. [`Store::outbox`] lists the unacknowledged events by number,
///   smallest first; [`Store::acknowledge`] removes them for good.
///
/// - Every successful `put` of a key MUST return a version that key never had before, also
///   when the key was removed ([`Store::remove`]) and is created again: a caller that still
///   holds a version of the removed record must never find it valid on the new one.
///
/// A store that supports [`Store::remove`] lets the engine delete a payment or an enrollment
/// once it ended and its retention ([`Policy`](crate::Policy)) is over; one that does not keeps
/// every record, and a host then archives finished ones itself (no sooner than their retention:
/// an order's idempotency key lives in its payment's record).
pub trait Store: Send + Sync {
    /// The current value under `key`, with its version; `None` when absent.
    fn get(&self, key: &Key) -> impl Future<Output = Result<Option<Entry>, StoreError>> + Send;

    /// Writes only if the key's current version is `expected` (`None`: the key MUST be absent).
    /// MUST be atomic (compare-and-swap). Returns the new version; `StoreError::Conflict` otherwise.
    fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: Write,
    ) -> impl Future<Output = Result<Version, StoreError>> + Send;

    /// At most `limit` keys of the due index due at or before `until`, earliest first.
    fn due(
        &self,
        until: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Due>, StoreError>> + Send;

    /// At most `limit` unacknowledged events of the outbox, smallest number first.
    fn outbox(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Outboxed>, StoreError>> + Send;

    /// Removes the events numbered `seqs` from the outbox; numbers not there are ignored.
    fn acknowledge(&self, seqs: &[u64]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Optional: applies every write of `writes`, all or none, each under the rules of
    /// [`Store::put`]; [`StoreError::Conflict`] (nothing written) when any key's version is not
    /// the expected one. The versions come back in the order of `writes`. The keys are
    /// distinct.
    ///
    /// The engine batches a right PIN's guard with its payment, and a failed payment with the
    /// guard that gets its spending share back: one durable commit instead of two, and a failed
    /// payment that leaves the due index at once. It asks once, with an empty batch, whether
    /// the store batches, and remembers the answer: an empty batch MUST write nothing, and
    /// answer `Some(Ok(vec![]))` when the store batches; a store MUST give every call the same
    /// answer, `Some` or `None`.
    ///
    /// A store that cannot write several keys atomically keeps the default, which answers
    /// `None` without writing: the engine then writes them one by one, as the crash sweep
    /// proves safe, at the cost of one durable commit each.
    fn put_together(
        &self,
        writes: Vec<KeyedWrite>,
    ) -> impl Future<Output = Option<Result<Vec<Version>, StoreError>>> + Send {
        drop(writes);
        core::future::ready(None)
    }

    /// Optional: removes the record under `key` if its version is `expected`, with its entry
    /// of the due index, in one atomic step; [`StoreError::Conflict`] (nothing removed) when
    /// the key's version is another or the key is absent. The outbox is left as it is.
    ///
    /// After a removal `get` reads `None`, `due` no longer lists the key, and a `put` with no
    /// expected version may create the key again. That `put`, and every later one, MUST return
    /// a version the key never had before the removal: an order comes back under the same
    /// payment key ([`Engine::initiate_once`](crate::Engine::initiate_once) derives it), and a
    /// caller still holding a version of the removed record must get a conflict, never write
    /// over the new one. Two ways to keep it: versions drawn from a store-wide sequence, or a
    /// store-wide floor (the highest version ever removed) that a new key's first version
    /// starts above while each key counts up from there. A tombstone per removed key works too,
    /// but keeps a row per record for good, which removal exists to avoid.
    ///
    /// The engine removes a payment or an enrollment once it ended and its retention is over
    /// (see [`Engine::recover_due`](crate::Engine::recover_due)). A store that keeps every
    /// record keeps the default, which answers `None` without removing: the engine then writes
    /// such a record back with no due time instead. A store MUST give every call the same
    /// answer, `Some` or `None`.
    fn remove(
        &self,
        key: &Key,
        expected: Version,
    ) -> impl Future<Output = Option<Result<(), StoreError>>> + Send {
        let _ = (key, expected);
        core::future::ready(None)
    }
}
