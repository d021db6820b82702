//! A sealed record: the header (format, kind, key id), the fields of [`codec`](crate::codec),
//! and an HMAC-SHA256 tag over the store key and all before it.
//!
//! ```text
//! format (1) | kind (1) | key id (1) | fields … | tag (32) = HMAC(record key, store key ‖ all before)
//! ```
//!
//! A record is opened only after its tag verifies (in constant time) for the key it was read
//! under, so a record edited, truncated, forged or moved to another key is refused as
//! [`Error::Tampered`] before a single field is trusted.

use crate::Error;
use crate::codec::{Reader, Writer};
use crate::crypto::TAG_LEN;
use crate::host::Key;
use crate::keys::Keys;

/// Version of the record layout.
const FORMAT: u8 = 1;
const HEADER_LEN: usize = 3;
/// Room for the fields of most records.
const USUAL_FIELDS: usize = 192;

/// What a record holds; part of the sealed header, so one kind cannot pass for another.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum RecordKind {
    Payment = 1,
    Account = 2,
    Guard = 3,
    Enrollment = 4,
    Event = 5,
}

/// A writer for a `kind` record under the current key, its header written.
pub(crate) fn writer(kind: RecordKind, keys: &Keys) -> Writer {
    writer_with_room(kind, keys, USUAL_FIELDS)
}

/// [`writer`] with room for `fields` bytes of fields.
pub(crate) fn writer_with_room(kind: RecordKind, keys: &Keys, fields: usize) -> Writer {
    let mut w = Writer::with_capacity(fields.saturating_add(HEADER_LEN + TAG_LEN));
    w.bytes(&[FORMAT, kind as u8, keys.current().key_id()]);
    w
}

/// The finished record of `w` (made by [`writer`]), tagged for `key` with the current record
/// key.
pub(crate) fn seal(w: Writer, keys: &Keys, key: &Key) -> Vec<u8> {
    let mut record = w.into_bytes();
    let tag = keys
        .current()
        .record()
        .tag(&[key.as_str().as_bytes(), &record]);
    record.extend_from_slice(&tag);
    record
}

/// Verifies `record` as a `kind` record stored under `key`: a reader of its fields.
///
/// # Errors
///
/// [`Error::Tampered`] for a record whose tag does not verify, under a key id the ring does not
/// hold, of another format or kind, or too short to be one.
pub(crate) fn open<'a>(
    keys: &Keys,
    key: &Key,
    kind: RecordKind,
    record: &'a [u8],
) -> Result<Reader<'a>, Error> {
    let body_len = record
        .len()
        .checked_sub(TAG_LEN)
        .filter(|len| *len >= HEADER_LEN)
        .ok_or(Error::Tampered)?;
    let (sealed, tag) = record.split_at(body_len);
    let (header, fields) = sealed.split_at(HEADER_LEN);
    let &[format, found_kind, key_id] = header else {
        return Err(Error::Tampered);
    };
    let mac = keys.by_id(key_id).ok_or(Error::Tampered)?.record();
    // Verify first (constant time), then look at the header, so that the work done does not
    // depend on which part of a forged record is wrong.
    let authentic = mac.verify(&[key.as_str().as_bytes(), sealed], tag);
    if !authentic || format != FORMAT || found_kind != kind as u8 {
        return Err(Error::Tampered);
    }
    Ok(Reader::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretKey;

    fn keys() -> Keys {
        Keys::new(7, SecretKey::from_bytes([42; 32]))
    }

    fn sample(keys: &Keys, key: &Key) -> Vec<u8> {
        let mut w = writer(RecordKind::Guard, keys);
        w.u8(3);
        w.u64(u64::MAX - 1);
        w.text("héllo");
        seal(w, keys, key)
    }

    #[test]
    fn a_record_is_its_header_fields_and_tag() {
        let (keys, key) = (keys(), Key::guard("abc"));
        let record = sample(&keys, &key);
        assert_eq!(record.len(), 3 + 1 + 8 + 2 + 6 + 32);
        assert_eq!(record[..3], [FORMAT, RecordKind::Guard as u8, 7]);
        let mut reader = open(&keys, &key, RecordKind::Guard, &record).unwrap();
        assert_eq!(reader.u8().unwrap(), 3);
        assert_eq!(reader.u64().unwrap(), u64::MAX - 1);
        assert_eq!(reader.text().unwrap(), "héllo");
        reader.finish().unwrap();
    }

    #[test]
    fn refuses_every_bit_flip_and_truncation() {
        let (keys, key) = (keys(), Key::guard("abc"));
        let record = sample(&keys, &key);
        for bit in 0..record.len() * 8 {
            let mut flipped = record.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let opened = open(&keys, &key, RecordKind::Guard, &flipped);
            assert!(matches!(opened, Err(Error::Tampered)), "bit {bit}");
        }
        for len in 0..record.len() {
            let opened = open(&keys, &key, RecordKind::Guard, &record[..len]);
            assert!(matches!(opened, Err(Error::Tampered)), "length {len}");
        }
    }

    #[test]
    fn refuses_a_moved_record_another_kind_or_other_keys() {
        let (keys, key) = (keys(), Key::guard("abc"));
        let record = sample(&keys, &key);
        let moved = open(&keys, &Key::guard("abd"), RecordKind::Guard, &record);
        assert!(matches!(moved, Err(Error::Tampered)));
        let kind = open(&keys, &key, RecordKind::Account, &record);
        assert!(matches!(kind, Err(Error::Tampered)));
        let other = Keys::new(7, SecretKey::from_bytes([43; 32]));
        assert!(matches!(
            open(&other, &key, RecordKind::Guard, &record),
            Err(Error::Tampered)
        ));
        let other_id = Keys::new(8, SecretKey::from_bytes([42; 32]));
        assert!(matches!(
            open(&other_id, &key, RecordKind::Guard, &record),
            Err(Error::Tampered)
        ));
    }
}
