//! [`Keys`]: the master secret's sub-keys, and every keyed tag the engine makes with them.

use core::fmt;

use crate::crypto::{MacKey, Tag};
use crate::ids::PaymentId;
use crate::order::Order;
use crate::phone::PhoneNumber;
use crate::secret::{OtpCode, Pin, SecretKey};

/// The engine's keys: sub-keys derived from one [`SecretKey`] by HMAC with distinct labels,
/// under a one-byte key id.
///
/// | sub-key | tags |
/// |---|---|
/// | PIN pepper | stored PIN hashes: HMAC(pepper, salt ‖ PIN) |
/// | code key | code tags: HMAC(key, payment id ‖ amount ‖ currency ‖ merchant ‖ code) |
/// | record key | every stored record: HMAC(key, store key ‖ record) |
/// | index key | store keys of accounts and guards: HMAC(key, phone number) |
///
/// The key id is stored beside every PIN hash and record tag, so that a record made under
/// another key is recognised as such (and refused as [`Error::Tampered`](crate::Error::Tampered)).
///
/// # Security
///
/// None of the sub-keys is ever stored; `Debug` shows only the key id.
pub struct Keys {
    key_id: u8,
    pin: MacKey,
    code: MacKey,
    record: MacKey,
    index: MacKey,
}

impl Keys {
    /// Derives the sub-keys of `master` under `key_id`. The master key is wiped when this
    /// returns.
    #[must_use]
    pub fn new(key_id: u8, master: SecretKey) -> Self {
        let root = MacKey::new(master.expose_secret());
        let derive = |label: &[u8]| {
            let mut sub = root.tag(&[b"buyster sub-key", label]);
            let key = MacKey::new(&sub);
            zeroize::Zeroize::zeroize(&mut sub);
            key
        };
        Self {
            key_id,
            pin: derive(b"pin pepper"),
            code: derive(b"code"),
            record: derive(b"record"),
            index: derive(b"account index"),
        }
    }

    /// The id stored beside everything these keys tag.
    #[must_use]
    pub const fn key_id(&self) -> u8 {
        self.key_id
    }

    /// The record key for `key_id`, if these keys have it.
    pub(crate) fn record(&self, key_id: u8) -> Option<&MacKey> {
        (key_id == self.key_id).then_some(&self.record)
    }

    /// The record key new records are tagged with.
    pub(crate) fn current_record(&self) -> &MacKey {
        &self.record
    }

    /// HMAC(pepper, salt ‖ PIN) under the pepper of `key_id`.
    pub(crate) fn pin_tag(&self, key_id: u8, salt: &[u8; 16], pin: &Pin) -> Option<Tag> {
        (key_id == self.key_id).then(|| {
            self.pin
                .tag(&[b"pin", salt, pin.expose_secret().as_bytes()])
        })
    }

    /// The tag that binds `code` to this payment, its amount and its merchant.
    pub(crate) fn code_tag(
        &self,
        key_id: u8,
        id: &PaymentId,
        order: &Order,
        code: &OtpCode,
    ) -> Option<Tag> {
        let amount = order.amount();
        (key_id == self.key_id).then(|| {
            self.code.tag(&[
                b"code",
                id.as_bytes(),
                &amount.minor_units().to_be_bytes(),
                amount.currency().code().as_bytes(),
                order.merchant().id().as_str().as_bytes(),
                code.expose_secret().as_bytes(),
            ])
        })
    }

    /// The hex name under which the account and guard of `phone` are stored: 128 bits of
    /// HMAC(index key, E.164 number), so the store never holds a number in a key.
    pub(crate) fn account_index(&self, phone: &PhoneNumber) -> String {
        let tag = self.index.tag(&[b"account", phone.as_str().as_bytes()]);
        tag.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Amount, Currency};
    use crate::order::Merchant;

    fn keys(byte: u8) -> Keys {
        Keys::new(1, SecretKey::from_bytes([byte; 32]))
    }

    fn order(merchant: &str, minor: u64) -> Order {
        let merchant = Merchant::new(merchant, "Shop").unwrap();
        Order::new(merchant, Amount::new(minor, Currency::EUR).unwrap(), "ref").unwrap()
    }

    #[test]
    fn sub_keys_are_distinct_and_depend_on_the_master() {
        let (a, b) = (keys(1), keys(2));
        let phone: PhoneNumber = "+33612345678".parse().unwrap();
        assert_ne!(a.account_index(&phone), b.account_index(&phone));
        assert_eq!(a.account_index(&phone), keys(1).account_index(&phone));
        assert_eq!(a.account_index(&phone).len(), 32);
        // Same input bytes, different sub-keys: different tags.
        let parts: [&[u8]; 1] = [b"x"];
        let tags = [
            a.pin.tag(&parts),
            a.code.tag(&parts),
            a.record.tag(&parts),
            a.index.tag(&parts),
        ];
        for (i, x) in tags.iter().enumerate() {
            for y in &tags[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn code_tag_binds_payment_amount_merchant_and_code() {
        let k = keys(3);
        let id = PaymentId::random();
        let code: OtpCode = "482913".parse().unwrap();
        let base = k.code_tag(1, &id, &order("shop", 4990), &code).unwrap();
        assert_ne!(
            Some(base),
            k.code_tag(1, &PaymentId::random(), &order("shop", 4990), &code)
        );
        assert_ne!(Some(base), k.code_tag(1, &id, &order("shop", 4991), &code));
        assert_ne!(Some(base), k.code_tag(1, &id, &order("shop2", 4990), &code));
        let other: OtpCode = "482914".parse().unwrap();
        assert_ne!(Some(base), k.code_tag(1, &id, &order("shop", 4990), &other));
        assert_eq!(Some(base), k.code_tag(1, &id, &order("shop", 4990), &code));
        assert_eq!(None, k.code_tag(2, &id, &order("shop", 4990), &code));
    }

    #[test]
    fn pin_tag_depends_on_salt_and_pin() {
        let k = keys(4);
        let pin: Pin = "123456".parse().unwrap();
        let t = k.pin_tag(1, &[0; 16], &pin).unwrap();
        assert_ne!(Some(t), k.pin_tag(1, &[1; 16], &pin));
        assert_ne!(Some(t), k.pin_tag(1, &[0; 16], &"123457".parse().unwrap()));
        assert_eq!(None, k.pin_tag(9, &[0; 16], &pin));
    }

    #[test]
    fn debug_shows_only_the_key_id() {
        assert_eq!(format!("{:?}", keys(5)), "Keys { key_id: 1, .. }");
    }
}
