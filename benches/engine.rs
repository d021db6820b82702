//! The engine's cost next to its cryptographic floor, its store round trips, its record sizes,
//! and its scaling over two threads, all on the in-memory host.
//!
//! ```sh
//! cargo bench --bench engine            # figures under target/criterion/
//! cargo bench --bench engine -- phone   # only the phone number parsing
//! python3 benches/summary.py            # the table of BENCHMARKS.md from them
//! ```
//!
//! Before the timings, the bench prints what a checkout costs in countable work: store calls,
//! HMAC evaluations and random draws per step, and the size of each record.

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::testkit::{CryptoWork, FaultPlan, FaultyStore, PaymentCodec, block_on};
use buyster::{
    Amount, AnyPayment, CodeCheck, Currency, Engine, Entry, Initiated, Keys, Merchant, Order,
    OtpCode, OtpSent, Payment, PaymentId, PhoneNumber, Pin, PinCheck, PinVerified, Policy,
    SecretKey, Store, Timestamp, Version,
};
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::Sha256;

const MASTER: [u8; 32] = [7; 32];
const T0: u64 = 1_795_786_860_000;
/// A new SMS window before every checkout, so that the per-number cap never trips: the busy
/// buyer, paying every ten minutes day and night, whose spending ledger is full (the heaviest
/// guard record there is).
const NEXT_WINDOW: Duration = Duration::from_secs(601);
/// A month and a day between checkouts: the occasional buyer, whose ledger holds only the
/// payment at hand.
const NEXT_MONTH: Duration = Duration::from_secs(31 * 86_400);
/// The busy buyer's checkouts over 31 days: enough to fill the ledger's 30-day window.
const BUSY_MONTH: u32 = 31 * 144;

struct Shop<St> {
    engine: Engine<St, MemorySms, MemoryBank, ManualClock>,
    sms: MemorySms,
    clock: ManualClock,
    phone: PhoneNumber,
    pin: Pin,
    order: Order,
    /// The time between two checkouts.
    step: Duration,
}

fn order() -> Order {
    let merchant = Merchant::new("boutique-exemple", "Boutique Exemple").expect("valid merchant");
    let amount = Amount::new(4990, Currency::EUR).expect("valid amount");
    Order::new(merchant, amount, "CMD-2026-000123").expect("valid order")
}

/// The default policy with spending limits no benchmark reaches: the bench buyer pays every
/// ten minutes, day and night, so its ledger is always full, the heaviest a guard gets.
fn busy_buyer() -> Policy {
    Policy {
        max_per_24_hours: Amount::MAX_MINOR_UNITS,
        max_per_30_days: Amount::MAX_MINOR_UNITS,
        ..Policy::default()
    }
}

/// An engine over `store`, `sms` and `bank`, with a buyer enrolled under `phone`.
fn shop<St: Store>(store: St, sms: &MemorySms, bank: &MemoryBank, phone: &str) -> Shop<St> {
    let clock = ManualClock::new(Timestamp::from_unix_millis(T0));
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes(MASTER)))
        .store(store)
        .sms(sms.clone())
        .bank(bank.clone())
        .clock(clock.clone())
        .policy(busy_buyer())
        .build()
        .expect("valid policy");
    let phone: PhoneNumber = phone.parse().expect("valid number");
    let pin: Pin = "246813".parse().expect("valid PIN");
    let iban = "FR76 3000 6000 0112 3456 7890 189"
        .parse()
        .expect("valid IBAN");
    block_on(engine.enroll(&phone, &pin, iban)).expect("enrolled");
    Shop {
        engine,
        sms: sms.clone(),
        clock,
        phone,
        pin,
        order: order(),
        step: NEXT_MONTH,
    }
}

/// The occasional buyer's shop.
fn memory_shop() -> Shop<MemoryStore> {
    shop(
        MemoryStore::new(),
        &MemorySms::new(),
        &MemoryBank::new(),
        "+33612345678",
    )
}

/// The busy buyer's shop over `store`, after a month of checkouts: its ledger is full.
fn busy_shop(store: MemoryStore) -> Shop<MemoryStore> {
    let shop = Shop {
        step: NEXT_WINDOW,
        ..shop(store, &MemorySms::new(), &MemoryBank::new(), "+33612345678")
    };
    for _ in 0..BUSY_MONTH {
        block_on(shop.checkout());
    }
    shop
}

