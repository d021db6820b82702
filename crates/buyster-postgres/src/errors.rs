//! What a failure means for the write: the mapping of PostgreSQL's errors onto
//! [`StoreError`], and the errors of setting the store up.

use core::fmt;

use buyster::StoreError;
use deadpool_postgres::{BuildError, PoolError};
use tokio_postgres::error::{DbError, Severity, SqlState};

/// Why the store could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The connection string could not be read.
    #[error("the PostgreSQL connection string is invalid: {0}")]
    Config(#[source] tokio_postgres::Error),
    /// No connection could be made.
    #[error("no connection to PostgreSQL: {0}")]
    Connect(#[source] PoolError),
    /// A statement of the migration failed.
    #[error("the store's migration failed: {0}")]
    Migrate(#[source] tokio_postgres::Error),
    /// Not called on a tokio runtime, which the store's connections need.
    #[error("the PostgreSQL store must be set up on a tokio runtime")]
    NoRuntime,
    /// The pool could not be built.
    #[error("the connection pool could not be built: {0}")]
    Pool(#[source] BuildError),
    /// A schema name that is not 1 to 63 bytes of `a-z`, `0-9` and `_`, or starts with a digit.
    #[error("not a schema name the store accepts: {0:?}")]
    SchemaName(String),
}

/// A row the store cannot have written: a key the engine does not make, a negative number.
#[derive(Debug)]
pub(crate) struct CorruptRow {
    pub(crate) column: &'static str,
    pub(crate) what: &'static str,
}

impl fmt::Display for CorruptRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a corrupt row: {} holds {}", self.column, self.what)
    }
}

impl std::error::Error for CorruptRow {}

/// The store's work was lost with its runtime (shut down) or panicked.
#[derive(Debug, thiserror::Error)]
#[error("the store's task on its runtime did not finish: {0}")]
pub(crate) struct Abandoned(#[source] pub(crate) tokio::task::JoinError);

/// No connection from the pool: nothing was sent.
pub(crate) fn no_connection(error: PoolError) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// A failure before any write statement was sent, or inside a transaction that was never
/// committed: nothing was applied.
pub(crate) fn nothing_applied(error: tokio_postgres::Error) -> StoreError {
    if connection_lost(&error) {
        StoreError::Unavailable(Box::new(error))
    } else {
        StoreError::backend(error)
    }
}

/// A failed read: a lost connection is [`StoreError::Unavailable`] (reading again is safe).
pub(crate) fn of_read(error: tokio_postgres::Error) -> StoreError {
    nothing_applied(error)
}

/// A failure once a write statement, or the `COMMIT` of a transaction, was sent: a lost
/// connection is [`StoreError::OutcomeUnknown`]; any other error is [`StoreError::Backend`].
pub(crate) fn of_write(error: tokio_postgres::Error) -> StoreError {
    if connection_lost(&error) {
        StoreError::OutcomeUnknown(Box::new(error))
    } else {
        StoreError::backend(error)
    }
}

/// Whether the error ended the session: the socket closed or failed, or the server ended the
/// session (a `FATAL` or `PANIC` error, a connection exception of class 08, an
/// administrator's or a crash's shutdown, `pg_terminate_backend`).
fn connection_lost(error: &tokio_postgres::Error) -> bool {
    if let Some(db) = error.as_db_error() {
        return session_ended(db);
    }
    error.is_closed()
        || std::error::Error::source(error).is_some_and(|source| source.is::<std::io::Error>())
}

fn session_ended(db: &DbError) -> bool {
    let fatal = matches!(
        db.parsed_severity(),
        Some(Severity::Fatal | Severity::Panic)
    );
    let code = db.code();
    fatal
        || code.code().starts_with("08")
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
}
