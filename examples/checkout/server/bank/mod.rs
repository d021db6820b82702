//! [`DemoBank`]: a demo bank whose ledger is a table keyed by idempotency key, in SQLite or
//! in PostgreSQL (`postgres.rs`).

mod faults;
mod postgres;
mod refund;

use std::path::Path;
use std::sync::Arc;

use buyster::{
    Bank, BankError, Clock, DebitReceipt, DebitRequest, DeclineReason, FundingSource,
    RefundReceipt, RefundRequest, Timestamp,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::clock::ServerClock;
use super::db::{Db, DbError, Pg};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS bank_ledger (
        idempotency_key TEXT PRIMARY KEY,
        payment_id      TEXT NOT NULL,
        merchant        TEXT NOT NULL,
        reference       TEXT NOT NULL,
        amount_minor    INTEGER NOT NULL,
        currency        TEXT NOT NULL,
        account         TEXT NOT NULL,
        outcome         TEXT NOT NULL CHECK (outcome IN ('debited', 'declined')),
        decline_reason  TEXT,
        bank_reference  TEXT,
        decided_at      INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS bank_calls (
        idempotency_key TEXT PRIMARY KEY,
        calls           INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS bank_refunds (
        idempotency_key TEXT PRIMARY KEY,
        payment_id      TEXT NOT NULL,
        amount_minor    INTEGER NOT NULL,
        currency        TEXT NOT NULL,
        outcome         TEXT NOT NULL CHECK (outcome IN ('refunded', 'declined')),
        bank_reference  TEXT,
        decided_at      INTEGER NOT NULL
    );";

/// An amount (in cents) that the demo bank declines for insufficient funds: 402,00.
pub const DECLINED_AMOUNT: u64 = 40_200;
/// An amount whose first debit call finds the bank unreachable (nothing applied): 503,00.
pub const OUTAGE_AMOUNT: u64 = 50_300;
/// An amount whose first debit call is applied but its answer lost: 504,00.
pub const LOST_ANSWER_AMOUNT: u64 = 50_400;

/// What the demo bank does with a debit, picked by the amount so that a demo can show every
/// outcome.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    /// Debit and answer.
    Pay,
    /// Decline, for good.
    Decline(DeclineReason),
    /// No answer on the first call for a key, and nothing applied; later calls pay.
    Outage,
    /// The first call for a key debits but its answer is lost; later calls find the debit.
    LostAnswer,
}

impl Script {
    fn for_amount(minor_units: u64) -> Self {
        match minor_units {
            DECLINED_AMOUNT => Self::Decline(DeclineReason::InsufficientFunds),
            OUTAGE_AMOUNT => Self::Outage,
            LOST_ANSWER_AMOUNT => Self::LostAnswer,
            _ => Self::Pay,
        }
    }
}

/// A debit (or decline) as the ledger holds it.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    /// The key the engine sent: the payment id.
    pub idempotency_key: String,
    /// The merchant credited.
    pub merchant: String,
    /// The merchant's order reference.
    pub reference: String,
    /// Cents (or pence, …) debited.
    pub amount_minor: u64,
    /// ISO 4217 code.
    pub currency: String,
    /// The account debited, masked: `FR76 •••• 189`.
    pub account: String,
    /// `debited` or `declined`.
    pub outcome: String,
    /// Why it was declined.
    pub decline_reason: Option<String>,
    /// The bank's transaction reference, for a debit.
    pub bank_reference: Option<String>,
    /// Debit calls received for this key, repeated ones included.
    pub calls: u64,
    /// When the outcome was decided.
    pub decided_at: Timestamp,
}

/// A [`Bank`] whose ledger is the table `bank_ledger`, in an SQLite file of its own or in the
/// servers' PostgreSQL database (a real bank is another system; this one is for demos and
/// tests).
///
/// Idempotent as the trait requires: the first decided outcome for an idempotency key is
/// written in the same transaction that decides it, and every later call with that key returns
/// it and moves no money. Declines and outages are scripted by amount: see
/// [`DECLINED_AMOUNT`], [`OUTAGE_AMOUNT`] and [`LOST_ANSWER_AMOUNT`]. Refunds go in the table
/// `bank_refunds`, idempotent the same way; one that would give back more than the payment's
/// debit, less its earlier refunds, is declined.
///
/// A call whose ledger write fails answers [`BankError::Unavailable`] (the outcome is unknown
/// to the engine, which asks again), and is logged and remembered apart: see
/// [`DemoBank::ledger_failed`].
#[derive(Clone)]
pub struct DemoBank {
    ledger: Ledger,
    clock: ServerClock,
    faults: Arc<faults::Faults>,
}

/// Where the ledger is.
#[derive(Clone)]
enum Ledger {
    Sqlite(Db),
    Postgres(Pg),
}

impl DemoBank {
    /// Opens the ledger in the SQLite database at `path`.
    pub fn open(path: &Path, clock: ServerClock) -> Result<Self, DbError> {
        Ok(Self {
            ledger: Ledger::Sqlite(Db::open(path, SCHEMA)?),
            clock,
            faults: Arc::default(),
        })
    }

    /// Opens the ledger in the PostgreSQL database of `pg`, creating its tables if missing.
    pub async fn open_postgres(pg: Pg, clock: ServerClock) -> Result<Self, DbError> {
        pg.ensure(postgres::SCHEMA).await?;
        Ok(Self {
            ledger: Ledger::Postgres(pg),
            clock,
            faults: Arc::default(),
        })
    }

    /// The ledger, newest first, at most `limit` entries.
    pub async fn entries(&self, limit: u32) -> Result<Vec<LedgerEntry>, DbError> {
        match &self.ledger {
            Ledger::Sqlite(db) => {
                db.call(move |connection| read_ledger(connection, limit))
                    .await
            }
            Ledger::Postgres(pg) => postgres::entries(pg, limit).await,
        }
    }

    /// Whether the last call for payment `payment_id` failed in the ledger itself (the
    /// server's storage), rather than meeting a bank that did not answer.
    pub fn ledger_failed(&self, payment_id: &str) -> bool {
        self.faults.has_failed(payment_id)
    }

    /// The calls that failed in the ledger since the last time this was asked.
    pub fn take_ledger_failures(&self) -> u64 {
        self.faults.take_count()
    }

    /// Notes how the call of `payment_id` went in the ledger.
    fn note<T>(&self, payment_id: &str, call: &str, outcome: &Result<T, DbError>) {
        match outcome {
            Ok(_) => self.faults.succeeded(payment_id),
            Err(error) => self.faults.failed(payment_id, call, error),
        }
    }
}

impl Bank for DemoBank {
    async fn debit(&self, request: &DebitRequest) -> Result<DebitReceipt, BankError> {
        let debit = Debit::from_request(request, self.clock.now());
        let payment_id = debit.payment_id.clone();
        let outcome = match &self.ledger {
            Ledger::Sqlite(db) => db.call(move |connection| decide(connection, &debit)).await,
            Ledger::Postgres(pg) => postgres::decide(pg, &debit).await,
        };
        self.note(&payment_id, "debit", &outcome);
        match outcome {
            Ok(Answer::Receipt(reference)) => Ok(DebitReceipt::new(reference)),
            Ok(Answer::Declined(reason)) => Err(BankError::Declined(reason)),
            // A failed ledger write is an unknown outcome too: the engine asks again later.
            Ok(Answer::Unanswered) | Err(_) => Err(BankError::Unavailable),
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundReceipt, BankError> {
        let asked = refund::Asked::from_request(request, self.clock.now());
        let payment_id = request.payment_id().to_string();
        let outcome = match &self.ledger {
            Ledger::Sqlite(db) => {
                db.call(move |connection| refund::decide(connection, &asked))
                    .await
            }
            Ledger::Postgres(pg) => postgres::refund(pg, &asked).await,
        };
        self.note(&payment_id, "refund", &outcome);
        match outcome {
            Ok(Ok(reference)) => Ok(RefundReceipt::new(reference)),
            Ok(Err(reason)) => Err(BankError::Declined(reason)),
            Err(_) => Err(BankError::Unavailable),
        }
    }
}

/// The request's fields, owned, for the blocking call.
struct Debit {
    key: String,
    payment_id: String,
    merchant: String,
    reference: String,
    amount_minor: u64,
    currency: &'static str,
    account: String,
    at: u64,
}

impl Debit {
    fn from_request(request: &DebitRequest, now: Timestamp) -> Self {
        Self {
            key: request.idempotency_key().to_owned(),
            payment_id: request.payment_id().to_string(),
            merchant: request.merchant().to_string(),
            reference: request.reference().to_owned(),
            amount_minor: request.amount().minor_units(),
            currency: request.amount().currency().code(),
            account: request.funding_source().to_string(),
            at: now.as_unix_millis(),
        }
    }
}

/// What the bank answers a call.
enum Answer {
    Receipt(String),
    Declined(DeclineReason),
    Unanswered,
}

/// Counts the call, then returns the outcome already decided for the key or decides one, in
/// one immediate transaction: two calls with one key cannot both decide.
fn decide(connection: &mut Connection, debit: &Debit) -> Result<Answer, DbError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let calls: u64 = transaction.query_row(
        "INSERT INTO bank_calls (idempotency_key, calls) VALUES (?1, 1)
         ON CONFLICT (idempotency_key) DO UPDATE SET calls = calls + 1
         RETURNING calls",
        [&debit.key],
        |row| row.get(0),
    )?;
    let answer = match decided(&transaction, &debit.key)? {
        Some(answer) => answer,
        None => match (Script::for_amount(debit.amount_minor), calls) {
            (Script::Outage, 1) => Answer::Unanswered,
            (Script::LostAnswer, 1) => {
                record(&transaction, debit, None)?;
                Answer::Unanswered
            }
            (Script::Decline(reason), _) => record(&transaction, debit, Some(reason))?,
            _ => record(&transaction, debit, None)?,
        },
    };
    transaction.commit()?;
    Ok(answer)
}

/// The outcome stored for `key`, if any.
fn decided(connection: &Connection, key: &str) -> Result<Option<Answer>, DbError> {
    let row = connection
        .query_row(
            "SELECT outcome, decline_reason, bank_reference FROM bank_ledger
             WHERE idempotency_key = ?1",
            [key],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((outcome, reason, reference)) = row else {
        return Ok(None);
    };
    match (outcome.as_str(), reason, reference) {
        ("debited", _, Some(reference)) => Ok(Some(Answer::Receipt(reference))),
        ("declined", Some(reason), _) => Ok(Some(Answer::Declined(decline_from_code(&reason)))),
        _ => Err(DbError::Corrupt("bank_ledger")),
    }
}

/// Writes the first outcome for the debit's key: a debit, or a decline for `declined`.
fn record(
    connection: &Connection,
    debit: &Debit,
    declined: Option<DeclineReason>,
) -> Result<Answer, DbError> {
    let next: u64 = connection.query_row(
        "SELECT COALESCE(MAX(rowid), 0) + 1 FROM bank_ledger",
        [],
        |row| row.get(0),
    )?;
    let (outcome, reason, bank_reference, answer) = match declined {
        Some(reason) => (
            "declined",
            Some(decline_code(reason)),
            None,
            Answer::Declined(reason),
        ),
        None => {
            let reference = format!("DEMO-{next:08}");
            (
                "debited",
                None,
                Some(reference.clone()),
                Answer::Receipt(reference),
            )
        }
    };
    connection.execute(
        "INSERT INTO bank_ledger (idempotency_key, payment_id, merchant, reference, amount_minor,
             currency, account, outcome, decline_reason, bank_reference, decided_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            debit.key,
            debit.payment_id,
            debit.merchant,
            debit.reference,
            debit.amount_minor,
            debit.currency,
            debit.account,
            outcome,
            reason,
            bank_reference,
            debit.at,
        ],
    )?;
    Ok(answer)
}

fn read_ledger(connection: &mut Connection, limit: u32) -> Result<Vec<LedgerEntry>, DbError> {
    let mut statement = connection.prepare(
        "SELECT l.idempotency_key, l.merchant, l.reference, l.amount_minor, l.currency,
                l.account, l.outcome, l.decline_reason, l.bank_reference,
                COALESCE(c.calls, 0), l.decided_at
         FROM bank_ledger l LEFT JOIN bank_calls c USING (idempotency_key)
         ORDER BY l.rowid DESC LIMIT ?1",
    )?;
    let rows = statement.query_map([limit], |row| {
        Ok(LedgerEntry {
            idempotency_key: row.get(0)?,
            merchant: row.get(1)?,
            reference: row.get(2)?,
            amount_minor: row.get(3)?,
            currency: row.get(4)?,
            account: masked_account(&row.get::<_, String>(5)?),
            outcome: row.get(6)?,
            decline_reason: row.get(7)?,
            bank_reference: row.get(8)?,
            calls: row.get(9)?,
            decided_at: Timestamp::from_unix_millis(row.get(10)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The account as a statement shows it: `FR76 •••• 189`, or `token` for an opaque source.
fn masked_account(account: &str) -> String {
    match account.parse::<FundingSource>() {
        Ok(FundingSource::Iban(iban)) => iban.masked(),
        _ => "token".to_owned(),
    }
}

const DECLINE_CODES: [(DeclineReason, &str); 5] = [
    (DeclineReason::InsufficientFunds, "insufficient_funds"),
    (DeclineReason::AccountClosed, "account_closed"),
    (DeclineReason::LimitExceeded, "limit_exceeded"),
    (DeclineReason::SuspectedFraud, "suspected_fraud"),
    (DeclineReason::Refused, "refused"),
];

/// The stable name of a decline reason, as the ledger and the JSON API write it.
pub fn decline_code(reason: DeclineReason) -> &'static str {
    DECLINE_CODES
        .iter()
        .find(|(known, _)| *known == reason)
        .map_or("refused", |(_, code)| code)
}

fn decline_from_code(code: &str) -> DeclineReason {
    DECLINE_CODES
        .iter()
        .find(|(_, known)| *known == code)
        .map_or(DeclineReason::Refused, |(reason, _)| *reason)
}
