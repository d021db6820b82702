//! [`PostgresStore`]: the engine's [`Store`] on two PostgreSQL tables.

use core::fmt;
use core::future::Future;
use std::sync::Arc;
use std::time::Duration;

use buyster::{
    Due, Entry, Key, KeyedWrite, Outboxed, Store, StoreError, Timestamp, Version, Write,
};
use deadpool_postgres::{Client, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio::runtime::Handle;
use tokio_postgres::NoTls;

use crate::calls;
use crate::errors::{self, Abandoned, SetupError};
use crate::schema::{self, Schema, Statements};

/// The connections of the pool [`PostgresStore::connect`] makes.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long a call waits for a connection, or for a new one to be made, before it fails with
/// [`StoreError::Unavailable`].
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Store`] on PostgreSQL: the records in `<schema>.records`, the events in
/// `<schema>.outbox`, through a [`deadpool_postgres`] pool.
///
/// Each `put` is one statement, sent and committed in one round trip: a compare-and-swap on
/// the record's version that appends the write's events to the outbox when, and only when,
/// it changed the row. [`Store::put_together`] runs such statements in one transaction.
///
/// The store's work runs on the tokio runtime it was made on (its [`Handle`]), so its futures
/// can be polled by any executor, as the conformance kit's `block_on` does; that runtime must
/// outlive the store. A call whose future is dropped still finishes on that runtime: a write
/// is never cut off halfway through its statement.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
    runtime: Handle,
}

struct Inner {
    pool: Pool,
    schema: Schema,
    statements: Statements,
}

/// What a call that never finished on the runtime tells its caller.
#[derive(Clone, Copy)]
enum Call {
    Read,
    Write,
}

impl PostgresStore {
    /// A store in `schema` of the database `pool` connects to, doing its work on `runtime`.
    /// Nothing is sent: the tables must exist (see [`PostgresStore::migrate`]).
    #[must_use]
    pub fn new(pool: Pool, schema: Schema, runtime: Handle) -> Self {
        let statements = Statements::new(&schema);
        Self {
            inner: Arc::new(Inner {
                pool,
                schema,
                statements,
            }),
            runtime,
        }
    }

    /// Connects to the database of `url` (a `postgresql://` URL or a `key=value` string,
    /// without TLS) through a pool of [`DEFAULT_POOL_SIZE`] connections, makes the store's
    /// tables in `schema` where they are missing, and returns the store, working on the
    /// current tokio runtime.
    ///
    /// # Errors
    ///
    /// When not called on a tokio runtime, the URL is invalid, the server cannot be reached,
    /// or the migration fails.
    pub async fn connect(url: &str, schema: Schema) -> Result<Self, SetupError> {
        let runtime = Handle::try_current().map_err(|_| SetupError::NoRuntime)?;
        let pool = pool(url, DEFAULT_POOL_SIZE)?;
        Self::migrate(&pool, &schema).await?;
        Ok(Self::new(pool, schema, runtime))
    }

    /// Makes the schema (when it does not exist), the tables and the due index where they are
    /// missing; leaves them as they are otherwise, data included. Safe to run at every start,
    /// from any number of instances at once: it is one transaction, holding an advisory lock
    /// (`pg_advisory_xact_lock`) for its duration.
    ///
    /// Must be awaited on a tokio runtime (the pool makes its connection there).
    ///
    /// # Errors
    ///
    /// When no connection can be had, or a statement fails (a role without the right to
    /// create the schema or the tables, for example).
    pub async fn migrate(pool: &Pool, schema: &Schema) -> Result<(), SetupError> {
        schema::migrate(pool, schema).await
    }

    /// The store's connection pool.
    #[must_use]
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// The schema of the store's tables.
    #[must_use]
    pub fn schema(&self) -> &Schema {
        &self.inner.schema
    }

    /// Runs `work` on the store's runtime and waits for it.
    async fn run<T: Send + 'static>(
        &self,
        call: Call,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        match self.runtime.spawn(work).await {
            Ok(result) => result,
            Err(error) if error.is_panic() => Err(StoreError::backend(Abandoned(error))),
            // Cancelled: the runtime shut down, maybe with the statement sent.
            Err(error) => Err(match call {
                Call::Read => StoreError::Unavailable(Box::new(Abandoned(error))),
                Call::Write => StoreError::OutcomeUnknown(Box::new(Abandoned(error))),
            }),
        }
    }
}

