//! The enrollment record: common fields, then the state's own.
//!
//! ```text
//! id (16) | phone | created at | expires at | state (1) | CodeSent: key id, tag, attempts left
//!                                                      | Accepted: accepted at
//!                                                      | Enrolled: enrolled at
//!                                                      | Failed: reason, failed at
//! ```

use crate::Error;
use crate::codec::RecordByte;
use crate::codec::{Reader, Writer};
use crate::enrollment::EnrollmentFailure;
use crate::error::EnrollmentKind;
use crate::host::{Entry, Key};
use crate::ids::EnrollmentId;
use crate::keys::KeyedTag;
use crate::keys::Keys;
use crate::phone::PhoneNumber;
use crate::policy::Policy;
use crate::seal::{self, RecordKind};
use crate::time::Timestamp;

use super::sealed::Sealed;
use super::{
    AnyEnrollment, CodeAccepted, CodeSent, Enrolled, Enrollment, EnrollmentFailed, EnrollmentState,
    Head,
};

/// How a state writes its own fields.
pub(crate) trait EnrollmentRecord: EnrollmentState {
    const CODE: u8;
    fn write(&self, w: &mut Writer);

    /// When an enrollment in this state ended (enrolled or failed); `None` while it has not.
    fn ended_at(&self) -> Option<Timestamp> {
        None
    }
}

/// When `enrollment`, stored now, falls due: a code sent at its expiry, an accepted code
/// (its account still to make) a recovery delay after `now`, a finished enrollment when its
/// retention is over.
pub(crate) fn due_at<S: EnrollmentRecord>(
    enrollment: &Enrollment<S>,
    now: Timestamp,
    policy: &Policy,
) -> Option<Timestamp> {
    match S::KIND {
        EnrollmentKind::CodeSent => Some(enrollment.head.expires_at),
        EnrollmentKind::Accepted => Some(now.saturating_add(policy.recovery_delay)),
        EnrollmentKind::Enrolled | EnrollmentKind::Failed => enrollment
            .state
            .ended_at()
            .map(|ended| kept_until(ended, policy)),
    }
}

/// Until when an enrollment that ended at `ended` is kept.
pub(crate) fn kept_until(ended: Timestamp, policy: &Policy) -> Timestamp {
    ended.saturating_add(policy.enrollment_retention)
}

/// The sealed record of `enrollment`.
pub(crate) fn encode<S: EnrollmentRecord>(enrollment: &Enrollment<S>, keys: &Keys) -> Vec<u8> {
    let mut w = seal::writer(RecordKind::Enrollment, keys);
    w.bytes(enrollment.head.id.as_bytes());
    w.text(enrollment.head.phone.as_str());
    w.time(enrollment.head.created_at);
    w.time(enrollment.head.expires_at);
    w.u8(S::CODE);
    enrollment.state.write(&mut w);
    seal::seal(w, keys, &enrollment.head.key)
}

/// The enrollment `id` stored as `entry` under its key, verified.
pub(crate) fn decode(
    keys: &Keys,
    id: &EnrollmentId,
    entry: &Entry,
) -> Result<AnyEnrollment, Error> {
    let key = Key::enrollment(id);
    let mut r = seal::open(keys, &key, RecordKind::Enrollment, entry.value())?;
    if &r.array::<16>()? != id.as_bytes() {
        return Err(Error::Tampered);
    }
    let head = Head {
        id: *id,
        key,
        phone: PhoneNumber::from_record(r.text()?).ok_or(Error::Tampered)?,
        created_at: r.time()?,
        expires_at: r.time()?,
        version: entry.version(),
    };
    let any = match r.u8()? {
        CodeSent::CODE => CodeSent::into_any(head.with(read_code_sent(&mut r)?)),
        Enrolled::CODE => Enrolled::into_any(head.with(Enrolled {
            enrolled_at: r.time()?,
        })),
        EnrollmentFailed::CODE => EnrollmentFailed::into_any(head.with(read_failed(&mut r)?)),
        CodeAccepted::CODE => CodeAccepted::into_any(head.with(CodeAccepted {
            accepted_at: r.time()?,
        })),
        _ => return Err(Error::Tampered),
    };
    r.finish()?;
    Ok(any)
}

