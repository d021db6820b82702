//! From typed text to a country code and a national significant number, as libphonenumber's
//! `PhoneNumberUtil.parse` reads a number (its `parseHelper`), for the syntax `PhoneNumber`
//! accepts: digits, one leading `+`, and separators.

use super::PhoneError;
use super::pattern;
use super::plan;
use super::territory::{Length, Territory};

/// More digits than any number can be typed with: an international prefix (8 digits at most),
/// a country code (3), a national prefix and carrier code (8), and the 17 digits of the longest
/// national number.
const MAX_TYPED_DIGITS: usize = 40;
/// libphonenumber's `MAX_INPUT_STRING_LENGTH`, in characters.
const MAX_INPUT_CHARS: usize = 250;
/// libphonenumber's `MIN_LENGTH_FOR_NSN`.
const MIN_NATIONAL: usize = 2;
/// libphonenumber's `MAX_LENGTH_FOR_NSN`.
const MAX_NATIONAL: usize = 17;

/// How the country code was found (libphonenumber's `CountryCodeSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// After `+`.
    Plus,
    /// After the region's international prefix (`00`, `011`, …).
    Idd,
    /// The region's own country code, typed without `+`.
    WithoutPlus,
    /// None typed: the region's.
    Region,
}

/// A number as parsing leaves it, before its validity is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Parsed {
    pub(super) country_code: u16,
    /// The national significant number, leading zeros kept.
    pub(super) national: String,
    pub(super) source: Source,
    /// The national number with its national prefix removed, where parsing kept the prefix
    /// because the rest was too short for the plan: what the typist most likely meant, for
    /// naming what is wrong.
    pub(super) without_prefix: Option<String>,
}

/// The digits of `input` and whether they follow a `+`; separators (space, no-break space,
/// `.`, `-`, `/`, `(`, `)`) dropped.
///
/// # Errors
///
/// [`PhoneError::Empty`] without digits, [`PhoneError::InvalidCharacter`] for anything else
/// than digits, separators and one `+` before the first digit, [`PhoneError::TooLong`] past 40
/// digits or 250 characters.
pub(super) fn digits_of(input: &str) -> Result<(bool, String), PhoneError> {
    if input.chars().nth(MAX_INPUT_CHARS).is_some() {
        return Err(PhoneError::TooLong);
    }
    let mut plus = false;
    let mut digits = String::new();
    for c in input.chars() {
        match c {
            '0'..='9' if digits.len() < MAX_TYPED_DIGITS => digits.push(c),
            '0'..='9' => return Err(PhoneError::TooLong),
            '+' if !plus && digits.is_empty() => plus = true,
            ' ' | '\u{a0}' | '.' | '-' | '/' | '(' | ')' => {}
            _ => return Err(PhoneError::InvalidCharacter),
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    Ok((plus, digits))
}

/// Reads `digits` (after a `+` when `plus`) as a number dialled from `region`.
///
/// # Errors
///
/// [`PhoneError::InvalidCountryCode`], [`PhoneError::TooShort`] or [`PhoneError::TooLong`]
/// where libphonenumber's parsing fails.
pub(super) fn parse(
    plus: bool,
    digits: &str,
    region: &'static Territory,
) -> Result<Parsed, PhoneError> {
    let (country_code, national, source) = match country_code(plus, digits, region) {
        // libphonenumber tries again as if the `+` were not there: `+0033 6…`.
        Err(PhoneError::InvalidCountryCode) if plus => match country_code(false, digits, region)? {
            (_, _, Source::Region) => return Err(PhoneError::InvalidCountryCode),
            found => found,
        },
        other => other?,
    };
    let (country_code, metadata) = match source {
        Source::Region => (region.country_code, region),
        _ => (
            country_code,
            plan::main_territory(country_code).ok_or(PhoneError::InvalidCountryCode)?,
        ),
    };
    if national.len() < MIN_NATIONAL {
        return Err(PhoneError::TooShort);
    }
    let mut potential = national.clone();
    let stripped = strip_national_prefix(&mut potential, metadata);
    let kept = matches!(
        metadata.test_length(&potential),
        Length::TooShort | Length::PossibleLocalOnly | Length::Invalid
    );
    let (national, without_prefix) = match (stripped, kept) {
        (true, true) => (national, Some(potential)),
        _ => (potential, None),
    };
    if national.len() < MIN_NATIONAL {
        return Err(PhoneError::TooShort);
    }
    if national.len() > MAX_NATIONAL {
        return Err(PhoneError::TooLong);
    }
    Ok(Parsed {
        country_code,
        national,
        source,
        without_prefix,
    })
}

/// libphonenumber's `maybeExtractCountryCode`: the country code (0 when none was typed), the
/// digits after it, and where it came from.
fn country_code(
    plus: bool,
    digits: &str,
    region: &Territory,
) -> Result<(u16, String, Source), PhoneError> {
    let (full, source) = if plus {
        (digits, Source::Plus)
    } else if let Some(rest) = after_international_prefix(digits, region) {
        (rest, Source::Idd)
    } else {
        (digits, Source::Region)
    };
    if source != Source::Region {
        if full.len() <= MIN_NATIONAL {
            return Err(PhoneError::TooShort);
        }
        let (code, rest) =
            plan::country_code_at_start(full).ok_or(PhoneError::InvalidCountryCode)?;
        return Ok((code, rest.to_owned(), source));
    }
    // The region's own country code typed without `+` (`33612345678` in France) counts as one
    // when the rest is a better national number than the whole, or the whole is too long.
    let own = region.country_code.to_string();
    if let Some(rest) = full.strip_prefix(own.as_str()) {
        let mut potential = rest.to_owned();
        strip_national_prefix(&mut potential, region);
        let general = region.general.pattern;
        let better = !pattern::matches(general, full) && pattern::matches(general, &potential);
        if better || region.test_length(full) == Length::TooLong {
            return Ok((region.country_code, potential, Source::WithoutPlus));
        }
    }
    Ok((0, full.to_owned(), Source::Region))
}

/// libphonenumber's `parsePrefixAsIdd`: the digits after the region's international prefix,
/// unless a `0` follows it (country codes never start with one).
fn after_international_prefix<'a>(digits: &'a str, region: &Territory) -> Option<&'a str> {
    let end = pattern::looking_at(region.international_prefix, digits)?.end;
    let rest = digits.get(end..)?;
    (!rest.starts_with('0')).then_some(rest)
}

