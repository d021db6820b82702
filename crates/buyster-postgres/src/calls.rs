//! The store's calls on one connection of the pool: the statements, the mapping of their
//! errors, and the conversion of rows.

use buyster::{Due, Entry, Key, KeyedWrite, Outboxed, StoreError, Timestamp, Version, Write};
use deadpool_postgres::{Client, GenericClient};
use tokio_postgres::Row;

use crate::errors::{self, CorruptRow};
use crate::schema::Statements;

pub(crate) async fn get(
    client: &Client,
    statements: &Statements,
    key: &str,
) -> Result<Option<Entry>, StoreError> {
    let statement = client
        .prepare_cached(&statements.get)
        .await
        .map_err(errors::of_read)?;
    let row = client
        .query_opt(&statement, &[&key])
        .await
        .map_err(errors::of_read)?;
    row.map(|row| entry(&row)).transpose()
}

/// One statement: the compare-and-swap of the record with its events.
pub(crate) async fn put(
    client: &Client,
    statements: &Statements,
    key: &str,
    expected: Option<Version>,
    write: &Write,
) -> Result<Version, StoreError> {
    let statement = Cas::prepare(client, statements, expected).await?;
    if client.is_closed() {
        // Closed before the statement was sent: nothing can have been applied.
        return Err(StoreError::Unavailable("the connection closed".into()));
    }
    let written = statement
        .run(client, key, write, &write.events)
        .await
        .map_err(errors::of_write)?;
    version(written)?.ok_or(StoreError::Conflict)
}

