//! Parser fuzzing on stable, with proptest: every parser and the record decoder take arbitrary
//! input without panicking, refuse it with their own typed error, and read back what they
//! print; accepted display text hides nothing, and no funding token is shown whole.
//! `FUZZ_CASES` sets the inputs per parser (100,000 by default).
#![cfg(feature = "testkit")]

use crate::common::*;
use buyster::memory::MemoryStore;
use buyster::testkit::block_on;
use buyster::{
    Amount, AnyPayment, Currency, Error, FundingToken, Iban, IdempotencyKey, IdempotencyKeyError,
    Key, Language, Merchant, Order, OtpCode, PaymentId, PhoneNumber, Pin, Store,
};
use proptest::prelude::*;
use proptest::test_runner::Config;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text of the sort people type into forms: digits, separators, signs, letters, a few symbols,
/// some multi-byte characters.
fn typed() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9 .+()/€£$,A-Za-z-]{0,40}",
        any::<String>(),
        "[0-9]{0,20}",
        "\\+[0-9 ]{0,20}",
        "[A-Z]{2}[0-9]{2}[A-Z0-9 ]{0,34}",
        "[0-9]{1,9}([.,][0-9]{0,3})? ?(EUR|€|eur|GBP|£|CHF|USD|\\$|XYZ)?",
        "[0-9a-f]{0,40}",
    ]
}

/// Names and references as merchants type or paste them: letters, accents, punctuation, and the
/// spaces and invisible characters that copied text brings along.
fn display_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9éèçâœ’«»–…€ \u{a0}\u{202f}\u{ad}\u{200b}\u{200d}\u{200e}\u{202e}\u{2028}\u{2066}\u{feff}\u{fe0f}\u{e0041}\u{3164}\n-]{0,45}",
    ]
}

