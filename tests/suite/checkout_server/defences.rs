//! The browser-facing defences: the development pages' switch, the refusal of requests another
//! site's page sent, server-issued session cookies, and JSON bodies that repeat a key.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hyper::Method;
use serde_json::{Value, json};

use super::server::{Command as Run, Config, Server, seed};
use super::support::{Answer, PHONE, PIN, TestServer};

const FORM: &str = "application/x-www-form-urlencoded";
const EVIL: &str = "http://evil.example";

fn config_of(args: &[&str], env: &[(&str, &str)]) -> Result<Box<Config>, String> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    let lookup = |name: &str| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    match Config::from_args(args.iter().map(|arg| (*arg).to_owned()), lookup)? {
        Run::Run(config) => Ok(config),
        Run::Help => Err("help".to_owned()),
    }
}

/// Why the settings of `args` over `env` are refused.
fn refusal(args: &[&str], env: &[(&str, &str)]) -> String {
    match config_of(args, env) {
        Ok(_) => panic!("{args:?} {env:?} accepted"),
        Err(error) => error,
    }
}

#[test]
fn development_pages_are_off_unless_asked_for() {
    assert!(!Config::new("checkout.db".into()).dev_pages);
    assert!(!config_of(&[], &[]).unwrap().dev_pages);
    for off in ["0", "false", "no", "off"] {
        let config = config_of(&[], &[("CHECKOUT_DEV_PAGES", off)]).unwrap();
        assert!(!config.dev_pages, "CHECKOUT_DEV_PAGES={off}");
    }
    for on in ["1", "true", "yes", "on"] {
        let config = config_of(&[], &[("CHECKOUT_DEV_PAGES", on)]).unwrap();
        assert!(config.dev_pages, "CHECKOUT_DEV_PAGES={on}");
    }
    assert!(config_of(&["--dev-pages"], &[]).unwrap().dev_pages);
    let env = [("CHECKOUT_DEV_PAGES", "1")];
    assert!(!config_of(&["--no-dev-pages"], &env).unwrap().dev_pages);
    for value in ["False", "2", "", " 1", "enabled", "nope"] {
        let error = refusal(&[], &[("CHECKOUT_DEV_PAGES", value)]);
        assert_eq!(
            error,
            "CHECKOUT_DEV_PAGES must be 1, true, yes or on, or 0, false, no or off; see --help"
        );
    }
}

