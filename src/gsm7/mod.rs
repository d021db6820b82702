//! GSM 03.38 (3GPP TS 23.038), the alphabet of SMS: septets a text takes in its 7-bit default
//! alphabet, merchant names folded into it, and the segments an SMS body takes.

use std::borrow::Cow;

/// The alphabet of an SMS body (3GPP TS 23.038).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SmsEncoding {
    /// The GSM 03.38 default alphabet and its extension table, 7 bits a character (data
    /// coding scheme 0): 160 characters in one SMS.
    Gsm7,
    /// UCS-2, sent as UTF-16 (data coding scheme 8): 70 code units in one SMS.
    Ucs2,
}

/// Septets in one SMS sent alone, and in each part of a concatenated one (the rest of the 140
/// bytes holds the concatenation header).
const GSM7_SINGLE: usize = 160;
const GSM7_PART: usize = 153;
/// UTF-16 code units of UCS-2, in one SMS and in each part of a concatenated one.
const UCS2_SINGLE: usize = 70;
const UCS2_PART: usize = 67;

/// Septets `text` takes in the GSM 03.38 default alphabet (characters of the extension table
/// count two), or `None` when a character forces UCS-2.
pub(crate) fn septets(text: &str) -> Option<usize> {
    text.chars()
        .try_fold(0usize, |septets, c| Some(septets.saturating_add(width(c)?)))
}

/// The alphabet `text` is sent in: GSM-7 when every character has a place in it, else UCS-2.
pub(crate) fn encoding(text: &str) -> SmsEncoding {
    match septets(text) {
        Some(_) => SmsEncoding::Gsm7,
        None => SmsEncoding::Ucs2,
    }
}

/// The SMS `text` takes: one when it fits a single message, else as many parts as it fills
/// when cut before the first character that does not fit (an extension character's two
/// septets, or a surrogate pair, are never split between two parts).
pub(crate) fn segments(text: &str) -> usize {
    match encoding(text) {
        SmsEncoding::Gsm7 => parts(
            // Every character has a width here: GSM-7 is what `encoding` found.
            text.chars().map_while(width),
            GSM7_SINGLE,
            GSM7_PART,
        ),
        SmsEncoding::Ucs2 => parts(text.chars().map(char::len_utf16), UCS2_SINGLE, UCS2_PART),
    }
}

/// Messages for characters of `widths`: one if they fit `single` units, else parts of at most
/// `part` units each, filled in order, a character never split.
fn parts(widths: impl Iterator<Item = usize> + Clone, single: usize, part: usize) -> usize {
    if widths.clone().fold(0usize, usize::saturating_add) <= single {
        return 1;
    }
    let (parts, _) = widths.fold((1usize, 0usize), |(parts, used), width| {
        match used.checked_add(width).filter(|&total| total <= part) {
            Some(total) => (parts, total),
            None => (parts.saturating_add(1), width),
        }
    });
    parts
}

/// `text` in the GSM-7 alphabet for an SMS, when each of its characters is in it or folds into
/// it (`ç` → `c`, `œ` → `oe`, `’` → `'`, …); otherwise `text` as it is, to go as UCS-2.
pub(crate) fn fold(text: &str) -> Cow<'_, str> {
    if septets(text).is_some() {
        return Cow::Borrowed(text);
    }
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        if width(c).is_some() {
            folded.push(c);
        } else if let Some(replacement) = replacement(c) {
            folded.push_str(replacement);
        } else {
            return Cow::Borrowed(text);
        }
    }
    Cow::Owned(folded)
}

/// Septets of one character in GSM 03.38: the basic table, then the extension table.
fn width(c: char) -> Option<usize> {
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

/// What a character outside GSM-7 folds into: Latin letters lose their accents (keeping those
/// GSM-7 has: `ő` → `ö`), ligatures and other letters are spelled out, Greek capitals take
/// their Latin look-alikes, and typographic punctuation and spaces their plain forms.
fn replacement(c: char) -> Option<&'static str> {
    latin_letter(c)
        .or_else(|| other_letter(c))
        .or_else(|| punctuation(c))
}

/// Letters of Latin-1 Supplement, Latin Extended-A and Romanian's comma-below letters.
fn latin_letter(c: char) -> Option<&'static str> {
    Some(match c {
        'À' | 'Á' | 'Â' | 'Ã' | 'Ā' | 'Ă' | 'Ą' => "A",
        'á' | 'â' | 'ã' | 'ā' | 'ă' | 'ą' | 'ª' => "a",
        'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'Ð' | 'Ď' | 'Đ' => "D",
        'ð' | 'ď' | 'đ' => "d",
        'È' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => "E",
        'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "G",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'Ĥ' | 'Ħ' => "H",
        'ĥ' | 'ħ' => "h",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "I",
        'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'Ĳ' => "IJ",
        'ĳ' => "ij",
        'Ĵ' => "J",
        'ĵ' => "j",
        'Ķ' => "K",
        'ķ' | 'ĸ' => "k",
        'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "L",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'Ń' | 'Ņ' | 'Ň' | 'Ŋ' => "N",
        'ń' | 'ņ' | 'ň' | 'ŋ' => "n",
        'ŉ' => "'n",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ō' | 'Ŏ' => "O",
        'ó' | 'ô' | 'õ' | 'ō' | 'ŏ' | 'º' => "o",
        'Ő' => "Ö",
        'ő' => "ö",
        'Œ' => "OE",
        'œ' => "oe",
        'Ŕ' | 'Ŗ' | 'Ř' => "R",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' => "S",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' | 'ſ' => "s",
        'Ţ' | 'Ť' | 'Ŧ' | 'Ț' => "T",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'Þ' => "Th",
        'þ' => "th",
        'Ù' | 'Ú' | 'Û' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ų' => "U",
        'ú' | 'û' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ų' | 'µ' => "u",
        'Ű' => "Ü",
        'ű' => "ü",
        'Ŵ' => "W",
        'ŵ' => "w",
        'Ý' | 'Ŷ' | 'Ÿ' => "Y",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'Ź' | 'Ż' | 'Ž' => "Z",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// Greek capitals that GSM-7 lacks, as their Latin look-alikes (GSM-7 has the others).
fn other_letter(c: char) -> Option<&'static str> {
    Some(match c {
        'Α' | 'Ά' => "A",
        'Β' => "B",
        'Ε' | 'Έ' => "E",
        'Ζ' => "Z",
        'Η' | 'Ή' => "H",
        'Ι' | 'Ί' | 'Ϊ' => "I",
        'Κ' => "K",
        'Μ' => "M",
        'Ν' => "N",
        'Ο' | 'Ό' => "O",
        'Ρ' => "P",
        'Τ' => "T",
        'Υ' | 'Ύ' | 'Ϋ' => "Y",
        'Χ' => "X",
        'Ώ' => "Ω",
        _ => return None,
    })
}

/// Typographic quotes, dashes, ellipsis, spaces and a few signs.
fn punctuation(c: char) -> Option<&'static str> {
    Some(match c {
        '’' | '‘' | '‚' | '‛' | '′' | '‹' | '›' | '´' | '`' => "'",
        '“' | '”' | '„' | '‟' | '″' | '«' | '»' => "\"",
        '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' => "-",
        '…' => "...",
        '\u{a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' => " ",
        '·' => ".",
        '×' => "x",
        '°' => "o",
        '¹' => "1",
        '²' => "2",
        '³' => "3",
        '¼' => "1/4",
        '½' => "1/2",
        '¾' => "3/4",
        '¢' => "c",
        '©' => "(C)",
        '®' => "(R)",
        '™' => "TM",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
