//! What the bank debits: a [`FundingSource`].

use core::fmt;
use core::str::FromStr;

use crate::Error;
use crate::codec::{Reader, Writer};
use crate::display_text::TextError;
use crate::iban::Iban;

const IBAN: u8 = 1;
const TOKEN: u8 = 2;

/// The buyer's account that [`Bank::debit`](crate::Bank::debit) charges: an IBAN, or an opaque
/// token the host's bank integration understands (a mandate reference, a vaulted account id).
///
/// `Display` prints the IBAN in paper form or `token:` and the token; `FromStr` reads both.
/// `Debug` masks either, never showing it whole: see [`Iban::masked`] and [`FundingToken`].
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FundingSource {
    /// A bank account number.
    Iban(Iban),
    /// An opaque reference held by the bank integration.
    Token(FundingToken),
}

impl FundingSource {
    /// Writes the source into a record: its kind, then its text.
    pub(crate) fn write(&self, w: &mut Writer) {
        w.u8(self.record_kind());
        w.text(self.record_text());
    }

    /// Writes the source into a field of fixed size, whatever its kind and length, so that
    /// every account record has the same size.
    pub(crate) fn write_padded(&self, w: &mut Writer) {
        w.u8(self.record_kind());
        w.padded_text(self.record_text(), FundingToken::RECORD_WIDTH);
    }

    /// Reads a source written by [`FundingSource::write`].
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let kind = r.u8()?;
        Self::from_record(kind, r.text()?)
    }

    /// The source of a verified record, checked for shape: a record yields only valid values.
    pub(crate) fn from_record(kind: u8, text: &str) -> Result<Self, Error> {
        let source = match kind {
            IBAN => Iban::from_record(text).map(Self::Iban),
            TOKEN => text.parse().ok().map(Self::Token),
            _ => None,
        };
        source.ok_or(Error::Tampered)
    }

    fn record_kind(&self) -> u8 {
        match self {
            Self::Iban(_) => IBAN,
            Self::Token(_) => TOKEN,
        }
    }

    fn record_text(&self) -> &str {
        match self {
            Self::Iban(iban) => iban.as_str(),
            Self::Token(token) => token.as_str(),
        }
    }
}

impl fmt::Display for FundingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Iban(iban) => iban.fmt(f),
            Self::Token(token) => write!(f, "token:{}", token.0),
        }
    }
}

impl fmt::Debug for FundingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Iban(iban) => iban.fmt(f),
            Self::Token(token) => token.fmt(f),
        }
    }
}

impl FromStr for FundingSource {
    type Err = Error;

    /// Reads `token:<token>` as a [`FundingToken`], anything else as an [`Iban`].
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().strip_prefix("token:") {
            Some(token) => token.parse().map(Self::Token),
            None => s.parse().map(Self::Iban),
        }
    }
}

/// An opaque funding reference: 1 to 128 printable ASCII characters, no spaces.
///
/// # Security
///
/// `Display` and [`as_str`](Self::as_str) give the whole token. `Debug` never does: it shows
/// the last 4 characters only when at least 8 stay hidden (a token of 12 characters or more,
/// `FundingToken(…0042)`), and none of a shorter one (`FundingToken(…)`), so that a logged
/// account or payment never holds a token whole, nor nearly whole.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FundingToken(String);

impl FundingToken {
    /// The longest token accepted.
    pub const MAX_LEN: usize = 128;

    /// The width of the field that holds a token in an account record: [`Self::MAX_LEN`].
    pub(crate) const RECORD_WIDTH: u16 = 128;

    /// Characters of the end of a token that `Debug` may show.
    const SHOWN: usize = 4;

    /// Characters that stay hidden whenever `Debug` shows any.
    const MIN_HIDDEN: usize = 8;

    /// The token text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for FundingToken {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let refuse = |e| Err(Error::InvalidFundingToken(e));
        if s.is_empty() {
            refuse(TextError::Empty)
        } else if s.len() > Self::MAX_LEN {
            refuse(TextError::TooLong { max: Self::MAX_LEN })
        } else if !s.bytes().all(|b| b.is_ascii_graphic()) {
            refuse(TextError::ForbiddenCharacter)
        } else {
            Ok(Self(s.to_owned()))
        }
    }
}

impl fmt::Display for FundingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const _: () = assert!(FundingToken::RECORD_WIDTH as usize == FundingToken::MAX_LEN);

impl fmt::Debug for FundingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = self.0.chars().count().saturating_sub(Self::SHOWN);
        let tail: String = if hidden >= Self::MIN_HIDDEN {
            self.0.chars().skip(hidden).collect()
        } else {
            String::new()
        };
        write!(f, "FundingToken(…{tail})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_prints_both_kinds() {
        let iban: FundingSource = "FR76 3000 6000 0112 3456 7890 189".parse().unwrap();
        assert!(matches!(iban, FundingSource::Iban(_)));
        assert_eq!(iban.to_string(), "FR76 3000 6000 0112 3456 7890 189");
        let token: FundingSource = "token:mandate-2026-0042".parse().unwrap();
        assert_eq!(token.to_string(), "token:mandate-2026-0042");
        for source in [iban, token] {
            assert_eq!(source.to_string().parse::<FundingSource>().unwrap(), source);
        }
    }

    #[test]
    fn debug_masks() {
        let token: FundingSource = "token:mandate-2026-0042".parse().unwrap();
        assert_eq!(format!("{token:?}"), "FundingToken(…0042)");
        let debug = |token: &str| format!("{:?}", token.parse::<FundingToken>().unwrap());
        assert_eq!(debug("abcdefgh0042"), "FundingToken(…0042)", "8 hidden");
        assert_eq!(debug("abcdefg0042"), "FundingToken(…)", "7 would be hidden");
        assert_eq!(debug("0042"), "FundingToken(…)");
        assert_eq!(debug("7"), "FundingToken(…)");
        let iban: FundingSource = "FR7630006000011234567890189".parse().unwrap();
        assert_eq!(format!("{iban:?}"), "Iban(FR76 •••• 189)");
    }

    #[test]
    fn refusals_name_the_problem() {
        let token = |s: &str| s.parse::<FundingToken>().unwrap_err();
        assert!(matches!(
            token(""),
            Error::InvalidFundingToken(TextError::Empty)
        ));
        assert!(matches!(
            token("a b"),
            Error::InvalidFundingToken(TextError::ForbiddenCharacter)
        ));
        assert!(matches!(
            token("é"),
            Error::InvalidFundingToken(TextError::ForbiddenCharacter)
        ));
        assert!(matches!(
            token(&"x".repeat(129)),
            Error::InvalidFundingToken(TextError::TooLong { max: 128 })
        ));
        assert!(matches!(
            "token:".parse::<FundingSource>(),
            Err(Error::InvalidFundingToken(TextError::Empty))
        ));
        assert!(matches!(
            "FR00".parse::<FundingSource>(),
            Err(Error::InvalidIban(_))
        ));
    }
}
