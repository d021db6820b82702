//! One store per file in a process: opening a file already open gives a handle on the same
//! writer, so that two writers never meet on one file.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::{self, JoinHandle};

use crate::error::OpenError;
use crate::options::Options;
use crate::store::Shared;

/// The files open in this process.
static OPEN: Mutex<Vec<Opened>> = Mutex::new(Vec::new());

/// A file open in this process, and its store while a handle on it lives.
struct Opened {
    path: PathBuf,
    store: Weak<Shared>,
    closed: Arc<Closed>,
}

/// The store on the file at `path`: the one already open in this process if there is one,
/// otherwise a new one made by `start`. A store whose last handle was just dropped is waited
/// for, so that the new writer does not meet the old one. Files are told apart by their
/// canonical paths; the lock is held throughout, so two opens of one new file make one store.
pub(crate) fn open(
    path: &Path,
    options: &Options,
    start: impl FnOnce(&Path, &Options) -> Result<Shared, OpenError>,
) -> Result<Arc<Shared>, OpenError> {
    let mut open = lock(&OPEN);
    open.retain(|opened| !opened.closed.is_done());
    // A file that does not exist yet is open nowhere.
    if let Ok(canonical) = fs::canonicalize(path) {
        if let Some(at) = open.iter().position(|opened| opened.path == canonical) {
            let opened = open.swap_remove(at);
            if let Some(store) = opened.store.upgrade() {
                open.push(opened);
                return Ok(store);
            }
            opened.closed.wait();
        }
    }
    let store = Arc::new(start(path, options)?);
    open.push(Opened {
        path: store.path().to_owned(),
        store: Arc::downgrade(&store),
        closed: Arc::clone(&store.threads().closed),
    });
    Ok(store)
}

/// A store's threads: joined when dropped, once the channels that feed them are closed.
#[derive(Debug, Default)]
pub(crate) struct Threads {
    handles: Vec<JoinHandle<()>>,
    closed: Arc<Closed>,
}

impl Threads {
    /// Starts `work` on a thread named `name`.
    pub(crate) fn spawn(
        &mut self,
        name: &str,
        work: impl FnOnce() + Send + 'static,
    ) -> Result<(), OpenError> {
        let handle = thread::Builder::new()
            .name(name.to_owned())
            .spawn(work)
            .map_err(OpenError::Thread)?;
        self.handles.push(handle);
        Ok(())
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        for handle in self.handles.drain(..) {
            // A thread that panicked has nothing left to finish.
            let _finished = handle.join();
        }
        self.closed.finish();
    }
}

/// Whether a store's threads have all ended, its connections closed.
#[derive(Debug, Default)]
pub(crate) struct Closed {
    done: Mutex<bool>,
    signal: Condvar,
}

impl Closed {
    fn finish(&self) {
        *lock(&self.done) = true;
        self.signal.notify_all();
    }

    fn is_done(&self) -> bool {
        *lock(&self.done)
    }

    fn wait(&self) {
        let mut done = lock(&self.done);
        while !*done {
            done = self
                .signal
                .wait(done)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Locks `mutex`; a poisoned one is used as it is (every value behind one is always whole).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
