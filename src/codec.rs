//! The record format: a small versioned binary encoding, sealed by an HMAC over key and body.
//!
//! ```text
//! format (1) | kind (1) | key id (1) | fields … | tag (32) = HMAC(record key, store key ‖ all before)
//! ```
//!
//! Integers are big-endian; text is a 2-byte length then UTF-8. A record is opened only after
//! its tag verifies (in constant time) for the key it was read under, so a record edited,
//! truncated, forged or moved to another key is refused as [`Error::Tampered`] before a single
//! field is trusted.

use crate::Error;
use crate::crypto::TAG_LEN;
use crate::host::Key;
use crate::keys::Keys;
use crate::time::Timestamp;

/// Version of the record layout.
const FORMAT: u8 = 1;
const HEADER_LEN: usize = 3;

/// What a record holds; part of the sealed header, so one kind cannot pass for another.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum RecordKind {
    Payment = 1,
    Account = 2,
    Guard = 3,
    Enrollment = 4,
}

/// Builds one record.
pub(crate) struct Writer(Vec<u8>);

impl Writer {
    pub(crate) fn new(kind: RecordKind, keys: &Keys) -> Self {
        Self::with_capacity(kind, keys, 192)
    }

    /// A writer with room for `capacity` bytes of fields, so that a large record is not
    /// copied as it grows.
    pub(crate) fn with_capacity(kind: RecordKind, keys: &Keys, capacity: usize) -> Self {
        let mut bytes = Vec::with_capacity(capacity.saturating_add(HEADER_LEN + TAG_LEN));
        bytes.extend_from_slice(&[FORMAT, kind as u8, keys.current().key_id()]);
        Self(bytes)
    }

