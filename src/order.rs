//! What is being paid for: [`Merchant`], [`Order`], [`Channel`].

use core::fmt;
use core::str::FromStr;

use crate::Error;
use crate::display_text::TextError;
use crate::display_text::{checked_text, is_checked_text};
use crate::gsm7::{fold, septets};
use crate::money::Amount;

/// Longest merchant id.
pub(crate) const MAX_MERCHANT_ID: usize = 32;
/// Longest merchant display name: short enough for the SMS to fit one segment.
pub(crate) const MAX_DISPLAY_NAME: usize = 40;
/// Longest order reference.
pub(crate) const MAX_REFERENCE: usize = 64;

/// A merchant's stable identifier: 1 to 32 ASCII letters, digits, `.`, `_` or `-`.
///
/// It is bound into every code (a code for one merchant is worthless at another) and sent to
/// the bank.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MerchantId(String);

impl MerchantId {
    /// The id text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for MerchantId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
        if s.is_empty() {
            Err(Error::InvalidMerchant(TextError::Empty))
        } else if s.len() > MAX_MERCHANT_ID {
            Err(Error::InvalidMerchant(TextError::TooLong {
                max: MAX_MERCHANT_ID,
            }))
        } else if !s.bytes().all(allowed) {
            Err(Error::InvalidMerchant(TextError::ForbiddenCharacter))
        } else {
            Ok(Self(s.to_owned()))
        }
    }
}

impl fmt::Display for MerchantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who is paid: a [`MerchantId`] and the name the buyer sees in the SMS.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Merchant {
    id: MerchantId,
    display_name: String,
}

impl Merchant {
    /// A merchant with its id and a display name of 1 to 40 characters (trimmed, no control
    /// characters).
    ///
    /// The name is what the buyer reads in the SMS, so nothing in it may be invisible or change
    /// how the text around it reads: format characters (bidirectional controls such as U+202E,
    /// zero-width characters such as U+200B, the soft hyphen, tags), line and paragraph
    /// separators (U+2028, U+2029), variation selectors and filler characters are refused.
    /// Other spaces (no-break, narrow, thin, …) become plain spaces.
    ///
    /// The SMS carries the name in the GSM-7 alphabet when each of its characters is in it or
    /// folds into it: accented Latin letters lose the accents GSM-7 lacks (`ç` → `c`, `ê` →
    /// `e`; `é`, `è`, `à`, `ü`, `ø` and the others it has stay), ligatures are spelled out
    /// (`œ` → `oe`), Greek capitals take their Latin look-alikes, and typographic punctuation
    /// takes its plain form (`’` → `'`, `«` → `"`, `–` → `-`, `…` → `...`). That folded name
    /// must fit 40 GSM-7 characters, where `€ [ ] { } | ^ ~ \` count two, so that the SMS
    /// fits one 160-character segment. A name with a character that does not fold (Greek
    /// lowercase, Cyrillic, CJK, emoji, …) is sent exact, in UCS-2, where the SMS takes 2
    /// segments, or 3 with a long name of emoji (which count two) or a very large amount (see
    /// [`SmsMessage::segments`]); the limit stays 40 characters. Everywhere else
    /// ([`display_name`](Self::display_name), `Display`, the stored payment) the name is kept
    /// as given, unfolded.
    ///
    /// [`SmsMessage::segments`]: crate::SmsMessage::segments
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMerchant`] naming the problem with the id or the name:
    /// [`TextError::InvisibleCharacter`] for a character above.
    ///
    /// # Examples
    ///
    /// ```
    /// use buyster::{Error, Merchant, TextError};
    ///
    /// let shop = Merchant::new("chez-leon", "Chez\u{a0}Léon")?;
    /// assert_eq!(shop.display_name(), "Chez Léon");
    /// let shop = Merchant::new("creperie", "Crêperie Façon Cœur")?;
    /// assert_eq!(shop.display_name(), "Crêperie Façon Cœur"); // "Creperie Facon Coeur" in the SMS
    /// assert!(matches!(
    ///     Merchant::new("creperie", &"Œ".repeat(21)), // "OE" 21 times: 42 septets
    ///     Err(Error::InvalidMerchant(TextError::TooLongForSms { max_septets: 40 }))
    /// ));
    /// assert!(matches!(
    ///     Merchant::new("chez-leon", "Chez \u{202e}noéL"),
    ///     Err(Error::InvalidMerchant(TextError::InvisibleCharacter))
    /// ));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn new(id: &str, display_name: &str) -> Result<Self, Error> {
        Ok(Self {
            id: id.parse()?,
            display_name: display_name_text(display_name).map_err(Error::InvalidMerchant)?,
        })
    }

    /// A merchant as the engine stored it, checked for shape only.
    pub(crate) fn from_record(id: &str, display_name: &str) -> Option<Self> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
        let id_ok = (1..=MAX_MERCHANT_ID).contains(&id.len()) && id.bytes().all(allowed);
        let name_ok = is_checked_text(display_name, MAX_DISPLAY_NAME);
        (id_ok && name_ok).then(|| Self {
            id: MerchantId(id.to_owned()),
            display_name: display_name.to_owned(),
        })
    }

    /// The merchant's id.
    #[must_use]
    pub fn id(&self) -> &MerchantId {
        &self.id
    }

    /// The name shown to the buyer.
    #[must_use]
    pub fn display_name(&self) -> &str {
        &self.display_name
    }
}

