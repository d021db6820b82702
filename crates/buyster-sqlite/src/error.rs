//! Why a store could not be opened, and why one of its calls failed.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Why [`SqliteStore::open`](crate::SqliteStore::open) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The database file could not be created or found.
    #[error("database file {path}: {source}")]
    File {
        /// The path given.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The file's schema is newer than this crate knows: it was migrated by a later release.
    #[error("the database's schema is version {found}, this release knows up to {known}")]
    NewerSchema {
        /// `PRAGMA user_version` of the file.
        found: u32,
        /// [`SCHEMA_VERSION`](crate::SCHEMA_VERSION).
        known: u32,
    },
    /// SQLite would not put the file in WAL mode (it answered with this journal mode).
    #[error("sqlite kept the journal mode {0}, not wal")]
    NotWal(String),
    /// SQLite refused to open, configure or migrate the file.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The writer or a reader thread could not be started.
    #[error("could not start a store thread: {0}")]
    Thread(#[source] io::Error),
}

/// What went wrong in a call, boxed into a [`buyster::StoreError`]. SQLite's error is shared
/// (an [`Arc`]) when one failure answers every write of a group.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// The write transaction could not begin: nothing of the group was written.
    #[error("sqlite did not begin the write transaction, nothing was written: {0}")]
    Begin(#[source] Arc<rusqlite::Error>),
    /// `COMMIT` failed.
    #[error("sqlite failed the commit: {0}")]
    Commit(#[source] Arc<rusqlite::Error>),
    /// A stored value is not one the schema allows.
    #[error("unexpected stored value in {0}")]
    Corrupt(&'static str),
    /// A reader failed.
    #[error("sqlite failed the read: {0}")]
    Read(#[source] rusqlite::Error),
    /// Every reader thread has stopped.
    #[error("the store's reader threads have stopped")]
    ReadersStopped,
    /// SQLite rolled the whole transaction back after an error in one write of the group.
    #[error("sqlite rolled the write transaction back: {0}")]
    RolledBack(#[source] Arc<rusqlite::Error>),
    /// One write failed, and was rolled back to its savepoint.
    #[error("sqlite failed the write: {0}")]
    Statement(#[source] rusqlite::Error),
    /// The writer thread took the write and stopped before answering.
    #[error("the store's writer thread stopped before answering; the write may have been applied")]
    Unanswered,
    /// The writer answered a put without its version.
    #[error("the store's writer answered a put without a version")]
    Unversioned,
    /// The writer thread has stopped: the write was not taken.
    #[error("the store's writer thread has stopped, nothing was written")]
    WriterStopped,
}

impl Failure {
    /// The failure as a [`buyster::StoreError::Backend`].
    pub(crate) fn backend(self) -> buyster::StoreError {
        buyster::StoreError::Backend(Box::new(self))
    }

    /// The failure as a [`buyster::StoreError::Unavailable`]: nothing was written.
    pub(crate) fn unavailable(self) -> buyster::StoreError {
        buyster::StoreError::Unavailable(Box::new(self))
    }
}
