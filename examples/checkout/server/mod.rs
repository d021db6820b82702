//! A merchant's checkout server on buyster: SQLite for the engine's records (the
//! `buyster-sqlite` crate), the demo bank's ledger and the merchant's index, a console SMS
//! gateway, a JSON API for a merchant's own front end, HTML checkout pages, and a recovery
//! task.
//!
//! ```text
//! server/
//!   mod.rs       App (the shared state) and Server (open, route, serve)
//!   config.rs    flags and environment variables
//!   keyfile.rs   the master key from the environment or a 0600 key file
//!   db.rs        SQLite connections in WAL mode for the bank and the index, called off the
//!                executor's threads (the engine's store is buyster_sqlite::SqliteStore)
//!   bank/        SqliteBank: a demo ledger honouring idempotency keys, debits and refunds
//!   sms.rs       ConsoleSms: prints each SMS and keeps it for /dev/sms
//!   clock.rs     ServerClock: the wall clock (tests move it forward)
//!   index.rs     the merchant's own tables: merchants, and the counter of order numbers
//!
//! Three SQLite files, each with one writer: the engine's store (`checkout.db`), whose writes
//! all go through the store's writer thread, the bank's ledger (`checkout.bank.db`) and the
//! index (`checkout.index.db`), each written through its single connection. Sharing one file
//! would put two writers on it, waiting on each other's lock.
//!   seed.rs      the demo merchant, buyer and basket
//!   input.rs     parsing what buyers and merchants send
//!   flow.rs      the buyer's steps, shared by the API and the pages
//!   webhook/     the engine's durable events POSTed to the merchant's URL, signed
//!                (signature.rs: signing, and verify_webhook for receivers; delivery.rs:
//!                the task, with backoff; secret.rs: the secret's file)
//!   recovery.rs  the task that finishes the engine's due work (Engine::recover_due): settles
//!                authorized payments, fails expired ones
//!   api/         the JSON API
//!   pages/       the HTML pages (checkout, and the development pages)
//! ```
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::todo,
    clippy::unimplemented,
    clippy::indexing_slicing
)]

mod api;
pub mod bank;
mod clock;
pub mod config;
mod db;
mod flow;
mod index;
mod input;
pub mod keyfile;
mod pages;
mod recovery;
pub mod seed;
mod sms;
pub mod webhook;

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use buyster::{Engine, Keys, Policy, SecretKey};
use tokio::net::TcpListener;

pub use bank::SqliteBank;
pub use buyster_sqlite::SqliteStore;
pub use clock::ServerClock;
pub use config::{Command, Config};
pub use keyfile::KeyOrigin;
pub use sms::ConsoleSms;
pub use webhook::{SecretOrigin, WebhookSender};

/// The engine on the server's host: SQLite store, console SMS, demo bank, wall clock.
pub type CheckoutEngine = Engine<SqliteStore, ConsoleSms, SqliteBank, ServerClock>;

/// The largest request body accepted: JSON requests are a few hundred bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// Why the server could not start.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// Everything a request handler needs, shared by all of them.
pub struct App {
    /// The checkout engine.
    pub engine: CheckoutEngine,
    /// The merchant's own records.
    pub index: index::Index,
    /// The demo bank, for the ledger page.
    pub bank: SqliteBank,
    /// The SMS outbox, for its page.
    pub sms: ConsoleSms,
    /// The server's clock.
    pub clock: ServerClock,
    /// Signs the pages' anti-forgery tokens.
    csrf: pages::CsrfKey,
    /// Whether the development pages are served.
    dev_pages: bool,
}

impl App {
    /// The engine's policy.
    pub fn policy(&self) -> &Policy {
        self.engine.policy()
    }
}

/// Where the server's secrets came from, for its start-up message.
pub struct Origins {
    /// The master key's.
    pub key: KeyOrigin,
    /// The webhook secret's, when webhooks are on.
    pub webhook_secret: Option<SecretOrigin>,
}

