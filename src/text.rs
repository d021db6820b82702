//! What the buyer reads: the [`Language`], the SMS template, and GSM-7 length accounting.

use core::fmt::Write;

use crate::money::Amount;
use crate::phone::PhoneNumber;
use crate::secret::OtpCode;

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
    #[must_use]
    pub fn for_number(phone: &PhoneNumber) -> Self {
        const FRENCH: [u16; 11] = [33, 262, 269, 377, 508, 590, 594, 596, 681, 687, 689];
        if FRENCH.contains(&phone.calling_code()) {
            Self::French
        } else {
            Self::English
        }
    }
}

/// Bytes of the longest body: template, 9-digit code, largest amount, longest merchant name
/// (40 characters of up to 4 bytes).
const MAX_BODY_BYTES: usize = 512;

/// The body of the SMS carrying `code`: the code, the amount, the merchant, and a warning never
/// to share it (PSD2 dynamic linking: the buyer sees what they authorize).
pub(crate) fn code_message(
    language: Language,
    code: &OtpCode,
    amount: Amount,
    merchant: &str,
) -> String {
    let code = code.expose_secret();
    let amount = amount.localized(language);
    // Sized once for the longest body, so that no reallocation leaves a copy of the code.
    let mut body = String::with_capacity(MAX_BODY_BYTES);
    // Writing into a `String` cannot fail.
    let _ = match language {
        Language::French => write!(
            body,
            "Code {code} : paiement de {amount} à {merchant}. Ne donnez jamais ce code à personne."
        ),
        Language::English => write!(
            body,
            "Code {code}: payment of {amount} to {merchant}. Never share this code with anyone."
        ),
    };
    body
}

/// The body of the SMS carrying an enrollment's `code`: what it is for, and a warning never to
/// share it.
pub(crate) fn enrollment_message(language: Language, code: &OtpCode) -> String {
    let code = code.expose_secret();
    let mut body = String::with_capacity(MAX_BODY_BYTES);
    // Writing into a `String` cannot fail.
    let _ = match language {
        Language::French => write!(
            body,
            "Code {code} : activation du paiement par mobile sur ce numéro. Ne donnez jamais ce \
             code à personne."
        ),
        Language::English => write!(
            body,
            "Code {code}: activation of mobile payment on this number. Never share this code \
             with anyone."
        ),
    };
    body
}

/// Septets `text` takes in the GSM 03.38 default alphabet (characters of the extension table
/// count two), or `None` when a character forces UCS-2.
pub(crate) fn gsm7_septets(text: &str) -> Option<usize> {
    text.chars().try_fold(0usize, |septets, c| {
        Some(septets.saturating_add(gsm7_width(c)?))
    })
}

/// Septets of one character in GSM 03.38: the basic table, then the extension table.
fn gsm7_width(c: char) -> Option<usize> {
    match c {
        'A'..='Z' | 'a'..='z' | '0'..='9' | ' ' | '\n' | '\r' => Some(1),
        '!' | '"' | '#' | '%' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | '-' | '.' | '/' => {
            Some(1)
        }
        ':' | ';' | '<' | '=' | '>' | '?' | '@' | '$' | '_' => Some(1),
        '£' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | 'Ø' | 'ø' | 'Å' | 'å' | 'Æ' | 'æ' | 'ß' => {
            Some(1)
        }
        'É' | '¤' | '¡' | 'Ä' | 'Ö' | 'Ñ' | 'Ü' | '§' | '¿' | 'ä' | 'ö' | 'ñ' | 'ü' | 'à' => {
            Some(1)
        }
        'Δ' | 'Φ' | 'Γ' | 'Λ' | 'Ω' | 'Π' | 'Ψ' | 'Σ' | 'Θ' | 'Ξ' => Some(1),
        '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€' | '\u{c}' => Some(2),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn gsm7_tables_hold_their_128_and_10_characters() {
        const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                             ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
        const EXTENSION: &str = "^{}\\[~]|€\u{c}";
        assert_eq!(
            BASIC.chars().count(),
            127,
            "the 128th is the escape to the extension table"
        );
        assert!(BASIC.chars().all(|c| gsm7_width(c) == Some(1)));
        assert!(EXTENSION.chars().all(|c| gsm7_width(c) == Some(2)));
        let others = (0..0x3000u32)
            .filter_map(char::from_u32)
            .filter(|c| gsm7_width(*c).is_some())
            .count();
        assert_eq!(others, 127 + 10);
    }

    #[test]
    fn gsm7_counts_extension_characters_twice() {
        assert_eq!(gsm7_septets("abc"), Some(3));
        assert_eq!(gsm7_septets("49,90 €"), Some(8));
        assert_eq!(gsm7_septets("[x]"), Some(5));
        assert_eq!(gsm7_septets("à é è ù Ç"), Some(9));
        assert_eq!(gsm7_septets("ç"), None);
        assert_eq!(gsm7_septets("même"), None);
        assert_eq!(gsm7_septets("😀"), None);
    }

    #[test]
    fn french_sms_fits_one_segment_in_the_worst_case() {
        // The longest code, the largest amount and the longest merchant names allowed.
        let code: OtpCode = "123456789".parse().unwrap();
        let amount = Amount::new(Amount::MAX_MINOR_UNITS, Currency::EUR).unwrap();
        let longest = ["M".repeat(40), "€".repeat(20), "[]".repeat(10)];
        for name in longest {
            let merchant = crate::order::Merchant::new("shop", &name).unwrap();
            for language in [Language::French, Language::English] {
                let body = code_message(language, &code, amount, merchant.display_name());
                let septets = gsm7_septets(&body).expect("GSM-7 only");
                assert!(septets <= 160, "{language:?}: {septets} septets: {body}");
                assert!(body.len() <= MAX_BODY_BYTES);
            }
        }
    }

    #[test]
    fn sms_names_code_amount_merchant_and_warns() {
        let code: OtpCode = "482913".parse().unwrap();
        let amount = Amount::new(4990, Currency::EUR).unwrap();
        let fr = code_message(Language::French, &code, amount, "Boutique Exemple");
        assert_eq!(
            fr,
            "Code 482913 : paiement de 49,90 € à Boutique Exemple. Ne donnez jamais ce code à personne."
        );
        assert_eq!(gsm7_septets(&fr), Some(91));
        let en = code_message(Language::English, &code, amount, "Example Shop");
        assert_eq!(
            en,
            "Code 482913: payment of €49.90 to Example Shop. Never share this code with anyone."
        );
    }

    #[test]
    fn the_enrollment_sms_says_what_it_is_for_and_warns() {
        let code: OtpCode = "123456789".parse().unwrap();
        let fr = enrollment_message(Language::French, &code);
        assert_eq!(
            fr,
            "Code 123456789 : activation du paiement par mobile sur ce numéro. Ne donnez jamais \
             ce code à personne."
        );
        let en = enrollment_message(Language::English, &code);
        assert!(en.starts_with("Code 123456789: activation") && en.contains("Never share"));
        for body in [fr, en] {
            assert!(
                gsm7_septets(&body).is_some_and(|septets| septets <= 160),
                "{body}"
            );
        }
    }

    #[test]
    fn language_follows_the_number() {
        let fr: PhoneNumber = "+33612345678".parse().unwrap();
        let re: PhoneNumber = "+262692123456".parse().unwrap();
        let uk: PhoneNumber = "+447911123456".parse().unwrap();
        assert_eq!(Language::for_number(&fr), Language::French);
        assert_eq!(Language::for_number(&re), Language::French);
        assert_eq!(Language::for_number(&uk), Language::English);
    }
}
