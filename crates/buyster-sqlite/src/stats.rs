//! [`Stats`]: what the writer has done, counted.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a store's writer has done since the store was opened.
///
/// `commits` against `writes` is the group commit at work: each commit is one durable sync of
/// the log, shared by every write of its group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Write requests answered: each `put`, `put_together` and `acknowledge` is one.
    pub writes: u64,
    /// Transactions begun, one per group of writes taken from the queue.
    pub groups: u64,
    /// Transactions committed.
    pub commits: u64,
    /// The most writes one group held.
    pub largest_group: u64,
}

/// The live counters behind [`Stats`], updated by the writer thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    writes: AtomicU64,
    groups: AtomicU64,
    commits: AtomicU64,
    largest_group: AtomicU64,
}

impl Counters {
    /// Counts a group of `size` writes, and whether it committed.
    pub(crate) fn group(&self, size: usize, committed: bool) {
        let size = u64::try_from(size).unwrap_or(u64::MAX);
        self.writes.fetch_add(size, Ordering::Relaxed);
        self.groups.fetch_add(1, Ordering::Relaxed);
        if committed {
            self.commits.fetch_add(1, Ordering::Relaxed);
        }
        self.largest_group.fetch_max(size, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            writes: self.writes.load(Ordering::Relaxed),
            groups: self.groups.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            largest_group: self.largest_group.load(Ordering::Relaxed),
        }
    }
}
