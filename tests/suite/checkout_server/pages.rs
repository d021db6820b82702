//! The HTML pages over plain HTTP: anti-forgery, escaping, headers, unknown pages.

use serde_json::json;

use super::server::seed;
use super::support::{Answer, PHONE, PIN, TestServer};

const FORM: &str = "application/x-www-form-urlencoded";

/// The value of the hidden field `name` of the page's form.
fn hidden(page: &Answer, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.text.find(&marker).expect("no such field in the form") + marker.len();
    page.text[start..].split('"').next().unwrap().to_owned()
}

/// The session cookie a checkout page set (`name=value`), and the first fields of its form:
/// `csrf=…&order=…`.
fn session_of(page: &Answer) -> (String, String) {
    let set_cookie = page.headers["set-cookie"].to_str().unwrap();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let fields = format!(
        "csrf={}&order={}",
        hidden(page, "csrf"),
        hidden(page, "order")
    );
    (cookie, fields)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_are_taken_only_with_the_session_token() {
    let server = TestServer::start().await;
    let (cookie, token) = session_of(&server.get("/checkout").await);
    let (other_cookie, other_fields) = session_of(&server.get("/checkout").await);
    let other_csrf = other_fields.split('&').next().unwrap();
    assert_ne!(cookie, other_cookie);
    let form = |token: &str| format!("{token}&phone=0612345678&pin={PIN}");
    let csrf_only = token.split('&').next().unwrap();
    let order_only = token.split('&').nth(1).unwrap();
    for (body, cookie) in [
        (form(&token), None),
        (form("csrf=0000"), Some(cookie.as_str())),
        (form(""), Some(cookie.as_str())),
        (format!("phone=0612345678&pin={PIN}"), Some(cookie.as_str())),
        (form(&token), Some(other_cookie.as_str())),
        // The form token without the order, or with an order made up or of another session.
        (form(csrf_only), Some(cookie.as_str())),
        (
            form(&format!("{csrf_only}&order=CMD-000001")),
            Some(cookie.as_str()),
        ),
        (
            form(&format!("{csrf_only}&order=CMD-999999.00")),
            Some(cookie.as_str()),
        ),
        (
            form(&format!("{other_csrf}&{order_only}")),
            Some(other_cookie.as_str()),
        ),
    ] {
        let answer = server
            .post_raw("/checkout", Some(FORM), &body, cookie)
            .await;
        assert_eq!(answer.status, 403, "{body}");
        assert!(answer.text.contains("Page expirée"));
    }
    assert!(server.server.app().sms.messages().await.unwrap().is_empty());

    let answer = server
        .post_raw("/checkout", Some(FORM), &form(&token), Some(&cookie))
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    let location = answer.headers["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/payments/"));
    let page = server.get_with_cookie(&location, &cookie).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Code reçu par SMS"));
    assert!(page.text.contains("+33 6 •• •• •• 78"));
    let id = location.trim_start_matches("/payments/");
    server.code_for(id).await;

    // The same token is refused on a payment's forms without its cookie.
    let answer = server
        .post_raw(&format!("{location}/cancel"), Some(FORM), csrf_only, None)
        .await;
    assert_eq!(answer.status, 403);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkout_form_posted_again_pays_its_order_once() {
    let server = TestServer::start().await;
    let (cookie, fields) = session_of(&server.get("/checkout").await);
    let post = |phone: &str| {
        let body = format!("{fields}&phone={phone}&pin={PIN}");
        let (server, cookie) = (&server, cookie.clone());
        async move {
            server
                .post_raw("/checkout", Some(FORM), &body, Some(&cookie))
                .await
        }
    };
    let first = post("0612345678").await;
    assert_eq!(first.status, 303, "{}", first.text);
    let location = first.headers["location"].to_str().unwrap().to_owned();
    // A double click, a reload of the post, the page in a second tab: the same payment, past
    // its PIN already, and no second SMS.
    for _ in 0..2 {
        let again = post("06 12 34 56 78").await;
        assert_eq!(again.status, 303, "{}", again.text);
        assert_eq!(again.headers["location"], location.as_str());
    }
    assert_eq!(server.server.app().sms.messages().await.unwrap().len(), 1);
    // Another number for the same order: refused, the order's payment left as it is.
    let other = post("0611223344").await;
    assert_eq!(other.status, 409, "{}", other.text);
    assert!(
        other.text.contains("déjà en cours de paiement"),
        "{}",
        other.text
    );
    let id = location.trim_start_matches("/payments/");
    server
        .get(&format!("/api/payments/{id}"))
        .await
        .expect(200, None)
        .state("otp_sent");
    server.code_for(id).await;

    // The page loaded again is a new order, and a new payment.
    let page = server.get_with_cookie("/checkout", &cookie).await;
    let fresh = format!(
        "csrf={}&order={}&phone=0612345678&pin={PIN}",
        hidden(&page, "csrf"),
        hidden(&page, "order")
    );
    assert_ne!(fresh.split('&').nth(1), fields.split('&').nth(1));
    let next = server
        .post_raw("/checkout", Some(FORM), &fresh, Some(&cookie))
        .await;
    assert_eq!(next.status, 303, "{}", next.text);
    assert_ne!(next.headers["location"], location.as_str());
    let next_id = next.headers["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/payments/");
    server.code_for(next_id).await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_on_the_pages_is_told_in_french() {
    let server = TestServer::start().await;
    let (cookie, token) = session_of(&server.get("/checkout").await);
    let post = |body: String| {
        let cookie = cookie.clone();
        let server = &server;
        async move {
            server
                .post_raw("/checkout", Some(FORM), &body, Some(&cookie))
                .await
        }
    };
    let bad_phone = post(format!("{token}&phone=12&pin={PIN}")).await;
    assert_eq!(bad_phone.status, 400);
    assert!(
        bad_phone
            .text
            .contains("numéro de mobile n&#39;est pas valide")
            || bad_phone.text.contains("numéro de mobile n'est pas valide")
    );
    let bad_pin = post(format!("{token}&phone=0612345678&pin=12ab")).await;
    assert_eq!(bad_pin.status, 400);
    assert!(bad_pin.text.contains("6 chiffres"));
    let wrong_pin = post(format!("{token}&phone=0612345678&pin=135790")).await;
    assert_eq!(wrong_pin.status, 422);
    assert!(
        wrong_pin.text.contains("Il vous reste 2 essais"),
        "{}",
        wrong_pin.text
    );
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_escape_what_they_show() {
    let server = TestServer::start().await;
    let created = server
        .post(
            "/api/payments",
            json!({
                "merchant": seed::MERCHANT_ID, "amount_minor": 1500, "currency": "EUR",
                "reference": "<script>alert(\"x\")</script>&", "phone": PHONE,
            }),
        )
        .await;
    created.expect(201, None);
    let page = server
        .get(&format!("/payments/{}", created.field("id")))
        .await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("<script>"), "{}", page.text);
    assert!(page.text.contains("&lt;script&gt;"), "{}", page.text);
    assert!(page.text.contains("15,00 €"));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_french_phone_sized_and_locked_down() {
    let server = TestServer::start().await;
    let shop = server.get("/").await;
    assert_eq!(shop.status, 200);
    assert!(shop.text.contains("<html lang=\"fr\">"));
    assert!(shop.text.contains("name=\"viewport\""));
    assert!(shop.text.contains("Payer avec mon mobile"));
    assert!(shop.text.contains("49,90 €"));
    let csp = shop.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'"));
    assert_eq!(shop.headers["cache-control"], "no-store");
    assert_eq!(shop.headers["referrer-policy"], "same-origin");
    assert_eq!(shop.headers["x-frame-options"], "DENY");
    for path in [
        "/payments/nope",
        "/payments/0123456789abcdef0123456789abcdef",
        "/nothing",
    ] {
        let page = server.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.text.contains("Page introuvable"));
    }
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_pages_can_be_turned_off() {
    let server = TestServer::start_with(|config| config.dev_pages = false).await;
    assert_eq!(server.get("/dev/sms").await.status, 404);
    assert_eq!(server.get("/dev/ledger").await.status, 404);
    assert!(!server.get("/").await.text.contains("/dev/sms"));
    server.finish().await;
}