/// The size of the busy buyer's guard record, ledger full.
fn busy_guard_len() -> usize {
    let store = MemoryStore::new();
    drop(busy_shop(store.clone()));
    let guard = store
        .keys()
        .into_iter()
        .find(|k| k.as_str().starts_with("guard/"))
        .expect("a guard");
    block_on(store.get(&guard))
        .expect("read")
        .expect("stored")
        .value()
        .len()
}

impl<St: Store> Shop<St> {
    fn initiated(&self) -> Payment<Initiated> {
        self.clock.advance(self.step);
        block_on(self.engine.initiate(self.order.clone(), &self.phone)).expect("initiated")
    }

    fn verified(&self) -> Payment<PinVerified> {
        let payment = self.initiated();
        match block_on(self.engine.verify_pin(payment, &self.pin)).expect("checked") {
            PinCheck::Verified(verified) => verified,
            PinCheck::Rejected { .. } => panic!("right PIN refused"),
        }
    }

    fn sent(&self) -> (Payment<OtpSent>, OtpCode) {
        let sent = block_on(self.engine.send_code(self.verified())).expect("sent");
        (sent, self.sms.last_code(&self.phone).expect("a code"))
    }

    /// A whole checkout as a web server runs it over three requests.
    async fn checkout(&self) {
        self.clock.advance(self.step);
        let payment = self
            .engine
            .initiate(self.order.clone(), &self.phone)
            .await
            .expect("initiated");
        let id = payment.id();
        let payment = self.engine.resume::<Initiated>(id).await.expect("resumed");
        let PinCheck::Verified(verified) = self
            .engine
            .verify_pin(payment, &self.pin)
            .await
            .expect("checked")
        else {
            panic!("right PIN refused");
        };
        drop(self.engine.send_code(verified).await.expect("sent"));
        let payment = self.engine.resume::<OtpSent>(id).await.expect("resumed");
        let code = self.sms.last_code(&self.phone).expect("a code");
        let CodeCheck::Confirmed(confirmed) = self
            .engine
            .confirm(payment, &code)
            .await
            .expect("confirmed")
        else {
            panic!("right code refused");
        };
        black_box(confirmed);
    }
}

/// Store calls, HMACs and random draws of each step of a checkout, and the records' sizes.
fn print_costs() {
    let (plan, store) = (FaultPlan::none(), MemoryStore::new());
    let faulty = FaultyStore::new(store.clone(), plan.clone());
    let shop = shop(
        faulty,
        &MemorySms::new(),
        &MemoryBank::new(),
        "+33612345678",
    );
    let id = Cell::new(None::<PaymentId>);
    let verified = RefCell::new(None);
    let code = RefCell::new(None);
    let steps: [(&str, &dyn Fn()); 6] = [
        ("initiate", &|| {
            id.set(Some(
                block_on(shop.engine.initiate(shop.order.clone(), &shop.phone))
                    .unwrap()
                    .id(),
            ))
        }),
        ("resume", &|| {
            drop(block_on(shop.engine.resume::<Initiated>(id.get().unwrap())).unwrap())
        }),
        ("verify_pin", &|| {
            let payment = block_on(shop.engine.resume::<Initiated>(id.get().unwrap())).unwrap();
            let PinCheck::Verified(v) =
                block_on(shop.engine.verify_pin(payment, &shop.pin)).unwrap()
            else {
                panic!()
            };
            *verified.borrow_mut() = Some(v);
        }),
        ("send_code", &|| {
            drop(block_on(shop.engine.send_code(verified.borrow_mut().take().unwrap())).unwrap());
            *code.borrow_mut() = shop.sms.last_code(&shop.phone);
        }),
        ("resume", &|| {
            drop(block_on(shop.engine.resume::<OtpSent>(id.get().unwrap())).unwrap())
        }),
        ("confirm + settle", &|| {
            let payment = block_on(shop.engine.resume::<OtpSent>(id.get().unwrap())).unwrap();
            drop(
                block_on(
                    shop.engine
                        .confirm(payment, code.borrow().as_ref().unwrap()),
                )
                .unwrap(),
            );
        }),
    ];
    println!(
        "\nA checkout on the memory host, step by step (resume: a server between two requests):"
    );
    println!(
        "{:<18} {:>11} {:>7} {:>11} {:>7}",
        "step", "store calls", "HMACs", "HMAC bytes", "draws"
    );
    let (mut calls_total, mut work_total) = (0, CryptoWork::default());
    for (name, step) in steps {
        // verify_pin and confirm resume their payment first, as a server would; that read is
        // counted in the resume rows, not theirs.
        let (calls, work) = (plan.calls(), CryptoWork::on_this_thread());
        step();
        let resumed = usize::from(matches!(name, "verify_pin" | "confirm + settle"));
        let mut work = CryptoWork::on_this_thread().since(work);
        if resumed == 1 {
            work.hmacs -= 1; // the resume's record verification
        }
        let calls = plan.calls() - calls - resumed;
        println!(
            "{name:<18} {calls:>11} {:>7} {:>11} {:>7}",
            work.hmacs, work.hmac_bytes, work.random_draws
        );
        calls_total += calls;
        work_total.hmacs += work.hmacs;
        work_total.random_draws += work.random_draws;
    }
    println!(
        "{:<18} {calls_total:>11} {:>7} {:>11} {:>7}",
        "checkout", work_total.hmacs, "", work_total.random_draws
    );
    println!("\nRecord sizes, bytes:");
    for key in store.keys() {
        let entry = block_on(store.get(&key)).unwrap().unwrap();
        let kind = key.as_str().split('/').next().unwrap();
        let state = match kind {
            "payment" => format!(
                "({:?})",
                block_on(shop.engine.load(id.get().unwrap()))
                    .unwrap()
                    .kind()
            ),
            _ => String::new(),
        };
        println!("  {kind:<8} {:>4} {state}", entry.value().len());
    }
    println!();
}

