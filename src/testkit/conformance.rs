//! The store conformance kit: the properties of [`Store`] the engine relies on, checked.

use core::fmt;
use core::future::{IntoFuture, Ready, ready};
use std::collections::HashSet;
use std::sync::Barrier;
use std::thread;

use crate::host::{Due, Entry, Key, KeyedWrite, Store, StoreError, Version, Write};
use crate::time::Timestamp;

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
/// keys; keys are independent; a storm of 8 threads × 64 increments of one counter through
/// `put`, where no update may be lost and no version given twice; the due index (listed from
/// the earliest, up to a time and a limit, following each key's last applied write and not a
/// conflicting one); the outbox (events appended with their write only, numbered up, in write
/// order even under the storm, gone once acknowledged); and, when the store supports
/// [`Store::put_together`], that an empty batch answers no versions and a batch is written
/// all or none; and, when the store supports [`Store::remove`] (it answers the removal of an
/// absent key with a conflict rather than `None`), that a removal is a compare-and-swap that
/// takes the record and its due entry, and that a key created again after a removal never
/// gets a version it had before.
///
/// Each check gets a store of its own from `make_store`, which MUST be empty (no record, no
/// due key, no event): a fresh database, schema or table.
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
    run(
        "due index: earliest first, up to a time and a limit",
        block_on(due_order(&make_store())),
    )?;
    run(
        "due index follows each key's last applied write",
        block_on(due_follows_writes(&make_store())),
    )?;
    run(
        "outbox: events appended with their write, numbered up, acknowledged for good",
        block_on(outbox_order(&make_store())),
    )?;
    run(
        "outbox: a racing writer's events in the order of its writes",
        storm_events(&make_store()),
    )?;
    let store = make_store();
    if block_on(store.put_together(Vec::new())).is_some() {
        run("writes together: all or none", block_on(together(&store)))?;
    }
    let store = make_store();
    if block_on(store.remove(&key("conformance/never-written"), Version::new(1))).is_some() {
        run(
            "removal: at its version, with its due entry",
            block_on(removal(&store)),
        )?;
        run(
            "removal: a key created again never reuses a version",
            block_on(recreated_versions(&make_store())),
        )?;
    }
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
        .put(key, expected, value.to_vec().into())
        .await
        .map_err(|e| format!("put {key} expecting {expected:?} failed: {e}"))
}

async fn expect_conflict(
    store: &impl Store,
    key: &Key,
    expected: Option<Version>,
    value: &[u8],
) -> Outcome {
    match store.put(key, expected, value.to_vec().into()).await {
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
        match store
            .put(k, Some(entry.version()), next.to_vec().into())
            .await
        {
            Ok(version) => versions.push(version),
            Err(StoreError::Conflict) => thread::yield_now(),
            Err(other) => return Err(format!("put failed during the storm: {other}")),
        }
    }
    Ok(versions)
}

fn at(millis: u64) -> Timestamp {
    Timestamp::from_unix_millis(millis)
}

async fn put_write(
    store: &impl Store,
    key: &Key,
    expected: Option<Version>,
    write: Write,
) -> Result<Version, String> {
    store
        .put(key, expected, write)
        .await
        .map_err(|e| format!("put {key} expecting {expected:?} failed: {e}"))
}

async fn due_list(store: &impl Store, until: u64, limit: usize) -> Result<Vec<Due>, String> {
    store
        .due(at(until), limit)
        .await
        .map_err(|e| format!("due failed: {e}"))
}

fn expect_due(seen: &[Due], expected: &[(&Key, u64)], what: &str) -> Outcome {
    let expected: Vec<Due> = expected
        .iter()
        .map(|(key, millis)| Due {
            key: (*key).clone(),
            at: at(*millis),
        })
        .collect();
    if seen == expected.as_slice() {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, listed {seen:?}"))
    }
}

