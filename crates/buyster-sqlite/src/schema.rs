//! The file's schema, its migrations, and how each connection is opened.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::OpenError;

/// The schema's migrations, in order: migration `n` (counting from 0) brings a file from
/// `PRAGMA user_version = n` to `n + 1`. Each is idempotent (`IF NOT EXISTS`), so a file made
/// by hand, or by an earlier copy of this schema that did not set `user_version`, is brought up
/// to date without harm.
///
/// Migration 0 creates:
///
/// - `records(key, version, value, due)`: one row per key, its version counting up by one from
///   its first, `due` the time in Unix milliseconds when the engine has work to do on the
///   record, or `NULL`.
/// - `records_due`, a partial index on `(due, key) WHERE due IS NOT NULL`: what
///   [`buyster::Store::due`] reads, in order, without a scan of the finished records.
/// - `outbox(seq, event)`: the events written with each record, `seq` an
///   `INTEGER PRIMARY KEY AUTOINCREMENT`, so a number is never given twice, not even after the
///   newest event was acknowledged and deleted.
///
/// Migration 1 creates `removed_floor(id, version)`, one row: the highest version a removed
/// record had ([`buyster::Store::remove`] deletes rows). A new key's first version is one above
/// it, so a key removed and created again never gets a version it had before; a file that never
/// removed anything keeps counting every key from 1.
pub const MIGRATIONS: &[&str] = &[
    "
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
    );",
    "
    CREATE TABLE IF NOT EXISTS removed_floor (
        id      INTEGER PRIMARY KEY CHECK (id = 0),
        version INTEGER NOT NULL
    );
    INSERT OR IGNORE INTO removed_floor (id, version) VALUES (0, 0);",
];

/// The schema version this release writes: `PRAGMA user_version` once every migration ran.
// A handful of migrations: the count fits any integer (`try_from` is not const).
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Opens the file's only write connection: creates the file if needed (readable and writable
/// by its owner only), switches it to WAL, makes every commit durable and runs the migrations.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, OpenError> {
    create_private(path).map_err(|source| OpenError::File {
        path: path.to_owned(),
        source,
    })?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut connection = Connection::open_with_flags(path, flags)?;
    // No busy handler: this connection is the file's only writer, so it never waits for a
    // lock; a foreign writer holding one makes a group fail at once rather than sleep.
    connection.busy_handler(None)?;
    let mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::NotWal(mode));
    }
    // Payment data: a commit is synced to disk before it is answered, so that a write reported
    // applied survives a power cut. (WAL's default, NORMAL, may lose the last commits.)
    connection.pragma_update(None, "synchronous", "FULL")?;
    migrate(&mut connection)?;
    Ok(connection)
}

/// Creates the file at `path`, mode 0600 on Unix, unless it exists: payment records hold phone
/// numbers and bank accounts. SQLite gives the write-ahead log, the shared memory and the
/// journal it creates beside the file the file's mode. An existing file keeps its mode.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

/// Opens a read-only connection on a file the writer has opened and migrated.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, OpenError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    // WAL readers take no lock the writer holds, and the reverse: nothing to wait for.
    connection.busy_handler(None)?;
    Ok(connection)
}

/// Runs the migrations the file has not had, in one transaction.
fn migrate(connection: &mut Connection) -> Result<(), OpenError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: u32 = transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(OpenError::NewerSchema {
            found,
            known: SCHEMA_VERSION,
        });
    }
    let done = usize::try_from(found).unwrap_or(usize::MAX);
    for migration in MIGRATIONS.iter().skip(done) {
        transaction.execute_batch(migration)?;
    }
    transaction.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    transaction.commit()?;
    Ok(())
}
