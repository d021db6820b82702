//! Money: [`Amount`] in integer minor units of a [`Currency`]. No floating point anywhere.

use core::fmt;
use core::num::NonZeroU64;
use core::str::FromStr;

use crate::Error;
use crate::language::Language;

/// Why an amount was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// Nothing was given.
    #[error("it is empty")]
    Empty,
    /// No currency code or symbol (`EUR`, `€`, …) before or after the number.
    #[error("it names no currency")]
    MissingCurrency,
    /// The currency is not one of [`Currency`]'s.
    #[error("the currency is not supported")]
    UnknownCurrency,
    /// The number is not digits with an optional decimal separator and digit grouping.
    #[error("the number is malformed")]
    Malformed,
    /// More decimals than the currency's minor unit has.
    #[error("it has more than {max} decimals")]
    TooManyDecimals {
        /// Decimals of the currency's minor unit.
        max: u8,
    },
    /// A minus sign: a payment debits a positive amount.
    #[error("it is negative")]
    Negative,
    /// Zero: nothing to pay.
    #[error("it is zero")]
    Zero,
    /// Above [`Amount::MAX_MINOR_UNITS`].
    #[error("it is too large")]
    TooLarge,
    /// Two amounts of different currencies were combined.
    #[error("the currencies differ")]
    CurrencyMismatch,
}

/// A currency, with its ISO 4217 code, symbol and minor unit.
#[allow(clippy::upper_case_acronyms, reason = "ISO 4217 codes are upper case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Currency {
    /// Euro.
    EUR,
    /// Pound sterling.
    GBP,
    /// Swiss franc.
    CHF,
    /// United States dollar.
    USD,
}

impl Currency {
    const ALL: [Self; 4] = [Self::EUR, Self::GBP, Self::CHF, Self::USD];

    /// The ISO 4217 code, `EUR`.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::EUR => "EUR",
            Self::GBP => "GBP",
            Self::CHF => "CHF",
            Self::USD => "USD",
        }
    }

    /// The usual symbol, `€`.
    #[must_use]
    pub const fn symbol(self) -> &'static str {
        match self {
            Self::EUR => "€",
            Self::GBP => "£",
            Self::CHF => "CHF",
            Self::USD => "$",
        }
    }

    /// Decimals of the minor unit (2 for cents).
    #[must_use]
    pub const fn minor_digits(self) -> u8 {
        2
    }

    fn minor_per_major(self) -> NonZeroU64 {
        const TEN: NonZeroU64 = NonZeroU64::MIN.saturating_add(9);
        TEN.saturating_pow(u32::from(self.minor_digits()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = Error;

    /// Parses an ISO 4217 code, in either case.
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(s.trim()))
            .ok_or(Error::InvalidAmount(AmountError::UnknownCurrency))
    }
}

/// A positive amount of money: integer minor units (cents) of a [`Currency`].
///
/// `Display` prints `49.90 EUR`; [`Amount::localized`] prints `49,90 €` in French and `€49.90`
/// in English. `FromStr` reads all three, with digit grouping (`1 234,56 €`, `€1,234.56`).
///
/// # Examples
///
/// ```
/// use buyster::{Amount, Currency, Language};
/// let price = Amount::new(4990, Currency::EUR)?;
/// assert_eq!(price.localized(Language::French), "49,90 €");
/// assert_eq!(price.localized(Language::English), "€49.90");
/// assert_eq!("49,90 €".parse::<Amount>()?, price);
/// # Ok::<(), buyster::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Amount {
    minor_units: u64,
    currency: Currency,
}

impl Amount {
    /// The largest amount accepted: ten trillion major units.
    pub const MAX_MINOR_UNITS: u64 = 1_000_000_000_000_000;

    /// `minor_units` cents (or pence, …) of `currency`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidAmount`]: [`AmountError::Zero`] for 0, [`AmountError::TooLarge`] above
    /// [`Amount::MAX_MINOR_UNITS`].
    pub const fn new(minor_units: u64, currency: Currency) -> Result<Self, Error> {
        if minor_units == 0 {
            Err(Error::InvalidAmount(AmountError::Zero))
        } else if minor_units > Self::MAX_MINOR_UNITS {
            Err(Error::InvalidAmount(AmountError::TooLarge))
        } else {
            Ok(Self {
                minor_units,
                currency,
            })
        }
    }

