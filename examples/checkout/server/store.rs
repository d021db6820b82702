//! [`CheckoutStore`]: the engine's store, on SQLite (one server, zero setup) or on PostgreSQL
//! (several servers on one database).

use buyster::{
    Due, Entry, Key, KeyedWrite, Outboxed, Store, StoreError, Timestamp, Version, Write,
};
use buyster_postgres::{PostgresStore, Schema};
use buyster_sqlite::SqliteStore;

/// The engine's store: one of the two, chosen at start (`--postgres`).
pub enum CheckoutStore {
    /// `buyster_sqlite`'s: a file, one writer thread.
    Sqlite(SqliteStore),
    /// `buyster_postgres`'s, in the schema `buyster`: shared by every server on the database.
    Postgres(PostgresStore),
}

impl CheckoutStore {
    /// The PostgreSQL store of the database at `url`, its tables created if missing.
    pub async fn postgres(url: &str) -> Result<Self, buyster_postgres::SetupError> {
        Ok(Self::Postgres(
            PostgresStore::connect(url, Schema::default()).await?,
        ))
    }
}

impl Store for CheckoutStore {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        match self {
            Self::Sqlite(store) => store.get(key).await,
            Self::Postgres(store) => store.get(key).await,
        }
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: Write,
    ) -> Result<Version, StoreError> {
        match self {
            Self::Sqlite(store) => store.put(key, expected, write).await,
            Self::Postgres(store) => store.put(key, expected, write).await,
        }
    }

    async fn due(&self, until: Timestamp, limit: usize) -> Result<Vec<Due>, StoreError> {
        match self {
            Self::Sqlite(store) => store.due(until, limit).await,
            Self::Postgres(store) => store.due(until, limit).await,
        }
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<Outboxed>, StoreError> {
        match self {
            Self::Sqlite(store) => store.outbox(limit).await,
            Self::Postgres(store) => store.outbox(limit).await,
        }
    }

    async fn acknowledge(&self, seqs: &[u64]) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(store) => store.acknowledge(seqs).await,
            Self::Postgres(store) => store.acknowledge(seqs).await,
        }
    }

    async fn put_together(
        &self,
        writes: Vec<KeyedWrite>,
    ) -> Option<Result<Vec<Version>, StoreError>> {
        match self {
            Self::Sqlite(store) => store.put_together(writes).await,
            Self::Postgres(store) => store.put_together(writes).await,
        }
    }

    async fn remove(&self, key: &Key, expected: Version) -> Option<Result<(), StoreError>> {
        match self {
            Self::Sqlite(store) => store.remove(key, expected).await,
            Self::Postgres(store) => store.remove(key, expected).await,
        }
    }
}
