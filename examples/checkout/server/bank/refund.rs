//! The demo bank's refunds: one row per idempotency key in `bank_refunds`, decided in the
//! transaction that writes it.

use buyster::{DeclineReason, RefundRequest, Timestamp};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::super::db::DbError;

/// The request's fields, owned, for the blocking call.
pub struct Asked {
    pub key: String,
    pub payment_id: String,
    pub amount_minor: u64,
    pub currency: &'static str,
    pub at: u64,
}

impl Asked {
    pub fn from_request(request: &RefundRequest, now: Timestamp) -> Self {
        Self {
            key: request.idempotency_key().to_owned(),
            payment_id: request.payment_id().to_string(),
            amount_minor: request.amount().minor_units(),
            currency: request.amount().currency().code(),
            at: now.as_unix_millis(),
        }
    }
}

/// The outcome already decided for the refund's key, or a new one: refunded when the payment
/// was debited here and its refunds stay within the debit, declined otherwise.
pub fn decide(
    connection: &mut Connection,
    asked: &Asked,
) -> Result<Result<String, DeclineReason>, DbError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let answer = match decided(&transaction, &asked.key)? {
        Some(answer) => answer,
        None => {
            let fits = fits(&transaction, asked)?;
            record(&transaction, asked, fits)?
        }
    };
    transaction.commit()?;
    Ok(answer)
}

fn decided(
    connection: &Connection,
    key: &str,
) -> Result<Option<Result<String, DeclineReason>>, DbError> {
    let row = connection
        .query_row(
            "SELECT outcome, bank_reference FROM bank_refunds WHERE idempotency_key = ?1",
            [key],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?)),
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some((outcome, Some(reference))) if outcome == "refunded" => Ok(Some(Ok(reference))),
        Some((outcome, _)) if outcome == "declined" => Ok(Some(Err(DeclineReason::Refused))),
        Some(_) => Err(DbError::Corrupt("bank_refunds")),
    }
}

/// Whether the payment was debited here, in this currency, for at least its refunds so far
/// and this one.
fn fits(connection: &Connection, asked: &Asked) -> Result<bool, DbError> {
    let debit: Option<(u64, String)> = connection
        .query_row(
            "SELECT amount_minor, currency FROM bank_ledger
             WHERE payment_id = ?1 AND outcome = 'debited'",
            [&asked.payment_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((debited, currency)) = debit else {
        return Ok(false);
    };
    let refunded: u64 = connection.query_row(
        "SELECT COALESCE(SUM(amount_minor), 0) FROM bank_refunds
         WHERE payment_id = ?1 AND outcome = 'refunded'",
        [&asked.payment_id],
        |row| row.get(0),
    )?;
    Ok(currency == asked.currency && refunded.saturating_add(asked.amount_minor) <= debited)
}

fn record(
    connection: &Connection,
    asked: &Asked,
    fits: bool,
) -> Result<Result<String, DeclineReason>, DbError> {
    let next: u64 = connection.query_row(
        "SELECT COALESCE(MAX(rowid), 0) + 1 FROM bank_refunds",
        [],
        |row| row.get(0),
    )?;
    let reference = fits.then(|| format!("DEMO-R-{next:08}"));
    connection.execute(
        "INSERT INTO bank_refunds (idempotency_key, payment_id, amount_minor, currency, outcome,
             bank_reference, decided_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            asked.key,
            asked.payment_id,
            asked.amount_minor,
            asked.currency,
            if fits { "refunded" } else { "declined" },
            reference,
            asked.at,
        ],
    )?;
    Ok(reference.ok_or(DeclineReason::Refused))
}
