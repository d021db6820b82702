//! Concurrency stress: 200 rounds of 16 `std` threads racing on one payment or one number,
//! with the store yielding at random inside every call so that reads and writes interleave.
//! Every guess is answered at most once per counter value, every payment debited at most once.
#![cfg(feature = "testkit")]

use std::sync::{Barrier, Mutex};
use std::thread;

use crate::common::*;
use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::testkit::{FaultPlan, FaultyStore, block_on};
use buyster::{
    CancelReason, CodeCheck, Engine, Error, Initiated, Keys, OtpCode, OtpSent, Payment, PaymentId,
    PhoneNumber, PinCheck, SecretKey, StateKind,
};

const ROUNDS: u64 = 200;
const THREADS: usize = 16;

type StressEngine = Engine<FaultyStore<Batching<MemoryStore>>, MemorySms, MemoryBank, ManualClock>;

struct Round {
    engine: StressEngine,
    sms: MemorySms,
    bank: MemoryBank,
    clock: ManualClock,
    phone: PhoneNumber,
}

impl Round {
    /// A fresh host whose store yields 0 to 3 times in each call, drawn from `seed`.
    fn new(seed: u64) -> Self {
        Self::with(seed, true)
    }

    /// A fresh host as [`Round::new`] makes, over a store that writes batches or not.
    fn with(seed: u64, batches: bool) -> Self {
        let (sms, bank, clock) = (MemorySms::new(), MemoryBank::new(), ManualClock::new(T0));
        let store = Batching {
            inner: MemoryStore::new(),
            batches,
        };
        let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
            .store(FaultyStore::new(store, FaultPlan::seeded(seed, 0)))
            .sms(sms.clone())
            .bank(bank.clone())
            .clock(clock.clone())
            .build()
            .unwrap();
        let phone: PhoneNumber = PHONE.parse().unwrap();
        block_on(engine.enroll(&phone, &pin(PIN), IBAN.parse().unwrap())).unwrap();
        Self {
            engine,
            sms,
            bank,
            clock,
            phone,
        }
    }

    fn sent(&self) -> PaymentId {
        block_on(async {
            let payment = self
                .engine
                .initiate(order(4990), &self.phone)
                .await
                .unwrap();
            let PinCheck::Verified(verified) =
                self.engine.verify_pin(payment, &pin(PIN)).await.unwrap()
            else {
                panic!("right PIN refused");
            };
            self.engine.send_code(verified).await.unwrap().id()
        })
    }

    /// One initiated payment per racing thread, for the threads to take.
    fn initiated(&self) -> Mutex<Vec<Payment<Initiated>>> {
        let payments = (0..THREADS)
            .map(|_| block_on(self.engine.initiate(order(4990), &self.phone)).unwrap())
            .collect();
        Mutex::new(payments)
    }

    fn code(&self) -> OtpCode {
        self.sms.last_code(&self.phone).unwrap()
    }

    fn kind(&self, id: PaymentId) -> StateKind {
        block_on(self.engine.load(id)).unwrap().kind()
    }
}

