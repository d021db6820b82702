//! The account record of an enrolled number: its PIN hash and its funding source.

use crate::Error;
use crate::codec::{Reader, RecordKind, Writer};
use crate::crypto::{Tag, random_bytes, tags_equal};
use crate::funding::FundingSource;
use crate::host::{Key, Timestamp};
use crate::keys::Keys;
use crate::secret::Pin;

/// An enrolled buyer, as written. The PIN is stored only as HMAC(pepper, salt ‖ PIN) with the
/// id of the key that made it; the pepper is never stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Account {
    pin_key_id: u8,
    salt: [u8; 16],
    pin_tag: Tag,
    funding: FundingSource,
    enrolled_at: Timestamp,
}

const STATUS_ACTIVE: u8 = 1;

impl Account {
    /// A new account whose PIN is hashed under a fresh salt and the current key.
    pub(crate) fn new(keys: &Keys, pin: &Pin, funding: FundingSource, now: Timestamp) -> Self {
        let salt = random_bytes();
        let pin_key_id = keys.key_id();
        let pin_tag = keys.pin_tag(pin_key_id, &salt, pin).unwrap_or([0; 32]);
        Self {
            pin_key_id,
            salt,
            pin_tag,
            funding,
            enrolled_at: now,
        }
    }

    pub(crate) fn encode(&self, keys: &Keys, key: &Key) -> Vec<u8> {
        let mut w = Writer::new(RecordKind::Account, keys);
        w.u8(STATUS_ACTIVE);
        w.u8(self.pin_key_id);
        w.bytes(&self.salt);
        w.bytes(&self.pin_tag);
        self.funding.write(&mut w);
        w.time(self.enrolled_at);
        w.seal(keys, key)
    }

    /// Verifies the record and reads what a PIN check needs, leaving the funding source
    /// unparsed: a wrong PIN then costs the same as an unknown number's decoy.
    pub(crate) fn open<'a>(
        keys: &Keys,
        key: &Key,
        record: &'a [u8],
    ) -> Result<StoredAccount<'a>, Error> {
        let mut r = Reader::open(keys, key, RecordKind::Account, record)?;
        if r.u8()? != STATUS_ACTIVE {
            return Err(Error::Tampered);
        }
        let stored = StoredAccount {
            pin_key_id: r.u8()?,
            salt: r.array()?,
            pin_tag: r.array()?,
            funding: r.rest(8)?,
        };
        let _enrolled_at = r.time()?;
        r.finish()?;
        Ok(stored)
    }

    /// The same work as [`StoredAccount::pin_matches`] for an account that does not exist: one
    /// HMAC and one comparison, whose answer is always no. Unknown numbers and wrong PINs must
    /// cost the same, so that timing tells nothing about enrollment.
    pub(crate) fn dummy_check(keys: &Keys, pin: &Pin) -> bool {
        let candidate = keys
            .pin_tag(keys.key_id(), &[0; 16], pin)
            .unwrap_or([0; 32]);
        // A tag of all ones: matching it means finding an HMAC preimage, so the answer is no.
        let never: Tag = [0xff; 32];
        tags_equal(&candidate, &never)
    }
}

/// A verified account record, read just enough to check a PIN.
pub(crate) struct StoredAccount<'a> {
    pin_key_id: u8,
    salt: [u8; 16],
    pin_tag: Tag,
    /// The encoded funding source, parsed only after a right PIN.
    funding: Reader<'a>,
}

impl StoredAccount<'_> {
    /// Whether `pin` is this account's PIN: one HMAC and a constant-time comparison.
    pub(crate) fn pin_matches(&self, keys: &Keys, pin: &Pin) -> Result<bool, Error> {
        let candidate = keys
            .pin_tag(self.pin_key_id, &self.salt, pin)
            .ok_or(Error::Tampered)?;
        Ok(tags_equal(&candidate, &self.pin_tag))
    }

    /// The account to debit.
    pub(crate) fn funding(&self) -> Result<FundingSource, Error> {
        let mut r = self.funding.clone();
        let funding = FundingSource::read(&mut r)?;
        r.finish()?;
        Ok(funding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretKey;

    fn keys() -> Keys {
        Keys::new(1, SecretKey::from_bytes([9; 32]))
    }

    fn account(keys: &Keys) -> Account {
        let funding = "FR76 3000 6000 0112 3456 7890 189".parse().unwrap();
        Account::new(
            keys,
            &"246813".parse().unwrap(),
            funding,
            Timestamp::from_unix_millis(5),
        )
    }

    fn stored<'a>(keys: &Keys, key: &Key, record: &'a [u8]) -> StoredAccount<'a> {
        Account::open(keys, key, record).unwrap()
    }

    #[test]
    fn checks_the_pin() {
        let keys = keys();
        let key = Key::account("ab");
        let record = account(&keys).encode(&keys, &key);
        let stored = stored(&keys, &key, &record);
        assert!(
            stored
                .pin_matches(&keys, &"246813".parse().unwrap())
                .unwrap()
        );
        assert!(
            !stored
                .pin_matches(&keys, &"246814".parse().unwrap())
                .unwrap()
        );
        assert!(
            !stored
                .pin_matches(&keys, &"2468130".parse().unwrap())
                .unwrap()
        );
        assert!(!Account::dummy_check(&keys, &"246813".parse().unwrap()));
    }

    #[test]
    fn salts_differ_so_equal_pins_hash_differently() {
        let keys = keys();
        assert_ne!(account(&keys).pin_tag, account(&keys).pin_tag);
    }

    #[test]
    fn a_pin_hash_under_an_unknown_key_is_refused() {
        let keys = keys();
        let key = Key::account("ab");
        let mut account = account(&keys);
        account.pin_key_id = 2;
        let record = account.encode(&keys, &key);
        let stored = stored(&keys, &key, &record);
        assert!(matches!(
            stored.pin_matches(&keys, &"246813".parse().unwrap()),
            Err(Error::Tampered)
        ));
    }

    #[test]
    fn record_round_trips_without_the_pin() {
        let keys = keys();
        let key = Key::account("ab");
        for funding in ["FR7630006000011234567890189", "token:tok_123"] {
            let mut account = account(&keys);
            account.funding = funding.parse().unwrap();
            let record = account.encode(&keys, &key);
            assert!(!record.windows(6).any(|w| w == b"246813"));
            let stored = stored(&keys, &key, &record);
            assert_eq!(stored.pin_key_id, account.pin_key_id);
            assert_eq!(
                (stored.salt, stored.pin_tag),
                (account.salt, account.pin_tag)
            );
            assert_eq!(stored.funding().unwrap(), account.funding);
        }
    }
}
