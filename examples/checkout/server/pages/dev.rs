//! Development pages: the SMS outbox and the demo bank's ledger.
//!
//! # Security
//!
//! `/dev/sms` shows every code sent: these pages exist for demos and tests. They are served
//! only when asked for (`--dev-pages`), and the server will not start with them on an address
//! that is not loopback (`Config::check`); a real deployment replaces the console gateway too.

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
    let messages = match app.sms.messages().await {
        Ok(messages) => messages,
        Err(error) => {
            eprintln!("error: reading the SMS outbox: {error}");
            let body = html! { h1 { "Boîte d'envoi indisponible" } };
            return Page::plain("SMS envoyés", body)
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response();
        }
    };
    let body = {
        html! {
            h1 { "SMS envoyés" }
            p.muted { "Boîte d'envoi de développement : un vrai serveur envoie les SMS par un opérateur." }
            ul.dev #outbox {
                @for sms in &messages {
                    li.card data-payment=(sms.payment) {
                        div.muted { (words::date_time(sms.sent_at)) " · " span.nowrap { (sms.to) } }
                        div.body { (sms.body.as_str()) }
                        a href=(format!("/payments/{}", sms.payment)) { "Ouvrir le paiement" }
                    }
                }
            }
        }
    };
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
    let debits = entries.iter().filter(|e| e.outcome == "debited").count();
    let body = html! {
        h1 { "Grand livre de la banque" }
        p.muted { (debits) " débit(s), " (entries.len() - debits) " refus · banque de démonstration" }
        ul.dev #ledger {
            @for entry in &entries {
                li.card data-payment=(entry.idempotency_key) {
                    div.summary {
                        strong { (entry.outcome) " " (entry.bank_reference.as_deref()
                            .or(entry.decline_reason.as_deref()).unwrap_or("")) }
                        strong.nowrap { (amount(entry.amount_minor, &entry.currency)) }
                    }
                    div.muted { (words::date_time(entry.decided_at)) " · " (entry.merchant)
                        " · commande " (entry.reference) }
                    div.muted { "compte " (entry.account) " · " (entry.calls) " appel(s)" }
                    div.muted { "paiement " a href=(format!("/payments/{}", entry.idempotency_key))
                        { (entry.idempotency_key) } }
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
