//! What the pages say, in French: notices, reasons, times.

use std::time::Duration;

use buyster::{DeclineReason, FailureReason, NextLock, Policy, Timestamp};

use super::super::flow::Problem;
use super::super::input::Field;
use super::super::limits::TooMany;

/// `n` and the noun, singular or plural: `1 essai`, `2 essais`.
pub fn count(n: u8, singular: &str, plural: &str) -> String {
    if n <= 1 {
        format!("{n} {singular}")
    } else {
        format!("{n} {plural}")
    }
}

/// A duration as the buyer reads it: `4 min 05 s`, `45 s`, `2 h 10 min`.
pub fn duration(span: Duration) -> String {
    let secs = span.as_secs();
    match (secs / 3600, secs / 60 % 60, secs % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, s) => format!("{m} min {s:02} s"),
        (h, m, _) => format!("{h} h {m:02} min"),
    }
}

/// The time left from `now` until `until`.
pub fn time_left(now: Timestamp, until: Timestamp) -> String {
    duration(until.saturating_duration_since(now))
}

/// A date and time, `27/11/2026 à 13:41 UTC`.
pub fn date_time(at: Timestamp) -> String {
    // `Display` gives RFC 3339: `2026-11-27T13:41:00.000Z`.
    let text = at.to_string();
    let part = |range: std::ops::Range<usize>| text.get(range).unwrap_or("");
    format!(
        "{}/{}/{} à {} UTC",
        part(8..10),
        part(5..7),
        part(0..4),
        part(11..16)
    )
}

/// The notice for a wrong PIN, with a warning when the lock ahead is the permanent one.
pub fn wrong_pin(attempts_left: u8, next_lock: NextLock) -> String {
    let tries = count(attempts_left, "essai", "essais");
    match next_lock {
        NextLock::Permanent => format!(
            "Code confidentiel incorrect. Attention : il vous reste {tries} ; ensuite, le \
             paiement par mobile sera bloqué jusqu'à ce que vous contactiez le service client."
        ),
        NextLock::Temporary(_) => format!(
            "Code confidentiel incorrect. Il vous reste {tries} avant le blocage temporaire de \
             votre numéro."
        ),
    }
}

/// The notice for a wrong code.
pub fn wrong_code(attempts_left: u8) -> String {
    format!(
        "Code incorrect. Il vous reste {}.",
        count(attempts_left, "essai", "essais")
    )
}

/// The notice for a refused step.
pub fn problem(problem: &Problem, now: Timestamp, policy: &Policy) -> String {
    match problem {
        Problem::Malformed { field, .. } => malformed(*field, policy),
        Problem::UnknownMerchant | Problem::UnknownPayment => {
            "Ce paiement est introuvable.".to_owned()
        }
        Problem::WrongState => "Cette étape n'est plus possible pour ce paiement.".to_owned(),
        Problem::ResendLimit => "Vous avez demandé le nombre maximal de codes.".to_owned(),
        Problem::Conflict => "Le paiement a changé entre-temps : réessayez.".to_owned(),
        Problem::KeyReused => "Cette commande est déjà en cours de paiement avec un autre \
                               numéro : rechargez la page pour recommencer."
            .to_owned(),
        Problem::Expired => "Ce code a expiré : demandez-en un nouveau.".to_owned(),
        Problem::TooManyAttempts => "Trop de codes incorrects.".to_owned(),
        Problem::Locked { until: Some(until) } => format!(
            "Trop de codes confidentiels incorrects : votre numéro est bloqué encore {}.",
            time_left(now, *until)
        ),
        Problem::Locked { until: None } => {
            "Votre numéro est bloqué : contactez votre service client.".to_owned()
        }
        Problem::RateLimited { retry_at } => format!(
            "Trop de SMS envoyés à ce numéro. Réessayez dans {}.",
            time_left(now, *retry_at)
        ),
        Problem::ResendTooSoon { retry_at } => format!(
            "Un nouveau code pourra être envoyé dans {}.",
            time_left(now, *retry_at)
        ),
        Problem::LimitExceeded { .. } => {
            "Ce paiement dépasse le plafond de dépenses de votre numéro.".to_owned()
        }
        Problem::Declined(_) => "Votre banque a refusé le paiement.".to_owned(),
        Problem::BankUnavailable => "Votre banque n'a pas encore répondu.".to_owned(),
        Problem::StorageFailed => "Une erreur de notre serveur empêche de terminer le paiement. \
            Il reste autorisé et ne sera jamais débité deux fois : consultez-le plus tard."
            .to_owned(),
        Problem::SmsUnavailable => "Le SMS n'a pas pu être envoyé : réessayez.".to_owned(),
        Problem::StoreUnavailable => {
            "Le service ne répond pas pour l'instant : réessayez dans un instant.".to_owned()
        }
        Problem::Refused { .. } => "Cette demande n'est pas possible ici.".to_owned(),
        Problem::Internal => "Une erreur est survenue : réessayez dans un instant.".to_owned(),
        Problem::Limited(refused) => limited(*refused, now),
    }
}

/// The notice for a request refused by an abuse limit.
fn limited(refused: TooMany, now: Timestamp) -> String {
    let wait = time_left(now, refused.retry_at());
    match refused {
        TooMany::Payments { .. } | TooMany::PaymentsForNumber { .. } => {
            format!("Trop de paiements commencés récemment. Réessayez dans {wait}.")
        }
        TooMany::OpenPayments { .. } => format!(
            "Trop de paiements en cours depuis votre connexion : terminez-en ou annulez-en un, \
             ou réessayez dans {wait}."
        ),
        TooMany::PinAttempts { .. } | TooMany::PinNumbers { .. } => format!(
            "Trop de codes confidentiels incorrects depuis votre connexion : ce code n'a pas \
             été vérifié. Réessayez dans {wait}."
        ),
    }
}

fn malformed(field: Field, policy: &Policy) -> String {
    let (min, max) = (policy.min_pin_digits, policy.max_pin_digits);
    match field {
        Field::Phone => {
            "Ce numéro de mobile n'est pas valide. Exemple : 06 11 22 33 44.".to_owned()
        }
        Field::Pin if min == max => format!("Le code confidentiel se compose de {min} chiffres."),
        Field::Pin => format!("Le code confidentiel se compose de {min} à {max} chiffres."),
        Field::Code => format!(
            "Le code reçu par SMS se compose de {} chiffres.",
            policy.code_digits
        ),
        _ => "Cette demande n'est pas valide.".to_owned(),
    }
}

/// Why a payment failed.
pub fn failure(reason: FailureReason) -> String {
    match reason {
        FailureReason::Expired => "Le délai pour payer est dépassé.".to_owned(),
        FailureReason::Cancelled(_) => "Le paiement a été annulé.".to_owned(),
        FailureReason::TooManyAttempts => {
            "Trop de codes incorrects : le paiement a été bloqué par sécurité.".to_owned()
        }
        FailureReason::Declined(why) => {
            format!("Votre banque a refusé le paiement ({}).", decline(why))
        }
        _ => "Le paiement n'a pas abouti.".to_owned(),
    }
}

fn decline(reason: DeclineReason) -> &'static str {
    match reason {
        DeclineReason::InsufficientFunds => "provision insuffisante",
        DeclineReason::AccountClosed => "compte clos",
        DeclineReason::LimitExceeded => "plafond atteint",
        DeclineReason::SuspectedFraud => "suspicion de fraude",
        _ => "refus de la banque",
    }
}
