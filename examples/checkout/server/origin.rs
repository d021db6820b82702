//! Refuses the state-changing requests that another site's page made a browser send.
//!
//! Browsers say where a request comes from: `Sec-Fetch-Site` (`same-origin`, `same-site`,
//! `cross-site`, or `none` for what the user typed) and, on a `POST`, `Origin`. Every request
//! but `GET`, `HEAD` and `OPTIONS`, on the API and the pages alike, is refused (403) when
//!
//! - `Sec-Fetch-Site` is anything but `same-origin` or `none`: `same-site` too, since a
//!   sibling subdomain is another site's code; or
//! - `Origin` is there and is not this server's own: the scheme browsers use to reach it
//!   (`https` unless in plain-HTTP development) and the `Host` the request was sent to. `null`
//!   (a sandboxed frame, a page from a file, some redirects) is not.
//!
//! A request with neither header passes: no browser sent it (a merchant's back end, curl), so
//! no other site can have. This stands in front of the API's JSON content type and the pages'
//! anti-forgery token, and covers the routes that read no body at all (`resend`, `cancel`): a
//! cross-site HTML form naming a payment id cannot move it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::middleware::Next;
use axum::response::Response;

use super::{App, api, pages};

/// `Sec-Fetch-Site`, which the `http` crate does not name.
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// The layer: passes what this server's own pages (or no browser) sent, refuses the rest
/// with the API's JSON error or a page, after the path.
pub async fn refuse_cross_site(
    State(app): State<Arc<App>>,
    request: Request,
    next: Next,
) -> Response {
    if changes_nothing(request.method())
        || sent_from_here(request.headers(), request.uri(), app.https)
    {
        return next.run(request).await;
    }
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        api::cross_site()
    } else {
        pages::cross_site()
    }
}

fn changes_nothing(method: &Method) -> bool {
    [Method::GET, Method::HEAD, Method::OPTIONS].contains(method)
}

/// Whether a request with these headers came from this server's own pages, or from no
/// browser; `https`: whether browsers reach the server over HTTPS.
fn sent_from_here(headers: &HeaderMap, uri: &Uri, https: bool) -> bool {
    let fetch_site_ok = headers
        .get_all(SEC_FETCH_SITE)
        .iter()
        .all(|site| matches!(site.as_bytes(), b"same-origin" | b"none"));
    fetch_site_ok && origin_ok(headers, uri, https)
}

/// No `Origin`, or one `Origin` that is this server's.
fn origin_ok(headers: &HeaderMap, uri: &Uri, https: bool) -> bool {
    let mut origins = headers.get_all(header::ORIGIN).iter();
    let Some(origin) = origins.next() else {
        return true;
    };
    if origins.next().is_some() {
        return false;
    }
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(host), None) => host.to_str().ok(),
        (None, None) => uri.authority().map(|authority| authority.as_str()),
        _ => None,
    };
    match (origin.to_str(), host) {
        (Ok(origin), Some(host)) => is_own_origin(origin, host, https),
        _ => false,
    }
}

/// Whether `origin` is `scheme://host`, ports written or implied alike, hosts in any case.
fn is_own_origin(origin: &str, host: &str, https: bool) -> bool {
    let (scheme, default_port) = if https {
        ("https://", ":443")
    } else {
        ("http://", ":80")
    };
    let Some(origin_host) = origin.strip_prefix(scheme) else {
        return false;
    };
    let origin_host = origin_host
        .strip_suffix(default_port)
        .unwrap_or(origin_host);
    let host = host.strip_suffix(default_port).unwrap_or(host);
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn passes(pairs: &[(&'static str, &'static str)], https: bool) -> bool {
        sent_from_here(&headers(pairs), &Uri::from_static("/api/payments"), https)
    }

    #[test]
    fn own_origin_passes_with_or_without_the_default_port() {
        let host = ("host", "shop.example");
        assert!(passes(&[host, ("origin", "https://shop.example")], true));
        assert!(passes(
            &[host, ("origin", "https://SHOP.example:443")],
            true
        ));
        assert!(passes(
            &[
                ("host", "Shop.Example:443"),
                ("origin", "https://shop.example")
            ],
            true
        ));
        let local = ("host", "127.0.0.1:8080");
        assert!(passes(&[local, ("origin", "http://127.0.0.1:8080")], false));
        assert!(passes(&[local, ("sec-fetch-site", "same-origin")], false));
        assert!(passes(&[local, ("sec-fetch-site", "none")], false));
        assert!(passes(&[local], false));
    }

    #[test]
    fn other_origins_and_sites_are_refused() {
        let host = ("host", "shop.example");
        for origin in [
            "https://evil.example",
            "http://shop.example",
            "https://shop.example:8443",
            "https://shop.example.evil.example",
            "https://evil.example/shop.example",
            "null",
            "",
        ] {
            assert!(!passes(&[host, ("origin", origin)], true), "{origin}");
        }
        let local = ("host", "127.0.0.1:8080");
        assert!(!passes(
            &[local, ("origin", "https://127.0.0.1:8080")],
            false
        ));
        assert!(!passes(
            &[local, ("origin", "http://127.0.0.1:8081")],
            false
        ));
        assert!(!passes(
            &[local, ("origin", "http://localhost:8080")],
            false
        ));
        for site in ["cross-site", "same-site", "other", ""] {
            assert!(!passes(&[local, ("sec-fetch-site", site)], false), "{site}");
        }
        let origin = ("origin", "http://127.0.0.1:8080");
        assert!(
            !passes(&[local, origin, origin], false),
            "two Origin headers"
        );
        assert!(!passes(&[origin], false), "no Host to compare with");
        assert!(!passes(&[("host", ""), ("origin", "http://")], false));
    }
}
