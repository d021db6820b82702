//! [`SqliteStore`]: the engine's [`Store`] on an SQLite table, with a real compare-and-swap.

use std::path::Path;

use buyster::{Due, Entry, Key, Outboxed, Store, StoreError, Timestamp, Version, Write};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::db::{Db, DbError};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS records (
        key     TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        value   BLOB NOT NULL,
        due     INTEGER
    );
    CREATE INDEX IF NOT EXISTS records_due ON records (due, key) WHERE due IS NOT NULL;
    CREATE TABLE IF NOT EXISTS outbox (
        seq   INTEGER PRIMARY KEY AUTOINCREMENT,
        event BLOB NOT NULL
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
        write: Write,
    ) -> Result<Version, StoreError> {
        let key = key.as_str().to_owned();
        let written = self
            .db
            .call(move |connection| compare_and_swap(connection, &key, expected, &write))
            .await
            .map_err(StoreError::backend)?;
        written.ok_or(StoreError::Conflict)
    }

    async fn due(&self, until: Timestamp, limit: usize) -> Result<Vec<Due>, StoreError> {
        self.db
            .call(move |connection| due(connection, until, limit))
            .await
            .map_err(StoreError::backend)
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<Outboxed>, StoreError> {
        self.db
            .call(move |connection| outbox(connection, limit))
            .await
            .map_err(StoreError::backend)
    }

    async fn acknowledge(&self, seqs: &[u64]) -> Result<(), StoreError> {
        let seqs = seqs.to_vec();
        self.db
            .call(move |connection| acknowledge(connection, &seqs))
            .await
            .map_err(StoreError::backend)
    }
}

fn due(connection: &mut Connection, until: Timestamp, limit: usize) -> Result<Vec<Due>, DbError> {
    let mut statement = connection.prepare_cached(
        "SELECT key, due FROM records WHERE due IS NOT NULL AND due <= ?1
         ORDER BY due, key LIMIT ?2",
    )?;
    let until = i64::try_from(until.as_unix_millis()).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement.query_map(params![until, limit], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
    })?;
    rows.map(|row| {
        let (key, at) = row?;
        let key = Key::from_stored(&key).ok_or(DbError::Corrupt("records.key"))?;
        Ok(Due {
            key,
            at: Timestamp::from_unix_millis(at),
        })
    })
    .collect()
}

fn outbox(connection: &mut Connection, limit: usize) -> Result<Vec<Outboxed>, DbError> {
    let mut statement =
        connection.prepare_cached("SELECT seq, event FROM outbox ORDER BY seq LIMIT ?1")?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement.query_map([limit], |row| {
        Ok(Outboxed {
            seq: row.get(0)?,
            event: row.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn acknowledge(connection: &mut Connection, seqs: &[u64]) -> Result<(), DbError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut statement = transaction.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?;
        for seq in seqs {
            statement.execute([seq])?;
        }
    }
    transaction.commit()?;
    Ok(())
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
    write: &Write,
) -> Result<Option<Version>, DbError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let due = write
        .due
        .map(|at| i64::try_from(at.as_unix_millis()).unwrap_or(i64::MAX));
    let written = match expected {
        None => {
            let inserted = transaction.execute(
                "INSERT INTO records (key, version, value, due) VALUES (?1, 1, ?2, ?3)
                 ON CONFLICT (key) DO NOTHING",
                params![key, write.value, due],
            )?;
            (inserted == 1).then_some(1)
        }
        Some(version) => transaction
            .query_row(
                "UPDATE records SET version = version + 1, value = ?3, due = ?4
                 WHERE key = ?1 AND version = ?2
                 RETURNING version",
                params![key, version.number(), write.value, due],
                |row| row.get::<_, u64>(0),
            )
            .optional()?,
    };
    if written.is_some() {
        let mut append = transaction.prepare_cached("INSERT INTO outbox (event) VALUES (?1)")?;
        for event in &write.events {
            append.execute([event])?;
        }
    }
    transaction.commit()?;
    Ok(written.map(Version::new))
}
