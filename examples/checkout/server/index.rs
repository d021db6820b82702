//! The merchant's own records beside the engine's: its merchants, and the counter that numbers
//! the shop's orders, in an SQLite file of their own or in the servers' PostgreSQL database.
//! (Unfinished payments are the engine's to find: its store keeps a due index, which the
//! recovery task reads.)

use std::path::Path;

use buyster::Merchant;
use rusqlite::{OptionalExtension, params};

use super::db::{Db, DbError, Pg, unsigned};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS merchants (
        id           TEXT PRIMARY KEY,
        display_name TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );";

/// The same tables on PostgreSQL.
const PG_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS merchants (
        id           TEXT PRIMARY KEY,
        display_name TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS counters (
        name  TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    );";

/// The tables `merchants` and `counters`.
#[derive(Clone)]
pub enum Index {
    /// In an SQLite file of their own.
    Sqlite(Db),
    /// In the servers' PostgreSQL database.
    Postgres(Pg),
}

const SAVE_MERCHANT: &str = "INSERT INTO merchants (id, display_name) VALUES ($1, $2)
     ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name";
const MERCHANT: &str = "SELECT display_name FROM merchants WHERE id = $1";
const NEXT_NUMBER: &str = "INSERT INTO counters (name, value) VALUES ($1, 1)
     ON CONFLICT (name) DO UPDATE SET value = counters.value + 1
     RETURNING value";

impl Index {
    /// Opens the index in the SQLite database at `path`.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        Ok(Self::Sqlite(Db::open(path, SCHEMA)?))
    }

    /// Opens the index in the PostgreSQL database of `pg`, creating its tables if missing.
    pub async fn open_postgres(pg: Pg) -> Result<Self, DbError> {
        pg.ensure(PG_SCHEMA).await?;
        Ok(Self::Postgres(pg))
    }

    /// Adds `merchant`, or renames it if its id is known.
    pub async fn save_merchant(&self, merchant: &Merchant) -> Result<(), DbError> {
        let (id, name) = (
            merchant.id().to_string(),
            merchant.display_name().to_owned(),
        );
        match self {
            Self::Sqlite(db) => {
                db.call(move |connection| {
                    connection.execute(SAVE_MERCHANT, params![id, name])?;
                    Ok(())
                })
                .await
            }
            Self::Postgres(pg) => {
                pg.client()
                    .await?
                    .execute(SAVE_MERCHANT, &[&id, &name])
                    .await?;
                Ok(())
            }
        }
    }

    /// The merchant with this id, if there is one.
    pub async fn merchant(&self, id: &str) -> Result<Option<Merchant>, DbError> {
        let key = id.to_owned();
        let name: Option<String> = match self {
            Self::Sqlite(db) => {
                db.call(move |connection| {
                    Ok(connection
                        .query_row(MERCHANT, [key], |row| row.get(0))
                        .optional()?)
                })
                .await?
            }
            Self::Postgres(pg) => {
                let row = pg.client().await?.query_opt(MERCHANT, &[&key]).await?;
                row.map(|row| row.get(0))
            }
        };
        // A stored row that no longer makes a valid merchant is treated as unknown.
        Ok(name.and_then(|name| Merchant::new(id, &name).ok()))
    }

    /// The next number of the counter `name`, from 1: never the same twice, however many
    /// servers share the index.
    pub async fn next_number(&self, name: &'static str) -> Result<u64, DbError> {
        match self {
            Self::Sqlite(db) => {
                db.call(move |connection| {
                    Ok(connection.query_row(NEXT_NUMBER, [name], |row| row.get(0))?)
                })
                .await
            }
            Self::Postgres(pg) => {
                let row = pg.client().await?.query_one(NEXT_NUMBER, &[&name]).await?;
                unsigned(row.get(0), "counters")
            }
        }
    }
}
