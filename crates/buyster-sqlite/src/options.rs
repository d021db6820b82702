//! [`Options`]: how many readers, how large a group.

/// How a store is opened: [`Options::default`] suits most hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    readers: usize,
    max_group: usize,
}

impl Options {
    /// The number of read-only connections, each on a thread of its own (at least 1; 4 by
    /// default). Reads in WAL mode never wait for the writer, so a few are enough.
    #[must_use]
    pub fn readers(self, count: usize) -> Self {
        Self {
            readers: count.max(1),
            ..self
        }
    }

    /// The most writes the writer takes into one transaction (at least 1; 512 by default).
    /// Writes queued beyond it go in the next group.
    #[must_use]
    pub fn max_group(self, count: usize) -> Self {
        Self {
            max_group: count.max(1),
            ..self
        }
    }

    pub(crate) const fn reader_count(&self) -> usize {
        self.readers
    }

    pub(crate) const fn group_limit(&self) -> usize {
        self.max_group
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            readers: 4,
            max_group: 512,
        }
    }
}