    /// The amount in minor units.
    #[must_use]
    pub const fn minor_units(self) -> u64 {
        self.minor_units
    }

    /// The currency.
    #[must_use]
    pub const fn currency(self) -> Currency {
        self.currency
    }

    /// `self + other`.
    ///
    /// # Errors
    ///
    /// [`AmountError::CurrencyMismatch`] or [`AmountError::TooLarge`].
    pub fn checked_add(self, other: Self) -> Result<Self, Error> {
        if self.currency != other.currency {
            return Err(Error::InvalidAmount(AmountError::CurrencyMismatch));
        }
        let sum = self
            .minor_units
            .checked_add(other.minor_units)
            .ok_or(Error::InvalidAmount(AmountError::TooLarge))?;
        Self::new(sum, self.currency)
    }

    /// The amount as a buyer reads it: `1 234,56 €` in French, `€1,234.56` in English.
    #[must_use]
    pub fn localized(self, language: Language) -> String {
        let (major, minor) = self.split();
        let digits = usize::from(self.currency.minor_digits());
        let symbol = self.currency.symbol();
        match language {
            Language::French => format!("{},{minor:0digits$} {symbol}", grouped(major, ' ')),
            Language::English if symbol.chars().count() > 1 => {
                format!("{symbol} {}.{minor:0digits$}", grouped(major, ','))
            }
            Language::English => format!("{symbol}{}.{minor:0digits$}", grouped(major, ',')),
        }
    }

    fn split(self) -> (u64, u64) {
        let per = self.currency.minor_per_major();
        (self.minor_units / per, self.minor_units % per)
    }
}

fn grouped(value: u64, separator: char) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len().saturating_mul(2));
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len().saturating_sub(i)) % 3 == 0 {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (major, minor) = self.split();
        let digits = usize::from(self.currency.minor_digits());
        write!(f, "{major}.{minor:0digits$} {}", self.currency.code())
    }
}

impl FromStr for Amount {
    type Err = Error;

    /// Reads `49.90 EUR`, `EUR 49.90`, `49,90 €`, `€49.90`, `1 234,56 €`, `€1,234.56`, `12 EUR`.
    ///
    /// The last `.` or `,` is the decimal separator; digit groups of three may be separated by
    /// spaces, or by the other of `.` and `,`. Anything ambiguous is refused rather than guessed.
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Error::InvalidAmount(AmountError::Empty));
        }
        let (currency, number) = split_currency(s)?;
        let minor =
            parse_number(number.trim(), currency.minor_digits()).map_err(Error::InvalidAmount)?;
        Self::new(minor, currency)
    }
}

fn split_currency(s: &str) -> Result<(Currency, &str), Error> {
    for currency in Currency::ALL {
        for token in [currency.code(), currency.symbol()] {
            if let Some(rest) = strip_either_end(s, token) {
                return Ok((currency, rest));
            }
        }
    }
    // Letters or a symbol we do not know name some currency; bare digits name none.
    let names_one = s
        .chars()
        .any(|c| c.is_alphabetic() || !(c.is_ascii() || SPACES.contains(&c)));
    let error = if names_one {
        AmountError::UnknownCurrency
    } else {
        AmountError::MissingCurrency
    };
    Err(Error::InvalidAmount(error))
}

/// `s` without `token` at its start or its end, in any ASCII case.
fn strip_either_end<'a>(s: &'a str, token: &str) -> Option<&'a str> {
    let n = token.len();
    let head = s.get(..n).filter(|head| head.eq_ignore_ascii_case(token));
    if head.is_some() {
        return s.get(n..);
    }
    let at = s.len().checked_sub(n)?;
    let tail = s.get(at..).filter(|tail| tail.eq_ignore_ascii_case(token));
    tail.and_then(|_| s.get(..at))
}

