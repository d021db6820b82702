//! Timing side-channel checks by the dudect method (Reparaz, Balasch, Verbauwhede, 2017): run an
//! operation on two classes of secret input, interleaved at random, time every run, and test
//! whether the two timing distributions differ with Welch's t-test, on the whole distribution
//! and on its faster parts (cropped at several percentiles). |t| above 10 over a million
//! samples is taken as a leak; below it, as none found. Each pair runs three times and the
//! median |t| is its verdict.
//!
//! On a shared virtual machine the hash itself can show |t| well above 10 between inputs that
//! differ in one bit (the CPU, not the code: no branch and no memory access depends on the
//! data). Each check is therefore measured next to its baseline, the same inputs through the
//! primitive alone (the HMAC for the PIN and code checks, the store's lookup for
//! `verify_pin`), and fails when it adds more than 10 to the baseline's |t|.
//!
//! The checks are `#[ignore]`d (they take about a minute, and want a quiet, optimized build):
//!
//! ```text
//! cargo test --release --lib timing -- --ignored --nocapture --test-threads 1
//! ```
//!
//! Each prints its max |t|. A negative control (an early-exit comparison) must show |t| > 10,
//! and an A/A control (one class against itself) |t| < 10: the harness sees a leak where there
//! is one and none where there is none. `TIMING_VERBOSE=1` prints the means behind each |t|.
//!
//! What timing cannot show, a count does: `tests/suite/cost.rs` asserts how many tag comparisons
//! each step makes in constant time, so a comparison rewritten with `==` fails CI even where
//! its leak (a few cycles after an HMAC) is below what a clock can see.
#![allow(
    clippy::float_arithmetic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    reason = "statistics over timings, in test code"
)]

use std::hint::black_box;
use std::time::Instant;

/// Samples per pair of classes.
const SAMPLES: usize = 1_000_000;
/// Samples used first to place the crop thresholds.
const WARM_UP: usize = 20_000;
/// Above this |t|, the two classes are told apart.
const LEAK: f64 = 10.0;

/// Running mean and variance (Welford).
#[derive(Clone, Copy, Default)]
struct Moments {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn push(&mut self, x: f64) {
        self.n += 1.0;
        let delta = x - self.mean;
        self.mean += delta / self.n;
        self.m2 += delta * (x - self.mean);
    }

    fn variance(&self) -> f64 {
        self.m2 / (self.n - 1.0)
    }
}

/// Welch's t statistic of two samples.
fn welch(a: &Moments, b: &Moments) -> f64 {
    (a.mean - b.mean) / (a.variance() / a.n + b.variance() / b.n).sqrt()
}

/// SplitMix64: the class of each sample is its top bit.
fn next_class(state: &mut u64) -> usize {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 63) as usize
}

/// Times `run` on `prepare(class)` for classes 0 and 1 drawn at random (preparing is not
/// timed), and returns the largest |t| over the crops.
fn max_t<I>(samples: usize, mut prepare: impl FnMut(usize) -> I, mut run: impl FnMut(I)) -> f64 {
    let mut time = |class: usize| {
        let input = prepare(class);
        let start = Instant::now();
        run(black_box(input));
        start.elapsed().as_nanos() as f64
    };
    let mut rng = Instant::now().elapsed().as_nanos() as u64 ^ 0x2545_f491_4f6c_dd1d;
    // Settle caches, branch predictors and the clock frequency before anything counts.
    for _ in 0..WARM_UP {
        time(next_class(&mut rng));
    }
    let mut warm: Vec<f64> = (0..WARM_UP).map(|_| time(next_class(&mut rng))).collect();
    warm.sort_by(f64::total_cmp);
    let crops: Vec<f64> = [0.5, 0.75, 0.9, 0.95, 0.99, 1.0]
        .iter()
        .map(|q| {
            if *q >= 1.0 {
                f64::INFINITY
            } else {
                warm[(q * warm.len() as f64) as usize]
            }
        })
        .collect();
    let mut stats = vec![[Moments::default(); 2]; crops.len()];
    for _ in 0..samples {
        let class = next_class(&mut rng);
        let t = time(class);
        for (crop, stat) in crops.iter().zip(stats.iter_mut()) {
            if t <= *crop {
                stat[class].push(t);
            }
        }
    }
    if std::env::var_os("TIMING_VERBOSE").is_some() {
        for [a, b] in &stats {
            println!(
                "    means {:.2} / {:.2} ns over {} / {}: t = {:.2}",
                a.mean,
                b.mean,
                a.n,
                b.n,
                welch(a, b)
            );
        }
    }
    stats
        .iter()
        .map(|[a, b]| welch(a, b).abs())
        .fold(0.0, f64::max)
}

