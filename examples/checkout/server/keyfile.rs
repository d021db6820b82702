//! The master key of the demo: from the environment, or from a key file beside the database.

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use buyster::SecretKey;
use zeroize::Zeroizing;

/// Where the master key came from.
pub enum KeyOrigin {
    /// `BUYSTER_MASTER_KEY`.
    Environment,
    /// The key file, read as it was.
    File(PathBuf),
    /// The key file, created at this start with a fresh key.
    NewFile(PathBuf),
}

/// Why the key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading or writing the file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The file does not hold 64 hexadecimal digits.
    #[error("key file {0}: expected 64 hexadecimal digits")]
    Malformed(PathBuf),
}

/// The key file of the database at `db`: the same name with the extension `.key`.
pub fn key_file_of(db: &Path) -> PathBuf {
    db.with_extension("key")
}

/// The key in `path`, or a fresh key when the file does not exist. A fresh key is not written
/// yet: [`write_new`] writes it once the databases are known to hold nothing sealed by another
/// key, so that a refused start leaves no new key file behind.
pub fn read_or_generate(path: &Path) -> Result<(SecretKey, KeyOrigin), KeyFileError> {
    match read(path) {
        Ok(key) => Ok((key, KeyOrigin::File(path.to_owned()))),
        Err(KeyFileError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            Ok((SecretKey::generate(), KeyOrigin::NewFile(path.to_owned())))
        }
        Err(error) => Err(error),
    }
}

/// Writes `key` to `path`, readable by its owner only; fails if the file exists (another
/// process made one since it was looked for).
pub fn write_new(path: &Path, key: &SecretKey) -> Result<(), KeyFileError> {
    create(path, key).map_err(|source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read(path: &Path) -> Result<SecretKey, KeyFileError> {
    let text = Zeroizing::new(fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    })?);
    text.parse()
        .map_err(|_| KeyFileError::Malformed(path.to_owned()))
}

/// Writes `key` to `path`, failing if the file exists.
fn create(path: &Path, key: &SecretKey) -> io::Result<()> {
    let mut hex = Zeroizing::new(String::with_capacity(65));
    for byte in key.expose_secret() {
        // Into the buffer sized above: no reallocation leaves a copy behind.
        let _ = write!(hex, "{byte:02x}");
    }
    hex.push('\n');
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(hex.as_bytes())?;
    file.sync_all()
}
