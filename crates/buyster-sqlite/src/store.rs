//! [`SqliteStore`]: buyster's [`Store`] on an SQLite file, with one writer thread.

use core::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

use buyster::{
    Due, Entry, Key, KeyedWrite, Outboxed, Store, StoreError, Timestamp, Version, Write,
};
use futures_channel::oneshot;

use crate::error::{Failure, OpenError};
use crate::options::Options;
use crate::reader::{self, Read, Reply};
use crate::registry::{self, Threads};
use crate::schema;
use crate::stats::{Counters, Stats};
use crate::writer::{self, Op, Request, sql_integer};

/// A [`Store`] on an SQLite file in WAL mode: every write goes through one writer thread,
/// which commits all the writes queued when it wakes in one transaction; reads go to a few
/// read-only connections, which never wait for it.
///
/// Cheap to clone: every clone is a handle on the same threads. Opening a file already open in
/// this process gives another handle on its store, so one file never has two writers. The
/// threads stop, and the connections close, when the last handle is dropped (the drop waits
/// for the group being committed, if any).
///
/// # Errors
///
/// [`StoreError::Conflict`] when a version is not the expected one. [`StoreError::Unavailable`]
/// when nothing was written: the writer thread has stopped, or SQLite did not begin the
/// transaction (another process holding the file's write lock, for one: the store does not
/// wait for it). [`StoreError::Backend`] for an SQLite error after the transaction began, a
/// failed commit included: SQLite then reports the transaction rolled back, but in WAL mode
/// its frames may have reached the log before the failing sync, and a crash recovery could
/// find them, so the write is not known unwritten. [`StoreError::OutcomeUnknown`] when the
/// writer took the write and stopped before answering.
///
/// # Examples
///
/// ```
/// use buyster::{Key, Store, Write, testkit::block_on};
/// use buyster_sqlite::SqliteStore;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open(dir.path().join("payments.db"))?;
/// let key = Key::for_testing("greeting");
/// let version = block_on(store.put(&key, None, Write::new(b"hello".to_vec())))?;
/// let entry = block_on(store.get(&key))?.ok_or("the write is lost")?;
/// assert_eq!((entry.version(), entry.value()), (version, &b"hello"[..]));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    shared: Arc<Shared>,
}

impl SqliteStore {
    /// Opens the store in the SQLite file at `path`, with [`Options::default`]: creates the
    /// file if needed (mode 0600 on Unix: records hold phone numbers and bank accounts; SQLite
    /// gives its `-wal` and `-shm` files the same mode), switches it to WAL mode, runs the [migrations](crate::MIGRATIONS) it has
    /// not had, and starts the writer and the readers. If the file is already open in this
    /// process, returns a handle on that store.
    ///
    /// # Errors
    ///
    /// [`OpenError`]: the file cannot be created or opened, its schema is newer than this
    /// release, SQLite fails, or a thread cannot be started.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_with(path, &Options::default())
    }

    /// Like [`SqliteStore::open`], with `options`. A file already open in this process keeps
    /// the options it was opened with.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`].
    pub fn open_with(path: impl AsRef<Path>, options: &Options) -> Result<Self, OpenError> {
        let shared = registry::open(path.as_ref(), options, Shared::start)?;
        Ok(Self { shared })
    }

    /// The file's canonical path.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.shared.path()
    }

    /// What the writer has done since the file was opened: writes, groups, commits.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }
}

