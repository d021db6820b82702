//! The typestate enrollment: one generic [`Enrollment<S>`], one struct per state.
//!
//! ```text
//!   start_enrollment(phone) ──SMS code──▶ CodeSent ──right code──▶ Accepted ──account made──▶ Enrolled
//!                                            │ ▲ wrong code                  │
//!                                            │ └─────────┘                   └──number enrolled──▶ Failed
//!                                            └──(expiry, too many codes)──────────────────────────▶ Failed
//! ```
//!
//! A right code is first stored as `Accepted`, by compare-and-swap at the version the code was
//! checked against, and only then is the account made: of two calls racing with the same code,
//! or of a call holding a stale copy of an enrollment that failed meanwhile, at most one makes
//! an account.

mod record;
pub(crate) mod steps;

use core::fmt;

pub(crate) use record::{EnrollmentRecord, decode, due_at, encode, kept_until};

use crate::error::EnrollmentKind;
use crate::host::{Key, Version};
use crate::ids::EnrollmentId;
use crate::keys::KeyedTag;
use crate::phone::PhoneNumber;
use crate::time::Timestamp;

/// An enrollment in state `S`: proof, in progress, that someone holds a phone number, before an
/// account is made for it. Only the engine makes one.
///
/// Between the two HTTP requests of an enrollment keep only its [`id`](Enrollment::id), and
/// get it back with [`Engine::resume_enrollment`](crate::Engine::resume_enrollment).
///
/// ```compile_fail
/// # use buyster::{*, memory::*};
/// # async fn f(engine: &Engine<MemoryStore, MemorySms, MemoryBank>,
/// #     enrollment: Enrollment<Enrolled>, code: &OtpCode, pin: &Pin, funding: FundingSource)
/// #     -> Result<(), Error> {
/// // finish_enrollment needs an enrollment whose code was sent and not yet used
/// let again = engine.finish_enrollment(enrollment, code, pin, funding).await?;
/// # Ok(()) }
/// ```
pub struct Enrollment<S: EnrollmentState> {
    head: Head,
    state: S,
}

/// The fields every state of an enrollment shares: which number, when, and the version the
/// enrollment was read at.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) id: EnrollmentId,
    /// The store key of the enrollment, made once.
    pub(crate) key: Key,
    pub(crate) phone: PhoneNumber,
    pub(crate) created_at: Timestamp,
    pub(crate) expires_at: Timestamp,
    pub(crate) version: Version,
}

impl Head {
    /// The enrollment this head starts, in `state`.
    pub(crate) fn with<S: EnrollmentState>(self, state: S) -> Enrollment<S> {
        Enrollment { head: self, state }
    }
}

impl<S: EnrollmentState> fmt::Debug for Enrollment<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = &self.head;
        f.debug_struct("Enrollment")
            .field("id", &head.id)
            .field("key", &head.key)
            .field("phone", &head.phone)
            .field("created_at", &head.created_at)
            .field("expires_at", &head.expires_at)
            .field("version", &head.version)
            .field("state", &self.state)
            .finish()
    }
}

/// The states an [`Enrollment`] can be in. Sealed.
pub trait EnrollmentState: sealed::Sealed + fmt::Debug + Send + Sync + Sized + 'static {
    /// The state as a plain value.
    const KIND: EnrollmentKind;
}

pub(crate) mod sealed {
    use super::{AnyEnrollment, Enrollment, EnrollmentState};

    /// Keeps [`EnrollmentState`] closed, and converts to and from the dynamic
    /// [`AnyEnrollment`]: the one conversion each way.
    pub trait Sealed {
        /// The enrollment if `any` is in this state.
        fn from_any(any: AnyEnrollment) -> Option<Enrollment<Self>>
        where
            Self: EnrollmentState;

        /// `enrollment` as the dynamic enum.
        fn into_any(enrollment: Enrollment<Self>) -> AnyEnrollment
        where
            Self: EnrollmentState;
    }
}

/// The code was sent by SMS to the number; waiting for the applicant to type it.
#[derive(Debug)]
pub struct CodeSent {
    /// The tag of the code, bound to the enrollment and the number.
    pub(crate) code: KeyedTag,
    pub(crate) attempts_left: u8,
}

impl CodeSent {
    /// Wrong codes the enrollment may still receive; the last one fails it.
    #[must_use]
    pub fn attempts_left(&self) -> u8 {
        self.attempts_left
    }
}

/// The code was right and is used up: the account is being made by the call that typed it.
/// Terminal when that call failed before the end; see
/// [`Engine::finish_enrollment`](crate::Engine::finish_enrollment).
#[derive(Debug)]
pub struct CodeAccepted {
    pub(crate) accepted_at: Timestamp,
}

impl CodeAccepted {
    /// When the right code was typed.
    #[must_use]
    pub fn accepted_at(&self) -> Timestamp {
        self.accepted_at
    }
}

/// The number was proven and its account made. Terminal.
#[derive(Debug)]
pub struct Enrolled {
    pub(crate) enrolled_at: Timestamp,
}

impl Enrolled {
    /// When the account was made.
    #[must_use]
    pub fn enrolled_at(&self) -> Timestamp {
        self.enrolled_at
    }
}

/// The enrollment ended without an account. Terminal.
#[derive(Debug)]
pub struct EnrollmentFailed {
    pub(crate) reason: EnrollmentFailure,
    pub(crate) failed_at: Timestamp,
}

