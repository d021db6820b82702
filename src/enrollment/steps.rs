//! The pure steps of an enrollment: state, input and time in, next state out.

use crate::Error;
use crate::crypto::tags_equal;
use crate::host::{Key, Version};
use crate::ids::EnrollmentId;
use crate::keys::Keys;
use crate::phone::PhoneNumber;
use crate::policy::Policy;
use crate::secret::OtpCode;
use crate::time::Timestamp;

use super::{
    CodeAccepted, CodeSent, Enrolled, Enrollment, EnrollmentFailed, EnrollmentFailure,
    EnrollmentState, Head,
};
use crate::keys::KeyedTag;

/// What a typed code leads to.
#[derive(Debug)]
pub(crate) enum CodeStep {
    /// Right: the enrollment, unchanged, for its account to be made.
    Right(Enrollment<CodeSent>),
    /// Wrong, with attempts left.
    Wrong(Enrollment<CodeSent>),
    /// Wrong, and the last attempt: the enrollment fails.
    Exhausted(Enrollment<EnrollmentFailed>),
}

/// A new enrollment of `phone` whose `code` is sent at `now`; it lives as long as a payment's
/// code, with as many attempts.
pub(crate) fn started(
    phone: PhoneNumber,
    code: &OtpCode,
    now: Timestamp,
    keys: &Keys,
    policy: &Policy,
) -> Enrollment<CodeSent> {
    let id = EnrollmentId::random();
    let state = CodeSent {
        code: tag(keys, &id, &phone, code),
        attempts_left: policy.max_code_attempts,
    };
    let head = Head {
        id,
        key: Key::enrollment(&id),
        phone,
        created_at: now,
        expires_at: now.saturating_add(policy.code_ttl),
        version: Version::new(0),
    };
    head.with(state)
}

/// The same new enrollment under another random id, after the first one was found taken.
pub(crate) fn with_new_id(
    enrollment: Enrollment<CodeSent>,
    code: &OtpCode,
    keys: &Keys,
) -> Enrollment<CodeSent> {
    let id = EnrollmentId::random();
    let Enrollment { mut head, state } = enrollment;
    let code = tag(keys, &id, &head.phone, code);
    head.id = id;
    head.key = Key::enrollment(&id);
    head.with(CodeSent { code, ..state })
}

fn tag(keys: &Keys, id: &EnrollmentId, phone: &PhoneNumber, code: &OtpCode) -> KeyedTag {
    let set = keys.current();
    set.keyed(set.enrollment_tag(bound_to(id, phone), code))
}

/// What an enrollment code's tag binds: the enrollment's id and the number it was sent to.
fn bound_to<'a>(id: &'a EnrollmentId, phone: &'a PhoneNumber) -> [&'a [u8]; 2] {
    [id.as_bytes(), phone.as_str().as_bytes()]
}

/// The applicant typed `code` at `now`; the enrollment must not be expired (the caller checks).
///
/// # Errors
///
/// [`Error::Tampered`] when the stored tag was made under a key these keys do not hold.
pub(crate) fn code_typed(
    enrollment: Enrollment<CodeSent>,
    code: &OtpCode,
    now: Timestamp,
    keys: &Keys,
) -> Result<CodeStep, Error> {
    let stored = &enrollment.state.code;
    let set = keys.by_id(stored.key_id).ok_or(Error::Tampered)?;
    let candidate = set.enrollment_tag(bound_to(&enrollment.head.id, &enrollment.head.phone), code);
    if tags_equal(&candidate, &stored.tag) {
        return Ok(CodeStep::Right(enrollment));
    }
    let attempts_left = enrollment.state.attempts_left.saturating_sub(1);
    if attempts_left == 0 {
        let reason = EnrollmentFailure::TooManyAttempts;
        return Ok(CodeStep::Exhausted(failed(enrollment, reason, now)));
    }
    let code = enrollment.state.code.clone();
    Ok(CodeStep::Wrong(enrollment.with_state(CodeSent {
        code,
        attempts_left,
    })))
}

/// The right code was typed at `now`: it is used up, and the account is to be made.
pub(crate) fn accepted(
    enrollment: Enrollment<CodeSent>,
    now: Timestamp,
) -> Enrollment<CodeAccepted> {
    enrollment.with_state(CodeAccepted { accepted_at: now })
}

/// The account was made at `now`.
pub(crate) fn enrolled(
    enrollment: Enrollment<CodeAccepted>,
    now: Timestamp,
) -> Enrollment<Enrolled> {
    enrollment.with_state(Enrolled { enrolled_at: now })
}

/// `enrollment` failed for `reason` at `now`.
pub(crate) fn failed<S: EnrollmentState>(
    enrollment: Enrollment<S>,
    reason: EnrollmentFailure,
    now: Timestamp,
) -> Enrollment<EnrollmentFailed> {
    enrollment.with_state(EnrollmentFailed {
        reason,
        failed_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretKey;

    const T0: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);

    #[test]
    fn the_code_is_bound_to_the_enrollment_and_the_number() {
        let keys = Keys::new(1, SecretKey::from_bytes([4; 32]));
        let code: OtpCode = "482913".parse().unwrap();
        let phone: PhoneNumber = "+33612345678".parse().unwrap();
        let policy = Policy::default();
        let first = started(phone.clone(), &code, T0, &keys, &policy);
        assert_eq!(first.expires_at(), T0.saturating_add(policy.code_ttl));
        let moved = with_new_id(started(phone, &code, T0, &keys, &policy), &code, &keys);
        assert_ne!(first.state.code.tag, moved.state.code.tag);
        let other: PhoneNumber = "+33611223344".parse().unwrap();
        let elsewhere = started(other, &code, T0, &keys, &policy);
        assert_ne!(first.state.code.tag, elsewhere.state.code.tag);
        assert!(matches!(
            code_typed(moved, &code, T0, &keys),
            Ok(CodeStep::Right(_))
        ));
    }

    #[test]
    fn wrong_codes_count_down_then_fail() {
        let keys = Keys::new(1, SecretKey::from_bytes([4; 32]));
        let code: OtpCode = "482913".parse().unwrap();
        let wrong: OtpCode = "482914".parse().unwrap();
        let phone: PhoneNumber = "+33612345678".parse().unwrap();
        let mut enrollment = started(phone, &code, T0, &keys, &Policy::default());
        for left in [2, 1] {
            let Ok(CodeStep::Wrong(next)) = code_typed(enrollment, &wrong, T0, &keys) else {
                panic!()
            };
            assert_eq!(next.attempts_left(), left);
            enrollment = next;
        }
        let Ok(CodeStep::Exhausted(done)) = code_typed(enrollment, &wrong, T0, &keys) else {
            panic!()
        };
        assert_eq!(done.state().reason(), EnrollmentFailure::TooManyAttempts);
    }
}
