//! The fields of a record: a small binary encoding, written by [`Writer`] and read back by
//! [`Reader`]. Integers are big-endian or LEB128 varints; text is a 2-byte length then UTF-8.
//! What frames and authenticates a record (its header and its tag) is `seal.rs`'s.

mod bytes;

pub(crate) use bytes::RecordByte;
#[cfg(test)]
pub(crate) use bytes::assert_one_byte_per_value;

use crate::Error;
use crate::display_text;
use crate::time::Timestamp;

/// Writes the fields of one record.
pub(crate) struct Writer(Vec<u8>);

impl Writer {
    /// A writer with room for `capacity` bytes, so that a large record is not copied as it
    /// grows.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self(Vec::with_capacity(capacity))
    }

    /// The bytes written.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// An unsigned number in 1 to 10 bytes, 7 bits a byte, low bits first (LEB128).
    pub(crate) fn varint(&mut self, value: u64) {
        let mut rest = value;
        loop {
            let [low, ..] = rest.to_le_bytes();
            rest >>= 7;
            if rest == 0 {
                self.0.push(low);
                return;
            }
            self.0.push(low | 0x80);
        }
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.0.push(value);
    }

    /// A stored enum, as its [`RecordByte`].
    pub(crate) fn coded<T: RecordByte>(&mut self, value: T) {
        self.u8(value.byte());
    }

    /// Up to 8 flags in one byte, the first in the lowest bit.
    pub(crate) fn flags<const N: usize>(&mut self, flags: [bool; N]) {
        const { assert!(N <= 8, "a flag byte holds 8 flags") };
        let byte = flags
            .iter()
            .rev()
            .fold(0u8, |byte, flag| (byte << 1) | u8::from(*flag));
        self.u8(byte);
    }

    /// A count of at most `max`, then the first `max` items (callers keep their lists
    /// shorter), each by `write`.
    pub(crate) fn list<T>(&mut self, items: &[T], max: u8, mut write: impl FnMut(&mut Self, &T)) {
        let kept = items.get(..usize::from(max)).unwrap_or(items);
        #[expect(clippy::expect_used, reason = "at most `max` items were kept, a u8")]
        self.u8(u8::try_from(kept.len()).expect("at most `max` items were kept, a u8"));
        for item in kept {
            write(self, item);
        }
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

    /// Text after its 2-byte length: at most 65,535 bytes, cut at a character boundary
    /// beyond (every text the crate stores is bounded far below by its type).
    pub(crate) fn text(&mut self, value: &str) {
        let (len, kept) = cut(value, u16::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(kept.as_bytes());
    }

    /// Text in a field of `width` bytes after its 2-byte length, zero-filled; longer text is
    /// cut at a character boundary (callers bound it below `width`).
    pub(crate) fn padded_text(&mut self, value: &str, width: u16) {
        let (len, kept) = cut(value, width);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(kept.as_bytes());
        self.0.resize(
            self.0
                .len()
                .saturating_add(usize::from(width.saturating_sub(len))),
            0,
        );
    }
}

/// `value` cut to at most `max` bytes at a character boundary, and the length kept.
fn cut(value: &str, max: u16) -> (u16, &str) {
    let kept = display_text::cut(value, usize::from(max));
    #[expect(clippy::expect_used, reason = "the text was cut to a u16 of bytes")]
    let len = u16::try_from(kept.len()).expect("the text was cut to a u16 of bytes");
    (len, kept)
}

/// Reads the fields of a record whose tag has been verified.
#[derive(Clone)]
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// A reader of `fields`.
    pub(crate) const fn new(fields: &'a [u8]) -> Self {
        Self(fields)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        let [byte] = self.array()?;
        Ok(byte)
    }

    /// The count of a list written by [`Writer::list`] with the same `max`: more is tampering.
    pub(crate) fn count(&mut self, max: u8) -> Result<u8, Error> {
        let count = self.u8()?;
        if count > max {
            return Err(Error::Tampered);
        }
        Ok(count)
    }

    /// A stored enum written by [`Writer::coded`]: a byte no value has is tampering.
    pub(crate) fn coded<T: RecordByte>(&mut self) -> Result<T, Error> {
        T::from_byte(self.u8()?).ok_or(Error::Tampered)
    }

    /// `N` flags written by [`Writer::flags`]: a bit set beyond them is tampering.
    pub(crate) fn flags<const N: usize>(&mut self) -> Result<[bool; N], Error> {
        const { assert!(N <= 8, "a flag byte holds 8 flags") };
        let mut rest = self.u8()?;
        let mut flags = [false; N];
        for flag in &mut flags {
            *flag = rest & 1 == 1;
            rest >>= 1;
        }
        if rest != 0 {
            return Err(Error::Tampered);
        }
        Ok(flags)
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
    pub(crate) fn padded_text(&mut self, width: u16) -> Result<&'a str, Error> {
        let len = usize::from(u16::from_be_bytes(self.array()?));
        let (field, rest) = self
            .0
            .split_at_checked(usize::from(width))
            .ok_or(Error::Tampered)?;
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

    fn written(fields: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::with_capacity(16);
        fields(&mut w);
        w.into_bytes()
    }

    #[test]
    fn round_trips_fields() {
        let bytes = written(|w| {
            w.u8(3);
            w.u64(u64::MAX - 1);
            w.text("héllo");
            w.bytes(&[1, 2, 3]);
            w.time(Timestamp::from_unix_millis(42));
        });
        assert_eq!(bytes.len(), 1 + 8 + 2 + 6 + 3 + 8);
        let mut reader = Reader::new(&bytes);
        assert_eq!(reader.u8().unwrap(), 3);
        assert_eq!(reader.u64().unwrap(), u64::MAX - 1);
        assert_eq!(reader.text().unwrap(), "héllo");
        assert_eq!(reader.array().unwrap(), [1, 2, 3]);
        assert_eq!(reader.time().unwrap(), Timestamp::from_unix_millis(42));
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
            let bytes = written(|w| w.varint(value));
            let expected_len = (64 - value.leading_zeros()).div_ceil(7).max(1);
            assert_eq!(bytes.len(), expected_len as usize, "{value}");
            assert_eq!(fields(&bytes).unwrap(), value);
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
    fn padded_text_has_a_fixed_size_and_refuses_dirty_padding() {
        for text in ["", "abc", "0123456789"] {
            let bytes = written(|w| w.padded_text(text, 10));
            assert_eq!(bytes.len(), 12);
            let mut reader = Reader::new(&bytes);
            assert_eq!(reader.padded_text(10).unwrap(), text);
            reader.finish().unwrap();
        }
        let bytes = [0, 1, b'a', b'b', 0];
        assert!(matches!(
            Reader::new(&bytes).padded_text(3),
            Err(Error::Tampered)
        ));
    }

    #[test]
    fn short_reads_and_leftovers_are_tampering() {
        assert!(matches!(Reader::new(&[1]).u64(), Err(Error::Tampered)));
        assert!(matches!(Reader::new(&[1]).finish(), Err(Error::Tampered)));
        assert!(matches!(
            Reader::new(&[0, 5, b'a']).text(),
            Err(Error::Tampered)
        ));
        assert!(matches!(
            Reader::new(&[0, 2, 0xff, 0xfe]).text(),
            Err(Error::Tampered)
        ));
    }
}
