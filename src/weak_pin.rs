//! The weak-PIN rules a new PIN must pass: none of the patterns that people pick most often and
//! that a thief tries first (its length is the policy's to check).
//!
//! They apply wherever a PIN is set (enrollment, change, reset), never where one is checked:
//! a PIN chosen before a rule existed keeps working.

use core::fmt;

use crate::secret::{PIN_DIGITS, Pin};
use zeroize::Zeroizing;

/// The most digits a [`Pin`] has.
const MAX_PIN_DIGITS: usize = PIN_DIGITS.1 as usize;

/// Which rule refused a new PIN (see [`Error::WeakPin`](crate::Error::WeakPin)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WeakPinRule {
    /// Every digit the same: `111111`.
    SameDigit,
    /// Digits that go up or down by one, wrapping after 9 or 0: `123456`, `654321`, `890123`.
    Sequence,
    /// A shorter block repeated: `121212`, `123123`, `12341234`.
    Repeated,
    /// A calendar date or a year: `250690` (day, month, year), `1987`, `19870625`.
    Date,
    /// One of the PINs found most often in studies of chosen and leaked PINs, or a line drawn
    /// on the keypad: `112233`, `147258`, `159753`, `2580`.
    Common,
}

impl fmt::Display for WeakPinRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SameDigit => "all its digits are the same",
            Self::Sequence => "its digits follow each other",
            Self::Repeated => "it repeats a shorter block",
            Self::Date => "it reads as a date or a year",
            Self::Common => "it is one of the most common PINs",
        })
    }
}

/// PINs that people choose far more often than chance, not caught by the other rules: from the
/// published rankings of 4- and 6-digit PINs (Bonneau, Preibusch and Anderson, 2012; Wang et
/// al., 2017), and the lines and shapes of the phone keypad.
const COMMON: [&str; 42] = [
    "1122", "1004", "2580", "0852", "1470", "3690", "1379", "1397", "7913", "1593", "112233",
    "123321", "147258", "258369", "147852", "159753", "159357", "753951", "357159", "789456",
    "456123", "741852", "852963", "963852", "147369", "369258", "124578", "520131", "131420",
    "321654", "654987", "123654", "102030", "112358", "159951", "852456", "258456", "11223344",
    "12344321", "14725836", "11112222", "13572468",
];

/// The first weak-PIN rule `pin` breaks, if any.
pub(crate) fn weakness_of(pin: &Pin) -> Option<WeakPinRule> {
    weakness(pin.expose_secret())
}

/// The first rule `digits` (ASCII digits) breaks, if any. The common list comes before dates,
/// which would otherwise claim some of its entries (`1122`, `1004`).
fn weakness(digits: &str) -> Option<WeakPinRule> {
    // The digits' values, on the stack and wiped when done: no copy of a PIN outlives this.
    let mut buffer = Zeroizing::new([0u8; MAX_PIN_DIGITS]);
    for (value, byte) in buffer.iter_mut().zip(digits.bytes()) {
        *value = byte.wrapping_sub(b'0');
    }
    // The slots filled: no more than the buffer holds.
    let (values, _) = buffer.split_at(digits.len().min(MAX_PIN_DIGITS));
    if values.windows(2).all(|w| w.first() == w.last()) {
        Some(WeakPinRule::SameDigit)
    } else if is_sequence(values) {
        Some(WeakPinRule::Sequence)
    } else if is_repeated(values) {
        Some(WeakPinRule::Repeated)
    } else if COMMON.contains(&digits) {
        Some(WeakPinRule::Common)
    } else if is_date(values) {
        Some(WeakPinRule::Date)
    } else {
        None
    }
}

/// Each digit one more than the one before (mod 10), or each one less.
fn is_sequence(values: &[u8]) -> bool {
    let step = |w: &[u8], by: u8| match w {
        [a, b] => (a.wrapping_add(by)) % 10 == *b,
        _ => false,
    };
    values.windows(2).all(|w| step(w, 1)) || values.windows(2).all(|w| step(w, 9))
}

/// The digits are a shorter block written several times over.
fn is_repeated(values: &[u8]) -> bool {
    (2..=values.len() / 2)
        .filter(|block| values.len().checked_rem(*block) == Some(0))
        .any(|block| values.chunks(block).all(|chunk| values.starts_with(chunk)))
}

/// A day and month in either order, with a year of two or four digits, or a year alone.
fn is_date(values: &[u8]) -> bool {
    let number = |range: &[u8]| {
        range.iter().fold(0u16, |n, d| {
            n.saturating_mul(10).saturating_add(u16::from(*d))
        })
    };
    let part = |from: usize, len: usize| values.get(from..from.saturating_add(len)).map(number);
    let day_month = |from: usize| match (part(from, 2), part(from.saturating_add(2), 2)) {
        (Some(a), Some(b)) => is_day_month(a, b) || is_day_month(b, a),
        _ => false,
    };
    let year = |from: usize| part(from, 4).is_some_and(|y| (1900..=2099).contains(&y));
    match values.len() {
        4 => day_month(0) || year(0),
        6 => day_month(0) || day_month(2),
        8 => (day_month(0) && year(4)) || (year(0) && day_month(4)),
        _ => false,
    }
}

fn is_day_month(day: u16, month: u16) -> bool {
    (1..=31).contains(&day) && (1..=12).contains(&month)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(digits: &str) -> Option<WeakPinRule> {
        weakness(digits)
    }

    #[test]
    fn each_rule_names_itself() {
        for (digits, expected) in [
            ("111111", WeakPinRule::SameDigit),
            ("0000", WeakPinRule::SameDigit),
            ("123456", WeakPinRule::Sequence),
            ("654321", WeakPinRule::Sequence),
            ("890123", WeakPinRule::Sequence),
            ("098765", WeakPinRule::Sequence),
            ("12345678", WeakPinRule::Sequence),
            ("121212", WeakPinRule::Repeated),
            ("123123", WeakPinRule::Repeated),
            ("12341234", WeakPinRule::Repeated),
            ("4747", WeakPinRule::Repeated),
            ("250690", WeakPinRule::Date),
            ("122590", WeakPinRule::Date),
            ("900625", WeakPinRule::Date),
            ("1987", WeakPinRule::Date),
            ("0104", WeakPinRule::Date),
            ("25061987", WeakPinRule::Date),
            ("19870625", WeakPinRule::Date),
            ("112233", WeakPinRule::Common),
            ("147258", WeakPinRule::Common),
            ("159753", WeakPinRule::Common),
            ("2580", WeakPinRule::Common),
        ] {
            assert_eq!(rule(digits), Some(expected), "{digits}");
        }
    }

    #[test]
    fn ordinary_pins_pass() {
        for digits in [
            "246813", "975310", "135790", "402517", "5820", "8375", "9462", "402517", "71946283",
            "1357924",
        ] {
            assert_eq!(rule(digits), None, "{digits}");
        }
    }

    #[test]
    fn common_pins_are_named_as_such() {
        for digits in COMMON {
            assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{digits}");
            assert!((4..=8).contains(&digits.len()), "{digits}");
            assert_eq!(rule(digits), Some(WeakPinRule::Common), "{digits}");
        }
    }

    #[test]
    fn rules_read_as_lowercase_sentences() {
        let text = crate::Error::WeakPin(WeakPinRule::Date).to_string();
        assert_eq!(text, "weak PIN: it reads as a date or a year");
    }
}