impl Store for SqliteStore {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        let key = key.as_str().to_owned();
        self.shared.read(|reply| Read::Get { key, reply }).await
    }

    async fn put(
        &self,
        key: &Key,
        expected: Option<Version>,
        write: Write,
    ) -> Result<Version, StoreError> {
        let op = Op::Put {
            key: key.as_str().to_owned(),
            expected,
            write,
        };
        let versions = self.shared.write(op).await?;
        versions
            .first()
            .copied()
            .ok_or_else(|| Failure::Unversioned.backend())
    }

    async fn due(&self, until: Timestamp, limit: usize) -> Result<Vec<Due>, StoreError> {
        let until = sql_integer(until.as_unix_millis());
        let limit = sql_integer(u64::try_from(limit).unwrap_or(u64::MAX));
        self.shared
            .read(|reply| Read::Due {
                until,
                limit,
                reply,
            })
            .await
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<Outboxed>, StoreError> {
        let limit = sql_integer(u64::try_from(limit).unwrap_or(u64::MAX));
        self.shared
            .read(|reply| Read::Outbox { limit, reply })
            .await
    }

    async fn acknowledge(&self, seqs: &[u64]) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        self.shared
            .write(Op::Acknowledge(seqs.to_vec()))
            .await
            .map(drop)
    }

    /// Supported: the batch is applied in a savepoint of its own inside the writer's group,
    /// so a conflict rolls back this batch only.
    async fn put_together(
        &self,
        writes: Vec<KeyedWrite>,
    ) -> Option<Result<Vec<Version>, StoreError>> {
        if writes.is_empty() {
            return Some(Ok(Vec::new()));
        }
        Some(self.shared.write(Op::Together(writes)).await)
    }

    /// Supported: the row is deleted in a savepoint of its own inside the writer's group, and
    /// the highest version removed is kept in the file, so that a key created again starts
    /// above every version it had.
    async fn remove(&self, key: &Key, expected: Version) -> Option<Result<(), StoreError>> {
        let op = Op::Remove {
            key: key.as_str().to_owned(),
            expected,
        };
        Some(self.shared.write(op).await.map(drop))
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.shared.path)
            .field("stats", &self.stats())
            .finish()
    }
}

/// What every handle on a file shares: the queues to the threads, and the threads.
pub(crate) struct Shared {
    path: PathBuf,
    writes: Sender<Request>,
    reads: Sender<Read>,
    counters: Arc<Counters>,
    // Last, so that it is dropped after the senders above: the threads see their queues
    // closed, finish, and are joined.
    threads: Threads,
}

impl Shared {
    /// Opens the writer's connection (creating and migrating the file) and the readers', and
    /// starts a thread for each.
    fn start(path: &Path, options: &Options) -> Result<Self, OpenError> {
        // Declared before the channels, so that on an early return the senders are dropped
        // first and the threads already started end before they are joined.
        let mut threads = Threads::default();
        let writer = schema::open_writer(path)?;
        let path = std::fs::canonicalize(path).map_err(|source| OpenError::File {
            path: path.to_owned(),
            source,
        })?;
        let readers = (0..options.reader_count())
            .map(|_| schema::open_reader(&path))
            .collect::<Result<Vec<_>, _>>()?;
        let counters = Arc::new(Counters::default());
        let (writes, write_queue) = mpsc::channel();
        let (reads, read_queue) = mpsc::channel();
        let max_group = options.group_limit();
        let counted = Arc::clone(&counters);
        threads.spawn("buyster-sqlite-writer", move || {
            writer::run(writer, &write_queue, max_group, &counted);
        })?;
        let read_queue = Arc::new(Mutex::new(read_queue));
        for connection in readers {
            let queue = Arc::clone(&read_queue);
            threads.spawn("buyster-sqlite-reader", move || {
                reader::run(&connection, &queue);
            })?;
        }
        Ok(Self {
            path,
            writes,
            reads,
            counters,
            threads,
        })
    }

    /// The file's canonical path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) const fn threads(&self) -> &Threads {
        &self.threads
    }

    /// Hands `op` to the writer and waits for its answer.
    async fn write(&self, op: Op) -> Result<Vec<Version>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writes
            .send(Request { op, reply })
            .map_err(|_| Failure::WriterStopped.unavailable())?;
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::OutcomeUnknown(Box::new(Failure::Unanswered))))
    }

    /// Hands a read to the readers and waits for its answer.
    async fn read<T>(&self, read: impl FnOnce(Reply<T>) -> Read) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.reads
            .send(read(reply))
            .map_err(|_| Failure::ReadersStopped.unavailable())?;
        answer
            .await
            .unwrap_or_else(|_| Err(Failure::ReadersStopped.unavailable()))
    }
}
