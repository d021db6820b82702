//! The model of the payment flow: initiate, PIN, code, settle, cancel, recover.

use std::collections::HashMap;

use buyster::memory::BankFault;
use buyster::{SpendingLimit, StateKind};

use super::ledger::PER_PAYMENT;

use super::reference::{
    CODE_ATTEMPTS, CODE_TTL, COOLDOWN, Expect, Model, PAYMENT_TTL, Payment, RESENDS, Reason,
    wrong_pin,
};

impl Model {
    /// Payment `p` fails; its share of the limits comes back.
    pub fn fail(&mut self, p: usize, reason: Reason) {
        self.payments[p].state = StateKind::Failed;
        self.payments[p].reason = Some(reason);
        let number = &mut self.numbers[self.payments[p].number];
        number.guard.release(p);
        number.without_code.retain(|q| *q != p);
    }

    pub fn expired(&self, p: usize) -> bool {
        self.now >= self.payments[p].expires_at
    }

    /// The check `resume::<S>` makes.
    pub fn resume(&self, p: usize, expected: StateKind) -> Result<(), Expect> {
        let found = self.payments[p].state;
        if found == expected {
            Ok(())
        } else {
            Err(Expect::WrongState(expected, found))
        }
    }

    /// `Expired` once the payment is failed, when it is past its time to live.
    pub fn not_expired(&mut self, p: usize) -> Result<(), Expect> {
        if self.expired(p) {
            self.fail(p, Reason::Expired);
            return Err(Expect::Expired);
        }
        Ok(())
    }

    pub fn initiate(&mut self, number: usize, amount: u64) -> Expect {
        // The per-payment limit is the policy's, the same for every number: refused before
        // anything is stored.
        if amount > PER_PAYMENT {
            return Expect::LimitExceeded(SpendingLimit::PerPayment, None);
        }
        self.payments.push(Payment {
            number,
            amount,
            state: StateKind::Initiated,
            reason: None,
            expires_at: self.now + PAYMENT_TTL,
            attempts_left: 0,
            resends_left: 0,
            code_expires_at: 0,
            last_sent: 0,
            authorized_by_code: false,
            authorized_by_exemption: false,
            sms_counted: false,
            exempt: false,
            ledger: None,
            refunds: Vec::new(),
            refund_ledger: HashMap::new(),
        });
        Expect::Ok
    }

    pub fn verify_pin(&mut self, p: usize, right: bool) -> Expect {
        if let Err(e) = self
            .resume(p, StateKind::Initiated)
            .and_then(|()| self.not_expired(p))
        {
            return e;
        }
        let (now, amount, expires_at) = (
            self.now,
            self.payments[p].amount,
            self.payments[p].expires_at,
        );
        let n = &mut self.numbers[self.payments[p].number];
        if let Err(e) = n.guard.check_open(now) {
            return e;
        }
        if !(right && n.pays()) {
            return wrong_pin(&mut n.guard, now);
        }
        n.guard.clear();
        let exempt = match n.guard.reserve(p, amount, now, expires_at) {
            Ok(exempt) => exempt,
            Err(refusal) => return refusal,
        };
        // The same write counts the SMS to come, when one is needed and the window has room.
        let counted = !exempt && n.guard.count_sms(now).is_ok();
        let payment = &mut self.payments[p];
        payment.state = StateKind::PinVerified;
        payment.sms_counted = counted;
        payment.exempt = exempt;
        Expect::Ok
    }

    /// Counts an SMS in the number's window (unless `counted`) and hands it to the gateway.
    pub fn dispatch(&mut self, number: usize, counted: bool) -> Result<(), Expect> {
        if !counted {
            self.numbers[number].guard.count_sms(self.now)?;
        }
        if self.sms_faults > 0 {
            self.sms_faults -= 1;
            return Err(Expect::Sms);
        }
        self.delivered[number] += 1;
        Ok(())
    }

    pub fn send_code(&mut self, p: usize) -> Expect {
        if let Err(e) = self
            .resume(p, StateKind::PinVerified)
            .and_then(|()| self.not_expired(p))
        {
            return e;
        }
        let counted = self.payments[p].sms_counted;
        if let Err(e) = self.dispatch(self.payments[p].number, counted) {
            // Put back as `PinVerified`, on the code's path now; a counted SMS stays counted.
            self.payments[p].exempt = false;
            if e == Expect::Sms {
                self.payments[p].sms_counted = false;
            }
            return e;
        }
        let now = self.now;
        let payment = &mut self.payments[p];
        payment.state = StateKind::OtpSent;
        payment.attempts_left = CODE_ATTEMPTS;
        payment.resends_left = RESENDS;
        payment.last_sent = now;
        payment.code_expires_at = (now + CODE_TTL).min(payment.expires_at);
        Expect::Ok
    }

