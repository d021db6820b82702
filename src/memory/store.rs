//! [`MemoryStore`]: a sharded, concurrent map with real compare-and-swap.

use core::fmt;
use core::hash::{BuildHasher, BuildHasherDefault};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::host::{Due, Entry, Key, KeyedWrite, Outboxed, Store, StoreError, Version, Write};
use crate::time::Timestamp;

use super::{WordHash, lock};

const SHARDS: usize = 16;

/// A stored record: its entry, and when it falls due (`None`: not in the due index).
#[derive(Clone)]
struct Stored {
    entry: Entry,
    due: Option<Timestamp>,
}

type Shard = Mutex<HashMap<Key, Stored, BuildHasherDefault<WordHash>>>;

/// What a write that passed its compare-and-swap makes: a key's next version, or a new key's
/// first, which is resolved under the shared lock, above the versions removed.
#[derive(Clone, Copy)]
enum Next {
    Update(Version),
    Create,
}

/// The due index and the outbox, shared by every shard: updated under the lock of the shard
/// being written, then this one, so a reader sees a write whole or not at all.
#[derive(Default)]
struct Shared {
    due: BTreeSet<(Timestamp, Key)>,
    /// The highest version a removed record had: a key created after it starts above it, so
    /// that a key created again never gets a version it had before its removal.
    removed_floor: u64,
    next_seq: u64,
    outbox: BTreeMap<u64, Vec<u8>>,
}

/// A [`Store`] in memory: 16 shards, each behind its own lock, so independent payments do not
/// contend. `put` compares and swaps under the shard's lock; versions count up by one per key,
/// from 1, or from above the highest version ever removed ([`Store::remove`] is supported). The
/// due index is ordered by time and the outbox by number, as a database's would be, and
/// [`Store::put_together`] is supported (the shards of its keys are locked in order).
#[derive(Clone, Default)]
pub struct MemoryStore {
    shards: Arc<[Shard; SHARDS]>,
    shared: Arc<Mutex<Shared>>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key stored, in order: what a database administrator would see.
    #[must_use]
    pub fn keys(&self) -> Vec<Key> {
        let mut keys: Vec<Key> = self
            .shards
            .iter()
            .flat_map(|shard| lock(shard).keys().cloned().collect::<Vec<_>>())
            .collect();
        keys.sort();
        keys
    }

    /// The number of records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }

    /// Whether no record is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry of the due index, earliest first: what is left to do.
    #[must_use]
    pub fn due_index(&self) -> Vec<Due> {
        lock(&self.shared)
            .due
            .iter()
            .map(|(at, key)| Due {
                key: key.clone(),
                at: *at,
            })
            .collect()
    }

    /// The number of events waiting in the outbox.
    #[must_use]
    pub fn outbox_len(&self) -> usize {
        lock(&self.shared).outbox.len()
    }

    fn shard_index(key: &Key) -> usize {
        let hash = BuildHasherDefault::<WordHash>::default().hash_one(key);
        // The top bits pick the shard; the maps inside use the low ones.
        let [.., top] = hash.to_le_bytes();
        usize::from(top >> 4)
    }

    fn shard(&self, index: usize) -> &Shard {
        #[expect(clippy::expect_used, reason = "4 bits pick one of 16 shards")]
        self.shards
            .get(index)
            .expect("4 bits pick one of 16 shards")
    }

    fn get_now(&self, key: &Key) -> Option<Entry> {
        lock(self.shard(Self::shard_index(key)))
            .get(key)
            .map(|stored| stored.entry.clone())
    }

    /// Whether `expected` is the version of `key` in `shard` (`None`: absent), and so what
    /// the write makes: the key's next version, or a new key's first.
    fn next_version(
        shard: &HashMap<Key, Stored, BuildHasherDefault<WordHash>>,
        key: &Key,
        expected: Option<Version>,
    ) -> Option<Next> {
        match shard.get(key) {
            Some(stored) if Some(stored.entry.version) == expected => Some(Next::Update(
                Version::new(stored.entry.version.number().saturating_add(1)),
            )),
            None if expected.is_none() => Some(Next::Create),
            Some(_) | None => None,
        }
    }