/// Whether accepted display `text` is trimmed, 1 to `max` characters long, without control
/// characters, spaces other than U+0020, or invisible and direction-changing characters.
fn plain_display_text(text: &str, max: usize) -> bool {
    let invisible = |c: char| {
        matches!(
            c,
            '\u{ad}'
                | '\u{34f}'
                | '\u{61c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e0fff}'
        )
    };
    let other_space = |c: char| c.is_whitespace() && c != ' ';
    text.trim() == text
        && (1..=max).contains(&text.chars().count())
        && !text
            .chars()
            .any(|c| c.is_control() || invisible(c) || other_space(c))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn phone_numbers(input in typed()) {
        match input.parse::<PhoneNumber>() {
            Ok(phone) => {
                let text = phone.to_string();
                prop_assert!(text.starts_with('+') && text.len() <= 16);
                prop_assert_eq!(text.parse::<PhoneNumber>().unwrap(), phone.clone());
                let debug = format!("{:?}", phone);
                prop_assert!(!debug.contains(&text[text.len() - 6..]));
            }
            Err(error) => prop_assert!(matches!(error, Error::InvalidPhone(_)), "{error:?}"),
        }
    }

    #[test]
    fn amounts(input in typed()) {
        match input.parse::<Amount>() {
            Ok(amount) => {
                prop_assert!(amount.minor_units() > 0);
                prop_assert_eq!(amount.to_string().parse::<Amount>().unwrap(), amount);
            }
            Err(error) => prop_assert!(matches!(error, Error::InvalidAmount(_)), "{error:?}"),
        }
    }

    #[test]
    fn pins_and_codes(input in typed()) {
        match input.parse::<Pin>() {
            Ok(pin) => {
                let digits = pin.expose_secret();
                prop_assert!((4..=8).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()));
                let again: Pin = digits.parse().unwrap();
                prop_assert_eq!(again.expose_secret(), digits);
            }
            Err(error) => prop_assert!(matches!(error, Error::InvalidPin(_)), "{error:?}"),
        }
        match input.parse::<OtpCode>() {
            Ok(code) => {
                let digits = code.expose_secret();
                prop_assert!((6..=9).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()));
                let again: OtpCode = digits.parse().unwrap();
                prop_assert_eq!(again.expose_secret(), digits);
            }
            Err(error) => prop_assert!(matches!(error, Error::InvalidCode(_)), "{error:?}"),
        }
    }

    #[test]
    fn ibans(input in typed()) {
        match input.parse::<Iban>() {
            Ok(iban) => prop_assert_eq!(iban.to_string().parse::<Iban>().unwrap(), iban),
            Err(error) => prop_assert!(matches!(error, Error::InvalidIban(_)), "{error:?}"),
        }
    }

    #[test]
    fn payment_ids(input in typed()) {
        match input.parse::<PaymentId>() {
            Ok(id) => prop_assert_eq!(id.to_string(), input),
            Err(error) => prop_assert!(matches!(error, Error::InvalidPaymentId), "{error:?}"),
        }
    }

    #[test]
    fn merchant_names_and_references(input in display_text()) {
        match Merchant::new("shop", &input) {
            Ok(merchant) => {
                let name = merchant.display_name();
                prop_assert!(plain_display_text(name, 40), "{:?}", name);
            }
            Err(error) => prop_assert!(matches!(error, Error::InvalidMerchant(_)), "{error:?}"),
        }
        let merchant = Merchant::new("shop", "Shop").unwrap();
        match Order::new(merchant, Amount::new(1, Currency::EUR).unwrap(), &input) {
            Ok(order) => prop_assert!(plain_display_text(order.reference(), 64), "{:?}", order.reference()),
            Err(error) => prop_assert!(matches!(error, Error::InvalidReference(_)), "{error:?}"),
        }
    }

    #[test]
    fn idempotency_keys(input in prop_oneof![typed(), "[ -~]{250,260}", "[ -~\t\n\u{7f}é]{0,300}"]) {
        // The model, counted in characters: the first problem from the start.
        let first_refused = input.chars().position(|c| !(' '..='~').contains(&c));
        let expected = match first_refused {
            _ if input.is_empty() => Some(IdempotencyKeyError::Empty),
            Some(index) if index < 255 => Some(IdempotencyKeyError::ForbiddenCharacter { index }),
            _ if input.chars().count() > 255 => Some(IdempotencyKeyError::TooLong { max: 255 }),
            _ => None,
        };
        match (input.parse::<IdempotencyKey>(), expected) {
            (Ok(key), None) => prop_assert_eq!(key.to_string(), input),
            (Err(Error::InvalidIdempotencyKey(error)), Some(expected)) => {
                prop_assert_eq!(error, expected)
            }
            (answer, expected) => prop_assert!(false, "{:?}: {:?}, not {:?}", input, answer, expected),
        }
    }

    #[test]
    fn funding_tokens(input in typed()) {
        match input.parse::<FundingToken>() {
            Ok(token) => {
                let debug = format!("{token:?}");
                let shown = debug.strip_prefix("FundingToken(…").and_then(|d| d.strip_suffix(')'));
                if input.len() >= 12 {
                    prop_assert_eq!(shown, Some(&input[input.len() - 4..]));
                } else {
                    prop_assert_eq!(shown, Some(""));
                }
            }
            Err(error) => prop_assert!(matches!(error, Error::InvalidFundingToken(_)), "{error:?}"),
        }
    }

    #[test]
    fn valid_values_read_back_what_they_print(
        national in "6[0-24-8][0-9]{7}|7[3-9][0-9]{7}",
        minor in 1..=Amount::MAX_MINOR_UNITS,
        currency in prop::sample::select(vec![Currency::EUR, Currency::GBP, Currency::CHF, Currency::USD]),
        bban in "[0-9]{23}",
        id in "[0-9a-f]{32}",
        digits in "[0-9]{6,9}",
    ) {
        let phone: PhoneNumber = format!("0{national}").parse().unwrap();
        prop_assert_eq!(phone.to_string().parse::<PhoneNumber>().unwrap(), phone.clone());
        prop_assert_eq!(phone.masked().parse::<PhoneNumber>().is_err(), true);
        let amount = Amount::new(minor, currency).unwrap();
        for text in [amount.to_string(), amount.localized(Language::French), amount.localized(Language::English)] {
            prop_assert_eq!(text.parse::<Amount>().unwrap(), amount);
        }
        let iban: Iban = french_iban(&bban).parse().unwrap();
        prop_assert_eq!(iban.to_string().parse::<Iban>().unwrap(), iban);
        prop_assert_eq!(id.parse::<PaymentId>().unwrap().to_string(), id);
        let code: OtpCode = digits.parse().unwrap();
        prop_assert_eq!(code.expose_secret(), digits.as_str());
    }
}

/// A French IBAN with the given 23-digit BBAN and its computed check digits.
fn french_iban(bban: &str) -> String {
    // Check digits: 98 - (BBAN ‖ "FR00" as digits) mod 97, F = 15, R = 27.
    let remainder = format!("{bban}152700")
        .bytes()
        .fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
    format!("FR{:02}{bban}", 98 - remainder)
}

