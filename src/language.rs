//! [`Language`]: the language of SMS texts and localized amounts, chosen by number.

use crate::phone::PhoneNumber;

/// The language of SMS texts and localized amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Language {
    /// French: `49,90 €`.
    French,
    /// English: `€49.90`.
    English,
}

impl Language {
    /// French for numbers of France, its overseas departments and territories, and Monaco;
    /// English for the rest.
    ///
    /// The French calling codes: +33 France, +262 Réunion and Mayotte, +377 Monaco, +508
    /// Saint-Pierre-et-Miquelon, +590 Guadeloupe, Saint-Barthélemy and Saint-Martin, +594
    /// French Guiana, +596 Martinique, +681 Wallis-et-Futuna, +687 New Caledonia, +689 French
    /// Polynesia. Other countries where French is spoken (Belgium, Switzerland, Canada, the
    /// Comoros, …) speak other languages too and get English, unless the host sets one language
    /// for every SMS ([`Policy::sms_language`](crate::Policy::sms_language)).
    #[must_use]
    pub fn for_number(phone: &PhoneNumber) -> Self {
        const FRENCH: [u16; 10] = [33, 262, 377, 508, 590, 594, 596, 681, 687, 689];
        if FRENCH.contains(&phone.calling_code()) {
            Self::French
        } else {
            Self::English
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_follows_the_number() {
        let language = |number: &str| Language::for_number(&number.parse().unwrap());
        let french = [
            ("France", "+33612345678"),
            ("Réunion", "+262692123456"),
            ("Mayotte", "+262639012345"),
            ("Saint-Pierre-et-Miquelon", "+508551234"),
            (
                "Guadeloupe, Saint-Barthélemy, Saint-Martin",
                "+590690001234",
            ),
            ("French Guiana", "+594694201234"),
            ("Martinique", "+596696201234"),
            ("Wallis-et-Futuna", "+681821234"),
            ("New Caledonia", "+687751234"),
            ("French Polynesia", "+68987123456"),
            ("Monaco", "+377612345678"),
        ];
        for (place, number) in french {
            assert_eq!(language(number), Language::French, "{place}");
        }
        let english = [
            ("Comoros", "+2693212345"),
            ("the United Kingdom", "+447400123456"),
            ("Belgium", "+32450001234"),
            ("Switzerland", "+41781234567"),
            ("Canada", "+15062345678"),
        ];
        for (place, number) in english {
            assert_eq!(language(number), Language::English, "{place}");
        }
    }
}