impl EnrollmentRecord for CodeSent {
    const CODE: u8 = 1;
    fn write(&self, w: &mut Writer) {
        w.u8(self.code.key_id);
        w.bytes(&self.code.tag);
        w.u8(self.attempts_left);
    }
}

fn read_code_sent(r: &mut Reader<'_>) -> Result<CodeSent, Error> {
    Ok(CodeSent {
        code: KeyedTag {
            key_id: r.u8()?,
            tag: r.array()?,
        },
        attempts_left: r.u8()?,
    })
}

impl EnrollmentRecord for Enrolled {
    const CODE: u8 = 2;
    fn write(&self, w: &mut Writer) {
        w.time(self.enrolled_at);
    }

    fn ended_at(&self) -> Option<Timestamp> {
        Some(self.enrolled_at)
    }
}

impl EnrollmentRecord for EnrollmentFailed {
    const CODE: u8 = 3;
    fn write(&self, w: &mut Writer) {
        w.coded(self.reason);
        w.time(self.failed_at);
    }

    fn ended_at(&self) -> Option<Timestamp> {
        Some(self.failed_at)
    }
}

impl EnrollmentRecord for CodeAccepted {
    const CODE: u8 = 4;
    fn write(&self, w: &mut Writer) {
        w.time(self.accepted_at);
    }
}

fn read_failed(r: &mut Reader<'_>) -> Result<EnrollmentFailed, Error> {
    Ok(EnrollmentFailed {
        reason: r.coded()?,
        failed_at: r.time()?,
    })
}

impl RecordByte for EnrollmentFailure {
    const ALL: &'static [Self] = &[Self::Expired, Self::TooManyAttempts, Self::AlreadyEnrolled];

    fn byte(self) -> u8 {
        match self {
            Self::Expired => 1,
            Self::TooManyAttempts => 2,
            Self::AlreadyEnrolled => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_enums_have_a_byte_per_value() {
        crate::codec::assert_one_byte_per_value::<EnrollmentFailure>();
    }
    use crate::enrollment::EnrollmentFailure;
    use crate::enrollment::steps::{CodeStep, accepted, code_typed, enrolled, failed, started};
    use crate::host::Version;
    use crate::policy::Policy;
    use crate::secret::{OtpCode, SecretKey};
    use crate::time::Timestamp;

    const T0: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);

    fn keys() -> Keys {
        Keys::new(1, SecretKey::from_bytes([3; 32]))
    }

    fn stored<S: EnrollmentRecord>(keys: &Keys, enrollment: &Enrollment<S>) -> Entry {
        Entry::new(Version::new(7), encode(enrollment, keys))
    }

    #[test]
    fn every_state_round_trips_and_a_moved_record_is_refused() {
        let keys = keys();
        let code: OtpCode = "482913".parse().unwrap();
        let phone: PhoneNumber = "+33612345678".parse().unwrap();
        let sent = started(phone, &code, T0, &keys, &Policy::default());
        let id = sent.id();
        let entry = stored(&keys, &sent);
        assert!(!entry.value.windows(6).any(|w| w == b"482913"));
        let AnyEnrollment::CodeSent(back) = decode(&keys, &id, &entry).unwrap() else {
            panic!()
        };
        assert_eq!(back.attempts_left(), 3);
        assert_eq!(back.version(), Version::new(7));
        let Ok(CodeStep::Right(back)) = code_typed(back, &code, T0, &keys) else {
            panic!()
        };
        let other = EnrollmentId::random();
        assert!(matches!(
            decode(&keys, &other, &entry),
            Err(Error::Tampered)
        ));

        let taken = accepted(back, T0);
        let entry = stored(&keys, &taken);
        let Ok(AnyEnrollment::Accepted(taken)) = decode(&keys, &id, &entry) else {
            panic!()
        };
        assert_eq!(taken.state().accepted_at(), T0);
        let done = enrolled(taken, T0);
        let entry = stored(&keys, &done);
        assert!(matches!(
            decode(&keys, &id, &entry),
            Ok(AnyEnrollment::Enrolled(_))
        ));
        let gone = failed(done, EnrollmentFailure::AlreadyEnrolled, T0);
        let entry = stored(&keys, &gone);
        let Ok(AnyEnrollment::Failed(back)) = decode(&keys, &id, &entry) else {
            panic!()
        };
        assert_eq!(back.state().reason(), EnrollmentFailure::AlreadyEnrolled);
    }
}
