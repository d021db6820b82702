//! Mobile numbers: [`PhoneNumber`] in E.164 form, and the [`Region`] that reads national forms.

use core::fmt;
use core::str::FromStr;

use crate::Error;

/// Why a phone number was refused. Never contains the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    /// Nothing was typed.
    #[error("it is empty")]
    Empty,
    /// A character other than digits, a leading `+`, spaces, dots, dashes, slashes or brackets.
    #[error("it contains a character that is not allowed")]
    InvalidCharacter,
    /// A national number without the trunk prefix of the region, such as `612345678` in France.
    #[error(
        "it has no country code: start with + and the country code, or 0 for a national number"
    )]
    MissingCountryCode,
    /// The digits after `+` or `00` do not start with a country calling code.
    #[error("it does not start with a valid country calling code")]
    InvalidCountryCode,
    /// A `0` after the country code where that country's numbers have none (one such `0`, the
    /// national trunk prefix, is forgiven: `+33 06 …`).
    #[error("it has a 0 after the country code where numbers of that country have none")]
    MisplacedZero,
    /// Fewer digits than a number of that country has.
    #[error("it has too few digits")]
    TooShort,
    /// More digits than a number of that country has, or more than the 15 of E.164.
    #[error("it has too many digits")]
    TooLong,
}

/// How to read a number typed without its country code: the country calling code, whether the
/// country dials a trunk `0` before national numbers, and the national number's length where it
/// is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    calling_code: u16,
    trunk_zero: bool,
}

impl Region {
    /// France (+33): `06 12 34 56 78` is `+33 6 12 34 56 78`.
    pub const FRANCE: Self = Self::new(33, true);
    /// Belgium (+32).
    pub const BELGIUM: Self = Self::new(32, true);
    /// Switzerland (+41).
    pub const SWITZERLAND: Self = Self::new(41, true);
    /// Luxembourg (+352), no trunk prefix.
    pub const LUXEMBOURG: Self = Self::new(352, false);
    /// Germany (+49).
    pub const GERMANY: Self = Self::new(49, true);
    /// Spain (+34), no trunk prefix.
    pub const SPAIN: Self = Self::new(34, false);
    /// The United Kingdom (+44).
    pub const UNITED_KINGDOM: Self = Self::new(44, true);

    const fn new(calling_code: u16, trunk_zero: bool) -> Self {
        Self {
            calling_code,
            trunk_zero,
        }
    }

    /// The region's country calling code.
    #[must_use]
    pub const fn calling_code(self) -> u16 {
        self.calling_code
    }
}

/// A mobile number in E.164 form (`+` then at most 15 digits), as the SMS gateway needs it.
///
/// `FromStr` reads international forms (`+33 6 12 34 56 78`, `0033612345678`,
/// `+33 (0)6 12 34 56 78`) and French national forms (`06 12 34 56 78`, `06.12.34.56.78`);
/// [`PhoneNumber::parse_in`] reads the national forms of another [`Region`]. Numbers of countries
/// whose national number has a fixed length (France, Spain, Switzerland: 9 digits) are checked
/// against it.
///
/// `Display` prints E.164 (`+33612345678`); `Debug` prints only [`masked`](Self::masked), so that
/// a logged payment never shows a full number.
///
/// # Examples
///
/// ```
/// let phone: buyster::PhoneNumber = "06.12.34.56.78".parse()?;
/// assert_eq!(phone.to_string(), "+33612345678");
/// assert_eq!(phone.masked(), "+33 6 •• •• •• 78");
/// # Ok::<(), buyster::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    /// `+`, the calling code, the national number.
    e164: String,
    /// Digits of the calling code (1 to 3).
    code_len: u8,
}

impl PhoneNumber {
    /// Parses `input`, reading a national form (trunk `0`, no `+`) as a number of `region`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPhone`] naming the problem.
    pub fn parse_in(input: &str, region: Region) -> Result<Self, Error> {
        parse(input, region).map_err(Error::InvalidPhone)
    }

    /// A number as the engine stored it (E.164 text), checked for shape only.
    pub(crate) fn from_record(e164: &str) -> Option<Self> {
        let digits = e164.strip_prefix('+')?;
        let well_formed =
            (5..=MAX_DIGITS).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        let code_len = calling_code_len(digits).filter(|_| well_formed)?;
        Some(Self {
            e164: e164.to_owned(),
            code_len: u8::try_from(code_len).ok()?,
        })
    }

