//! The store conformance kit: the properties of [`Store`] the engine relies on, checked.

use core::fmt;
use core::future::{IntoFuture, Ready, ready};
use std::collections::HashSet;
use std::sync::Barrier;
use std::thread;

use crate::host::{Entry, Key, Store, StoreError, Version};

use super::block_on;

/// Threads and increments per thread of the compare-and-swap storm.
const STORM_THREADS: usize = 8;
const STORM_INCREMENTS: usize = 64;

/// The checks a store passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConformanceReport {
    checks: Vec<&'static str>,
}

impl ConformanceReport {
    /// The names of the checks run, all passed.
    #[must_use]
    pub fn checks(&self) -> &[&'static str] {
        &self.checks
    }
}

/// In an async test the report can be awaited too: it is already complete.
impl IntoFuture for ConformanceReport {
    type Output = Self;
    type IntoFuture = Ready<Self>;

    fn into_future(self) -> Ready<Self> {
        ready(self)
    }
}

/// The first check a store failed, and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConformanceFailure {
    check: &'static str,
    detail: String,
}

impl ConformanceFailure {
    /// The name of the failed check.
    #[must_use]
    pub fn check(&self) -> &'static str {
        self.check
    }

    /// What the store did wrong.
    #[must_use]
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for ConformanceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store conformance: {}: {}", self.check, self.detail)
    }
}

impl std::error::Error for ConformanceFailure {}

type Outcome = Result<(), String>;

/// Runs every check on stores made by `make_store` (a fresh one per check), and panics with the
/// first failure: call it from a test of your own [`Store`].
///
/// The checks: an absent key reads as none; insert-if-absent; compare-and-swap success and
/// conflict (stale version, version of a key that does not exist); versions never repeat;
/// values round-trip byte for byte (empty, every byte value, not UTF-8); a 256 KiB value; 2,000
/// keys; keys are independent; and a storm of 8 threads × 64 increments of one counter
/// through `put`, where no update may be lost and no version given twice.
///
/// Store futures are driven by [`block_on`] on the calling thread and on the storm's
/// threads; a store whose futures need an async runtime should be wrapped so that they don't
/// (for example by entering the runtime's handle in its methods).
///
/// # Panics
///
/// When the store fails a check, with the check's name and what was seen.
#[must_use = "the report lists the checks that ran"]
#[allow(
    clippy::panic,
    reason = "a test kit fails the host's test by panicking, as assert! does"
)]
pub fn store_conformance<S: Store, F: Fn() -> S>(make_store: F) -> ConformanceReport {
    match check_store(make_store) {
        Ok(report) => report,
        Err(failure) => panic!("{failure}"),
    }
}

/// Like [`store_conformance`], returning the first failure instead of panicking.
///
/// # Errors
///
/// The first check the store failed.
pub fn check_store<S: Store, F: Fn() -> S>(
    make_store: F,
) -> Result<ConformanceReport, ConformanceFailure> {
    let mut checks = Vec::new();
    let mut run = |check: &'static str, outcome: Outcome| {
        checks.push(check);
        outcome.map_err(|detail| ConformanceFailure { check, detail })
    };
    run(
        "an absent key reads as none",
        block_on(absent(&make_store())),
    )?;
    run(
        "insert if absent",
        block_on(insert_if_absent(&make_store())),
    )?;
    run(
        "compare-and-swap success",
        block_on(swap_success(&make_store())),
    )?;
    run(
        "compare-and-swap conflict",
        block_on(swap_conflict(&make_store())),
    )?;
    run(
        "versions never repeat",
        block_on(fresh_versions(&make_store())),
    )?;
    run(
        "values round-trip byte for byte",
        block_on(round_trip(&make_store())),
    )?;
    run("large values", block_on(large_value(&make_store())))?;
    run("many keys", block_on(many_keys(&make_store())))?;
    run(
        "keys are independent",
        block_on(independent_keys(&make_store())),
    )?;
    run("concurrent compare-and-swap storm", storm(&make_store()))?;
    Ok(ConformanceReport { checks })
}

fn key(name: &str) -> Key {
    Key::for_testing(name)
}

async fn read(store: &impl Store, key: &Key) -> Result<Option<Entry>, String> {
    store
        .get(key)
        .await
        .map_err(|e| format!("get {key} failed: {e}"))
}

async fn write(
    store: &impl Store,
    key: &Key,
    expected: Option<Version>,
    value: &[u8],
) -> Result<Version, String> {
    store
        .put(key, expected, value.to_vec())
        .await
        .map_err(|e| format!("put {key} expecting {expected:?} failed: {e}"))
}

async fn expect_conflict(
    store: &impl Store,
    key: &Key,
    expected: Option<Version>,
    value: &[u8],
) -> Outcome {
    match store.put(key, expected, value.to_vec()).await {
        Err(StoreError::Conflict) => Ok(()),
        Ok(version) => Err(format!(
            "put {key} expecting {expected:?} wrote version {version:?} instead of a conflict"
        )),
        Err(other) => Err(format!(
            "put {key} expecting {expected:?} failed with {other} instead of a conflict"
        )),
    }
}

async fn expect_entry(store: &impl Store, key: &Key, version: Version, value: &[u8]) -> Outcome {
    match read(store, key).await? {
        Some(entry) if entry.version() == version && entry.value() == value => Ok(()),
        Some(entry) => Err(format!(
            "get {key} returned version {:?} with {} bytes; expected version {version:?} with {} bytes",
            entry.version(),
            entry.value().len(),
            value.len()
        )),
        None => Err(format!("get {key} returned nothing after a successful put")),
    }
}

async fn absent(store: &impl Store) -> Outcome {
    match read(store, &key("conformance/absent")).await? {
        None => Ok(()),
        Some(entry) => Err(format!(
            "a key never written read as version {:?}",
            entry.version()
        )),
    }
}