async fn due_order(store: &impl Store) -> Outcome {
    let [k1, k2, k3, k4, k5] = ["a", "b", "c", "d", "e"].map(|n| key(&format!("due/{n}")));
    put_write(
        store,
        &k1,
        None,
        Write::new(b"1".to_vec()).due_at(at(3_000)),
    )
    .await?;
    put_write(
        store,
        &k2,
        None,
        Write::new(b"2".to_vec()).due_at(at(1_000)),
    )
    .await?;
    put_write(
        store,
        &k3,
        None,
        Write::new(b"3".to_vec()).due_at(at(2_000)),
    )
    .await?;
    put_write(store, &k4, None, Write::new(b"4".to_vec())).await?;
    // The same time as k3: ties come in key order.
    put_write(
        store,
        &k5,
        None,
        Write::new(b"5".to_vec()).due_at(at(2_000)),
    )
    .await?;
    expect_due(
        &due_list(store, 999, 10).await?,
        &[],
        "nothing due before 1000",
    )?;
    expect_due(
        &due_list(store, 2_500, 10).await?,
        &[(&k2, 1_000), (&k3, 2_000), (&k5, 2_000)],
        "due by 2500",
    )?;
    expect_due(
        &due_list(store, 2_000, 10).await?,
        &[(&k2, 1_000), (&k3, 2_000), (&k5, 2_000)],
        "due by 2000, the bound included",
    )?;
    expect_due(
        &due_list(store, u64::MAX >> 1, 2).await?,
        &[(&k2, 1_000), (&k3, 2_000)],
        "the first two of all",
    )?;
    expect_due(
        &due_list(store, u64::MAX >> 1, 0).await?,
        &[],
        "a limit of 0",
    )
}

async fn due_follows_writes(store: &impl Store) -> Outcome {
    let [k1, k2] = ["a", "b"].map(|n| key(&format!("due/{n}")));
    let v1 = put_write(
        store,
        &k1,
        None,
        Write::new(b"1".to_vec()).due_at(at(1_000)),
    )
    .await?;
    let v2 = put_write(
        store,
        &k2,
        None,
        Write::new(b"2".to_vec()).due_at(at(2_000)),
    )
    .await?;
    // k1 moves after k2.
    let v1 = put_write(
        store,
        &k1,
        Some(v1),
        Write::new(b"1b".to_vec()).due_at(at(5_000)),
    )
    .await?;
    expect_due(
        &due_list(store, 10_000, 10).await?,
        &[(&k2, 2_000), (&k1, 5_000)],
        "after k1 was written again due later",
    )?;
    // A write that loses its race changes nothing, its due time included.
    match store
        .put(&k2, Some(v1), Write::new(b"x".to_vec()).due_at(at(100)))
        .await
    {
        Err(StoreError::Conflict) => {}
        other => return Err(format!("a put at a stale version answered {other:?}")),
    }
    expect_due(
        &due_list(store, 10_000, 10).await?,
        &[(&k2, 2_000), (&k1, 5_000)],
        "after a conflicting put",
    )?;
    // A write with no due time takes the key out of the index.
    put_write(store, &k2, Some(v2), Write::new(b"2b".to_vec())).await?;
    expect_due(
        &due_list(store, 10_000, 10).await?,
        &[(&k1, 5_000)],
        "after k2 was finished",
    )?;
    put_write(store, &k1, Some(v1), Write::new(b"1c".to_vec())).await?;
    expect_due(
        &due_list(store, 10_000, 10).await?,
        &[],
        "after both were finished",
    )
}

