//! The limits' flags and environment variables (listed in `--help`).

use std::time::Duration;

use super::{Limits, Network};

/// Each flag of the limits, with its environment variable.
const SETTINGS: [(&str, &str); 11] = [
    ("--payments-per-client", "CHECKOUT_PAYMENTS_PER_CLIENT"),
    ("--payments-per-number", "CHECKOUT_PAYMENTS_PER_NUMBER"),
    ("--payment-window", "CHECKOUT_PAYMENT_WINDOW"),
    (
        "--open-payments-per-client",
        "CHECKOUT_OPEN_PAYMENTS_PER_CLIENT",
    ),
    ("--wrong-pins-per-client", "CHECKOUT_WRONG_PINS_PER_CLIENT"),
    (
        "--wrong-pin-numbers-per-client",
        "CHECKOUT_WRONG_PIN_NUMBERS_PER_CLIENT",
    ),
    (
        "--wrong-pins-per-session",
        "CHECKOUT_WRONG_PINS_PER_SESSION",
    ),
    (
        "--wrong-pin-numbers-per-session",
        "CHECKOUT_WRONG_PIN_NUMBERS_PER_SESSION",
    ),
    ("--pin-window", "CHECKOUT_PIN_WINDOW"),
    ("--limiter-records", "CHECKOUT_LIMITER_RECORDS"),
    ("--trusted-proxies", "CHECKOUT_TRUSTED_PROXIES"),
];

impl Limits {
    /// Sets the limits given in the environment, read through `env`.
    pub fn read_env(&mut self, env: &impl Fn(&str) -> Option<String>) -> Result<(), String> {
        for (flag, variable) in SETTINGS {
            if let Some(value) = env(variable) {
                self.set(flag, &value)
                    .map_err(|error| format!("{variable}: {error}"))?;
            }
        }
        Ok(())
    }

    /// Whether `flag` is one of the limits' flags; if it is, sets it to `value`.
    pub fn take_flag(&mut self, flag: &str, value: Option<String>) -> Result<bool, String> {
        if !SETTINGS.iter().any(|(name, _)| *name == flag) {
            return Ok(false);
        }
        let value = value.ok_or_else(|| format!("{flag} needs a value; see --help"))?;
        self.set(flag, &value)
            .map_err(|error| format!("{flag}: {error}"))?;
        Ok(true)
    }

    fn set(&mut self, flag: &str, value: &str) -> Result<(), String> {
        match flag {
            "--payments-per-client" => self.payments_per_client = count(value)?,
            "--payments-per-number" => self.payments_per_number = count(value)?,
            "--payment-window" => self.payment_window = seconds(value)?,
            "--open-payments-per-client" => self.open_payments_per_client = count(value)?,
            "--wrong-pins-per-client" => self.wrong_pins_per_client = count(value)?,
            "--wrong-pin-numbers-per-client" => self.wrong_pin_numbers_per_client = count(value)?,
            "--wrong-pins-per-session" => self.wrong_pins_per_session = count(value)?,
            "--wrong-pin-numbers-per-session" => {
                self.wrong_pin_numbers_per_session = count(value)?;
            }
            "--pin-window" => self.pin_window = seconds(value)?,
            "--limiter-records" => {
                self.records = usize::try_from(count(value)?).unwrap_or(usize::MAX)
            }
            "--trusted-proxies" => {
                self.trusted_proxies = value
                    .split(',')
                    .filter(|part| !part.trim().is_empty())
                    .map(str::parse::<Network>)
                    .collect::<Result<_, _>>()?;
            }
            _ => return Err("not a setting of the limits".to_owned()),
        }
        Ok(())
    }
}

fn count(text: &str) -> Result<u32, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|count| *count >= 1)
        .ok_or_else(|| format!("{text:?} is not a whole number from 1 to 4294967295"))
}

fn seconds(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|secs| (1..=7 * 24 * 3600).contains(secs))
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is not a number of seconds from 1 to 604800"))
}
