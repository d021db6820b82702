//! The server's SQLite files on disk: created readable by their owner only (they hold phone
//! numbers and IBANs), checked whole before the server starts on them, and moved aside, never
//! deleted, when the server starts over with a new key.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

/// The files SQLite keeps beside a database: its write-ahead log, its shared-memory index and
/// its rollback journal, named like the database with these endings.
pub const COMPANIONS: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Why a database file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be created, read or moved.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// SQLite does not recognise the file (or its write-ahead log) as a database.
    #[error(
        "{path} is not an SQLite database ({detail}); the server does not start on it: \
         restore the file from a backup, or move it away"
    )]
    NotADatabase {
        /// The file.
        path: PathBuf,
        /// SQLite's words.
        detail: String,
    },
    /// SQLite's integrity check found damage.
    #[error(
        "{path} is damaged: {detail}; the server does not start on it: restore the file from \
         a backup"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The first problems `PRAGMA quick_check` reported.
        detail: String,
    },
    /// SQLite could not open or read the file for another reason (its permissions, a lock).
    #[error("{path} cannot be read: {detail}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// SQLite's words.
        detail: String,
    },
    /// A file to move aside would land on one already there.
    #[error("{0} already exists; nothing was moved: move it away and start again")]
    AsideTaken(PathBuf),
}

/// Creates the file at `path` if it does not exist, readable and writable by its owner only,
/// before SQLite opens it: SQLite then gives its write-ahead log, shared memory and journal
/// the same mode. An existing file is left as it is.
pub fn create_private(path: &Path) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

/// Checks each of `paths` that exists with SQLite's `PRAGMA quick_check`, writing nothing:
/// every page of every table and index is read and its structure checked (a
/// full `integrity_check` also matches each index with its table, which takes longer).
pub fn check_whole(paths: &[PathBuf]) -> Result<(), FileError> {
    for path in paths {
        if path.exists() {
            check_one(path)?;
        }
    }
    Ok(())
}

/// Problems reported at most, of the many one damaged page can cause.
const PROBLEMS_SHOWN: usize = 3;

fn check_one(path: &Path) -> Result<(), FileError> {
    let problems = quick_check(path).map_err(|error| match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => FileError::NotADatabase {
            path: path.to_owned(),
            detail: error.to_string(),
        },
        Some(rusqlite::ErrorCode::DatabaseCorrupt) => FileError::Damaged {
            path: path.to_owned(),
            detail: error.to_string(),
        },
        _ => FileError::Unreadable {
            path: path.to_owned(),
            detail: error.to_string(),
        },
    })?;
    if problems.len() == 1 && problems.first().is_some_and(|line| line == "ok") {
        return Ok(());
    }
    Err(FileError::Damaged {
        path: path.to_owned(),
        detail: problems
            .into_iter()
            .take(PROBLEMS_SHOWN)
            .collect::<Vec<_>>()
            .join("; "),
    })
}

/// The lines of `PRAGMA quick_check`: `ok` alone when the file is whole.
fn quick_check(path: &Path) -> rusqlite::Result<Vec<String>> {
    let connection = open_existing(path)?;
    let mut statement = connection.prepare("PRAGMA quick_check")?;
    let lines = statement.query_map([], |row| row.get::<_, String>(0))?;
    lines.collect()
}

/// A connection on the existing database at `path`, for reading it at start. Not a read-only
/// one: on a database in WAL mode that would leave an empty log and a shared-memory file
/// behind, where the last connection to close, if it may write, removes them. Nothing is
/// written through it (a log left by a crash is folded into the file at close, as any first
/// opening does).
pub fn open_existing(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags)
}

/// The database at `path` with its companions, as they exist: `(file, where it goes)`, the
/// name it goes to being `path` with `suffix` added and the companion's ending after it, so
/// that SQLite opening the moved database finds its moved log.
fn aside(path: &Path, suffix: &str) -> Vec<(PathBuf, PathBuf)> {
    let mut moves = Vec::new();
    for ending in std::iter::once("").chain(COMPANIONS) {
        let file = with_ending(path, ending);
        if file.exists() {
            let target = with_ending(&with_ending(path, suffix), ending);
            moves.push((file, target));
        }
    }
    moves
}

/// Moves the databases at `paths` and their companions aside, each named with `suffix`
/// added; the files moved, where they went. Nothing moves when any target exists.
pub fn move_aside(paths: &[PathBuf], suffix: &str) -> Result<Vec<PathBuf>, FileError> {
    let moves: Vec<(PathBuf, PathBuf)> = paths.iter().flat_map(|p| aside(p, suffix)).collect();
    if let Some((_, taken)) = moves.iter().find(|(_, target)| target.exists()) {
        return Err(FileError::AsideTaken(taken.clone()));
    }
    let mut moved = Vec::new();
    for (file, target) in moves {
        fs::rename(&file, &target).map_err(|source| FileError::Io {
            path: file.clone(),
            source,
        })?;
        moved.push(target);
    }
    Ok(moved)
}

/// `path` with `ending` added to its name: `checkout.db` and `-wal` make `checkout.db-wal`.
pub fn with_ending(path: &Path, ending: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(ending);
    PathBuf::from(name)
}
