//! The account record of an enrolled number: its status, its PIN hash and its funding source.

mod status;

pub use status::{AccountDetails, AccountStatus, PinChange};

use crate::Error;
use crate::codec::RecordByte;
use crate::crypto::{Tag, random_bytes, tags_equal};
use crate::funding::{FundingSource, FundingToken};
use crate::host::Key;
use crate::keys::Keys;
use crate::seal::{self, RecordKind};
use crate::secret::Pin;
use crate::time::Timestamp;

/// Field bytes of every account record: status, PIN key id, salt, PIN tag, funding source in
/// a fixed-size field, enrollment time. All accounts weigh the same, and so does the decoy that
/// stands in for an unknown number.
pub(crate) const ACCOUNT_BODY: usize = 1 + 1 + 16 + 32 + 1 + 2 + FundingToken::MAX_LEN + 8;

/// Bytes of every account record: header, fields, tag.
pub(crate) const ACCOUNT_RECORD: usize = 3 + ACCOUNT_BODY + crate::crypto::TAG_LEN;

/// An enrolled buyer, as written. The PIN is stored only as HMAC(pepper, salt ‖ PIN) with the
/// id of the key that made it; the pepper is never stored.
pub(crate) struct Account {
    status: AccountStatus,
    pin_key_id: u8,
    salt: [u8; 16],
    pin_tag: Tag,
    funding: FundingSource,
    enrolled_at: Timestamp,
}

impl Account {
    /// A new account whose PIN is hashed under a fresh salt and the current key.
    pub(crate) fn new(
        keys: &Keys,
        pin: &Pin,
        funding: FundingSource,
        enrolled_at: Timestamp,
    ) -> Self {
        let salt = random_bytes();
        let set = keys.current();
        let (pin_key_id, pin_tag) = (set.key_id(), set.pin_tag(&salt, pin));
        Self {
            status: AccountStatus::Active,
            pin_key_id,
            salt,
            pin_tag,
            funding,
            enrolled_at,
        }
    }

    pub(crate) fn encode(&self, keys: &Keys, key: &Key) -> Vec<u8> {
        let mut w = seal::writer(RecordKind::Account, keys);
        w.coded(self.status);
        w.u8(self.pin_key_id);
        w.bytes(&self.salt);
        w.bytes(&self.pin_tag);
        self.funding.write_padded(&mut w);
        w.time(self.enrolled_at);
        seal::seal(w, keys, key)
    }

    /// The same account with `status`.
    pub(crate) fn with_status(self, status: AccountStatus) -> Self {
        Self { status, ..self }
    }

    /// The same account debiting `funding`.
    pub(crate) fn with_funding(self, funding: FundingSource) -> Self {
        Self { funding, ..self }
    }

    /// The same account with `pin`, hashed under a fresh salt and the current key.
    pub(crate) fn with_pin(self, keys: &Keys, pin: &Pin) -> Self {
        Self {
            status: self.status,
            ..Self::new(keys, pin, self.funding, self.enrolled_at)
        }
    }

    /// Whether the PIN hash was made under a previous key of the ring.
    pub(crate) fn needs_rehash(&self, keys: &Keys) -> bool {
        self.pin_key_id != keys.current().key_id()
    }

    /// The account to debit.
    pub(crate) fn funding(&self) -> &FundingSource {
        &self.funding
    }

    /// Whether the account may pay.
    pub(crate) fn status(&self) -> AccountStatus {
        self.status
    }

    /// What the host's back office may see.
    pub(crate) fn details(&self) -> AccountDetails {
        AccountDetails {
            status: self.status,
            funding: self.funding.clone(),
            enrolled_at: self.enrolled_at,
        }
    }

    /// The account stored as `record` under `key`, verified and read whole.
    pub(crate) fn decode(keys: &Keys, key: &Key, record: &[u8]) -> Result<Self, Error> {
        Self::open(keys, key, record)?.to_account()
    }

