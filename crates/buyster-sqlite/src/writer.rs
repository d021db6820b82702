//! The writer thread: the file's only write connection, committing every write queued when it
//! wakes in one transaction (group commit).

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use buyster::{KeyedWrite, StoreError, Version, Write};
use futures_channel::oneshot;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::error::Failure;
use crate::stats::Counters;

/// A write the writer applies.
#[derive(Debug)]
pub(crate) enum Op {
    /// [`buyster::Store::put`].
    Put {
        key: String,
        expected: Option<Version>,
        write: Write,
    },
    /// [`buyster::Store::put_together`].
    Together(Vec<KeyedWrite>),
    /// [`buyster::Store::acknowledge`].
    Acknowledge(Vec<u64>),
    /// [`buyster::Store::remove`].
    Remove { key: String, expected: Version },
}

/// The writer's answer: the new versions (one for a put, one per write of a batch, none for an
/// acknowledgement or a removal).
pub(crate) type Answer = Result<Vec<Version>, StoreError>;

/// A write and where to answer it.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) op: Op,
    pub(crate) reply: oneshot::Sender<Answer>,
}

/// Takes requests until every sender is gone: each time it wakes, every request queued (up
/// to `max_group`) goes into one transaction, committed once, then each is answered.
pub(crate) fn run(
    mut connection: Connection,
    requests: &Receiver<Request>,
    max_group: usize,
    counters: &Counters,
) {
    while let Ok(first) = requests.recv() {
        let mut group = vec![first];
        while group.len() < max_group {
            match requests.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        let (ops, replies): (Vec<Op>, Vec<_>) = group
            .into_iter()
            .map(|request| (request.op, request.reply))
            .unzip();
        let size = ops.len();
        let (answers, committed) = commit_group(&mut connection, ops);
        // Counted before answering, so that a caller who has its answer sees its write counted.
        counters.group(size, committed);
        for (reply, answer) in replies.into_iter().zip(answers) {
            // The caller may have dropped its future: the write stands all the same.
            let _unheard = reply.send(answer);
        }
    }
}

/// Applies `ops` in one transaction, each in a savepoint of its own so that one refused or
/// failed write leaves the others in; commits once. The answers, in the order of `ops`, and
/// whether the transaction committed.
pub(crate) fn commit_group(connection: &mut Connection, ops: Vec<Op>) -> (Vec<Answer>, bool) {
    let count = ops.len();
    let mut transaction = match connection.transaction_with_behavior(TransactionBehavior::Immediate)
    {
        Ok(transaction) => transaction,
        Err(error) => {
            let error = Arc::new(error);
            let answers = (0..count)
                .map(|_| Err(Failure::Begin(Arc::clone(&error)).unavailable()))
                .collect();
            return (answers, false);
        }
    };
    let mut outcomes = Vec::with_capacity(count);
    for op in ops {
        match apply(&mut transaction, op) {
            Ok(applied) => outcomes.push(Ok(applied)),
            Err(error) if transaction.is_autocommit() => {
                // SQLite ended the whole transaction (a full disk, an I/O error): every write
                // of the group is gone with it.
                let error = Arc::new(error);
                let answers = (0..count)
                    .map(|_| Err(Failure::RolledBack(Arc::clone(&error)).backend()))
                    .collect();
                return (answers, false);
            }
            Err(error) => outcomes.push(Err(Failure::Statement(error).backend())),
        }
    }
    let committed = transaction.commit().map_err(Arc::new);
    let answers = outcomes
        .into_iter()
        .map(|outcome| match (outcome, &committed) {
            (Ok(Some(versions)), Ok(())) => Ok(versions),
            // A failed commit may still be found in the log after a crash: not known unwritten.
            (Ok(Some(_)), Err(error)) => Err(Failure::Commit(Arc::clone(error)).backend()),
            (Ok(None), _) => Err(StoreError::Conflict),
            (Err(error), _) => Err(error),
        })
        .collect();
    (answers, committed.is_ok())
}

/// Applies `op` inside a savepoint: `Some(versions)` when written, `None` when a version was
/// not the expected one (the savepoint is rolled back: nothing of `op` stays).
fn apply(transaction: &mut Transaction<'_>, op: Op) -> rusqlite::Result<Option<Vec<Version>>> {
    let savepoint = transaction.savepoint()?;
    let applied = match op {
        Op::Put {
            key,
            expected,
            write,
        } => swap(&savepoint, &key, expected, &write)?.map(|version| vec![version]),
        Op::Together(writes) => together(&savepoint, &writes)?,
        Op::Acknowledge(seqs) => {
            acknowledge(&savepoint, &seqs)?;
            Some(Vec::new())
        }
        Op::Remove { key, expected } => remove(&savepoint, &key, expected)?.then(Vec::new),
    };
    if applied.is_some() {
        savepoint.commit()?;
    }
    // Otherwise the savepoint, dropped, rolls back to where it began.
    Ok(applied)
}

/// Every write of `writes`, or `None` at the first whose version is not the expected one.
fn together(
    connection: &Connection,
    writes: &[KeyedWrite],
) -> rusqlite::Result<Option<Vec<Version>>> {
    let mut versions = Vec::with_capacity(writes.len());
    for keyed in writes {
        match swap(connection, keyed.key.as_str(), keyed.expected, &keyed.write)? {
            Some(version) => versions.push(version),
            None => return Ok(None),
        }
    }
    Ok(Some(versions))
}

/// Writes `write` under `key` if its version is `expected`, and appends its events: the new
/// version, or `None` (nothing written) when the stored version is another.
///
/// No expected version: `INSERT … ON CONFLICT (key) DO NOTHING`, written if it made a row, at
/// one above the highest version removed. An expected version: `UPDATE … WHERE key = ? AND
/// version = ?`, written if it changed a row.
fn swap(
    connection: &Connection,
    key: &str,
    expected: Option<Version>,
    write: &Write,
) -> rusqlite::Result<Option<Version>> {
    let due = write.due.map(|at| sql_integer(at.as_unix_millis()));
    let written = match expected {
        None => connection
            .prepare_cached(
                "INSERT INTO records (key, version, value, due)
                 VALUES (?1, (SELECT version + 1 FROM removed_floor WHERE id = 0), ?2, ?3)
                 ON CONFLICT (key) DO NOTHING
                 RETURNING version",
            )?
            .query_row(params![key, write.value, due], |row| row.get::<_, u64>(0))
            .optional()?,
        Some(version) => connection
            .prepare_cached(
                "UPDATE records SET version = version + 1, value = ?3, due = ?4
                 WHERE key = ?1 AND version = ?2
                 RETURNING version",
            )?
            .query_row(params![key, version.number(), write.value, due], |row| {
                row.get::<_, u64>(0)
            })
            .optional()?,
    };
    if written.is_some() {
        let mut append = connection.prepare_cached("INSERT INTO outbox (event) VALUES (?1)")?;
        for event in &write.events {
            append.execute([event])?;
        }
    }
    Ok(written.map(Version::new))
}

/// Deletes the record under `key` if its version is `expected`, its due entry with it (the
/// index is on the row), and raises the floor new keys start above to its version. Whether it
/// deleted.
fn remove(connection: &Connection, key: &str, expected: Version) -> rusqlite::Result<bool> {
    // A version beyond SQLite's integers was never given: no row has it.
    let Ok(version) = i64::try_from(expected.number()) else {
        return Ok(false);
    };
    let deleted = connection
        .prepare_cached("DELETE FROM records WHERE key = ?1 AND version = ?2")?
        .execute(params![key, version])?;
    if deleted == 1 {
        connection
            .prepare_cached("UPDATE removed_floor SET version = max(version, ?1) WHERE id = 0")?
            .execute([version])?;
    }
    Ok(deleted == 1)
}

/// Deletes the outbox events numbered `seqs`; numbers not there are ignored.
fn acknowledge(connection: &Connection, seqs: &[u64]) -> rusqlite::Result<()> {
    let mut delete = connection.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?;
    // A number beyond SQLite's integers was never given: nothing to delete.
    for seq in seqs.iter().filter_map(|seq| i64::try_from(*seq).ok()) {
        delete.execute([seq])?;
    }
    Ok(())
}

/// A time or a count as SQLite's signed integer; the largest one for a value beyond it.
pub(crate) fn sql_integer(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use buyster::Key;

    use super::*;

    fn migrated() -> Connection {
        let connection = Connection::open_in_memory().unwrap();
        for migration in crate::schema::MIGRATIONS {
            connection.execute_batch(migration).unwrap();
        }
        connection
    }

    fn put(key: &str, expected: Option<u64>, value: &str) -> Op {
        Op::Put {
            key: key.to_owned(),
            expected: expected.map(Version::new),
            write: Write::new(value.as_bytes().to_vec()).with_event(value.as_bytes().to_vec()),
        }
    }

    fn value(connection: &Connection, key: &str) -> Option<(u64, Vec<u8>)> {
        connection
            .query_row(
                "SELECT version, value FROM records WHERE key = ?1",
                [key],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .unwrap()
    }

    fn events(connection: &Connection) -> Vec<String> {
        let mut statement = connection
            .prepare("SELECT event FROM outbox ORDER BY seq")
            .unwrap();
        statement
            .query_map([], |row| row.get::<_, Vec<u8>>(0))
            .unwrap()
            .map(|event| String::from_utf8(event.unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn one_group_commits_its_writes_and_refuses_each_conflict_alone() {
        let mut connection = migrated();
        let ops = vec![
            put("a", None, "a1"),
            put("b", None, "b1"),
            // `a` was written earlier in this very group.
            put("a", None, "lost"),
            Op::Together(vec![
                KeyedWrite {
                    key: Key::for_testing("c"),
                    expected: None,
                    write: Write::new(b"c".to_vec()).with_event(b"c".to_vec()),
                },
                KeyedWrite {
                    key: Key::for_testing("a"),
                    expected: Some(Version::new(9)),
                    write: Write::new(b"stale".to_vec()),
                },
            ]),
            // A version SQLite cannot hold: this write fails on its own.
            put("b", Some(u64::MAX), "overflow"),
            put("a", Some(1), "a2"),
            Op::Acknowledge(vec![1, u64::MAX]),
        ];
        let (answers, committed) = commit_group(&mut connection, ops);
        assert!(committed);
        let [a1, b1, lost, together, overflow, a2, acknowledged] = answers.as_slice() else {
            panic!("{answers:?}");
        };
        assert_eq!(a1.as_ref().unwrap(), &[Version::new(1)]);
        assert_eq!(b1.as_ref().unwrap(), &[Version::new(1)]);
        assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
        assert!(
            matches!(together, Err(StoreError::Conflict)),
            "{together:?}"
        );
        assert!(
            matches!(overflow, Err(StoreError::Backend(_))),
            "{overflow:?}"
        );
        assert_eq!(a2.as_ref().unwrap(), &[Version::new(2)]);
        assert!(acknowledged.as_ref().unwrap().is_empty());
        assert_eq!(value(&connection, "a"), Some((2, b"a2".to_vec())));
        assert_eq!(value(&connection, "b"), Some((1, b"b1".to_vec())));
        assert_eq!(value(&connection, "c"), None);
        // a1's event acknowledged; none of a refused or failed write.
        assert_eq!(events(&connection), ["b1", "a2"]);
    }

    #[test]
    fn a_removal_raises_the_floor_a_key_created_again_starts_above() {
        let mut connection = migrated();
        let remove = |key: &str, expected: u64| Op::Remove {
            key: key.to_owned(),
            expected: Version::new(expected),
        };
        let ops = vec![
            put("a", None, "a1"),
            put("a", Some(1), "a2"),
            put("a", Some(2), "a3"),
            put("b", None, "b1"),
            // A stale version, then one SQLite cannot hold: neither removes.
            remove("a", 2),
            remove("a", u64::MAX),
            remove("a", 3),
            remove("b", 1),
            put("a", None, "a again"),
            put("c", None, "c1"),
        ];
        let (answers, committed) = commit_group(&mut connection, ops);
        assert!(committed);
        let [.., stale, beyond, removed_a, removed_b, again, c] = answers.as_slice() else {
            panic!("{answers:?}");
        };
        assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
        assert!(matches!(beyond, Err(StoreError::Conflict)), "{beyond:?}");
        assert!(removed_a.as_ref().unwrap().is_empty());
        assert!(removed_b.as_ref().unwrap().is_empty());
        // The highest version removed was 3: every new key starts at 4.
        assert_eq!(again.as_ref().unwrap(), &[Version::new(4)]);
        assert_eq!(c.as_ref().unwrap(), &[Version::new(4)]);
        assert_eq!(value(&connection, "a"), Some((4, b"a again".to_vec())));
        assert_eq!(value(&connection, "b"), None);
    }

    #[test]
    fn a_group_that_cannot_begin_writes_nothing_and_says_so() {
        let mut connection = migrated();
        connection.execute_batch("BEGIN").unwrap();
        let (answers, committed) = commit_group(
            &mut connection,
            vec![put("a", None, "a"), put("b", None, "b")],
        );
        assert!(!committed);
        assert_eq!(answers.len(), 2);
        assert!(
            answers
                .iter()
                .all(|answer| matches!(answer, Err(StoreError::Unavailable(_)))),
            "{answers:?}"
        );
        connection.execute_batch("ROLLBACK").unwrap();
        assert_eq!(value(&connection, "a"), None);
    }
}
