//! libphonenumber's numbering plan: the territories of `plan_data.rs`, and the reads of it that
//! libphonenumber's `PhoneNumberUtil` makes (number type, length test, region of a number).

use std::sync::OnceLock;

use super::pattern;
use super::plan_data::TERRITORIES;

/// Country calling codes are below 1000 (ITU-T E.164: 1 to 3 digits).
const CODES: usize = 1000;

/// Where a number's type or length is checked: a pattern of national significant numbers and
/// the lengths such numbers have.
#[derive(Debug)]
pub(crate) struct Desc {
    /// The pattern, in the syntax of `pattern.rs`; empty for a type without numbers.
    pub(crate) pattern: &'static str,
    /// National lengths; none for a type without numbers.
    pub(crate) lengths: Lengths,
    /// Lengths of numbers dialled only within an area, without its code.
    pub(crate) local_only: Lengths,
}

impl Desc {
    /// A type the territory has no numbers of.
    pub(crate) const NONE: Self = Self::new("", &[], &[]);

    /// A description; the lengths, listed in the tables, are kept as sets of bits.
    pub(crate) const fn new(pattern: &'static str, lengths: &[u8], local_only: &[u8]) -> Self {
        Self {
            pattern,
            lengths: Lengths::of(lengths),
            local_only: Lengths::of(local_only),
        }
    }

    /// libphonenumber's `isNumberMatchingDesc`: a possible length, then the whole pattern.
    pub(crate) fn matches(&self, national: &str) -> bool {
        self.lengths.contains(national.len()) && pattern::matches(self.pattern, national)
    }
}

/// A set of lengths from 0 to 31: bit `n` for the length `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lengths(u32);

impl Lengths {
    const fn of(mut list: &[u8]) -> Self {
        let mut bits = 0_u32;
        while let [first, rest @ ..] = list {
            bits |= bit(*first as usize);
            list = rest;
        }
        Self(bits)
    }

    pub(crate) fn contains(self, length: usize) -> bool {
        self.0 & bit(length) != 0
    }

    /// The shortest and the longest, if any.
    fn bounds(self) -> Option<(usize, usize)> {
        let mut lengths = (0..32).filter(|length| self.contains(*length));
        let min = lengths.next()?;
        Some((min, lengths.next_back().unwrap_or(min)))
    }
}

/// The bit of `length`; none past 31.
const fn bit(length: usize) -> u32 {
    if length >= 32 {
        return 0;
    }
    // In range: the shift is below 32.
    match 1_u32.checked_shl(length as u32) {
        Some(bit) => bit,
        None => 0,
    }
}

/// A territory: a region with its ISO 3166 code, or a non-geographic entity (`001`).
#[derive(Debug)]
pub(crate) struct Territory {
    pub(crate) id: &'static str,
    pub(crate) country_code: u16,
    pub(crate) main_country_for_code: bool,
    /// Where several territories share a country code: how this one's numbers start.
    pub(crate) leading_digits: &'static str,
    pub(crate) international_prefix: &'static str,
    pub(crate) national_prefix_for_parsing: &'static str,
    pub(crate) national_prefix_transform_rule: &'static str,
    pub(crate) same_mobile_and_fixed_line_pattern: bool,
    pub(crate) general: Desc,
    pub(crate) fixed_line: Desc,
    pub(crate) mobile: Desc,
    pub(crate) toll_free: Desc,
    pub(crate) premium_rate: Desc,
    pub(crate) shared_cost: Desc,
    pub(crate) personal_number: Desc,
    pub(crate) voip: Desc,
    pub(crate) pager: Desc,
    pub(crate) uan: Desc,
    pub(crate) voicemail: Desc,
}

/// libphonenumber's `PhoneNumberType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberType {
    FixedLine,
    Mobile,
    FixedLineOrMobile,
    TollFree,
    PremiumRate,
    SharedCost,
    Voip,
    PersonalNumber,
    Pager,
    Uan,
    Voicemail,
    Unknown,
}

/// libphonenumber's `ValidationResult` of a length test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Length {
    Possible,
    PossibleLocalOnly,
    TooShort,
    Invalid,
    TooLong,
}