    /// Stores `write` under `key` in `shard`, and its due time and events in `shared`; the
    /// caller holds both locks. The version written.
    fn apply(
        shard: &mut HashMap<Key, Stored, BuildHasherDefault<WordHash>>,
        shared: &mut Shared,
        key: &Key,
        next: Next,
        write: Write,
    ) -> Version {
        let version = match next {
            Next::Update(version) => version,
            Next::Create => Version::new(shared.removed_floor.saturating_add(1)),
        };
        let Write { value, due, events } = write;
        let stored = Stored {
            entry: Entry::new(version, value),
            due,
        };
        if let Some(Stored { due: Some(was), .. }) = shard.insert(key.clone(), stored) {
            shared.due.remove(&(was, key.clone()));
        }
        if let Some(at) = due {
            shared.due.insert((at, key.clone()));
        }
        for event in events {
            shared.next_seq = shared.next_seq.saturating_add(1);
            shared.outbox.insert(shared.next_seq, event);
        }
        version
    }

    /// Removes `key` from its shard and the due index if its version is `expected`.
    fn remove_now(&self, key: &Key, expected: Version) -> Result<(), StoreError> {
        let mut shard = lock(self.shard(Self::shard_index(key)));
        match shard.get(key) {
            Some(stored) if stored.entry.version == expected => {}
            Some(_) | None => return Err(StoreError::Conflict),
        }
        let mut shared = lock(&self.shared);
        if let Some(removed) = shard.remove(key) {
            if let Some(was) = removed.due {
                shared.due.remove(&(was, key.clone()));
            }
            shared.removed_floor = shared.removed_floor.max(expected.number());
        }
        Ok(())
    }

    fn put_now(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: Write,
    ) -> Result<Version, StoreError> {
        let mut shard = lock(self.shard(Self::shard_index(key)));
        let next = Self::next_version(&shard, key, expected).ok_or(StoreError::Conflict)?;
        Ok(Self::apply(
            &mut shard,
            &mut lock(&self.shared),
            key,
            next,
            write,
        ))
    }

    fn put_together_now(&self, writes: Vec<KeyedWrite>) -> Result<Vec<Version>, StoreError> {
        let mut indices: Vec<usize> = writes
            .iter()
            .map(|write| Self::shard_index(&write.key))
            .collect();
        indices.sort_unstable();
        indices.dedup();
        // Locked in shard order, so two batches never wait on each other.
        let mut shards: Vec<(usize, MutexGuard<'_, _>)> = indices
            .into_iter()
            .map(|index| (index, lock(self.shard(index))))
            .collect();
        let position = |key: &Key| {
            let index = Self::shard_index(key);
            shards.iter().position(|(at, _)| *at == index)
        };
        let positions: Vec<usize> = writes
            .iter()
            .map(|write| position(&write.key).ok_or(StoreError::Conflict))
            .collect::<Result<_, _>>()?;
        let mut nexts = Vec::with_capacity(writes.len());
        for (write, &at) in writes.iter().zip(&positions) {
            let (_, shard) = shards.get(at).ok_or(StoreError::Conflict)?;
            nexts.push(
                Self::next_version(shard, &write.key, write.expected)
                    .ok_or(StoreError::Conflict)?,
            );
        }
        let mut shared = lock(&self.shared);
        let mut versions = Vec::with_capacity(nexts.len());
        for ((write, &at), next) in writes.into_iter().zip(&positions).zip(nexts) {
            let (_, shard) = shards.get_mut(at).ok_or(StoreError::Conflict)?;
            versions.push(Self::apply(
                shard,
                &mut shared,
                &write.key,
                next,
                write.write,
            ));
        }
        Ok(versions)
    }
}

impl Store for MemoryStore {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        Ok(self.get_now(key))
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: Write,
    ) -> Result<Version, StoreError> {
        self.put_now(key, expected, write)
    }

    async fn due(&self, until: Timestamp, limit: usize) -> Result<Vec<Due>, StoreError> {
        Ok(lock(&self.shared)
            .due
            .iter()
            .take_while(|(at, _)| *at <= until)
            .take(limit)
            .map(|(at, key)| Due {
                key: key.clone(),
                at: *at,
            })
            .collect())
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<Outboxed>, StoreError> {
        Ok(lock(&self.shared)
            .outbox
            .iter()
            .take(limit)
            .map(|(seq, event)| Outboxed {
                seq: *seq,
                event: event.clone(),
            })
            .collect())
    }

    async fn acknowledge(&self, seqs: &[u64]) -> Result<(), StoreError> {
        let mut shared = lock(&self.shared);
        for seq in seqs {
            shared.outbox.remove(seq);
        }
        Ok(())
    }

    async fn put_together(
        &self,
        writes: Vec<KeyedWrite>,
    ) -> Option<Result<Vec<Version>, StoreError>> {
        Some(self.put_together_now(writes))
    }

    async fn remove(&self, key: &Key, expected: Version) -> Option<Result<(), StoreError>> {
        Some(self.remove_now(key, expected))
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.len())
            .finish()
    }
}
