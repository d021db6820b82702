//! Bank account numbers: [`Iban`] (ISO 13616), checked for country length and mod-97.

use core::fmt;
use core::fmt::Write as _;
use core::str::FromStr;

use crate::Error;

/// Why an IBAN was refused. Never contains the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IbanError {
    /// Nothing was given.
    #[error("it is empty")]
    Empty,
    /// A character other than letters, digits and spaces, or a letter or digit where the
    /// registry's BBAN structure of the country has the other.
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

/// An International Bank Account Number: country, check digits and BBAN, with the length and the
/// BBAN structure of its country in the SWIFT IBAN registry (ISO 13616) and valid mod-97 check
/// digits (02 to 98: `00`, `01` and `99`, which pass the bare mod-97 test as aliases of `97`,
/// `98` and `02`, are refused, as no IBAN carries them). The 89 countries are the registry's
/// own; territories it lists under a country (Réunion, Jersey, Åland, …) use that country's
/// prefix (`FR`, `GB`, `FI`), as the registry says.
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
        let (expected, format) = registry_entry(bytes.get(..2)?)?;
        let shaped = bytes.len() == usize::from(expected)
            && bytes.get(2..4)?.iter().all(u8::is_ascii_digit)
            && bban_matches(bytes.get(4..)?, format);
        shaped.then(|| Self(text.to_owned()))
    }

    /// The two-letter country code.
    #[must_use]
    pub fn country(&self) -> &str {
        let (country, _, _) = self.parts();
        country
    }

    /// Country, check digits and the last three characters: `FR76 •••• 189`. The shortest
    /// IBAN of the registry (Norway's, 15 characters) still hides 8, so no IBAN is ever shown
    /// whole nor nearly whole.
    #[must_use]
    pub fn masked(&self) -> String {
        let (country, check, bban) = self.parts();
        let tail: String = bban
            .chars()
            .skip(bban.chars().count().saturating_sub(3))
            .collect();
        format!("{country}{check} •••• {tail}")
    }

    /// The country code, the check digits and the BBAN.
    fn parts(&self) -> (&str, &str, &str) {
        #[expect(
            clippy::expect_used,
            reason = "parse and from_record keep 15 ASCII or more"
        )]
        self.0
            .split_at_checked(4)
            .and_then(|(head, bban)| {
                let (country, check) = head.split_at_checked(2)?;
                Some((country, check, bban))
            })
            .expect("parse and from_record keep 15 ASCII characters or more")
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
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                f.write_char(' ')?;
            }
            f.write_char(c)?;
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
    let (expected, format) = registry_entry(country).ok_or(IbanError::UnknownCountry)?;
    if compact.len() != usize::from(expected) {
        return Err(IbanError::WrongLength { expected });
    }
    let check = bytes.get(2..4).ok_or(IbanError::InvalidCharacter)?;
    let bban = bytes.get(4..).ok_or(IbanError::InvalidCharacter)?;
    if !check.iter().all(u8::is_ascii_digit) || !bban_matches(bban, format) {
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

/// A country of the SWIFT IBAN registry: its IBAN length, and its BBAN's structure as the
/// registry writes it, runs of a count and a kind: `n` digits, `a` upper-case letters, `c`
/// letters or digits (`5n5n11c2n`: 5 digits, 5 digits, 11 letters or digits, 2 digits).
fn registry_entry(country: &[u8]) -> Option<(u8, &'static str)> {
    const REGISTRY: [(&[u8; 2], u8, &str); 89] = [
        (b"AD", 24, "4n4n12c"),
        (b"AE", 23, "3n16n"),
        (b"AL", 28, "8n16c"),
        (b"AT", 20, "5n11n"),
        (b"AZ", 28, "4a20c"),
        (b"BA", 20, "3n3n8n2n"),
        (b"BE", 16, "3n7n2n"),
        (b"BG", 22, "4a4n2n8c"),
        (b"BH", 22, "4a14c"),
        (b"BI", 27, "5n5n11n2n"),
        (b"BR", 29, "8n5n10n1a1c"),
        (b"BY", 28, "4c4n16c"),
        (b"CH", 21, "5n12c"),
        (b"CR", 22, "4n14n"),
        (b"CY", 28, "3n5n16c"),
        (b"CZ", 24, "4n16n"),
        (b"DE", 22, "8n10n"),
        (b"DJ", 27, "5n5n11n2n"),
        (b"DK", 18, "4n9n1n"),
        (b"DO", 28, "4c20n"),
        (b"EE", 20, "2n14n"),
        (b"EG", 29, "4n4n17n"),
        (b"ES", 24, "4n4n1n1n10n"),
        (b"FI", 18, "3n11n"),
        (b"FK", 18, "2a12n"),
        (b"FO", 18, "4n9n1n"),
        (b"FR", 27, "5n5n11c2n"),
        (b"GB", 22, "4a6n8n"),
        (b"GE", 22, "2a16n"),
        (b"GI", 23, "4a15c"),
        (b"GL", 18, "4n9n1n"),
        (b"GR", 27, "3n4n16c"),
        (b"GT", 28, "4c20c"),
        (b"HN", 28, "4a20n"),
        (b"HR", 21, "7n10n"),
        (b"HU", 28, "3n4n1n15n1n"),
        (b"IE", 22, "4a6n8n"),
        (b"IL", 23, "3n3n13n"),
        (b"IQ", 23, "4a3n12n"),
        (b"IS", 26, "4n2n6n10n"),
        (b"IT", 27, "1a5n5n12c"),
        (b"JO", 30, "4a4n18c"),
        (b"KW", 30, "4a22c"),
        (b"KZ", 20, "3n13c"),
        (b"LB", 28, "4n20c"),
        (b"LC", 32, "4a24c"),
        (b"LI", 21, "5n12c"),
        (b"LT", 20, "5n11n"),
        (b"LU", 20, "3n13c"),
        (b"LV", 21, "4a13c"),
        (b"LY", 25, "3n3n15n"),
        (b"MC", 27, "5n5n11c2n"),
        (b"MD", 24, "2c18c"),
        (b"ME", 22, "3n13n2n"),
        (b"MK", 19, "3n10c2n"),
        (b"MN", 20, "4n12n"),
        (b"MR", 27, "5n5n11n2n"),
        (b"MT", 31, "4a5n18c"),
        (b"MU", 30, "4a2n2n12n3n3a"),
        (b"NI", 28, "4a20n"),
        (b"NL", 18, "4a10n"),
        (b"NO", 15, "4n6n1n"),
        (b"OM", 23, "3n16c"),
        (b"PK", 24, "4a16c"),
        (b"PL", 28, "8n16n"),
        (b"PS", 29, "4a21c"),
        (b"PT", 25, "4n4n11n2n"),
        (b"QA", 29, "4a21c"),
        (b"RO", 24, "4a16c"),
        (b"RS", 22, "3n13n2n"),
        (b"RU", 33, "9n5n15c"),
        (b"SA", 24, "2n18c"),
        (b"SC", 31, "4a2n2n16n3a"),
        (b"SD", 18, "2n12n"),
        (b"SE", 24, "3n16n1n"),
        (b"SI", 19, "5n8n2n"),
        (b"SK", 24, "4n6n10n"),
        (b"SM", 27, "1a5n5n12c"),
        (b"SO", 23, "4n3n12n"),
        (b"ST", 25, "4n4n11n2n"),
        (b"SV", 28, "4a20n"),
        (b"TL", 23, "3n14n2n"),
        (b"TN", 24, "2n3n13n2n"),
        (b"TR", 26, "5n1n16c"),
        (b"UA", 29, "6n19c"),
        (b"VA", 22, "3n15n"),
        (b"VG", 24, "4a16n"),
        (b"XK", 20, "4n10n2n"),
        (b"YE", 30, "4a4n18c"),
    ];
    REGISTRY
        .iter()
        .find(|(code, _, _)| code.as_slice() == country)
        .map(|(_, len, bban)| (*len, *bban))
}

/// Whether `bban` has the structure `format` of [`registry_entry`].
fn bban_matches(bban: &[u8], format: &str) -> bool {
    let mut rest = bban;
    let mut count = 0usize;
    for c in format.bytes() {
        if c.is_ascii_digit() {
            count = count
                .saturating_mul(10)
                .saturating_add(usize::from(c.wrapping_sub(b'0')));
            continue;
        }
        let allowed = |b: &u8| match c {
            b'n' => b.is_ascii_digit(),
            b'a' => b.is_ascii_uppercase(),
            _ => b.is_ascii_uppercase() || b.is_ascii_digit(),
        };
        let Some((run, after)) = rest.split_at_checked(count) else {
            return false;
        };
        if !run.iter().all(allowed) {
            return false;
        }
        (rest, count) = (after, 0);
    }
    rest.is_empty()
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

    /// An IBAN of `country` whose BBAN follows `format`, with `digit`, `letter` and `either`
    /// for its runs, and check digits computed for it.
    #[allow(
        clippy::arithmetic_side_effects,
        reason = "run lengths of a few digits and a remainder below 97"
    )]
    fn built(country: &str, format: &str, digit: u8, letter: u8, either: u8) -> String {
        let mut bban = Vec::new();
        let mut count = 0usize;
        for c in format.bytes() {
            if c.is_ascii_digit() {
                count = count * 10 + usize::from(c - b'0');
                continue;
            }
            let filler = match c {
                b'n' => digit,
                b'a' => letter,
                _ => either,
            };
            bban.extend(std::iter::repeat_n(filler, count));
            count = 0;
        }
        let bban = String::from_utf8(bban).unwrap();
        let unchecked = format!("{country}00{bban}");
        let check = 98 - mod97(unchecked.as_bytes());
        format!("{country}{check:02}{bban}")
    }

    #[test]
    #[allow(clippy::arithmetic_side_effects, reason = "IBAN lengths, at most 34")]
    fn every_registry_country_checks_its_bban_structure() {
        let letters = b'A'..=b'Z';
        let countries: Vec<[u8; 2]> = letters
            .clone()
            .flat_map(|a| letters.clone().map(move |b| [a, b]))
            .filter(|country| registry_entry(country).is_some())
            .collect();
        assert_eq!(countries.len(), 89);
        for country in countries {
            let (length, format) = registry_entry(&country).unwrap();
            let country = core::str::from_utf8(&country).unwrap();
            let expanded: usize = format
                .split(['n', 'a', 'c'])
                .filter(|n| !n.is_empty())
                .map(|n| n.parse::<usize>().unwrap())
                .sum();
            assert_eq!(usize::from(length), 4 + expanded, "{country}");
            for (digit, letter, either) in [(b'1', b'B', b'7'), (b'9', b'Z', b'Q')] {
                let iban = built(country, format, digit, letter, either);
                let parsed: Iban = iban.parse().unwrap_or_else(|e| panic!("{iban}: {e}"));
                assert_eq!(Iban::from_record(parsed.as_str()), Some(parsed));
            }
            // A letter where the structure has a digit, or a digit where it has a letter,
            // with check digits that match: refused for its structure.
            if format.contains('n') {
                let misplaced = built(country, format, b'B', b'B', b'1');
                assert_eq!(
                    refusal(&misplaced),
                    IbanError::InvalidCharacter,
                    "{misplaced}"
                );
                assert_eq!(Iban::from_record(&misplaced), None);
            }
            if format.contains('a') {
                let misplaced = built(country, format, b'1', b'1', b'1');
                assert_eq!(
                    refusal(&misplaced),
                    IbanError::InvalidCharacter,
                    "{misplaced}"
                );
            }
        }
        // The registry's own examples of structures with letters.
        for example in [
            "BR1800360305000010009795493C1",
            "MU17BOMM0101101030300200000MUR",
            "SC18SSCB11010000000000001497USD",
            "LC55HEMM000100010012001200023015",
            "RU0304452522540817810538091310419",
            "GB33BUKB20201555555555",
        ] {
            assert!(example.parse::<Iban>().is_ok(), "{example}");
        }
        // A British IBAN whose bank code is digits: the check digits match, the structure not.
        assert_eq!(
            refusal(&built("GB", "4n6n8n", b'1', b'1', b'1')),
            IbanError::InvalidCharacter
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
        let shortest: Iban = "NO93 8601 1117 947".parse().unwrap();
        assert_eq!(format!("{shortest:?}"), "Iban(NO93 •••• 947)");
    }

    #[test]
    fn every_country_keeps_at_least_8_characters_hidden() {
        let letters = b'A'..=b'Z';
        let lengths: Vec<u8> = letters
            .clone()
            .flat_map(|a| letters.clone().map(move |b| [a, b]))
            .filter_map(|country| registry_entry(&country).map(|(len, _)| len))
            .collect();
        assert_eq!(lengths.len(), 89);
        // `masked` shows the 4 first characters and the 3 last.
        assert_eq!(lengths.iter().min(), Some(&15));
        assert!(lengths.iter().all(|&len| usize::from(len) - 7 >= 8));
    }
}