#[test]
fn development_pages_are_refused_on_an_address_others_reach() {
    for addr in ["0.0.0.0:8080", "192.168.1.10:8080", "[::]:8080"] {
        let error = refusal(&["--dev-pages", "--addr", addr], &[]);
        assert!(error.contains("loopback address only"), "{error}");
        let env = [("CHECKOUT_DEV_PAGES", "1"), ("CHECKOUT_ADDR", addr)];
        assert!(config_of(&[], &env).is_err(), "{addr}");
        assert!(!config_of(&["--addr", addr], &[]).unwrap().dev_pages);
    }
    for addr in ["127.0.0.1:8080", "[::1]:8080"] {
        assert!(
            config_of(&["--dev-pages", "--addr", addr], &[])
                .unwrap()
                .dev_pages
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_development_pages_on_a_public_address_does_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().join("checkout.db"));
    config.dev_pages = true;
    config.addr = "0.0.0.0:8080".parse().unwrap();
    let Err(error) = Server::open(config).await else {
        panic!("the server opened");
    };
    assert!(
        error.to_string().contains("loopback address only"),
        "{error}"
    );
    // Refused before anything was created: no database, no key file.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Runs the built example with `args` and `env` in `dir`, expecting it to stop at once: its
/// exit code and standard error. A server that starts instead is killed, and the test fails.
fn run_refused(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = Command::new(super::kill::checkout_binary())
        .args(args)
        .envs(env.iter().copied())
        .env_remove("BUYSTER_MASTER_KEY")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} {env:?}: the server started");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stderr)
}

#[test]
fn the_binary_refuses_a_switch_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let local = ["--addr", "127.0.0.1:0"];
    let env = [("CHECKOUT_DEV_PAGES", "false-ish")];
    let (status, stderr) = run_refused(dir.path(), &local, &env);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("CHECKOUT_DEV_PAGES must be"), "{stderr}");
    assert!(!stderr.contains("false-ish"), "{stderr}");
    let args = ["--dev-pages", "--addr", "0.0.0.0:0"];
    let (status, stderr) = run_refused(dir.path(), &args, &[]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("loopback address only"), "{stderr}");
    let (status, stderr) = run_refused(dir.path(), &local, &[("CHECKOUT_HTTPS", "sure")]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("CHECKOUT_HTTPS must be"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn https_follows_the_address_unless_set() {
    assert!(!Config::new("checkout.db".into()).uses_https());
    assert!(!config_of(&[], &[]).unwrap().uses_https());
    assert!(
        config_of(&["--addr", "0.0.0.0:8080"], &[])
            .unwrap()
            .uses_https()
    );
    assert!(config_of(&["--https"], &[]).unwrap().uses_https());
    let env = [("CHECKOUT_HTTPS", "1")];
    assert!(config_of(&[], &env).unwrap().uses_https());
    let env = [("CHECKOUT_HTTPS", "0")];
    let config = config_of(&["--addr", "0.0.0.0:8080"], &env).unwrap();
    assert!(!config.uses_https());
    assert!(
        !config_of(&["--https", "--no-https"], &[])
            .unwrap()
            .uses_https()
    );
    let error = refusal(&[], &[("CHECKOUT_HTTPS", "https")]);
    assert!(error.starts_with("CHECKOUT_HTTPS must be"), "{error}");
}

/// The payment as the API shows it.
async fn view(server: &TestServer, id: &str) -> Value {
    let answer = server.get(&format!("/api/payments/{id}")).await;
    answer.expect(200, None);
    answer.json
}

/// How many SMS payment `id` was sent.
async fn sms_count(server: &TestServer, id: &str) -> usize {
    let messages = server.server.app().sms.messages().await.unwrap();
    messages
        .iter()
        .filter(|sms| sms.payment.to_string() == id)
        .count()
}

/// A POST of an HTML form (`body`) with `headers`.
async fn form_post(
    server: &TestServer,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Answer {
    server
        .send_with(Method::POST, path, Some(FORM), body, None, headers)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_form_moves_no_payment() {
    let server = TestServer::start().await;
    let (id, _) = server.sent(1_500).await;
    let before = view(&server, &id).await;
    assert_eq!(sms_count(&server, &id).await, 1);
    let cross_site = [("origin", EVIL), ("sec-fetch-site", "cross-site")];
    for step in ["cancel", "resend"] {
        let path = format!("/api/payments/{id}/{step}");
        let answer = form_post(&server, &path, "x=1", &cross_site).await;
        answer.expect(403, Some("cross_site_request"));
        assert!(
            answer.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let path = format!("/payments/{id}/{step}");
        let answer = form_post(&server, &path, "csrf=x", &cross_site).await;
        assert_eq!(answer.status, 403, "{}", answer.text);
        assert!(answer.text.contains("Demande refusée"), "{}", answer.text);
        assert!(answer.headers.get("set-cookie").is_none());
        assert_eq!(answer.headers["x-frame-options"], "DENY");
    }
    assert_eq!(view(&server, &id).await, before);
    assert_eq!(sms_count(&server, &id).await, 1);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn either_header_alone_refuses_a_request() {
    let server = TestServer::start().await;
    let (id, code) = server.sent(1_600).await;
    let before = view(&server, &id).await;
    let own_https = server.url.replacen("http://", "https://", 1);
    let other_port = format!("{}1", server.url);
    let refused: [&[(&str, &str)]; 8] = [
        &[("origin", EVIL)],
        &[("origin", "null")],
        &[("origin", &own_https)],
        &[("origin", &other_port)],
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        // An own Origin does not excuse a cross-site fetch, nor the reverse.
        &[("origin", &server.url), ("sec-fetch-site", "cross-site")],
        &[("origin", EVIL), ("sec-fetch-site", "same-origin")],
    ];
    let code_body = json!({ "code": code }).to_string();
    for headers in refused {
        for step in ["cancel", "resend"] {
            let path = format!("/api/payments/{id}/{step}");
            form_post(&server, &path, "", headers)
                .await
                .expect(403, Some("cross_site_request"));
        }
        // The JSON content type does not get a cross-site request through either.
        let path = format!("/api/payments/{id}/code");
        server
            .send_with(
                Method::POST,
                &path,
                Some("application/json"),
                &code_body,
                None,
                headers,
            )
            .await
            .expect(403, Some("cross_site_request"));
        let answer = form_post(&server, "/checkout", "phone=0612345678", headers).await;
        assert_eq!(answer.status, 403, "{headers:?}");
        assert!(answer.text.contains("Demande refusée"));
    }
    assert_eq!(view(&server, &id).await, before);
    assert_eq!(sms_count(&server, &id).await, 1);
    // Reading stays open to links from anywhere.
    let headers = [("origin", EVIL), ("sec-fetch-site", "cross-site")];
    for path in ["/", format!("/api/payments/{id}").as_str()] {
        let answer = server
            .send_with(Method::GET, path, None, "", None, &headers)
            .await;
        assert_eq!(answer.status, 200, "{path}");
    }
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_origin_and_headerless_requests_pass() {
    let server = TestServer::start().await;
    let (id, _) = server.sent(1_700).await;
    let host = server.url.trim_start_matches("http://").to_owned();
    let same_origin = [
        ("origin", server.url.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    let path = format!("/api/payments/{id}/cancel");
    form_post(&server, &path, "", &same_origin)
        .await
        .expect(200, None)
        .state("failed");
    // The host in another case, its default port written out: the same origin.
    let (other, _) = server.sent(1_701).await;
    let upper = format!("http://{}", host.to_uppercase());
    let path = format!("/api/payments/{other}/cancel");
    form_post(
        &server,
        &path,
        "",
        &[("origin", &upper), ("sec-fetch-site", "none")],
    )
    .await
    .expect(200, None)
    .state("failed");
    // A client that is no browser sends neither header.
    let (third, _) = server.sent(1_702).await;
    let path = format!("/api/payments/{third}/cancel");
    form_post(&server, &path, "", &[])
        .await
        .expect(200, None)
        .state("failed");
    // The pages' own forms, from the same origin, with the session's token.
    let page = server.get("/checkout").await;
    let cookie = set_cookie(&page).split(';').next().unwrap().to_owned();
    let body = format!(
        "csrf={}&order={}&phone=0612345678&pin={PIN}",
        hidden(&page, "csrf"),
        hidden(&page, "order")
    );
    let answer = server
        .send_with(
            Method::POST,
            "/checkout",
            Some(FORM),
            &body,
            Some(&cookie),
            &same_origin,
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    server.finish().await;
}

/// The value of the hidden field `name` of the page's form.
fn hidden(page: &Answer, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.text.find(&marker).expect("no such field in the form") + marker.len();
    page.text[start..].split('"').next().unwrap().to_owned()
}

fn set_cookie(page: &Answer) -> &str {
    page.headers["set-cookie"].to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_id_the_server_did_not_issue_is_not_adopted() {
    let server = TestServer::start().await;
    let chosen = "0123456789abcdef0123456789abcdef";
    let forged_mac = format!("{chosen}.{}", "ab".repeat(32));
    let issued = set_cookie(&server.get("/").await).to_owned();
    let issued_value = issued.split(';').next().unwrap().split_once('=').unwrap().1;
    let (other_id, _) = issued_value.split_once('.').unwrap();
    let other_mac = format!("{chosen}.{}", issued_value.split_once('.').unwrap().1);
    let swapped = format!(
        "{}.{}",
        "f".repeat(32),
        issued_value.split_once('.').unwrap().1
    );
    assert_eq!(other_id.len(), 32);
    for value in [
        chosen,
        forged_mac.as_str(),
        other_mac.as_str(),
        swapped.as_str(),
    ] {
        let cookie = format!("checkout_session={value}");
        let page = server.get_with_cookie("/checkout", &cookie).await;
        assert_eq!(page.status, 200);
        // A new session is issued in its place...
        let fresh = set_cookie(&page);
        assert!(fresh.starts_with("checkout_session="), "{fresh}");
        assert!(!fresh.contains(chosen), "{fresh}");
        // ...and a form posted with the chosen cookie is refused, even with the page's token.
        let body = format!(
            "csrf={}&order={}&phone=0612345678&pin={PIN}",
            hidden(&page, "csrf"),
            hidden(&page, "order")
        );
        let answer = server
            .post_raw("/checkout", Some(FORM), &body, Some(&cookie))
            .await;
        assert_eq!(answer.status, 403, "{value}");
        assert!(answer.text.contains("Page expirée"));
    }
    assert!(server.server.app().sms.messages().await.unwrap().is_empty());
    // The issued cookie is the session: no new one, and its form is taken.
    let cookie = issued.split(';').next().unwrap().to_owned();
    let page = server.get_with_cookie("/checkout", &cookie).await;
    assert!(page.headers.get("set-cookie").is_none());
    let body = format!(
        "csrf={}&order={}&phone=0612345678&pin={PIN}",
        hidden(&page, "csrf"),
        hidden(&page, "order")
    );
    let answer = server
        .post_raw("/checkout", Some(FORM), &body, Some(&cookie))
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_the_cookie_is_host_prefixed_and_secure() {
    let server = TestServer::start_with(|config| config.https = Some(true)).await;
    let page = server.get("/checkout").await;
    let set = set_cookie(&page).to_owned();
    assert!(set.starts_with("__Host-checkout_session="), "{set}");
    let attributes: Vec<&str> = set.split("; ").skip(1).collect();
    assert_eq!(
        attributes,
        ["Path=/", "HttpOnly", "SameSite=Strict", "Secure"]
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    // The same value under the unprefixed name, which a sibling subdomain could set, is no
    // session.
    let unprefixed = cookie.replacen("__Host-", "", 1);
    let again = server.get_with_cookie("/checkout", &unprefixed).await;
    assert!(set_cookie(&again).starts_with("__Host-checkout_session="));
    let body = |page: &Answer| {
        format!(
            "csrf={}&order={}&phone=0612345678&pin={PIN}",
            hidden(page, "csrf"),
            hidden(page, "order")
        )
    };
    let answer = server
        .post_raw("/checkout", Some(FORM), &body(&page), Some(&unprefixed))
        .await;
    assert_eq!(answer.status, 403);
    assert!(server.server.app().sms.messages().await.unwrap().is_empty());
    // The browser's own Origin is https:// here.
    let origin = server.url.replacen("http://", "https://", 1);
    let answer = server
        .send_with(
            Method::POST,
            "/checkout",
            Some(FORM),
            &body(&page),
            Some(&cookie),
            &[("origin", &origin), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    server.finish().await;

    let plain = TestServer::start().await;
    let set = set_cookie(&plain.get("/").await).to_owned();
    assert!(set.starts_with("checkout_session="), "{set}");
    assert!(!set.contains("Secure"), "{set}");
    plain.finish().await;
}

/// A raw JSON body to `path`.
async fn post_json(server: &TestServer, path: &str, body: &str) -> Answer {
    server
        .post_raw(path, Some("application/json"), body, None)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_repeating_a_key_is_refused_at_any_depth() {
    let server = TestServer::start().await;
    let merchant = seed::MERCHANT_ID;
    let fields = format!(
        r#""merchant":"{merchant}","currency":"EUR","reference":"CMD-DUP-1","phone":"{PHONE}""#
    );
    let bodies = [
        (
            format!(r#"{{{fields},"amount_minor":1,"amount_minor":40200}}"#),
            "amount_minor",
        ),
        (
            format!(r#"{{"amount_minor":40200,{fields},"amount_minor":1}}"#),
            "amount_minor",
        ),
        (
            format!(r#"{{{fields},"amount_minor":1,"extra":{{"a":1,"b":{{"c":2,"c":3}}}}}}"#),
            "c",
        ),
        (
            format!(r#"{{{fields},"amount_minor":1,"list":[1,{{"k":"x","k":"x"}}]}}"#),
            "k",
        ),
    ];
    for (body, key) in &bodies {
        let answer = post_json(&server, "/api/payments", body).await;
        answer.expect(400, Some("malformed_request"));
        assert_eq!(
            answer.field("message"),
            format!("the key `{key}` appears twice in one object; send each key once")
        );
        assert!(!answer.text.contains("40200"), "{}", answer.text);
    }
    // No payment exists for the order: a third amount under its reference is a new payment,
    // not 409 `idempotency_key_reused`.
    let body = format!(r#"{{{fields},"amount_minor":500,"x":{{"k":1}},"y":{{"k":2}}}}"#);
    let answer = post_json(&server, "/api/payments", &body).await;
    answer.expect(201, None).state("initiated");
    assert_eq!(answer.json["amount_minor"], 500);
    let id = answer.field("id").to_owned();
    // A step's body too: the PIN named twice counts no attempt and sends nothing.
    let path = format!("/api/payments/{id}/pin");
    let body = format!(r#"{{"pin":"000000","pin":"{PIN}"}}"#);
    post_json(&server, &path, &body)
        .await
        .expect(400, Some("malformed_request"));
    let stored = view(&server, &id).await;
    assert_eq!(stored["state"], "initiated");
    assert_eq!(sms_count(&server, &id).await, 0);
    // The other refusals of a body stand as they were.
    post_json(&server, &path, r#"{"pin":"1"} x"#)
        .await
        .expect(400, Some("malformed_request"));
    post_json(&server, &path, "[]")
        .await
        .expect(400, Some("malformed_request"));
    server
        .post_raw(&path, Some("text/plain"), "{}", None)
        .await
        .expect(415, Some("unsupported_media_type"));
    let huge = format!(r#"{{"pin":"{}"}}"#, "1".repeat(20_000));
    post_json(&server, &path, &huge)
        .await
        .expect(413, Some("body_too_large"));
    // Nesting deeper than the parser's limit is refused, not a crash.
    let deep = format!(r#"{{"pin":{}1{}}}"#, "[".repeat(2_000), "]".repeat(2_000));
    post_json(&server, &path, &deep)
        .await
        .expect(400, Some("malformed_request"));
    let long_key = "k".repeat(500);
    let answer = post_json(
        &server,
        &path,
        &format!(r#"{{"{long_key}":1,"{long_key}":2}}"#),
    )
    .await;
    answer.expect(400, Some("malformed_request"));
    assert!(answer.field("message").len() < 200);
    assert_eq!(view(&server, &id).await, stored);
    server.finish().await;
}
