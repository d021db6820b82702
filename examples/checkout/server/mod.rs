//! A merchant's checkout server on buyster: SQLite for the engine's records (the
//! `buyster-sqlite` crate), the demo bank's ledger and the merchant's index, or one PostgreSQL
//! database for all of them (`--postgres`, the `buyster-postgres` crate), a console SMS
//! gateway, a JSON API for a merchant's own front end, HTML checkout pages, a recovery task and
//! signed webhooks.
//!
//! ```text
//! server/
//!   mod.rs       App (the shared state) and Server (open, route, serve)
//!   config.rs    flags and environment variables
//!   keyfile.rs   the master key from the environment or a 0600 key file
//!   keyid.rs     the key's public id, kept in the engine's database: another key refuses to
//!                start (keyid/place.rs: reading and writing it in SQLite or PostgreSQL)
//!   files.rs     the SQLite files: created 0600, checked whole at start, moved aside
//!   watch.rs     stops the server when an SQLite file is removed or replaced under it
//!   databases.rs the databases opened at start: SQLite files, or one PostgreSQL database
//!   store.rs     CheckoutStore: the engine's store, SqliteStore or PostgresStore
//!   db.rs        SQLite connections in WAL mode for the bank and the index, called off the
//!                executor's threads; Pg, a connection pool for the same tables on PostgreSQL
//!   bank/        DemoBank: a demo ledger honouring idempotency keys, debits and refunds
//!                (mod.rs and refund.rs on SQLite, postgres.rs on PostgreSQL)
//!   sms.rs       ConsoleSms: prints each SMS and keeps it for /dev/sms (in memory, or in
//!                PostgreSQL so that every server shows every code)
//!   clock.rs     ServerClock: the wall clock (tests move it forward)
//!   index.rs     the merchant's own tables: merchants, and the counter of order numbers
//!   seed.rs      the demo merchant, buyer(s) and basket
//!   http/        the accept loop on hyper and its bounds: a request's head, its body, the
//!                handler's time, the connections open at once (request.rs: the middleware
//!                that reads the body and times the handler)
//!   input.rs     parsing what buyers and merchants send
//!   flow.rs      the buyer's steps, shared by the API and the pages
//!   origin.rs    the layer refusing state-changing requests that another site's page sent
//!                (Origin, Sec-Fetch-Site), on the API and the pages
//!   limits/      the abuse limits, in memory: payments per client and per number, open
//!                payments per client, wrong PINs per client and per session and their
//!                numbers (client.rs: who the client is, trusted proxies; table.rs: the
//!                bounded table of sliding windows; settings.rs: their flags)
//!   webhook/     the engine's durable events POSTed to the merchant's URL, signed
//!                (signature.rs: signing; verify.rs: verify_webhook, for receivers;
//!                delivery.rs: the task, with backoff; secret.rs: the secret's file)
//!   recovery.rs  the task that finishes the engine's due work (Engine::recover_due): settles
//!                authorized payments, fails expired ones
//!   api/         the JSON API
//!   pages/       the HTML pages (checkout, and the development pages)
//! ```
//!
//! Abuse limits (`limits/`) stand before the engine: payments per client (its IP address, an
//! IPv6 one by its /64) and per number, unfinished payments per client, and wrong PINs per
//! client and per browser session, and the numbers they were for, so that one client can
//! lock out only a few buyers an hour (`max_pin_failures` wrong PINs lock a number, whoever
//! sends them). What is left (many addresses lock out many more) is the host's to undo: an
//! unlock through a code sent by SMS to the number, or `engine.back_office().unlock`. The
//! counts are in memory, per process; see DEPLOYMENT.md.
//!
//! On SQLite, three files, each with one writer: the engine's store (`checkout.db`), whose
//! writes all go through the store's writer thread, the bank's ledger (`checkout.bank.db`) and
//! the index (`checkout.index.db`), each written through its single connection: one server
//! process at a time. On PostgreSQL, the store's tables in the schema `buyster` and the
//! server's own (`bank_ledger`, `bank_calls`, `bank_refunds`, `merchants`, `counters`,
//! `dev_sms`) beside them, each created if missing under an advisory lock: any number of
//! server processes share them, each step a transaction or a compare-and-swap.
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
mod databases;
mod db;
mod files;
mod flow;
pub mod http;
mod index;
mod input;
pub mod keyfile;
pub mod keyid;
pub mod limits;
mod origin;
mod pages;
mod recovery;
pub mod seed;
mod sms;
mod store;
mod watch;
pub mod webhook;

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use buyster::{Engine, Keys, Policy, SecretKey};
use tokio::net::TcpListener;

pub use bank::DemoBank;
pub use clock::ServerClock;
pub use config::{Command, Config};
pub use keyfile::KeyOrigin;
pub use keyid::KeyCheck;
pub use sms::ConsoleSms;
pub use store::CheckoutStore;
pub use webhook::{SecretOrigin, WebhookSender};

