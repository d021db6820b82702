//! The store conformance kit passes the memory store and catches broken ones.
#![cfg(feature = "testkit")]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use buyster::memory::MemoryStore;
use buyster::testkit::{check_store, store_conformance};
use buyster::{Due, Entry, Key, Outboxed, Store, StoreError, Timestamp, Version, Write};

#[test]
fn the_memory_store_conforms() {
    let report = store_conformance(MemoryStore::new);
    assert_eq!(report.checks().len(), 17, "{:?}", report.checks());
    assert!(report.checks().contains(&"writes together: all or none"));
    assert!(
        report
            .checks()
            .contains(&"removal: a key created again never reuses a version")
    );
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
    due: Arc<Mutex<BTreeMap<Key, Timestamp>>>,
    outbox: Arc<Mutex<Vec<Outboxed>>>,
    bug: Bug,
}

#[derive(Clone, Copy, Default, PartialEq)]
enum Bug {
    /// None: a correct store, without batches.
    None,
    #[default]
    LastWriterWins,
    CheckThenWrite,
    ReusedVersions,
    Truncates,
    /// Right compare-and-swap, but `due` lists nothing.
    NoDueIndex,
    /// Keeps a key's first due time, whatever later writes say.
    FirstDueTimeKept,
    /// Appends the events of a write that lost its race.
    EventsOfConflictsKept,
    /// Lists the outbox newest first.
    OutboxNewestFirst,
    /// Removes a key whatever its version.
    RemovalIgnoresVersion,
    /// Removes the record but leaves its key in the due index.
    RemovalKeepsDueEntry,
    /// Removes correctly, but a key created again counts from 1 as if it were new.
    RemovalReusesVersions,
}