/// A payment stored in `state` (0 to 5 steps along the flow), and the engine's host.
fn stored_payment(host: &Host, steps: u8) -> PaymentId {
    block_on(async {
        let payment = host.initiate().await;
        let id = payment.id();
        if steps == 0 {
            return id;
        }
        let buyster::PinCheck::Verified(verified) =
            host.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
        else {
            panic!();
        };
        if steps == 1 {
            return id;
        }
        let sent = host.engine.send_code(verified).await.unwrap();
        match steps {
            2 => {}
            3 => drop(host.engine.confirm(sent, &host.code()).await.unwrap()),
            4 => drop(
                host.engine
                    .cancel(id, buyster::CancelReason::Buyer)
                    .await
                    .unwrap(),
            ),
            _ => {
                host.bank.fail_next(buyster::memory::BankFault::Unavailable);
                assert!(host.engine.confirm(sent, &host.code()).await.is_err());
            }
        }
        id
    })
}

#[test]
fn every_single_bit_flip_of_every_kind_of_record_is_refused() {
    let host = block_on(Host::new());
    // Payment records in each state.
    for steps in 0..=5 {
        let id = stored_payment(&host, steps);
        let key = Key::payment(&id);
        let entry = block_on(host.store.get(&key)).unwrap().unwrap();
        assert!(block_on(host.engine.load(id)).is_ok());
        let mut version = entry.version();
        for bit in 0..entry.value().len() * 8 {
            let mut flipped = entry.value().to_vec();
            flipped[bit / 8] ^= 1 << (bit % 8);
            version = block_on(host.store.put(&key, Some(version), flipped.into())).unwrap();
            let loaded = block_on(host.engine.load(id));
            assert!(
                matches!(loaded, Err(Error::Tampered)),
                "state {steps}, bit {bit}: {loaded:?}"
            );
        }
        block_on(
            host.store
                .put(&key, Some(version), entry.value().to_vec().into()),
        )
        .unwrap();
        assert!(block_on(host.engine.load(id)).is_ok());
    }
    // The account and the guard, checked by every PIN attempt.
    for kind in ["account/", "guard/"] {
        let key = host
            .store
            .keys()
            .into_iter()
            .find(|k| k.as_str().starts_with(kind))
            .unwrap();
        let entry = block_on(host.store.get(&key)).unwrap().unwrap();
        let mut version = entry.version();
        for bit in (0..entry.value().len() * 8).step_by(3) {
            let mut flipped = entry.value().to_vec();
            flipped[bit / 8] ^= 1 << (bit % 8);
            version = block_on(host.store.put(&key, Some(version), flipped.into())).unwrap();
            let payment = block_on(host.initiate());
            let answer = block_on(host.engine.verify_pin(payment, &pin(WRONG_PIN)));
            assert!(
                matches!(answer, Err(Error::Tampered)),
                "{kind} bit {bit}: {answer:?}"
            );
        }
        block_on(
            host.store
                .put(&key, Some(version), entry.value().to_vec().into()),
        )
        .unwrap();
    }
}

#[test]
fn every_single_bit_flip_of_an_enrollment_record_is_refused() {
    let host = block_on(Host::new());
    let other: PhoneNumber = "+33698765432".parse().unwrap();
    // Waiting for its code, enrolled, failed.
    let waiting = block_on(host.engine.start_enrollment(&other)).unwrap().id();
    let enrolled = {
        let fresh = block_on(
            host.engine
                .start_enrollment(&"+33611223344".parse().unwrap()),
        )
        .unwrap();
        let code = host.sms.last_code_for_enrollment(fresh.id()).unwrap();
        let id = fresh.id();
        let pin = pin(PIN);
        block_on(
            host.engine
                .finish_enrollment(fresh, &code, &pin, IBAN.parse().unwrap()),
        )
        .unwrap();
        id
    };
    let failed = {
        let mine = block_on(host.engine.start_enrollment(&host.phone)).unwrap();
        let code = host.sms.last_code_for_enrollment(mine.id()).unwrap();
        let id = mine.id();
        let refused =
            block_on(
                host.engine
                    .finish_enrollment(mine, &code, &pin(PIN), IBAN.parse().unwrap()),
            );
        assert!(matches!(refused, Err(Error::AlreadyEnrolled)));
        id
    };
    for id in [waiting, enrolled, failed] {
        let key = Key::enrollment(&id);
        let entry = block_on(host.store.get(&key)).unwrap().unwrap();
        let mut version = entry.version();
        for bit in 0..entry.value().len() * 8 {
            let mut flipped = entry.value().to_vec();
            flipped[bit / 8] ^= 1 << (bit % 8);
            version = block_on(host.store.put(&key, Some(version), flipped.into())).unwrap();
            let loaded = block_on(host.engine.load_enrollment(id));
            assert!(
                matches!(loaded, Err(Error::Tampered)),
                "bit {bit}: {loaded:?}"
            );
        }
        block_on(
            host.store
                .put(&key, Some(version), entry.value().to_vec().into()),
        )
        .unwrap();
        assert!(block_on(host.engine.load_enrollment(id)).is_ok());
    }
}

