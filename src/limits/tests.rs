//! The ledger's decisions: each limit, its time to free up, releases, merges, the streak of
//! the low-value exemption, and the record.
#![allow(
    clippy::arithmetic_side_effects,
    reason = "hours, days and cents of a few test payments, far from any bound"
)]
use super::*;

/// The ledger part of a reservation.
trait Reserved {
    fn reserved(
        &self,
        payment: PaymentId,
        amount: Amount,
        now: Timestamp,
        policy: &Policy,
    ) -> Result<Ledger, Error>;
}

impl Reserved for Ledger {
    fn reserved(
        &self,
        payment: PaymentId,
        amount: Amount,
        now: Timestamp,
        policy: &Policy,
    ) -> Result<Ledger, Error> {
        self.reserve(payment, amount, now, policy)
            .map(|(ledger, _)| ledger)
    }
}

const T0: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);
const HOUR: Duration = Duration::from_secs(3600);

fn eur(minor: u64) -> Amount {
    Amount::new(minor, Currency::EUR).unwrap()
}

fn at(hours: u64) -> Timestamp {
    T0.saturating_add(HOUR * u32::try_from(hours).unwrap())
}

fn refused(result: Result<Ledger, Error>) -> (SpendingLimit, Option<Timestamp>) {
    match result {
        Err(Error::LimitExceeded { limit, frees_at }) => (limit, frees_at),
        other => panic!("{other:?}"),
    }
}

#[test]
fn each_limit_is_checked_and_says_when_it_frees_up() {
    let policy = Policy::default();
    let ledger = Ledger::default();
    assert_eq!(
        refused(ledger.reserved(PaymentId::random(), eur(100_001), T0, &policy)),
        (SpendingLimit::PerPayment, None)
    );
    let ledger = ledger
        .reserved(PaymentId::random(), eur(100_000), T0, &policy)
        .unwrap();
    let ledger = ledger
        .reserved(PaymentId::random(), eur(40_000), at(2), &policy)
        .unwrap();
    // 1,400 of 1,500 in 24 hours: 100.01 more does not fit until the first leaves.
    assert_eq!(
        refused(ledger.reserved(PaymentId::random(), eur(10_001), at(3), &policy)),
        (SpendingLimit::Per24Hours, Some(at(24)))
    );
    let ledger = ledger
        .reserved(PaymentId::random(), eur(10_000), at(3), &policy)
        .unwrap();
    let ledger = ledger
        .reserved(PaymentId::random(), eur(100_000), at(24), &policy)
        .unwrap();
    let ledger = ledger
        .reserved(PaymentId::random(), eur(50_000), at(27), &policy)
        .unwrap();
    // 3,000 of 3,000 in 30 days, 1,500 of 1,500 in 24 hours: the 24-hour limit frees up
    // sooner than the 30-day one, which is named.
    assert_eq!(
        refused(ledger.reserved(PaymentId::random(), eur(100), at(28), &policy)),
        (SpendingLimit::Per30Days, Some(at(30 * 24)))
    );
    // Once 30 days have passed since the last one, everything is free again.
    let later = ledger.reserved(PaymentId::random(), eur(100_000), at(27 + 30 * 24), &policy);
    assert_eq!(later.unwrap().reservations.len(), 1);
}

#[test]
fn a_released_payment_gives_its_room_back_once() {
    let policy = Policy::default();
    let first = PaymentId::random();
    let ledger = Ledger::default()
        .reserved(first, eur(100_000), T0, &policy)
        .unwrap();
    let ledger = ledger
        .reserved(PaymentId::random(), eur(50_000), T0, &policy)
        .unwrap();
    assert!(
        ledger
            .reserved(PaymentId::random(), eur(1), T0, &policy)
            .is_err()
    );
    let released = ledger.release(first).unwrap();
    assert!(released.release(first).is_none());
    assert!(
        released
            .reserved(PaymentId::random(), eur(100_000), T0, &policy)
            .is_ok()
    );
}

#[test]
fn a_payment_reserves_once() {
    let policy = Policy::default();
    let payment = PaymentId::random();
    let once = Ledger::default()
        .reserved(payment, eur(100_000), T0, &policy)
        .unwrap();
    let twice = once.reserved(payment, eur(100_000), T0, &policy).unwrap();
    assert_eq!(once, twice);
}

#[test]
fn currencies_count_apart() {
    let policy = Policy::default();
    let ledger = Ledger::default()
        .reserved(PaymentId::random(), eur(100_000), T0, &policy)
        .unwrap();
    let ledger = ledger
        .reserved(PaymentId::random(), eur(50_000), T0, &policy)
        .unwrap();
    let pounds = Amount::new(100_000, Currency::GBP).unwrap();
    assert!(
        ledger
            .reserved(PaymentId::random(), pounds, T0, &policy)
            .is_ok()
    );
}

fn lifted() -> Policy {
    Policy {
        max_per_24_hours: 10_000_000,
        max_per_30_days: 10_000_000,
        ..Policy::default()
    }
}

