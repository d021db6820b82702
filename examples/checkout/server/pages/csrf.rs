//! Anti-forgery for the pages' forms: a session cookie, and a token derived from it in every
//! form.
//!
//! The browser gets a random session id in a cookie that scripts cannot read (`HttpOnly`) and
//! that other sites' requests do not carry (`SameSite=Strict`). Each form holds
//! HMAC-SHA256(key, session id) in a hidden field; a POST is taken only when the field matches
//! the cookie it came with. A forged cross-site form has neither the cookie nor a way to learn
//! the token (the signed double-submit cookie pattern).
//!
//! Only this server makes session ids: the cookie carries the id and its MAC under the key,
//! and a cookie without a valid MAC counts as no session (a new one is issued, and the form it
//! came with is refused). So nobody can plant an id they chose, and learn its tokens, in a
//! buyer's browser. Over HTTPS the cookie is `__Host-checkout_session`, `Secure`, `Path=/`,
//! without `Domain`: the browser takes it only from this very host over HTTPS, so neither a
//! sibling subdomain nor a plain-HTTP answer can set it. Over plain HTTP (development on a
//! loopback address, where a browser would drop a `Secure` cookie) it is `checkout_session`.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use buyster::SecretKey;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::super::{App, master_bytes};

/// The session cookie's name over HTTPS: the browser keeps it only if it is `Secure`, has
/// `Path=/` and no `Domain`.
const COOKIE_HTTPS: &str = "__Host-checkout_session";
/// The session cookie's name over plain HTTP, in development.
const COOKIE_PLAIN: &str = "checkout_session";
/// Length of a session id: 32 lowercase hexadecimal digits (128 random bits).
const SESSION_ID_LEN: usize = 32;
/// Length of a session id's MAC: 64 lowercase hexadecimal digits (HMAC-SHA256).
const SESSION_MAC_LEN: usize = 64;

/// The key that signs form tokens, derived from the master key so that forms stay valid
/// across restarts.
pub struct CsrfKey(Zeroizing<[u8; 32]>);

impl CsrfKey {
    /// HMAC-SHA256(master, label): a key of its own, which reveals nothing of the master key.
    pub fn derive(master: &SecretKey) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&mac(
            master_bytes(master),
            b"buyster checkout: form tokens v1",
        ));
        Self(key)
    }

    /// The MAC that shows `session` was issued by this server: apart from the form token,
    /// which the page shows.
    fn session_mac(&self, session: &str) -> String {
        let label = format!("session id v1: {session}");
        hex(&mac(&self.0, label.as_bytes()))
    }

    /// The session id in a cookie's `value`, `{id}.{mac}`, when this server issued it.
    fn issued_id<'a>(&self, value: &'a str) -> Option<&'a str> {
        let (id, tag) = value.split_once('.')?;
        let well_formed = id.len() == SESSION_ID_LEN
            && tag.len() == SESSION_MAC_LEN
            && id.bytes().chain(tag.bytes()).all(is_lower_hex);
        if !well_formed {
            return None;
        }
        let expected = self.session_mac(id);
        bool::from(expected.as_bytes().ct_eq(tag.as_bytes())).then_some(id)
    }

    fn token(&self, session: &str) -> String {
        hex(&mac(&self.0, session.as_bytes()))
    }

    /// The key sealing the order numbers of `session`'s checkout forms: apart from the form
    /// token, which the page shows.
    fn order_key(&self, session: &str) -> Zeroizing<[u8; 32]> {
        let label = format!("order seal v1: {session}");
        Zeroizing::new(mac(&self.0, label.as_bytes()))
    }
}

/// HMAC-SHA256 under a 32-byte key (zero-padded to SHA-256's 64-byte block, as HMAC does).
fn mac(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    let mut block = Zeroizing::new([0u8; 64]);
    for (byte, key_byte) in block.iter_mut().zip(key) {
        *byte = *key_byte;
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*block).into());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn random_session_id() -> String {
    let mut bytes = [0u8; SESSION_ID_LEN / 2];
    rand::rng().fill(&mut bytes);
    hex(&bytes)
}

fn is_lower_hex(byte: u8) -> bool {
    byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The browser's session: its id (new if the request brought none that this server issued),
/// its form token, and the key that seals the order numbers its checkout forms carry.
pub struct Session {
    id: String,
    token: String,
    order_key: Zeroizing<[u8; 32]>,
    /// For a new session, the cookie to set.
    issue: Option<NewCookie>,
}

/// The cookie that gives the browser a new session.
struct NewCookie {
    /// The session id's MAC, which the cookie carries after the id.
    mac: String,
    /// Whether browsers come over HTTPS: the cookie is then `__Host-` and `Secure`.
    https: bool,
}

impl Session {
    /// The token to put in the hidden field `csrf` of every form.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether `submitted` is this session's token; never for a session the request did not
    /// bring.
    pub fn accepts(&self, submitted: &str) -> bool {
        self.issue.is_none() && bool::from(self.token.as_bytes().ct_eq(submitted.as_bytes()))
    }

    /// The hidden field `order` of a checkout form: the order `reference` this server numbered,
    /// sealed to this session, so that the order (the payment's idempotency key) is the
    /// server's, never one a browser made up or took from another session.
    pub fn seal_order(&self, reference: &str) -> String {
        format!(
            "{reference}.{}",
            hex(&mac(&self.order_key, reference.as_bytes()))
        )
    }

    /// The order reference in a posted `order` field that this session sealed; `None` for
    /// any other field, and for a session the request did not bring.
    pub fn open_order<'a>(&self, field: &'a str) -> Option<&'a str> {
        let (reference, seal) = field.rsplit_once('.')?;
        let expected = hex(&mac(&self.order_key, reference.as_bytes()));
        let genuine = bool::from(expected.as_bytes().ct_eq(seal.as_bytes()));
        (self.issue.is_none() && genuine).then_some(reference)
    }

    /// The `Set-Cookie` value that gives the browser this session, when it is new.
    pub fn cookie(&self) -> Option<HeaderValue> {
        let issue = self.issue.as_ref()?;
        let (name, secure) = if issue.https {
            (COOKIE_HTTPS, "; Secure")
        } else {
            (COOKIE_PLAIN, "")
        };
        let cookie = format!(
            "{name}={}.{}; Path=/; HttpOnly; SameSite=Strict{secure}",
            self.id, issue.mac
        );
        HeaderValue::from_str(&cookie).ok()
    }
}

impl<S> FromRequestParts<S> for Session
where
    Arc<App>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let app = Arc::<App>::from_ref(state);
        let name = if app.https {
            COOKIE_HTTPS
        } else {
            COOKIE_PLAIN
        };
        let issued = session_cookies(&parts.headers, name)
            .find_map(|value| app.csrf.issued_id(value).map(str::to_owned));
        let (id, issue) = match issued {
            Some(id) => (id, None),
            None => {
                let id = random_session_id();
                let mac = app.csrf.session_mac(&id);
                let https = app.https;
                (id, Some(NewCookie { mac, https }))
            }
        };
        let token = app.csrf.token(&id);
        let order_key = app.csrf.order_key(&id);
        Ok(Self {
            id,
            token,
            order_key,
            issue,
        })
    }
}

/// The values of the request's cookies named `name`.
fn session_cookies<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(cookie, _)| *cookie == name)
        .map(|(_, value)| value)
}
