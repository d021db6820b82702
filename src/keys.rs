//! [`Keys`]: the master secrets' sub-keys, and every keyed tag the engine makes with them.

use core::fmt;

use crate::Error;
use crate::crypto::{MacKey, Tag};
use crate::idempotency::IdempotencyKey;
use crate::ids::PaymentId;
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
/// | index key | store keys of accounts and guards: HMAC(key, phone number); ids of payments made once per order: HMAC(key, merchant id ‖ idempotency key) |
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
/// The index key, which names accounts and guards in the store and the payments of
/// idempotency keys, comes from the first key of the ring and is kept through rotations
/// (changing it would hide every account, and make a second payment of an order already
/// paid): always build the ring from the same first key.
///
/// # Security
///
/// None of the sub-keys is ever stored; `Debug` shows only the key ids.
pub struct Keys {
    current: KeySet,
    previous: Vec<KeySet>,
    index: MacKey,
}

/// A tag and the id of the key that made it, as a record stores a code's tag. Never exposed.
#[derive(Clone)]
pub(crate) struct KeyedTag {
    pub(crate) key_id: u8,
    pub(crate) tag: Tag,
}

impl fmt::Debug for KeyedTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The sub-keys of one master key, and the tags each makes. Callers hand in the bytes a tag
/// binds; the labels that keep one kind of tag from passing for another are added here.
pub(crate) struct KeySet {
    key_id: u8,
    pin: MacKey,
    code: MacKey,
    record: MacKey,
}

impl KeySet {
    /// The id stored beside what this set tags.
    pub(crate) const fn key_id(&self) -> u8 {
        self.key_id
    }

    /// `tag`, made with this set, with this set's key id.
    pub(crate) const fn keyed(&self, tag: Tag) -> KeyedTag {
        KeyedTag {
            key_id: self.key_id,
            tag,
        }
    }

    /// The key that seals records.
    pub(crate) const fn record(&self) -> &MacKey {
        &self.record
    }

    /// HMAC(pepper, salt ‖ PIN).
    pub(crate) fn pin_tag(&self, salt: &[u8; 16], pin: &Pin) -> Tag {
        self.pin
            .tag(&[b"pin", salt, pin.expose_secret().as_bytes()])
    }

    /// The tag that binds a payment's `code` to `payment`: its id, amount (8 bytes, big
    /// endian), currency code and merchant id, in that order.
    pub(crate) fn code_tag(&self, payment: [&[u8]; 4], code: &OtpCode) -> Tag {
        let [id, amount, currency, merchant] = payment;
        let code = code.expose_secret().as_bytes();
        self.code
            .tag(&[b"code", id, amount, currency, merchant, code])
    }

