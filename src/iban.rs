//! Bank account numbers: [`Iban`] (ISO 13616), checked for country length and mod-97.

use core::fmt;
use core::str::FromStr;

use crate::Error;

/// Why an IBAN was refused. Never contains the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IbanError {
    /// Nothing was given.
    #[error("it is empty")]
    Empty,
    /// A character other than letters, digits and spaces, or a misplaced letter or digit.
    #[error("it contains a character that is not allowed")]
    InvalidCharacter,
    /// The two leading letters are not a country of the IBAN registry.
    #[error("its country does not use IBANs")]
    UnknownCountry,
    /// The length is not the one of the IBAN's country.
    #[error("it must have {expected} characters for its country")]
    WrongLength {
        /// The length for the country.
        expected: u8,
    },
    /// The check digits do not match (a typo, most likely).
    #[error("its check digits do not match")]
    ChecksumMismatch,
}

/// An International Bank Account Number: country, check digits and BBAN, with the length of its
/// country in the ISO 13616 registry and valid mod-97 check digits.
///
/// `FromStr` accepts spaces and lower case; `Display` prints the paper form in groups of four
/// (`FR76 3000 6000 0112 3456 7890 189`); `Debug` prints only [`masked`](Self::masked).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Iban(String);

impl Iban {
    /// The electronic form, without spaces: `FR7630006000011234567890189`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An IBAN as the engine stored it (electronic form), checked for shape only.
    pub(crate) fn from_record(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let expected = registry_length(bytes.get(..2)?)?;
        let shaped = bytes.len() == usize::from(expected)
            && bytes
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        shaped.then(|| Self(text.to_owned()))
    }

    /// The two-letter country code.
    #[must_use]
    pub fn country(&self) -> &str {
        self.0.get(..2).unwrap_or_default()
    }

    /// Country, check digits and the last three characters: `FR76 •••• 189`.
    #[must_use]
    pub fn masked(&self) -> String {
        let head = self.0.get(..4).unwrap_or_default();
        let tail = self
            .0
            .get(self.0.len().saturating_sub(3)..)
            .unwrap_or_default();
        format!("{head} •••• {tail}")
    }
}

impl FromStr for Iban {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        parse(s).map(Self).map_err(Error::InvalidIban)
    }
}

impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, chunk) in self.0.as_bytes().chunks(4).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(core::str::from_utf8(chunk).unwrap_or_default())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iban({})", self.masked())
    }
}

fn parse(input: &str) -> Result<String, IbanError> {
    let compact: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.is_empty() {
        return Err(IbanError::Empty);
    }
    if !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(IbanError::InvalidCharacter);
    }
    let bytes = compact.as_bytes();
    let country = bytes.get(..2).ok_or(IbanError::InvalidCharacter)?;
    if !country.iter().all(u8::is_ascii_uppercase) {
        return Err(IbanError::InvalidCharacter);
    }
    let expected = registry_length(country).ok_or(IbanError::UnknownCountry)?;
    if compact.len() != usize::from(expected) {
        return Err(IbanError::WrongLength { expected });
    }
    let check = bytes.get(2..4).ok_or(IbanError::InvalidCharacter)?;
    if !check.iter().all(u8::is_ascii_digit) {
        return Err(IbanError::InvalidCharacter);
    }
    if check == b"00" || check == b"01" || check == b"99" || mod97(bytes) != 1 {
        return Err(IbanError::ChecksumMismatch);
    }
    Ok(compact)
}

/// ISO 7064 MOD 97-10 of the IBAN with its first four characters moved to the end and letters
/// read as 10 to 35.
fn mod97(iban: &[u8]) -> u32 {
    let (head, tail) = iban.split_at(4.min(iban.len()));
    tail.iter().chain(head).fold(0u32, |remainder, &b| {
        let value = u32::from(if b.is_ascii_digit() {
            b.wrapping_sub(b'0')
        } else {
            b.wrapping_sub(b'A').wrapping_add(10)
        });
        let scale = if value >= 10 { 100 } else { 10 };
        remainder.wrapping_mul(scale).wrapping_add(value) % 97
    })
}

