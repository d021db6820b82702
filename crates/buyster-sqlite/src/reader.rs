//! The reader threads: read-only connections, which in WAL mode never wait for the writer.

use std::sync::mpsc::Receiver;
use std::sync::{Mutex, PoisonError};

use buyster::{Due, Entry, Key, Outboxed, StoreError, Timestamp, Version};
use futures_channel::oneshot;
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Failure;

/// Where a reader answers.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A read, and where to answer it.
#[derive(Debug)]
pub(crate) enum Read {
    /// [`buyster::Store::get`].
    Get {
        key: String,
        reply: Reply<Option<Entry>>,
    },
    /// [`buyster::Store::due`], bounds as SQLite integers.
    Due {
        until: i64,
        limit: i64,
        reply: Reply<Vec<Due>>,
    },
    /// [`buyster::Store::outbox`].
    Outbox {
        limit: i64,
        reply: Reply<Vec<Outboxed>>,
    },
}

/// Takes reads from the queue the readers share until every sender is gone. Each read is a
/// transaction of its own, so it sees every write committed before it began.
pub(crate) fn run(connection: &Connection, requests: &Mutex<Receiver<Read>>) {
    loop {
        // The lock is held only while waiting for the next read, never while running one.
        let next = requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(read) = next else {
            return;
        };
        // A caller that dropped its future no longer waits for the answer.
        match read {
            Read::Get { key, reply } => {
                let _unheard = reply.send(get(connection, &key));
            }
            Read::Due {
                until,
                limit,
                reply,
            } => {
                let _unheard = reply.send(due(connection, until, limit));
            }
            Read::Outbox { limit, reply } => {
                let _unheard = reply.send(outbox(connection, limit));
            }
        }
    }
}

fn failed(error: rusqlite::Error) -> StoreError {
    Failure::Read(error).backend()
}

fn get(connection: &Connection, key: &str) -> Result<Option<Entry>, StoreError> {
    let row = connection
        .prepare_cached("SELECT version, value FROM records WHERE key = ?1")
        .and_then(|mut statement| {
            statement
                .query_row([key], |row| {
                    Ok((row.get::<_, u64>(0)?, row.get::<_, Vec<u8>>(1)?))
                })
                .optional()
        })
        .map_err(failed)?;
    Ok(row.map(|(version, value)| Entry::new(Version::new(version), value)))
}

/// Reads the partial index `records_due` in order: `due` first, then `key`.
fn due(connection: &Connection, until: i64, limit: i64) -> Result<Vec<Due>, StoreError> {
    let rows: Vec<(String, u64)> = connection
        .prepare_cached(
            "SELECT key, due FROM records WHERE due IS NOT NULL AND due <= ?1
             ORDER BY due, key LIMIT ?2",
        )
        .and_then(|mut statement| {
            statement
                .query_map(params![until, limit], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
        .map_err(failed)?;
    rows.into_iter()
        .map(|(key, at)| {
            let key =
                Key::from_stored(&key).ok_or_else(|| Failure::Corrupt("records.key").backend())?;
            Ok(Due {
                key,
                at: Timestamp::from_unix_millis(at),
            })
        })
        .collect()
}

fn outbox(connection: &Connection, limit: i64) -> Result<Vec<Outboxed>, StoreError> {
    connection
        .prepare_cached("SELECT seq, event FROM outbox ORDER BY seq LIMIT ?1")
        .and_then(|mut statement| {
            statement
                .query_map([limit], |row| {
                    Ok(Outboxed {
                        seq: row.get(0)?,
                        event: row.get(1)?,
                    })
                })?
                .collect()
        })
        .map_err(failed)
}
