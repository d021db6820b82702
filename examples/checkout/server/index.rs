//! The merchant's own records beside the engine's: its merchants, and the payments it started
//! (what the recovery task lists, since the engine's store has no listing).

use std::path::Path;

use buyster::{Merchant, PaymentId, StateKind, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use super::db::{Db, DbError};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS merchants (
        id           TEXT PRIMARY KEY,
        display_name TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS payments (
        id           TEXT PRIMARY KEY,
        merchant     TEXT NOT NULL REFERENCES merchants (id),
        reference    TEXT NOT NULL,
        amount_minor INTEGER NOT NULL,
        currency     TEXT NOT NULL,
        state        TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS unfinished_payments ON payments (created_at)
        WHERE state NOT IN ('confirmed', 'failed');
    CREATE TABLE IF NOT EXISTS counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );";

/// A payment as the merchant's index records it when it starts.
pub struct NewRecord<'a> {
    /// The engine's id.
    pub id: PaymentId,
    /// The merchant's id.
    pub merchant: &'a str,
    /// The merchant's order reference.
    pub reference: &'a str,
    /// Cents.
    pub amount_minor: u64,
    /// ISO 4217 code.
    pub currency: &'a str,
    /// When it started.
    pub created_at: Timestamp,
}

/// The tables `merchants`, `payments` and `counters`.
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

    /// Records a payment that just started.
    pub async fn record(&self, payment: NewRecord<'_>) -> Result<(), DbError> {
        let row = (
            payment.id.to_string(),
            payment.merchant.to_owned(),
            payment.reference.to_owned(),
            payment.amount_minor,
            payment.currency.to_owned(),
            payment.created_at.as_unix_millis(),
        );
        self.db
            .call(move |connection| {
                connection.execute(
                    "INSERT INTO payments (id, merchant, reference, amount_minor, currency,
                         state, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'initiated', ?6, ?6)",
                    params![row.0, row.1, row.2, row.3, row.4, row.5],
                )?;
                Ok(())
            })
            .await
    }

    /// Notes the state a payment was last seen in.
    pub async fn note_state(
        &self,
        id: PaymentId,
        state: StateKind,
        now: Timestamp,
    ) -> Result<(), DbError> {
        let (id, state, now) = (id.to_string(), state_name(state), now.as_unix_millis());
        self.db
            .call(move |connection| {
                connection.execute(
                    "UPDATE payments SET state = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, state, now],
                )?;
                Ok(())
            })
            .await
    }

    /// Payments not seen confirmed or failed, started before `before`: oldest first, at most
    /// `limit`.
    pub async fn unfinished(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<PaymentId>, DbError> {
        let before = before.as_unix_millis();
        let ids: Vec<String> = self
            .db
            .call(move |connection| unfinished_ids(connection, before, limit))
            .await?;
        Ok(ids.iter().filter_map(|id| id.parse().ok()).collect())
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

fn unfinished_ids(
    connection: &mut Connection,
    before: u64,
    limit: u32,
) -> Result<Vec<String>, DbError> {
    let mut statement = connection.prepare(
        "SELECT id FROM payments
         WHERE state NOT IN ('confirmed', 'failed') AND created_at < ?1
         ORDER BY created_at LIMIT ?2",
    )?;
    let ids = statement.query_map(params![before, limit], |row| row.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

/// The state's name in the API and the index: `initiated`, `pin_verified`, `otp_sent`,
/// `authorized`, `confirmed`, `failed`.
pub fn state_name(state: StateKind) -> &'static str {
    match state {
        StateKind::Initiated => "initiated",
        StateKind::PinVerified => "pin_verified",
        StateKind::OtpSent => "otp_sent",
        StateKind::Authorized => "authorized",
        StateKind::Confirmed => "confirmed",
        StateKind::Failed => "failed",
    }
}
