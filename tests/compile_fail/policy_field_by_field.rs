//! error: E0063
// A policy is built from its default, so that a limit added later breaks no host: listing
// every field of today leaves out the one that keeps it open.
use core::time::Duration;

use buyster::{Currency, Policy};

fn policy() -> Policy {
    Policy {
        max_pin_failures: 3,
        pin_lock: Duration::from_secs(15 * 60),
        max_pin_locks: 5,
        min_pin_digits: 6,
        max_pin_digits: 6,
        max_code_attempts: 3,
        code_digits: 6,
        code_ttl: Duration::from_secs(5 * 60),
        payment_ttl: Duration::from_secs(15 * 60),
        resend_cooldown: Duration::from_secs(30),
        max_resends: 3,
        max_sms_per_number: 5,
        max_enrollment_sms_per_number: 3,
        sms_window: Duration::from_secs(10 * 60),
        sms_language: None,
        currency: Currency::EUR,
        max_per_payment: 100_000,
        max_per_24_hours: 150_000,
        max_per_30_days: 300_000,
        other_currencies: Vec::new(),
        low_value_exemption: false,
        exemption_max_amount: 3_000,
        exemption_max_cumulative: 10_000,
        exemption_max_payments: 5,
    }
}

fn main() {
    let _ = policy();
}