/// A new value parsed from `digits`, made for each sample so that both classes' inputs sit at
/// the same place in memory (two long-lived values at two addresses time differently).
fn fresh<T: core::str::FromStr>(digits: &str) -> T
where
    T::Err: core::fmt::Debug,
{
    digits.parse().unwrap()
}

/// The comparison done wrong: byte by byte, stopping at the first difference.
fn early_exit_equal(a: &[u8], b: &[u8]) -> bool {
    for (x, y) in a.iter().zip(b) {
        // `black_box` keeps the compiler from turning the loop into one `bcmp` call.
        if black_box(*x) != black_box(*y) {
            return false;
        }
    }
    a.len() == b.len()
}

/// Independent runs of each check; the verdict is their median |t|. A leak shows in every run;
/// a burst of noise from a shared machine in one run at most.
const RUNS: usize = 3;

/// Runs `max_t` on the pair `RUNS` times, prints each max |t| and their median, and returns
/// the median.
fn report<I>(name: &str, mut prepare: impl FnMut(usize) -> I, mut run: impl FnMut(I)) -> f64 {
    let mut ts: Vec<f64> = (0..RUNS)
        .map(|_| max_t(SAMPLES, &mut prepare, &mut run))
        .collect();
    let runs: Vec<String> = ts.iter().map(|t| format!("{t:.1}")).collect();
    ts.sort_by(f64::total_cmp);
    let median = ts[RUNS / 2];
    println!(
        "{name:<52} max |t| = {median:8.2}  (runs: {})",
        runs.join(", ")
    );
    median
}

/// The output of a future that is ready at once, as every call on the in-memory host is.
fn ready<F: core::future::Future>(future: F) -> F::Output {
    let mut future = core::pin::pin!(future);
    let mut context = core::task::Context::from_waker(core::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        core::task::Poll::Ready(output) => output,
        core::task::Poll::Pending => panic!("the in-memory host never waits"),
    }
}

/// A store whose lookups cost the same whether they find the one account it holds or not: one
/// full-length comparison and one copy of the record either way (dropped at once when not
/// found). Writes are accepted and dropped, so no guard ever locks. Handing back a record or
/// none still differs by a fraction of a nanosecond, which the harness sees: the check on
/// `verify_pin` is made against this store's own figure.
struct EvenStore {
    key: Key,
    entry: Entry,
}

impl Store for EvenStore {
    async fn get(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        let (a, b) = (key.as_str().as_bytes(), self.key.as_str().as_bytes());
        let diff = a
            .iter()
            .zip(b)
            .fold(a.len() ^ b.len(), |acc, (x, y)| acc | usize::from(x ^ y));
        let entry = self.entry.clone();
        Ok((black_box(diff) == 0).then_some(entry))
    }

    async fn put(&self, _: &Key, _: Option<Version>, _: Write) -> Result<Version, StoreError> {
        Ok(Version::new(1))
    }

    async fn due(&self, _: Timestamp, _: usize) -> Result<Vec<Due>, StoreError> {
        Ok(Vec::new())
    }

