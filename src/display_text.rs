//! Display text: the merchant names and order references that a buyer reads in an SMS, on a
//! screen or on a statement. None of it may be invisible or turn the text around it.

/// Why a short piece of text (merchant id, display name, reference, token) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// Nothing was given.
    #[error("it is empty")]
    Empty,
    /// Longer than allowed.
    #[error("it is longer than {max} characters")]
    TooLong {
        /// The maximum number of characters.
        max: usize,
    },
    /// In GSM-7, the alphabet of SMS, longer than allowed once folded into it (`€ [ ] { } | ^
    /// ~ \` count two, `œ` is `oe`): see [`Merchant::new`](crate::Merchant::new).
    #[error("it takes more than {max_septets} characters of an SMS")]
    TooLongForSms {
        /// The most GSM-7 characters allowed.
        max_septets: usize,
    },
    /// A character outside the allowed set (control characters, or as documented per type).
    #[error("it contains a character that is not allowed")]
    ForbiddenCharacter,
    /// A character drawn as nothing, or that changes how the text around it is drawn (a
    /// direction override, a zero-width character, a line separator, a filler): it could make
    /// one merchant's name read as another's. See [`Merchant::new`](crate::Merchant::new).
    #[error("it contains an invisible or direction-changing character")]
    InvisibleCharacter,
}

/// The longest start of `text` of at most `max` bytes that ends between two characters.
pub(crate) fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    // `end` is a character boundary within `text`: the split cannot fail.
    text.split_at(end).0
}

/// `text` as display text: each space other than U+0020 made U+0020, then trimmed; refused
/// unless it has 1 to `max` characters, no control character and no invisible or
/// direction-changing one.
pub(crate) fn checked_text(text: &str, max: usize) -> Result<String, TextError> {
    let spaced: String = text
        .chars()
        .map(|c| if is_other_space(c) { ' ' } else { c })
        .collect();
    let text = spaced.trim();
    match problem(text, max) {
        Some(refusal) => Err(refusal),
        None => Ok(text.to_owned()),
    }
}

/// Whether stored `text` is what [`checked_text`] makes of itself: a record yields only text
/// that the public constructors would have accepted.
pub(crate) fn is_checked_text(text: &str, max: usize) -> bool {
    text.trim().len() == text.len()
        && !text.chars().any(is_other_space)
        && problem(text, max).is_none()
}

/// Why trimmed `text` is refused, if it is.
fn problem(text: &str, max: usize) -> Option<TextError> {
    if text.is_empty() {
        Some(TextError::Empty)
    } else if text.chars().count() > max {
        Some(TextError::TooLong { max })
    } else if text.chars().any(char::is_control) {
        Some(TextError::ForbiddenCharacter)
    } else if text.chars().any(is_invisible) {
        Some(TextError::InvisibleCharacter)
    } else {
        None
    }
}