/// Runs `task(i)` on `THREADS` threads released at once, and collects the answers.
fn race<T: Send>(task: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let start = Barrier::new(THREADS);
    thread::scope(|scope| {
        let threads: Vec<_> = (0..THREADS)
            .map(|i| {
                let (start, task) = (&start, &task);
                scope.spawn(move || {
                    start.wait();
                    task(i)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

#[test]
fn racing_confirmations_with_the_right_code_confirm_once() {
    for seed in 0..ROUNDS {
        let round = Round::new(seed);
        let id = round.sent();
        let code = round.code();
        let answers = race(|_| {
            block_on(async {
                let payment = round.engine.resume::<OtpSent>(id).await?;
                round.engine.confirm(payment, &code).await
            })
        });
        let mut confirmed = 0;
        for answer in answers {
            match answer {
                Ok(CodeCheck::Confirmed(_)) => confirmed += 1,
                Ok(CodeCheck::Rejected { .. }) => panic!("the right code was rejected"),
                Err(Error::WrongState { .. } | Error::Conflict) => {}
                Err(other) => panic!("{other}"),
            }
        }
        assert_eq!(confirmed, 1, "seed {seed}");
        assert_eq!(round.bank.debits().len(), 1, "seed {seed}");
        assert_eq!(round.kind(id), StateKind::Confirmed);
    }
}

#[test]
fn parallel_wrong_codes_get_at_most_the_allowed_answers() {
    for seed in 0..ROUNDS {
        let round = Round::new(seed);
        let id = round.sent();
        let wrong = other_code(&round.code());
        let answers = race(|_| {
            block_on(async {
                let payment = round.engine.resume::<OtpSent>(id).await?;
                round.engine.confirm(payment, &wrong).await
            })
        });
        let (mut rejected, mut exhausted) = (Vec::new(), 0);
        for answer in answers {
            match answer {
                Ok(CodeCheck::Rejected { attempts_left, .. }) => rejected.push(attempts_left),
                Ok(CodeCheck::Confirmed(_)) => panic!("a wrong code confirmed"),
                Err(Error::TooManyAttempts) => exhausted += 1,
                Err(Error::WrongState { .. } | Error::Conflict) => {}
                Err(other) => panic!("{other}"),
            }
        }
        rejected.sort_unstable();
        assert_eq!(
            (rejected.as_slice(), exhausted),
            (&[1, 2][..], 1),
            "seed {seed}: 3 answers, one per attempt"
        );
        assert_eq!(round.kind(id), StateKind::Failed);
        assert!(round.bank.debits().is_empty());
    }
}

#[test]
fn parallel_wrong_pins_across_payments_are_answered_up_to_the_lock() {
    for seed in 0..ROUNDS {
        let round = Round::new(seed);
        let payments = round.initiated();
        let answers = race(|_| {
            let payment = payments.lock().unwrap().pop().unwrap();
            block_on(round.engine.verify_pin(payment, &pin(WRONG_PIN)))
        });
        let (mut rejected, mut locked) = (Vec::new(), 0);
        for answer in answers {
            match answer {
                Ok(PinCheck::Rejected { attempts_left, .. }) => rejected.push(attempts_left),
                Ok(PinCheck::Verified(_)) => panic!("a wrong PIN verified"),
                Err(Error::Locked { .. }) => locked += 1,
                Err(Error::Conflict) => {}
                Err(other) => panic!("{other}"),
            }
        }
        rejected.sort_unstable();
        assert_eq!(
            rejected,
            [1, 2],
            "seed {seed}: at most max_pin_failures answers, then the lock"
        );
        assert!(locked >= 1, "seed {seed}");
        let payment = block_on(round.engine.initiate(order(4990), &round.phone)).unwrap();
        assert!(matches!(
            block_on(round.engine.verify_pin(payment, &pin(PIN))),
            Err(Error::Locked { .. })
        ));
    }
}

#[test]
fn racing_resends_never_send_more_than_the_cap() {
    for seed in 0..ROUNDS {
        let round = Round::new(seed);
        let id = round.sent();
        // Waves of racing resends, each after the cooldown: one SMS per wave, until the cap.
        for wave in 1..=4usize {
            round.clock.advance(seconds(30));
            let answers = race(|_| {
                block_on(async {
                    let payment = round.engine.resume::<OtpSent>(id).await?;
                    round.engine.resend_code(payment).await
                })
            });
            let resent = answers.iter().filter(|a| a.is_ok()).count();
            for answer in answers {
                match answer {
                    Ok(_)
                    | Err(Error::ResendTooSoon { .. } | Error::ResendLimit | Error::Conflict) => {}
                    Err(other) => panic!("{other}"),
                }
            }
            assert_eq!(resent, usize::from(wave <= 3), "seed {seed}, wave {wave}");
            assert_eq!(
                round.sms.sent().len(),
                1 + wave.min(3),
                "seed {seed}, wave {wave}"
            );
        }
    }
}

#[test]
fn cancel_racing_confirm_ends_one_way_only() {
    for seed in 0..ROUNDS {
        let round = Round::new(seed);
        let id = round.sent();
        let code = round.code();
        let answers = race(|i| {
            block_on(async {
                if i % 2 == 0 {
                    let payment = round.engine.resume::<OtpSent>(id).await?;
                    round
                        .engine
                        .confirm(payment, &code)
                        .await
                        .map(|_| StateKind::Confirmed)
                } else {
                    round
                        .engine
                        .cancel(id, CancelReason::Buyer)
                        .await
                        .map(|_| StateKind::Failed)
                }
            })
        });
        let confirmed = answers
            .iter()
            .filter(|a| matches!(a, Ok(StateKind::Confirmed)))
            .count();
        match round.kind(id) {
            StateKind::Confirmed => {
                assert_eq!(confirmed, 1, "seed {seed}");
                assert_eq!(round.bank.debits().len(), 1, "seed {seed}");
                assert!(
                    !answers.iter().any(|a| matches!(a, Ok(StateKind::Failed))),
                    "seed {seed}"
                );
            }
            StateKind::Failed => {
                assert_eq!(confirmed, 0, "seed {seed}");
                assert!(round.bank.debits().is_empty(), "seed {seed}");
            }
            other => panic!("seed {seed}: {other}"),
        }
    }
}

#[test]
fn a_right_pin_among_parallel_guesses_is_answered_only_before_the_lock() {
    for seed in 0..ROUNDS {
        let round = Round::new(seed);
        let payments = round.initiated();
        let answers = race(|i| {
            let payment = payments.lock().unwrap().pop().unwrap();
            let digits = if i == THREADS / 2 { PIN } else { WRONG_PIN };
            block_on(round.engine.verify_pin(payment, &pin(digits)))
        });
        let wrong = answers
            .iter()
            .filter(|a| matches!(a, Ok(PinCheck::Rejected { .. })))
            .count();
        let right = answers
            .iter()
            .filter(|a| matches!(a, Ok(PinCheck::Verified(_))))
            .count();
        // Attempts are serialized on the number's guard. A right PIN is answered only before
        // the lock and resets the count: at most 2 wrong answers before it and 2 after it.
        assert!(right <= 1);
        assert!(
            wrong <= 2 * (right + 1),
            "seed {seed}: {wrong} wrong and {right} right answered"
        );
    }
}

/// One right PIN among fifteen wrong ones on the same number, on a store that writes batches
/// (the right PIN's guard and payment in one write) or not (the guard, then the payment).
fn a_right_pin_racing_wrong_pins(batches: bool) {
    let mut rounds_right = 0;
    for seed in 0..ROUNDS {
        let round = Round::with(seed, batches);
        let payments = round.initiated();
        let answers = race(|i| {
            let payment = payments.lock().unwrap().pop().unwrap();
            let id = payment.id();
            let digits = if i == THREADS / 2 { PIN } else { WRONG_PIN };
            (id, block_on(round.engine.verify_pin(payment, &pin(digits))))
        });
        let (mut rejected, mut verified) = (Vec::new(), Vec::new());
        for (id, answer) in &answers {
            match answer {
                Ok(PinCheck::Rejected { attempts_left, .. }) => rejected.push(*attempts_left),
                Ok(PinCheck::Verified(_)) => verified.push(*id),
                Err(Error::Locked { .. } | Error::Conflict) => {}
                Err(other) => panic!("seed {seed}: {other}"),
            }
        }
        rejected.sort_unstable();
        // The guesses are answered one at a time on the guard: wrong ones count down 2, 1,
        // the third in a row locks. The right one, when it comes before the lock, resets the
        // count (after at most 2 wrong ones), and 2 more wrong ones then lock: it is never
        // answered after the lock.
        let expected: &[&[u8]] = match verified.len() {
            0 => &[&[1, 2]],
            1 => &[&[1, 2], &[1, 2, 2], &[1, 1, 2, 2]],
            more => panic!("seed {seed}: {more} right answers"),
        };
        assert!(
            expected.contains(&rejected.as_slice()),
            "seed {seed}: {rejected:?} answered wrong, {} right",
            verified.len()
        );
        // The lock holds, even against the right PIN.
        let payment = block_on(round.engine.initiate(order(4990), &round.phone)).unwrap();
        assert!(matches!(
            block_on(round.engine.verify_pin(payment, &pin(PIN))),
            Err(Error::Locked { .. })
        ));
        // Only the verified payment moved; every other one still waits for its PIN.
        for (id, _) in &answers {
            let kind = if verified.contains(id) {
                StateKind::PinVerified
            } else {
                StateKind::Initiated
            };
            assert_eq!(round.kind(*id), kind, "seed {seed}");
        }
        // Its amount is reserved once: unlocked, EUR 1,500 a day leaves exactly the rest.
        block_on(round.engine.back_office().unlock(&round.phone)).unwrap();
        let reserved = 4990 * verified.len() as u64;
        for minor in [100_000, 50_000 - reserved] {
            let payment = block_on(round.engine.initiate(order(minor), &round.phone)).unwrap();
            let check = block_on(round.engine.verify_pin(payment, &pin(PIN)));
            assert!(matches!(check, Ok(PinCheck::Verified(_))), "seed {seed}");
        }
        let payment = block_on(round.engine.initiate(order(1), &round.phone)).unwrap();
        let check = block_on(round.engine.verify_pin(payment, &pin(PIN)));
        assert!(
            matches!(check, Err(Error::LimitExceeded { .. })),
            "seed {seed}: {check:?}"
        );
        rounds_right += verified.len();
    }
    // Both ways happen: the right PIN before the lock, and after it.
    assert!(
        (1..ROUNDS as usize).contains(&rounds_right),
        "the right PIN answered in {rounds_right} of {ROUNDS} rounds"
    );
}

#[test]
fn a_right_pin_racing_wrong_pins_in_one_batch_is_answered_only_before_the_lock() {
    a_right_pin_racing_wrong_pins(true);
}

#[test]
fn a_right_pin_racing_wrong_pins_one_write_at_a_time_is_answered_only_before_the_lock() {
    a_right_pin_racing_wrong_pins(false);
}

#[test]
fn parallel_right_pins_never_reserve_beyond_the_24_hour_limit() {
    for seed in 0..ROUNDS {
        let round = Round::new(seed);
        // Sixteen payments of EUR 100 each against EUR 1,500 a day: fifteen fit.
        let payments: Vec<_> = (0..THREADS)
            .map(|_| block_on(round.engine.initiate(order(10_000), &round.phone)).unwrap())
            .collect();
        let payments = Mutex::new(payments);
        let answers = race(|_| {
            let payment = payments.lock().unwrap().pop().unwrap();
            block_on(round.engine.verify_pin(payment, &pin(PIN)))
        });
        let verified = answers
            .iter()
            .filter(|a| matches!(a, Ok(PinCheck::Verified(_))))
            .count();
        let refused = answers
            .iter()
            .filter(|a| matches!(a, Err(Error::LimitExceeded { .. })))
            .count();
        let conflicts = answers
            .iter()
            .filter(|a| matches!(a, Err(Error::Conflict)))
            .count();
        assert!(verified <= 15, "seed {seed}: {verified} verified");
        assert_eq!(verified + refused + conflicts, THREADS, "seed {seed}");
        assert!(refused + conflicts >= 1, "seed {seed}");
    }
}

#[test]
fn racing_refunds_never_refund_twice_nor_beyond_the_payment() {
    for seed in 0..ROUNDS / 4 {
        let round = Round::new(seed);
        let id = round.sent();
        let payment = block_on(round.engine.resume::<OtpSent>(id)).unwrap();
        block_on(round.engine.confirm(payment, &round.code())).unwrap();
        // Four keys of EUR 20 each, each asked for by four threads, on EUR 49.90: two fit.
        race(|i| {
            block_on(async {
                let payment = round.engine.resume::<buyster::Confirmed>(id).await?;
                let key = format!("k{}", i % 4).parse().unwrap();
                let amount = buyster::Amount::new(2000, buyster::Currency::EUR).unwrap();
                let reason = buyster::RefundReason::Returned;
                round.engine.refund(payment, amount, reason, &key).await
            })
        });
        let refunds = round.bank.refunds();
        let total: u64 = refunds.iter().map(|r| r.amount().minor_units()).sum();
        assert!(total <= 4990, "seed {seed}: {total} refunded");
        let mut keys: Vec<&str> = refunds.iter().map(|r| r.idempotency_key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(
            keys.len(),
            refunds.len(),
            "seed {seed}: a key refunded twice"
        );
        let stored = block_on(round.engine.resume::<buyster::Confirmed>(id)).unwrap();
        assert!(stored.refunds().len() <= 2, "seed {seed}");
        // The record and the bank agree: what the bank gave back is refunded in the record,
        // or pending there when a racing call kept it from recording the answer.
        let refunded = stored.refunded().map_or(0, |a| a.minor_units());
        let set_aside = 4990 - stored.refundable().map_or(0, |a| a.minor_units());
        assert!(
            refunded <= total && total <= set_aside,
            "seed {seed}: {refunded} <= {total} <= {set_aside}"
        );
    }
}

#[test]
fn racing_right_enrollment_codes_make_one_account_with_the_winners_pin() {
    use buyster::{EnrollmentCheck, EnrollmentKind};
    const PINS: [&str; 2] = [PIN, "402517"];
    for seed in 0..ROUNDS / 2 {
        let round = Round::new(seed);
        let phone: PhoneNumber = "+33611223344".parse().unwrap();
        let started = block_on(round.engine.start_enrollment(&phone)).unwrap();
        let (id, code) = (started.id(), round.sms.last_code(&phone).unwrap());
        let answers = race(|i| {
            block_on(async {
                let enrollment = round.engine.resume_enrollment(id).await?;
                let funding = IBAN.parse().unwrap();
                let answer = round
                    .engine
                    .finish_enrollment(enrollment, &code, &pin(PINS[i % 2]), funding)
                    .await;
                answer.map(|check| (i, check))
            })
        });
        let mut winners = Vec::new();
        for answer in answers {
            match answer {
                Ok((i, EnrollmentCheck::Enrolled(_))) => winners.push(i),
                Ok((_, EnrollmentCheck::Rejected { .. })) => panic!("the right code was rejected"),
                Err(Error::WrongEnrollmentState { .. } | Error::Conflict) => {}
                Err(other) => panic!("seed {seed}: {other}"),
            }
        }
        assert_eq!(winners.len(), 1, "seed {seed}: {winners:?}");
        let stored = block_on(round.engine.load_enrollment(id)).unwrap();
        assert_eq!(stored.kind(), EnrollmentKind::Enrolled, "seed {seed}");
        // The account holds the PIN of the one call that used the code.
        let payment = block_on(round.engine.initiate(order(4990), &phone)).unwrap();
        let winner = pin(PINS[winners[0] % 2]);
        let check = block_on(round.engine.verify_pin(payment, &winner)).unwrap();
        assert!(matches!(check, PinCheck::Verified(_)), "seed {seed}");
    }
}
