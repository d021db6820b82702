//! What the buyer reads: the SMS templates, in each [`Language`].

use core::fmt::Write;

use crate::gsm7::fold;
use crate::language::Language;
use crate::money::Amount;
use crate::secret::OtpCode;

/// Bytes of the longest body: template, 9-digit code, largest amount, longest merchant name
/// (40 characters of up to 4 bytes, or its GSM-7 folding of at most 40 septets).
const MAX_BODY_BYTES: usize = 512;

/// The body of the SMS carrying `code`: the code, the amount, the merchant, and a warning never
/// to share it (PSD2 dynamic linking: the buyer sees what they authorize). The merchant's name
/// is folded into GSM-7 when it can be, so that the SMS stays one segment.
pub(crate) fn code_message(
    language: Language,
    code: &OtpCode,
    amount: Amount,
    merchant: &str,
) -> String {
    let code = code.expose_secret();
    let amount = amount.localized(language);
    let merchant = fold(merchant);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::display_text::TextError;
    use crate::gsm7::SmsEncoding;
    use crate::money::Currency;
    use crate::order::Merchant;

    /// The longest name of `c` alone that a merchant may have, and the error for one more.
    fn longest_name(c: char) -> (String, TextError) {
        let mut name = c.to_string();
        loop {
            let longer = format!("{name}{c}");
            match Merchant::new("shop", &longer) {
                Ok(_) => name = longer,
                Err(Error::InvalidMerchant(refusal)) => return (name, refusal),
                Err(other) => panic!("{other:?}"),
            }
        }
    }

    /// The largest amount of each currency.
    fn largest_amounts() -> impl Iterator<Item = Amount> {
        [Currency::EUR, Currency::GBP, Currency::CHF, Currency::USD]
            .into_iter()
            .map(|currency| Amount::new(Amount::MAX_MINOR_UNITS, currency).unwrap())
    }

    #[test]
    fn a_code_sms_fits_one_segment_in_the_worst_case() {
        // The longest code, the largest amounts and the longest names: of each letter of
        // Latin-1 Supplement and Latin Extended-A, of each folding punctuation mark, of GSM-7
        // letters and of the extension table.
        let code: OtpCode = "123456789".parse().unwrap();
        let letters = (0xc0..=0x17f)
            .chain([0xaa, 0xba, 0xb5])
            .filter(|&c| c != 0xd7 && c != 0xf7)
            .filter_map(char::from_u32);
        let others = "M’‘‚‛“”„«»–—…©®™½€[]{}|^~\\".chars();
        let mut longest = Vec::new();
        for c in letters.chain(others) {
            let (name, refusal) = longest_name(c);
            let septets = crate::gsm7::septets(&fold(&name)).unwrap();
            assert!(septets <= 40, "{name}: {septets}");
            if name.chars().count() < 40 {
                assert_eq!(refusal, TextError::TooLongForSms { max_septets: 40 });
            }
            longest.push(name);
        }
        longest.push("[]".repeat(10));
        for name in longest {
            for (language, amount) in [Language::French, Language::English]
                .into_iter()
                .flat_map(|language| largest_amounts().map(move |amount| (language, amount)))
            {
                let body = code_message(language, &code, amount, &name);
                let septets = crate::gsm7::septets(&body).expect("GSM-7 only");
                assert!(septets <= 160, "{language:?}: {septets} septets: {body}");
                assert_eq!(crate::gsm7::segments(&body), 1, "{body}");
                assert!(body.len() <= MAX_BODY_BYTES);
            }
        }
    }

    #[test]
    fn a_name_that_does_not_fold_goes_ucs2_in_3_segments_at_most() {
        let code: OtpCode = "123456789".parse().unwrap();
        for c in ['ж', 'α', '東', '😀'] {
            let (name, refusal) = longest_name(c);
            assert_eq!(name.chars().count(), 40);
            assert_eq!(refusal, TextError::TooLong { max: 40 });
            for language in [Language::French, Language::English] {
                for amount in largest_amounts() {
                    let body = code_message(language, &code, amount, &name);
                    assert!(body.contains(&name));
                    assert_eq!(crate::gsm7::encoding(&body), SmsEncoding::Ucs2);
                    assert!(crate::gsm7::segments(&body) <= 3, "{body}");
                    assert!(body.len() <= MAX_BODY_BYTES);
                }
                let usual = Amount::new(4990, Currency::EUR).unwrap();
                let body = code_message(language, &code, usual, &name[..name.len() / 2]);
                assert_eq!(crate::gsm7::segments(&body), 2, "{body}");
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
        assert_eq!(crate::gsm7::septets(&fr), Some(91));
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
                crate::gsm7::septets(&body).is_some_and(|septets| septets <= 160),
                "{body}"
            );
            assert_eq!(crate::gsm7::segments(&body), 1);
        }
    }
}
