//! The model of enrollment and of an account's life.

use buyster::{AccountStatus, EnrollmentFailure, EnrollmentKind};

use super::reference::{CODE_ATTEMPTS, CODE_TTL, Enrollment, Expect, Model, wrong_pin};

impl Model {
    /// `enroll`: a new account with the first PIN, in place of a closed one too.
    pub fn enroll(&mut self, number: usize) -> Expect {
        let n = &mut self.numbers[number];
        if n.holds_account() {
            return Expect::AlreadyEnrolled;
        }
        (n.enrolled, n.status, n.pin) = (true, AccountStatus::Active, 0);
        Expect::Ok
    }

    /// `start_enrollment`: the lock refuses, the enrollment window counts, then the SMS goes.
    pub fn start_enrollment(&mut self, number: usize) -> Expect {
        let now = self.now;
        let guard = &mut self.numbers[number].guard;
        if let Err(e) = guard
            .check_open(now)
            .and_then(|()| guard.count_enrollment_sms(now))
        {
            return e;
        }
        if let Err(e) = self.dispatch(number, true) {
            return e; // the enrollment exists, but nobody can reach it
        }
        self.enrollments.push(Enrollment {
            number,
            state: EnrollmentKind::CodeSent,
            reason: None,
            attempts_left: CODE_ATTEMPTS,
            expires_at: now + CODE_TTL,
        });
        Expect::Ok
    }

    /// `finish_enrollment` with the right code or a wrong one, and a PIN weak or not.
    pub fn finish_enrollment(&mut self, e: usize, right: bool, weak_pin: bool) -> Expect {
        let found = self.enrollments[e].state;
        if found != EnrollmentKind::CodeSent {
            return Expect::WrongEnrollmentState(EnrollmentKind::CodeSent, found);
        }
        if weak_pin {
            return Expect::WeakPin;
        }
        if self.now >= self.enrollments[e].expires_at {
            self.end_enrollment(e, EnrollmentFailure::Expired);
            return Expect::Expired;
        }
        let now = self.now;
        let n = &mut self.numbers[self.enrollments[e].number];
        if let Err(locked) = n.guard.check_open(now) {
            return locked;
        }
        if right && n.holds_account() {
            self.end_enrollment(e, EnrollmentFailure::AlreadyEnrolled);
            return Expect::AlreadyEnrolled;
        }
        if right {
            (n.enrolled, n.status, n.pin) = (true, AccountStatus::Active, 0);
            self.enrollments[e].state = EnrollmentKind::Enrolled;
            return Expect::Ok;
        }
        let counted = wrong_pin(&mut n.guard, now);
        let enrollment = &mut self.enrollments[e];
        enrollment.attempts_left -= 1;
        if enrollment.attempts_left == 0 {
            self.end_enrollment(e, EnrollmentFailure::TooManyAttempts);
            return Expect::TooManyAttempts;
        }
        match counted {
            Expect::Rejected(_) => Expect::Rejected(enrollment.attempts_left),
            locked => locked,
        }
    }

    fn end_enrollment(&mut self, e: usize, reason: EnrollmentFailure) {
        self.enrollments[e].state = EnrollmentKind::Failed;
        self.enrollments[e].reason = Some(reason);
    }

    /// `change_pin` with the right old PIN or a wrong one: counted like a checkout's.
    pub fn change_pin(&mut self, number: usize, right: bool) -> Expect {
        let now = self.now;
        let n = &mut self.numbers[number];
        if let Err(e) = n.guard.check_open(now) {
            return e;
        }
        if !(right && n.pays()) {
            return wrong_pin(&mut n.guard, now);
        }
        n.guard.clear();
        n.pin = 1 - n.pin;
        Expect::Ok
    }

    /// `reset_pin`: the other PIN, and the lock lifted.
    pub fn reset_pin(&mut self, number: usize) -> Expect {
        let n = &mut self.numbers[number];
        match (n.enrolled, n.status) {
            (false, _) => Expect::NotEnrolled,
            (true, AccountStatus::Closed) => Expect::AccountClosed,
            (true, _) => {
                n.pin = 1 - n.pin;
                n.guard.clear();
                Expect::Ok
            }
        }
    }

    /// `unlock`: for any number but a closed account's.
    pub fn unlock(&mut self, number: usize) -> Expect {
        let n = &mut self.numbers[number];
        if n.enrolled && n.status == AccountStatus::Closed {
            return Expect::AccountClosed;
        }
        n.guard.clear();
        Expect::Ok
    }

    /// `set_status`: nothing reopens a closed account.
    pub fn set_status(&mut self, number: usize, status: AccountStatus) -> Expect {
        let n = &mut self.numbers[number];
        if !n.enrolled {
            return Expect::NotEnrolled;
        }
        if n.status == status {
            return Expect::Ok;
        }
        if n.status == AccountStatus::Closed {
            return Expect::AccountClosed;
        }
        n.status = status;
        Expect::Ok
    }
}
