//! A complete checkout with its records in PostgreSQL: enroll a buyer, take a payment with PIN
//! and SMS code (SMS and bank in memory), read what the database holds, and deliver the
//! durable events from its outbox.
//!
//! ```sh
//! BUYSTER_POSTGRES_URL=postgresql://user@localhost/shop cargo run -p buyster-postgres --example postgres
//! cargo run -p buyster-postgres --example postgres   # a throwaway server (needs `postgresql`)
//! ```

use buyster::memory::{MemoryBank, MemorySms};
use buyster::{
    Amount, CodeCheck, Currency, DeliveryError, Engine, Event, EventDelivery, FundingSource, Keys,
    Language, Merchant, Order, OtpSent, PhoneNumber, Pin, PinCheck, SecretKey, Store, Timestamp,
};
use buyster_postgres::{PostgresStore, Schema};
use buyster_test_postgres::TestPostgres;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The database: the one named, or a server started for this run and removed after it.
    let (url, throwaway) = match std::env::var("BUYSTER_POSTGRES_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = TestPostgres::start()?;
            (server.fresh_database().await, Some(server))
        }
    };
    let store = PostgresStore::connect(&url, Schema::default()).await?;
    println!("Store: {store:?}");

    let sms = MemorySms::new();
    let bank = MemoryBank::new();
    let engine = Engine::builder(Keys::new(1, SecretKey::generate()))
        .store(store.clone())
        .sms(sms.clone())
        .bank(bank.clone())
        .durable_events()
        .build()?;

    // A number of its own per run, so that the example runs again on the same database.
    let subscriber = std::time::UNIX_EPOCH.elapsed()?.as_millis() % 100_000_000;
    let phone: PhoneNumber = format!("+336{subscriber:08}").parse()?;
    let pin: Pin = "246813".parse()?;
    let iban: FundingSource = "FR76 3000 6000 0112 3456 7890 189".parse()?;
    engine.enroll(&phone, &pin, iban).await?;
    println!("Enrolled {}", phone.masked());

    let merchant = Merchant::new("boutique-exemple", "Boutique Exemple")?;
    let reference = format!("CMD-{subscriber}");
    let order = Order::new(merchant, Amount::new(4990, Currency::EUR)?, &reference)?;
    let payment = engine.initiate(order, &phone).await?;
    let id = payment.id();
    println!("Initiated payment {id}");

    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin).await? else {
        return Err("the PIN was refused".into());
    };
    let sent = engine.send_code(verified).await?;
    println!("Code sent, valid until {}", sent.code_expires_at());

    // Between requests a server keeps only the id: the payment comes back from PostgreSQL.
    drop(sent);
    let payment = engine.resume::<OtpSent>(id).await?;
    let code = sms.last_code(&phone).ok_or("no SMS was sent")?;
    let CodeCheck::Confirmed(confirmed) = engine.confirm(payment, &code).await? else {
        return Err("the code was refused".into());
    };
    let receipt = confirmed.receipt();
    println!(
        "Confirmed: {} debited, bank reference {}; the bank holds {} debit(s)",
        receipt.amount().localized(Language::English),
        receipt.bank_reference(),
        bank.debits().len()
    );

    print_tables(&store).await?;
    let round = engine.deliver_events(&Printer, 100).await?;
    println!(
        "delivered {} event(s); {} left in the outbox",
        round.delivered,
        store.outbox(1000).await?.len()
    );
    drop(throwaway);
    Ok(())
}

/// Where the events go: standard output, in place of the merchant's order system.
struct Printer;

impl EventDelivery for Printer {
    async fn deliver(&self, event: &Event) -> Result<(), DeliveryError> {
        println!("  event {}: {event}", event.id());
        Ok(())
    }
}

/// What the checkout left in the database: each record's key and version, the due index and
/// the outbox.
async fn print_tables(store: &PostgresStore) -> Result<(), Box<dyn std::error::Error>> {
    let client = store.pool().get().await?;
    let schema = store.schema();
    let rows = client
        .query(
            &format!("SELECT key, version, length(value) FROM {schema}.records ORDER BY key"),
            &[],
        )
        .await?;
    println!("\n{schema}.records:");
    for row in rows {
        let (key, version, length): (String, i64, i32) = (row.get(0), row.get(1), row.get(2));
        println!("  {key:<60} version {version:>2}, {length} bytes");
    }
    let due = store
        .due(Timestamp::from_unix_millis(u64::MAX >> 1), 10)
        .await?;
    println!("due index: {} key(s)", due.len());
    for entry in due {
        println!("  {} at {}", entry.key, entry.at);
    }
    println!("outbox: {} event(s)", store.outbox(1000).await?.len());
    Ok(())
}