fn floor(c: &mut Criterion) {
    print_costs();
    let mut group = c.benchmark_group("floor");
    let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(&[9; 32]).expect("any key length");
    let record = [0x5a_u8; 200];
    group.bench_function("hmac_200_bytes", |b| {
        b.iter(|| {
            let mut mac = keyed.clone();
            mac.update(black_box(&record));
            black_box(mac.finalize().into_bytes())
        })
    });
    // The busy buyer's guard record is read and written at each right PIN: its HMACs cover
    // the whole record.
    // On a thread of its own, so that its month of records is allocated, and freed, away from
    // the heap the timed benches use.
    let guard_len = thread::spawn(busy_guard_len)
        .join()
        .expect("the busy month ran");
    println!("The busy buyer's guard record: {guard_len} bytes\n");
    let guard = vec![0x5a_u8; guard_len];
    group.bench_function("hmac_busy_guard", |b| {
        b.iter(|| {
            let mut mac = keyed.clone();
            mac.update(black_box(&guard));
            black_box(mac.finalize().into_bytes())
        })
    });
    group.bench_function("random_16_bytes", |b| {
        b.iter(|| {
            let mut bytes = [0u8; 16];
            rand::rng().fill(&mut bytes);
            black_box(bytes)
        })
    });
    group.finish();
}

/// Times `run` over `iters` calls on a shop of its own, made fresh for each sample (untimed), so
/// that the in-memory store holds one sample's records, not the whole run's.
fn per_sample(iters: u64, mut run: impl FnMut(&Shop<MemoryStore>)) -> Duration {
    let shop = memory_shop();
    let began = Instant::now();
    for _ in 0..iters {
        run(&shop);
    }
    began.elapsed()
}

/// Like [`per_sample`], preparing each call's input untimed.
fn per_sample_with<I>(
    iters: u64,
    prepare: impl Fn(&Shop<MemoryStore>) -> I,
    run: impl Fn(&Shop<MemoryStore>, I),
) -> Duration {
    let shop = memory_shop();
    let mut spent = Duration::ZERO;
    for _ in 0..iters {
        let input = prepare(&shop);
        let began = Instant::now();
        run(&shop, input);
        spent += began.elapsed();
    }
    spent
}