/// A pool of at most `size` connections to the database of `url`, without TLS: it checks
/// that a connection is still open before handing it out, and waits at most 5 seconds for
/// one.
///
/// # Errors
///
/// When `url` cannot be read or the pool cannot be built.
pub fn pool(url: &str, size: usize) -> Result<Pool, SetupError> {
    let config: tokio_postgres::Config = url.parse().map_err(SetupError::Config)?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(CONNECTION_TIMEOUT))
        .create_timeout(Some(CONNECTION_TIMEOUT))
        .recycle_timeout(Some(CONNECTION_TIMEOUT))
        .build()
        .map_err(SetupError::Pool)
}

impl Store for PostgresStore {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        let (inner, key) = (Arc::clone(&self.inner), key.as_str().to_owned());
        self.run(Call::Read, async move {
            let client = connection(&inner).await?;
            let result = calls::get(&client, &inner.statements, &key).await;
            settle(client, result)
        })
        .await
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: Write,
    ) -> Result<Version, StoreError> {
        let (inner, key) = (Arc::clone(&self.inner), key.as_str().to_owned());
        self.run(Call::Write, async move {
            let client = connection(&inner).await?;
            let result = calls::put(&client, &inner.statements, &key, expected, &write).await;
            settle(client, result)
        })
        .await
    }

    async fn due(&self, until: Timestamp, limit: usize) -> Result<Vec<Due>, StoreError> {
        let inner = Arc::clone(&self.inner);
        self.run(Call::Read, async move {
            let client = connection(&inner).await?;
            let result = calls::due(&client, &inner.statements, until, limit).await;
            settle(client, result)
        })
        .await
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<Outboxed>, StoreError> {
        let inner = Arc::clone(&self.inner);
        self.run(Call::Read, async move {
            let client = connection(&inner).await?;
            let result = calls::outbox(&client, &inner.statements, limit).await;
            settle(client, result)
        })
        .await
    }

    async fn acknowledge(&self, seqs: &[u64]) -> Result<(), StoreError> {
        // A number beyond bigint was never given.
        let seqs: Vec<i64> = seqs.iter().filter_map(|s| i64::try_from(*s).ok()).collect();
        if seqs.is_empty() {
            return Ok(());
        }
        let inner = Arc::clone(&self.inner);
        self.run(Call::Write, async move {
            let client = connection(&inner).await?;
            let result = calls::acknowledge(&client, &inner.statements, &seqs).await;
            settle(client, result)
        })
        .await
    }

    async fn put_together(
        &self,
        writes: Vec<KeyedWrite>,
    ) -> Option<Result<Vec<Version>, StoreError>> {
        if writes.is_empty() {
            return Some(Ok(Vec::new()));
        }
        let inner = Arc::clone(&self.inner);
        let done = self.run(Call::Write, async move {
            let mut client = connection(&inner).await?;
            let result = calls::together(&mut client, &inner.statements, &writes).await;
            settle(client, result)
        });
        Some(done.await)
    }

    /// Supported: one `DELETE … WHERE key = $1 AND version = $2`. Versions come from the
    /// schema's sequence (an update takes the greater of it and the row's version + 1), so no
    /// two writes of the store share one, and a key removed and made again never gets a version
    /// it had.
    async fn remove(&self, key: &Key, expected: Version) -> Option<Result<(), StoreError>> {
        let (inner, key) = (Arc::clone(&self.inner), key.as_str().to_owned());
        let done = self.run(Call::Write, async move {
            let client = connection(&inner).await?;
            let result = calls::remove(&client, &inner.statements, &key, expected).await;
            settle(client, result)
        });
        Some(done.await)
    }
}

async fn connection(inner: &Inner) -> Result<Client, StoreError> {
    inner.pool.get().await.map_err(errors::no_connection)
}

/// Gives the connection back to the pool, unless the call found it cut off: then it is
/// dropped, so that no other call is handed a connection that is already dead.
fn settle<T>(client: Client, result: Result<T, StoreError>) -> Result<T, StoreError> {
    if matches!(
        result,
        Err(StoreError::Unavailable(_) | StoreError::OutcomeUnknown(_))
    ) {
        drop(Object::take(client));
    }
    result
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.inner.pool.status();
        f.debug_struct("PostgresStore")
            .field("schema", &self.inner.schema)
            .field("connections", &status.size)
            .field("max_connections", &status.max_size)
            .finish_non_exhaustive()
    }
}