#[test]
fn every_single_bit_flip_of_a_refunded_payment_is_refused() {
    use buyster::{Confirmed, Currency, RefundReason};
    let host = block_on(Host::new());
    let id = stored_payment(&host, 3);
    let euros = |minor| Amount::new(minor, Currency::EUR).unwrap();
    let refund = |key: &str, minor, fault| {
        let payment = block_on(host.engine.resume::<Confirmed>(id)).unwrap();
        if let Some(fault) = fault {
            host.bank.fail_next(fault);
        }
        let key = key.parse().unwrap();
        let _ = block_on(
            host.engine
                .refund(payment, euros(minor), RefundReason::Returned, &key),
        );
    };
    // Refunded, declined, pending.
    refund("a", 1000, None);
    let declined = buyster::memory::BankFault::Decline(buyster::DeclineReason::Refused);
    refund("b", 1000, Some(declined));
    refund("c", 1000, Some(buyster::memory::BankFault::Unavailable));
    let key = Key::payment(&id);
    let entry = block_on(host.store.get(&key)).unwrap().unwrap();
    let mut version = entry.version();
    for bit in 0..entry.value().len() * 8 {
        let mut flipped = entry.value().to_vec();
        flipped[bit / 8] ^= 1 << (bit % 8);
        version = block_on(host.store.put(&key, Some(version), flipped.into())).unwrap();
        let loaded = block_on(host.engine.load(id));
        assert!(
            matches!(loaded, Err(Error::Tampered)),
            "bit {bit}: {loaded:?}"
        );
    }
    block_on(
        host.store
            .put(&key, Some(version), entry.value().to_vec().into()),
    )
    .unwrap();
    let AnyPayment::Confirmed(paid) = block_on(host.engine.load(id)).unwrap() else {
        panic!()
    };
    assert_eq!(paid.refunds().len(), 3);
}

proptest! {
    #![proptest_config(Config { cases: cases() / 10, failure_persistence: None, ..Config::default() })]

    /// Random bytes, truncations and extensions of real records, stored under a payment's key.
    #[test]
    fn the_record_decoder_refuses_what_the_engine_did_not_write(
        noise in prop::collection::vec(any::<u8>(), 0..300),
        steps in 0u8..=5,
        cut in any::<prop::sample::Index>(),
    ) {
        let host = block_on(Host::new());
        let id = stored_payment(&host, steps);
        let key = Key::payment(&id);
        let entry = block_on(host.store.get(&key)).unwrap().unwrap();
        let real = entry.value().to_vec();
        let truncated = real[..cut.index(real.len())].to_vec();
        let extended = [real.as_slice(), &noise].concat();
        let spliced = [&real[..cut.index(real.len())], noise.as_slice()].concat();
        let mut version = entry.version();
        for bytes in [noise.clone(), truncated, extended, spliced] {
            if bytes == real {
                continue;
            }
            version = block_on(host.store.put(&key, Some(version), bytes.into())).unwrap();
            let loaded = block_on(host.engine.load(id));
            prop_assert!(matches!(loaded, Err(Error::Tampered)), "{:?}", loaded.map(|p| p.kind()));
        }
    }
}

#[test]
fn the_memory_store_round_trips_a_loaded_payment_unchanged() {
    let store = MemoryStore::new();
    let host = Host::empty(buyster::Policy::default(), store);
    let id = block_on(host.engine.initiate(order(4990), &host.phone))
        .unwrap()
        .id();
    let AnyPayment::Initiated(loaded) = block_on(host.engine.load(id)).unwrap() else {
        panic!()
    };
    assert_eq!(loaded.order(), &order(4990));
    assert_eq!(loaded.phone(), &host.phone);
}
