//! [`Keys`]: the master secrets' sub-keys, and every keyed tag the engine makes with them.

use core::fmt;

use crate::Error;
use crate::crypto::{MacKey, Tag};
use crate::ids::{EnrollmentId, PaymentId};
use crate::order::Order;
use crate::phone::PhoneNumber;
use crate::secret::{OtpCode, Pin, SecretKey};

/// The engine's keys: sub-keys derived from a [`SecretKey`] by HMAC with distinct labels, under
/// a one-byte key id, and a ring of previous keys for rotation.
///
/// | sub-key | tags |
/// |---|---|
/// | PIN pepper | stored PIN hashes: HMAC(pepper, salt ‖ PIN) |
/// | code key | code tags: HMAC(key, payment id ‖ amount ‖ currency ‖ merchant ‖ code), and for an enrollment HMAC(key, enrollment id ‖ phone number ‖ code) |
/// | record key | every stored record: HMAC(key, store key ‖ record) |
/// | index key | store keys of accounts and guards: HMAC(key, phone number) |
///
/// The key id is stored beside every PIN hash, code tag and record tag. Everything new is made
/// under the current key; what was made under a previous key of the ring is still checked with
/// that key, and is made again under the current one at its next write (a PIN hash, at the next
/// right PIN). A record under a key id the ring does not hold is refused as
/// [`Error::Tampered`].
///
/// # Rotation
///
/// ```
/// # use buyster::{Keys, SecretKey};
/// # let (first, second) = (SecretKey::generate(), SecretKey::generate());
/// let keys = Keys::new(1, first).rotate(2, second)?; // new writes under key 2
/// assert_eq!(keys.key_id(), 2);
/// # Ok::<(), buyster::Error>(())
/// ```
///
/// The index key, which names accounts and guards in the store, comes from the first key of
/// the ring and is kept through rotations (changing it would hide every account): always build
/// the ring from the same first key.
///
/// # Security
///
/// None of the sub-keys is ever stored; `Debug` shows only the key ids.
pub struct Keys {
    current: KeySet,
    previous: Vec<KeySet>,
    index: MacKey,
}

/// The sub-keys of one master key.
struct KeySet {
    key_id: u8,
    pin: MacKey,
    code: MacKey,
    record: MacKey,
}

impl Keys {
    /// Derives the sub-keys of `master` under `key_id`. The master key is wiped when this
    /// returns.
    #[must_use]
    pub fn new(key_id: u8, master: SecretKey) -> Self {
        let (current, index) = derive(key_id, &master);
        Self {
            current,
            previous: Vec::new(),
            index,
        }
    }

    /// The same ring with `master` as the current key under `key_id`; the current key becomes
    /// a previous one, still accepted for what it made.
    ///
    /// # Errors
    ///
    /// [`Error::KeyIdInUse`] when the ring already holds `key_id`.
    pub fn rotate(mut self, key_id: u8, master: SecretKey) -> Result<Self, Error> {
        if self.set(key_id).is_some() {
            return Err(Error::KeyIdInUse { key_id });
        }
        let (next, _) = derive(key_id, &master);
        self.previous
            .push(core::mem::replace(&mut self.current, next));
        Ok(self)
    }

    /// The id everything new is made under.
    #[must_use]
    pub const fn key_id(&self) -> u8 {
        self.current.key_id
    }

    fn set(&self, key_id: u8) -> Option<&KeySet> {
        core::iter::once(&self.current)
            .chain(&self.previous)
            .find(|set| set.key_id == key_id)
    }

    /// The record key for `key_id`, if the ring holds it.
    pub(crate) fn record(&self, key_id: u8) -> Option<&MacKey> {
        self.set(key_id).map(|set| &set.record)
    }

    /// The record key new records are tagged with.
    pub(crate) fn current_record(&self) -> &MacKey {
        &self.current.record
    }

    /// HMAC(pepper, salt ‖ PIN) under the pepper of `key_id`.
    pub(crate) fn pin_tag(&self, key_id: u8, salt: &[u8; 16], pin: &Pin) -> Option<Tag> {
        let set = self.set(key_id)?;
        Some(set.pin.tag(&[b"pin", salt, pin.expose_secret().as_bytes()]))
    }

