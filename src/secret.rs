//! Secret values: [`Pin`], [`OtpCode`] and [`SecretKey`].
//!
//! Every one is wiped from memory when dropped, prints `[redacted]` under `Debug`, has no
//! `Display`, no `Clone` and no `PartialEq`, and hands its value out only through an explicit
//! `expose_secret()`.

use core::fmt;
use core::str::FromStr;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;
use crate::crypto::{random_below, random_bytes};

/// The most digits a PIN or code may have.
const MAX_DIGITS: usize = 9;

/// Fewest and most digits of a PIN; a [`Policy`](crate::Policy) may narrow the range.
pub(crate) const PIN_DIGITS: (u8, u8) = (4, 8);

/// Fewest and most digits of a one-time code.
pub(crate) const CODE_DIGITS: (u8, u8) = (6, 9);

/// Why a PIN or code was refused. Never contains the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigitsError {
    /// Nothing was typed.
    #[error("it is empty")]
    Empty,
    /// Something other than the digits 0 to 9.
    #[error("it must contain digits only")]
    NotDigits,
    /// Too few or too many digits.
    #[error("it must be {min} to {max} digits long")]
    Length {
        /// Fewest digits allowed.
        min: u8,
        /// Most digits allowed.
        max: u8,
    },
}

/// ASCII digits in a fixed buffer, so that parsing never allocates a copy that outlives it.
#[derive(Zeroize, ZeroizeOnDrop)]
struct SecretDigits {
    buf: [u8; MAX_DIGITS],
    len: u8,
}

impl SecretDigits {
    fn parse(input: &str, (min, max): (u8, u8)) -> Result<Self, DigitsError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(DigitsError::Empty);
        }
        if !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DigitsError::NotDigits);
        }
        let len = u8::try_from(input.len())
            .ok()
            .filter(|len| (min..=max).contains(len))
            .ok_or(DigitsError::Length { min, max })?;
        let mut buf = [0u8; MAX_DIGITS];
        for (slot, byte) in buf.iter_mut().zip(input.bytes()) {
            *slot = byte;
        }
        Ok(Self { buf, len })
    }

    fn as_str(&self) -> &str {
        #[expect(
            clippy::expect_used,
            reason = "parse and random keep MAX_DIGITS ASCII digits"
        )]
        self.buf
            .get(..usize::from(self.len))
            .and_then(|digits| core::str::from_utf8(digits).ok())
            .expect("parse and random keep at most MAX_DIGITS ASCII digits")
    }
}

/// The buyer's confidential PIN: 4 to 8 digits (the [`Policy`](crate::Policy) says how many
/// it accepts at enrollment; 6 by default).
///
/// # Security
///
/// Wiped on drop, `Debug` prints `[redacted]`, not comparable: the engine checks a PIN only
/// through its keyed hash, in constant time.
///
/// ```compile_fail
/// let a: buyster::Pin = "123456".parse().unwrap();
/// let b: buyster::Pin = "123456".parse().unwrap();
/// let _ = a == b; // PINs have no `PartialEq`
/// ```
pub struct Pin(SecretDigits);

impl Pin {
    /// The digits, for the engine's hash and nothing else.
    ///
    /// # Security
    ///
    /// Never log, store or display the result.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    /// How many digits the PIN has.
    #[must_use]
    pub fn digits(&self) -> usize {
        usize::from(self.0.len)
    }
}

impl FromStr for Pin {
    type Err = Error;

    /// Parses 4 to 8 ASCII digits, ignoring surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Error> {
        SecretDigits::parse(s, PIN_DIGITS)
            .map(Self)
            .map_err(Error::InvalidPin)
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin([redacted])")
    }
}

/// A single-use code sent by SMS: 6 to 9 digits (6 by default).
///
/// # Security
///
/// Wiped on drop, `Debug` prints `[redacted]`, not comparable: the engine stores and compares
/// only a tag bound to the payment, in constant time.
pub struct OtpCode(SecretDigits);

impl OtpCode {
    /// The digits, to put in the SMS and nowhere else.
    ///
    /// # Security
    ///
    /// Never log, store or display the result.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    /// A uniformly random code of `digits` digits (clamped to 6..=9).
    pub(crate) fn random(digits: u8) -> Self {
        let digits = digits.clamp(CODE_DIGITS.0, CODE_DIGITS.1);
        let bound = 10u32.saturating_pow(u32::from(digits));
        let mut value = random_below(bound);
        let mut buf = [b'0'; MAX_DIGITS];
        for slot in buf.iter_mut().take(usize::from(digits)).rev() {
            let [digit, ..] = (value % 10).to_le_bytes();
            *slot = b'0'.saturating_add(digit);
            value /= 10;
        }
        Self(SecretDigits { buf, len: digits })
    }

    /// A second handle on the same code, for the in-memory outbox only.
    pub(crate) fn duplicate(&self) -> Self {
        Self(SecretDigits {
            buf: self.0.buf,
            len: self.0.len,
        })
    }
}

impl FromStr for OtpCode {
    type Err = Error;

