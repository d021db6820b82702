//! A complete checkout on the in-memory host: enroll a buyer, take a payment with PIN and SMS
//! code, and read the receipt and the bank's ledger.
//!
//! ```sh
//! cargo run --example quickstart
//! ```

use buyster::memory::{MemoryBank, MemorySms, MemoryStore};
use buyster::{
    Amount, CodeCheck, Currency, Engine, FundingSource, Keys, Language, Merchant, Order, OtpSent,
    PhoneNumber, Pin, PinCheck, SecretKey,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The host's parts. In production: a database, an SMS operator, a bank.
    let sms = MemorySms::new();
    let bank = MemoryBank::new();
    let engine = Engine::builder(Keys::new(1, SecretKey::generate()))
        .store(MemoryStore::new())
        .sms(sms.clone())
        .bank(bank.clone())
        .build()?;

    // Once: the buyer enrolls a mobile number, a PIN and the account to debit.
    let phone: PhoneNumber = "06 12 34 56 78".parse()?;
    let pin: Pin = "246813".parse()?;
    let iban: FundingSource = "FR76 3000 6000 0112 3456 7890 189".parse()?;
    engine.enroll(&phone, &pin, iban.clone()).await?;
    println!("Enrolled {} with a PIN, debiting {iban:?}", phone.masked());

    // At checkout the merchant's page asks for the number; the engine creates the payment.
    let merchant = Merchant::new("boutique-exemple", "Boutique Exemple")?;
    let order = Order::new(
        merchant,
        Amount::new(4990, Currency::EUR)?,
        "CMD-2026-000123",
    )?;
    let payment = engine.initiate(order, &phone).await?;
    let id = payment.id();
    println!(
        "\nCheckout: {} at {} (order {})\n  payment {id}, valid until {}",
        payment.order().amount().localized(Language::English),
        payment.order().merchant(),
        payment.order().reference(),
        payment.expires_at(),
    );

    // The buyer mistypes the PIN once: an answer, not an error.
    let payment = match engine.verify_pin(payment, &"246831".parse()?).await? {
        PinCheck::Rejected {
            payment,
            attempts_left,
            next_lock,
        } => {
            println!(
                "\nPIN rejected: {attempts_left} attempts left before the number locks \
                 ({next_lock:?})"
            );
            payment
        }
        PinCheck::Verified(_) => unreachable!("that PIN is wrong"),
    };
    let PinCheck::Verified(verified) = engine.verify_pin(payment, &pin).await? else {
        unreachable!("that PIN is right");
    };
    println!("PIN verified");

    // Only now is an SMS sent, naming the amount and the merchant.
    let sent = engine.send_code(verified).await?;
    for message in sms.sent() {
        println!("\nSMS to {}:\n  {}", message.to().masked(), message.body());
    }
    println!(
        "  code valid until {}, {} attempts, {} resends",
        sent.code_expires_at(),
        sent.attempts_left(),
        sent.resends_left()
    );

    // Between HTTP requests a server keeps only the id, and resumes from the store.
    drop(sent);
    let payment = engine.resume::<OtpSent>(id).await?;
    let code = sms.last_code(&phone).ok_or("no SMS was sent")?;
    match engine.confirm(payment, &code).await? {
        CodeCheck::Confirmed(confirmed) => {
            let receipt = confirmed.receipt();
            println!(
                "\nConfirmed: {} debited for order {}, bank reference {}, at {}",
                receipt.amount().localized(Language::English),
                receipt.order_reference(),
                receipt.bank_reference(),
                receipt.confirmed_at(),
            );
        }
        CodeCheck::Rejected { attempts_left, .. } => {
            println!("code rejected, {attempts_left} attempts left");
        }
    }

    // The code is single use: the payment has moved on, and the bank holds exactly one debit.
    let replay = engine.resume::<OtpSent>(id).await;
    println!(
        "\nReplaying the code: {}",
        replay.err().map(|e| e.to_string()).unwrap_or_default()
    );
    let debits = bank.debits();
    println!("Bank ledger: {} debit(s)", debits.len());
    for debit in debits {
        println!(
            "  {} from {:?}, key {}",
            debit.amount(),
            debit.funding_source(),
            debit.idempotency_key()
        );
    }
    Ok(())
}
