//! Webhook signatures, as Stripe makes them: `Buyster-Signature: t=<unix seconds>,v1=<hex>`,
//! where the hex is HMAC-SHA256(secret, "<t>.<body>"). The sender signs with
//! [`signature_header`]; a merchant's receiver checks with
//! [`verify_webhook`](super::verify_webhook), in `verify.rs`.
//!
//! With `verify.rs`, the only file of the webhooks that touches the secret's bytes and the MAC.

use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The shortest secret taken, in characters: 32 printable characters carry at least the
/// 128 bits a MAC key needs when they are random.
const MIN_SECRET_LEN: usize = 32;

/// The secret shared by the server and the merchant's receiver: printable ASCII, 32 to 255
/// characters, used whole as the HMAC key (a generated one reads `whsec_` and 64 hex digits).
///
/// # Security
///
/// Wiped from memory when dropped; `Debug` prints `[redacted]`; no `Clone`, no `PartialEq`.
pub struct WebhookSecret(Zeroizing<String>);

impl WebhookSecret {
    /// A fresh random secret: `whsec_` and 64 hexadecimal digits (256 bits).
    pub fn generate() -> Self {
        let key = buyster::SecretKey::generate();
        let mut text = Zeroizing::new(String::with_capacity(70));
        text.push_str("whsec_");
        for byte in key.expose_secret() {
            // Into the buffer sized above: no reallocation leaves a copy behind.
            let _ = write!(text, "{byte:02x}");
        }
        Self(text)
    }

    /// The secret's text, to write into its file.
    ///
    /// # Security
    ///
    /// Never log it nor send it anywhere but to the merchant's receiver's configuration.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// A MAC keyed with the secret.
    pub(super) fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length: longer than a block, it is hashed first.
        <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_bytes())
            .unwrap_or_else(|_| unreachable_mac())
    }
}

/// HMAC's `new_from_slice` refuses no length; kept apart so that the one impossible case
/// reads as such.
#[allow(clippy::panic, reason = "HMAC accepts keys of every length")]
fn unreachable_mac() -> Hmac<Sha256> {
    panic!("HMAC-SHA256 refused a key length")
}

impl FromStr for WebhookSecret {
    type Err = WebhookError;

    /// Reads a secret, surrounding whitespace (a file's last newline) left out.
    fn from_str(text: &str) -> Result<Self, WebhookError> {
        let text = text.trim();
        let printable = text.bytes().all(|byte| byte.is_ascii_graphic());
        if printable && (MIN_SECRET_LEN..=255).contains(&text.len()) {
            Ok(Self(Zeroizing::new(text.to_owned())))
        } else {
            Err(WebhookError::WeakSecret)
        }
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

/// Why a webhook delivery is refused by [`verify_webhook`](super::verify_webhook), or a
/// secret by its parser.
#[allow(
    dead_code,
    reason = "the server only refuses weak secrets; receivers meet the other variants"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No `v1` signature of the header is the body's under the secret: the body, the time or
    /// the secret is not the sender's.
    #[error("the signature does not match the body")]
    BadSignature,
    /// The header is not `t=<unix seconds>,v1=<64 hex digits>[,v1=…]`.
    #[error("the Buyster-Signature header is malformed")]
    MalformedHeader,
    /// The signature's time is further from the receiver's clock than the tolerance: a
    /// replay of an old delivery, or a clock far off.
    #[error("the signature's time is {seconds_off} s away from now, outside the replay window")]
    OutsideWindow {
        /// How far the signature's time is from now, in seconds, either way.
        seconds_off: u64,
    },
    /// A secret shorter than 32 characters or with characters outside printable ASCII.
    #[error("a webhook secret must be 32 to 255 printable ASCII characters")]
    WeakSecret,
}

/// The `Buyster-Signature` header of `body` sent at `unix_seconds`.
pub fn signature_header(secret: &WebhookSecret, unix_seconds: u64, body: &[u8]) -> String {
    let mut mac = secret.mac();
    mac.update(signed_prefix(unix_seconds).as_bytes());
    mac.update(body);
    let mut header = format!("t={unix_seconds},v1=");
    for byte in mac.finalize().into_bytes() {
        let _ = write!(header, "{byte:02x}");
    }
    header
}

/// What the body is prefixed with before it is signed: the time and a dot.
pub(super) fn signed_prefix(unix_seconds: u64) -> String {
    format!("{unix_seconds}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_0123456789abcdef0123456789abcdef";
    const BODY: &[u8] = br#"{"id":"evt","event":"confirmed"}"#;

    fn secret() -> WebhookSecret {
        SECRET.parse().unwrap()
    }

    /// HMAC-SHA256(SECRET, "1767225600." ‖ BODY), computed apart with Python's `hmac` module.
    #[test]
    fn the_header_is_the_known_answer() {
        assert_eq!(
            signature_header(&secret(), 1_767_225_600, BODY),
            "t=1767225600,v1=9479458782ae28b7bd0db9cbb0b2e801872cdd72e1fd555ce007bdd060b5f75b"
        );
    }
}
