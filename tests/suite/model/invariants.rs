//! What must hold after every step: the stored state is the model's.

use buyster::testkit::block_on;
use buyster::{AnyEnrollment, AnyPayment, EnrollmentKind, Error, RefundStatus};

use super::reference::Model;
use super::system::{SECRETS, System, reason};
use crate::common::order;

/// Payments as stored, the debits and the SMS.
pub fn payments(system: &System, model: &Model) {
    assert_eq!(system.ids().len(), model.payments.len());
    for (p, expected) in model.payments.iter().enumerate() {
        let stored = system.stored(p);
        // Stored state is the model's: terminal states absorb, counters lose nothing.
        assert_eq!(stored.kind(), expected.state, "payment {p}");
        // The payment's data never changes between initiate and debit.
        assert_eq!(stored.order(), &order(expected.amount), "payment {p}");
        assert_eq!(
            stored.phone(),
            &system.phones()[expected.number],
            "payment {p}"
        );
        match stored {
            AnyPayment::OtpSent(payment) => {
                assert_eq!(
                    payment.attempts_left(),
                    expected.attempts_left,
                    "payment {p}"
                );
                assert_eq!(payment.resends_left(), expected.resends_left, "payment {p}");
            }
            AnyPayment::Failed(payment) => {
                assert_eq!(
                    Some(reason(payment.reason())),
                    expected.reason,
                    "payment {p}"
                );
            }
            AnyPayment::Confirmed(payment) => {
                assert_eq!(payment.receipt().amount(), order(expected.amount).amount());
                assert_eq!(
                    payment.receipt().low_value_exempt(),
                    expected.authorized_by_exemption,
                    "payment {p}"
                );
            }
            _ => {}
        }
    }
    // At most one debit per payment, only after its own right code or its exemption, for its
    // own amount.
    let debits = system.bank().debits();
    assert_eq!(debits.len(), model.debits);
    for debit in &debits {
        let p = system
            .ids()
            .iter()
            .position(|id| *id == debit.payment_id())
            .unwrap();
        let payment = &model.payments[p];
        assert!(
            payment.authorized_by_code || payment.authorized_by_exemption,
            "payment {p} debited without its code or an exemption"
        );
        assert_eq!(debit.amount(), order(payment.amount).amount());
        let same = debits
            .iter()
            .filter(|d| d.payment_id() == debit.payment_id());
        assert_eq!(same.count(), 1);
    }
    // Never more SMS than the policy allows, and exactly those the model sent.
    let sent = system.sms().sent();
    for (number, phone) in system.phones().iter().enumerate() {
        let to_number = sent.iter().filter(|sms| sms.to() == phone).count();
        assert_eq!(to_number, model.delivered[number], "SMS to number {number}");
    }
    for (p, id) in system.ids().iter().enumerate() {
        let for_payment = sent.iter().filter(|sms| sms.payment_id() == *id).count();
        assert!(for_payment <= 4, "payment {p}: {for_payment} SMS");
    }
}

/// Refunds as stored and as the bank made them.
pub fn money(system: &System, model: &Model) {
    for (p, expected) in model.payments.iter().enumerate() {
        let stored = system.refunds(p);
        let wanted: Vec<(String, u64, RefundStatus)> = expected
            .refunds
            .iter()
            .map(|r| {
                let status = match r.status {
                    None => RefundStatus::Pending,
                    Some(Ok(())) => RefundStatus::Refunded,
                    Some(Err(reason)) => RefundStatus::Declined(reason),
                };
                (format!("k{}", r.key), r.amount, status)
            })
            .collect();
        assert_eq!(stored, wanted, "refunds of payment {p}");
    }
    let refunds = system.bank().refunds();
    assert_eq!(refunds.len(), model.refunds);
    for (p, id) in system.ids().iter().enumerate() {
        let total: u64 = refunds
            .iter()
            .filter(|r| r.payment_id() == *id)
            .map(|r| r.amount().minor_units())
            .sum();
        assert!(
            total <= model.payments[p].amount,
            "payment {p} refunded {total}"
        );
    }
}

/// Accounts, enrollments, and the audit trail.
pub fn numbers(system: &System, model: &Model) {
    for (n, phone) in system.phones().iter().enumerate() {
        let expected = &model.numbers[n];
        // PSD2 RTS art. 16: at most 5 payments, EUR 100 in all, without a code between two
        // payments authorized by their code.
        let total: u64 = expected
            .without_code
            .iter()
            .map(|p| model.payments[*p].amount)
            .sum();
        assert!(
            expected.without_code.len() <= 5 && total <= 10_000,
            "number {n}: {:?} without a code since the last code",
            expected.without_code
        );
        match block_on(system.engine().back_office().account(phone)) {
            Ok(details) => {
                assert!(expected.enrolled, "number {n}");
                assert_eq!(details.status(), expected.status, "number {n}");
            }
            Err(Error::NotEnrolled) => assert!(!expected.enrolled, "number {n}"),
            Err(other) => panic!("number {n}: {other}"),
        }
    }
    assert_eq!(system.enrollment_ids().len(), model.enrollments.len());
    for (e, (id, expected)) in system
        .enrollment_ids()
        .iter()
        .zip(&model.enrollments)
        .enumerate()
    {
        let stored = block_on(system.engine().load_enrollment(*id)).unwrap();
        assert_eq!(stored.kind(), expected.state, "enrollment {e}");
        match stored {
            AnyEnrollment::CodeSent(waiting) => {
                assert_eq!(
                    waiting.attempts_left(),
                    expected.attempts_left,
                    "enrollment {e}"
                );
            }
            AnyEnrollment::Failed(failed) => {
                assert_eq!(
                    Some(failed.state().reason()),
                    expected.reason,
                    "enrollment {e}"
                );
            }
            AnyEnrollment::Enrolled(_) => assert_eq!(expected.state, EnrollmentKind::Enrolled),
            // Only a storage error leaves an enrollment accepted, and the model injects none.
            AnyEnrollment::Accepted(_) => panic!("enrollment {e} left accepted"),
        }
    }
    // No event shows a PIN or a full number.
    for event in system.events().events() {
        // Ids are 32 random hex digits, which may hold a PIN's six by chance: left out.
        let ids = (event.payment_id().map(|id| id.to_string()))
            .into_iter()
            .chain(event.enrollment_id().map(|id| id.to_string()))
            .chain([event.id().to_string()]);
        let text = ids.fold(format!("{event} {event:?}"), |text, id| {
            text.replace(&id, "<id>")
        });
        for secret in SECRETS
            .iter()
            .chain(&["612345678", "611223344", "698765432"])
        {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}