    /// The tag that binds an enrollment's `code` to `enrollment`: its id and the E.164 number
    /// the code was sent to.
    pub(crate) fn enrollment_tag(&self, enrollment: [&[u8]; 2], code: &OtpCode) -> Tag {
        let [id, number] = enrollment;
        let code = code.expose_secret().as_bytes();
        self.code.tag(&[b"enrollment", id, number, code])
    }
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
        if self.by_id(key_id).is_some() {
            return Err(Error::KeyIdInUse { key_id });
        }
        let (next, _) = derive(key_id, &master);
        self.previous
            .push(core::mem::replace(&mut self.current, next));
        Ok(self)
    }

    /// The same ring, also accepting what `master` made under `key_id`, still making
    /// everything new under the current key: the first step of a rotation across several
    /// server instances. Give every instance this ring first, then, once all run it, the ring
    /// where the new key is current ([`Keys::rotate`]); no instance then meets a record sealed
    /// under a key it does not hold.
    ///
    /// # Errors
    ///
    /// [`Error::KeyIdInUse`] when the ring already holds `key_id`.
    ///
    /// # Examples
    ///
    /// ```
    /// use buyster::{Keys, SecretKey};
    /// # let (old, new) = (SecretKey::generate(), SecretKey::generate());
    /// # let (old_again, new_again) = (SecretKey::from_bytes(*old.expose_secret()), SecretKey::from_bytes(*new.expose_secret()));
    /// // Step 1, on every instance: key 2 accepted, key 1 still in use.
    /// let step_one = Keys::new(1, old).accept(2, new)?;
    /// assert_eq!(step_one.key_id(), 1);
    /// // Step 2, once every instance runs step 1: key 2 in use, key 1 still accepted.
    /// let step_two = Keys::new(1, old_again).rotate(2, new_again)?;
    /// assert_eq!(step_two.key_id(), 2);
    /// # Ok::<(), buyster::Error>(())
    /// ```
    pub fn accept(mut self, key_id: u8, master: SecretKey) -> Result<Self, Error> {
        if self.by_id(key_id).is_some() {
            return Err(Error::KeyIdInUse { key_id });
        }
        let (accepted, _) = derive(key_id, &master);
        self.previous.push(accepted);
        Ok(self)
    }

    /// The id everything new is made under.
    #[must_use]
    pub const fn key_id(&self) -> u8 {
        self.current.key_id
    }

    /// The key set everything new is made under: its tags cannot fail.
    pub(crate) fn current(&self) -> &KeySet {
        &self.current
    }

    /// The key set of `key_id`, to check what it made; `None` when the ring does not hold it.
    pub(crate) fn by_id(&self, key_id: u8) -> Option<&KeySet> {
        core::iter::once(&self.current)
            .chain(&self.previous)
            .find(|set| set.key_id == key_id)
    }

    /// The hex name under which the account and guard of `phone` are stored: 128 bits of
    /// HMAC(index key, E.164 number), so the store never holds a number in a key.
    pub(crate) fn account_index(&self, phone: &PhoneNumber) -> String {
        let tag = self.index.tag(&[b"account", phone.as_str().as_bytes()]);
        let (name, _) = tag.split_at(16); // of the tag's 32 bytes
        crate::ids::hex(name)
    }

    /// The id of the payment of the order that the merchant `merchant_id` names `key`: the
    /// first 128 bits of HMAC(index key, "order" ‖ merchant id ‖ key), each part framed by its
    /// length. The same on every server and through every rotation; unguessable without the
    /// index key.
    pub(crate) fn order_payment_id(&self, merchant_id: &str, key: &IdempotencyKey) -> PaymentId {
        let tag = self
            .index
            .tag(&[b"order", merchant_id.as_bytes(), key.as_str().as_bytes()]);
        let mut id = [0u8; 16];
        for (byte, tagged) in id.iter_mut().zip(tag) {
            *byte = tagged;
        }
        PaymentId::from_bytes(id)
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
    use crate::ids::PaymentId;

    fn keys(byte: u8) -> Keys {
        Keys::new(1, SecretKey::from_bytes([byte; 32]))
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
    fn code_tag_binds_each_part_and_the_code() {
        let set = keys(3);
        let set = set.current();
        let code: OtpCode = "482913".parse().unwrap();
        let id = PaymentId::random();
        let payment: [&[u8]; 4] = [id.as_bytes(), &4990u64.to_be_bytes(), b"EUR", b"shop"];
        let base = set.code_tag(payment, &code);
        assert_eq!(base, set.code_tag(payment, &code));
        for part in 0..4 {
            let mut changed = payment;
            changed[part] = b"other";
            assert_ne!(base, set.code_tag(changed, &code), "part {part}");
        }
        assert_ne!(base, set.code_tag(payment, &"482914".parse().unwrap()));
        // An enrollment's tag over the same bytes is another tag.
        let enrollment: [&[u8]; 2] = [id.as_bytes(), b"+33612345678"];
        assert_ne!(
            set.enrollment_tag(enrollment, &code),
            set.code_tag([id.as_bytes(), b"+33612345678", b"", b""], &code)
        );
    }

    #[test]
    fn pin_tag_depends_on_salt_and_pin() {
        let k = keys(4);
        let pin: Pin = "123456".parse().unwrap();
        let t = k.current().pin_tag(&[0; 16], &pin);
        assert_ne!(t, k.current().pin_tag(&[1; 16], &pin));
        assert_ne!(t, k.current().pin_tag(&[0; 16], &"123457".parse().unwrap()));
        assert!(k.by_id(9).is_none());
    }

    #[test]
    fn rotation_keeps_old_keys_for_checking_and_the_index() {
        let phone: PhoneNumber = "+33612345678".parse().unwrap();
        let pin: Pin = "123456".parse().unwrap();
        let old = keys(5);
        let old_tag = old.current().pin_tag(&[0; 16], &pin);
        let old_index = old.account_index(&phone);
        let ring = old.rotate(2, SecretKey::from_bytes([6; 32])).unwrap();
        assert_eq!(ring.key_id(), 2);
        assert_eq!(ring.current().key_id(), 2);
        let tag_of = |key_id| ring.by_id(key_id).map(|set| set.pin_tag(&[0; 16], &pin));
        assert_eq!(tag_of(1), Some(old_tag));
        assert_ne!(tag_of(2), Some(old_tag));
        assert_eq!(ring.account_index(&phone), old_index);
        assert!(ring.by_id(1).is_some() && ring.by_id(2).is_some() && ring.by_id(3).is_none());
        let again = ring.rotate(1, SecretKey::from_bytes([7; 32]));
        assert!(matches!(again, Err(Error::KeyIdInUse { key_id: 1 })));
    }

    fn idempotency_key(text: &str) -> IdempotencyKey {
        text.parse().unwrap()
    }

    #[test]
    fn an_order_id_depends_on_the_merchant_the_key_and_the_master_only() {
        let k = keys(8);
        let id = |merchant: &str, key: &str| k.order_payment_id(merchant, &idempotency_key(key));
        let base = id("shop", "order-1");
        assert_eq!(base, id("shop", "order-1"));
        assert_eq!(
            base,
            keys(8).order_payment_id("shop", &idempotency_key("order-1"))
        );
        assert_ne!(base, id("shop", "order-2"));
        assert_ne!(base, id("other-shop", "order-1"));
        assert_ne!(
            base,
            keys(9).order_payment_id("shop", &idempotency_key("order-1"))
        );
        // Each part is framed by its length: moving a boundary makes another id.
        assert_ne!(id("ab", "c"), id("a", "bc"));
        // The first 16 bytes of the framed tag, under the index key, apart from the accounts'.
        let tag = k.index.tag(&[b"order", b"shop", b"order-1"]);
        assert_eq!(base.as_bytes()[..], tag[..16]);
        assert_ne!(
            base.to_string(),
            k.account_index(&"+33612345678".parse().unwrap())
        );
    }

    #[test]
    fn an_order_id_survives_rotation() {
        let key = idempotency_key("order-1");
        let before = keys(5).order_payment_id("shop", &key);
        let ring = keys(5).rotate(2, SecretKey::from_bytes([6; 32])).unwrap();
        assert_eq!(ring.order_payment_id("shop", &key), before);
        let ring = ring.rotate(3, SecretKey::from_bytes([7; 32])).unwrap();
        assert_eq!(ring.order_payment_id("shop", &key), before);
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