    /// An unsigned number in 1 to 10 bytes, 7 bits a byte, low bits first (LEB128).
    pub(crate) fn varint(&mut self, value: u64) {
        let mut rest = value;
        while rest >= 0x80 {
            self.0.push(u8::try_from(rest & 0x7f).unwrap_or(0) | 0x80);
            rest >>= 7;
        }
        self.0.push(u8::try_from(rest).unwrap_or(0));
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.0.push(value);
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn time(&mut self, value: Timestamp) {
        self.u64(value.as_unix_millis());
    }

    pub(crate) fn bytes(&mut self, value: &[u8]) {
        self.0.extend_from_slice(value);
    }

    /// Text of at most 65,535 bytes; every text the crate stores is bounded far below.
    pub(crate) fn text(&mut self, value: &str) {
        let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0
            .extend_from_slice(value.as_bytes().get(..usize::from(len)).unwrap_or_default());
    }

    /// Text in a field of `width` bytes after its 2-byte length, zero-filled; longer text is
    /// cut (callers bound it below `width`).
    pub(crate) fn padded_text(&mut self, value: &str, width: usize) {
        let bytes = value.as_bytes().get(..width).unwrap_or(value.as_bytes());
        let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(bytes);
        self.0.resize(
            self.0
                .len()
                .saturating_add(width.saturating_sub(bytes.len())),
            0,
        );
    }

    /// The finished record, tagged for `key` with the current record key.
    pub(crate) fn seal(mut self, keys: &Keys, key: &Key) -> Vec<u8> {
        let tag = keys
            .current()
            .record()
            .tag(&[key.as_str().as_bytes(), &self.0]);
        self.0.extend_from_slice(&tag);
        self.0
    }
}

/// Reads the fields of a record whose tag has been verified.
#[derive(Clone)]
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// Verifies `record` as a `kind` record stored under `key`, and reads past its header.
    pub(crate) fn open(
        keys: &Keys,
        key: &Key,
        kind: RecordKind,
        record: &'a [u8],
    ) -> Result<Self, Error> {
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
        // Verify first (constant time), then look at the header, so that the work done does
        // not depend on which part of a forged record is wrong.
        let authentic = mac.verify(&[key.as_str().as_bytes(), sealed], tag);
        if !authentic || format != FORMAT || found_kind != kind as u8 {
            return Err(Error::Tampered);
        }
        Ok(Self(fields))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        let [byte] = self.array()?;
        Ok(byte)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Error> {
        self.array().map(u64::from_be_bytes)
    }

    pub(crate) fn time(&mut self) -> Result<Timestamp, Error> {
        self.u64().map(Timestamp::from_unix_millis)
    }

    /// A number written by [`Writer::varint`], in its shortest form only.
    pub(crate) fn varint(&mut self) -> Result<u64, Error> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(Error::Tampered); // beyond 64 bits
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                // A last byte of zero, after others, is a longer form of a shorter number.
                if byte == 0 && shift > 0 {
                    return Err(Error::Tampered);
                }
                return Ok(value);
            }
        }
        Err(Error::Tampered)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let (head, rest) = self.0.split_first_chunk::<N>().ok_or(Error::Tampered)?;
        self.0 = rest;
        Ok(*head)
    }

    pub(crate) fn text(&mut self) -> Result<&'a str, Error> {
        let len = usize::from(u16::from_be_bytes(self.array()?));
        let (head, rest) = self.0.split_at_checked(len).ok_or(Error::Tampered)?;
        self.0 = rest;
        core::str::from_utf8(head).map_err(|_| Error::Tampered)
    }

    /// Text written by [`Writer::padded_text`] with the same `width`; the padding must be zeros.
    pub(crate) fn padded_text(&mut self, width: usize) -> Result<&'a str, Error> {
        let len = usize::from(u16::from_be_bytes(self.array()?));
        let (field, rest) = self.0.split_at_checked(width).ok_or(Error::Tampered)?;
        self.0 = rest;
        let (text, padding) = field.split_at_checked(len).ok_or(Error::Tampered)?;
        if padding.iter().any(|b| *b != 0) {
            return Err(Error::Tampered);
        }
        core::str::from_utf8(text).map_err(|_| Error::Tampered)
    }

    /// Ends reading: a record with bytes left over is not one the engine wrote.
    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Tampered)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretKey;

    fn keys() -> Keys {
        Keys::new(7, SecretKey::from_bytes([42; 32]))
    }

    fn sample(keys: &Keys, key: &Key) -> Vec<u8> {
        let mut w = Writer::new(RecordKind::Guard, keys);
        w.u8(3);
        w.u64(u64::MAX - 1);
        w.text("héllo");
        w.bytes(&[1, 2, 3]);
        w.seal(keys, key)
    }

    fn read_sample(reader: &mut Reader<'_>) -> Result<(u8, u64, String, [u8; 3]), Error> {
        Ok((
            reader.u8()?,
            reader.u64()?,
            reader.text()?.to_owned(),
            reader.array()?,
        ))
    }

    #[test]
    fn round_trips_fields() {
        let (keys, key) = (keys(), Key::guard("abc"));
        let record = sample(&keys, &key);
        assert_eq!(record.len(), 3 + 1 + 8 + 2 + 6 + 3 + 32);
        let mut reader = Reader::open(&keys, &key, RecordKind::Guard, &record).unwrap();
        assert_eq!(
            read_sample(&mut reader).unwrap(),
            (3, u64::MAX - 1, "héllo".into(), [1, 2, 3])
        );
        reader.finish().unwrap();
    }

    #[test]
    fn varints_round_trip_in_their_shortest_form_only() {
        let fields = |bytes: &[u8]| -> Result<u64, Error> {
            let mut reader = Reader(bytes);
            let value = reader.varint()?;
            reader.finish().map(|()| value)
        };
        for value in [0, 1, 127, 128, 4990, 300_000, u64::from(u32::MAX), u64::MAX] {
            let mut w = Writer(Vec::new());
            w.varint(value);
            let expected_len = (64 - value.leading_zeros()).div_ceil(7).max(1);
            assert_eq!(w.0.len(), expected_len as usize, "{value}");
            assert_eq!(fields(&w.0).unwrap(), value);
        }
        for bad in [
            &[0x80, 0x00][..],                                             // 0, padded
            &[0xff, 0x00],                                                 // 127, padded
            &[0x80],                                                       // cut short
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02], // 65 bits
            &[
                0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
            ], // 11 bytes
        ] {
            assert!(matches!(fields(bad), Err(Error::Tampered)), "{bad:?}");
        }
    }

    #[test]
    fn refuses_every_bit_flip_and_truncation() {
        let (keys, key) = (keys(), Key::guard("abc"));
        let record = sample(&keys, &key);
        for bit in 0..record.len() * 8 {
            let mut flipped = record.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let opened = Reader::open(&keys, &key, RecordKind::Guard, &flipped);
            assert!(matches!(opened, Err(Error::Tampered)), "bit {bit}");
        }
        for len in 0..record.len() {
            let opened = Reader::open(&keys, &key, RecordKind::Guard, &record[..len]);
            assert!(matches!(opened, Err(Error::Tampered)), "length {len}");
        }
    }

    #[test]
    fn refuses_a_moved_record_another_kind_or_other_keys() {
        let (keys, key) = (keys(), Key::guard("abc"));
        let record = sample(&keys, &key);
        let moved = Reader::open(&keys, &Key::guard("abd"), RecordKind::Guard, &record);
        assert!(matches!(moved, Err(Error::Tampered)));
        let kind = Reader::open(&keys, &key, RecordKind::Account, &record);
        assert!(matches!(kind, Err(Error::Tampered)));
        let other = Keys::new(7, SecretKey::from_bytes([43; 32]));
        assert!(matches!(
            Reader::open(&other, &key, RecordKind::Guard, &record),
            Err(Error::Tampered)
        ));
        let other_id = Keys::new(8, SecretKey::from_bytes([42; 32]));
        assert!(matches!(
            Reader::open(&other_id, &key, RecordKind::Guard, &record),
            Err(Error::Tampered)
        ));
    }

    #[test]
    fn padded_text_has_a_fixed_size_and_refuses_dirty_padding() {
        let (keys, key) = (keys(), Key::guard("abc"));
        let sizes: Vec<usize> = ["", "abc", "0123456789"]
            .iter()
            .map(|text| {
                let mut w = Writer::new(RecordKind::Guard, &keys);
                w.padded_text(text, 10);
                let record = w.seal(&keys, &key);
                let mut reader = Reader::open(&keys, &key, RecordKind::Guard, &record).unwrap();
                assert_eq!(reader.padded_text(10).unwrap(), *text);
                reader.finish().unwrap();
                record.len()
            })
            .collect();
        assert_eq!(sizes, [3 + 12 + 32; 3]);
        let mut w = Writer::new(RecordKind::Guard, &keys);
        w.bytes(&[0, 1, b'a', b'b', 0]);
        let record = w.seal(&keys, &key);
        let mut reader = Reader::open(&keys, &key, RecordKind::Guard, &record).unwrap();
        assert!(matches!(reader.padded_text(3), Err(Error::Tampered)));
    }

    #[test]
    fn short_reads_and_leftovers_are_tampering() {
        let (keys, key) = (keys(), Key::guard("abc"));
        let mut w = Writer::new(RecordKind::Guard, &keys);
        w.u8(1);
        let record = w.seal(&keys, &key);
        let mut reader = Reader::open(&keys, &key, RecordKind::Guard, &record).unwrap();
        assert!(matches!(reader.u64(), Err(Error::Tampered)));
        let reader = Reader::open(&keys, &key, RecordKind::Guard, &record).unwrap();
        assert!(matches!(reader.finish(), Err(Error::Tampered)));
        let mut w = Writer::new(RecordKind::Guard, &keys);
        w.bytes(&[0, 5, b'a']);
        let record = w.seal(&keys, &key);
        let mut reader = Reader::open(&keys, &key, RecordKind::Guard, &record).unwrap();
        assert!(matches!(reader.text(), Err(Error::Tampered)));
        let mut w = Writer::new(RecordKind::Guard, &keys);
        w.bytes(&[0, 2, 0xff, 0xfe]);
        let record = w.seal(&keys, &key);
        let mut reader = Reader::open(&keys, &key, RecordKind::Guard, &record).unwrap();
        assert!(matches!(reader.text(), Err(Error::Tampered)));
    }
}