async fn outbox_events(store: &impl Store, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, String> {
    Ok(store
        .outbox(limit)
        .await
        .map_err(|e| format!("outbox failed: {e}"))?
        .into_iter()
        .map(|entry| (entry.seq, entry.event))
        .collect())
}

fn events_of(listed: &[(u64, Vec<u8>)]) -> Vec<&[u8]> {
    listed.iter().map(|(_, event)| event.as_slice()).collect()
}

async fn outbox_order(store: &impl Store) -> Outcome {
    let (a, b) = (key("outbox/a"), key("outbox/b"));
    if !outbox_events(store, 10).await?.is_empty() {
        return Err("a new store's outbox is not empty".into());
    }
    let with = |value: &[u8], events: &[&[u8]]| {
        events
            .iter()
            .fold(Write::new(value.to_vec()), |write, event| {
                write.with_event(event.to_vec())
            })
    };
    let va = put_write(store, &a, None, with(b"a", &[b"e1", b"e2"])).await?;
    put_write(store, &b, None, with(b"b", &[b"e3"])).await?;
    match store.put(&a, None, with(b"lost", &[b"never"])).await {
        Err(StoreError::Conflict) => {}
        other => return Err(format!("a put on a present key answered {other:?}")),
    }
    put_write(store, &a, Some(va), with(b"a2", &[b"\x00\xff"])).await?;
    let listed = outbox_events(store, 10).await?;
    let expected: [&[u8]; 4] = [b"e1", b"e2", b"e3", b"\x00\xff"];
    if events_of(&listed) != expected {
        return Err(format!(
            "the outbox holds {:?}, expected e1, e2, e3 and the binary event",
            events_of(&listed)
        ));
    }
    if !listed
        .iter()
        .zip(listed.iter().skip(1))
        .all(|(a, b)| a.0 < b.0)
    {
        return Err("the outbox's numbers do not go up".into());
    }
    let first_two = outbox_events(store, 2).await?;
    if events_of(&first_two) != expected[..2] {
        return Err("outbox(2) did not list the two oldest events".into());
    }
    let seqs: Vec<u64> = listed.iter().map(|(seq, _)| *seq).collect();
    let (Some(&first), Some(&third)) = (seqs.first(), seqs.get(2)) else {
        return Err("the outbox lost events".into());
    };
    let unknown = seqs.iter().max().map_or(0, |max| max.saturating_add(1000));
    store
        .acknowledge(&[first, third, unknown])
        .await
        .map_err(|e| format!("acknowledge failed: {e}"))?;
    let left = outbox_events(store, 10).await?;
    if events_of(&left) != [expected[1], expected[3]] {
        return Err(format!(
            "after acknowledging e1 and e3 the outbox holds {:?}",
            events_of(&left)
        ));
    }
    put_write(store, &key("outbox/c"), None, with(b"c", &[b"e5"])).await?;
    let last = outbox_events(store, 10).await?;
    let newest = last.last().map(|(seq, _)| *seq).unwrap_or_default();
    if last.len() != 3 || seqs.iter().any(|seq| *seq >= newest) {
        return Err(
            "an event appended after an acknowledgement did not get a greater number".into(),
        );
    }
    Ok(())
}

/// The storm again, each increment writing the counter's new value as an event too: the
/// outbox must hold every increment once, in counter order.
fn storm_events(store: &impl Store) -> Outcome {
    let k = key("conformance/counter");
    block_on(write(store, &k, None, &0u64.to_be_bytes()))?;
    let barrier = Barrier::new(STORM_THREADS);
    let results: Vec<Outcome> = thread::scope(|scope| {
        let workers: Vec<_> = (0..STORM_THREADS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    block_on(evented_increments(store, &k, STORM_INCREMENTS))
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
    for result in results {
        result?;
    }
    let total = STORM_THREADS * STORM_INCREMENTS;
    let listed = block_on(outbox_events(store, total.saturating_add(10)))?;
    let counters: Vec<u64> = listed
        .iter()
        .map(|(_, event)| {
            event
                .as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .unwrap_or(u64::MAX)
        })
        .collect();
    let expected: Vec<u64> = (1..=total as u64).collect();
    if counters != expected {
        let first_wrong = counters
            .iter()
            .zip(&expected)
            .position(|(seen, want)| seen != want);
        return Err(format!(
            "the outbox holds {} events for {total} increments; first out of order at {first_wrong:?}",
            counters.len()
        ));
    }
    Ok(())
}

async fn evented_increments(store: &impl Store, k: &Key, count: usize) -> Outcome {
    let mut done = 0;
    while done < count {
        let entry = read(store, k).await?.ok_or("the counter disappeared")?;
        let value: [u8; 8] = entry
            .value()
            .try_into()
            .map_err(|_| "the counter lost its bytes")?;
        let next = u64::from_be_bytes(value).wrapping_add(1).to_be_bytes();
        let write = Write::new(next.to_vec()).with_event(next.to_vec());
        match store.put(k, Some(entry.version()), write).await {
            Ok(_) => done = done.saturating_add(1),
            Err(StoreError::Conflict) => thread::yield_now(),
            Err(other) => return Err(format!("put failed during the storm: {other}")),
        }
    }
    Ok(())
}

async fn together(store: &impl Store) -> Outcome {
    let (x, y) = (key("together/x"), key("together/y"));
    let batch = |x_at, y_at, tag: &str| {
        vec![
            KeyedWrite {
                key: x.clone(),
                expected: x_at,
                write: Write::new(format!("x{tag}").into_bytes())
                    .due_at(at(1_000))
                    .with_event(format!("x{tag}").into_bytes()),
            },
            KeyedWrite {
                key: y.clone(),
                expected: y_at,
                write: Write::new(format!("y{tag}").into_bytes())
                    .with_event(format!("y{tag}").into_bytes()),
            },
        ]
    };
    match store.put_together(Vec::new()).await {
        Some(Ok(versions)) if versions.is_empty() => {}
        other => return Err(format!("an empty batch answered {other:?}")),
    }
    let versions = match store.put_together(batch(None, None, "1")).await {
        Some(Ok(versions)) => versions,
        other => return Err(format!("a batch of two new keys answered {other:?}")),
    };
    let [vx, vy] = versions.as_slice() else {
        return Err(format!(
            "a batch of two writes returned {} versions",
            versions.len()
        ));
    };
    expect_entry(store, &x, *vx, b"x1").await?;
    expect_entry(store, &y, *vy, b"y1").await?;
    // y at a stale version: nothing of the batch is written.
    match store.put_together(batch(Some(*vx), None, "2")).await {
        Some(Err(StoreError::Conflict)) => {}
        other => return Err(format!("a batch with one stale version answered {other:?}")),
    }
    expect_entry(store, &x, *vx, b"x1").await?;
    expect_entry(store, &y, *vy, b"y1").await?;
    let events = outbox_events(store, 10).await?;
    if events_of(&events) != [b"x1".as_slice(), b"y1"] {
        return Err(format!(
            "after a written and a refused batch the outbox holds {:?}",
            events_of(&events)
        ));
    }
    expect_due(
        &due_list(store, 5_000, 10).await?,
        &[(&x, 1_000)],
        "after the batches",
    )
}

async fn expect_removal_refused(store: &impl Store, key: &Key, expected: Version) -> Outcome {
    match store.remove(key, expected).await {
        Some(Err(StoreError::Conflict)) => Ok(()),
        other => Err(format!(
            "remove {key} expecting {expected:?} answered {other:?} instead of a conflict"
        )),
    }
}

async fn remove(store: &impl Store, key: &Key, expected: Version) -> Outcome {
    match store.remove(key, expected).await {
        Some(Ok(())) => Ok(()),
        other => Err(format!(
            "remove {key} expecting {expected:?} answered {other:?}"
        )),
    }
}

async fn removal(store: &impl Store) -> Outcome {
    let (k, other) = (key("removal/k"), key("removal/other"));
    let absent = key("removal/absent");
    expect_removal_refused(store, &absent, Version::new(1)).await?;
    let v1 = put_write(store, &k, None, Write::new(b"1".to_vec()).due_at(at(1_000))).await?;
    let v2 = put_write(
        store,
        &k,
        Some(v1),
        Write::new(b"2".to_vec()).due_at(at(2_000)),
    )
    .await?;
    put_write(
        store,
        &other,
        None,
        Write::new(b"o".to_vec()).due_at(at(3_000)),
    )
    .await?;
    // A stale version: the record, its due entry and its value are kept.
    expect_removal_refused(store, &k, v1).await?;
    expect_entry(store, &k, v2, b"2").await?;
    expect_due(
        &due_list(store, 10_000, 10).await?,
        &[(&k, 2_000), (&other, 3_000)],
        "after a removal at a stale version",
    )?;
    remove(store, &k, v2).await?;
    if let Some(entry) = read(store, &k).await? {
        return Err(format!(
            "a removed key still reads as version {:?}",
            entry.version()
        ));
    }
    expect_due(
        &due_list(store, 10_000, 10).await?,
        &[(&other, 3_000)],
        "after the removal: the removed key left the index, the other stayed",
    )?;
    expect_removal_refused(store, &k, v2).await?;
    // A put at the removed version does not bring the record back.
    expect_conflict(store, &k, Some(v2), b"stale").await?;
    match read(store, &k).await? {
        None => Ok(()),
        Some(_) => Err("a put at a removed version wrote the key again".into()),
    }
}

/// Three lives of one key, each created, updated and removed: no version comes twice, and a
/// put at any version of an earlier life is refused.
async fn recreated_versions(store: &impl Store) -> Outcome {
    let k = key("removal/again");
    let mut seen: Vec<Version> = Vec::new();
    for life in 0..3u8 {
        let mut version = write(store, &k, None, &[life]).await?;
        for step in 0..=life {
            if seen.contains(&version) {
                return Err(format!(
                    "life {life} of the key got version {version:?}, which it had before"
                ));
            }
            seen.push(version);
            // An earlier life's versions are refused, whatever the key holds now.
            for stale in seen.iter().filter(|v| **v != version) {
                expect_conflict(store, &k, Some(*stale), b"stale").await?;
            }
            version = write(store, &k, Some(version), &[life, step]).await?;
        }
        if seen.contains(&version) {
            return Err(format!(
                "life {life} of the key got version {version:?}, which it had before"
            ));
        }
        seen.push(version);
        remove(store, &k, version).await?;
    }
    Ok(())
}
