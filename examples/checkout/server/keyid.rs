//! The master key's public id, kept in the engine's database (the table `checkout_key`, beside
//! the store's tables: in `checkout.db`, or in the PostgreSQL database) and checked at every
//! start: a server given another key than the one that sealed the records refuses to start,
//! rather than find every record unreadable (authorized payments never settled, PIN locks in
//! effect lifted).
//!
//! At start, with the key given and what the database holds:
//!
//! ```text
//! the database holds           no flag                      --reinitialise
//! this key's id                start                        refuse: nothing to start over
//! another key's id             refuse, naming both ids      SQLite: move the files aside
//! records but no id            refuse                       and start new; PostgreSQL:
//!                                                           refuse, with what to do by hand
//! nothing (missing or empty)   key file read, or (SQLite)   start new
//!                              the bank's or index's file
//!                              there: refuse; else start new
//! ```

mod place;

use std::fmt;
use std::path::PathBuf;

use buyster::SecretKey;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::config::Config;
use super::keyfile::{self, KeyOrigin};
use super::{StartError, master_bytes};

/// The table holding the id, in SQLite and PostgreSQL alike: one row.
const TABLE: &str = "
    CREATE TABLE IF NOT EXISTS checkout_key (
        only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
        key_id   TEXT NOT NULL
    );";

/// The public id of a master key: the first 8 bytes of HMAC-SHA256(key, a fixed label), in
/// hexadecimal. It tells two keys apart and reveals nothing of either.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeyId(String);

impl KeyId {
    /// The id of `master`.
    pub fn of(master: &SecretKey) -> Self {
        let mut block = Zeroizing::new([0u8; 64]);
        for (byte, key_byte) in block.iter_mut().zip(master_bytes(master)) {
            *byte = *key_byte;
        }
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*block).into());
        mac.update(b"buyster checkout: key id v1");
        let tag = mac.finalize().into_bytes();
        Self(
            tag.iter()
                .take(8)
                .map(|byte| format!("{byte:02x}"))
                .collect(),
        )
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the engine's database holds of the key that sealed its records.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// The id of the key its records are sealed with.
    Id(KeyId),
    /// Records, but no id: made before ids were kept, or the id's table was lost.
    Unmarked,
    /// No records, no id: the database is new, or lost.
    Nothing,
}

/// What the start goes on with.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// The database is this key's.
    Go,
    /// The database is new: this key's id is written in it.
    Mark,
    /// The database is another key's, and the flag says to start over.
    StartOver,
}

/// Why the server refuses to start with this key on this database.
#[derive(Debug, PartialEq, Eq)]
enum Why {
    /// The records are sealed by the key with this id.
    OtherKey(KeyId),
    /// The records carry no key id.
    Unmarked,
    /// Something made with the database says it existed, and it is now missing or empty.
    DatabaseLost(Trace),
    /// `--reinitialise`, with the database already this key's.
    NothingToStartOver,
    /// `--reinitialise` on PostgreSQL, whose schema the server does not move aside.
    SharedSchema(Option<KeyId>),
}

/// The server's refusal to start on a database with a key: where, which key, why, and what
/// the operator can do.
#[derive(Debug)]
pub struct KeyMismatch {
    place: String,
    given: KeyId,
    key_file: PathBuf,
    why: Why,
}

impl std::error::Error for KeyMismatch {}

impl fmt::Display for KeyMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (place, given, key_file) = (&self.place, &self.given, self.key_file.display());
        let again = "start again with the flag --reinitialise (CHECKOUT_REINITIALISE=1)";
        match &self.why {
            Why::OtherKey(expected) => write!(
                f,
                "{place} expects the master key with id {expected}, and the key given has id \
                 {given}: its records cannot be read with this key. Give the key with id \
                 {expected} (BUYSTER_MASTER_KEY, or the key file {key_file}); or, to give up \
                 those records and start a new database with this key, {again}"
            ),
            Why::Unmarked => write!(
                f,
                "{place} holds records but no key id (it expects the key with id none \
                 recorded), and the key given has id {given}: the server cannot tell whether \
                 this key sealed them. Give the key that made them (a database made before \
                 key ids were kept: DEPLOYMENT.md says how to record the id); or, to start a \
                 new database with this key, {again}"
            ),
            Why::DatabaseLost(Trace::Siblings) => write!(
                f,
                "{place} is missing or holds no records, but the bank's ledger and the shop's \
                 index beside it were made with it: the database may have been lost. Restore \
                 it from a backup; or, to start a new database with this key, {again}"
            ),
            Why::DatabaseLost(Trace::KeyFile) => write!(
                f,
                "the key file {key_file} (key id {given}) was made with a database, but \
                 {place} is missing or holds no records: the database may have been lost. \
                 Restore it from a backup; or, to start a new database with this key, {again}"
            ),
            Why::NothingToStartOver => write!(
                f,
                "--reinitialise, but {place} already holds this key's id {given}: nothing to \
                 start over. Remove the flag (CHECKOUT_REINITIALISE) and start again"
            ),
            Why::SharedSchema(expected) => {
                let expected = expected.as_ref().map_or("none", |id| id.0.as_str());
                write!(
                    f,
                    "{place} expects the master key with id {expected}, and the key given has \
                     id {given}; --reinitialise does not move a shared database aside. Stop \
                     every server on it, then in psql: ALTER SCHEMA buyster RENAME TO \
                     buyster_key_{expected}; DELETE FROM checkout_key; and start again"
                )
            }
        }
    }
}

