//! [`MemoryStore`]: a sharded, concurrent map with real compare-and-swap.

use core::fmt;
use core::hash::{BuildHasher, BuildHasherDefault};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::host::{Entry, Key, Store, StoreError, Version};

use super::{WordHash, lock};

const SHARDS: usize = 16;

type Shard = Mutex<HashMap<Key, Entry, BuildHasherDefault<WordHash>>>;

/// A [`Store`] in memory: 16 shards, each behind its own lock, so independent payments do not
/// contend. `put` compares and swaps under the shard's lock; versions count up from 1 per key.
#[derive(Clone, Default)]
pub struct MemoryStore {
    shards: Arc<[Shard; SHARDS]>,
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

    fn shard(&self, key: &Key) -> &Shard {
        let hash = BuildHasherDefault::<WordHash>::default().hash_one(key);
        // The top bits pick the shard; the maps inside use the low ones.
        let [.., top] = hash.to_le_bytes();
        #[expect(clippy::expect_used, reason = "4 bits pick one of 16 shards")]
        self.shards
            .get(usize::from(top >> 4))
            .expect("4 bits pick one of 16 shards")
    }

    fn get_now(&self, key: &Key) -> Option<Entry> {
        lock(self.shard(key)).get(key).cloned()
    }

    fn put_now(
        &self,
        key: &Key,
        expected: Option<Version>,
        value: Vec<u8>,
    ) -> Result<Version, StoreError> {
        let mut shard = lock(self.shard(key));
        let next = match shard.get_mut(key) {
            Some(entry) if Some(entry.version) == expected => {
                let next = Version::new(entry.version.number().saturating_add(1));
                *entry = Entry::new(next, value);
                next
            }
            None if expected.is_none() => {
                let next = Version::new(1);
                shard.insert(key.clone(), Entry::new(next, value));
                next
            }
            Some(_) | None => return Err(StoreError::Conflict),
        };
        Ok(next)
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
        value: Vec<u8>,
    ) -> Result<Version, StoreError> {
        self.put_now(key, expected, value)
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.len())
            .finish()
    }
}