    /// The country calling code, for example 33.
    #[must_use]
    pub fn calling_code(&self) -> u16 {
        self.digits()
            .get(..usize::from(self.code_len))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }

    /// The number for display to its owner: the calling code, the first and the last two
    /// digits, for example `+33 6 •• •• •• 78`.
    #[must_use]
    pub fn masked(&self) -> String {
        let (code, national) = self.digits().split_at(usize::from(self.code_len));
        let hidden = national.len().saturating_sub(3);
        let mut out = format!("+{code} {}", national.get(..1).unwrap_or_default());
        for pair in 0..hidden.div_ceil(2) {
            let width = hidden.saturating_sub(pair.saturating_mul(2)).min(2);
            out.push(' ');
            out.push_str(&"•".repeat(width));
        }
        out.push(' ');
        out.push_str(
            national
                .get(national.len().saturating_sub(2)..)
                .unwrap_or_default(),
        );
        out
    }

    /// The E.164 text, `+33612345678`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.e164
    }

    fn digits(&self) -> &str {
        self.e164.get(1..).unwrap_or_default()
    }
}

impl FromStr for PhoneNumber {
    type Err = Error;

    /// Parses with [`Region::FRANCE`] for national forms.
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse_in(s, Region::FRANCE)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

const MAX_DIGITS: usize = 15;
const MIN_NATIONAL_DIGITS: usize = 4;

fn parse(input: &str, region: Region) -> Result<PhoneNumber, PhoneError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(PhoneError::Empty);
    }
    let (international, digits) = digits_of(input)?;
    let digits = if international {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else {
        national_to_international(&digits, region)?
    };
    build(&digits)
}

/// The digits of `input` and whether it started with `+`; separators and one `(0)` dropped.
fn digits_of(input: &str) -> Result<(bool, String), PhoneError> {
    let (international, rest) = match input.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, input),
    };
    let rest = rest.replacen("(0)", "", 1);
    let mut digits = String::with_capacity(MAX_DIGITS);
    for c in rest.chars() {
        match c {
            '0'..='9' if digits.len() <= MAX_DIGITS + 2 => digits.push(c),
            '0'..='9' => return Err(PhoneError::TooLong),
            ' ' | '.' | '-' | '/' | '(' | ')' | '\u{a0}' => {}
            _ => return Err(PhoneError::InvalidCharacter),
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    Ok((international, digits))
}

fn national_to_international(digits: &str, region: Region) -> Result<String, PhoneError> {
    let national = if region.trunk_zero {
        digits
            .strip_prefix('0')
            .ok_or(PhoneError::MissingCountryCode)?
    } else {
        digits
    };
    Ok(format!("{}{national}", region.calling_code))
}

fn build(digits: &str) -> Result<PhoneNumber, PhoneError> {
    if digits.starts_with('0') {
        return Err(PhoneError::InvalidCountryCode);
    }
    let code_len = calling_code_len(digits).ok_or(PhoneError::InvalidCountryCode)?;
    let (code, national) = digits.split_at(code_len);
    let national = strip_misplaced_trunk(code, national)?;
    check_length(code, national)?;
    Ok(PhoneNumber {
        e164: format!("+{code}{national}"),
        code_len: u8::try_from(code_len).unwrap_or(3),
    })
}

/// `+33 06 12 34 56 78` is a common slip for `+33 6 12 34 56 78`: in countries that dial a
/// trunk `0` before national numbers, no national number starts with it, so it is dropped.
fn strip_misplaced_trunk<'a>(code: &str, national: &'a str) -> Result<&'a str, PhoneError> {
    const TRUNK_ZERO: [&str; 44] = [
        "20", "27", "31", "32", "33", "36", "41", "43", "44", "46", "49", "61", "62", "63", "64",
        "66", "81", "82", "84", "86", "90", "91", "92", "98", "212", "213", "234", "254", "262",
        "353", "358", "380", "590", "594", "596", "880", "886", "961", "962", "963", "964", "966",
        "971", "972",
    ];
    if !TRUNK_ZERO.contains(&code) {
        return Ok(national);
    }
    match national.strip_prefix('0') {
        Some(rest) if rest.starts_with('0') => Err(PhoneError::MisplacedZero),
        Some(rest) => Ok(rest),
        None => Ok(national),
    }
}