/// What the check found and did, for the start-up message.
pub struct KeyCheck {
    /// The key's id.
    pub key_id: KeyId,
    /// Whether the engine's database was started new at this start.
    pub new_database: bool,
    /// The files moved aside, where they now are.
    pub moved: Vec<PathBuf>,
}

/// Checks that the engine's database of `config` is the key's: starts it new when it is
/// missing or empty (and nothing says a database was lost) or when `config.reinitialise`
/// says so, or refuses with a [`KeyMismatch`]. On SQLite, first checks that each file is
/// whole.
pub async fn check(
    config: &Config,
    master: &SecretKey,
    origin: &KeyOrigin,
) -> Result<KeyCheck, StartError> {
    let given = KeyId::of(master);
    let key_file = matches!(origin, KeyOrigin::File(_)).then_some(Trace::KeyFile);
    let mismatch = |place: String, why| KeyMismatch {
        place,
        given: given.clone(),
        key_file: keyfile::key_file_of(&config.db),
        why,
    };
    let (new_database, moved) = match &config.postgres {
        None => place::sqlite(config, &given, key_file, mismatch)?,
        Some(url) => place::postgres(url, config, &given, key_file, mismatch).await?,
    };
    Ok(KeyCheck {
        key_id: given,
        new_database,
        moved,
    })
}

/// What was left by an earlier start with the database, besides the database.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Trace {
    /// The key file: made at the first start, with the database.
    KeyFile,
    /// The bank's ledger or the shop's index (SQLite): made at the first start, after it.
    Siblings,
}

/// What to do with `found` under the key `given`, with `trace` of an earlier start.
fn judge(
    found: Found,
    given: &KeyId,
    trace: Option<Trace>,
    reinitialise: bool,
) -> Result<Verdict, Why> {
    match (found, reinitialise) {
        (Found::Id(id), false) if id == *given => Ok(Verdict::Go),
        (Found::Id(id), true) if id == *given => Err(Why::NothingToStartOver),
        (Found::Id(id), false) => Err(Why::OtherKey(id)),
        (Found::Unmarked, false) => Err(Why::Unmarked),
        (Found::Id(_) | Found::Unmarked, true) => Ok(Verdict::StartOver),
        (Found::Nothing, false) => match trace {
            Some(trace) => Err(Why::DatabaseLost(trace)),
            None => Ok(Verdict::Mark),
        },
        (Found::Nothing, _) => Ok(Verdict::Mark),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> KeyId {
        KeyId(text.to_owned())
    }

    const FILE: Option<Trace> = Some(Trace::KeyFile);
    const SIBLINGS: Option<Trace> = Some(Trace::Siblings);

    #[test]
    fn every_case_of_the_table() {
        let given = id("00112233aabbccdd");
        let other = id("ffeeddcc00000000");
        let cases = [
            (Found::Id(given.clone()), None, false, Ok(Verdict::Go)),
            (
                Found::Id(given.clone()),
                FILE,
                true,
                Err(Why::NothingToStartOver),
            ),
            (
                Found::Id(other.clone()),
                FILE,
                false,
                Err(Why::OtherKey(other.clone())),
            ),
            (Found::Id(other.clone()), None, true, Ok(Verdict::StartOver)),
            (Found::Unmarked, None, false, Err(Why::Unmarked)),
            (Found::Unmarked, FILE, true, Ok(Verdict::StartOver)),
            (
                Found::Nothing,
                FILE,
                false,
                Err(Why::DatabaseLost(Trace::KeyFile)),
            ),
            (
                Found::Nothing,
                SIBLINGS,
                false,
                Err(Why::DatabaseLost(Trace::Siblings)),
            ),
            (Found::Nothing, FILE, true, Ok(Verdict::Mark)),
            (Found::Nothing, SIBLINGS, true, Ok(Verdict::Mark)),
            (Found::Nothing, None, false, Ok(Verdict::Mark)),
        ];
        for (found, trace, reinitialise, verdict) in cases {
            assert_eq!(judge(found, &given, trace, reinitialise), verdict);
        }
    }
}