    /// The tag that binds `code` to this payment, its amount and its merchant.
    pub(crate) fn code_tag(
        &self,
        key_id: u8,
        id: &PaymentId,
        order: &Order,
        code: &OtpCode,
    ) -> Option<Tag> {
        let set = self.set(key_id)?;
        let amount = order.amount();
        Some(set.code.tag(&[
            b"code",
            id.as_bytes(),
            &amount.minor_units().to_be_bytes(),
            amount.currency().code().as_bytes(),
            order.merchant().id().as_str().as_bytes(),
            code.expose_secret().as_bytes(),
        ]))
    }

    /// The tag that binds an enrollment's `code` to the enrollment and to the number it was
    /// sent to.
    pub(crate) fn enrollment_tag(
        &self,
        key_id: u8,
        id: &EnrollmentId,
        phone: &PhoneNumber,
        code: &OtpCode,
    ) -> Option<Tag> {
        let set = self.set(key_id)?;
        Some(set.code.tag(&[
            b"enrollment",
            id.as_bytes(),
            phone.as_str().as_bytes(),
            code.expose_secret().as_bytes(),
        ]))
    }

    /// The hex name under which the account and guard of `phone` are stored: 128 bits of
    /// HMAC(index key, E.164 number), so the store never holds a number in a key.
    pub(crate) fn account_index(&self, phone: &PhoneNumber) -> String {
        let tag = self.index.tag(&[b"account", phone.as_str().as_bytes()]);
        crate::ids::hex(tag.get(..16).unwrap_or_default())
    }
}

/// The sub-keys of `master`, and its index key.
fn derive(key_id: u8, master: &SecretKey) -> (KeySet, MacKey) {
    let root = MacKey::new(master.expose_secret());
    let derive = |label: &[u8]| {
        let mut sub = root.tag(&[b"buyster sub-key", label]);
        let key = MacKey::new(&sub);
        zeroize::Zeroize::zeroize(&mut sub);
        key
    };
    let set = KeySet {
        key_id,
        pin: derive(b"pin pepper"),
        code: derive(b"code"),
        record: derive(b"record"),
    };
    (set, derive(b"account index"))
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous: Vec<u8> = self.previous.iter().map(|set| set.key_id).collect();
        f.debug_struct("Keys")
            .field("key_id", &self.current.key_id)
            .field("previous", &previous)
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
        let set = &a.current;
        let tags = [
            set.pin.tag(&parts),
            set.code.tag(&parts),
            set.record.tag(&parts),
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
    fn rotation_keeps_old_keys_for_checking_and_the_index() {
        let phone: PhoneNumber = "+33612345678".parse().unwrap();
        let pin: Pin = "123456".parse().unwrap();
        let old = keys(5);
        let old_tag = old.pin_tag(1, &[0; 16], &pin).unwrap();
        let old_index = old.account_index(&phone);
        let ring = old.rotate(2, SecretKey::from_bytes([6; 32])).unwrap();
        assert_eq!(ring.key_id(), 2);
        assert_eq!(ring.pin_tag(1, &[0; 16], &pin), Some(old_tag));
        assert_ne!(ring.pin_tag(2, &[0; 16], &pin), Some(old_tag));
        assert_eq!(ring.account_index(&phone), old_index);
        assert!(ring.record(1).is_some() && ring.record(2).is_some() && ring.record(3).is_none());
        let again = ring.rotate(1, SecretKey::from_bytes([7; 32]));
        assert!(matches!(again, Err(Error::KeyIdInUse { key_id: 1 })));
    }

    #[test]
    fn debug_shows_only_the_key_ids() {
        assert_eq!(
            format!("{:?}", keys(5)),
            "Keys { key_id: 1, previous: [], .. }"
        );
        let ring = keys(5).rotate(9, SecretKey::from_bytes([1; 32])).unwrap();
        assert_eq!(format!("{ring:?}"), "Keys { key_id: 9, previous: [1], .. }");
    }
}
