//! `PhoneNumber` and the plan: each refusal with its exact error, the French national plan, the
//! trunk prefix after a country code, and the shape of stored numbers.

use super::*;

fn e164(input: &str) -> String {
    input.parse::<PhoneNumber>().unwrap().to_string()
}

fn e164_in(input: &str, region: &str) -> String {
    let region: Region = region.parse().unwrap();
    PhoneNumber::parse_in(input, region).unwrap().to_string()
}

fn refusal(input: &str) -> PhoneError {
    match input.parse::<PhoneNumber>() {
        Err(Error::InvalidPhone(e)) => e,
        other => panic!("{input:?} gave {other:?}"),
    }
}

const LANDLINE: PhoneError = PhoneError::NotMobile(NumberKind::FixedLine);

#[test]
fn reads_french_forms() {
    for input in [
        "+33612345678",
        "+33 6 12 34 56 78",
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "06/12/34/56/78",
        "(06) 12 34 56 78",
        "0612345678",
        "0033612345678",
        "00 33 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "+33 06 12 34 56 78",
        " +33\u{a0}6 12 34 56 78 ",
        "(+33) 6 12 34 56 78",
        // As libphonenumber: without the trunk 0, and the country code without `+`.
        "6 12 34 56 78",
        "33 6 12 34 56 78",
        // `+` then an international prefix: libphonenumber reads it again without the `+`.
        "+0033 6 12 34 56 78",
    ] {
        assert_eq!(e164(input), "+33612345678", "{input:?}");
    }
    assert_eq!(e164("07 81 23 45 67"), "+33781234567");
}

#[test]
fn the_french_plan_sends_overseas_prefixes_to_their_department() {
    for (input, expected, region) in [
        ("0692 12 34 56", "+262692123456", "RE"),
        ("06 92 12 34 56", "+262692123456", "RE"),
        ("692 12 34 56", "+262692123456", "RE"),
        ("0693 12 34 56", "+262693123456", "RE"),
        ("0639 01 23 45", "+262639012345", "YT"),
        ("0690 00 12 34", "+590690001234", "GP"),
        ("0691 28 12 34", "+590691281234", "GP"),
        ("0696 20 12 34", "+596696201234", "MQ"),
        ("0697 12 34 56", "+596697123456", "MQ"),
        ("0694 20 12 34", "+594694201234", "GF"),
        ("07 09 21 23 45", "+262709212345", "RE"),
    ] {
        let phone: PhoneNumber = input.parse().unwrap();
        assert_eq!(phone.to_string(), expected, "{input}");
        assert_eq!(phone.region().map(Region::code), Some(region), "{input}");
    }
    // Landlines of the departments are landlines, whichever plan names them: 0262 and 0590 only
    // the departments' metadata knows, 0269 and 0596 are landlines in France's too.
    for input in [
        "0262 16 12 34",
        "0269 60 12 34",
        "0590 27 12 34",
        "0594 10 12 34",
        "0596 30 12 34",
    ] {
        assert_eq!(refusal(input), LANDLINE, "{input}");
    }
    // Typed with the country code, the number keeps it.
    assert_eq!(refusal("+33 692 12 34 56"), PhoneError::UnknownRange);
    assert_eq!(refusal("0033 692 12 34 56"), PhoneError::UnknownRange);
    // The departments read metropolitan numbers too: the plan is one.
    assert_eq!(e164_in("06 12 34 56 78", "RE"), "+33612345678");
    assert_eq!(e164_in("0696 20 12 34", "GP"), "+596696201234");
    // Outside the plan, nothing changes.
    assert_eq!(
        PhoneNumber::parse_in("0692 12 34 56", Region::BELGIUM)
            .unwrap_err()
            .to_string(),
        "invalid phone number: it has the wrong number of digits for a number of that country"
    );
}