    async fn outbox(&self, _: usize) -> Result<Vec<Outboxed>, StoreError> {
        Ok(Vec::new())
    }

    async fn acknowledge(&self, _: &[u64]) -> Result<(), StoreError> {
        Ok(())
    }
}

mod probes {
    use super::*;
    use crate::keys::Keys;
    use crate::secret::SecretKey;

    pub(super) fn keys() -> Keys {
        Keys::new(1, SecretKey::from_bytes([0x42; 32]))
    }

    /// An account record whose PIN is 246813.
    pub(super) fn account_record(keys: &Keys, key: &Key) -> Vec<u8> {
        let funding = "FR76 3000 6000 0112 3456 7890 189".parse().unwrap();
        Account::new(
            keys,
            &"246813".parse().unwrap(),
            funding,
            Timestamp::from_unix_millis(0),
        )
        .encode(keys, key)
    }
}

#[test]
#[ignore = "timing: run with --release, see the module docs"]
fn pin_check_is_constant_time() {
    let keys = probes::keys();
    let key = Key::account("0011");
    let record = probes::account_record(&keys, &key);
    let account = Account::open(&keys, &key, &record).unwrap();
    let mut worst: f64 = 0.0;
    for (name, a, b) in [
        ("PIN check: right vs wrong last digit", "246813", "246814"),
        ("PIN check: right vs wrong first digit", "246813", "346813"),
        (
            "PIN check: wrong last vs wrong first digit",
            "246814",
            "346813",
        ),
    ] {
        let pins = [a, b];
        // The hash alone on the same inputs: what the primitive and the machine show by
        // themselves, which the check around it must not add to.
        let hash = report(
            "  (HMAC alone, same inputs)",
            |class| fresh::<Pin>(pins[class]),
            |pin| {
                black_box(keys.current().pin_tag(&[7; 16], &pin));
            },
        );
        let check = report(
            name,
            |class| fresh::<Pin>(pins[class]),
            |pin| {
                black_box(account.pin_matches(&keys, &pin).unwrap());
            },
        );
        worst = worst.max(check - hash);
    }
    assert!(
        worst < LEAK,
        "the PIN check adds a leak to its hash: max |t| {worst:.1} above it"
    );
}

#[test]
#[ignore = "timing: run with --release, see the module docs"]
fn code_check_is_constant_time() {
    use crate::money::{Amount, Currency};
    use crate::order::{Merchant, Order};
    use crate::payment::Payment;
    use crate::payment::steps::{Accepted, bound_to, code_matches, code_sent, pin_verified};
    use crate::policy::Policy;
    use crate::secret::OtpCode;

    let keys = probes::keys();
    let now = Timestamp::from_unix_millis(1_800_000_000_000);
    let order = Order::new(
        Merchant::new("shop", "Shop").unwrap(),
        Amount::new(4990, Currency::EUR).unwrap(),
        "ref",
    )
    .unwrap();
    let payment = Payment::new(
        order,
        "+33612345678".parse().unwrap(),
        now,
        Policy::default().payment_ttl,
    );
    let payment = pin_verified(
        payment,
        "token:t".parse().unwrap(),
        now,
        Accepted::new(false, false),
    );
    let right: OtpCode = "482913".parse().unwrap();
    let payment = code_sent(payment, &right, now, &keys, &Policy::default());
    let mut worst: f64 = 0.0;
    for (name, a, b) in [
        ("code check: right vs wrong last digit", "482913", "482914"),
        ("code check: right vs wrong first digit", "482913", "582913"),
        (
            "code check: wrong last vs wrong first digit",
            "482914",
            "582913",
        ),
    ] {
        let codes = [a, b];
        let hash = report(
            "  (HMAC alone, same inputs)",
            |class| fresh::<OtpCode>(codes[class]),
            |code| {
                black_box(bound_to(&payment, |binding| {
                    keys.current().code_tag(binding, &code)
                }));
            },
        );
        let check = report(
            name,
            |class| fresh::<OtpCode>(codes[class]),
            |code| {
                black_box(code_matches(&payment, &code, &keys).unwrap());
            },
        );
        worst = worst.max(check - hash);
    }
    assert!(
        worst < LEAK,
        "the code check adds a leak to its hash: max |t| {worst:.1} above it"
    );
}