    pub fn resend(&mut self, p: usize) -> Expect {
        if let Err(e) = self
            .resume(p, StateKind::OtpSent)
            .and_then(|()| self.not_expired(p))
        {
            return e;
        }
        let payment = &self.payments[p];
        if payment.resends_left == 0 {
            return Expect::ResendLimit;
        }
        if self.now < payment.last_sent + COOLDOWN {
            return Expect::ResendTooSoon(payment.last_sent + COOLDOWN);
        }
        if let Err(e) = self.dispatch(payment.number, false) {
            return e;
        }
        let now = self.now;
        let payment = &mut self.payments[p];
        payment.resends_left -= 1;
        payment.last_sent = now;
        payment.code_expires_at = (now + CODE_TTL).min(payment.expires_at);
        Expect::Ok
    }

    pub fn confirm(&mut self, p: usize, right: bool) -> Expect {
        if let Err(e) = self
            .resume(p, StateKind::OtpSent)
            .and_then(|()| self.not_expired(p))
        {
            return e;
        }
        if self.now >= self.payments[p].code_expires_at {
            return Expect::Expired;
        }
        if right {
            self.payments[p].state = StateKind::Authorized;
            self.payments[p].authorized_by_code = true;
            // A full authentication: the exemption's streak starts again, with the tickets
            // that may still be used.
            let pending: Vec<usize> = (0..self.payments.len())
                .filter(|q| {
                    matches!(
                        self.payments[*q].state,
                        StateKind::Initiated | StateKind::PinVerified
                    )
                })
                .collect();
            let (number, now) = (self.payments[p].number, self.now);
            self.numbers[number].guard.end_streak(p, now, &pending);
            self.numbers[number].without_code.clear();
            return self.settle_now(p);
        }
        let payment = &mut self.payments[p];
        payment.attempts_left -= 1;
        if payment.attempts_left == 0 {
            self.fail(p, Reason::TooManyAttempts);
            return Expect::TooManyAttempts;
        }
        Expect::Rejected(payment.attempts_left)
    }

    /// The bank call of an authorized payment, as the memory bank plays it.
    pub fn settle_now(&mut self, p: usize) -> Expect {
        let fault = self.bank_faults.pop_front();
        let first = self.payments[p].ledger;
        let outcome = match (fault, first) {
            (Some(BankFault::Unavailable), _) => return Expect::Bank,
            (Some(BankFault::AppliedButUnavailable), None) => {
                self.payments[p].ledger = Some(Ok(()));
                self.debits += 1;
                return Expect::Bank;
            }
            (Some(BankFault::AppliedButUnavailable), Some(_)) => return Expect::Bank,
            (Some(BankFault::Decline(reason)), None) => Err(reason),
            (_, Some(decided)) => decided,
            (None, None) => {
                self.debits += 1;
                Ok(())
            }
            (Some(_), None) => unreachable!("no other fault"),
        };
        self.payments[p].ledger = Some(outcome);
        match outcome {
            Ok(()) => {
                self.payments[p].state = StateKind::Confirmed;
                Expect::Ok
            }
            Err(reason) => {
                self.fail(p, Reason::Declined(reason));
                Expect::Declined(reason)
            }
        }
    }

    pub fn cancel(&mut self, p: usize) -> Expect {
        match self.payments[p].state {
            StateKind::Initiated | StateKind::PinVerified | StateKind::OtpSent => {
                let reason = if self.expired(p) {
                    Reason::Expired
                } else {
                    Reason::Cancelled
                };
                self.fail(p, reason);
                Expect::Ok
            }
            StateKind::Failed => Expect::Ok,
            found => Expect::WrongState(StateKind::OtpSent, found),
        }
    }

    pub fn recover(&mut self, p: usize) -> Expect {
        match self.payments[p].state {
            StateKind::Authorized => {
                let _ = self.settle_now(p);
            }
            StateKind::Initiated | StateKind::PinVerified | StateKind::OtpSent
                if self.expired(p) =>
            {
                self.fail(p, Reason::Expired);
            }
            StateKind::Confirmed => {
                // Each pending refund asked again, in the order they were made.
                let pending: Vec<u8> = self.payments[p]
                    .refunds
                    .iter()
                    .filter(|r| r.status.is_none())
                    .map(|r| r.key)
                    .collect();
                for key in pending {
                    let _ = self.ask_bank(p, key);
                }
            }
            _ => {}
        }
        Expect::Ok
    }
}