impl Territory {
    /// An empty territory, for the generated table's `..Territory::EMPTY`.
    pub(crate) const EMPTY: Self = Self {
        id: "",
        country_code: 0,
        main_country_for_code: false,
        leading_digits: "",
        international_prefix: "",
        national_prefix_for_parsing: "",
        national_prefix_transform_rule: "",
        same_mobile_and_fixed_line_pattern: false,
        general: Desc::NONE,
        fixed_line: Desc::NONE,
        mobile: Desc::NONE,
        toll_free: Desc::NONE,
        premium_rate: Desc::NONE,
        shared_cost: Desc::NONE,
        personal_number: Desc::NONE,
        voip: Desc::NONE,
        pager: Desc::NONE,
        uan: Desc::NONE,
        voicemail: Desc::NONE,
    };

    /// Whether this is a region (not a non-geographic entity).
    pub(crate) fn is_region(&self) -> bool {
        self.id != "001"
    }

    /// libphonenumber's `getNumberTypeHelper`.
    pub(crate) fn number_type(&self, national: &str) -> NumberType {
        if !self.general.matches(national) {
            return NumberType::Unknown;
        }
        let special = [
            (&self.premium_rate, NumberType::PremiumRate),
            (&self.toll_free, NumberType::TollFree),
            (&self.shared_cost, NumberType::SharedCost),
            (&self.voip, NumberType::Voip),
            (&self.personal_number, NumberType::PersonalNumber),
            (&self.pager, NumberType::Pager),
            (&self.uan, NumberType::Uan),
            (&self.voicemail, NumberType::Voicemail),
        ];
        if let Some((_, kind)) = special.iter().find(|(desc, _)| desc.matches(national)) {
            return *kind;
        }
        if self.fixed_line.matches(national) {
            if self.same_mobile_and_fixed_line_pattern || self.mobile.matches(national) {
                return NumberType::FixedLineOrMobile;
            }
            return NumberType::FixedLine;
        }
        if !self.same_mobile_and_fixed_line_pattern && self.mobile.matches(national) {
            return NumberType::Mobile;
        }
        NumberType::Unknown
    }

    /// libphonenumber's `testNumberLength` for an unknown type (the general description).
    pub(crate) fn test_length(&self, national: &str) -> Length {
        let lengths = self.general.lengths;
        let Some((min, max)) = lengths.bounds() else {
            return Length::Invalid;
        };
        let length = national.len();
        if self.general.local_only.contains(length) {
            Length::PossibleLocalOnly
        } else if length < min {
            Length::TooShort
        } else if length > max {
            Length::TooLong
        } else if lengths.contains(length) {
            Length::Possible
        } else {
            Length::Invalid
        }
    }

    /// The number types' descriptions, the general one left out.
    pub(crate) fn type_descs(&self) -> [&Desc; 10] {
        [
            &self.fixed_line,
            &self.mobile,
            &self.toll_free,
            &self.premium_rate,
            &self.shared_cost,
            &self.personal_number,
            &self.voip,
            &self.pager,
            &self.uan,
            &self.voicemail,
        ]
    }
}

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
    core::iter::once(first).chain(territories).find(|t| {
        if t.leading_digits.is_empty() {
            t.number_type(national) != NumberType::Unknown
        } else {
            pattern::looking_at(t.leading_digits, national).is_some()
        }
    })
}

/// Whether a country code is one of the metadata's, the length at which `digits` start with one
/// (libphonenumber's `extractCountryCode`: 1 to 3 digits, never starting with `0`).
pub(crate) fn country_code_at_start(digits: &str) -> Option<(u16, usize)> {
    if digits.starts_with('0') {
        return None;
    }
    (1..=3).find_map(|len| {
        let code: u16 = digits.get(..len)?.parse().ok()?;
        main_territory(code).map(|_| (code, len))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn lengths_are_sets() {
        let lengths = Lengths::of(&[9, 4, 17]);
        assert!(lengths.contains(4) && lengths.contains(9) && lengths.contains(17));
        assert!(!lengths.contains(5) && !lengths.contains(32) && !lengths.contains(usize::MAX));
        assert_eq!(lengths.bounds(), Some((4, 17)));
        assert_eq!(Lengths::of(&[]).bounds(), None);
        assert_eq!(Lengths::of(&[40]), Lengths::of(&[]));
        assert_eq!(Desc::NONE.lengths.bounds(), None);
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
        assert_eq!(country_code_at_start("33612345678"), Some((33, 2)));
        assert_eq!(country_code_at_start("1415"), Some((1, 1)));
        assert_eq!(country_code_at_start("2626921"), Some((262, 3)));
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
