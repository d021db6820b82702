//! A territory of libphonenumber's numbering plan, as `plan_data.rs` lists them: its patterns
//! and lengths by number type, and the reads libphonenumber's `PhoneNumberUtil` makes of one
//! (number type, length test).

use super::pattern;

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

    /// Whether `national` is this territory's among those that share its country code: its
    /// leading digits start it or, where it has none, its plan gives it a type.
    pub(crate) fn claims(&self, national: &str) -> bool {
        if self.leading_digits.is_empty() {
            self.number_type(national) != NumberType::Unknown
        } else {
            pattern::looking_at(self.leading_digits, national).is_some()
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
