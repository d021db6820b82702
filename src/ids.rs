//! Identifiers: [`PaymentId`], [`EnrollmentId`], [`EventId`].

use core::fmt;
use core::str::FromStr;

use crate::Error;
use crate::crypto::random_bytes;

/// A 128-bit random identifier type, printed as 32 lowercase hexadecimal digits.
macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident, $error:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 16]);

        impl $name {
            /// A fresh random id.
            pub(crate) fn random() -> Self {
                Self(random_bytes())
            }

            /// The 16 bytes of the id.
            #[must_use]
            pub const fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex(&self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = Error;

            /// Parses exactly 32 lowercase hexadecimal digits, the form `Display` prints;
            /// anything else is refused, so that each id has one spelling.
            fn from_str(s: &str) -> Result<Self, Error> {
                parse_hex_id(s).map(Self).ok_or($error)
            }
        }
    };
}

random_id!(
    /// A payment's identifier: 128 random bits, printed as 32 lowercase hexadecimal digits.
    ///
    /// Unguessable and URL-safe, so the host may put it in a URL or a cookie: it names a
    /// payment but grants nothing by itself, since every step still needs the PIN or the code.
    PaymentId,
    Error::InvalidPaymentId
);

random_id!(
    /// An enrollment's identifier: 128 random bits, printed as 32 lowercase hexadecimal digits.
    ///
    /// Like a [`PaymentId`], it may travel in a URL or a cookie between the two steps of an
    /// enrollment: it grants nothing without the code sent by SMS.
    EnrollmentId,
    Error::InvalidEnrollmentId
);

impl PaymentId {
    /// The id no payment has: the payment of an SMS that belongs to none.
    pub(crate) const fn none() -> Self {
        Self([0; 16])
    }

    /// The id of 16 bytes a verified record holds.
    pub(crate) const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
}

impl EnrollmentId {
    /// The id of 16 bytes a verified record holds.
    pub(crate) const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
}

/// An event's identifier: 128 bits, printed as 32 lowercase hexadecimal digits, the same for
/// every delivery of the event, so that a receiver drops the copies that at-least-once delivery
/// may bring.
///
/// Derived, not drawn: a hash of the record the change wrote, the version it replaced, the
/// event's place among the change's events and its time, so the id is known before the write
/// that stores the event, and no two changes share one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId([u8; 16]);

impl EventId {
    /// The id of event number `n`, made at `at` (Unix milliseconds), of the write of `key`
    /// over `replaced` (`None`: the write that created it). The time keeps ids apart when a
    /// restored backup makes a key's versions come again.
    pub(crate) fn of_write(key: &str, replaced: Option<u64>, n: u8, at: u64) -> Self {
        let replaced = match replaced {
            Some(version) => {
                let [a, b, c, d, e, f, g, h] = version.to_be_bytes();
                [1, a, b, c, d, e, f, g, h]
            }
            None => [0; 9],
        };
        Self(crate::crypto::digest16(&[
            b"buyster event",
            key.as_bytes(),
            &replaced,
            &[n],
            &at.to_be_bytes(),
        ]))
    }

    /// The id of the event that reports what followed the write of `key` that made `version`
    /// (an SMS handed to the gateway), and changed no record: no write reports it.
    pub(crate) fn after_write(key: &str, version: u64, at: u64) -> Self {
        Self::of_write(key, Some(version), u8::MAX, at)
    }

    /// The id of 16 bytes a verified event record holds.
    pub(crate) const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes of the id.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({self})")
    }
}

/// 16 bytes from exactly 32 lowercase hexadecimal digits.
fn parse_hex_id(s: &str) -> Option<[u8; 16]> {
    let s = s.as_bytes();
    if s.len() != 32 {
        return None;
    }
    let mut id = [0u8; 16];
    for (byte, pair) in id.iter_mut().zip(s.chunks_exact(2)) {
        *byte = (lower_hex(pair.first())? << 4) | lower_hex(pair.get(1))?;
    }
    Some(id)
}

/// `bytes` in lowercase hexadecimal, without the formatting machinery: ids and account
/// indexes are printed into every store key.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    push_hex(&mut out, bytes);
    out
}

/// Appends `bytes` to `out` in lowercase hexadecimal.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    for byte in bytes {
        for nibble in [byte >> 4, byte & 0x0f] {
            // A nibble is below 16: a digit, or a letter from `a`.
            let offset = if nibble < 10 { b'0' } else { b'a' - 10 };
            out.push(char::from(offset.wrapping_add(nibble)));
        }
    }
}

fn lower_hex(digit: Option<&u8>) -> Option<u8> {
    match *digit? {
        digit @ b'0'..=b'9' => Some(digit.wrapping_sub(b'0')),
        digit @ b'a'..=b'f' => Some(digit.wrapping_sub(b'a').wrapping_add(10)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        for _ in 0..100 {
            let id = PaymentId::random();
            let text = id.to_string();
            assert_eq!(text.len(), 32);
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
            assert_eq!(text.parse::<PaymentId>().unwrap(), id);
        }
    }

    #[test]
    fn parses_a_known_id() {
        let id: PaymentId = "00ff10a0000000000000000000000001".parse().unwrap();
        assert_eq!(id.as_bytes()[..4], [0x00, 0xff, 0x10, 0xa0]);
        assert_eq!(id.as_bytes()[15], 1);
        assert_eq!(
            format!("{id:?}"),
            "PaymentId(00ff10a0000000000000000000000001)"
        );
    }

    #[test]
    fn refuses_other_spellings() {
        for bad in [
            "",
            "00ff10a000000000000000000000000",
            "00ff10a00000000000000000000000011",
            "00FF10A0000000000000000000000001",
            "00ff10a000000000000000000000000g",
            " 00ff10a0000000000000000000000001",
            "00ff10a00000000000000000000000é",
        ] {
            assert!(
                matches!(bad.parse::<PaymentId>(), Err(Error::InvalidPaymentId)),
                "{bad}"
            );
        }
    }

    #[test]
    fn ids_are_distinct() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| PaymentId::random()).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn enrollment_ids_read_back_and_refuse_the_same_spellings() {
        let id = EnrollmentId::random();
        assert_eq!(id.to_string().parse::<EnrollmentId>().unwrap(), id);
        assert!(format!("{id:?}").starts_with("EnrollmentId("));
        assert!(matches!(
            "00FF10A0000000000000000000000001".parse::<EnrollmentId>(),
            Err(Error::InvalidEnrollmentId)
        ));
        assert_eq!(PaymentId::none().to_string(), "0".repeat(32));
    }
}
