//! The databases of the server's own tables (the bank's ledger, the merchant's index): SQLite
//! connections opened in WAL mode and used from the async server without blocking it, or a
//! pool on PostgreSQL. (The engine's store is `buyster_sqlite`'s or `buyster_postgres`'s.)

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
    /// PostgreSQL refused or failed the call.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had.
    #[error("postgres pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A stored value is not what the schema allows.
    #[error("unexpected stored value in {0}")]
    Corrupt(&'static str),
    /// The database file could not be created.
    #[error("database file: {0}")]
    File(#[from] std::io::Error),
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
    /// Opens (creating it if needed, readable by its owner only) the database at `path` in WAL
    /// mode, and runs `schema`.
    ///
    /// WAL lets readers go on while a write commits; `synchronous` stays at its default
    /// (`FULL`), so that a write reported committed survives a power cut: this is payment data.
    pub fn open(path: &Path, schema: &str) -> Result<Self, DbError> {
        super::files::create_private(path)?;
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

/// A pool of PostgreSQL connections for the server's own tables (the bank's ledger, the index,
/// the development SMS outbox) when it runs on PostgreSQL: several server processes then share
/// them, each table written in transactions of its own.
#[derive(Clone)]
pub struct Pg {
    pool: deadpool_postgres::Pool,
}

/// Every server creates its tables under this advisory lock: two starting together on one
/// database do not race to create the same table.
const SCHEMA_LOCK: i64 = 0x0062_7579_7374_6572;

impl Pg {
    /// A pool on the database at `url` (`postgresql://…` or `key=value …`), checked by taking
    /// one connection.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        let config: tokio_postgres::Config = url.parse()?;
        let manager = deadpool_postgres::Manager::from_config(
            config,
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(|_| DbError::Corrupt("the PostgreSQL pool settings"))?;
        drop(pool.get().await?);
        Ok(Self { pool })
    }

    /// Runs `schema` (statements that create what is missing) in one transaction under the
    /// schema lock.
    pub async fn ensure(&self, schema: &str) -> Result<(), DbError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await?;
        transaction.batch_execute(schema).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// A connection of the pool.
    pub async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        Ok(self.pool.get().await?)
    }
}

/// A count or an amount as PostgreSQL's `BIGINT`.
pub fn bigint(value: u64) -> Result<i64, DbError> {
    i64::try_from(value).map_err(|_| DbError::Corrupt("a number beyond BIGINT"))
}

/// A stored `BIGINT` that must not be negative.
pub fn unsigned(value: i64, table: &'static str) -> Result<u64, DbError> {
    u64::try_from(value).map_err(|_| DbError::Corrupt(table))
}