/// The space separators of Unicode (general category Zs) but U+0020: no-break, narrow and
/// thin spaces, the typographic spaces of U+2000 to U+200A, the ideographic space.
fn is_other_space(c: char) -> bool {
    matches!(
        c,
        '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// Whether `c` is drawn as nothing, or changes how the characters around it are drawn: the
/// format characters of Unicode 16 (general category Cf: bidirectional controls, zero-width
/// characters, the soft hyphen, tags, …), the line and paragraph separators (Zl, Zp), the rest
/// of the default-ignorable code points (variation selectors, the combining grapheme joiner,
/// Hangul fillers, Mongolian free variation selectors, and the blocks Unicode keeps for more),
/// and the blank Braille pattern, a common invisible filler.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unicode 16's format characters (general category Cf), from DerivedGeneralCategory.txt.
    const FORMAT: [(u32, u32); 21] = [
        (0x00ad, 0x00ad),
        (0x0600, 0x0605),
        (0x061c, 0x061c),
        (0x06dd, 0x06dd),
        (0x070f, 0x070f),
        (0x0890, 0x0891),
        (0x08e2, 0x08e2),
        (0x180e, 0x180e),
        (0x200b, 0x200f),
        (0x202a, 0x202e),
        (0x2060, 0x2064),
        (0x2066, 0x206f),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
    ];

    /// Other_Default_Ignorable_Code_Point and Variation_Selector (PropList.txt), the line and
    /// paragraph separators (Zl, Zp), and the blank Braille pattern.
    const OTHER_INVISIBLE: [(u32, u32); 17] = [
        (0x034f, 0x034f),
        (0x115f, 0x1160),
        (0x17b4, 0x17b5),
        (0x180b, 0x180d),
        (0x180f, 0x180f),
        (0x2028, 0x2029),
        (0x2065, 0x2065),
        (0x3164, 0x3164),
        (0xfe00, 0xfe0f),
        (0xffa0, 0xffa0),
        (0xfff0, 0xfff8),
        (0xe0000, 0xe0000),
        (0xe0002, 0xe001f),
        (0xe0080, 0xe00ff),
        (0xe0100, 0xe01ef),
        (0xe01f0, 0xe0fff),
        (0x2800, 0x2800),
    ];

    fn listed() -> impl Iterator<Item = char> {
        FORMAT
            .into_iter()
            .chain(OTHER_INVISIBLE)
            .flat_map(|(first, last)| first..=last)
            .filter_map(char::from_u32)
    }

    #[test]
    fn every_format_separator_and_ignorable_character_is_invisible() {
        for c in listed() {
            assert!(is_invisible(c), "U+{:04X}", u32::from(c));
        }
        let all = (0..=0x10_ffff).filter_map(char::from_u32);
        let invisible = all.filter(|c| is_invisible(*c)).count();
        assert_eq!(invisible, listed().count(), "and nothing else");
    }

    #[test]
    fn the_characters_of_the_review_are_refused() {
        let named = [
            '\u{200e}',
            '\u{200f}',
            '\u{202a}',
            '\u{202b}',
            '\u{202c}',
            '\u{202d}',
            '\u{202e}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{61c}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{2060}',
            '\u{2061}',
            '\u{2062}',
            '\u{2063}',
            '\u{2064}',
            '\u{feff}',
            '\u{ad}',
            '\u{180e}',
            '\u{fff9}',
            '\u{fffa}',
            '\u{fffb}',
            '\u{e0000}',
            '\u{e0001}',
            '\u{e0041}',
            '\u{e007f}',
            '\u{2028}',
            '\u{2029}',
            '\u{fe00}',
            '\u{fe0f}',
            '\u{e0100}',
            '\u{e01ef}',
            '\u{34f}',
            '\u{115f}',
            '\u{1160}',
            '\u{3164}',
            '\u{ffa0}',
            '\u{180b}',
            '\u{180c}',
            '\u{180d}',
            '\u{180f}',
        ];
        for c in named {
            assert_eq!(
                checked_text(&format!("Shop{c}Shop"), 40),
                Err(TextError::InvisibleCharacter),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn letters_marks_and_symbols_stay_visible() {
        for c in "Aé œ’€東😀\u{301}\u{300}-_.".chars() {
            assert!(!is_invisible(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn other_spaces_become_plain_spaces() {
        let spaces = "\u{a0}\u{1680}\u{2000}\u{2001}\u{2002}\u{2003}\u{2004}\u{2005}\u{2006}\
                      \u{2007}\u{2008}\u{2009}\u{200a}\u{202f}\u{205f}\u{3000}";
        for space in spaces.chars() {
            let text = format!("{space}Chez{space}Léon{space}");
            assert_eq!(checked_text(&text, 40).as_deref(), Ok("Chez Léon"));
            assert!(!is_checked_text(&format!("Chez{space}Léon"), 40));
        }
        assert_eq!(checked_text("\u{a0}\u{202f}", 40), Err(TextError::Empty));
    }

    #[test]
    fn refusals_name_the_problem() {
        assert_eq!(checked_text(" ", 4), Err(TextError::Empty));
        assert_eq!(checked_text("abcde", 4), Err(TextError::TooLong { max: 4 }));
        assert_eq!(
            checked_text("a\u{7}b", 4),
            Err(TextError::ForbiddenCharacter)
        );
        assert_eq!(
            checked_text("a\u{85}b", 4),
            Err(TextError::ForbiddenCharacter)
        );
        assert_eq!(
            checked_text("a\u{2028}b", 4),
            Err(TextError::InvisibleCharacter)
        );
        assert_eq!(checked_text(" été ", 4).as_deref(), Ok("été"));
        assert_eq!(
            TextError::InvisibleCharacter.to_string(),
            "it contains an invisible or direction-changing character"
        );
    }

    #[test]
    fn stored_text_reads_back_only_as_checked_text_would_make_it() {
        for text in ["Boutique Exemple", "été", "Crêperie d’Œuvre", "東京"] {
            assert_eq!(checked_text(text, 40).as_deref(), Ok(text));
            assert!(is_checked_text(text, 40), "{text}");
        }
        for odd in [
            "",
            " Shop",
            "Shop ",
            "Sh\nop",
            "Sh\u{202e}op",
            "Sh\u{200b}op",
            "Sh\u{a0}op",
        ] {
            assert!(!is_checked_text(odd, 40), "{odd:?}");
        }
        assert!(!is_checked_text("abcde", 4));
    }
}
