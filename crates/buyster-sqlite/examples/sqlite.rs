//! A complete checkout with the engine's records in an SQLite file, the server restarted
//! between the SMS and the code: the payment is read back from the file.
//!
//! ```sh
//! cargo run -p buyster-sqlite --example sqlite
//! ```

use buyster::memory::{MemoryBank, MemorySms};
use buyster::{
    Amount, CodeCheck, Currency, Engine, FundingSource, Keys, Language, Merchant, Order, OtpSent,
    PhoneNumber, Pin, PinCheck, SecretKey, Store, Timestamp,
};
use buyster_sqlite::SqliteStore;

type Error = Box<dyn std::error::Error>;

/// The engine on `store`, with the demo's SMS gateway and bank.
fn engine(
    store: &SqliteStore,
    master: &SecretKey,
    sms: &MemorySms,
    bank: &MemoryBank,
) -> Result<Engine<SqliteStore, MemorySms, MemoryBank>, Error> {
    // In production the master key comes from a secret manager, the same at every start.
    let keys = Keys::new(1, SecretKey::from_bytes(*master.expose_secret()));
    Ok(Engine::builder(keys)
        .store(store.clone())
        .sms(sms.clone())
        .bank(bank.clone())
        .build()?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("payments.db");
    let master = SecretKey::generate();
    let (sms, bank) = (MemorySms::new(), MemoryBank::new());

    let store = SqliteStore::open(&path)?;
    let first = engine(&store, &master, &sms, &bank)?;
    let phone: PhoneNumber = "06 12 34 56 78".parse()?;
    let pin: Pin = "246813".parse()?;
    let iban: FundingSource = "FR76 3000 6000 0112 3456 7890 189".parse()?;
    first.enroll(&phone, &pin, iban).await?;
    let merchant = Merchant::new("boutique-exemple", "Boutique Exemple")?;
    let order = Order::new(
        merchant,
        Amount::new(4990, Currency::EUR)?,
        "CMD-2026-000123",
    )?;
    let payment = first.initiate(order, &phone).await?;
    let id = payment.id();
    let PinCheck::Verified(verified) = first.verify_pin(payment, &pin).await? else {
        return Err("the PIN was refused".into());
    };
    let sent = first.send_code(verified).await?;
    println!("payment {id}: code sent to {}", phone.masked());
    println!("  store: {:?}", store.stats());
    // Dropping the last handle stops the store's threads and closes the file.
    drop((sent, first, store));

    // The server restarts: a new store on the same file, a new engine with the same key.
    let store = SqliteStore::open(&path)?;
    let second = engine(&store, &master, &sms, &bank)?;
    let payment = second.resume::<OtpSent>(id).await?;
    let code = sms.last_code(&phone).ok_or("no SMS was sent")?;
    let CodeCheck::Confirmed(confirmed) = second.confirm(payment, &code).await? else {
        return Err("the code was refused".into());
    };
    let receipt = confirmed.receipt();
    println!(
        "after the restart: {} debited for order {}, bank reference {}",
        receipt.amount().localized(Language::English),
        receipt.order_reference(),
        receipt.bank_reference()
    );

    let due = store
        .due(Timestamp::from_unix_millis(u64::MAX >> 1), 10)
        .await?;
    let outbox = store.outbox(100).await?;
    println!("  store file: {}", store.path().display());
    println!("  store: {:?}", store.stats());
    println!(
        "  records still due: {}; events in the outbox: {}",
        due.len(),
        outbox.len()
    );
    println!("  bank: {} debit(s)", bank.debits().len());
    Ok(())
}
