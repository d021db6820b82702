//! The commands of the system under test that take more than one call.

use buyster::testkit::block_on;
use buyster::{
    Amount, CodeCheck, Confirmed, Currency, EnrollmentCheck, EnrollmentId, Exemption,
    FundingSource, Initiated, OtpSent, PaymentId, PhoneNumber, PinChange, PinCheck, PinVerified,
    RefundReason,
};

use super::reference::{Code, Expect};
use super::system::{PINS, System, WEAK_PIN, observe};
use crate::common::{IBAN, other_code, pin};

impl System {
    pub(super) fn enroll(&mut self, number: usize) -> Expect {
        let funding: FundingSource = IBAN.parse().unwrap();
        let phone = &self.phones[number];
        let answer = block_on(self.engine.enroll(phone, &pin(PINS[0]), funding));
        observe(answer, |()| {
            self.pins[number] = 0;
            Expect::Ok
        })
    }

    pub(super) fn start_enrollment(&mut self, number: usize) -> Expect {
        let answer = block_on(self.engine.start_enrollment(&self.phones[number]));
        observe(answer, |enrollment| {
            self.enrollments.push(enrollment.id());
            Expect::Ok
        })
    }

    pub(super) fn finish_enrollment(&mut self, e: usize, right: bool, weak_pin: bool) -> Expect {
        let id = self.enrollments[e];
        let digits = if weak_pin { WEAK_PIN } else { PINS[0] };
        let sent = self.sms.last_code_for_enrollment(id).unwrap();
        let code = if right { sent } else { other_code(&sent) };
        let answer = block_on(async {
            let enrollment = self.engine.resume_enrollment(id).await?;
            let funding = IBAN.parse().unwrap();
            let pin = pin(digits);
            self.engine
                .finish_enrollment(enrollment, &code, &pin, funding)
                .await
        });
        let number = self
            .phones
            .iter()
            .position(|p| Some(p) == self.enrolled_phone(id));
        observe(answer, |check| match check {
            EnrollmentCheck::Enrolled(_) => {
                self.pins[number.unwrap()] = 0;
                Expect::Ok
            }
            EnrollmentCheck::Rejected { attempts_left, .. } => Expect::Rejected(attempts_left),
        })
    }

    pub(super) fn enrolled_phone(&self, id: EnrollmentId) -> Option<&PhoneNumber> {
        let any = block_on(self.engine.load_enrollment(id)).ok()?;
        self.phones.iter().find(|p| *p == any.phone())
    }

    pub(super) fn change_pin(&mut self, number: usize, right: bool) -> Expect {
        let old = pin(self.pin_of(number, right));
        let new = pin(PINS[1 - self.pins[number]]);
        let answer = block_on(self.engine.change_pin(&self.phones[number], &old, &new));
        observe(answer, |change| match change {
            PinChange::Changed => {
                self.pins[number] = 1 - self.pins[number];
                Expect::Ok
            }
            PinChange::Rejected { attempts_left, .. } => Expect::Rejected(attempts_left),
        })
    }

    pub(super) fn reset_pin(&mut self, number: usize) -> Expect {
        let new = pin(PINS[1 - self.pins[number]]);
        let answer = block_on(
            self.engine
                .back_office()
                .reset_pin(&self.phones[number], &new),
        );
        observe(answer, |()| {
            self.pins[number] = 1 - self.pins[number];
            Expect::Ok
        })
    }

    pub(super) fn verify_pin(&mut self, payment: usize, right: bool) -> Expect {
        let id = self.ids[payment];
        let number = self.number_of(id);
        let digits = self.pin_of(number, right);
        let result = block_on(async {
            let p = self.engine.resume::<Initiated>(id).await?;
            self.engine.verify_pin(p, &pin(digits)).await
        });
        observe(result, |check| match check {
            PinCheck::Verified(_) => Expect::Ok,
            PinCheck::Rejected { attempts_left, .. } => Expect::Rejected(attempts_left),
        })
    }

    pub(super) fn number_of(&self, id: PaymentId) -> usize {
        let any = block_on(self.engine.load(id)).unwrap();
        self.phones.iter().position(|p| p == any.phone()).unwrap()
    }

    pub(super) fn authorize_exempt(&mut self, payment: usize) -> Expect {
        let result = block_on(async {
            let p = self.engine.resume::<PinVerified>(self.ids[payment]).await?;
            let Exemption::Ticket(ticket) = p.exemption() else {
                return Ok(Expect::NotExempt);
            };
            let authorized = self.engine.authorize_exempt(ticket).await?;
            self.engine.settle(authorized).await.map(|_| Expect::Ok)
        });
        observe(result, |answer| answer)
    }

    pub(super) fn confirm(&mut self, payment: usize, code: Code) -> Expect {
        let id = self.ids[payment];
        let result = block_on(async {
            let p = self.engine.resume::<OtpSent>(id).await?;
            let typed = self.typed_code(payment, code);
            self.engine.confirm(p, &typed).await
        });
        observe(result, |check| match check {
            CodeCheck::Confirmed(_) => Expect::Ok,
            CodeCheck::Rejected { attempts_left, .. } => Expect::Rejected(attempts_left),
        })
    }

    pub(super) fn refund(&mut self, payment: usize, key: u8, amount: u64) -> Expect {
        let result = block_on(async {
            let p = self.engine.resume::<Confirmed>(self.ids[payment]).await?;
            let key = format!("k{key}").parse().unwrap();
            let amount = Amount::new(amount, Currency::EUR).unwrap();
            self.engine
                .refund(p, amount, RefundReason::Returned, &key)
                .await
        });
        observe(result, |_| Expect::Ok)
    }
}