#[test]
#[ignore = "timing: run with --release, see the module docs"]
fn unknown_number_and_wrong_pin_take_the_same_time() {
    use crate::memory::{ManualClock, MemoryBank, MemorySms};
    use crate::{Amount, Currency, Engine, Merchant, Order, PhoneNumber};

    let keys = probes::keys();
    let known: PhoneNumber = "+33612345678".parse().unwrap();
    let unknown: PhoneNumber = "+33698765432".parse().unwrap();
    let key = Key::account(&keys.account_index(&known));
    let other = Key::account(&keys.account_index(&unknown));
    let entry = Entry::new(Version::new(1), probes::account_record(&keys, &key));
    let store = EvenStore {
        key: key.clone(),
        entry: entry.clone(),
    };
    let engine = Engine::builder(keys)
        .store(EvenStore {
            key: key.clone(),
            entry,
        })
        .sms(MemorySms::new())
        .bank(MemoryBank::new())
        .clock(ManualClock::new(Timestamp::from_unix_millis(
            1_800_000_000_000,
        )))
        .build()
        .unwrap();
    let merchant = Merchant::new("shop", "Shop").unwrap();
    let order = Order::new(merchant, Amount::new(4990, Currency::EUR).unwrap(), "ref").unwrap();
    let phones = [known, unknown];
    let wrong: Pin = "135790".parse().unwrap();
    // The store's own answer, a record or none, is the host's part of the timing: measure it
    // alone, and require the engine to add nothing detectable to it.
    let lookups = [key, other];
    let store_t = report(
        "store alone: found vs not found",
        |class| &lookups[class],
        |key| {
            black_box(ready(store.get(key)).unwrap());
        },
    );
    let t = report(
        "verify_pin: wrong PIN vs unknown number",
        |class| ready(engine.initiate(order.clone(), &phones[class])).unwrap(),
        |payment| {
            black_box(ready(engine.verify_pin(payment, &wrong)).unwrap());
        },
    );
    assert!(
        t < LEAK + store_t,
        "verify_pin tells unknown numbers apart beyond the store: max |t| = {t:.1}, the store alone {store_t:.1}"
    );
}

#[test]
#[ignore = "timing: run with --release, see the module docs"]
fn controls_show_the_harness_sees_a_leak_and_no_ghost() {
    let keys = probes::keys();
    let key = Key::account("0011");
    let record = probes::account_record(&keys, &key);
    let account = Account::open(&keys, &key, &record).unwrap();
    // An early-exit comparison of 4 KiB, equal against different in the first byte.
    let secret = vec![0x5a_u8; 4096];
    let guesses = [secret.clone(), [vec![0xa5], vec![0x5a; 4095]].concat()];
    let leak = report(
        "negative control: early-exit comparison of 4 KiB",
        |class| &guesses[class],
        |guess| {
            black_box(early_exit_equal(&secret, guess));
        },
    );
    let ghost = report(
        "A/A control: one class against itself",
        |_| fresh::<Pin>("246814"),
        |pin| {
            black_box(account.pin_matches(&keys, &pin).unwrap());
        },
    );
    assert!(
        leak > LEAK,
        "the harness missed an early-exit comparison: max |t| = {leak:.1}"
    );
    assert!(
        ghost < LEAK,
        "the harness sees a difference between equal classes: max |t| = {ghost:.1}"
    );
}

use crate::account::Account;
use crate::host::{Due, Entry, Key, Outboxed, Store, StoreError, Version, Write};
use crate::secret::Pin;
use crate::time::Timestamp;
