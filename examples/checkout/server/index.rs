//! The merchant's own records beside the engine's: its merchants, and the counter that numbers
//! the shop's orders. (Unfinished payments are the engine's to find: its store keeps a due
//! index, which the recovery task reads.)

use std::path::Path;

use buyster::Merchant;
use rusqlite::{OptionalExtension, params};

use super::db::{Db, DbError};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS merchants (
        id           TEXT PRIMARY KEY,
        display_name TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );";

/// The tables `merchants` and `counters`.
#[derive(Clone)]
pub struct Index {
    db: Db,
}

impl Index {
    /// Opens the index in the database at `path`.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        Ok(Self {
            db: Db::open(path, SCHEMA)?,
        })
    }

    /// Adds `merchant`, or renames it if its id is known.
    pub async fn save_merchant(&self, merchant: &Merchant) -> Result<(), DbError> {
        let (id, name) = (
            merchant.id().to_string(),
            merchant.display_name().to_owned(),
        );
        self.db
            .call(move |connection| {
                connection.execute(
                    "INSERT INTO merchants (id, display_name) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name",
                    params![id, name],
                )?;
                Ok(())
            })
            .await
    }

    /// The merchant with this id, if there is one.
    pub async fn merchant(&self, id: &str) -> Result<Option<Merchant>, DbError> {
        let key = id.to_owned();
        let name: Option<String> = self
            .db
            .call(move |connection| {
                Ok(connection
                    .query_row(
                        "SELECT display_name FROM merchants WHERE id = ?1",
                        [key],
                        |row| row.get(0),
                    )
                    .optional()?)
            })
            .await?;
        // A stored row that no longer makes a valid merchant is treated as unknown.
        Ok(name.and_then(|name| Merchant::new(id, &name).ok()))
    }

    /// The next number of the counter `name`, from 1.
    pub async fn next_number(&self, name: &'static str) -> Result<u64, DbError> {
        self.db
            .call(move |connection| {
                Ok(connection.query_row(
                    "INSERT INTO counters (name, value) VALUES (?1, 1)
                     ON CONFLICT (name) DO UPDATE SET value = value + 1
                     RETURNING value",
                    [name],
                    |row| row.get(0),
                )?)
            })
            .await
    }
}