#[test]
fn numbers_that_cannot_receive_an_sms_are_named() {
    for input in [
        "01 23 45 67 89",
        "02 23 45 67 89",
        "03 23 45 67 89",
        "04 23 45 67 89",
    ] {
        assert_eq!(refusal(input), LANDLINE, "{input}");
    }
    assert_eq!(refusal("05 23 45 67 89"), LANDLINE);
    assert_eq!(
        refusal("08 00 12 34 56"),
        PhoneError::NotMobile(NumberKind::TollFree)
    );
    assert_eq!(
        refusal("08 36 65 43 21"),
        PhoneError::NotMobile(NumberKind::PremiumRate)
    );
    assert_eq!(
        refusal("08 10 12 34 56"),
        PhoneError::NotMobile(NumberKind::SharedCost)
    );
    assert_eq!(
        refusal("08 06 12 34 56"),
        PhoneError::NotMobile(NumberKind::Uan)
    );
    assert_eq!(
        refusal("09 70 12 34 56"),
        PhoneError::NotMobile(NumberKind::Voip)
    );
    assert_eq!(refusal("+44 20 7946 0958"), LANDLINE);
    assert_eq!(
        refusal("+44 70 1234 5678"),
        PhoneError::NotMobile(NumberKind::PersonalNumber)
    );
    assert_eq!(
        refusal("+44 7640 123456"),
        PhoneError::NotMobile(NumberKind::Pager)
    );
    assert_eq!(
        refusal("+800 1234 5678"),
        PhoneError::NotMobile(NumberKind::TollFree)
    );
    assert_eq!(refusal("+39 06 1234 5678"), LANDLINE);
    assert_eq!(refusal("+55 11 3123 4567"), LANDLINE);
    assert_eq!(
        refusal("+41 86 012 345 6789"),
        PhoneError::NotMobile(NumberKind::Voicemail)
    );
    assert_eq!(
        Error::InvalidPhone(LANDLINE).to_string(),
        "invalid phone number: it is not a mobile number: it is a landline"
    );
}

#[test]
fn a_trunk_zero_after_the_country_code_follows_the_plan() {
    assert_eq!(e164("+44 07400 123456"), "+447400123456");
    assert_eq!(e164("0044 07400 123456"), "+447400123456");
    assert_eq!(e164("+49 0151 23456789"), "+4915123456789");
    assert_eq!(e164("+40 0712 034 567"), "+40712034567");
    assert_eq!(e164("+377 06 12 34 56 78"), "+377612345678");
    assert_eq!(e164("+508 0551234"), "+508551234");
    // Côte d'Ivoire's numbers start with 0, which they keep.
    assert_eq!(e164("+225 07 12 34 56 78"), "+2250712345678");
    // A Comoros mobile is a Comoros mobile (+269), whatever Mayotte's 0269 landlines.
    assert_eq!(e164("+269 321 23 45"), "+2693212345");
    // Guernsey's mobiles share +44 with Britain's.
    let guernsey: PhoneNumber = "+44 7911 123456".parse().unwrap();
    assert_eq!(guernsey.region().map(Region::code), Some("GG"));
}

#[test]
fn other_regions_read_their_national_forms() {
    assert_eq!(e164_in("0470 12 34 56", "BE"), "+32470123456");
    assert_eq!(e164_in("612 345 678", "ES"), "+34612345678");
    assert_eq!(e164_in("07400 123456", "GB"), "+447400123456");
    assert_eq!(e164_in("0151 23456789", "DE"), "+4915123456789");
    assert_eq!(e164_in("628 123 456", "LU"), "+352628123456");
    assert_eq!(e164_in("078 123 45 67", "CH"), "+41781234567");
    assert_eq!(e164_in("(201) 555-0123", "US"), "+12015550123");
    assert_eq!(e164_in("011 33 6 12 34 56 78", "US"), "+33612345678");
    // Argentina's national prefix and `15` become the international `9`.
    assert_eq!(e164_in("011 15 2345 6789", "AR"), "+5491123456789");
    let us = PhoneNumber::parse_in("+1 415 555 2671", Region::FRANCE).unwrap();
    assert_eq!(
        (us.calling_code(), us.region().map(Region::code)),
        (1, Some("US"))
    );
    let satellite: PhoneNumber = "+882 342 1234".parse().unwrap();
    assert_eq!((satellite.calling_code(), satellite.region()), (882, None));
}

#[test]
fn refusals_name_the_problem() {
    assert_eq!(refusal(""), PhoneError::Empty);
    assert_eq!(refusal("  "), PhoneError::Empty);
    assert_eq!(refusal("+"), PhoneError::Empty);
    assert_eq!(refusal("( ) -"), PhoneError::Empty);
    assert_eq!(refusal("06 12 34 56 7a"), PhoneError::InvalidCharacter);
    assert_eq!(refusal("06 12 34 56 78 #"), PhoneError::InvalidCharacter);
    assert_eq!(refusal("++33612345678"), PhoneError::InvalidCharacter);
    assert_eq!(refusal("06+12345678"), PhoneError::InvalidCharacter);
    assert_eq!(refusal("tel:+33612345678"), PhoneError::InvalidCharacter);
    assert_eq!(
        refusal("０６１２３４５６７８"),
        PhoneError::InvalidCharacter
    );
    assert_eq!(refusal("+0612345678"), PhoneError::InvalidCountryCode);
    assert_eq!(refusal("+999 1234 5678"), PhoneError::InvalidCountryCode);
    assert_eq!(refusal("+210 0000 000"), PhoneError::InvalidCountryCode);
    assert_eq!(refusal("+2"), PhoneError::TooShort);
    assert_eq!(refusal("+33 6"), PhoneError::TooShort);
    assert_eq!(refusal("06 12 34 56 7"), PhoneError::TooShort);
    assert_eq!(refusal("+44 12"), PhoneError::TooShort);
    assert_eq!(refusal("+1 4155"), PhoneError::TooShort);
    assert_eq!(refusal("06 12 34 56 789"), PhoneError::TooLong);
    assert_eq!(refusal("000612345678"), PhoneError::TooLong);
    assert_eq!(refusal("+1 415 555 26710"), PhoneError::TooLong);
    assert_eq!(refusal(&"9".repeat(40)), PhoneError::TooLong);
    assert_eq!(refusal(&"9".repeat(41)), PhoneError::TooLong);
    assert_eq!(refusal("07 00 12 34 56"), PhoneError::UnknownRange);
    assert_eq!(refusal("+31 00 1234 5678"), PhoneError::UnknownRange);
    assert_eq!(refusal("+44 7924 12345"), PhoneError::WrongLength);
    assert_eq!(refusal("+49 151 2345"), PhoneError::WrongLength);
}