/// IBAN length by country, from the SWIFT IBAN registry.
fn registry_length(country: &[u8]) -> Option<u8> {
    const REGISTRY: [(&[u8; 2], u8); 89] = [
        (b"AD", 24),
        (b"AE", 23),
        (b"AL", 28),
        (b"AT", 20),
        (b"AZ", 28),
        (b"BA", 20),
        (b"BE", 16),
        (b"BG", 22),
        (b"BH", 22),
        (b"BI", 27),
        (b"BR", 29),
        (b"BY", 28),
        (b"CH", 21),
        (b"CR", 22),
        (b"CY", 28),
        (b"CZ", 24),
        (b"DE", 22),
        (b"DJ", 27),
        (b"DK", 18),
        (b"DO", 28),
        (b"EE", 20),
        (b"EG", 29),
        (b"ES", 24),
        (b"FI", 18),
        (b"FK", 18),
        (b"FO", 18),
        (b"FR", 27),
        (b"GB", 22),
        (b"GE", 22),
        (b"GI", 23),
        (b"GL", 18),
        (b"GR", 27),
        (b"GT", 28),
        (b"HN", 28),
        (b"HR", 21),
        (b"HU", 28),
        (b"IE", 22),
        (b"IL", 23),
        (b"IQ", 23),
        (b"IS", 26),
        (b"IT", 27),
        (b"JO", 30),
        (b"KW", 30),
        (b"KZ", 20),
        (b"LB", 28),
        (b"LC", 32),
        (b"LI", 21),
        (b"LT", 20),
        (b"LU", 20),
        (b"LV", 21),
        (b"LY", 25),
        (b"MC", 27),
        (b"MD", 24),
        (b"ME", 22),
        (b"MK", 19),
        (b"MN", 20),
        (b"MR", 27),
        (b"MT", 31),
        (b"MU", 30),
        (b"NI", 28),
        (b"NL", 18),
        (b"NO", 15),
        (b"OM", 23),
        (b"PK", 24),
        (b"PL", 28),
        (b"PS", 29),
        (b"PT", 25),
        (b"QA", 29),
        (b"RO", 24),
        (b"RS", 22),
        (b"RU", 33),
        (b"SA", 24),
        (b"SC", 31),
        (b"SD", 18),
        (b"SE", 24),
        (b"SI", 19),
        (b"SK", 24),
        (b"SM", 27),
        (b"SO", 23),
        (b"ST", 25),
        (b"SV", 28),
        (b"TL", 23),
        (b"TN", 24),
        (b"TR", 26),
        (b"UA", 29),
        (b"VA", 22),
        (b"VG", 24),
        (b"XK", 20),
        (b"YE", 30),
    ];
    REGISTRY
        .iter()
        .find(|(code, _)| code.as_slice() == country)
        .map(|(_, len)| *len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(input: &str) -> IbanError {
        match input.parse::<Iban>() {
            Err(Error::InvalidIban(e)) => e,
            other => panic!("{input:?} gave {other:?}"),
        }
    }

    // Published example IBANs of several registries.
    const VALID: [&str; 10] = [
        "FR76 3000 6000 0112 3456 7890 189",
        "DE89 3704 0044 0532 0130 00",
        "GB82 WEST 1234 5698 7654 32",
        "BE68 5390 0754 7034",
        "NL91 ABNA 0417 1643 00",
        "ES91 2100 0418 4502 0005 1332",
        "IT60 X054 2811 1010 0000 0123 456",
        "CH93 0076 2011 6238 5295 7",
        "NO93 8601 1117 947",
        "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
    ];

    #[test]
    fn accepts_registry_examples_and_prints_paper_form() {
        for input in VALID {
            let iban: Iban = input.parse().unwrap();
            assert_eq!(iban.to_string(), input);
            assert_eq!(iban.to_string().parse::<Iban>().unwrap(), iban);
        }
        let lower: Iban = "fr7630006000011234567890189".parse().unwrap();
        assert_eq!(lower.as_str(), "FR7630006000011234567890189");
        assert_eq!(lower.country(), "FR");
    }

    #[test]
    fn refusals_name_the_problem() {
        assert_eq!(refusal(""), IbanError::Empty);
        assert_eq!(refusal("   "), IbanError::Empty);
        assert_eq!(refusal("FR76-3000-6000"), IbanError::InvalidCharacter);
        assert_eq!(refusal("F"), IbanError::InvalidCharacter);
        assert_eq!(refusal("FR7"), IbanError::WrongLength { expected: 27 });
        assert_eq!(
            refusal("7630006000011234567890189FR"),
            IbanError::InvalidCharacter
        );
        assert_eq!(
            refusal("FRA6 3000 6000 0112 3456 7890 189"),
            IbanError::InvalidCharacter
        );
        assert_eq!(
            refusal("ZZ76 3000 6000 0112 3456 7890 189"),
            IbanError::UnknownCountry
        );
        assert_eq!(
            refusal("FR76 3000 6000 0112 3456 7890 18"),
            IbanError::WrongLength { expected: 27 }
        );
        assert_eq!(
            refusal("FR76 3000 6000 0112 3456 7890 188"),
            IbanError::ChecksumMismatch
        );
        assert_eq!(
            refusal("FR67 3000 6000 0112 3456 7890 189"),
            IbanError::ChecksumMismatch
        );
    }

    #[test]
    fn any_single_character_change_is_caught() {
        let base = "FR7630006000011234567890189";
        for position in 4..base.len() {
            for digit in b'0'..=b'9' {
                let mut changed = base.as_bytes().to_vec();
                if changed[position] == digit {
                    continue;
                }
                changed[position] = digit;
                let changed = String::from_utf8(changed).unwrap();
                assert_eq!(refusal(&changed), IbanError::ChecksumMismatch, "{changed}");
            }
        }
    }

    #[test]
    fn stored_ibans_read_back_and_odd_ones_do_not() {
        let iban: Iban = VALID[0].parse().unwrap();
        assert_eq!(Iban::from_record(iban.as_str()), Some(iban));
        for odd in [
            "",
            "FR",
            "fr7630006000011234567890189",
            "FR76300060000112345678901",
            "ZZ7630006000011234567890189",
        ] {
            assert_eq!(Iban::from_record(odd), None, "{odd}");
        }
    }

    #[test]
    fn debug_masks_the_account() {
        let iban: Iban = VALID[0].parse().unwrap();
        assert_eq!(iban.masked(), "FR76 •••• 189");
        assert_eq!(format!("{iban:?}"), "Iban(FR76 •••• 189)");
        let err = refusal("FR76 3000 6000 0112 3456 7890 188");
        assert!(!err.to_string().contains("3000"));
    }
}
