//! The webhook secret: from the environment, or from a file beside the database made once.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::WebhookSecret;

/// Where the webhook secret came from.
pub enum SecretOrigin {
    /// `CHECKOUT_WEBHOOK_SECRET`.
    Environment,
    /// The secret file, read as it was.
    File(PathBuf),
    /// The secret file, created now with a fresh secret.
    NewFile(PathBuf),
}

/// The secret in `path`, or a fresh one written there (readable by its owner only) when the
/// file does not exist.
///
/// # Errors
///
/// A message naming the file (never its content) when it cannot be read or written, or does
/// not hold a secret.
pub fn read_or_create(path: &Path) -> Result<(WebhookSecret, SecretOrigin), String> {
    let failed = |error: io::Error| format!("webhook secret file {}: {error}", path.display());
    match create(path) {
        Ok(secret) => Ok((secret, SecretOrigin::NewFile(path.to_owned()))),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            let text = Zeroizing::new(fs::read_to_string(path).map_err(failed)?);
            let secret = text
                .parse()
                .map_err(|error| format!("webhook secret file {}: {error}", path.display()))?;
            Ok((secret, SecretOrigin::File(path.to_owned())))
        }
        Err(error) => Err(failed(error)),
    }
}

fn create(path: &Path) -> io::Result<WebhookSecret> {
    let secret = WebhookSecret::generate();
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(secret.expose_secret().as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(secret)
}
