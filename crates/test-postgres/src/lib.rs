//! A real PostgreSQL for tests: one throwaway server per test process, and a fresh empty
//! database for each test that asks.
//!
//! ```no_run
//! use buyster_test_postgres::TestPostgres;
//!
//! # async fn test() {
//! let url = TestPostgres::shared().fresh_database().await;
//! let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
//!     .await
//!     .unwrap();
//! # drop((client, connection));
//! # }
//! ```
//!
//! # Where the server comes from
//!
//! - With `BUYSTER_TEST_POSTGRES_URL` set (a `postgresql://…` URL or a `key=value` string of
//!   a role allowed to `CREATE DATABASE`), that server is used, and the fresh databases are
//!   made on it. They are left there when the tests end: their names start with `t_`.
//! - Otherwise the first call to [`TestPostgres::shared`] starts one: the programs are looked
//!   up with `pg_config --bindir`, then in the newest `/usr/lib/postgresql/*/bin`, then on
//!   `PATH`. `initdb` makes a cluster in a new directory under the system's temporary
//!   directory (trust authentication, superuser `postgres`), and `pg_ctl` starts it on a free
//!   port of 127.0.0.1 (and a Unix socket in that directory), with `max_connections = 300`
//!   and the durability settings left at PostgreSQL's defaults (`fsync` and
//!   `synchronous_commit` on). PostgreSQL refuses to run as root: under root the directory
//!   is given to the user `postgres` and the programs run as that user (`runuser`).
//!
//! # How it stops
//!
//! A watchdog (`sh`, in a process group of its own so that a Ctrl-C of the tests does not
//! reach it) is started with the server and reads a pipe the test process holds. However the
//! test process ends, the kernel closes that pipe; the watchdog then stops the server
//! (`pg_ctl stop -m immediate`) and deletes its directory. A server from
//! [`TestPostgres::start`] is stopped the same way when it is dropped, and the drop waits for
//! it.
//!
//! # When PostgreSQL is missing
//!
//! Starting fails with a message naming the Debian package `postgresql` and `bash
//! scripts/test`, which installs it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::todo,
    clippy::unimplemented,
    clippy::indexing_slicing,
    clippy::float_arithmetic,
    clippy::arithmetic_side_effects,
    clippy::exhaustive_structs,
    clippy::exhaustive_enums
)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

mod database;
mod local;

use core::fmt;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use local::LocalServer;

/// The environment variable naming an existing server to use instead of starting one.
pub const URL_VARIABLE: &str = "BUYSTER_TEST_POSTGRES_URL";

/// A PostgreSQL server for tests: started here and thrown away, or the one named by
/// [`URL_VARIABLE`].
pub struct TestPostgres {
    /// The URL of the server's `postgres` database, for administration.
    url: String,
    /// The server started here; `None` when it is the environment's.
    local: Option<LocalServer>,
    /// Makes the names of this process's databases distinct from any other's.
    tag: u64,
    /// The number of databases made so far.
    made: AtomicU64,
}

impl TestPostgres {
    /// The test process's server, started on first use (or the one named by
    /// [`URL_VARIABLE`]). It lives until the process ends.
    ///
    /// # Panics
    ///
    /// When no server can be started: the message says why and what to install.
    #[allow(
        clippy::panic,
        reason = "a test harness fails the test by panicking, as assert! does"
    )]
    pub fn shared() -> &'static Self {
        static SHARED: OnceLock<TestPostgres> = OnceLock::new();
        SHARED.get_or_init(|| {
            let server = match std::env::var(URL_VARIABLE) {
                Ok(url) if !url.trim().is_empty() => Ok(Self::external(url)),
                Ok(_) | Err(_) => Self::start(),
            };
            server.unwrap_or_else(|error| panic!("{error}"))
        })
    }

    /// A server of the caller's own, started here whatever [`URL_VARIABLE`] says: for a test
    /// that stops it. Dropping it stops the server and deletes its files.
    ///
    /// # Errors
    ///
    /// When the PostgreSQL programs cannot be found or the server does not start; the error
    /// says what to install.
    pub fn start() -> Result<Self, StartError> {
        let local = LocalServer::start()?;
        Ok(Self {
            url: local.url("postgres"),
            local: Some(local),
            tag: process_tag(),
            made: AtomicU64::new(0),
        })
    }

    fn external(url: String) -> Self {
        Self {
            url,
            local: None,
            tag: process_tag(),
            made: AtomicU64::new(0),
        }
    }

    /// The URL of the server's `postgres` database, connected to as a superuser.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The directory of the server's cluster, when the server was started here.
    #[must_use]
    pub fn data_dir(&self) -> Option<&Path> {
        self.local.as_ref().map(LocalServer::data_dir)
    }

    /// The URL of a new, empty database (`CREATE DATABASE t_…`), for one test's use.
    ///
    /// The database is made over a connection of its own on a thread of its own, so this can
    /// be awaited on any executor, tokio's or not.
    ///
    /// # Panics
    ///
    /// When the database cannot be created.
    pub async fn fresh_database(&self) -> String {
        let (name, url) = self.next_database();
        database::create(self.url.clone(), name).await;
        url
    }

    /// [`TestPostgres::fresh_database`], blocking the calling thread until the database
    /// exists: for a test on plain threads. Do not call it on an async runtime's thread.
    ///
    /// # Panics
    ///
    /// When the database cannot be created.
    #[must_use]
    pub fn fresh_database_blocking(&self) -> String {
        let (name, url) = self.next_database();
        database::create_blocking(self.url.clone(), name);
        url
    }

    fn next_database(&self) -> (String, String) {
        let number = self.made.fetch_add(1, Ordering::Relaxed);
        let name = format!("t_{:016x}_{number}", self.tag);
        let url = database::with_database(&self.url, &name);
        (name, url)
    }
}

impl fmt::Debug for TestPostgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestPostgres")
            .field("url", &self.url)
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// A number that differs from one test process to the next (the hasher's keys are random).
fn process_tag() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::process::id())
}

/// Why a server could not be started.
#[derive(Debug)]
pub struct StartError {
    message: String,
}

impl StartError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the test PostgreSQL did not start: {}", self.message)
    }
}

impl std::error::Error for StartError {}
