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

/// The most extra demo buyers [`extra_buyer`] numbers.
pub const MAX_EXTRA_BUYERS: u16 = 1000;

/// The mobile number of the `n`th extra demo buyer (from 0): `+33612300000` and on, each with
/// the demo buyer's PIN and account. For load tests, which need more numbers than one: each
/// number has its own spending limits and SMS budget.
pub fn extra_buyer(n: u16) -> String {
    format!("+3361230{:04}", n % MAX_EXTRA_BUYERS)
}

/// Saves the demo merchant and enrolls the demo buyer and `extra_buyers` more, unless already
/// done.
pub async fn seed(
    app: &App,
    extra_buyers: u16,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    app.index.save_merchant(&merchant()?).await?;
    enroll(app, BUYER_PHONE).await?;
    for n in 0..extra_buyers.min(MAX_EXTRA_BUYERS) {
        enroll(app, &extra_buyer(n)).await?;
    }
    Ok(())
}

async fn enroll(app: &App, number: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let phone: PhoneNumber = number.parse()?;
    let pin: Pin = BUYER_PIN.parse()?;
    let funding: FundingSource = BUYER_IBAN.parse()?;
    match app.engine.enroll(&phone, &pin, funding).await {
        Ok(()) | Err(Error::AlreadyEnrolled) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_extra_buyer_has_a_mobile_number_of_its_own() {
        let numbers: std::collections::BTreeSet<String> = (0..MAX_EXTRA_BUYERS)
            .map(|n| extra_buyer(n).parse::<PhoneNumber>().unwrap().to_string())
            .collect();
        assert_eq!(numbers.len(), usize::from(MAX_EXTRA_BUYERS));
        assert!(!numbers.contains(BUYER_PHONE));
    }
}