impl EnrollmentFailed {
    /// Why it failed.
    #[must_use]
    pub fn reason(&self) -> EnrollmentFailure {
        self.reason
    }

    /// When it failed.
    #[must_use]
    pub fn failed_at(&self) -> Timestamp {
        self.failed_at
    }
}

/// Why an enrollment failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EnrollmentFailure {
    /// Its code was not typed in time.
    Expired,
    /// The last allowed code attempt was wrong.
    TooManyAttempts,
    /// The right code was typed, but the number already has an account.
    AlreadyEnrolled,
}

impl fmt::Display for EnrollmentFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Expired => "expired",
            Self::TooManyAttempts => "too many wrong codes",
            Self::AlreadyEnrolled => "the number is already enrolled",
        })
    }
}

impl<S: EnrollmentState> Enrollment<S> {
    /// The enrollment's id.
    #[must_use]
    pub fn id(&self) -> EnrollmentId {
        self.head.id
    }

    /// The number being enrolled. Its `Debug` is masked.
    #[must_use]
    pub fn phone(&self) -> &PhoneNumber {
        &self.head.phone
    }

    /// The state's own data.
    #[must_use]
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The state as a plain value.
    #[must_use]
    pub fn kind(&self) -> EnrollmentKind {
        S::KIND
    }

    /// When `start_enrollment` created it.
    #[must_use]
    pub fn created_at(&self) -> Timestamp {
        self.head.created_at
    }

    /// When its code, and the enrollment with it, expire.
    #[must_use]
    pub fn expires_at(&self) -> Timestamp {
        self.head.expires_at
    }

    pub(crate) fn key(&self) -> &Key {
        &self.head.key
    }

    pub(crate) fn version(&self) -> Version {
        self.head.version
    }

    pub(crate) fn with_version(mut self, version: Version) -> Self {
        self.head.version = version;
        self
    }

    pub(crate) fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.head.expires_at
    }

    /// The same enrollment in another state, still at the version it was read with.
    pub(crate) fn with_state<T: EnrollmentState>(self, state: T) -> Enrollment<T> {
        self.head.with(state)
    }
}

impl Enrollment<CodeSent> {
    /// Wrong codes the enrollment may still receive; the last one fails it.
    #[must_use]
    pub fn attempts_left(&self) -> u8 {
        self.state.attempts_left
    }
}

/// An enrollment in whatever state it is stored in.
#[derive(Debug)]
#[allow(
    clippy::exhaustive_enums,
    reason = "one variant per state: a new state is a new step every host must handle"
)]
pub enum AnyEnrollment {
    /// Waiting for the code.
    CodeSent(Enrollment<CodeSent>),
    /// The code was right; the account is being made, or its making failed.
    Accepted(Enrollment<CodeAccepted>),
    /// The account was made.
    Enrolled(Enrollment<Enrolled>),
    /// Ended without an account.
    Failed(Enrollment<EnrollmentFailed>),
}

impl AnyEnrollment {
    /// The state as a plain value.
    #[must_use]
    pub fn kind(&self) -> EnrollmentKind {
        match self {
            Self::CodeSent(_) => EnrollmentKind::CodeSent,
            Self::Accepted(_) => EnrollmentKind::Accepted,
            Self::Enrolled(_) => EnrollmentKind::Enrolled,
            Self::Failed(_) => EnrollmentKind::Failed,
        }
    }

    /// The enrollment's id.
    #[must_use]
    pub fn id(&self) -> EnrollmentId {
        match self {
            Self::CodeSent(e) => e.id(),
            Self::Accepted(e) => e.id(),
            Self::Enrolled(e) => e.id(),
            Self::Failed(e) => e.id(),
        }
    }

    /// The number being enrolled. Its `Debug` is masked.
    #[must_use]
    pub fn phone(&self) -> &PhoneNumber {
        match self {
            Self::CodeSent(e) => e.phone(),
            Self::Accepted(e) => e.phone(),
            Self::Enrolled(e) => e.phone(),
            Self::Failed(e) => e.phone(),
        }
    }
}

/// The answer to [`Engine::finish_enrollment`](crate::Engine::finish_enrollment).
#[derive(Debug)]
#[allow(
    clippy::exhaustive_enums,
    reason = "the two answers to a code: a host handles each"
)]
pub enum EnrollmentCheck {
    /// The code was right: the account is made, and pays from now on.
    Enrolled(Enrollment<Enrolled>),
    /// The code was wrong; `attempts_left` more wrong codes fail the enrollment (at least 1).
    Rejected {
        /// The enrollment: ask for the code again.
        enrollment: Enrollment<CodeSent>,
        /// Wrong codes left.
        attempts_left: u8,
    },
}

macro_rules! state {
    ($state:ident, $variant:ident) => {
        impl EnrollmentState for $state {
            const KIND: EnrollmentKind = EnrollmentKind::$variant;
        }

        impl sealed::Sealed for $state {
            fn from_any(any: AnyEnrollment) -> Option<Enrollment<Self>> {
                match any {
                    AnyEnrollment::$variant(enrollment) => Some(enrollment),
                    _ => None,
                }
            }

            fn into_any(enrollment: Enrollment<Self>) -> AnyEnrollment {
                AnyEnrollment::$variant(enrollment)
            }
        }
    };
}

state!(CodeSent, CodeSent);
state!(CodeAccepted, Accepted);
state!(Enrolled, Enrolled);
state!(EnrollmentFailed, Failed);