fn check_length(code: &str, national: &str) -> Result<(), PhoneError> {
    let total = code.len().saturating_add(national.len());
    let (min, max) = match fixed_national_len(code) {
        Some(len) => (len, len),
        None => (MIN_NATIONAL_DIGITS, MAX_DIGITS.saturating_sub(code.len())),
    };
    if national.len() < min {
        Err(PhoneError::TooShort)
    } else if national.len() > max || total > MAX_DIGITS {
        Err(PhoneError::TooLong)
    } else {
        Ok(())
    }
}

/// National significant number length of countries where it is fixed.
fn fixed_national_len(code: &str) -> Option<usize> {
    match code {
        "1" => Some(10),
        "33" | "34" | "41" => Some(9),
        _ => None,
    }
}

/// Length of the ITU-T E.164 country calling code that starts `digits`: 1 for zones 1 and 7,
/// 2 or 3 for the codes assigned to countries and to mobile satellite services; `None` for a
/// code that is unassigned or reaches no mobile (freephone, shared-cost and the like).
fn calling_code_len(digits: &str) -> Option<usize> {
    const TWO_DIGIT: [&str; 44] = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    const THREE_DIGIT: [&str; 165] = [
        "211", "212", "213", "216", "218", "220", "221", "222", "223", "224", "225", "226", "227",
        "228", "229", "230", "231", "232", "233", "234", "235", "236", "237", "238", "239", "240",
        "241", "242", "243", "244", "245", "246", "247", "248", "249", "250", "251", "252", "253",
        "254", "255", "256", "257", "258", "260", "261", "262", "263", "264", "265", "266", "267",
        "268", "269", "290", "291", "297", "298", "299", "350", "351", "352", "353", "354", "355",
        "356", "357", "358", "359", "370", "371", "372", "373", "374", "375", "376", "377", "378",
        "379", "380", "381", "382", "383", "385", "386", "387", "389", "420", "421", "423", "500",
        "501", "502", "503", "504", "505", "506", "507", "508", "509", "590", "591", "592", "593",
        "594", "595", "596", "597", "598", "599", "670", "672", "673", "674", "675", "676", "677",
        "678", "679", "680", "681", "682", "683", "685", "686", "687", "688", "689", "690", "691",
        "692", "850", "852", "853", "855", "856", "870", "880", "881", "882", "883", "886", "960",
        "961", "962", "963", "964", "965", "966", "967", "968", "970", "971", "972", "973", "974",
        "975", "976", "977", "992", "993", "994", "995", "996", "998",
    ];
    let first = digits.get(..1)?;
    if first == "1" || first == "7" {
        return Some(1);
    }
    if TWO_DIGIT.contains(&digits.get(..2)?) {
        return Some(2);
    }
    THREE_DIGIT.contains(&digits.get(..3)?).then_some(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(input: &str) -> String {
        input.parse::<PhoneNumber>().unwrap().to_string()
    }

    fn refusal(input: &str) -> PhoneError {
        match input.parse::<PhoneNumber>() {
            Err(Error::InvalidPhone(e)) => e,
            other => panic!("{input:?} gave {other:?}"),
        }
    }

    #[test]
    fn reads_french_forms() {
        for input in [
            "+33612345678",
            "+33 6 12 34 56 78",
            "06 12 34 56 78",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "0612345678",
            "0033612345678",
            "00 33 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "+33 06 12 34 56 78",
            " +33\u{a0}6 12 34 56 78 ",
        ] {
            assert_eq!(e164(input), "+33612345678", "{input:?}");
        }
    }

    #[test]
    fn reads_other_countries() {
        assert_eq!(e164("+44 7911 123456"), "+447911123456");
        assert_eq!(e164("+1 (415) 555-2671"), "+14155552671");
        assert_eq!(e164("+352 621 123 456"), "+352621123456");
        assert_eq!(e164("+262 692 12 34 56"), "+262692123456");
        let be = PhoneNumber::parse_in("0470 12 34 56", Region::BELGIUM).unwrap();
        assert_eq!(be.to_string(), "+32470123456");
        let es = PhoneNumber::parse_in("612 345 678", Region::SPAIN).unwrap();
        assert_eq!(es.to_string(), "+34612345678");
        assert_eq!(be.calling_code(), 32);
        assert_eq!(
            e164("+1 415 555 2671")
                .parse::<PhoneNumber>()
                .unwrap()
                .calling_code(),
            1
        );
        assert_eq!(
            "+352621123456"
                .parse::<PhoneNumber>()
                .unwrap()
                .calling_code(),
            352
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        assert_eq!(refusal(""), PhoneError::Empty);
        assert_eq!(refusal("  "), PhoneError::Empty);
        assert_eq!(refusal("+"), PhoneError::Empty);
        assert_eq!(refusal("06 12 34 56 7a"), PhoneError::InvalidCharacter);
        assert_eq!(refusal("06 12 34 56 78 #"), PhoneError::InvalidCharacter);
        assert_eq!(refusal("++33612345678"), PhoneError::InvalidCharacter);
        assert_eq!(refusal("612345678"), PhoneError::MissingCountryCode);
        assert_eq!(refusal("+0612345678"), PhoneError::InvalidCountryCode);
        assert_eq!(refusal("000612345678"), PhoneError::InvalidCountryCode);
        assert_eq!(refusal("06 12 34 56 7"), PhoneError::TooShort);
        assert_eq!(refusal("06 12 34 56 789"), PhoneError::TooLong);
        assert_eq!(refusal("+44 12"), PhoneError::TooShort);
        assert_eq!(refusal("+44 1234 567 890 1234"), PhoneError::TooLong);
        assert_eq!(e164("+44 1234 567 890 123"), "+441234567890123");
        assert_eq!(refusal(&"9".repeat(40)), PhoneError::TooLong);
        assert_eq!(refusal("+2"), PhoneError::InvalidCountryCode);
        assert_eq!(refusal("+31 00 1234 5678"), PhoneError::MisplacedZero);
        assert_eq!(refusal("+33 00 12 34 56 78"), PhoneError::MisplacedZero);
        assert_eq!(refusal("+999 1234 5678"), PhoneError::InvalidCountryCode);
        assert_eq!(refusal("+800 1234 5678"), PhoneError::InvalidCountryCode);
        assert_eq!(refusal("+210 0000 000"), PhoneError::InvalidCountryCode);
        assert_eq!(refusal("+1 4155"), PhoneError::TooShort);
        assert_eq!(refusal("+1 415 555 26710"), PhoneError::TooLong);
    }

    #[test]
    fn a_trunk_zero_after_the_country_code_is_dropped_where_countries_dial_one() {
        assert_eq!(e164("+44 07911 123456"), "+447911123456");
        assert_eq!(e164("+49 0151 23456789"), "+4915123456789");
        assert_eq!(e164("0044 07911 123456"), "+447911123456");
        // Italy keeps its leading 0 in international form.
        assert_eq!(e164("+39 06 1234 5678"), "+390612345678");
        // Côte d'Ivoire numbers start with 0.
        assert_eq!(e164("+225 07 12 34 56 78"), "+2250712345678");
    }

    #[test]
    fn errors_never_echo_the_number() {
        let err = "06 12 34 56 789".parse::<PhoneNumber>().unwrap_err();
        assert!(!err.to_string().contains("789"));
        assert!(!format!("{err:?}").contains("789"));
    }

    #[test]
    fn masks_all_but_the_ends() {
        let fr: PhoneNumber = "+33612345678".parse().unwrap();
        assert_eq!(fr.masked(), "+33 6 •• •• •• 78");
        assert_eq!(format!("{fr:?}"), "PhoneNumber(+33 6 •• •• •• 78)");
        let uk: PhoneNumber = "+447911123456".parse().unwrap();
        assert_eq!(uk.masked(), "+44 7 •• •• •• • 56");
        assert!(!format!("{uk:?}").contains("7911123456"));
    }

    #[test]
    fn stored_numbers_read_back_and_odd_ones_do_not() {
        for input in ["+33612345678", "+447911123456", "+14155552671"] {
            let phone: PhoneNumber = input.parse().unwrap();
            assert_eq!(PhoneNumber::from_record(phone.as_str()), Some(phone));
        }
        for odd in [
            "33612345678",
            "+",
            "+3361234567a",
            "+9991234567",
            "+1234567890123456",
        ] {
            assert_eq!(PhoneNumber::from_record(odd), None, "{odd}");
        }
    }

    #[test]
    fn display_round_trips() {
        for input in [
            "+33612345678",
            "+447911123456",
            "+14155552671",
            "+352621123456",
        ] {
            let phone: PhoneNumber = input.parse().unwrap();
            assert_eq!(phone.to_string().parse::<PhoneNumber>().unwrap(), phone);
            assert_eq!(phone.as_str(), input);
        }
    }
}
