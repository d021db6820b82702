//! Watches the SQLite files while the server runs. SQLite keeps writing to a file removed
//! under it (the open file outlives its name), so a `rm` of the database goes unnoticed until
//! the restart finds no file and every payment is lost; a file replaced under the server is
//! the same. The server stops instead, with an error, at the next look.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A file as first seen: its path and what it was then.
struct Watched {
    path: PathBuf,
    identity: Identity,
}

/// What tells one file from another at the same path: its device and inode on Unix.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Identity {
    device: u64,
    inode: u64,
}

impl Identity {
    fn of(path: &Path) -> io::Result<Self> {
        let metadata = std::fs::metadata(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Ok(Self {
                device: metadata.dev(),
                inode: metadata.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            // No inode here: only a file removed is seen.
            drop(metadata);
            Ok(Self {
                device: 0,
                inode: 0,
            })
        }
    }
}

/// A file that is no longer the one the server opened.
#[derive(Debug)]
pub struct Vanished {
    path: PathBuf,
    how: &'static str,
}

impl fmt::Display for Vanished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the database file {} was {} while the server ran; stopped, so that no more \
             payments go to a file that a restart would not find. Restore the file from a \
             backup, or start over (--reinitialise)",
            self.path.display(),
            self.how
        )
    }
}

impl std::error::Error for Vanished {}

/// The files of a server, as they were when it opened them.
pub struct Watch {
    files: Vec<Watched>,
    every: Duration,
}

impl Watch {
    /// Takes the identity of each of `paths`, to be looked at again every `every`.
    pub fn new(paths: &[PathBuf], every: Duration) -> io::Result<Self> {
        let files = paths
            .iter()
            .map(|path| {
                Ok(Watched {
                    path: path.clone(),
                    identity: Identity::of(path)?,
                })
            })
            .collect::<io::Result<_>>()?;
        Ok(Self { files, every })
    }

    /// Nothing watched: on PostgreSQL.
    pub fn none() -> Self {
        Self {
            files: Vec::new(),
            every: Duration::MAX,
        }
    }

    /// Completes, logging it, when a file is removed or replaced; never when none is
    /// watched.
    pub async fn vanished(&self) -> Vanished {
        if self.files.is_empty() {
            return std::future::pending().await;
        }
        loop {
            tokio::time::sleep(self.every).await;
            if let Some(vanished) = self.look() {
                eprintln!("error: {vanished}");
                return vanished;
            }
        }
    }

    /// The first file no longer the one first seen. A file that cannot be looked at for
    /// another reason (a permission changed) is not taken for gone.
    fn look(&self) -> Option<Vanished> {
        self.files.iter().find_map(|file| {
            let how = match Identity::of(&file.path) {
                Ok(now) if now == file.identity => return None,
                Ok(_) => "replaced by another file",
                Err(error) if error.kind() == io::ErrorKind::NotFound => "removed",
                Err(_) => return None,
            };
            Some(Vanished {
                path: file.path.clone(),
                how,
            })
        })
    }
}

/// `shutdown`, or the watch seeing a file vanish, whichever comes first; and where the
/// vanished file is told, for `serve` to answer it as an error.
pub fn stop_on_vanish(
    watch: std::sync::Arc<Watch>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (
    tokio::sync::oneshot::Receiver<Vanished>,
    impl std::future::Future<Output = ()> + Send + 'static,
) {
    let (tell, told) = tokio::sync::oneshot::channel();
    let stop = async move {
        tokio::select! {
            () = shutdown => {}
            vanished = watch.vanished() => {
                // The receiver lives until `serve` returns.
                let _ = tell.send(vanished);
            }
        }
    };
    (told, stop)
}
