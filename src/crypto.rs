//! The only module that touches `hmac`, `sha2` and `rand`: keyed tags, their constant-time
//! comparison, and random draws.

use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Length of every tag the crate makes and stores.
pub(crate) const TAG_LEN: usize = 32;

/// An HMAC-SHA256 output.
pub(crate) type Tag = [u8; TAG_LEN];

type HmacSha256 = Hmac<Sha256>;

/// An HMAC-SHA256 key whose inner and outer pads are computed once; wiped on drop.
#[derive(Clone)]
pub(crate) struct MacKey(HmacSha256);

impl MacKey {
    /// Prepares `key` for tagging.
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        // HMAC pads a key shorter than the hash block with zeros (RFC 2104), so a 64-byte block
        // holding the key then zeros is the same key, and `KeyInit::new` cannot fail on it.
        let mut block = [0u8; 64];
        for (slot, byte) in block.iter_mut().zip(key) {
            *slot = *byte;
        }
        let mac = HmacSha256::new(&block.into());
        block.zeroize();
        Self(mac)
    }

    /// The tag of `parts`, each framed by its length so that no two part lists collide.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> Tag {
        self.framed(parts).finalize().into_bytes().into()
    }

    /// Whether `tag` is the tag of `parts`, compared in constant time.
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        count::constant_time_comparison();
        self.framed(parts).verify_slice(tag).is_ok()
    }

    fn framed(&self, parts: &[&[u8]]) -> HmacSha256 {
        count::hmac(parts.iter().map(|part| part.len().saturating_add(4)).sum());
        let mut mac = self.0.clone();
        for part in parts {
            #[expect(
                clippy::expect_used,
                reason = "parts are ids, keys and records of bytes"
            )]
            let len = u32::try_from(part.len()).expect("a part of a tag is far below 4 GiB");
            mac.update(&len.to_be_bytes());
            mac.update(part);
        }
        mac
    }
}

/// Constant-time equality of two tags.
pub(crate) fn tags_equal(a: &Tag, b: &Tag) -> bool {
    count::constant_time_comparison();
    a.ct_eq(b).into()
}

/// The first 16 bytes of SHA-256 over `parts`, each framed by its length: a name derived from
/// public data (an event's id), not a secret.
pub(crate) fn digest16(parts: &[&[u8]]) -> [u8; 16] {
    use sha2::Digest as _;
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    let digest = hash.finalize();
    let mut name = [0u8; 16];
    for (to, from) in name.iter_mut().zip(digest.iter()) {
        *to = *from;
    }
    name
}

/// `N` bytes from the thread-local CSPRNG (ChaCha, seeded from the operating system).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    count::draw();
    let mut bytes = [0u8; N];
    rand::rng().fill(&mut bytes);
    bytes
}

/// A uniform draw in `0..bound`; `bound` 0 gives 0.
pub(crate) fn random_below(bound: u32) -> u32 {
    count::draw();
    if bound == 0 {
        return 0;
    }
    rand::rng().random_range(0..bound)
}

