//! The demo bank's ledger on PostgreSQL, for servers sharing one database: the same tables and
//! decisions as on SQLite, each call one transaction, serialized per idempotency key by the
//! row lock of its `bank_calls` row and per payment, for refunds, by an advisory lock.

use buyster::{DeclineReason, Timestamp};
use tokio_postgres::Transaction;

use super::super::db::{DbError, Pg, bigint, unsigned};
use super::refund::Asked;
use super::{Answer, Debit, LedgerEntry, Script, decline_code, decline_from_code, masked_account};

/// The tables, created when missing.
pub const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS bank_ledger (
        n               BIGSERIAL UNIQUE,
        idempotency_key TEXT PRIMARY KEY,
        payment_id      TEXT NOT NULL,
        merchant        TEXT NOT NULL,
        reference       TEXT NOT NULL,
        amount_minor    BIGINT NOT NULL,
        currency        TEXT NOT NULL,
        account         TEXT NOT NULL,
        outcome         TEXT NOT NULL CHECK (outcome IN ('debited', 'declined')),
        decline_reason  TEXT,
        bank_reference  TEXT,
        decided_at      BIGINT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS bank_calls (
        idempotency_key TEXT PRIMARY KEY,
        calls           BIGINT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS bank_refunds (
        n               BIGSERIAL UNIQUE,
        idempotency_key TEXT PRIMARY KEY,
        payment_id      TEXT NOT NULL,
        amount_minor    BIGINT NOT NULL,
        currency        TEXT NOT NULL,
        outcome         TEXT NOT NULL CHECK (outcome IN ('refunded', 'declined')),
        bank_reference  TEXT,
        decided_at      BIGINT NOT NULL
    );";

/// Counts the call, then returns the outcome already decided for the key or decides one. The
/// count's upsert locks the key's row until the commit: a second call with the key waits, then
/// finds the first one's outcome.
pub async fn decide(pg: &Pg, debit: &Debit) -> Result<Answer, DbError> {
    let mut client = pg.client().await?;
    let transaction = client.transaction().await?;
    let calls: i64 = transaction
        .query_one(
            "INSERT INTO bank_calls (idempotency_key, calls) VALUES ($1, 1)
             ON CONFLICT (idempotency_key) DO UPDATE SET calls = bank_calls.calls + 1
             RETURNING calls",
            &[&debit.key],
        )
        .await?
        .get(0);
    let answer = match decided(&transaction, &debit.key).await? {
        Some(answer) => answer,
        None => match (Script::for_amount(debit.amount_minor), calls) {
            (Script::Outage, 1) => Answer::Unanswered,
            (Script::LostAnswer, 1) => {
                record(&transaction, debit, None).await?;
                Answer::Unanswered
            }
            (Script::Decline(reason), _) => record(&transaction, debit, Some(reason)).await?,
            _ => record(&transaction, debit, None).await?,
        },
    };
    transaction.commit().await?;
    Ok(answer)
}

async fn decided(transaction: &Transaction<'_>, key: &str) -> Result<Option<Answer>, DbError> {
    let row = transaction
        .query_opt(
            "SELECT outcome, decline_reason, bank_reference FROM bank_ledger
             WHERE idempotency_key = $1",
            &[&key],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (outcome, reason, reference): (String, Option<String>, Option<String>) =
        (row.get(0), row.get(1), row.get(2));
    match (outcome.as_str(), reason, reference) {
        ("debited", _, Some(reference)) => Ok(Some(Answer::Receipt(reference))),
        ("declined", Some(reason), _) => Ok(Some(Answer::Declined(decline_from_code(&reason)))),
        _ => Err(DbError::Corrupt("bank_ledger")),
    }
}

async fn record(
    transaction: &Transaction<'_>,
    debit: &Debit,
    declined: Option<DeclineReason>,
) -> Result<Answer, DbError> {
    let n: i64 = transaction
        .query_one(
            "SELECT nextval(pg_get_serial_sequence('bank_ledger', 'n'))",
            &[],
        )
        .await?
        .get(0);
    let (outcome, reason, bank_reference, answer) = match declined {
        Some(reason) => (
            "declined",
            Some(decline_code(reason)),
            None,
            Answer::Declined(reason),
        ),
        None => {
            let reference = format!("DEMO-{n:08}");
            (
                "debited",
                None,
                Some(reference.clone()),
                Answer::Receipt(reference),
            )
        }
    };
    transaction
        .execute(
            "INSERT INTO bank_ledger (n, idempotency_key, payment_id, merchant, reference,
                 amount_minor, currency, account, outcome, decline_reason, bank_reference,
                 decided_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &n,
                &debit.key,
                &debit.payment_id,
                &debit.merchant,
                &debit.reference,
                &bigint(debit.amount_minor)?,
                &debit.currency,
                &debit.account,
                &outcome,
                &reason,
                &bank_reference,
                &bigint(debit.at)?,
            ],
        )
        .await?;
    Ok(answer)
}

/// The ledger, newest first, at most `limit` entries.
pub async fn entries(pg: &Pg, limit: u32) -> Result<Vec<LedgerEntry>, DbError> {
    let client = pg.client().await?;
    let rows = client
        .query(
            "SELECT l.idempotency_key, l.merchant, l.reference, l.amount_minor, l.currency,
                    l.account, l.outcome, l.decline_reason, l.bank_reference,
                    COALESCE(c.calls, 0), l.decided_at
             FROM bank_ledger l LEFT JOIN bank_calls c USING (idempotency_key)
             ORDER BY l.n DESC LIMIT $1",
            &[&i64::from(limit)],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(LedgerEntry {
                idempotency_key: row.get(0),
                merchant: row.get(1),
                reference: row.get(2),
                amount_minor: unsigned(row.get(3), "bank_ledger")?,
                currency: row.get(4),
                account: masked_account(row.get(5)),
                outcome: row.get(6),
                decline_reason: row.get(7),
                bank_reference: row.get(8),
                calls: unsigned(row.get(9), "bank_calls")?,
                decided_at: Timestamp::from_unix_millis(unsigned(row.get(10), "bank_ledger")?),
            })
        })
        .collect()
}

/// A refund's outcome, decided once per key, under the payment's advisory lock so that two
/// refunds of one payment never both fit in what is left of its debit.
pub async fn refund(pg: &Pg, asked: &Asked) -> Result<Result<String, DeclineReason>, DbError> {
    let mut client = pg.client().await?;
    let transaction = client.transaction().await?;
    transaction
        .execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            &[&asked.payment_id],
        )
        .await?;
    let row = transaction
        .query_opt(
            "SELECT outcome, bank_reference FROM bank_refunds WHERE idempotency_key = $1",
            &[&asked.key],
        )
        .await?;
    let answer = match row {
        Some(row) => match (row.get::<_, String>(0).as_str(), row.get(1)) {
            ("refunded", Some(reference)) => Ok(reference),
            ("declined", _) => Err(DeclineReason::Refused),
            _ => return Err(DbError::Corrupt("bank_refunds")),
        },
        None => {
            let fits = refund_fits(&transaction, asked).await?;
            record_refund(&transaction, asked, fits).await?
        }
    };
    transaction.commit().await?;
    Ok(answer)
}