fn steps(c: &mut Criterion) {
    let mut group = c.benchmark_group("steps");
    group.bench_function("initiate", |b| {
        b.iter_custom(|iters| {
            per_sample(iters, |shop| {
                black_box(block_on(shop.engine.initiate(shop.order.clone(), &shop.phone)).unwrap());
            })
        })
    });
    group.bench_function("resume", |b| {
        b.iter_custom(|iters| {
            per_sample_with(
                iters,
                |shop| shop.initiated().id(),
                |shop, id| {
                    black_box(block_on(shop.engine.resume::<Initiated>(id)).unwrap());
                },
            )
        })
    });
    group.bench_function("verify_pin", |b| {
        b.iter_custom(|iters| {
            per_sample_with(iters, Shop::initiated, |shop, payment| {
                black_box(block_on(shop.engine.verify_pin(payment, &shop.pin)).unwrap());
            })
        })
    });
    group.bench_function("send_code", |b| {
        b.iter_custom(|iters| {
            per_sample_with(iters, Shop::verified, |shop, verified| {
                black_box(block_on(shop.engine.send_code(verified)).unwrap());
            })
        })
    });
    group.bench_function("confirm_and_settle", |b| {
        b.iter_custom(|iters| {
            per_sample_with(iters, Shop::sent, |shop, (sent, code)| {
                black_box(block_on(shop.engine.confirm(sent, &code)).unwrap());
            })
        })
    });
    group.finish();

    let mut group = c.benchmark_group("codec");
    let shop = memory_shop();
    let codec = PaymentCodec::new(Keys::new(1, SecretKey::from_bytes(MASTER)));
    let (sent, _) = shop.sent();
    let id = sent.id();
    let payment = AnyPayment::OtpSent(sent);
    let entry = Entry::new(Version::new(1), codec.encode(&payment));
    group.bench_function("encode_payment", |b| {
        b.iter(|| black_box(codec.encode(black_box(&payment))))
    });
    group.bench_function("decode_payment", |b| {
        b.iter(|| black_box(codec.decode(id, black_box(&entry)).unwrap()))
    });
    group.finish();
}

fn checkout(c: &mut Criterion) {
    c.bench_function("checkout/full", |b| {
        b.iter_custom(|iters| per_sample(iters, |shop| block_on(shop.checkout())))
    });
    c.bench_function("checkout/busy_buyer", |b| {
        b.iter_custom(|iters| {
            let shop = busy_shop(MemoryStore::new());
            let began = Instant::now();
            for _ in 0..iters {
                block_on(shop.checkout());
            }
            began.elapsed()
        })
    });
}

/// Checkouts on `threads` threads, each with its own engine process, number and clock, over one
/// shared store, SMS outbox and bank: the wall time per checkout.
fn contention(c: &mut Criterion) {
    let mut group = c.benchmark_group("contention");
    for threads in [1usize, 2] {
        group.bench_function(format!("{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                let (store, sms, bank) = (MemoryStore::new(), MemorySms::new(), MemoryBank::new());
                let per_thread = iters.div_ceil(threads as u64);
                let start = Arc::new(Barrier::new(threads + 1));
                let workers: Vec<_> = (0..threads)
                    .map(|t| {
                        let shop = shop(store.clone(), &sms, &bank, &format!("+3361234567{t}"));
                        let start = Arc::clone(&start);
                        thread::spawn(move || {
                            start.wait();
                            for _ in 0..per_thread {
                                block_on(shop.checkout());
                            }
                        })
                    })
                    .collect();
                start.wait();
                let began = Instant::now();
                for worker in workers {
                    worker.join().expect("a worker panicked");
                }
                began
                    .elapsed()
                    .mul_f64(iters as f64 / (per_thread * threads as u64) as f64)
            })
        });
    }
    group.finish();
}

/// Reading a typed number against libphonenumber's plan: a French mobile, an overseas mobile
/// typed the French national way (France's plan fails first, then La Réunion's is tried), a
/// North American number, and a landline, refused.
fn phone(c: &mut Criterion) {
    let mut group = c.benchmark_group("phone");
    for (name, input) in [
        ("french_mobile", "06 12 34 56 78"),
        ("overseas_national_form", "0692 12 34 56"),
        ("north_american", "+1 415 555 2671"),
        ("refused_landline", "01 23 45 67 89"),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| black_box(black_box(input).parse::<PhoneNumber>()))
        });
    }
    group.finish();
}

criterion_group!(benches, floor, steps, checkout, contention, phone);
criterion_main!(benches);
