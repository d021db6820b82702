//! The store conformance kit passes the memory store and catches broken ones.
#![cfg(feature = "testkit")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use buyster::memory::MemoryStore;
use buyster::testkit::{check_store, store_conformance};
use buyster::{Entry, Key, Store, StoreError, Version};

#[test]
fn the_memory_store_conforms() {
    let report = store_conformance(MemoryStore::new);
    assert_eq!(report.checks().len(), 10);
}

#[tokio::test]
async fn the_report_reads_the_same_in_async_tests() {
    let report = store_conformance(MemoryStore::new).await;
    assert!(report.checks().contains(&"insert if absent"));
}

/// A map whose `put` follows a chosen bug.
#[derive(Clone, Default)]
struct Broken {
    map: Arc<Mutex<HashMap<Key, Entry>>>,
    bug: Bug,
}

#[derive(Clone, Copy, Default, PartialEq)]
enum Bug {
    #[default]
    LastWriterWins,
    CheckThenWrite,
    ReusedVersions,
    Truncates,
}

impl Broken {
    fn with(bug: Bug) -> impl Fn() -> Self {
        move || Self {
            bug,
            ..Self::default()
        }
    }
}

impl Store for Broken {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        Ok(self.map.lock().unwrap().get(key).cloned())
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        mut value: Vec<u8>,
    ) -> Result<Version, StoreError> {
        let current = self.map.lock().unwrap().get(key).map(Entry::version);
        if self.bug != Bug::LastWriterWins && current != expected {
            return Err(StoreError::Conflict);
        }
        if self.bug == Bug::CheckThenWrite {
            // The check and the write are not one atomic step.
            std::thread::yield_now();
        }
        let next = match (self.bug, current) {
            (Bug::ReusedVersions, Some(v)) if v.number() % 2 == 1 => Version::new(v.number() - 1),
            (_, Some(v)) => Version::new(v.number() + 1),
            (_, None) => Version::new(1),
        };
        if self.bug == Bug::Truncates {
            value.truncate(65_535);
        }
        self.map
            .lock()
            .unwrap()
            .insert(key.clone(), Entry::new(next, value));
        Ok(next)
    }
}

#[test]
fn a_store_ignoring_the_expected_version_fails() {
    let failure = check_store(Broken::with(Bug::LastWriterWins)).unwrap_err();
    assert_eq!(failure.check(), "insert if absent");
}

#[test]
fn a_store_with_a_racy_compare_and_swap_fails_the_storm() {
    let failure = check_store(Broken::with(Bug::CheckThenWrite)).unwrap_err();
    assert_eq!(
        failure.check(),
        "concurrent compare-and-swap storm",
        "{failure}"
    );
}

#[test]
fn a_store_reusing_versions_fails() {
    let failure = check_store(Broken::with(Bug::ReusedVersions)).unwrap_err();
    assert_eq!(failure.check(), "versions never repeat", "{failure}");
}

#[test]
fn a_store_truncating_values_fails() {
    let failure = check_store(Broken::with(Bug::Truncates)).unwrap_err();
    assert_eq!(failure.check(), "large values", "{failure}");
}

#[test]
#[should_panic(expected = "store conformance: insert if absent")]
fn store_conformance_panics_on_the_first_failure() {
    let _ = store_conformance(Broken::with(Bug::LastWriterWins));
}
