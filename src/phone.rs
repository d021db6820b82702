//! Mobile numbers: [`PhoneNumber`] in E.164 form, accepted by libphonenumber's numbering plan,
//! and the [`Region`] that reads national forms.

mod error;
mod french_plan;
mod parse;
mod pattern;
mod pattern_syntax;
mod plan;
#[rustfmt::skip]
mod plan_data;
mod region;
mod territory;
mod verdict;

use core::fmt;
use core::str::FromStr;

pub use error::{NumberKind, PhoneError};
pub use region::Region;

use crate::Error;
use parse::Source;
use verdict::Verdict;

/// A number that can receive an SMS, in E.164 form (`+`, the country calling code, the national
/// significant number), as the SMS gateway needs it.
///
/// A number is accepted when the numbering plan of its country, as Google's libphonenumber
/// (release 9.0.33) describes it, makes it a mobile, or a number the plan cannot tell from a
/// landline (as in North America); anything else is refused with a [`PhoneError`] naming why:
/// a landline, toll-free, premium-rate, shared-cost, VoIP or other number that is not a mobile
/// ([`PhoneError::NotMobile`] with its [`NumberKind`]), an unassigned range
/// ([`PhoneError::UnknownRange`]), a length the country's numbers do not have
/// ([`PhoneError::TooShort`], [`PhoneError::TooLong`], [`PhoneError::WrongLength`]).
///
/// Reading follows libphonenumber's `PhoneNumberUtil.parse`: `+` and a country code
/// (`+33 6 12 34 56 78`); the region's international prefix (`0033 6 12 34 56 78` in France,
/// `011 33 …` in the United States); the region's own country code without `+`
/// (`33 6 12 34 56 78`); otherwise a national number of the region, with or without its
/// national prefix (`06 12 34 56 78`, `6 12 34 56 78`). A national prefix typed after the
/// country code is dropped where the country's plan has one (`+33 (0)6 12 34 56 78`,
/// `+44 07400 123456`, `+40 0712 034 567`) and kept where numbers start with it
/// (`+39 06 …`, `+225 07 …`). `FromStr` reads national forms as French; [`PhoneNumber::parse_in`]
/// as those of another [`Region`].
///
/// Metropolitan France and its overseas departments share one national plan (ARCEP's), where
/// libphonenumber gives each its own country code: a national form typed in one of them (France,
/// La Réunion, Mayotte, Guadeloupe, Saint-Barthélemy, Saint-Martin, Martinique, French Guiana)
/// that is not a valid number there is read as a national form of each of the others, France
/// first, and the first that makes it valid gives its country code. So `0692 12 34 56` typed in
/// France is La Réunion's `+262 692 12 34 56`, not an invalid `+33` number: 0692, 0693 La Réunion
/// and 0639 Mayotte (+262); 0690, 0691 Guadeloupe, Saint-Barthélemy and Saint-Martin (+590);
/// 0696, 0697 Martinique (+596); 0694 French Guiana (+594); the 07 09 mobiles of each. The
/// departments' landlines (0262, 0269, 0590, 0594, 0596) are refused as landlines. A number
/// typed with a country code keeps it: `+33 692 12 34 56` is refused.
///
/// Only digits, one `+` before them, and the separators space, no-break space, `.`, `-`, `/`,
/// `(` and `)` are read: letters (vanity numbers), extensions and `tel:` URIs, which
/// libphonenumber also reads, are refused as [`PhoneError::InvalidCharacter`].
///
/// `Display` prints E.164 (`+33612345678`); `Debug` prints only [`masked`](Self::masked), so that
/// a logged payment never shows a full number.
///
/// # Examples
///
/// ```
/// use buyster::{Error, NumberKind, PhoneError, PhoneNumber};
///
/// let phone: PhoneNumber = "06.12.34.56.78".parse()?;
/// assert_eq!(phone.to_string(), "+33612345678");
/// assert_eq!(phone.masked(), "+33 6 •• •• •• 78");
///
/// let reunion: PhoneNumber = "0692 12 34 56".parse()?;
/// assert_eq!(reunion.to_string(), "+262692123456");
///
/// let landline = "01 23 45 67 89".parse::<PhoneNumber>();
/// assert!(matches!(
///     landline,
///     Err(Error::InvalidPhone(PhoneError::NotMobile(NumberKind::FixedLine)))
/// ));
/// # Ok::<(), buyster::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    /// `+`, the calling code, the national significant number.
    e164: String,
    /// The calling code, whose digits follow the `+`.
    calling_code: u16,
}

