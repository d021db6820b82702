//! The [`Store`] trait: a versioned key-value map with compare-and-swap.

use core::fmt;
use core::future::Future;

use crate::ids::{EnrollmentId, PaymentId};

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
///   with the version that `put` returned, or `None` if no value was ever written.
/// - `put` MUST be atomic: it writes `value` if and only if the key's current version is
///   `expected` (`None`: the key MUST be absent), and returns the new version; otherwise it
///   writes nothing and returns [`StoreError::Conflict`].
/// - Every successful `put` of a key MUST return a version that key never had before.
/// - Values MUST come back byte for byte. Values are small (a few hundred bytes).
/// - When a `put` returns [`StoreError::Backend`], the write MAY have been applied. That is
///   allowed; writing half a value, or applying a write whose `expected` did not match, is not.
///
/// Keys are never deleted by the engine; finished payments may be archived by the host once
/// they are no longer needed.
pub trait Store: Send + Sync {
    /// The current value under `key`, with its version; `None` when absent.
    fn get(&self, key: &Key) -> impl Future<Output = Result<Option<Entry>, StoreError>> + Send;

    /// Writes only if the key's current version is `expected` (`None`: the key MUST be absent).
    /// MUST be atomic (compare-and-swap). Returns the new version; `StoreError::Conflict` otherwise.
    fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<Version, StoreError>> + Send;
}
