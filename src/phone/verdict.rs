//! Whether a parsed number can receive an SMS, by the plan of its country; if not, why.

use super::parse::Parsed;
use super::pattern;
use super::plan;
use super::territory::{Length, NumberType};
use super::{NumberKind, PhoneError};

/// What the plan makes of a parsed number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// A mobile, or a number the plan cannot tell from a landline (libphonenumber's
    /// `MOBILE` and `FIXED_LINE_OR_MOBILE`).
    Mobile,
    /// A valid number of another type.
    NotMobile(NumberKind),
    /// Not a valid number (libphonenumber's `isValidNumber` is false).
    Invalid(PhoneError),
}

/// libphonenumber's `getRegionCodeForNumber` then `getNumberType`.
pub(super) fn judge(parsed: &Parsed) -> Verdict {
    let national = parsed.national.as_str();
    let kind = plan::territory_for_number(parsed.country_code, national)
        .map_or(NumberType::Unknown, |t| t.number_type(national));
    let not_mobile = |kind| Verdict::NotMobile(kind);
    match kind {
        NumberType::Mobile | NumberType::FixedLineOrMobile => Verdict::Mobile,
        NumberType::FixedLine => not_mobile(NumberKind::FixedLine),
        NumberType::TollFree => not_mobile(NumberKind::TollFree),
        NumberType::PremiumRate => not_mobile(NumberKind::PremiumRate),
        NumberType::SharedCost => not_mobile(NumberKind::SharedCost),
        NumberType::Voip => not_mobile(NumberKind::Voip),
        NumberType::PersonalNumber => not_mobile(NumberKind::PersonalNumber),
        NumberType::Pager => not_mobile(NumberKind::Pager),
        NumberType::Uan => not_mobile(NumberKind::Uan),
        NumberType::Voicemail => not_mobile(NumberKind::Voicemail),
        NumberType::Unknown => Verdict::Invalid(diagnose(parsed)),
    }
}

/// Why a number is not valid: its length, by the country's plan, or else whether its digits
/// begin like a number of the plan. Read on the number without its national prefix when
/// parsing kept the prefix only because the rest was too short (`06 12 34 56 7`).
fn diagnose(parsed: &Parsed) -> PhoneError {
    let national = parsed.without_prefix.as_deref().unwrap_or(&parsed.national);
    let Some(main) = plan::main_territory(parsed.country_code) else {
        return PhoneError::InvalidCountryCode;
    };
    match main.test_length(national) {
        Length::TooShort => PhoneError::TooShort,
        Length::TooLong => PhoneError::TooLong,
        Length::Invalid | Length::PossibleLocalOnly => PhoneError::WrongLength,
        Length::Possible if starts_like_a_number(parsed.country_code, national) => {
            PhoneError::WrongLength
        }
        Length::Possible => PhoneError::UnknownRange,
    }
}

/// Whether some number type of the country code's plan matches the start of `national`, or
/// could match it with more digits.
fn starts_like_a_number(country_code: u16, national: &str) -> bool {
    plan::territories_of(country_code)
        .flat_map(|territory| territory.type_descs())
        .filter(|desc| !desc.pattern.is_empty())
        .any(|desc| {
            pattern::could_continue(desc.pattern, national)
                || pattern::looking_at(desc.pattern, national).is_some()
        })
}