fn total(ledger: &Ledger) -> u64 {
    ledger.reservations.iter().map(|r| r.minor_units).sum()
}

#[test]
fn many_payments_in_a_day_merge_and_never_lose_an_amount() {
    let mut ledger = Ledger::default();
    let mut last = PaymentId::random();
    for i in 0..40 {
        last = PaymentId::random();
        let now = T0.saturating_add(Duration::from_secs(60 * i));
        ledger = ledger
            .reserved(last, eur(1000 + i), now, &lifted())
            .unwrap();
        assert!(ledger.reservations.len() <= MAX_RESERVATIONS);
    }
    assert_eq!(total(&ledger), (0..40).map(|i| 1000 + i).sum::<u64>());
    assert!(ledger.holds(last), "the newest keeps its payment");
    assert!(ledger.release(last).is_some());
    assert!(ledger.release(PaymentId::none()).is_none());
}

#[test]
fn a_payment_a_day_never_carries_amounts_past_their_window() {
    let mut ledger = Ledger::default();
    for day in 0..90 {
        let now = at(day * 24 + day % 5);
        ledger = ledger
            .reserved(PaymentId::random(), eur(100), now, &lifted())
            .unwrap();
        assert!(
            ledger.reservations.len() <= MAX_RESERVATIONS + 31,
            "day {day}"
        );
        // What counts over 30 days is never more than the last 31 days' payments.
        assert!(total(&ledger) <= 31 * 100, "day {day}: {}", total(&ledger));
    }
    let mut busy = Ledger::default();
    for hour in 0..24 * 60 {
        let now = at(hour);
        busy = busy
            .reserved(PaymentId::random(), eur(1), now, &lifted())
            .unwrap();
        assert!(
            busy.reservations.len() <= MAX_RESERVATIONS + 31,
            "hour {hour}"
        );
        assert!(total(&busy) <= 31 * 24, "hour {hour}: {}", total(&busy));
    }
}

#[test]
fn the_record_round_trips() {
    use crate::codec::RecordKind;
    use crate::host::Key;
    use crate::keys::Keys;
    use crate::secret::SecretKey;
    let keys = Keys::new(1, SecretKey::from_bytes([5; 32]));
    let key = Key::guard("ab");
    let policy = Policy::default();
    let ledger = Ledger::default()
        .reserved(PaymentId::random(), eur(4990), T0, &policy)
        .unwrap();
    let mut w = Writer::new(RecordKind::Guard, &keys);
    ledger.write(&mut w);
    let record = w.seal(&keys, &key);
    // Flags, id, currency, EUR 49.90 in two bytes, time.
    assert_eq!(record.len(), 3 + 9 + 1 + (1 + 16 + 1 + 2 + 8) + 32);
    let mut r = Reader::open(&keys, &key, RecordKind::Guard, &record).unwrap();
    assert_eq!(Ledger::read(&mut r).unwrap(), ledger);
    r.finish().unwrap();

    // A merged reservation has no id: 12 bytes for EUR 49.90; an exempt one keeps its flag.
    let mut ledger = ledger;
    ledger.reservations.insert(
        0,
        Reservation {
            payment: PaymentId::none(),
            currency: Currency::EUR,
            minor_units: 4990,
            at: T0,
            exempt: false,
        },
    );
    ledger.reservations[1].exempt = true;
    let sealed = |ledger: &Ledger| {
        let mut w = Writer::new(RecordKind::Guard, &keys);
        ledger.write(&mut w);
        w.seal(&keys, &key)
    };
    let record = sealed(&ledger);
    assert_eq!(record.len(), 3 + 9 + 1 + (1 + 1 + 2 + 8) + 28 + 32);
    let mut r = Reader::open(&keys, &key, RecordKind::Guard, &record).unwrap();
    assert_eq!(Ledger::read(&mut r).unwrap(), ledger);
    r.finish().unwrap();

    // Sealed, but not as the engine writes: an exempt merged reservation.
    let read = |ledger: &Ledger| {
        let record = sealed(ledger);
        let mut r = Reader::open(&keys, &key, RecordKind::Guard, &record).unwrap();
        Ledger::read(&mut r).and_then(|_| r.finish())
    };
    let mut exempt_merged = ledger.clone();
    exempt_merged.reservations[0].exempt = true;
    assert!(matches!(read(&exempt_merged), Err(Error::Tampered)));
    assert!(read(&ledger).is_ok());
}

fn exempting() -> Policy {
    Policy {
        low_value_exemption: true,
        ..Policy::default()
    }
}