    /// Parses 6 to 9 ASCII digits, ignoring surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Error> {
        SecretDigits::parse(s, CODE_DIGITS)
            .map(Self)
            .map_err(Error::InvalidCode)
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode([redacted])")
    }
}

/// 32 bytes of key material: the master secret from which [`Keys`](crate::Keys) derives its
/// sub-keys.
///
/// # Security
///
/// Wiped on drop, `Debug` prints `[redacted]`. Keep it in a secret manager, never in the store.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// Wraps existing key material. The caller's array is a copy: wipe it too.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh key from the operating system's randomness.
    #[must_use]
    pub fn generate() -> Self {
        Self(random_bytes())
    }

    /// The key bytes.
    ///
    /// # Security
    ///
    /// Never log, store or display the result.
    #[must_use]
    pub const fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}

impl FromStr for SecretKey {
    type Err = Error;

    /// Parses 64 hexadecimal digits (either case), as a secret manager would hand them out.
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim().as_bytes();
        if s.len() != 64 {
            return Err(Error::InvalidKey);
        }
        let mut key = Self([0u8; 32]);
        for (byte, pair) in key.0.iter_mut().zip(s.chunks_exact(2)) {
            let (Some(high), Some(low)) = (hex_value(pair.first()), hex_value(pair.get(1))) else {
                return Err(Error::InvalidKey);
            };
            *byte = (high << 4) | low;
        }
        Ok(key)
    }
}

fn hex_value(digit: Option<&u8>) -> Option<u8> {
    char::from(*digit?)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_parses_four_to_eight_digits() {
        assert_eq!("1234".parse::<Pin>().unwrap().expose_secret(), "1234");
        assert_eq!(
            " 12345678\n".parse::<Pin>().unwrap().expose_secret(),
            "12345678"
        );
        assert_eq!("000000".parse::<Pin>().unwrap().digits(), 6);
    }

    #[test]
    fn pin_refusals_name_the_problem() {
        let length = DigitsError::Length { min: 4, max: 8 };
        for (input, expected) in [
            ("", DigitsError::Empty),
            ("   ", DigitsError::Empty),
            ("12a456", DigitsError::NotDigits),
            ("12 3456", DigitsError::NotDigits),
            ("１２３４", DigitsError::NotDigits),
            ("-1234", DigitsError::NotDigits),
            ("123", length),
            ("123456789", length),
        ] {
            let err = input.parse::<Pin>().unwrap_err();
            assert!(
                matches!(err, Error::InvalidPin(e) if e == expected),
                "{input:?}: {err}"
            );
        }
    }

    #[test]
    fn code_parses_six_to_nine_digits() {
        assert_eq!(
            "482913".parse::<OtpCode>().unwrap().expose_secret(),
            "482913"
        );
        assert_eq!(
            "123456789".parse::<OtpCode>().unwrap().expose_secret(),
            "123456789"
        );
        let err = "12345".parse::<OtpCode>().unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidCode(DigitsError::Length { min: 6, max: 9 })
        ));
        let err = "1234567890".parse::<OtpCode>().unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidCode(DigitsError::Length { .. })
        ));
    }

    #[test]
    fn random_codes_have_the_asked_length_and_keep_leading_zeros() {
        for digits in 6..=9 {
            let code = OtpCode::random(digits);
            assert_eq!(code.expose_secret().len(), usize::from(digits));
            assert!(code.expose_secret().bytes().all(|b| b.is_ascii_digit()));
        }
        // Over 2,000 draws a code starting with 0 appears with probability 1 - 0.9^2000.
        assert!((0..2000).any(|_| OtpCode::random(6).expose_secret().starts_with('0')));
        assert_eq!(OtpCode::random(3).expose_secret().len(), 6);
    }

    #[test]
    fn debug_is_redacted() {
        let pin: Pin = "987654".parse().unwrap();
        let code: OtpCode = "135790".parse().unwrap();
        let key = SecretKey::from_bytes([0xab; 32]);
        assert_eq!(format!("{pin:?}"), "Pin([redacted])");
        assert_eq!(format!("{code:?}"), "OtpCode([redacted])");
        assert_eq!(format!("{key:?}"), "SecretKey([redacted])");
        assert_eq!(format!("{:?}", OtpCode::random(6)), "OtpCode([redacted])");
    }

    #[test]
    fn secret_key_parses_hex() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let key: SecretKey = hex.parse().unwrap();
        assert_eq!(key.expose_secret()[..4], [0x00, 0x11, 0x22, 0x33]);
        assert_eq!(key.expose_secret()[31], 0xff);
        for bad in [
            "",
            "00",
            &hex[..63],
            &format!("{hex}0"),
            &hex.replace('a', "g"),
        ] {
            assert!(
                matches!(bad.parse::<SecretKey>(), Err(Error::InvalidKey)),
                "{bad}"
            );
        }
        assert_ne!(
            SecretKey::generate().expose_secret(),
            SecretKey::generate().expose_secret()
        );
    }
}