/// The server: cheap to clone, each clone a handle on the same [`App`].
#[derive(Clone)]
pub struct Server {
    app: Arc<App>,
    recovery_every: std::time::Duration,
    webhook: Option<(Arc<WebhookSender>, webhook::Schedule)>,
}

impl Server {
    /// Opens the database (creating it and the key file on first start), builds the engine
    /// (keeping its events durable when they go to a webhook) and seeds the demo merchant and
    /// buyer. Says where the master key and the webhook secret came from.
    pub async fn open(mut config: Config) -> Result<(Self, Origins), StartError> {
        let (bank_db, index_db) = (config.bank_db(), config.index_db());
        let (master, origin) = match config.master_key.take() {
            Some(key) => (key, KeyOrigin::Environment),
            None => keyfile::read_or_create(&keyfile::key_file_of(&config.db))?,
        };
        let clock = ServerClock::default();
        let sms = ConsoleSms::new(clock.clone(), config.print_sms);
        let bank = SqliteBank::open(&bank_db, clock.clone())?;
        let csrf = pages::CsrfKey::derive(&master);
        let (webhook, webhook_origin) = match config.webhook_url.take() {
            Some(url) => {
                let (secret, origin) = match config.webhook_secret.take() {
                    Some(secret) => (secret, SecretOrigin::Environment),
                    None => webhook::read_or_create(&config.webhook_secret_file())?,
                };
                let sender =
                    WebhookSender::new(&url, secret, config.webhook_timeout, clock.clone())?;
                (
                    Some((Arc::new(sender), config.webhook_schedule)),
                    Some(origin),
                )
            }
            None => (None, None),
        };
        let mut engine = Engine::builder(Keys::new(1, master))
            .store(SqliteStore::open(&config.db)?)
            .sms(sms.clone())
            .bank(bank.clone())
            .clock(clock.clone())
            .policy(config.policy);
        if webhook.is_some() {
            engine = engine.durable_events();
        }
        let engine = engine.build()?;
        let app = App {
            engine,
            index: index::Index::open(&index_db)?,
            bank,
            sms,
            clock,
            csrf,
            dev_pages: config.dev_pages,
        };
        seed::seed(&app, config.demo_buyers).await?;
        let server = Self {
            app: Arc::new(app),
            recovery_every: config.recovery_every,
            webhook,
        };
        let origins = Origins {
            key: origin,
            webhook_secret: webhook_origin,
        };
        Ok((server, origins))
    }

    /// The shared state.
    #[allow(
        dead_code,
        reason = "the tests reach the engine and the clock through it"
    )]
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Every route: the JSON API under `/api`, the pages, the development pages if enabled.
    pub fn router(&self) -> Router {
        let mut router = Router::new()
            .nest("/api", api::router())
            .merge(pages::router());
        if self.app.dev_pages {
            router = router.merge(pages::dev_router());
        }
        router
            .fallback(pages::not_found)
            .layer(axum::middleware::map_response(pages::security_headers))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(Arc::clone(&self.app))
    }

    /// Serves on `listener`, with the recovery task running beside, until `shutdown`
    /// completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let recovery = tokio::spawn(recovery::run(Arc::clone(&self.app), self.recovery_every));
        let delivery = self.webhook.clone().map(|(sender, schedule)| {
            tokio::spawn(webhook::run(Arc::clone(&self.app), sender, schedule))
        });
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await;
        // Stopping the task between two steps is safe: every step is a compare-and-swap, and
        // the next run picks up where this one stopped.
        recovery.abort();
        if let Some(delivery) = delivery {
            // An event handed on but not yet removed is handed on again next time, under its
            // id: the receiver drops the copy.
            delivery.abort();
        }
        served
    }
}

/// The master key's bytes, for deriving the server's own keys. Kept here so that only this
/// module and `keyfile` touch key material.
fn master_bytes(key: &SecretKey) -> &[u8; 32] {
    key.expose_secret()
}
