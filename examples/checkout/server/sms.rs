//! [`ConsoleSms`]: a development SMS gateway that prints each message and keeps it in an
//! outbox, which the page `GET /dev/sms` shows: in memory, or in the servers' PostgreSQL
//! database so that a code sent by one server shows on every server's page.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use buyster::{Clock, PaymentId, SmsError, SmsGateway, SmsMessage, Timestamp};
use zeroize::Zeroizing;

use super::clock::ServerClock;
use super::db::{DbError, Pg, bigint, unsigned};

/// The outbox's table on PostgreSQL.
const PG_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS dev_sms (
        n         BIGSERIAL PRIMARY KEY,
        sent_at   BIGINT NOT NULL,
        to_masked TEXT NOT NULL,
        payment   TEXT NOT NULL,
        body      TEXT NOT NULL
    );";

/// How many messages the outbox keeps; older ones are dropped.
const OUTBOX_SIZE: usize = 100;

/// One message as the outbox keeps it: the recipient masked, the body (which holds the code)
/// wiped from memory when the message leaves the outbox.
#[derive(Clone)]
pub struct SentSms {
    /// When the gateway took it.
    pub sent_at: Timestamp,
    /// The recipient, masked: `+33 6 •• •• •• 78`.
    pub to: String,
    /// The payment the code belongs to.
    pub payment: PaymentId,
    /// The text, code included.
    pub body: Zeroizing<String>,
}

/// An [`SmsGateway`] for development: each message is printed on the server's console and kept
/// in memory for the development outbox page, in place of an operator's API.
///
/// # Security
///
/// It shows codes to whoever reads the console or the outbox page: that is its purpose, and
/// why a real deployment replaces it with an operator's gateway and turns the development
/// pages off.
#[derive(Clone)]
pub struct ConsoleSms {
    outbox: Outbox,
    failures: Arc<AtomicUsize>,
    clock: ServerClock,
    print: bool,
}

/// Where the messages are kept.
#[derive(Clone)]
enum Outbox {
    Memory(Arc<Mutex<VecDeque<SentSms>>>),
    Postgres(Pg),
}

impl ConsoleSms {
    /// An empty outbox; `print` also writes each message on standard output.
    pub fn new(clock: ServerClock, print: bool) -> Self {
        Self {
            outbox: Outbox::Memory(Arc::default()),
            failures: Arc::default(),
            clock,
            print,
        }
    }

    /// Makes the next `count` sends fail as an operator's outage would (nothing delivered).
    #[allow(
        dead_code,
        reason = "the tests play a gateway outage; the demo never does"
    )]
    pub fn fail_next(&self, count: usize) {
        self.failures.fetch_add(count, Ordering::SeqCst);
    }

    /// An outbox in the PostgreSQL database of `pg`, shared by the servers on it.
    pub async fn postgres(pg: Pg, clock: ServerClock, print: bool) -> Result<Self, DbError> {
        pg.ensure(PG_SCHEMA).await?;
        Ok(Self {
            outbox: Outbox::Postgres(pg),
            ..Self::new(clock, print)
        })
    }

    /// The newest messages, newest first, at most 100.
    pub async fn messages(&self) -> Result<Vec<SentSms>, DbError> {
        match &self.outbox {
            Outbox::Memory(outbox) => {
                let outbox = outbox.lock().unwrap_or_else(PoisonError::into_inner);
                Ok(outbox.iter().rev().cloned().collect())
            }
            Outbox::Postgres(pg) => {
                let rows = pg
                    .client()
                    .await?
                    .query(
                        "SELECT sent_at, to_masked, payment, body FROM dev_sms
                         ORDER BY n DESC LIMIT $1",
                        &[&i64::try_from(OUTBOX_SIZE).unwrap_or(i64::MAX)],
                    )
                    .await?;
                rows.iter()
                    .map(|row| {
                        Ok(SentSms {
                            sent_at: Timestamp::from_unix_millis(unsigned(row.get(0), "dev_sms")?),
                            to: row.get(1),
                            payment: row
                                .get::<_, &str>(2)
                                .parse()
                                .map_err(|_| DbError::Corrupt("dev_sms"))?,
                            body: Zeroizing::new(row.get(3)),
                        })
                    })
                    .collect()
            }
        }
    }

    async fn keep(&self, sent: SentSms) -> Result<(), DbError> {
        match &self.outbox {
            Outbox::Memory(outbox) => {
                let mut outbox = outbox.lock().unwrap_or_else(PoisonError::into_inner);
                if outbox.len() >= OUTBOX_SIZE {
                    outbox.pop_front();
                }
                outbox.push_back(sent);
                Ok(())
            }
            Outbox::Postgres(pg) => {
                pg.client()
                    .await?
                    .execute(
                        "INSERT INTO dev_sms (sent_at, to_masked, payment, body)
                         VALUES ($1, $2, $3, $4)",
                        &[
                            &bigint(sent.sent_at.as_unix_millis())?,
                            &sent.to,
                            &sent.payment.to_string(),
                            &sent.body.as_str(),
                        ],
                    )
                    .await?;
                Ok(())
            }
        }
    }
}

impl SmsGateway for ConsoleSms {
    async fn send(&self, sms: &SmsMessage) -> Result<(), SmsError> {
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(SmsError::Unavailable);
        }
        let sent = SentSms {
            sent_at: self.clock.now(),
            to: sms.to().masked(),
            payment: sms.payment_id(),
            body: Zeroizing::new(sms.body().to_owned()),
        };
        if self.print {
            println!(
                "SMS to {} (payment {}): {}",
                sent.to, sent.payment, *sent.body
            );
        }
        self.keep(sent).await.map_err(|error| {
            eprintln!("error: keeping an SMS in the outbox: {error}");
            SmsError::Unavailable
        })
    }
}
