//! The one way a stored enum names its byte: [`RecordByte`]. Each enum's table stands beside the
//! record that stores it.
//!
//! A byte once given to a value is never given to another: records written by an earlier
//! release must read back as they were.

/// An enum stored as one byte of a record: every value, and the byte of each.
pub(crate) trait RecordByte: Copy + PartialEq + Sized + 'static {
    /// Every value of the enum.
    const ALL: &'static [Self];

    /// The value's byte; an exhaustive match, so that a new value cannot be left without one.
    fn byte(self) -> u8;

    /// The value written as `byte`, if any.
    fn from_byte(byte: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|value| value.byte() == byte)
    }
}

/// Checks a table: every value reads back from its byte, no two share one, and no other byte
/// reads.
#[cfg(test)]
#[allow(
    clippy::arithmetic_side_effects,
    reason = "an index into a list of a few values"
)]
pub(crate) fn assert_one_byte_per_value<T: RecordByte + core::fmt::Debug>() {
    for (i, value) in T::ALL.iter().enumerate() {
        assert_eq!(T::from_byte(value.byte()), Some(*value));
        for other in &T::ALL[i + 1..] {
            assert_ne!(value.byte(), other.byte(), "{value:?} and {other:?}");
        }
    }
    let used = T::ALL.iter().map(|value| value.byte()).collect::<Vec<_>>();
    for byte in (0..=u8::MAX).filter(|byte| !used.contains(byte)) {
        assert_eq!(T::from_byte(byte), None);
    }
}
