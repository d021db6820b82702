//! The screens of the checkout: order summary, phone and PIN, code, receipt or failure.
//!
//! Every value is escaped by `maud`; no screen shows a PIN, a code or a full phone number
//! (numbers are shown with [`buyster::PhoneNumber::masked`]).

use buyster::{
    AnyPayment, Authorized, Confirmed, Failed, Initiated, Language, Order, OtpSent, Payment,
    PinVerified, Policy, Timestamp,
};
use maud::{Markup, html};

use super::super::seed;
use super::csrf::Session;
use super::layout::Page;
use super::words;

/// What went wrong with the last step, above the form.
fn notice(notice: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = notice {
            div.notice.error role="alert" { (text) }
        }
    }
}

/// The hidden anti-forgery field of every form.
fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.token()); }
}

/// A form with one button that posts to `action`.
fn button_form(session: &Session, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form method="post" action=(action) {
            (csrf_field(session))
            button.(class) type="submit" { (label) }
        }
    }
}

/// Who is paid how much, for which order.
fn summary(order: &Order) -> Markup {
    html! {
        div.card.summary {
            div {
                div { (order.merchant().display_name()) }
                div.muted { "Commande " (order.reference()) }
            }
            div.amount { (order.amount().localized(Language::French)) }
        }
    }
}

/// `GET /`: the demo shop's basket.
pub fn shop(session: &Session, dev_pages: bool) -> Page {
    let total = seed::basket_total()
        .map(|amount| amount.localized(Language::French))
        .unwrap_or_default();
    let body = html! {
        h1 { "Votre commande" }
        div.card {
            table {
                @for line in &seed::BASKET {
                    tr {
                        td { (line.label) }
                        td.price { (euros(line.price_minor)) }
                    }
                }
                tr.total { td { "Total" } td.price { (total) } }
            }
        }
        a.button href="/checkout" { "Payer avec mon mobile" }
        p.muted { "Vous recevrez un code par SMS après votre code confidentiel." }
        @if dev_pages {
            p.muted { "Développement : " a href="/dev/sms" { "SMS envoyés" } " · "
                a href="/dev/ledger" { "grand livre de la banque" } }
        }
    };
    Page::new(session, "Votre commande", body)
}

fn euros(cents: u64) -> String {
    buyster::Amount::new(cents, buyster::Currency::EUR)
        .map(|amount| amount.localized(Language::French))
        .unwrap_or_default()
}

/// `GET /checkout`: the mobile number and the PIN.
pub fn checkout(session: &Session, order: &str, notice_shown: Option<&str>) -> Page {
    let total = seed::basket_total()
        .map(|amount| amount.localized(Language::French))
        .unwrap_or_default();
    let body = html! {
        h1 { "Payer avec mon mobile" }
        div.card.summary {
            div { (seed::MERCHANT_NAME) }
            div.amount { (total) }
        }
        (notice(notice_shown))
        form.card method="post" action="/checkout" novalidate {
            (csrf_field(session))
            input type="hidden" name="order" value=(order);
            label for="phone" { "Numéro de mobile" }
            input #phone type="tel" name="phone" autocomplete="tel" inputmode="tel"
                placeholder="06 11 22 33 44";
            label for="pin" { "Code confidentiel" }
            input #pin type="password" name="pin" autocomplete="off" inputmode="numeric";
            button type="submit" { "Valider" }
        }
        a href="/" { "Retour à la commande" }
    };
    Page::new(session, "Payer avec mon mobile", body)
}

/// `GET /payments/{id}`: the screen for the payment's state.
pub fn payment(
    session: &Session,
    payment: &AnyPayment,
    notice_shown: Option<&str>,
    now: Timestamp,
    policy: &Policy,
) -> Page {
    match payment {
        AnyPayment::Initiated(p) => pin_screen(session, p, notice_shown),
        AnyPayment::PinVerified(p) => send_screen(session, p, notice_shown),
        AnyPayment::OtpSent(p) => code_screen(session, p, notice_shown, now, policy),
        AnyPayment::Authorized(p) => processing_screen(session, p),
        AnyPayment::Confirmed(p) => receipt_screen(session, p),
        AnyPayment::Failed(p) => failure_screen(session, p),
    }
}

fn pin_screen(session: &Session, p: &Payment<Initiated>, shown: Option<&str>) -> Page {
    let id = p.id();
    let body = html! {
        h1 { "Code confidentiel" }
        (summary(p.order()))
        (notice(shown))
        form.card method="post" action=(format!("/payments/{id}/pin")) novalidate {
            (csrf_field(session))
            p.muted { "Mobile " span.nowrap { (p.phone().masked()) } }
            label for="pin" { "Code confidentiel" }
            input #pin type="password" name="pin" autocomplete="off" inputmode="numeric";
            button type="submit" { "Valider" }
        }
        (button_form(session, &format!("/payments/{id}/cancel"), "Annuler le paiement", "link"))
    };
    Page::new(session, "Code confidentiel", body)
}

fn send_screen(session: &Session, p: &Payment<PinVerified>, shown: Option<&str>) -> Page {
    let id = p.id();
    let body = html! {
        h1 { "Envoi du code" }
        (summary(p.order()))
        (notice(shown))
        div.card {
            p { "Votre code confidentiel est correct. Le SMS n'est pas encore parti vers le "
                span.nowrap { (p.phone().masked()) } "." }
            (button_form(session, &format!("/payments/{id}/resend"), "Envoyer le code par SMS", "primary"))
        }
        (button_form(session, &format!("/payments/{id}/cancel"), "Annuler le paiement", "link"))
    };
    Page::new(session, "Envoi du code", body)
}

