use super::*;

const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                     ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const EXTENSION: &str = "^{}\\[~]|€\u{c}";

#[test]
fn gsm7_tables_hold_their_128_and_10_characters() {
    assert_eq!(
        BASIC.chars().count(),
        127,
        "the 128th is the escape to the extension table"
    );
    assert!(BASIC.chars().all(|c| width(c) == Some(1)));
    assert!(EXTENSION.chars().all(|c| width(c) == Some(2)));
    let others = (0..0x3000u32)
        .filter_map(char::from_u32)
        .filter(|c| width(*c).is_some())
        .count();
    assert_eq!(others, 127 + 10);
}

#[test]
fn gsm7_counts_extension_characters_twice() {
    assert_eq!(septets("abc"), Some(3));
    assert_eq!(septets("49,90 €"), Some(8));
    assert_eq!(septets("[x]"), Some(5));
    assert_eq!(septets("a\u{c}b"), Some(4));
    assert_eq!(septets("à é è ù Ç"), Some(9));
    assert_eq!(septets("ç"), None);
    assert_eq!(septets("même"), None);
    assert_eq!(septets("`"), None);
    assert_eq!(septets("😀"), None);
}

#[test]
fn gsm7_segments_are_160_septets_alone_then_153() {
    let a = |n: usize| "a".repeat(n);
    assert_eq!(encoding(&a(3)), SmsEncoding::Gsm7);
    assert_eq!(segments(""), 1);
    assert_eq!(segments(&a(160)), 1);
    assert_eq!(segments(&a(161)), 2);
    assert_eq!(segments(&a(306)), 2);
    assert_eq!(segments(&a(307)), 3);
    assert_eq!(segments(&a(459)), 3);
    assert_eq!(segments(&a(460)), 4);
    assert_eq!(segments(&"€".repeat(80)), 1, "160 septets");
    assert_eq!(segments(&"€".repeat(81)), 2);
    assert_eq!(segments(&format!("{}\u{c}", a(158))), 1);
    assert_eq!(segments(&format!("{}\u{c}", a(159))), 2);
    // 306 septets, but the escape and its character stay in one part: 152, 153, then 1.
    assert_eq!(segments(&format!("{}€{}", a(152), a(152))), 3);
    assert_eq!(segments(&format!("{}€{}", a(151), a(153))), 2);
}

#[test]
fn ucs2_segments_are_70_code_units_alone_then_67() {
    let zhe = |n: usize| "ж".repeat(n);
    assert_eq!(encoding(&zhe(1)), SmsEncoding::Ucs2);
    assert_eq!(encoding("café ç"), SmsEncoding::Ucs2);
    assert_eq!(segments(&zhe(70)), 1);
    assert_eq!(segments(&zhe(71)), 2);
    assert_eq!(segments(&zhe(134)), 2);
    assert_eq!(segments(&zhe(135)), 3);
    assert_eq!(segments(&format!("{}ç", "a".repeat(69))), 1);
    assert_eq!(segments(&format!("{}ç", "a".repeat(70))), 2);
    assert_eq!(segments(&"😀".repeat(35)), 1, "70 code units");
    assert_eq!(segments(&"😀".repeat(36)), 2);
    // 134 code units, but a surrogate pair stays in one part: 66, 67, then 1.
    assert_eq!(segments(&format!("{}😀{}", zhe(66), zhe(66))), 3);
    assert_eq!(segments(&format!("{}😀{}", zhe(65), zhe(67))), 2);
}

/// The letters of Latin-1 Supplement (but `×` and `÷`) with `ª º µ`, and of Latin
/// Extended-A.
fn latin_letters() -> impl Iterator<Item = char> {
    (0xc0..=0x17f)
        .chain([0xaa, 0xba, 0xb5])
        .filter(|&c| c != 0xd7 && c != 0xf7)
        .filter_map(char::from_u32)
}

#[test]
fn every_latin_letter_folds_into_gsm7_and_gsm7_letters_stay() {
    assert_eq!(latin_letters().count(), 64 - 2 + 3 + 128);
    for letter in latin_letters() {
        let text = letter.to_string();
        let folded = fold(&text);
        assert!(septets(&folded).is_some(), "{letter} gave {folded}");
        if width(letter).is_some() {
            assert_eq!(folded, text, "{letter} is GSM-7 and stays");
        } else {
            assert!(
                folded
                    .chars()
                    .all(|c| c.is_ascii_alphabetic() || "'ÖöÜü".contains(c)),
                "{letter} gave {folded}"
            );
        }
    }
    for kept in "éèàùìòÇØøÅåÆæßÉÄÖÑÜäöñü".chars() {
        assert_eq!(fold(&kept.to_string()), kept.to_string());
    }
}

#[test]
fn french_names_fold_letter_by_letter() {
    let folds = [
        (
            "Crêperie Façon Cœur d’Artichaut",
            "Creperie Facon Coeur d'Artichaut",
        ),
        ("L’Œuf à la Coque", "L'OEuf à la Coque"),
        ("Hôtel Île-de-France", "Hotel Ile-de-France"),
        ("Château «Belle Époque»", "Chateau \"Belle Époque\""),
        ("Pâtisserie – Salon de thé…", "Patisserie - Salon de thé..."),
        ("Łódź Kraków Gdańsk", "Lodz Krakow Gdansk"),
        ("Győr Műhely", "Györ Mühely"),
        ("Brașov Țara", "Brasov Tara"),
        ("ΑΘΗΝΑ ΚΑΦΕ", "AΘHNA KAΦE"),
    ];
    for (name, folded) in folds {
        assert_eq!(fold(name), folded);
        assert!(septets(folded).is_some(), "{folded}");
    }
    assert!(matches!(fold("Boutique Exemple"), Cow::Borrowed(_)));
}

#[test]
fn typographic_punctuation_and_spaces_fold_to_their_plain_forms() {
    let folds = [
        ("’‘‚‛", "''''"),
        ("“”„«»", "\"\"\"\"\""),
        ("–—", "--"),
        ("…", "..."),
        ("\u{a0}\u{202f}\u{2009}\u{2007}\u{200a}", "     "),
        ("`´", "''"),
        ("©®™", "(C)(R)TM"),
    ];
    for (text, folded) in folds {
        assert_eq!(fold(text), folded);
    }
}

#[test]
fn a_name_with_any_character_that_does_not_fold_keeps_its_exact_text() {
    for name in [
        "αβγ Ταβέρνα",
        "Москва",
        "東京 Café",
        "Café 😀",
        "Crêpes ÷ 2",
    ] {
        assert!(
            matches!(fold(name), Cow::Borrowed(text) if text == name),
            "{name}"
        );
        assert_eq!(encoding(name), SmsEncoding::Ucs2);
    }
}

#[test]
fn every_fold_gives_gsm7_text_for_a_character_outside_it() {
    let folding = (0..0x1_0000)
        .filter_map(char::from_u32)
        .filter_map(|c| replacement(c).map(|r| (c, r)));
    let mut count = 0;
    for (c, folded) in folding {
        assert!(width(c).is_none(), "{c} is GSM-7 already");
        assert!(septets(folded).is_some(), "{c} gives {folded}");
        count += 1;
    }
    assert!(count > 200, "{count}");
}
