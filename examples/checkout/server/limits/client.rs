//! Who a client is, for the limits: the peer's IP address (an IPv6 address by its /64, the
//! block one subscriber usually gets), or, behind a trusted reverse proxy, the address the
//! proxy names in `X-Forwarded-For`.

use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::super::App;

/// The header a reverse proxy appends the address of its own peer to.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// A client's address as the limits count it: an IPv4 address, or an IPv6 address with its
/// last 64 bits cleared (an IPv4 address written as IPv6, `::ffff:a.b.c.d`, is the IPv4 one).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddress(IpAddr);

impl ClientAddress {
    /// The client of `ip`.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let prefix = v6.to_bits() & !u128::from(u64::MAX);
                    Self(IpAddr::V6(Ipv6Addr::from_bits(prefix)))
                }
            },
        }
    }

    /// Stands for every request whose peer is unknown: they share one budget.
    fn unknown() -> Self {
        Self(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
    }
}

/// Only the address class is printed: logs carry no client address.
impl fmt::Debug for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(_) => f.write_str("ClientAddress(v4)"),
            IpAddr::V6(_) => f.write_str("ClientAddress(v6/64)"),
        }
    }
}

/// A block of addresses: `203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `ip` is in the block (an IPv4 address written as IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 @ IpAddr::V4(_) => v4,
        };
        match (self.base, ip) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                base.to_bits() & mask == ip.to_bits() & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                base.to_bits() & mask == ip.to_bits() & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let refuse = || format!("{text:?} is not an address or a block such as 10.0.0.0/8");
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let base: IpAddr = address.trim().parse().map_err(|_| refuse())?;
        let most = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.trim().parse().map_err(|_| refuse())?,
            None => most,
        };
        if prefix > most {
            return Err(refuse());
        }
        Ok(Self { base, prefix })
    }
}

/// The client of a request from `peer` with `headers`: the peer itself, unless it is one of
/// the `trusted` proxies; then the nearest address in `X-Forwarded-For` that is not a trusted
/// proxy (read from the right: the addresses to the left of it are whatever the client wrote).
pub fn client_of(peer: IpAddr, headers: &HeaderMap, trusted: &[Network]) -> ClientAddress {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|network| network.contains(ip));
    if !is_trusted(peer) {
        return ClientAddress::of(peer);
    }
    let hops: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(ip) => client = ip,
            Ok(ip) => return ClientAddress::of(ip),
            // Not an address: the proxy that passed it on is the client we know.
            Err(_) => break,
        }
    }
    ClientAddress::of(client)
}

impl<S> FromRequestParts<S> for ClientAddress
where
    Arc<App>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let app = Arc::<App>::from_ref(state);
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            static WARNED: AtomicBool = AtomicBool::new(false);
            if !WARNED.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "warning: the server is served without the peers' addresses \
                     (into_make_service_with_connect_info): every client shares one budget"
                );
            }
            return Ok(Self::unknown());
        };
        Ok(client_of(
            peer.ip(),
            &parts.headers,
            &app.limiter.limits().trusted_proxies,
        ))
    }
}