fn code_screen(
    session: &Session,
    p: &Payment<OtpSent>,
    shown: Option<&str>,
    now: Timestamp,
    policy: &Policy,
) -> Page {
    let id = p.id();
    let expired = now >= p.code_expires_at();
    let resend_at = p
        .state()
        .last_sent_at()
        .saturating_add(policy.resend_cooldown);
    let body = html! {
        h1 { "Code reçu par SMS" }
        (summary(p.order()))
        (notice(shown))
        form.card method="post" action=(format!("/payments/{id}/code")) novalidate {
            (csrf_field(session))
            p { "Un code a été envoyé au " strong.nowrap { (p.phone().masked()) } "." }
            label for="code" { "Code à " (policy.code_digits) " chiffres" }
            input #code type="text" name="code" autocomplete="one-time-code" inputmode="numeric";
            p.muted #attempts { "Il vous reste " (words::count(p.attempts_left(), "essai", "essais")) "." }
            p.muted #time-left {
                @if expired { "Ce code a expiré : demandez-en un nouveau." }
                @else { "Code valable encore " (words::time_left(now, p.code_expires_at())) "." }
            }
            button type="submit" { "Payer" }
        }
        @if p.resends_left() > 0 {
            form method="post" action=(format!("/payments/{id}/resend")) {
                (csrf_field(session))
                button.secondary type="submit" { "Renvoyer le code" }
                p.muted {
                    @if now < resend_at {
                        "Nouveau code possible dans " (words::time_left(now, resend_at)) " · "
                    }
                    (words::count(p.resends_left(), "renvoi restant", "renvois restants")) "."
                }
            }
        } @else {
            p.muted { "Plus de renvoi possible pour ce paiement." }
        }
        (button_form(session, &format!("/payments/{id}/cancel"), "Annuler le paiement", "link"))
    };
    Page::new(session, "Code reçu par SMS", body)
}

fn processing_screen(session: &Session, p: &Payment<Authorized>) -> Page {
    let body = html! {
        p.status aria-hidden="true" { "…" }
        h1 { "Paiement en cours" }
        (summary(p.order()))
        div.card {
            p { "Votre code est validé. Votre banque n'a pas encore confirmé le débit : "
                "cette page se met à jour toute seule." }
            p.muted { "Vous ne serez débité qu'une seule fois." }
        }
    };
    Page::refreshing(session, "Paiement en cours", body, 5)
}

fn receipt_screen(session: &Session, p: &Payment<Confirmed>) -> Page {
    let receipt = p.receipt();
    let body = html! {
        p.status.ok aria-hidden="true" { "✓" }
        h1 { "Paiement accepté" }
        div.card {
            dl.facts {
                div { dt { "Montant" } dd { (receipt.amount().localized(Language::French)) } }
                div { dt { "Marchand" } dd { (p.order().merchant().display_name()) } }
                div { dt { "Commande" } dd { (receipt.order_reference()) } }
                div { dt { "Réf. bancaire" } dd { (receipt.bank_reference()) } }
                div { dt { "Date" } dd { (words::date_time(receipt.confirmed_at())) } }
            }
        }
        a.button href="/" { "Retour à la boutique" }
    };
    Page::new(session, "Paiement accepté", body)
}

fn failure_screen(session: &Session, p: &Payment<Failed>) -> Page {
    let body = html! {
        p.status.ko aria-hidden="true" { "✕" }
        h1 { "Paiement non abouti" }
        (summary(p.order()))
        div.card { p { (words::failure(p.reason())) } p.muted { "Vous n'avez pas été débité." } }
        a.button href="/" { "Revenir à la boutique" }
    };
    Page::new(session, "Paiement non abouti", body)
}

/// A page for a payment or a page that does not exist.
pub fn not_found() -> Page {
    let body = html! {
        h1 { "Page introuvable" }
        div.card { p { "Ce paiement ou cette page n'existe pas." } }
        a.button href="/" { "Revenir à la boutique" }
    };
    Page::plain("Page introuvable", body).status(axum::http::StatusCode::NOT_FOUND)
}

/// A form that did not carry this browser's anti-forgery token.
pub fn forbidden(session: &Session, back: &str) -> Page {
    let body = html! {
        h1 { "Page expirée" }
        div.card { p { "Ce formulaire a expiré ou ne vient pas de ce site. Rechargez la page "
            "et recommencez." } }
        a.button href=(back) { "Recharger" }
    };
    Page::new(session, "Page expirée", body).status(axum::http::StatusCode::FORBIDDEN)
}

/// A form posted from another site's page, refused before any session is read.
pub fn cross_site() -> Page {
    let body = html! {
        h1 { "Demande refusée" }
        div.card { p { "Cette demande vient d'un autre site : elle n'a pas été prise en compte. "
            "Revenez à la boutique pour payer." } }
        a.button href="/" { "Revenir à la boutique" }
    };
    Page::plain("Demande refusée", body).status(axum::http::StatusCode::FORBIDDEN)
}

/// A step refused with no payment to show.
pub fn error(session: &Session, text: &str, status: axum::http::StatusCode) -> Page {
    let body = html! {
        h1 { "Paiement impossible" }
        div.notice.error role="alert" { (text) }
        a.button href="/" { "Revenir à la boutique" }
    };
    Page::new(session, "Paiement impossible", body).status(status)
}