async fn insert_if_absent(store: &impl Store) -> Outcome {
    let k = key("conformance/insert");
    let v1 = write(store, &k, None, b"first").await?;
    expect_entry(store, &k, v1, b"first").await?;
    expect_conflict(store, &k, None, b"second").await?;
    expect_entry(store, &k, v1, b"first").await
}

async fn swap_success(store: &impl Store) -> Outcome {
    let k = key("conformance/swap");
    let v1 = write(store, &k, None, b"a").await?;
    let v2 = write(store, &k, Some(v1), b"b").await?;
    if v2 == v1 {
        return Err(format!(
            "an update returned the version it replaced ({v1:?})"
        ));
    }
    expect_entry(store, &k, v2, b"b").await
}

async fn swap_conflict(store: &impl Store) -> Outcome {
    let k = key("conformance/conflict");
    let v1 = write(store, &k, None, b"a").await?;
    let v2 = write(store, &k, Some(v1), b"b").await?;
    expect_conflict(store, &k, Some(v1), b"stale").await?;
    expect_entry(store, &k, v2, b"b").await?;
    let absent = key("conformance/conflict-absent");
    expect_conflict(store, &absent, Some(v2), b"c").await?;
    match read(store, &absent).await? {
        None => Ok(()),
        Some(_) => Err("a put expecting a version wrote a key that did not exist".into()),
    }
}

async fn fresh_versions(store: &impl Store) -> Outcome {
    let k = key("conformance/versions");
    let mut seen = HashSet::new();
    let mut version = write(store, &k, None, b"0").await?;
    seen.insert(version);
    for i in 1..100u32 {
        version = write(store, &k, Some(version), &i.to_be_bytes()).await?;
        if !seen.insert(version) {
            return Err(format!(
                "update {i} returned version {version:?}, which the key had before"
            ));
        }
    }
    Ok(())
}

async fn round_trip(store: &impl Store) -> Outcome {
    let every_byte: Vec<u8> = (0..=255).collect();
    let values: [&[u8]; 5] = [
        b"",
        &[0],
        &every_byte,
        &[0xff, 0xfe, 0x00, 0x80],
        b"\r\n\t\\'\"%_",
    ];
    for (i, value) in values.iter().enumerate() {
        let k = key(&format!("conformance/bytes/{i}"));
        let version = write(store, &k, None, value).await?;
        expect_entry(store, &k, version, value).await?;
    }
    Ok(())
}

async fn large_value(store: &impl Store) -> Outcome {
    let value: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
    let k = key("conformance/large");
    let version = write(store, &k, None, &value).await?;
    expect_entry(store, &k, version, &value).await
}

async fn many_keys(store: &impl Store) -> Outcome {
    let names: Vec<String> = (0..2000u32)
        .map(|i| {
            let kind = match i % 3 {
                0 => "payment",
                1 => "account",
                _ => "guard",
            };
            format!("{kind}/{i:032x}")
        })
        .collect();
    let mut versions = Vec::with_capacity(names.len());
    for name in &names {
        versions.push(write(store, &key(name), None, name.as_bytes()).await?);
    }
    for (name, version) in names.iter().zip(versions) {
        expect_entry(store, &key(name), version, name.as_bytes()).await?;
    }
    Ok(())
}

async fn independent_keys(store: &impl Store) -> Outcome {
    let (a, b) = (key("conformance/a"), key("conformance/b"));
    let va = write(store, &a, None, b"a").await?;
    let vb = write(store, &b, None, b"b").await?;
    let va2 = write(store, &a, Some(va), b"a2").await?;
    expect_entry(store, &b, vb, b"b").await?;
    write(store, &b, Some(vb), b"b2").await?;
    expect_entry(store, &a, va2, b"a2").await
}

/// Threads increment one counter through `put` with compare-and-swap, retrying on conflict.
fn storm(store: &impl Store) -> Outcome {
    let k = key("conformance/counter");
    let first = block_on(write(store, &k, None, &0u64.to_be_bytes()))?;
    let barrier = Barrier::new(STORM_THREADS);
    let results: Vec<Result<Vec<Version>, String>> = thread::scope(|scope| {
        let workers: Vec<_> = (0..STORM_THREADS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    block_on(increments(store, &k, STORM_INCREMENTS))
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a storm thread panicked".into()))
            })
            .collect()
    });
    let mut versions = HashSet::from([first]);
    for result in results {
        for version in result? {
            if !versions.insert(version) {
                return Err(format!(
                    "version {version:?} was returned to two successful puts"
                ));
            }
        }
    }
    let expected = (STORM_THREADS * STORM_INCREMENTS) as u64;
    let entry = block_on(read(store, &k))?.ok_or("the counter disappeared")?;
    let counter = entry
        .value()
        .try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| "the counter lost its bytes")?;
    if counter != expected {
        return Err(format!(
            "{expected} increments succeeded but the counter reads {counter}: updates were lost"
        ));
    }
    Ok(())
}

async fn increments(store: &impl Store, k: &Key, count: usize) -> Result<Vec<Version>, String> {
    let mut versions = Vec::with_capacity(count);
    while versions.len() < count {
        let entry = read(store, k).await?.ok_or("the counter disappeared")?;
        let value: [u8; 8] = entry
            .value()
            .try_into()
            .map_err(|_| "the counter lost its bytes")?;
        let next = u64::from_be_bytes(value).wrapping_add(1).to_be_bytes();
        match store.put(k, Some(entry.version()), next.to_vec()).await {
            Ok(version) => versions.push(version),
            Err(StoreError::Conflict) => thread::yield_now(),
            Err(other) => return Err(format!("put failed during the storm: {other}")),
        }
    }
    Ok(versions)
}