#[test]
fn every_refusal_reads_as_a_lowercase_sentence() {
    let kinds = [
        NumberKind::FixedLine,
        NumberKind::TollFree,
        NumberKind::PremiumRate,
        NumberKind::SharedCost,
        NumberKind::Voip,
        NumberKind::PersonalNumber,
        NumberKind::Pager,
        NumberKind::Uan,
        NumberKind::Voicemail,
    ];
    let mut errors = vec![
        PhoneError::Empty,
        PhoneError::InvalidCharacter,
        PhoneError::InvalidCountryCode,
        PhoneError::TooLong,
        PhoneError::TooShort,
        PhoneError::UnknownRange,
        PhoneError::WrongLength,
    ];
    errors.extend(kinds.map(PhoneError::NotMobile));
    for error in errors {
        let text = error.to_string();
        assert!(text.starts_with("it "), "{text}");
        assert!(!text.contains(char::is_numeric), "{text}");
    }
    assert_eq!(NumberKind::PremiumRate.to_string(), "a premium-rate number");
}

#[test]
fn errors_never_echo_the_number() {
    for input in [
        "06 12 34 56 789",
        "01 23 45 67 89",
        "07 00 12 34 56",
        "+44 7924 12345",
    ] {
        let err = input.parse::<PhoneNumber>().unwrap_err();
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("45"), "{shown}");
            assert!(!shown.contains("34"), "{shown}");
        }
    }
}

#[test]
fn masks_all_but_the_ends() {
    let fr: PhoneNumber = "+33612345678".parse().unwrap();
    assert_eq!(fr.masked(), "+33 6 •• •• •• 78");
    assert_eq!(format!("{fr:?}"), "PhoneNumber(+33 6 •• •• •• 78)");
    let uk: PhoneNumber = "+447400123456".parse().unwrap();
    assert_eq!(uk.masked(), "+44 7 •• •• •• • 56");
    assert!(!format!("{uk:?}").contains("7400123456"));
    // Short national numbers keep at least 4 digits, and at least half, hidden.
    for (number, masked) in [
        ("+3546111234", "+354 •• •• • 34"),
        ("+298211234", "+298 •• •• 34"),
        ("+29051234", "+290 •• •• •"),
        ("+6907290", "+690 •• ••"),
    ] {
        let phone: PhoneNumber = number.parse().unwrap();
        assert_eq!(phone.masked(), masked, "{number}");
    }
}

#[test]
fn stored_numbers_read_back_and_odd_ones_do_not() {
    for input in [
        "+33612345678",
        "+447400123456",
        "+14155552671",
        "+262692123456",
    ] {
        let phone: PhoneNumber = input.parse().unwrap();
        assert_eq!(PhoneNumber::from_record(phone.as_str()), Some(phone));
    }
    // A stored number is read by its shape: a range the plan dropped since stays readable.
    let old = PhoneNumber::from_record("+33700123456").unwrap();
    assert_eq!((old.calling_code(), old.as_str()), (33, "+33700123456"));
    for odd in [
        "33612345678",
        "+",
        "+3361234567a",
        "+9991234567",
        "+1234567890123456",
    ] {
        assert_eq!(PhoneNumber::from_record(odd), None, "{odd}");
    }
}

#[test]
fn display_round_trips() {
    for input in [
        "+33612345678",
        "+447400123456",
        "+14155552671",
        "+352621123456",
        "+262692123456",
        "+2250712345678",
    ] {
        let phone: PhoneNumber = input.parse().unwrap();
        assert_eq!(phone.to_string().parse::<PhoneNumber>().unwrap(), phone);
        assert_eq!(phone.as_str(), input);
    }
}
