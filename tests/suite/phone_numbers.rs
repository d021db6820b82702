//! `PhoneNumber` through the public API: what the SMS gateway would be given for numbers typed
//! the ways buyers type them, and which numbers are refused.

use buyster::{PhoneNumber, Region};

fn e164(input: &str) -> Option<String> {
    input.parse::<PhoneNumber>().ok().map(|p| p.to_string())
}

#[test]
fn overseas_departments_typed_the_french_national_way_get_their_country_code() {
    for (input, expected) in [
        ("0692 12 34 56", "+262692123456"),
        ("06 92 12 34 56", "+262692123456"),
        ("0693 12 34 56", "+262693123456"),
        ("0639 01 23 45", "+262639012345"),
        ("0690 00 12 34", "+590690001234"),
        ("0691 28 12 34", "+590691281234"),
        ("0696 20 12 34", "+596696201234"),
        ("0697 12 34 56", "+596697123456"),
        ("0694 20 12 34", "+594694201234"),
    ] {
        assert_eq!(e164(input).as_deref(), Some(expected), "{input}");
    }
}

#[test]
fn overseas_landlines_are_refused() {
    for input in [
        "0262 16 12 34",
        "0269 60 12 34",
        "0590 27 12 34",
        "0594 10 12 34",
        "0596 30 12 34",
    ] {
        assert_eq!(e164(input), None, "{input}");
    }
}

#[test]
fn numbers_that_cannot_receive_an_sms_are_refused() {
    for input in [
        "01 23 45 67 89",
        "02 23 45 67 89",
        "03 23 45 67 89",
        "04 23 45 67 89",
        "05 23 45 67 89",
        "08 00 12 34 56",
        "08 36 65 43 21",
        "08 10 12 34 56",
        "09 70 12 34 56",
        "07 00 12 34 56",
        "+44 7924 12345",
        "+44 20 7946 0958",
        "+33 692 12 34 56",
        "+800 1234 5678",
    ] {
        assert_eq!(e164(input), None, "{input}");
    }
}

#[test]
fn a_trunk_zero_typed_after_the_country_code_is_dropped_as_the_plan_says() {
    for (input, expected) in [
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("+44 07400 123456", "+447400123456"),
        ("+40 0712 034 567", "+40712034567"),
        ("+377 06 12 34 56 78", "+377612345678"),
        ("+508 0551234", "+508551234"),
        ("+39 312 345 6789", "+393123456789"),
        ("+269 321 23 45", "+2693212345"),
    ] {
        assert_eq!(e164(input).as_deref(), Some(expected), "{input}");
    }
    // Italy's numbers keep their 0 after the country code: a Rome landline, not a mobile.
    assert_eq!(e164("+39 06 1234 5678"), None);
}

#[test]
fn national_forms_of_other_regions() {
    let read = |input: &str, region: Region| {
        PhoneNumber::parse_in(input, region)
            .ok()
            .map(|p| p.to_string())
    };
    assert_eq!(
        read("0470 12 34 56", Region::BELGIUM).as_deref(),
        Some("+32470123456")
    );
    assert_eq!(
        read("612 345 678", Region::SPAIN).as_deref(),
        Some("+34612345678")
    );
    assert_eq!(
        read("07400 123456", Region::UNITED_KINGDOM).as_deref(),
        Some("+447400123456")
    );
    assert_eq!(
        read("0151 23456789", Region::GERMANY).as_deref(),
        Some("+4915123456789")
    );
    assert_eq!(
        read("628 123 456", Region::LUXEMBOURG).as_deref(),
        Some("+352628123456")
    );
    assert_eq!(
        read("078 123 45 67", Region::SWITZERLAND).as_deref(),
        Some("+41781234567")
    );
}
