//! The frame of every page: French, phone-sized, a little inline CSS, strict headers.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::csrf::Session;

/// The style sheet: small enough to inline, so a page is one request and needs no build step.
const CSS: &str = "
*{box-sizing:border-box}
body{margin:0;font:17px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;
  color:#1c2430;background:#eef1f5}
main{max-width:28rem;margin:0 auto;padding:1rem}
header{display:flex;align-items:center;gap:.5rem;margin:.25rem 0 1rem;font-weight:600}
header .logo{display:inline-grid;place-items:center;width:2rem;height:2rem;border-radius:.5rem;
  background:#0b5cad;color:#fff}
h1{font-size:1.35rem;margin:.25rem 0 1rem}
.card{background:#fff;border-radius:.9rem;padding:1rem 1.1rem;margin-bottom:1rem;
  box-shadow:0 1px 3px rgba(0,0,0,.08)}
.summary{display:flex;justify-content:space-between;align-items:baseline;gap:1rem}
.amount{font-size:1.5rem;font-weight:700;white-space:nowrap}
.muted{color:#5b6776;font-size:.95rem}
table{width:100%;border-collapse:collapse}
td{padding:.35rem 0;vertical-align:top}
td.price{text-align:right;white-space:nowrap}
tr.total td{border-top:1px solid #d8dee6;font-weight:700;padding-top:.6rem}
label{display:block;font-weight:600;margin:.75rem 0 .3rem}
input[type=tel],input[type=password],input[type=text]{width:100%;font-size:1.3rem;padding:.7rem .8rem;
  border:1px solid #aab4c0;border-radius:.6rem;background:#fff;letter-spacing:.08em}
input:focus{outline:3px solid #9cc3ee;border-color:#0b5cad}
button,.button{display:block;width:100%;margin-top:1rem;padding:.85rem;font-size:1.1rem;
  font-weight:600;border:0;border-radius:.6rem;background:#0b5cad;color:#fff;text-align:center;
  text-decoration:none;cursor:pointer}
button.secondary{background:#fff;color:#0b5cad;border:1px solid #0b5cad}
button.link{background:none;color:#5b6776;font-weight:400;font-size:.95rem;text-decoration:underline}
.notice{border-radius:.6rem;padding:.75rem .9rem;margin-bottom:1rem}
.notice.error{background:#fdecec;color:#8a1414;border:1px solid #f3b7b7}
.status{display:grid;place-items:center;width:4rem;height:4rem;margin:.5rem auto 0;
  border-radius:50%;font-size:2.2rem;font-weight:700;color:#fff;background:#0b5cad}
.status.ok{background:#1b873f}.status.ko{background:#b42318}
.nowrap{white-space:nowrap}
.facts div{display:flex;justify-content:space-between;gap:1rem;padding:.3rem 0;
  border-bottom:1px solid #eef1f5}
.facts dt{color:#5b6776;white-space:nowrap}
.facts dd{margin:0;text-align:right;font-weight:600;overflow-wrap:anywhere}
footer{margin-top:1.5rem;text-align:center;font-size:.85rem;color:#5b6776}
footer a{color:#5b6776}
ul.dev{list-style:none;padding:0;margin:0}.dev li{overflow-wrap:anywhere}
";

/// A page: its status, its markup, and the session whose cookie it may set.
pub struct Page {
    status: StatusCode,
    markup: Markup,
    cookie: Option<HeaderValue>,
}

impl Page {
    /// A page titled `title` with `body`, for `session`.
    pub fn new(session: &Session, title: &str, body: Markup) -> Self {
        Self::framed(session.cookie(), title, body, None)
    }

    /// A page that reloads itself every `secs` seconds (no script needed).
    pub fn refreshing(session: &Session, title: &str, body: Markup, secs: u32) -> Self {
        Self::framed(session.cookie(), title, body, Some(secs))
    }

    /// A page outside any session (errors, development pages).
    pub fn plain(title: &str, body: Markup) -> Self {
        Self::framed(None, title, body, None)
    }

    /// The same page with another status.
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    fn framed(
        cookie: Option<HeaderValue>,
        title: &str,
        body: Markup,
        refresh_secs: Option<u32>,
    ) -> Self {
        let markup = html! {
            (DOCTYPE)
            html lang="fr" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    @if let Some(secs) = refresh_secs {
                        meta http-equiv="refresh" content=(secs);
                    }
                    title { (title) " · Boutique Démo" }
                    style { (PreEscaped(CSS)) }
                }
                body {
                    main {
                        header { span.logo { "B" } "Boutique Démo" }
                        (body)
                        footer { "Paiement sécurisé par code confidentiel et SMS" }
                    }
                }
            }
        };
        Self {
            status: StatusCode::OK,
            markup,
            cookie,
        }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.markup).into_response();
        if let Some(cookie) = self.cookie {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// Headers on every answer, pages and API alike: no caching of payment data, no framing, no
/// script at all, forms only to this server, no referrer to other sites (URLs hold payment
/// ids). `same-origin` rather than `no-referrer`: under `no-referrer` a browser sends
/// `Origin: null` with the pages' own forms, which the origin check (`origin.rs`) refuses.
pub async fn security_headers(mut response: Response) -> Response {
    const HEADERS: [(HeaderName, &str); 5] = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in HEADERS {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    response
}