const SPACES: [char; 3] = [' ', '\u{a0}', '\u{202f}'];

fn parse_number(s: &str, decimals: u8) -> Result<u64, AmountError> {
    if s.starts_with('-') {
        return Err(AmountError::Negative);
    }
    let (integer, fraction, decimal) = match s.rfind(['.', ',']) {
        Some(at) => {
            let (integer, fraction) = s.split_at(at);
            let mut fraction = fraction.chars();
            let decimal = fraction.next();
            (integer, fraction.as_str(), decimal)
        }
        None => (s, "", None),
    };
    let grouping = match decimal {
        Some('.') => ',',
        _ => '.',
    };
    let major = parse_grouped(integer, grouping)?;
    let minor = parse_fraction(fraction, decimal.is_some(), decimals)?;
    let per = 10u64.pow(u32::from(decimals));
    major
        .checked_mul(per)
        .and_then(|m| m.checked_add(minor))
        .ok_or(AmountError::TooLarge)
}

/// Digits, in groups of three after the first when a grouping character is used (one kind only).
fn parse_grouped(s: &str, grouping: char) -> Result<u64, AmountError> {
    let separator = s.chars().find(|c| !c.is_ascii_digit());
    let groups: Vec<&str> = match separator {
        Some(sep) if sep == grouping || SPACES.contains(&sep) => s.split(sep).collect(),
        Some(_) => return Err(AmountError::Malformed),
        None => vec![s],
    };
    let well_formed = groups.iter().enumerate().all(|(i, group)| {
        let digits = group.bytes().all(|b| b.is_ascii_digit());
        let len_ok = if i == 0 {
            !group.is_empty() && (groups.len() == 1 || group.len() <= 3)
        } else {
            group.len() == 3
        };
        digits && len_ok
    });
    if !well_formed {
        return Err(AmountError::Malformed);
    }
    groups.concat().parse().map_err(|_| AmountError::TooLarge)
}

