//! A full checkout on the in-memory host: initiate, PIN, code sent, resume (as a web server
//! does between requests), code confirmed and debited.
//!
//! ```sh
//! cargo bench --bench checkout
//! ```

use std::hint::black_box;
use std::time::Duration;

use buyster::memory::{ManualClock, MemoryBank, MemorySms, MemoryStore};
use buyster::{
    Amount, CodeCheck, Currency, Engine, Keys, Merchant, Order, OtpSent, PhoneNumber, Pin,
    PinCheck, SecretKey, Timestamp,
};
use criterion::{Criterion, criterion_group, criterion_main};

type MemoryEngine = Engine<MemoryStore, MemorySms, MemoryBank, ManualClock>;

struct Bench {
    engine: MemoryEngine,
    sms: MemorySms,
    clock: ManualClock,
    phone: PhoneNumber,
    pin: Pin,
    order: Order,
}

async fn setup() -> Bench {
    let (sms, clock) = (
        MemorySms::new(),
        ManualClock::new(Timestamp::from_unix_millis(1_795_786_860_000)),
    );
    let engine = Engine::builder(Keys::new(1, SecretKey::from_bytes([7; 32])))
        .store(MemoryStore::new())
        .sms(sms.clone())
        .bank(MemoryBank::new())
        .clock(clock.clone())
        .build()
        .expect("default policy");
    let phone: PhoneNumber = "+33612345678".parse().expect("valid number");
    let pin: Pin = "246813".parse().expect("valid PIN");
    let iban = "FR76 3000 6000 0112 3456 7890 189"
        .parse()
        .expect("valid IBAN");
    engine.enroll(&phone, &pin, iban).await.expect("enrolled");
    let merchant = Merchant::new("boutique-exemple", "Boutique Exemple").expect("valid merchant");
    let amount = Amount::new(4990, Currency::EUR).expect("valid amount");
    let order = Order::new(merchant, amount, "CMD-2026-000123").expect("valid order");
    Bench {
        engine,
        sms,
        clock,
        phone,
        pin,
        order,
    }
}

async fn checkout(bench: &Bench) {
    // A new SMS window each time, so that the per-number SMS cap never trips.
    bench.clock.advance(Duration::from_secs(601));
    let payment = bench
        .engine
        .initiate(bench.order.clone(), &bench.phone)
        .await
        .expect("initiated");
    let id = payment.id();
    let PinCheck::Verified(verified) = bench
        .engine
        .verify_pin(payment, &bench.pin)
        .await
        .expect("checked")
    else {
        panic!("right PIN refused");
    };
    drop(bench.engine.send_code(verified).await.expect("sent"));
    let payment = bench.engine.resume::<OtpSent>(id).await.expect("resumed");
    let code = bench.sms.last_code(&bench.phone).expect("a code");
    let CodeCheck::Confirmed(confirmed) = bench
        .engine
        .confirm(payment, &code)
        .await
        .expect("confirmed")
    else {
        panic!("right code refused");
    };
    black_box(confirmed);
}

fn full_checkout(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let bench = runtime.block_on(setup());
    c.bench_function("checkout/full", |b| {
        b.to_async(&runtime).iter(|| checkout(&bench))
    });
}

criterion_group!(benches, full_checkout);
criterion_main!(benches);
