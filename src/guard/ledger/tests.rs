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
        self.reserve(payment, amount, now, now.saturating_add(TTL), policy)
            .map(|(ledger, _)| ledger)
    }
}

const T0: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);
const HOUR: Duration = Duration::from_secs(3600);
/// The time to live of the tests' payments.
const TTL: Duration = Duration::from_secs(15 * 60);

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
fn currencies_count_apart_against_their_own_limits_and_others_are_refused() {
    let pounds = |minor| Amount::new(minor, Currency::GBP).unwrap();
    let dollars = Amount::new(100, Currency::USD).unwrap();
    assert!(matches!(
        Ledger::default().reserved(PaymentId::random(), pounds(100), T0, &Policy::default()),
        Err(Error::CurrencyNotAccepted(Currency::GBP))
    ));
    let policy = Policy {
        other_currencies: vec![crate::policy::CurrencyLimits {
            currency: Currency::GBP,
            max_per_payment: 50_000,
            max_per_24_hours: 60_000,
            max_per_30_days: 100_000,
        }],
        ..Policy::default()
    };
    let ledger = Ledger::default()
        .reserved(PaymentId::random(), eur(100_000), T0, &policy)
        .unwrap();
    let ledger = ledger
        .reserved(PaymentId::random(), eur(50_000), T0, &policy)
        .unwrap();
    assert_eq!(
        refused(ledger.reserved(PaymentId::random(), pounds(50_001), T0, &policy)),
        (SpendingLimit::PerPayment, None)
    );
    let ledger = ledger
        .reserved(PaymentId::random(), pounds(50_000), T0, &policy)
        .unwrap();
    assert_eq!(
        refused(ledger.reserved(PaymentId::random(), pounds(10_001), at(1), &policy)),
        (SpendingLimit::Per24Hours, Some(at(24)))
    );
    assert!(matches!(
        ledger.reserved(PaymentId::random(), dollars, T0, &policy),
        Err(Error::CurrencyNotAccepted(Currency::USD))
    ));
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
fn a_clock_gone_back_keeps_the_ledger_in_time_order_and_merges_never_shorten() {
    let policy = lifted();
    let noon = PaymentId::random();
    let mut ledger = Ledger::default()
        .reserved(noon, eur(100_000), at(12), &policy)
        .unwrap();
    // The clock goes back eleven hours; the reservations made then go before noon's.
    let mut last = PaymentId::random();
    for _ in 0..MAX_RESERVATIONS {
        last = PaymentId::random();
        ledger = ledger.reserved(last, eur(100), at(1), &policy).unwrap();
    }
    let times: Vec<Timestamp> = ledger.reservations.iter().map(|r| r.at).collect();
    assert!(times.is_sorted(), "{times:?}");
    assert_eq!(times.last(), Some(&at(12)));
    assert!(ledger.holds(noon) && ledger.holds(last));
    assert_eq!(total(&ledger), 100_000 + 100 * MAX_RESERVATIONS as u64);
    // Noon's reservation merged with a later one keeps noon as its time.
    let mut late = Ledger::default();
    for hour in [1, 12, 12, 12, 12, 12, 12, 12, 12] {
        late = late
            .reserved(PaymentId::random(), eur(1_000), at(hour), &policy)
            .unwrap();
    }
    let merged: Vec<_> = late
        .reservations
        .iter()
        .filter(|r| r.payment == PaymentId::none())
        .collect();
    assert_eq!(merged.len(), 1);
    assert_eq!((merged[0].minor_units, merged[0].at), (2_000, at(12)));
}

#[test]
fn the_record_round_trips() {
    use crate::host::Key;
    use crate::keys::Keys;
    use crate::seal::{self, RecordKind};
    use crate::secret::SecretKey;
    let keys = Keys::new(1, SecretKey::from_bytes([5; 32]));
    let key = Key::guard("ab");
    let policy = Policy::default();
    let ledger = Ledger::default()
        .reserved(PaymentId::random(), eur(4990), T0, &policy)
        .unwrap();
    let sealed = |ledger: &Ledger| {
        let mut w = seal::writer(RecordKind::Guard, &keys);
        ledger.write(&mut w);
        seal::seal(w, &keys, &key)
    };
    let record = sealed(&ledger);
    // An empty streak, then flag, id, currency, EUR 49.90 in two bytes, time.
    assert_eq!(record.len(), 3 + 1 + 1 + (1 + 16 + 1 + 2 + 8) + 32);
    let mut r = seal::open(&keys, &key, RecordKind::Guard, &record).unwrap();
    assert_eq!(Ledger::read(&mut r).unwrap(), ledger);
    r.finish().unwrap();

    // A merged reservation has no id: 12 bytes for EUR 49.90; a ticket takes 16 + 2 + 8.
    let mut ledger = ledger;
    ledger.reservations.insert(
        0,
        Reservation {
            payment: PaymentId::none(),
            currency: Currency::EUR,
            minor_units: 4990,
            at: T0,
        },
    );
    ledger.streak = ledger.streak.with(PaymentId::random(), eur(1_000), T0);
    let record = sealed(&ledger);
    assert_eq!(record.len(), 3 + (1 + 26) + 1 + (1 + 1 + 2 + 8) + 28 + 32);
    let mut r = seal::open(&keys, &key, RecordKind::Guard, &record).unwrap();
    assert_eq!(Ledger::read(&mut r).unwrap(), ledger);
    r.finish().unwrap();

    // Sealed, but not as the engine writes: an unknown flag, six tickets, a ticket of no one.
    let read = |fields: &dyn Fn(&mut Writer)| {
        let mut w = seal::writer(RecordKind::Guard, &keys);
        fields(&mut w);
        let record = seal::seal(w, &keys, &key);
        let mut r = seal::open(&keys, &key, RecordKind::Guard, &record).unwrap();
        Ledger::read(&mut r).and_then(|_| r.finish())
    };
    let reservation = |w: &mut Writer, flag: u8| {
        w.u8(flag);
        w.coded(Currency::EUR);
        w.varint(100);
        w.time(T0);
    };
    let tickets = |w: &mut Writer, count: u8, id: PaymentId| {
        w.u8(count);
        for _ in 0..count {
            w.bytes(id.as_bytes());
            w.varint(100);
            w.time(T0);
        }
    };
    assert!(
        read(&|w| {
            tickets(w, 0, PaymentId::none());
            w.u8(1);
            reservation(w, 0);
        })
        .is_ok()
    );
    assert!(matches!(
        read(&|w| {
            tickets(w, 0, PaymentId::none());
            w.u8(1);
            reservation(w, 2);
        }),
        Err(Error::Tampered)
    ));
    assert!(
        read(&|w| {
            tickets(w, 5, PaymentId::random());
            w.u8(0);
        })
        .is_ok()
    );
    assert!(matches!(
        read(&|w| {
            tickets(w, 6, PaymentId::random());
            w.u8(0);
        }),
        Err(Error::Tampered)
    ));
    assert!(matches!(
        read(&|w| {
            tickets(w, 1, PaymentId::none());
            w.u8(0);
        }),
        Err(Error::Tampered)
    ));
}

fn exempting() -> Policy {
    Policy {
        low_value_exemption: true,
        ..Policy::default()
    }
}

/// Reserves `minor` euro cents for a new payment at `now`: the ledger, whether it is exempt.
fn reserve(ledger: &Ledger, payment: PaymentId, minor: u64, now: Timestamp) -> (Ledger, bool) {
    ledger
        .reserve(
            payment,
            eur(minor),
            now,
            now.saturating_add(TTL),
            &exempting(),
        )
        .unwrap()
}

#[test]
fn the_exemption_is_decided_with_the_reservation_and_ends_with_a_code() {
    let mut ledger = Ledger::default();
    let mut exempt = Vec::new();
    for i in 0..6 {
        let (next, admitted) = reserve(&ledger, PaymentId::random(), 1_000, at(i));
        exempt.push(admitted);
        ledger = next;
    }
    assert_eq!(
        exempt,
        [true, true, true, true, true, false],
        "five in a row"
    );
    let (_, big) = reserve(&ledger, PaymentId::random(), 3_001, at(7));
    assert!(!big);
    // A code an hour later: the five tickets have lapsed with their payments.
    let code = PaymentId::random();
    let pending: Vec<PaymentId> = ledger.outstanding_tickets(code, at(8)).collect();
    assert!(pending.is_empty());
    let reset = ledger.after_code(&pending).unwrap();
    assert!(
        reset.after_code(&pending).is_none(),
        "nothing left to reset"
    );
    let (_, again) = reserve(&reset, PaymentId::random(), 3_000, at(8));
    assert!(again);
}

#[test]
fn a_failed_exempt_payment_gives_its_place_in_the_streak_back() {
    let payments: Vec<PaymentId> = (0..4).map(|_| PaymentId::random()).collect();
    let mut ledger = Ledger::default();
    for payment in &payments {
        ledger = reserve(&ledger, *payment, 2_500, T0).0;
    }
    // EUR 100 in all: EUR 0.01 more is not exempt.
    assert!(!reserve(&ledger, PaymentId::random(), 1, T0).1);
    let released = ledger.release(payments[0]).unwrap();
    assert!(reserve(&released, PaymentId::random(), 2_500, T0).1);
    // After a code, releasing a payment of the old streak takes nothing from the new one.
    let reset = ledger.after_code(&[]).unwrap();
    let released = reset.release(payments[1]).unwrap();
    assert!(released.streak.is_empty());
}

#[test]
fn a_merged_reservation_keeps_its_ticket_in_the_streak() {
    let tickets: Vec<PaymentId> = (0..2).map(|_| PaymentId::random()).collect();
    let mut ledger = Ledger::default();
    for payment in &tickets {
        ledger = reserve(&ledger, *payment, 1_000, T0).0;
    }
    // Enough payments of the same day to merge the tickets' reservations away.
    for _ in 0..MAX_RESERVATIONS {
        ledger = reserve(&ledger, PaymentId::random(), 5_000, T0).0;
    }
    assert!(!tickets.iter().any(|t| ledger.holds(*t)), "merged");
    let code = PaymentId::random();
    let outstanding: Vec<PaymentId> = ledger.outstanding_tickets(code, T0).collect();
    assert_eq!(outstanding, tickets, "still known as tickets");
    assert!(
        ledger.after_code(&outstanding).is_none(),
        "both stay counted"
    );
    assert_eq!(ledger.after_code(&tickets[1..]).unwrap().streak.len(), 1);
    // A ticket whose reservation merged still gives its place back when it fails.
    let released = ledger.release(tickets[0]).unwrap();
    assert_eq!(released.streak.len(), 1);
}

#[test]
fn the_streak_outlives_the_window() {
    let mut ledger = Ledger::default();
    for day in 0..5 {
        ledger = reserve(&ledger, PaymentId::random(), 100, at(day * 24 * 20)).0;
    }
    assert!(
        !reserve(&ledger, PaymentId::random(), 100, at(200 * 24)).1,
        "five exempt payments since the last code, however long ago"
    );
}

#[test]
fn a_code_carries_the_tickets_that_may_still_be_used_into_the_new_streak() {
    let minute = |m: u64| T0.saturating_add(Duration::from_secs(60 * m));
    let mut ledger = Ledger::default();
    let tickets: Vec<PaymentId> = (0..5).map(|_| PaymentId::random()).collect();
    // Five exempt payments: three an hour before the code, two a minute before it.
    for (i, payment) in tickets.iter().enumerate() {
        let when = if i < 3 { minute(0) } else { minute(59) };
        let (next, exempt) = reserve(&ledger, *payment, 1_000, when);
        assert!(exempt);
        ledger = next;
    }
    let code = PaymentId::random();
    let (with_code, exempt) = reserve(&ledger, code, 1_000, minute(59));
    assert!(!exempt, "five in a row");
    let recent: Vec<PaymentId> = with_code.outstanding_tickets(code, minute(60)).collect();
    assert_eq!(recent, tickets[3..]);
    // One of the two recent tickets was used already: it is not carried.
    let used = with_code.after_code(&tickets[4..]).unwrap();
    assert_eq!(used.streak.len(), 1);
    let reset = with_code.after_code(&recent).unwrap();
    // The two recent tickets may still be authorized without a code: they stay counted, so
    // three more exempt payments fit, not five.
    assert_eq!(reset.streak.len(), 2);
    let mut fitted = reset.clone();
    let mut admitted = Vec::new();
    for _ in 0..4 {
        let (next, exempt) = reserve(&fitted, PaymentId::random(), 100, minute(61));
        admitted.push(exempt);
        fitted = next;
    }
    assert_eq!(admitted, [true, true, true, false]);
    // One of the recent tickets fails: its place comes back.
    let released = reset.release(tickets[4]).unwrap();
    assert_eq!(released.streak.len(), 1);
    // A payment reserved as exempt but authorized by its code is not carried.
    let (mixed, exempt) = reserve(&Ledger::default(), code, 1_000, minute(0));
    assert!(exempt);
    let pending: Vec<PaymentId> = mixed.outstanding_tickets(code, minute(1)).collect();
    assert!(pending.is_empty());
    let reset = mixed.after_code(&pending).unwrap();
    assert!(reset.streak.is_empty());
}

#[test]
fn a_ticket_lapses_with_its_payment_not_with_the_policy_in_force() {
    let ticket = PaymentId::random();
    // Issued for a payment of an hour; a code 11 minutes later still finds it outstanding.
    let (ledger, exempt) = Ledger::default()
        .reserve(
            ticket,
            eur(1_000),
            T0,
            T0.saturating_add(HOUR),
            &exempting(),
        )
        .unwrap();
    assert!(exempt);
    let eleven = T0.saturating_add(Duration::from_secs(11 * 60));
    let outstanding: Vec<_> = ledger
        .outstanding_tickets(PaymentId::random(), eleven)
        .collect();
    assert_eq!(outstanding, [ticket]);
    let lapsed: Vec<_> = ledger
        .outstanding_tickets(PaymentId::random(), T0.saturating_add(HOUR))
        .collect();
    assert!(lapsed.is_empty());
}