impl Bug {
    /// Whether the store supports removal: only the removal bugs do.
    fn removes(self) -> bool {
        matches!(
            self,
            Self::RemovalIgnoresVersion | Self::RemovalKeepsDueEntry | Self::RemovalReusesVersions
        )
    }
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
        write: Write,
    ) -> Result<Version, StoreError> {
        let (mut value, due, events) = (write.value, write.due, write.events);
        // One lock over the check and the write, but for the racy bug.
        let mut map = self.map.lock().unwrap();
        let current = map.get(key).map(Entry::version);
        if self.bug == Bug::CheckThenWrite {
            // The check and the write are not one atomic step.
            drop(map);
            std::thread::yield_now();
            map = self.map.lock().unwrap();
        }
        let mut outbox = self.outbox.lock().unwrap();
        let mut append = |events: Vec<Vec<u8>>| {
            for event in events {
                let seq = outbox.last().map_or(1, |last| last.seq + 1);
                outbox.push(Outboxed { seq, event });
            }
        };
        if self.bug != Bug::LastWriterWins && current != expected {
            if self.bug == Bug::EventsOfConflictsKept {
                append(events);
            }
            return Err(StoreError::Conflict);
        }
        append(events);
        drop(outbox);
        let mut index = self.due.lock().unwrap();
        match due {
            _ if self.bug == Bug::NoDueIndex => {}
            _ if self.bug == Bug::FirstDueTimeKept && index.contains_key(key) => {}
            Some(at) => {
                index.insert(key.clone(), at);
            }
            None => {
                index.remove(key);
            }
        }
        drop(index);
        let next = match (self.bug, current) {
            (Bug::ReusedVersions, Some(v)) if v.number() % 2 == 1 => Version::new(v.number() - 1),
            (_, Some(v)) => Version::new(v.number() + 1),
            (_, None) => Version::new(1),
        };
        if self.bug == Bug::Truncates {
            value.truncate(65_535);
        }
        map.insert(key.clone(), Entry::new(next, value));
        Ok(next)
    }

    async fn due(&self, until: Timestamp, limit: usize) -> Result<Vec<Due>, StoreError> {
        let mut due: Vec<Due> = self
            .due
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, at)| **at <= until)
            .map(|(key, at)| Due {
                key: key.clone(),
                at: *at,
            })
            .collect();
        due.sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
        due.truncate(limit);
        Ok(due)
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<Outboxed>, StoreError> {
        let mut outbox = self.outbox.lock().unwrap().clone();
        if self.bug == Bug::OutboxNewestFirst {
            outbox.reverse();
        }
        outbox.truncate(limit);
        Ok(outbox)
    }

    async fn acknowledge(&self, seqs: &[u64]) -> Result<(), StoreError> {
        self.outbox
            .lock()
            .unwrap()
            .retain(|event| !seqs.contains(&event.seq));
        Ok(())
    }

    async fn remove(&self, key: &Key, expected: Version) -> Option<Result<(), StoreError>> {
        if !self.bug.removes() {
            return None;
        }
        let mut map = self.map.lock().unwrap();
        let current = map.get(key).map(Entry::version);
        if current.is_none()
            || (self.bug != Bug::RemovalIgnoresVersion && current != Some(expected))
        {
            return Some(Err(StoreError::Conflict));
        }
        map.remove(key);
        if self.bug != Bug::RemovalKeepsDueEntry {
            self.due.lock().unwrap().remove(key);
        }
        Some(Ok(()))
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
fn a_store_without_a_due_index_fails() {
    let failure = check_store(Broken::with(Bug::NoDueIndex)).unwrap_err();
    assert_eq!(
        failure.check(),
        "due index: earliest first, up to a time and a limit",
        "{failure}"
    );
}

#[test]
fn a_store_whose_due_index_misses_later_writes_fails() {
    let failure = check_store(Broken::with(Bug::FirstDueTimeKept)).unwrap_err();
    assert_eq!(
        failure.check(),
        "due index follows each key's last applied write",
        "{failure}"
    );
}

#[test]
fn a_store_keeping_the_events_of_a_lost_race_fails() {
    let failure = check_store(Broken::with(Bug::EventsOfConflictsKept)).unwrap_err();
    assert_eq!(
        failure.check(),
        "outbox: events appended with their write, numbered up, acknowledged for good",
        "{failure}"
    );
}

#[test]
fn a_store_listing_its_outbox_newest_first_fails() {
    let failure = check_store(Broken::with(Bug::OutboxNewestFirst)).unwrap_err();
    assert!(failure.check().starts_with("outbox: "), "{failure}");
}

#[test]
fn a_store_removing_at_any_version_fails() {
    let failure = check_store(Broken::with(Bug::RemovalIgnoresVersion)).unwrap_err();
    assert_eq!(
        failure.check(),
        "removal: at its version, with its due entry",
        "{failure}"
    );
    assert!(
        failure.detail().contains("instead of a conflict"),
        "{failure}"
    );
}

#[test]
fn a_store_leaving_a_removed_key_in_the_due_index_fails() {
    let failure = check_store(Broken::with(Bug::RemovalKeepsDueEntry)).unwrap_err();
    assert_eq!(
        failure.check(),
        "removal: at its version, with its due entry",
        "{failure}"
    );
    assert!(failure.detail().contains("left the index"), "{failure}");
}

#[test]
fn a_store_giving_a_key_created_again_its_old_versions_fails() {
    let failure = check_store(Broken::with(Bug::RemovalReusesVersions)).unwrap_err();
    assert_eq!(
        failure.check(),
        "removal: a key created again never reuses a version",
        "{failure}"
    );
}

#[test]
fn a_correct_store_without_batches_passes_every_other_check() {
    let report = check_store(Broken::with(Bug::None)).unwrap();
    assert_eq!(report.checks().len(), 14, "{:?}", report.checks());
    assert!(!report.checks().contains(&"writes together: all or none"));
    assert!(
        !report
            .checks()
            .iter()
            .any(|check| check.starts_with("removal"))
    );
}

#[test]
#[should_panic(expected = "store conformance: insert if absent")]
fn store_conformance_panics_on_the_first_failure() {
    let _ = store_conformance(Broken::with(Bug::LastWriterWins));
}
