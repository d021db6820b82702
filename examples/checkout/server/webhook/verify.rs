//! Checking a webhook delivery, on the merchant's side: [`verify_webhook`].

use std::time::{Duration, SystemTime};

use hmac::Mac;

use super::signature::{WebhookError, WebhookSecret, signed_prefix};

/// The replay window [`verify_webhook`] is usually given: a delivery signed more than five
/// minutes before (or after) the receiver's clock is refused.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Checks a webhook delivery as the merchant's receiver gets it: `header` is its
/// `Buyster-Signature` header, `body` its raw body (before any JSON parsing), `now` the
/// receiver's clock and `tolerance` the replay window ([`DEFAULT_TOLERANCE`]).
///
/// `Ok` only if a `v1` signature of the header is HMAC-SHA256(secret, "<t>.<body>"), compared
/// in constant time, and `t` is within `tolerance` of `now`. Then drop deliveries whose
/// `Buyster-Event-Id` was already handled: delivery is at least once.
///
/// # Errors
///
/// [`WebhookError::MalformedHeader`], [`WebhookError::BadSignature`] (a tampered body, a wrong
/// secret, a changed time), [`WebhookError::OutsideWindow`] (a replayed old delivery).
pub fn verify_webhook(
    secret: &WebhookSecret,
    header: &str,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let (unix_seconds, signatures) = parse_header(header)?;
    let matches = signatures.iter().any(|signature| {
        let mut mac = secret.mac();
        mac.update(signed_prefix(unix_seconds).as_bytes());
        mac.update(body);
        mac.verify_slice(signature).is_ok()
    });
    if !matches {
        return Err(WebhookError::BadSignature);
    }
    let signed_at = SystemTime::UNIX_EPOCH + Duration::from_secs(unix_seconds);
    let off = match now.duration_since(signed_at) {
        Ok(age) => age,
        Err(ahead) => ahead.duration(),
    };
    if off > tolerance {
        return Err(WebhookError::OutsideWindow {
            seconds_off: off.as_secs(),
        });
    }
    Ok(())
}

/// The time and the `v1` signatures of a header; other schemes are ignored, as Stripe's
/// receivers do, so that a new one can be added beside.
fn parse_header(header: &str) -> Result<(u64, Vec<[u8; 32]>), WebhookError> {
    let mut time = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", digits)) if time.is_none() => time = Some(whole_seconds(digits)?),
            Some(("v1", hex)) => signatures.push(hex_digest(hex)?),
            Some((name, _)) if name != "t" => {}
            _ => return Err(WebhookError::MalformedHeader),
        }
    }
    match time {
        Some(time) if !signatures.is_empty() => Ok((time, signatures)),
        _ => Err(WebhookError::MalformedHeader),
    }
}

fn whole_seconds(digits: &str) -> Result<u64, WebhookError> {
    let all_digits = !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit());
    all_digits
        .then(|| digits.parse().ok())
        .flatten()
        .ok_or(WebhookError::MalformedHeader)
}

fn hex_digest(hex: &str) -> Result<[u8; 32], WebhookError> {
    let mut digest = [0u8; 32];
    if hex.len() != 64 {
        return Err(WebhookError::MalformedHeader);
    }
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let text = std::str::from_utf8(pair).map_err(|_| WebhookError::MalformedHeader)?;
        *byte = u8::from_str_radix(text, 16).map_err(|_| WebhookError::MalformedHeader)?;
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::super::signature::signature_header;
    use super::*;

    const SECRET: &str = "whsec_test_0123456789abcdef0123456789abcdef";
    const BODY: &[u8] = br#"{"id":"evt","event":"confirmed"}"#;

    fn secret() -> WebhookSecret {
        SECRET.parse().unwrap()
    }

    #[test]
    fn malformed_headers_and_weak_secrets_are_refused() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let good = signature_header(&secret(), 1_767_225_600, BODY);
        let hex = good.split("v1=").nth(1).unwrap();
        for header in [
            String::new(),
            "t=1767225600".to_owned(),
            format!("v1={hex}"),
            format!("t=-1,v1={hex}"),
            format!("t=1767225600,v1={}", &hex[..62]),
            format!("t=1767225600,v1={}zz", &hex[..62]),
            format!("t=1767225600,t=1767225600,v1={hex}"),
            format!("t=1767225600;v1={hex}"),
        ] {
            assert_eq!(
                verify_webhook(&secret(), &header, BODY, now, DEFAULT_TOLERANCE),
                Err(WebhookError::MalformedHeader),
                "{header}"
            );
        }
        // Another scheme beside v1 is ignored; a second v1 (a secret being rotated) may match.
        let rotated = format!("t=1767225600,v0=00,v1={},{}", "0".repeat(64), &good[13..]);
        assert_eq!(
            verify_webhook(&secret(), &rotated, BODY, now, DEFAULT_TOLERANCE),
            Ok(())
        );
        for weak in [
            "",
            "short",
            &format!("{SECRET} with spaces"),
            &"x".repeat(256),
        ] {
            assert_eq!(
                weak.parse::<WebhookSecret>().err(),
                Some(WebhookError::WeakSecret)
            );
        }
        assert_eq!(format!("{:?}", secret()), "WebhookSecret([redacted])");
        let generated = WebhookSecret::generate();
        assert_eq!(generated.expose_secret().len(), 70);
        assert!(generated.expose_secret().parse::<WebhookSecret>().is_ok());
    }
}