/// libphonenumber's `maybeStripNationalPrefixAndCarrierCode`: removes the national prefix (and
/// any carrier code), or rewrites it by the transform rule, unless that turns a number matching
/// the plan's general pattern into one that does not. `true` when `number` changed.
pub(super) fn strip_national_prefix(number: &mut String, metadata: &Territory) -> bool {
    let prefix = metadata.national_prefix_for_parsing;
    if number.is_empty() || prefix.is_empty() {
        return false;
    }
    let Some(captures) = pattern::looking_at(prefix, number) else {
        return false;
    };
    let general = metadata.general.pattern;
    let viable_before = pattern::matches(general, number);
    let Some(rest) = number.get(captures.end..) else {
        return false;
    };
    let groups = captures.group_count();
    let rule = metadata.national_prefix_transform_rule;
    let last_group_took_part = groups == 0 || captures.group(number, groups).is_some();
    let result = if rule.is_empty() || !last_group_took_part {
        rest.to_owned()
    } else {
        let mut transformed = transform(rule, |group| captures.group(number, group));
        transformed.push_str(rest);
        transformed
    };
    if viable_before && !pattern::matches(general, &result) {
        return false;
    }
    *number = result;
    true
}

/// `rule` with `$1`…`$9` replaced by what the groups captured (nothing for a group that took
/// no part), as Java's `replaceFirst`.
fn transform<'a>(rule: &str, group: impl Fn(usize) -> Option<&'a str>) -> String {
    let mut out = String::new();
    let mut chars = rule.chars();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let index = chars.next().and_then(|d| d.to_digit(10));
        let captured = index.and_then(|i| group(usize::try_from(i).ok()?));
        out.push_str(captured.unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &str, region: &str) -> Result<(u16, String, Source), PhoneError> {
        let (plus, digits) = digits_of(input)?;
        let parsed = parse(plus, &digits, plan::region(region).unwrap())?;
        Ok((parsed.country_code, parsed.national, parsed.source))
    }

    fn ok(code: u16, national: &str, source: Source) -> Result<(u16, String, Source), PhoneError> {
        Ok((code, national.to_owned(), source))
    }

    #[test]
    fn the_country_code_comes_from_plus_prefix_own_code_or_region() {
        assert_eq!(
            read("+33 6 12 34 56 78", "FR"),
            ok(33, "612345678", Source::Plus)
        );
        assert_eq!(
            read("00 44 7400 123456", "FR"),
            ok(44, "7400123456", Source::Idd)
        );
        assert_eq!(
            read("011 44 7400 123456", "US"),
            ok(44, "7400123456", Source::Idd)
        );
        // `00` then `0` is not an international prefix: a French national number, too long.
        assert_eq!(
            read("000612345678", "FR"),
            ok(33, "00612345678", Source::Region)
        );
        assert_eq!(
            read("33 6 12 34 56 78", "FR"),
            ok(33, "612345678", Source::WithoutPlus)
        );
        // `33` starting a valid national number stays part of it.
        assert_eq!(
            read("0612345678", "FR"),
            ok(33, "612345678", Source::Region)
        );
        assert_eq!(
            read("+0033 6 12 34 56 78", "FR"),
            ok(33, "612345678", Source::Idd)
        );
        assert_eq!(
            read("+0612345678", "FR"),
            Err(PhoneError::InvalidCountryCode)
        );
        assert_eq!(read("+99", "FR"), Err(PhoneError::TooShort));
        assert_eq!(read("+33 6", "FR"), Err(PhoneError::TooShort));
    }

    #[test]
    fn the_national_prefix_goes_by_the_plan() {
        // Stripped only when what is left has a length of the plan.
        let short = parse(false, "061234567", plan::region("FR").unwrap()).unwrap();
        assert_eq!(short.national, "061234567");
        assert_eq!(short.without_prefix.as_deref(), Some("61234567"));
        // Italy keeps its 0; Argentina turns `0 11 15` into `9 11`.
        assert_eq!(
            read("+39 06 1234 5678", "FR"),
            ok(39, "0612345678", Source::Plus)
        );
        assert_eq!(
            read("011 15 2345 6789", "AR"),
            ok(54, "91123456789", Source::Region)
        );
        assert_eq!(
            read("+40 0712 034 567", "FR"),
            ok(40, "712034567", Source::Plus)
        );
        let mut number = String::from("0612345678");
        assert!(strip_national_prefix(
            &mut number,
            plan::region("FR").unwrap()
        ));
        assert_eq!(number, "612345678");
        let mut italian = String::from("0612345678");
        assert!(!strip_national_prefix(
            &mut italian,
            plan::region("IT").unwrap()
        ));
    }

    #[test]
    fn transform_rules_substitute_groups() {
        let groups = |i: usize| ["", "11", "2345"].get(i).copied();
        assert_eq!(transform("9$1", groups), "911");
        assert_eq!(transform("$2", groups), "2345");
        assert_eq!(transform("0549$1", groups), "054911");
        assert_eq!(transform("$7", groups), "");
    }

    #[test]
    fn only_digits_separators_and_a_leading_plus_are_read() {
        assert_eq!(
            digits_of("(+33) 6.12-34/56 78"),
            Ok((true, "33612345678".into()))
        );
        assert_eq!(digits_of("06\u{a0}12"), Ok((false, "0612".into())));
        assert_eq!(digits_of(" + "), Err(PhoneError::Empty));
        assert_eq!(digits_of("6+1"), Err(PhoneError::InvalidCharacter));
        assert_eq!(digits_of("++6"), Err(PhoneError::InvalidCharacter));
        assert_eq!(digits_of("06 12 x"), Err(PhoneError::InvalidCharacter));
        assert_eq!(digits_of(&"1".repeat(41)), Err(PhoneError::TooLong));
        let padded = format!("{}06 12 34 56 78", " ".repeat(236));
        assert_eq!(digits_of(&padded), Ok((false, "0612345678".into())));
        assert_eq!(digits_of(&format!(" {padded}")), Err(PhoneError::TooLong));
    }
}