    /// Verifies the record and reads what a PIN check needs, leaving the funding source
    /// unparsed: a wrong PIN then costs the same as an unknown number's decoy.
    pub(crate) fn open<'a>(
        keys: &Keys,
        key: &Key,
        record: &'a [u8],
    ) -> Result<StoredAccount<'a>, Error> {
        let mut r = seal::open(keys, key, RecordKind::Account, record)?;
        let stored = StoredAccount {
            status: r.coded()?,
            pin_key_id: r.u8()?,
            salt: r.array()?,
            pin_tag: r.array()?,
            funding_kind: r.u8()?,
            funding: r.padded_text(FundingToken::RECORD_WIDTH)?,
            enrolled_at: r.time()?,
        };
        r.finish()?;
        Ok(stored)
    }

    /// A real account record, of the same size as every other, stored nowhere: checking a PIN
    /// against it is the work done for a number that has no account, so that an unknown number
    /// costs what a wrong PIN costs (one record verified and read, one PIN hash compared).
    pub(crate) fn decoy(keys: &Keys) -> (Key, Vec<u8>) {
        let key = Key::account(&"0".repeat(32));
        let pin = "000000".parse::<Pin>();
        let funding = "FR76 3000 6000 0112 3456 7890 189".parse::<FundingSource>();
        let record = match (pin, funding) {
            (Ok(pin), Ok(funding)) => {
                Self::new(keys, &pin, funding, Timestamp::from_unix_millis(0)).encode(keys, &key)
            }
            _ => Vec::new(),
        };
        (key, record)
    }
}

/// A verified account record, read just enough to check a PIN.
pub(crate) struct StoredAccount<'a> {
    status: AccountStatus,
    pin_key_id: u8,
    salt: [u8; 16],
    pin_tag: Tag,
    funding_kind: u8,
    /// The funding source's text, parsed only after a right PIN.
    funding: &'a str,
    enrolled_at: Timestamp,
}

impl StoredAccount<'_> {
    /// Whether `pin` is this account's PIN: one HMAC and a constant-time comparison.
    pub(crate) fn pin_matches(&self, keys: &Keys, pin: &Pin) -> Result<bool, Error> {
        let set = keys.by_id(self.pin_key_id).ok_or(Error::Tampered)?;
        let candidate = set.pin_tag(&self.salt, pin);
        Ok(tags_equal(&candidate, &self.pin_tag))
    }

    /// Whether the account may pay: only an active one passes a PIN check.
    pub(crate) fn is_active(&self) -> bool {
        self.status == AccountStatus::Active
    }

    /// The account to debit.
    pub(crate) fn funding(&self) -> Result<FundingSource, Error> {
        FundingSource::from_record(self.funding_kind, self.funding)
    }

    /// The whole account, its funding source parsed.
    pub(crate) fn to_account(&self) -> Result<Account, Error> {
        Ok(Account {
            status: self.status,
            pin_key_id: self.pin_key_id,
            salt: self.salt,
            pin_tag: self.pin_tag,
            funding: self.funding()?,
            enrolled_at: self.enrolled_at,
        })
    }
}

impl RecordByte for AccountStatus {
    const ALL: &'static [Self] = &[Self::Active, Self::Suspended, Self::Closed];