/// The engine on the server's host: SQLite store, console SMS, demo bank, wall clock.
pub type CheckoutEngine = Engine<CheckoutStore, ConsoleSms, DemoBank, ServerClock>;

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
    pub bank: DemoBank,
    /// The SMS outbox, for its page.
    pub sms: ConsoleSms,
    /// The server's clock.
    pub clock: ServerClock,
    /// The abuse limits, and what they remember.
    pub limiter: limits::Limiter,
    /// Signs the pages' anti-forgery tokens.
    csrf: pages::CsrfKey,
    /// Whether the development pages are served.
    dev_pages: bool,
    /// Whether browsers reach the server over HTTPS: the session cookie's name and flags, and
    /// the scheme of this server's own `Origin`.
    https: bool,
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
    /// The key's id, and whether the database was started new.
    pub key_check: KeyCheck,
}

/// The server: cheap to clone, each clone a handle on the same [`App`].
#[derive(Clone)]
pub struct Server {
    app: Arc<App>,
    recovery_every: std::time::Duration,
    webhook: Option<(Arc<WebhookSender>, webhook::Schedule)>,
    limits: http::Limits,
    watch: Arc<watch::Watch>,
}

impl Server {
    /// Checks the SQLite files whole and the key's id against the database's (see [`keyid`]),
    /// opens the database (creating it and the key file on first start), builds the engine
    /// (keeping its events durable when they go to a webhook) and seeds the demo merchant and
    /// buyer. Says where the master key and the webhook secret came from.
    pub async fn open(mut config: Config) -> Result<(Self, Origins), StartError> {
        config.check()?;
        let https = config.uses_https();
        let (master, origin) = match config.master_key.take() {
            Some(key) => (key, KeyOrigin::Environment),
            None => keyfile::read_or_generate(&keyfile::key_file_of(&config.db))?,
        };
        let key_check = keyid::check(&config, &master, &origin).await?;
        if let KeyOrigin::NewFile(path) = &origin {
            keyfile::write_new(path, &master)?;
        }
        let clock = ServerClock::default();
        let limiter = limits::Limiter::new(config.limits.clone(), config.policy.payment_ttl);
        let databases = databases::Databases::open(&config, &clock).await?;
        let watch = match config.postgres {
            Some(_) => watch::Watch::none(),
            None => watch::Watch::new(
                &[config.db.clone(), config.bank_db(), config.index_db()],
                config.watch_every,
            )?,
        };
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
            .store(databases.store)
            .sms(databases.sms.clone())
            .bank(databases.bank.clone())
            .clock(clock.clone())
            .policy(config.policy);
        if webhook.is_some() {
            engine = engine.durable_events();
        }
        let engine = engine.build()?;
        let app = App {
            engine,
            index: databases.index,
            bank: databases.bank,
            sms: databases.sms,
            clock,
            limiter,
            csrf,
            dev_pages: config.dev_pages,
            https,
        };
        seed::seed(&app, config.demo_buyers).await?;
        let server = Self {
            app: Arc::new(app),
            recovery_every: config.recovery_every,
            webhook,
            limits: config.http,
            watch: Arc::new(watch),
        };
        let origins = Origins {
            key: origin,
            webhook_secret: webhook_origin,
            key_check,
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

    /// Every route: the JSON API under `/api`, the pages, the development pages if enabled;
    /// each request's body read within its bounds first (see [`http::request`]).
    pub fn router(&self) -> Router {
        let bounds = http::request::Bounds {
            max_body: MAX_BODY_BYTES,
            body_timeout: self.limits.body_timeout,
            handler_timeout: self.limits.handler_timeout,
        };
        let mut router = Router::new()
            .nest("/api", api::router())
            .merge(pages::router());
        if self.app.dev_pages {
            router = router.merge(pages::dev_router());
        }
        router
            .fallback(pages::not_found)
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&self.app),
                origin::refuse_cross_site,
            ))
            .layer(axum::middleware::from_fn_with_state(
                bounds,
                http::request::bounded,
            ))
            .layer(axum::middleware::map_response(pages::security_headers))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(Arc::clone(&self.app))
    }

    /// Serves on `listener` within the connection bounds of [`Config::http`], with the
    /// recovery task running beside, until `shutdown` completes; or until an SQLite file is
    /// removed or replaced, and then answers the error.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let recovery = tokio::spawn(recovery::run(Arc::clone(&self.app), self.recovery_every));
        let delivery = self.webhook.clone().map(|(sender, schedule)| {
            tokio::spawn(webhook::run(Arc::clone(&self.app), sender, schedule))
        });
        let (mut vanished, stop) = watch::stop_on_vanish(Arc::clone(&self.watch), shutdown);
        let served = http::serve(listener, self.router(), self.limits, stop).await;
        // Stopping the task between two steps is safe: every step is a compare-and-swap, and
        // the next run picks up where this one stopped.
        recovery.abort();
        if let Some(delivery) = delivery {
            // An event handed on but not yet removed is handed on again next time, under its
            // id: the receiver drops the copy.
            delivery.abort();
        }
        match vanished.try_recv() {
            Ok(vanished) => Err(io::Error::other(vanished)),
            Err(_) => served,
        }
    }
}

/// The master key's bytes, for deriving the server's own keys. Kept here so that only this
/// module and `keyfile` touch key material.
fn master_bytes(key: &SecretKey) -> &[u8; 32] {
    key.expose_secret()
}
