//! [`SqliteStore`]: the engine's [`Store`] on an SQLite table, with a real compare-and-swap.

use std::path::Path;

use buyster::{Entry, Key, Store, StoreError, Version};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::db::{Db, DbError};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS records (
        key     TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        value   BLOB NOT NULL
    );";

/// A [`Store`] on the table `records(key, version, value)` of an SQLite database in WAL mode.
///
/// - `get` is one `SELECT` by primary key.
/// - `put` with no expected version is `INSERT … ON CONFLICT (key) DO NOTHING`: it wrote if it
///   changed one row, and the key had a value otherwise ([`StoreError::Conflict`]).
/// - `put` with an expected version is `UPDATE … SET version = version + 1 … WHERE key = ? AND
///   version = ?`: it wrote if it changed one row, and another writer got there first otherwise.
///
/// Each is one statement in an immediate transaction, so the comparison and the write are one
/// atomic step even across processes sharing the file. Versions start at 1 and count up per
/// key; rows are never deleted, so a key never gets a version twice. Calls run on tokio's
/// blocking pool (see [`Db::call`]).
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    /// Opens the store in the database at `path`, creating the file and the table if needed.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        Ok(Self {
            db: Db::open(path, SCHEMA)?,
        })
    }
}

impl Store for SqliteStore {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        let key = key.as_str().to_owned();
        self.db
            .call(move |connection| read(connection, &key))
            .await
            .map_err(StoreError::backend)
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        value: Vec<u8>,
    ) -> Result<Version, StoreError> {
        let key = key.as_str().to_owned();
        let written = self
            .db
            .call(move |connection| compare_and_swap(connection, &key, expected, &value))
            .await
            .map_err(StoreError::backend)?;
        written.ok_or(StoreError::Conflict)
    }
}

fn read(connection: &mut Connection, key: &str) -> Result<Option<Entry>, DbError> {
    let row = connection
        .query_row(
            "SELECT version, value FROM records WHERE key = ?1",
            [key],
            |row| Ok((row.get::<_, u64>(0)?, row.get::<_, Vec<u8>>(1)?)),
        )
        .optional()?;
    Ok(row.map(|(version, value)| Entry::new(Version::new(version), value)))
}

/// Writes `value` under `key` if its version is `expected`; the new version, or `None` when the
/// stored version was another.
fn compare_and_swap(
    connection: &mut Connection,
    key: &str,
    expected: Option<Version>,
    value: &[u8],
) -> Result<Option<Version>, DbError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let written = match expected {
        None => {
            let inserted = transaction.execute(
                "INSERT INTO records (key, version, value) VALUES (?1, 1, ?2)
                 ON CONFLICT (key) DO NOTHING",
                params![key, value],
            )?;
            (inserted == 1).then_some(1)
        }
        Some(version) => transaction
            .query_row(
                "UPDATE records SET version = version + 1, value = ?3
                 WHERE key = ?1 AND version = ?2
                 RETURNING version",
                params![key, version.number(), value],
                |row| row.get::<_, u64>(0),
            )
            .optional()?,
    };
    transaction.commit()?;
    Ok(written.map(Version::new))
}
