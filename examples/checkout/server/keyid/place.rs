//! Where the key id is kept: reading it and writing it in `checkout.db`, or in the PostgreSQL
//! database under an advisory lock, so that servers starting together agree.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use super::super::StartError;
use super::super::config::Config;
use super::super::db::Pg;
use super::super::files;
use super::{Found, KeyId, KeyMismatch, TABLE, Trace, Verdict, Why, judge};

/// The lock the check holds for its transaction on PostgreSQL: two servers starting on an
/// empty database do not both write an id. The bytes spell `bkeyid!`.
const KEY_LOCK: i64 = 0x0062_6b65_7969_6421;

/// The SQLite side: checks that the three files are whole, reads `checkout.db`, and goes on,
/// marks the database new, or moves the files aside and starts new. Whether the database is
/// new, and what was moved.
pub fn sqlite(
    config: &Config,
    given: &KeyId,
    key_file: Option<Trace>,
    mismatch: impl Fn(String, Why) -> KeyMismatch,
) -> Result<(bool, Vec<PathBuf>), StartError> {
    let all = [config.db.clone(), config.bank_db(), config.index_db()];
    files::check_whole(&all)?;
    let found = read_sqlite(&config.db)?;
    let old = match &found {
        Found::Id(id) => id.to_string(),
        Found::Unmarked | Found::Nothing => "none".to_owned(),
    };
    let place = format!("the database {}", config.db.display());
    let siblings =
        (config.bank_db().exists() || config.index_db().exists()).then_some(Trace::Siblings);
    match judge(found, given, key_file.or(siblings), config.reinitialise) {
        Ok(Verdict::Go) => Ok((false, Vec::new())),
        Ok(Verdict::Mark) => {
            mark_sqlite(&config.db, given)?;
            Ok((true, Vec::new()))
        }
        Ok(Verdict::StartOver) => {
            let moved = files::move_aside(&all, &format!(".key-{old}"))?;
            mark_sqlite(&config.db, given)?;
            Ok((true, moved))
        }
        Err(why) => Err(Box::new(mismatch(place, why))),
    }
}

/// What `checkout.db` holds, read without writing to it: nothing when it does not exist.
/// Its integrity was checked first.
fn read_sqlite(path: &Path) -> rusqlite::Result<Found> {
    if !path.exists() {
        return Ok(Found::Nothing);
    }
    let connection = files::open_existing(path)?;
    let has = |table: &str| -> rusqlite::Result<bool> {
        connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [table],
            |row| row.get(0),
        )
    };
    if has("checkout_key")? {
        let id: Option<String> = connection
            .query_row("SELECT key_id FROM checkout_key", [], |row| row.get(0))
            .optional()?;
        if let Some(id) = id {
            return Ok(Found::Id(KeyId(id)));
        }
    }
    let records = has("records")?
        && connection.query_row("SELECT EXISTS (SELECT 1 FROM records)", [], |row| {
            row.get(0)
        })?;
    Ok(if records {
        Found::Unmarked
    } else {
        Found::Nothing
    })
}

/// Writes `id` in `checkout.db`, creating the file (mode 0600, in WAL mode) if needed.
fn mark_sqlite(path: &Path, id: &KeyId) -> Result<(), StartError> {
    files::create_private(path).map_err(|source| files::FileError::Io {
        path: path.to_owned(),
        source,
    })?;
    let connection = Connection::open(path)?;
    let _mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    connection.execute_batch(TABLE)?;
    connection.execute(
        "INSERT INTO checkout_key (only_row, key_id) VALUES (1, ?1)",
        [&id.0],
    )?;
    Ok(())
}

/// The PostgreSQL side: reads the id and whether the store has records, and marks a new
/// database, in one transaction under [`KEY_LOCK`]. Never moves anything: the schema is
/// shared with servers that may still run with the other key. Whether the database is new.
pub async fn postgres(
    url: &str,
    config: &Config,
    given: &KeyId,
    key_file: Option<Trace>,
    mismatch: impl Fn(String, Why) -> KeyMismatch,
) -> Result<(bool, Vec<PathBuf>), StartError> {
    let pg = Pg::connect(url).await?;
    pg.ensure(TABLE).await?;
    let mut client = pg.client().await?;
    let transaction = client.transaction().await?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&KEY_LOCK])
        .await?;
    let row = transaction
        .query_opt("SELECT key_id FROM checkout_key", &[])
        .await?;
    let found = match row {
        Some(row) => Found::Id(KeyId(row.try_get(0)?)),
        None => {
            let store: bool = transaction
                .query_one("SELECT to_regclass('buyster.records') IS NOT NULL", &[])
                .await?
                .try_get(0)?;
            let records = store
                && transaction
                    .query_one("SELECT EXISTS (SELECT 1 FROM buyster.records)", &[])
                    .await?
                    .try_get(0)?;
            if records {
                Found::Unmarked
            } else {
                Found::Nothing
            }
        }
    };
    let expected = match &found {
        Found::Id(id) => Some(id.clone()),
        Found::Unmarked | Found::Nothing => None,
    };
    let place = "the PostgreSQL database of --postgres".to_owned();
    match judge(found, given, key_file, config.reinitialise) {
        Ok(Verdict::Go) => Ok((false, Vec::new())),
        Ok(Verdict::Mark) => {
            transaction
                .execute(
                    "INSERT INTO checkout_key (only_row, key_id) VALUES (1, $1)",
                    &[&given.0],
                )
                .await?;
            transaction.commit().await?;
            Ok((true, Vec::new()))
        }
        Ok(Verdict::StartOver) => Err(Box::new(mismatch(place, Why::SharedSchema(expected)))),
        Err(why) => Err(Box::new(mismatch(place, why))),
    }
}
