//! Development pages: the SMS outbox and the demo bank's ledger.
//!
//! # Security
//!
//! `/dev/sms` shows every code sent: these pages exist for demos and tests, and a real
//! deployment turns them off (`--no-dev-pages`) along with the console gateway.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use buyster::{Amount, Currency, Language};
use maud::html;

use super::super::App;
use super::layout::Page;
use super::words;

/// Ledger lines shown.
const LEDGER_LINES: u32 = 200;

/// `/dev/sms` and `/dev/ledger`.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/dev/sms", get(outbox))
        .route("/dev/ledger", get(ledger))
}

/// `GET /dev/sms`: the messages the console gateway sent, newest first.
async fn outbox(State(app): State<Arc<App>>) -> Response {
    let body = app.sms.with_messages(|messages| {
        html! {
            h1 { "SMS envoyés" }
            p.muted { "Boîte d'envoi de développement : un vrai serveur envoie les SMS par un opérateur." }
            ul.dev #outbox {
                @for sms in messages {
                    li.card data-payment=(sms.payment) {
                        div.muted { (words::date_time(sms.sent_at)) " · " (sms.to) }
                        div.body { (sms.body.as_str()) }
                        a href=(format!("/payments/{}", sms.payment)) { "Ouvrir le paiement" }
                    }
                }
            }
        }
    });
    Page::plain("SMS envoyés", body).into_response()
}

/// `GET /dev/ledger`: the demo bank's debits and declines, newest first.
async fn ledger(State(app): State<Arc<App>>) -> Response {
    let entries = match app.bank.entries(LEDGER_LINES).await {
        Ok(entries) => entries,
        Err(error) => {
            eprintln!("error: reading the ledger: {error}");
            let body = html! { h1 { "Grand livre indisponible" } };
            return Page::plain("Grand livre", body)
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response();
        }
    };
    let body = html! {
        h1 { "Grand livre de la banque" }
        div.dev {
            table #ledger {
                tr { th { "Date" } th { "Paiement" } th { "Commande" } th { "Montant" }
                     th { "Compte" } th { "Résultat" } th { "Appels" } }
                @for entry in &entries {
                    tr data-payment=(entry.idempotency_key) {
                        td { (words::date_time(entry.decided_at)) }
                        td { (entry.idempotency_key) }
                        td { (entry.merchant) " " (entry.reference) }
                        td { (amount(entry.amount_minor, &entry.currency)) }
                        td { (entry.account) }
                        td { (entry.outcome) " "
                             (entry.bank_reference.as_deref().or(entry.decline_reason.as_deref()).unwrap_or("")) }
                        td { (entry.calls) }
                    }
                }
            }
        }
    };
    Page::plain("Grand livre", body).into_response()
}

fn amount(minor: u64, currency: &str) -> String {
    currency
        .parse::<Currency>()
        .and_then(|currency| Amount::new(minor, currency))
        .map_or_else(
            |_| format!("{minor} {currency}"),
            |a| a.localized(Language::French),
        )
}