async fn refund_fits(transaction: &Transaction<'_>, asked: &Asked) -> Result<bool, DbError> {
    let debit = transaction
        .query_opt(
            "SELECT amount_minor, currency FROM bank_ledger
             WHERE payment_id = $1 AND outcome = 'debited'",
            &[&asked.payment_id],
        )
        .await?;
    let Some(debit) = debit else {
        return Ok(false);
    };
    let (debited, currency): (i64, String) = (debit.get(0), debit.get(1));
    let refunded: i64 = transaction
        .query_one(
            "SELECT COALESCE(SUM(amount_minor), 0)::BIGINT FROM bank_refunds
             WHERE payment_id = $1 AND outcome = 'refunded'",
            &[&asked.payment_id],
        )
        .await?
        .get(0);
    let after = unsigned(refunded, "bank_refunds")?.saturating_add(asked.amount_minor);
    Ok(currency == asked.currency && after <= unsigned(debited, "bank_ledger")?)
}

async fn record_refund(
    transaction: &Transaction<'_>,
    asked: &Asked,
    fits: bool,
) -> Result<Result<String, DeclineReason>, DbError> {
    let n: i64 = transaction
        .query_one(
            "SELECT nextval(pg_get_serial_sequence('bank_refunds', 'n'))",
            &[],
        )
        .await?
        .get(0);
    let reference = fits.then(|| format!("DEMO-R-{n:08}"));
    transaction
        .execute(
            "INSERT INTO bank_refunds (n, idempotency_key, payment_id, amount_minor, currency,
                 outcome, bank_reference, decided_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &n,
                &asked.key,
                &asked.payment_id,
                &bigint(asked.amount_minor)?,
                &asked.currency,
                &if fits { "refunded" } else { "declined" },
                &reference,
                &bigint(asked.at)?,
            ],
        )
        .await?;
    Ok(reference.ok_or(DeclineReason::Refused))
}