/// Plain HMAC-SHA256 of `message` under a key of any length (RFC 2104), without framing.
#[cfg(test)]
fn hmac_sha256(key: &[u8], message: &[u8]) -> Tag {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Counters of HMAC evaluations and random draws, per thread, for the cost accounting of
/// benchmarks and tests; compiled to nothing unless the `testkit` feature (or a test) is on.
pub(crate) mod count {
    #[cfg(any(test, feature = "testkit"))]
    use core::cell::Cell;

    #[cfg(any(test, feature = "testkit"))]
    std::thread_local! {
        static HMACS: Cell<u64> = const { Cell::new(0) };
        static HMAC_BYTES: Cell<u64> = const { Cell::new(0) };
        static DRAWS: Cell<u64> = const { Cell::new(0) };
        static COMPARISONS: Cell<u64> = const { Cell::new(0) };
    }

    /// One comparison of a secret tag, in constant time.
    #[inline]
    pub(crate) fn constant_time_comparison() {
        #[cfg(any(test, feature = "testkit"))]
        COMPARISONS.with(|n| n.set(n.get().saturating_add(1)));
    }

    /// One HMAC over a message of `bytes` bytes.
    #[inline]
    pub(crate) fn hmac(bytes: usize) {
        #[cfg(any(test, feature = "testkit"))]
        {
            HMACS.with(|n| n.set(n.get().saturating_add(1)));
            let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
            HMAC_BYTES.with(|n| n.set(n.get().saturating_add(bytes)));
        }
        #[cfg(not(any(test, feature = "testkit")))]
        let _ = bytes;
    }

    #[inline]
    pub(crate) fn draw() {
        #[cfg(any(test, feature = "testkit"))]
        DRAWS.with(|n| n.set(n.get().saturating_add(1)));
    }

    /// HMAC evaluations, bytes they covered, and random draws made so far on this thread.
    #[cfg(any(test, feature = "testkit"))]
    pub(crate) fn totals() -> (u64, u64, u64) {
        (
            HMACS.with(Cell::get),
            HMAC_BYTES.with(Cell::get),
            DRAWS.with(Cell::get),
        )
    }

    /// Constant-time comparisons of secret tags made so far on this thread.
    #[cfg(any(test, feature = "testkit"))]
    pub(crate) fn comparisons() -> u64 {
        COMPARISONS.with(Cell::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    // RFC 4231, section 4: HMAC-SHA256 test cases 1 to 4, 6 and 7 (5 is a truncated output).
    #[test]
    fn rfc4231_vectors() {
        let cases: [(Vec<u8>, Vec<u8>, &str); 6] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                (1..=25).collect(),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (key, message, expected) in cases {
            assert_eq!(hex(&hmac_sha256(&key, &message)), expected);
        }
    }

    #[test]
    fn mac_key_is_plain_hmac_of_the_framed_parts() {
        let key = [7u8; 32];
        let mac = MacKey::new(&key);
        let mut framed = Vec::new();
        for part in [&b"ab"[..], &b"c"[..]] {
            framed.extend_from_slice(&u32::try_from(part.len()).unwrap().to_be_bytes());
            framed.extend_from_slice(part);
        }
        assert_eq!(mac.tag(&[b"ab", b"c"]), hmac_sha256(&key, &framed));
    }

    #[test]
    fn framing_separates_part_boundaries() {
        let mac = MacKey::new(&[1u8; 32]);
        assert_ne!(mac.tag(&[b"ab", b"c"]), mac.tag(&[b"a", b"bc"]));
        assert_ne!(mac.tag(&[b"abc"]), mac.tag(&[b"abc", b""]));
    }

    #[test]
    fn verify_accepts_the_tag_and_refuses_any_other() {
        let mac = MacKey::new(&[2u8; 32]);
        let tag = mac.tag(&[b"record"]);
        assert!(mac.verify(&[b"record"], &tag));
        let mut flipped = tag;
        flipped[31] ^= 1;
        assert!(!mac.verify(&[b"record"], &flipped));
        assert!(!mac.verify(&[b"record"], &tag[..31]));
        assert!(!mac.verify(&[b"other"], &tag));
    }

    #[test]
    fn tags_equal_compares_every_byte() {
        let a = [9u8; TAG_LEN];
        let mut b = a;
        assert!(tags_equal(&a, &b));
        b[0] ^= 0x80;
        assert!(!tags_equal(&a, &b));
    }

    #[test]
    fn random_below_stays_in_range_and_varies() {
        let draws: Vec<u32> = (0..200).map(|_| random_below(1_000_000)).collect();
        assert!(draws.iter().all(|d| *d < 1_000_000));
        assert!(draws.iter().any(|d| *d != draws[0]));
        assert_eq!(random_below(0), 0);
        assert_ne!(random_bytes::<16>(), random_bytes::<16>());
    }
}
