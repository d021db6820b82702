//! The demo's merchant, buyer and basket, created at start when absent.

use buyster::{Amount, Currency, Error, FundingSource, Merchant, PhoneNumber, Pin};

use super::App;

/// The demo merchant's id.
pub const MERCHANT_ID: &str = "boutique-demo";
/// The demo merchant's name, as the buyer reads it on the pages and in the SMS.
pub const MERCHANT_NAME: &str = "Boutique Démo";
/// The demo buyer's mobile number.
pub const BUYER_PHONE: &str = "+33612345678";
/// The demo buyer's PIN.
pub const BUYER_PIN: &str = "246813";
/// The account the demo buyer pays from.
pub const BUYER_IBAN: &str = "FR76 3000 6000 0112 3456 7890 189";

/// One line of the demo basket: what, and its price in cents.
pub struct Line {
    /// What is bought.
    pub label: &'static str,
    /// Its price, in euro cents.
    pub price_minor: u64,
}

/// The basket the demo shop sells: 49,90 € in all.
pub const BASKET: [Line; 2] = [
    Line {
        label: "Casque audio sans fil",
        price_minor: 4_400,
    },
    Line {
        label: "Livraison en point relais",
        price_minor: 590,
    },
];

/// The demo basket's total.
pub fn basket_total() -> Result<Amount, Error> {
    let cents = BASKET.iter().map(|line| line.price_minor).sum();
    Amount::new(cents, Currency::EUR)
}

/// The demo merchant.
pub fn merchant() -> Result<Merchant, Error> {
    Merchant::new(MERCHANT_ID, MERCHANT_NAME)
}

/// Saves the demo merchant and enrolls the demo buyer, unless already done.
pub async fn seed(app: &App) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    app.index.save_merchant(&merchant()?).await?;
    let phone: PhoneNumber = BUYER_PHONE.parse()?;
    let pin: Pin = BUYER_PIN.parse()?;
    let funding: FundingSource = BUYER_IBAN.parse()?;
    match app.engine.enroll(&phone, &pin, funding).await {
        Ok(()) | Err(Error::AlreadyEnrolled) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
