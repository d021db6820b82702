//! SQLite connections for the bank's ledger and the merchant's index: opened in WAL mode, used
//! from the async server without blocking it. (The engine's store is `buyster_sqlite`'s.)

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

/// How long a connection waits for another one's write lock before giving up. Each file has
/// one [`Db`], so this only matters when a tool outside the server writes to it.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a database call failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite refused or failed the call.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The blocking task running the call was cancelled or panicked.
    #[error("database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A stored value is not what the schema allows.
    #[error("unexpected stored value in {0}")]
    Corrupt(&'static str),
}

/// One SQLite connection, shared by the clones of a component and used by one call at a time:
/// the only writer of its file.
///
/// Every call runs on tokio's blocking thread pool ([`tokio::task::spawn_blocking`]), so that
/// disk I/O never stalls the threads that serve requests. Outside a tokio runtime (a plain
/// thread polling a future, as `buyster::testkit::store_conformance` does) the call runs on the
/// calling thread instead: there is no executor to protect there.
#[derive(Clone)]
pub struct Db {
    connection: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating it if needed) the database at `path` in WAL mode, and runs `schema`.
    ///
    /// WAL lets readers go on while a write commits; `synchronous` stays at its default
    /// (`FULL`), so that a write reported committed survives a power cut: this is payment data.
    pub fn open(path: &Path, schema: &str) -> Result<Self, DbError> {
        let connection = Connection::open(path)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String =
            connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(DbError::Corrupt("journal_mode"));
        }
        connection.execute_batch(schema)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs `work` with the connection, off the async executor's threads.
    pub async fn call<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        let run = move || {
            // A panic in an earlier call leaves no half-done work behind: a transaction not
            // committed is rolled back when dropped. The connection itself is still sound.
            let mut connection = connection.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut connection)
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime.spawn_blocking(run).await?,
            Err(_) => run(),
        }
    }
}