#[test]
fn the_exemption_is_decided_with_the_reservation_and_ends_with_a_code() {
    let policy = exempting();
    let mut ledger = Ledger::default();
    let mut exempt = Vec::new();
    for i in 0..6 {
        let (next, admitted) = ledger
            .reserve(PaymentId::random(), eur(1_000), at(i), &policy)
            .unwrap();
        exempt.push(admitted);
        ledger = next;
    }
    assert_eq!(
        exempt,
        [true, true, true, true, true, false],
        "five in a row"
    );
    let (_, big) = ledger
        .reserve(PaymentId::random(), eur(3_001), at(7), &policy)
        .unwrap();
    assert!(!big);
    // A code an hour later: the five tickets have expired with their payments.
    let code = PaymentId::random();
    let pending: Vec<PaymentId> = ledger.recent_tickets(code, at(8), &policy).collect();
    assert!(pending.is_empty());
    let reset = ledger.after_code(&pending).unwrap();
    assert!(
        reset.after_code(&pending).is_none(),
        "nothing left to reset"
    );
    let (_, again) = reset
        .reserve(PaymentId::random(), eur(3_000), at(8), &policy)
        .unwrap();
    assert!(again);
}

#[test]
fn a_failed_exempt_payment_gives_its_place_in_the_streak_back() {
    let policy = exempting();
    let payments: Vec<PaymentId> = (0..4).map(|_| PaymentId::random()).collect();
    let mut ledger = Ledger::default();
    for payment in &payments {
        ledger = ledger.reserved(*payment, eur(2_500), T0, &policy).unwrap();
    }
    // EUR 100 in all: EUR 0.01 more is not exempt.
    let (_, admitted) = ledger
        .reserve(PaymentId::random(), eur(1), T0, &policy)
        .unwrap();
    assert!(!admitted);
    let released = ledger.release(payments[0]).unwrap();
    let (_, admitted) = released
        .reserve(PaymentId::random(), eur(2_500), T0, &policy)
        .unwrap();
    assert!(admitted);
    // After a code, releasing a payment of the old streak takes nothing from the new one.
    let reset = ledger.after_code(&[]).unwrap();
    let released = reset.release(payments[1]).unwrap();
    assert_eq!(released.streak, Streak::default());
}

#[test]
fn the_streak_outlives_the_window() {
    let policy = exempting();
    let mut ledger = Ledger::default();
    for day in 0..5 {
        ledger = ledger
            .reserved(PaymentId::random(), eur(100), at(day * 24 * 20), &policy)
            .unwrap();
    }
    let (_, admitted) = ledger
        .reserve(PaymentId::random(), eur(100), at(200 * 24), &policy)
        .unwrap();
    assert!(
        !admitted,
        "five exempt payments since the last code, however long ago"
    );
}

#[test]
fn a_code_carries_the_tickets_that_may_still_be_used_into_the_new_streak() {
    let policy = exempting();
    let minute = |m: u64| T0.saturating_add(Duration::from_secs(60 * m));
    let mut ledger = Ledger::default();
    let tickets: Vec<PaymentId> = (0..5).map(|_| PaymentId::random()).collect();
    // Five exempt payments: three an hour before the code, two a minute before it.
    for (i, payment) in tickets.iter().enumerate() {
        let when = if i < 3 { minute(0) } else { minute(59) };
        let (next, exempt) = ledger.reserve(*payment, eur(1_000), when, &policy).unwrap();
        assert!(exempt);
        ledger = next;
    }
    let code = PaymentId::random();
    let (with_code, exempt) = ledger
        .reserve(code, eur(1_000), minute(59), &policy)
        .unwrap();
    assert!(!exempt, "five in a row");
    let recent: Vec<PaymentId> = with_code
        .recent_tickets(code, minute(60), &policy)
        .collect();
    assert_eq!(recent, tickets[3..]);
    // One of the two recent tickets was used already: it is not carried.
    let used = with_code.after_code(&tickets[4..]).unwrap();
    assert_eq!(used.streak, Streak::default().with(1_000));
    let reset = with_code.after_code(&recent).unwrap();
    // The two recent tickets may still be authorized without a code: they stay counted, so
    // three more exempt payments fit, not five.
    assert_eq!(reset.streak, Streak::default().with(1_000).with(1_000));
    let mut fitted = reset.clone();
    let mut admitted = Vec::new();
    for _ in 0..4 {
        let (next, exempt) = fitted
            .reserve(PaymentId::random(), eur(100), minute(61), &policy)
            .unwrap();
        admitted.push(exempt);
        fitted = next;
    }
    assert_eq!(admitted, [true, true, true, false]);
    // One of the recent tickets fails: its place comes back.
    let released = reset.release(tickets[4]).unwrap();
    assert_eq!(released.streak, Streak::default().with(1_000));
    // A payment reserved as exempt but authorized by its code is not carried.
    let (mixed, exempt) = Ledger::default()
        .reserve(code, eur(1_000), minute(0), &policy)
        .unwrap();
    assert!(exempt);
    let pending: Vec<PaymentId> = mixed.recent_tickets(code, minute(1), &policy).collect();
    assert!(pending.is_empty());
    let reset = mixed.after_code(&pending).unwrap();
    assert_eq!(reset.streak, Streak::default());
}
