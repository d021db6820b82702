//! libphonenumber's numbering plan: the territories of `plan_data.rs` by region and by country
//! calling code, and the region of a number (`getRegionCodeForNumber`).

use std::sync::OnceLock;

use super::plan_data::TERRITORIES;
use super::territory::Territory;

/// Country calling codes are below 1000 (ITU-T E.164: 1 to 3 digits).
const CODES: usize = 1000;

/// The region with ISO 3166 code `id` (non-geographic entities are not regions).
pub(crate) fn region(id: &str) -> Option<&'static Territory> {
    TERRITORIES.iter().find(|t| t.id == id && t.is_region())
}

/// The territories of a country calling code, its main country first (libphonenumber's
/// `countryCallingCodeToRegionCodeMap`).
pub(crate) fn territories_of(code: u16) -> impl Iterator<Item = &'static Territory> {
    by_code()
        .get(usize::from(code))
        .into_iter()
        .flatten()
        .copied()
}

/// The territories of each country calling code, indexed by the code, built once: every read
/// of a number, stored ones included, looks its code up.
fn by_code() -> &'static [Vec<&'static Territory>] {
    static BY_CODE: OnceLock<Vec<Vec<&'static Territory>>> = OnceLock::new();
    BY_CODE.get_or_init(|| {
        let mut by_code = vec![Vec::new(); CODES];
        for main in [true, false] {
            for territory in TERRITORIES
                .iter()
                .filter(|t| t.main_country_for_code == main)
            {
                if let Some(of_code) = by_code.get_mut(usize::from(territory.country_code)) {
                    of_code.push(territory);
                }
            }
        }
        by_code
    })
}

/// The metadata that parsing uses for a country code: its main territory's.
pub(crate) fn main_territory(code: u16) -> Option<&'static Territory> {
    territories_of(code).next()
}

/// libphonenumber's `getRegionCodeForNumber`: the only territory of the code, or the first whose
/// leading digits start the number or, without them, whose plan gives it a type.
pub(crate) fn territory_for_number(code: u16, national: &str) -> Option<&'static Territory> {
    let mut territories = territories_of(code).peekable();
    let first = territories.next()?;
    if territories.peek().is_none() {
        return Some(first);
    }
    core::iter::once(first)
        .chain(territories)
        .find(|t| t.claims(national))
}

/// Whether a country code is one of the metadata's, the length at which `digits` start with one
/// (libphonenumber's `extractCountryCode`: 1 to 3 digits, never starting with `0`).
pub(crate) fn country_code_at_start(digits: &str) -> Option<(u16, &str)> {
    if digits.starts_with('0') {
        return None;
    }
    (1..=3).find_map(|len| {
        let (code, rest) = digits.split_at_checked(len)?;
        let code: u16 = code.parse().ok()?;
        main_territory(code).map(|_| (code, rest))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::pattern;
    use crate::phone::territory::{Length, NumberType};

    /// Every pattern of the checked-in plan is in the matcher's subset: one outside it would
    /// match nothing, silently.
    #[test]
    fn every_pattern_of_the_plan_compiles() {
        let mut count = 0;
        for t in &TERRITORIES {
            let descs = core::iter::once(&t.general).chain(t.type_descs());
            let patterns = descs.map(|d| d.pattern).chain([
                t.leading_digits,
                t.international_prefix,
                t.national_prefix_for_parsing,
            ]);
            for pattern in patterns.filter(|p| !p.is_empty()) {
                assert!(pattern::compiles(pattern), "{}: {pattern}", t.id);
                count += 1;
            }
        }
        assert!(count > 1400, "{count}");
    }

    #[test]
    fn codes_list_their_main_territory_first() {
        let ids = |code| territories_of(code).map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(ids(33), ["FR"]);
        assert_eq!(ids(262), ["RE", "YT"]);
        assert_eq!(ids(590), ["GP", "BL", "MF"]);
        assert_eq!(ids(44), ["GB", "GG", "IM", "JE"]);
        assert_eq!(ids(1).first(), Some(&"US"));
        assert_eq!(ids(882), ["001"]);
        assert!(ids(999).is_empty());
        assert_eq!(
            country_code_at_start("33612345678"),
            Some((33, "612345678"))
        );
        assert_eq!(country_code_at_start("1415"), Some((1, "415")));
        assert_eq!(country_code_at_start("2626921"), Some((262, "6921")));
        assert_eq!(country_code_at_start("0612"), None);
        assert_eq!(country_code_at_start("999"), None);
    }

    #[test]
    fn numbers_get_libphonenumber_types_and_regions() {
        let fr = region("FR").unwrap();
        assert_eq!(fr.number_type("612345678"), NumberType::Mobile);
        assert_eq!(fr.number_type("123456789"), NumberType::FixedLine);
        assert_eq!(fr.number_type("836123456"), NumberType::PremiumRate);
        assert_eq!(fr.number_type("692123456"), NumberType::Unknown);
        assert_eq!(fr.test_length("61234567"), Length::TooShort);
        assert_eq!(fr.test_length("6123456789"), Length::TooLong);
        let gb = region("GB").unwrap();
        assert_eq!(gb.test_length("12345"), Length::PossibleLocalOnly);
        let de = region("DE").unwrap();
        assert_eq!(de.test_length("1"), Length::TooShort);
        let us = region("US").unwrap();
        assert_eq!(us.number_type("2015550123"), NumberType::FixedLineOrMobile);
        assert_eq!(us.test_length("201555012"), Length::TooShort);
        let region_of = |code, national| territory_for_number(code, national).map(|t| t.id);
        assert_eq!(region_of(262, "639012345"), Some("YT"));
        assert_eq!(region_of(44, "7911123456"), Some("GG"));
        assert_eq!(region_of(1, "2425550123"), Some("BS"));
        assert_eq!(region_of(1, "0000000000"), None);
        assert_eq!(region_of(33, "000"), Some("FR"));
    }
}