impl fmt::Display for Merchant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_name)
    }
}

/// Where the buyer pays from. The engine behaves the same on each; the host may use it for its
/// screens and its reports.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[non_exhaustive]
pub enum Channel {
    /// A web page.
    #[default]
    Web,
    /// A phone application.
    Mobile,
    /// A connected TV.
    Tv,
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Web => "web",
            Self::Mobile => "mobile",
            Self::Tv => "tv",
        })
    }
}

impl FromStr for Channel {
    type Err = Error;

    /// Reads `web`, `mobile` or `tv`, in any case.
    fn from_str(s: &str) -> Result<Self, Error> {
        [Self::Web, Self::Mobile, Self::Tv]
            .into_iter()
            .find(|c| c.to_string().eq_ignore_ascii_case(s.trim()))
            .ok_or(Error::InvalidChannel)
    }
}

/// What the buyer pays: merchant, amount, the merchant's own reference, and the channel.
///
/// Immutable once built; a payment keeps its order from `initiate` to the debit, and the code
/// the buyer receives is bound to its merchant and amount.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Order {
    merchant: Merchant,
    amount: Amount,
    reference: String,
    channel: Channel,
}

impl Order {
    /// An order on the web channel; see [`Order::with_channel`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidReference`] unless `reference` has 1 to 64 characters (trimmed), no
    /// control character and no invisible or direction-changing one, under the rule of
    /// [`Merchant::new`]'s names: the reference reaches the bank's statement and the receipt.
    /// Other spaces become plain spaces there too.
    pub fn new(merchant: Merchant, amount: Amount, reference: &str) -> Result<Self, Error> {
        Ok(Self {
            merchant,
            amount,
            reference: checked_text(reference, MAX_REFERENCE).map_err(Error::InvalidReference)?,
            channel: Channel::Web,
        })
    }

    /// An order as the engine stored it, checked for shape only.
    pub(crate) fn from_record(
        merchant: Merchant,
        amount: Amount,
        reference: &str,
        channel: Channel,
    ) -> Option<Self> {
        is_checked_text(reference, MAX_REFERENCE).then(|| Self {
            merchant,
            amount,
            reference: reference.to_owned(),
            channel,
        })
    }

    /// The same order, paid from `channel`.
    #[must_use]
    pub fn with_channel(self, channel: Channel) -> Self {
        Self { channel, ..self }
    }

    /// The merchant paid.
    #[must_use]
    pub fn merchant(&self) -> &Merchant {
        &self.merchant
    }

    /// The amount debited.
    #[must_use]
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// The merchant's reference for this order.
    #[must_use]
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// Where the buyer pays from.
    #[must_use]
    pub fn channel(&self) -> Channel {
        self.channel
    }
}