fn parse_fraction(s: &str, present: bool, decimals: u8) -> Result<u64, AmountError> {
    if !present {
        return Ok(0);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError::Malformed);
    }
    if s.len() > usize::from(decimals) {
        return Err(AmountError::TooManyDecimals { max: decimals });
    }
    let padding = usize::from(decimals).saturating_sub(s.len());
    format!("{s}{}", "0".repeat(padding))
        .parse()
        .map_err(|_| AmountError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: u64) -> Amount {
        Amount::new(minor, Currency::EUR).unwrap()
    }

    fn refusal(input: &str) -> AmountError {
        match input.parse::<Amount>() {
            Err(Error::InvalidAmount(e)) => e,
            other => panic!("{input:?} gave {other:?}"),
        }
    }

    #[test]
    fn new_refuses_zero_and_huge() {
        assert!(matches!(
            Amount::new(0, Currency::EUR),
            Err(Error::InvalidAmount(AmountError::Zero))
        ));
        assert!(matches!(
            Amount::new(Amount::MAX_MINOR_UNITS + 1, Currency::EUR),
            Err(Error::InvalidAmount(AmountError::TooLarge))
        ));
        assert_eq!(
            eur(Amount::MAX_MINOR_UNITS).minor_units(),
            Amount::MAX_MINOR_UNITS
        );
    }

    #[test]
    fn formats_in_french_and_english() {
        assert_eq!(eur(4990).localized(Language::French), "49,90 €");
        assert_eq!(eur(4990).localized(Language::English), "€49.90");
        assert_eq!(eur(5).localized(Language::French), "0,05 €");
        assert_eq!(
            eur(123_456_789).localized(Language::French),
            "1 234 567,89 €"
        );
        assert_eq!(
            eur(123_456_789).localized(Language::English),
            "€1,234,567.89"
        );
        let chf = Amount::new(100_000, Currency::CHF).unwrap();
        assert_eq!(chf.localized(Language::English), "CHF 1,000.00");
        assert_eq!(chf.localized(Language::French), "1 000,00 CHF");
        assert_eq!(eur(4990).to_string(), "49.90 EUR");
        assert_eq!(eur(100).to_string(), "1.00 EUR");
    }

    #[test]
    fn parses_the_usual_forms() {
        for (input, minor) in [
            ("49.90 EUR", 4990),
            ("EUR 49.90", 4990),
            ("49,90 €", 4990),
            ("49,90€", 4990),
            ("€49.90", 4990),
            ("€ 49.9", 4990),
            ("12 EUR", 1200),
            ("0,05 €", 5),
            ("1 234,56 €", 123_456),
            ("1\u{202f}234,56 €", 123_456),
            ("€1,234.56", 123_456),
            ("1.234.567,89 EUR", 123_456_789),
            ("1234567.89 EUR", 123_456_789),
        ] {
            assert_eq!(input.parse::<Amount>().unwrap(), eur(minor), "{input:?}");
        }
        assert_eq!("£5.00".parse::<Amount>().unwrap().currency(), Currency::GBP);
        assert_eq!("$5".parse::<Amount>().unwrap().currency(), Currency::USD);
        assert_eq!("49.90 eur".parse::<Amount>().unwrap(), eur(4990));
        assert_eq!(
            "chf 10".parse::<Amount>().unwrap().currency(),
            Currency::CHF
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        assert_eq!(refusal(""), AmountError::Empty);
        assert_eq!(refusal("49.90"), AmountError::MissingCurrency);
        assert_eq!(refusal("49.90 XYZ"), AmountError::UnknownCurrency);
        assert_eq!(refusal("-5 EUR"), AmountError::Negative);
        assert_eq!(refusal("0 EUR"), AmountError::Zero);
        assert_eq!(refusal("0,00 €"), AmountError::Zero);
        assert_eq!(refusal("1,234 €"), AmountError::TooManyDecimals { max: 2 });
        assert_eq!(
            refusal("1.999 EUR"),
            AmountError::TooManyDecimals { max: 2 }
        );
        assert_eq!(refusal("1,2,3.45 EUR"), AmountError::Malformed);
        assert_eq!(refusal("12 34,56 €"), AmountError::Malformed);
        assert_eq!(refusal("1.234.56 EUR"), AmountError::Malformed);
        assert_eq!(refusal("4x.90 EUR"), AmountError::Malformed);
        assert_eq!(refusal("49. EUR"), AmountError::Malformed);
        assert_eq!(refusal("EUR"), AmountError::Malformed);
        assert_eq!(refusal("1e3 EUR"), AmountError::Malformed);
        assert_eq!(refusal("99999999999999999999 EUR"), AmountError::TooLarge);
        assert_eq!(refusal("10000000000001 EUR"), AmountError::TooLarge);
    }

    #[test]
    fn every_format_round_trips() {
        for minor in [
            1,
            5,
            99,
            100,
            4990,
            123_456,
            100_000_000,
            Amount::MAX_MINOR_UNITS,
        ] {
            for currency in Currency::ALL {
                let amount = Amount::new(minor, currency).unwrap();
                for text in [
                    amount.to_string(),
                    amount.localized(Language::French),
                    amount.localized(Language::English),
                ] {
                    assert_eq!(text.parse::<Amount>().unwrap(), amount, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn checked_add_keeps_currency_and_bounds() {
        assert_eq!(eur(150).checked_add(eur(250)).unwrap(), eur(400));
        let gbp = Amount::new(1, Currency::GBP).unwrap();
        assert!(matches!(
            eur(1).checked_add(gbp),
            Err(Error::InvalidAmount(AmountError::CurrencyMismatch))
        ));
        assert!(matches!(
            eur(Amount::MAX_MINOR_UNITS).checked_add(eur(1)),
            Err(Error::InvalidAmount(AmountError::TooLarge))
        ));
    }

    #[test]
    fn currency_codes_parse() {
        assert_eq!("eur".parse::<Currency>().unwrap(), Currency::EUR);
        assert_eq!(Currency::CHF.to_string(), "CHF");
        assert!(matches!(
            "XXX".parse::<Currency>(),
            Err(Error::InvalidAmount(AmountError::UnknownCurrency))
        ));
    }
}
