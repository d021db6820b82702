//! [`IdempotencyKey`]: the merchant's key for one order, under which
//! [`Engine::initiate_once`](crate::Engine::initiate_once) makes one payment.

use core::fmt;
use core::str::FromStr;

use crate::Error;

/// A merchant's key for one order: 1 to 255 printable ASCII characters (`' '` to `'~'`), taken
/// exactly as given (not trimmed, case kept).
///
/// [`Engine::initiate_once`](crate::Engine::initiate_once) makes at most one payment per
/// merchant and key: a double click, a retried request or a second browser tab gets the
/// payment the first call made. Use the merchant's own order id, or a UUID stored with the
/// order. This is the merchant's key towards the engine, not the bank's
/// ([`DebitRequest::idempotency_key`](crate::DebitRequest::idempotency_key) is the payment id).
///
/// It is not a secret, so `Debug` and `Display` show it; it may carry an order id, and the
/// engine never writes it into an error, an event or a span.
///
/// # Examples
///
/// ```
/// use buyster::{Error, IdempotencyKey, IdempotencyKeyError};
///
/// let key: IdempotencyKey = "order/2026-000123".parse()?;
/// assert_eq!(key.as_str(), "order/2026-000123");
/// assert!(matches!(
///     "commande-n°12".parse::<IdempotencyKey>(),
///     Err(Error::InvalidIdempotencyKey(IdempotencyKeyError::ForbiddenCharacter { index: 10 }))
/// ));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The longest key, in characters (and bytes: every character is ASCII).
    pub const MAX_LEN: usize = 255;

    /// The key text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for IdempotencyKey {
    type Err = Error;

    /// Reads a key, refusing the first problem met from the start: an empty text, a character
    /// outside printable ASCII (where it is), or a 256th character.
    fn from_str(s: &str) -> Result<Self, Error> {
        problem(s).map_or_else(
            || Ok(Self(s.to_owned())),
            |refusal| Err(Error::InvalidIdempotencyKey(refusal)),
        )
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a text is not an [`IdempotencyKey`]. The text itself is never repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdempotencyKeyError {
    /// Nothing was given.
    #[error("it is empty")]
    Empty,
    /// Longer than [`IdempotencyKey::MAX_LEN`].
    #[error("it is longer than {max} characters")]
    TooLong {
        /// The most characters allowed.
        max: usize,
    },
    /// A character that is not printable ASCII: a control character (tab, newline, …), or
    /// any character beyond U+007E.
    #[error("the character at index {index} is not printable ASCII")]
    ForbiddenCharacter {
        /// Where the first such character is, counted in characters from 0. Every character
        /// before it is ASCII, so this is also its byte offset.
        index: usize,
    },
}

/// The first problem of `text` as a key, reading from its start; `None` for a good key. Work
/// stops at the first refused character or at the 256th byte, however long `text` is.
fn problem(text: &str) -> Option<IdempotencyKeyError> {
    if text.is_empty() {
        return Some(IdempotencyKeyError::Empty);
    }
    for (index, byte) in text.bytes().enumerate() {
        if index >= IdempotencyKey::MAX_LEN {
            return Some(IdempotencyKeyError::TooLong {
                max: IdempotencyKey::MAX_LEN,
            });
        }
        if !matches!(byte, b' '..=b'~') {
            return Some(IdempotencyKeyError::ForbiddenCharacter { index });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> IdempotencyKeyError {
        match text.parse::<IdempotencyKey>() {
            Err(Error::InvalidIdempotencyKey(refusal)) => refusal,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn keeps_a_key_exactly() {
        for text in [
            "a",
            " padded ",
            "Order 12/B:~{x}",
            "550e8400-e29b-41d4-a716-446655440000",
        ] {
            let key: IdempotencyKey = text.parse().unwrap();
            assert_eq!(key.as_str(), text);
            assert_eq!(key.to_string(), text);
            assert_eq!(key.to_string().parse::<IdempotencyKey>().unwrap(), key);
        }
        let every: String = (b' '..=b'~').map(char::from).collect();
        assert_eq!(every.parse::<IdempotencyKey>().unwrap().as_str(), every);
        assert_eq!(
            format!("{:?}", "k-1".parse::<IdempotencyKey>().unwrap()),
            "IdempotencyKey(\"k-1\")"
        );
    }

    #[test]
    fn takes_255_characters_and_no_more() {
        let longest = "k".repeat(255);
        assert_eq!(longest.parse::<IdempotencyKey>().unwrap().as_str(), longest);
        assert_eq!(
            refusal(&"k".repeat(256)),
            IdempotencyKeyError::TooLong { max: 255 }
        );
        assert_eq!(
            refusal(&"k".repeat(100_000)),
            IdempotencyKeyError::TooLong { max: 255 }
        );
    }

    #[test]
    fn names_the_first_problem_and_where_it_is() {
        let at = |index| IdempotencyKeyError::ForbiddenCharacter { index };
        assert_eq!(refusal(""), IdempotencyKeyError::Empty);
        assert_eq!(refusal("\tkey"), at(0));
        assert_eq!(refusal("key\n"), at(3));
        assert_eq!(refusal("ke\u{7f}y"), at(2));
        assert_eq!(refusal("clé"), at(2));
        assert_eq!(refusal("ab\u{1F600}"), at(2));
        assert_eq!(refusal("a\u{a0}b"), at(1), "a no-break space");
        assert_eq!(refusal("a\0b"), at(1));
        // A refused character within the first 255 is named even in a text too long.
        let long = format!("{}é{}", "k".repeat(254), "k".repeat(10));
        assert_eq!(refusal(&long), at(254));
        let long = format!("{}é", "k".repeat(255));
        assert_eq!(refusal(&long), IdempotencyKeyError::TooLong { max: 255 });
    }

    #[test]
    fn refusals_describe_and_never_echo() {
        let text = refusal("secret-order-é").to_string();
        assert_eq!(text, "the character at index 13 is not printable ASCII");
        let error = "secret-order-é".parse::<IdempotencyKey>().unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
    }
}