/// A display name that keeps the SMS to one segment when it is, or folds into, GSM-7.
fn display_name_text(name: &str) -> Result<String, TextError> {
    let name = checked_text(name, MAX_DISPLAY_NAME)?;
    match septets(&fold(&name)) {
        Some(septets) if septets > MAX_DISPLAY_NAME => Err(TextError::TooLongForSms {
            max_septets: MAX_DISPLAY_NAME,
        }),
        _ => Ok(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn builds_an_order() {
        let merchant = Merchant::new("boutique-42", "  Boutique Exemple ").unwrap();
        assert_eq!(merchant.display_name(), "Boutique Exemple");
        assert_eq!(merchant.id().as_str(), "boutique-42");
        let amount = Amount::new(4990, Currency::EUR).unwrap();
        let order = Order::new(merchant, amount, "CMD-2026-000123")
            .unwrap()
            .with_channel(Channel::Tv);
        assert_eq!(order.channel(), Channel::Tv);
        assert_eq!(order.amount(), amount);
        assert_eq!(order.reference(), "CMD-2026-000123");
    }

    #[test]
    fn merchant_refusals_name_the_problem() {
        let refusal = |id: &str, name: &str| match Merchant::new(id, name) {
            Err(Error::InvalidMerchant(e)) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(refusal("", "Shop"), TextError::Empty);
        assert_eq!(refusal("shop 1", "Shop"), TextError::ForbiddenCharacter);
        assert_eq!(
            refusal(&"s".repeat(33), "Shop"),
            TextError::TooLong { max: 32 }
        );
        assert_eq!(refusal("shop", " "), TextError::Empty);
        assert_eq!(refusal("shop", "Sh\nop"), TextError::ForbiddenCharacter);
        assert_eq!(
            refusal("shop", &"é".repeat(41)),
            TextError::TooLong { max: 40 }
        );
        assert!(Merchant::new("shop", &"é".repeat(40)).is_ok());
        assert_eq!(
            refusal("shop", &"€".repeat(21)),
            TextError::TooLongForSms { max_septets: 40 }
        );
        assert!(Merchant::new("shop", &"€".repeat(20)).is_ok());
        assert!(
            Merchant::new("shop", &"ç".repeat(40)).is_ok(),
            "not GSM-7: sent as UCS-2"
        );
        assert_eq!(
            refusal("shop", "Shop \u{202e}pohS"),
            TextError::InvisibleCharacter
        );
        assert_eq!(
            refusal("shop", "Sh\u{2028}op"),
            TextError::InvisibleCharacter
        );
        assert_eq!(
            refusal("shop", "Sh\u{200b}op"),
            TextError::InvisibleCharacter
        );
    }

    #[test]
    fn stored_merchants_and_orders_read_back_as_new_made_them() {
        let amount = Amount::new(1, Currency::EUR).unwrap();
        let merchant = Merchant::new("shop", " Chez\u{a0}Léon ").unwrap();
        let order = Order::new(merchant.clone(), amount, "CMD\u{202f}1").unwrap();
        let read = Merchant::from_record("shop", merchant.display_name());
        assert_eq!(read.as_ref(), Some(&merchant));
        let read = Order::from_record(merchant.clone(), amount, order.reference(), Channel::Web);
        assert_eq!(read, Some(order));
        for odd in [
            "Chez\u{a0}Léon",
            " Chez Léon",
            "Chez\u{202e}Léon",
            "Chez\u{200b}Léon",
        ] {
            assert_eq!(Merchant::from_record("shop", odd), None, "{odd:?}");
            let read = Order::from_record(merchant.clone(), amount, odd, Channel::Web);
            assert_eq!(read, None, "{odd:?}");
        }
    }

    #[test]
    fn reference_refusals_name_the_problem() {
        let merchant = Merchant::new("shop", "Shop").unwrap();
        let amount = Amount::new(1, Currency::EUR).unwrap();
        let refusal = |reference: &str| match Order::new(merchant.clone(), amount, reference) {
            Err(Error::InvalidReference(e)) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(refusal(""), TextError::Empty);
        assert_eq!(refusal(&"r".repeat(65)), TextError::TooLong { max: 64 });
        assert_eq!(refusal("a\u{7}b"), TextError::ForbiddenCharacter);
        assert_eq!(refusal("a\u{202e}b"), TextError::InvisibleCharacter);
    }

    #[test]
    fn channels_round_trip() {
        for channel in [Channel::Web, Channel::Mobile, Channel::Tv] {
            assert_eq!(channel.to_string().parse::<Channel>().unwrap(), channel);
        }
        assert!(matches!(
            "fax".parse::<Channel>(),
            Err(Error::InvalidChannel)
        ));
    }
}