impl PhoneNumber {
    /// Parses `input`, reading a number typed without its country code as a number of `region`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPhone`] naming the problem.
    pub fn parse_in(input: &str, region: Region) -> Result<Self, Error> {
        parse(input, region).map_err(Error::InvalidPhone)
    }

    /// A number as the engine stored it (E.164 text), checked for shape only: a number stays
    /// readable when the plan changes after it was accepted.
    pub(crate) fn from_record(e164: &str) -> Option<Self> {
        let digits = e164.strip_prefix('+')?;
        let well_formed =
            (5..=MAX_DIGITS).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        let (calling_code, _) = plan::country_code_at_start(digits).filter(|_| well_formed)?;
        Some(Self {
            e164: e164.to_owned(),
            calling_code,
        })
    }

    /// The country calling code, for example 33.
    #[must_use]
    pub fn calling_code(&self) -> u16 {
        self.calling_code
    }

    /// The region the number belongs to by the plan, for example La Réunion (`RE`) for
    /// `+262 692 12 34 56`; `None` for the numbers of non-geographic services (`+882 …`), and
    /// for a stored number that the plan no longer places.
    #[must_use]
    pub fn region(&self) -> Option<Region> {
        let territory = plan::territory_for_number(self.calling_code(), self.national())?;
        Region::from_code(territory.id).ok()
    }

    /// The number for display to its owner: the calling code, the first and the last two
    /// digits, for example `+33 6 •• •• •• 78`. At least 4 digits of the national number, and
    /// at least half of them, stay hidden: a number of 6 or 7 digits shows its last two only
    /// (`+298 •• •• 56`), a shorter one none (`+290 •• •••`).
    #[must_use]
    pub fn masked(&self) -> String {
        let national = self.national();
        let code = self.calling_code;
        let first = if national.len() >= 8 { 1 } else { 0 };
        let last = if national.len() >= 6 { 2 } else { 0 };
        let hidden = national.len().saturating_sub(first).saturating_sub(last);
        let mut out = format!("+{code}");
        if let Some(first) = national.get(..first).filter(|digit| !digit.is_empty()) {
            out.push(' ');
            out.push_str(first);
        }
        for pair in 0..hidden.div_ceil(2) {
            let width = hidden.saturating_sub(pair.saturating_mul(2)).min(2);
            out.push(' ');
            out.push_str(&"•".repeat(width));
        }
        if let Some(last) = national.get(national.len().saturating_sub(last)..) {
            if !last.is_empty() {
                out.push(' ');
                out.push_str(last);
            }
        }
        out
    }

    /// The E.164 text, `+33612345678`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// The national significant number: what follows `+` and the calling code.
    fn national(&self) -> &str {
        // `+` and the calling code's 1 to 3 digits.
        let national_at = match self.calling_code {
            0..10 => 2,
            10..100 => 3,
            _ => 4,
        };
        #[expect(
            clippy::expect_used,
            reason = "constructors write `+`, the code, the number"
        )]
        self.e164
            .get(national_at..)
            .expect("constructors write `+`, the calling code's digits, the national number")
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

/// The most digits of an E.164 number.
const MAX_DIGITS: usize = 15;

fn parse(input: &str, region: Region) -> Result<PhoneNumber, PhoneError> {
    let (plus, digits) = parse::digits_of(input)?;
    let home = region.territory().ok_or(PhoneError::InvalidCountryCode)?;
    let mut parsed = parse::parse(plus, &digits, home)?;
    let mut verdict = verdict::judge(&parsed);
    if matches!(verdict, Verdict::Invalid(_)) && parsed.source == Source::Region {
        if let Some((elsewhere, its_verdict)) = french_plan::elsewhere(plus, &digits, home.id) {
            (parsed, verdict) = (elsewhere, its_verdict);
        }
    }
    match verdict {
        Verdict::Mobile => {
            let calling_code = parsed.country_code;
            Ok(PhoneNumber {
                e164: format!("+{calling_code}{}", parsed.national),
                calling_code,
            })
        }
        Verdict::NotMobile(kind) => Err(PhoneError::NotMobile(kind)),
        Verdict::Invalid(refusal) => Err(refusal),
    }
}

#[cfg(test)]
mod tests;