    fn byte(self) -> u8 {
        match self {
            Self::Active => 1,
            Self::Suspended => 2,
            Self::Closed => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_enums_have_a_byte_per_value() {
        crate::codec::assert_one_byte_per_value::<AccountStatus>();
    }
    use crate::secret::SecretKey;

    fn keys() -> Keys {
        Keys::new(1, SecretKey::from_bytes([9; 32]))
    }

    fn account(keys: &Keys, funding: &str) -> Account {
        Account::new(
            keys,
            &"246813".parse().unwrap(),
            funding.parse().unwrap(),
            Timestamp::from_unix_millis(5),
        )
    }

    #[test]
    fn checks_the_pin() {
        let keys = keys();
        let key = Key::account("ab");
        let record = account(&keys, "FR7630006000011234567890189").encode(&keys, &key);
        let stored = Account::open(&keys, &key, &record).unwrap();
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
    }

    #[test]
    fn the_decoy_is_an_account_like_any_other() {
        let keys = keys();
        let (key, decoy) = Account::decoy(&keys);
        assert_eq!(decoy.len(), ACCOUNT_RECORD);
        assert_eq!(
            key.as_str().len(),
            Key::account(&"ab".repeat(16)).as_str().len()
        );
        let stored = Account::open(&keys, &key, &decoy).unwrap();
        assert!(
            !stored
                .pin_matches(&keys, &"246813".parse().unwrap())
                .unwrap()
        );
    }

    #[test]
    fn salts_differ_so_equal_pins_hash_differently() {
        let keys = keys();
        let (a, b) = (account(&keys, "token:a"), account(&keys, "token:a"));
        assert_ne!(a.pin_tag, b.pin_tag);
    }

    #[test]
    fn a_pin_hash_under_an_unknown_key_is_refused() {
        let keys = keys();
        let key = Key::account("ab");
        let mut account = account(&keys, "token:a");
        account.pin_key_id = 2;
        let record = account.encode(&keys, &key);
        let stored = Account::open(&keys, &key, &record).unwrap();
        assert!(matches!(
            stored.pin_matches(&keys, &"246813".parse().unwrap()),
            Err(Error::Tampered)
        ));
    }

    #[test]
    fn every_account_record_has_the_same_size_and_no_pin() {
        let keys = keys();
        let key = Key::account("ab");
        let long_token = format!("token:{}", "t".repeat(FundingToken::MAX_LEN));
        for funding in [
            "FR7630006000011234567890189",
            "NO9386011117947",
            "token:x",
            &long_token,
        ] {
            let account = account(&keys, funding);
            let record = account.encode(&keys, &key);
            assert_eq!(record.len(), 3 + ACCOUNT_BODY + 32, "{funding}");
            assert!(!record.windows(6).any(|w| w == b"246813"));
            let stored = Account::open(&keys, &key, &record).unwrap();
            assert_eq!(stored.pin_key_id, account.pin_key_id);
            assert_eq!(
                (stored.salt, stored.pin_tag),
                (account.salt, account.pin_tag)
            );
            assert_eq!(stored.funding().unwrap(), account.funding);
            assert_eq!(stored.enrolled_at, account.enrolled_at);
        }
    }

    #[test]
    fn a_rehash_moves_the_pin_to_the_current_key() {
        let old = keys();
        let key = Key::account("ab");
        let record = account(&old, "token:a").encode(&old, &key);
        let ring = old.rotate(2, SecretKey::from_bytes([8; 32])).unwrap();
        let stored = Account::decode(&ring, &key, &record).unwrap();
        assert!(stored.needs_rehash(&ring));
        let pin = "246813".parse().unwrap();
        let rehashed = stored.with_pin(&ring, &pin).encode(&ring, &key);
        assert!(
            !Account::decode(&ring, &key, &rehashed)
                .unwrap()
                .needs_rehash(&ring)
        );
        let stored = Account::open(&ring, &key, &rehashed).unwrap();
        assert!(stored.pin_matches(&ring, &pin).unwrap());
    }

    #[test]
    fn every_status_round_trips_and_only_active_pays() {
        let keys = keys();
        let key = Key::account("ab");
        for &status in <AccountStatus as crate::codec::RecordByte>::ALL {
            let account = account(&keys, "token:a").with_status(status);
            let record = account.encode(&keys, &key);
            assert_eq!(record.len(), ACCOUNT_RECORD);
            let stored = Account::open(&keys, &key, &record).unwrap();
            assert_eq!(stored.is_active(), status == AccountStatus::Active);
            let decoded = Account::decode(&keys, &key, &record).unwrap();
            assert_eq!(decoded.details(), account.details());
            // A rehash keeps the status.
            let pin = "246813".parse().unwrap();
            assert_eq!(decoded.with_pin(&keys, &pin).status(), status);
        }
    }

    #[test]
    fn an_unknown_status_is_tampering() {
        let keys = keys();
        let key = Key::account("ab");
        let mut w = seal::writer(RecordKind::Account, &keys);
        w.u8(9);
        let record = seal::seal(w, &keys, &key);
        assert!(matches!(
            Account::open(&keys, &key, &record),
            Err(Error::Tampered)
        ));
    }

    #[test]
    fn a_new_pin_gets_a_fresh_salt_and_keeps_the_rest() {
        let keys = keys();
        let account = account(&keys, "token:a").with_status(AccountStatus::Suspended);
        let (salt, details) = (account.salt, account.details());
        let changed = account.with_pin(&keys, &"402517".parse().unwrap());
        assert_ne!(changed.salt, salt);
        assert_eq!(changed.details(), details);
        let key = Key::account("ab");
        let record = changed.encode(&keys, &key);
        let stored = Account::open(&keys, &key, &record).unwrap();
        assert!(
            stored
                .pin_matches(&keys, &"402517".parse().unwrap())
                .unwrap()
        );
        assert!(
            !stored
                .pin_matches(&keys, &"246813".parse().unwrap())
                .unwrap()
        );
    }
}
