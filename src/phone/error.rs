//! Why a phone number was refused: [`PhoneError`], and the [`NumberKind`] of a number that is
//! valid but cannot receive an SMS.

use core::fmt;

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
    /// The digits after `+` or the international prefix do not start with a country calling
    /// code of the numbering plan.
    #[error("it does not start with a valid country calling code")]
    InvalidCountryCode,
    /// A valid number that cannot receive an SMS: a landline, a toll-free or premium-rate
    /// number, and so on.
    #[error("it is not a mobile number: it is {0}")]
    NotMobile(NumberKind),
    /// More digits than any number of that country has.
    #[error("it has too many digits")]
    TooLong,
    /// Fewer digits than any number of that country has.
    #[error("it has too few digits")]
    TooShort,
    /// A length that the country's numbers can have, but no number of the country starts with
    /// these digits (an unassigned range, such as French numbers starting with `07 00`).
    #[error("it is in no range of numbers of that country")]
    UnknownRange,
    /// Digits that start like a number of the country but are not as many as such numbers
    /// have (`+44 7924 12345`: a British mobile has one more), or a length between the country's
    /// shortest and longest that none of its numbers has.
    #[error("it has the wrong number of digits for a number of that country")]
    WrongLength,
}

/// What a valid number that is not a mobile is, by libphonenumber's number types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NumberKind {
    /// A landline (geographic) number.
    FixedLine,
    /// A toll-free number.
    TollFree,
    /// A premium-rate number.
    PremiumRate,
    /// A shared-cost number.
    SharedCost,
    /// A number of a voice over IP service.
    Voip,
    /// A personal number, forwarded to wherever its holder says.
    PersonalNumber,
    /// A pager.
    Pager,
    /// A universal access number, reaching a company wherever it is.
    Uan,
    /// A number reaching a voicemail box directly.
    Voicemail,
}

impl fmt::Display for NumberKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::FixedLine => "a landline",
            Self::TollFree => "a toll-free number",
            Self::PremiumRate => "a premium-rate number",
            Self::SharedCost => "a shared-cost number",
            Self::Voip => "a voice over IP number",
            Self::PersonalNumber => "a personal number",
            Self::Pager => "a pager",
            Self::Uan => "a universal access number",
            Self::Voicemail => "a voicemail number",
        })
    }
}