/// One statement: the row deleted if its version is the expected one, its due entry with it
/// (the index is on the row).
pub(crate) async fn remove(
    client: &Client,
    statements: &Statements,
    key: &str,
    expected: Version,
) -> Result<(), StoreError> {
    // A version beyond bigint was never given: no row has it.
    let Ok(version) = i64::try_from(expected.number()) else {
        return Err(StoreError::Conflict);
    };
    let statement = client
        .prepare_cached(&statements.remove)
        .await
        .map_err(errors::nothing_applied)?;
    if client.is_closed() {
        // Closed before the statement was sent: nothing can have been removed.
        return Err(StoreError::Unavailable("the connection closed".into()));
    }
    let removed = client
        .execute(&statement, &[&key, &version])
        .await
        .map_err(errors::of_write)?;
    if removed == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

pub(crate) async fn due(
    client: &Client,
    statements: &Statements,
    until: Timestamp,
    limit: usize,
) -> Result<Vec<Due>, StoreError> {
    let statement = client
        .prepare_cached(&statements.due)
        .await
        .map_err(errors::of_read)?;
    let rows = client
        .query(&statement, &[&millis(until), &count(limit)])
        .await
        .map_err(errors::of_read)?;
    rows.iter().map(due_of).collect()
}

pub(crate) async fn outbox(
    client: &Client,
    statements: &Statements,
    limit: usize,
) -> Result<Vec<Outboxed>, StoreError> {
    let statement = client
        .prepare_cached(&statements.outbox)
        .await
        .map_err(errors::of_read)?;
    let rows = client
        .query(&statement, &[&count(limit)])
        .await
        .map_err(errors::of_read)?;
    rows.iter().map(outboxed).collect()
}

pub(crate) async fn acknowledge(
    client: &Client,
    statements: &Statements,
    seqs: &[i64],
) -> Result<(), StoreError> {
    let statement = client
        .prepare_cached(&statements.acknowledge)
        .await
        .map_err(errors::nothing_applied)?;
    client
        .execute(&statement, &[&seqs])
        .await
        .map_err(errors::of_write)?;
    Ok(())
}

/// The writes of a batch in one transaction: the records in key order (two batches never
/// wait on each other's rows in a cycle), then every event in the order of the writes.
pub(crate) async fn together(
    client: &mut Client,
    statements: &Statements,
    writes: &[KeyedWrite],
) -> Result<Vec<Version>, StoreError> {
    let transaction = client
        .transaction()
        .await
        .map_err(errors::nothing_applied)?;
    let mut in_key_order: Vec<(usize, &KeyedWrite)> = writes.iter().enumerate().collect();
    in_key_order.sort_by(|a, b| a.1.key.cmp(&b.1.key));
    let mut versions = Vec::with_capacity(writes.len());
    let no_events = Vec::new();
    for (at, batched) in in_key_order {
        let statement = Cas::prepare(&transaction, statements, batched.expected).await?;
        // Until COMMIT is sent, a lost connection rolls the whole batch back.
        let written = statement
            .run(
                &transaction,
                batched.key.as_str(),
                &batched.write,
                &no_events,
            )
            .await
            .map_err(errors::nothing_applied)?;
        match version(written)? {
            Some(version) => versions.push((at, version)),
            None => {
                // Dropped, the transaction would roll back too; this says so at once.
                let _ = transaction.rollback().await;
                return Err(StoreError::Conflict);
            }
        }
    }
    let events: Vec<&Vec<u8>> = writes.iter().flat_map(|w| &w.write.events).collect();
    if !events.is_empty() {
        let statement = transaction
            .prepare_cached(&statements.append)
            .await
            .map_err(errors::nothing_applied)?;
        transaction
            .execute(&statement, &[&events])
            .await
            .map_err(errors::nothing_applied)?;
    }
    transaction.commit().await.map_err(errors::of_write)?;
    versions.sort_by_key(|(at, _)| *at);
    Ok(versions.into_iter().map(|(_, version)| version).collect())
}

/// A prepared compare-and-swap: the insert of a new key, or the update of a version.
enum Cas {
    Insert(tokio_postgres::Statement),
    Update(tokio_postgres::Statement, i64),
    /// An expected version beyond bigint, which no row has.
    Impossible,
}

impl Cas {
    async fn prepare(
        client: &impl GenericClient,
        statements: &Statements,
        expected: Option<Version>,
    ) -> Result<Self, StoreError> {
        let Some(version) = expected else {
            let statement = client.prepare_cached(&statements.insert).await;
            return statement.map(Self::Insert).map_err(errors::nothing_applied);
        };
        let Ok(version) = i64::try_from(version.number()) else {
            return Ok(Self::Impossible);
        };
        let statement = client.prepare_cached(&statements.update).await;
        statement
            .map(|statement| Self::Update(statement, version))
            .map_err(errors::nothing_applied)
    }

    /// The new version's number, or `None` when the key's version was not the expected one.
    async fn run(
        &self,
        client: &impl GenericClient,
        key: &str,
        write: &Write,
        events: &Vec<Vec<u8>>,
    ) -> Result<Option<i64>, tokio_postgres::Error> {
        let due = write.due.map(millis);
        let row = match self {
            Self::Insert(statement) => {
                client
                    .query_opt(statement, &[&key, &write.value, &due, events])
                    .await?
            }
            Self::Update(statement, version) => {
                client
                    .query_opt(statement, &[&key, version, &write.value, &due, events])
                    .await?
            }
            Self::Impossible => None,
        };
        row.map(|row| row.try_get(0)).transpose()
    }
}

/// The version a compare-and-swap wrote, if it wrote.
fn version(written: Option<i64>) -> Result<Option<Version>, StoreError> {
    written
        .map(|number| {
            u64::try_from(number)
                .map(Version::new)
                .map_err(|_| corrupt("records.version", "a negative number"))
        })
        .transpose()
}

/// A time as the `due` column holds it: milliseconds since the Unix epoch.
fn millis(at: Timestamp) -> i64 {
    i64::try_from(at.as_unix_millis()).unwrap_or(i64::MAX)
}

fn count(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn corrupt(column: &'static str, what: &'static str) -> StoreError {
    StoreError::backend(CorruptRow { column, what })
}

fn unsigned(row: &Row, column: usize, name: &'static str) -> Result<u64, StoreError> {
    let number: i64 = row.try_get(column).map_err(StoreError::backend)?;
    u64::try_from(number).map_err(|_| corrupt(name, "a negative number"))
}

fn entry(row: &Row) -> Result<Entry, StoreError> {
    let version = unsigned(row, 0, "records.version")?;
    let value = row.try_get(1).map_err(StoreError::backend)?;
    Ok(Entry::new(Version::new(version), value))
}

fn due_of(row: &Row) -> Result<Due, StoreError> {
    let text: &str = row.try_get(0).map_err(StoreError::backend)?;
    let key = Key::from_stored(text)
        .ok_or_else(|| corrupt("records.key", "text that is not a key the engine makes"))?;
    let at = unsigned(row, 1, "records.due")?;
    Ok(Due {
        key,
        at: Timestamp::from_unix_millis(at),
    })
}

fn outboxed(row: &Row) -> Result<Outboxed, StoreError> {
    Ok(Outboxed {
        seq: unsigned(row, 0, "outbox.seq")?,
        event: row.try_get(1).map_err(StoreError::backend)?,
    })
}
