//! Who is on the other end of a request: the client's address, and the scheme and host it
//! asked for, derived once per request by [`derive`] (a middleware that puts a
//! [`ClientInfo`] into the request's extensions) and read by every surface, the HTML pages
//! and the JSON API alike, through the `ClientInfo` extractor.
//!
//! The TCP peer is the client unless it is a trusted proxy (`COLABEL_TRUSTED_PROXIES`, none
//! by default). Only then are `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host`
//! believed. Each proxy appends the address it saw to `X-Forwarded-For`, so only the right
//! end of the list was written by proxies we trust: the client is the rightmost address
//! there that is not itself a trusted proxy (everything to its left may be made up). The
//! scheme and host are the last values of their headers, the ones the nearest proxy set.
//! `Forwarded` (RFC 7239) is never read, from anyone.

use std::future::{ready, Ready};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

/// One address or CIDR range (`10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network = IpAddr::from_str(addr)
            .map_err(|_| format!("{s:?} is not an IP address or a CIDR range"))?
            .to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has an invalid prefix length (0 to {max})"))?,
        };
        Ok(IpRange { network, prefix })
    }
}

/// The proxies whose `X-Forwarded-*` headers are believed; empty by default (no proxy).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpRange>);

impl TrustedProxies {
    /// Parses addresses and CIDR ranges separated by commas or spaces.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(IpRange::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|r| r.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `http` or `https`, as the client used it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> &'static str {
        match self {
            Scheme::Http => "80",
            Scheme::Https => "443",
        }
    }
}

/// The client of one request, as far as Colabel can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address: the TCP peer, or what trusted proxies say it is.
    pub ip: IpAddr,
    pub scheme: Scheme,
    /// The host (and port, if one was given) the client asked for, lower-cased; empty when
    /// the request named none.
    pub host: String,
}

impl ClientInfo {
    /// Derives the client from the TCP peer and, when the peer is a trusted proxy, from the
    /// `X-Forwarded-*` headers. `tls` says whether Colabel itself received the request over
    /// TLS; `authority` is the request line's host, if it had one (HTTP/2).
    pub fn derive(
        peer: Option<IpAddr>,
        tls: bool,
        headers: &HeaderMap,
        authority: Option<&str>,
        trusted: &TrustedProxies,
    ) -> Self {
        let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.to_canonical());
        let own_host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or(authority)
            .filter(|h| valid_host(h))
            .unwrap_or("");
        let own_scheme = if tls { Scheme::Https } else { Scheme::Http };
        if !trusted.contains(peer) {
            return ClientInfo {
                ip: peer,
                scheme: own_scheme,
                host: own_host.to_ascii_lowercase(),
            };
        }
        let scheme = match last_value(headers, "x-forwarded-proto")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("https") => Scheme::Https,
            Some("http") => Scheme::Http,
            _ => own_scheme,
        };
        let host = last_value(headers, "x-forwarded-host")
            .filter(|h| valid_host(h))
            .unwrap_or(own_host);
        ClientInfo {
            ip: forwarded_client(peer, headers, trusted),
            scheme,
            host: host.to_ascii_lowercase(),
        }
    }

    /// Derives the client of a request that did not pass through [`derive`]: the peer, with
    /// no proxy trusted.
    fn untrusted(req: &HttpRequest) -> Self {
        ClientInfo::derive(
            req.peer_addr().map(|a| a.ip()),
            req.app_config().secure(),
            req.headers(),
            req.uri().authority().map(|a| a.as_str()),
            &TrustedProxies::default(),
        )
    }

    pub fn is_https(&self) -> bool {
        self.scheme == Scheme::Https
    }

    /// Whether `origin` (an `Origin` header: `scheme://host[:port]`) is this request's own
    /// scheme, host and port (a default port may be written or left out).
    pub fn is_same_origin(&self, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        let Some((scheme, host)) = origin.split_once("://") else {
            return false;
        };
        if scheme != self.scheme.as_str() || self.host.is_empty() {
            return false;
        }
        let port = self.scheme.default_port();
        without_port(host.trim_end_matches('/'), port) == without_port(&self.host, port)
    }
}

/// The rightmost address of `X-Forwarded-For` that is not a trusted proxy, read from the
/// right; an entry that is not an address ends the walk at the last trusted hop.
fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        match parse_forwarded_address(entry.trim()) {
            Some(ip) => {
                client = ip;
                if !trusted.contains(ip) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn parse_forwarded_address(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = IpAddr::from_str(s) {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (v6, _) = rest.split_once(']')?;
        return Ipv6Addr::from_str(v6)
            .ok()
            .map(|ip| IpAddr::V6(ip).to_canonical());
    }
    let (v4, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    Ipv4Addr::from_str(v4).ok().map(IpAddr::V4)
}

/// The last comma-separated value of the last `name` header.
fn last_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .last()?
        .rsplit(',')
        .map(str::trim)
        .find(|v| !v.is_empty())
}

/// A host name or address with an optional port, and nothing else.
fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
}

fn without_port<'a>(host: &'a str, default_port: &str) -> &'a str {
    host.strip_suffix(default_port)
        .and_then(|h| h.strip_suffix(':'))
        .unwrap_or(host)
}

/// The middleware: derives the request's [`ClientInfo`] once, before anything else runs
/// (the request log included), with the proxies of the app's `TrustedProxies` data.
pub async fn derive(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let empty = TrustedProxies::default();
    let trusted = req
        .app_data::<actix_web::web::Data<TrustedProxies>>()
        .map_or(&empty, |t| t.get_ref());
    let info = ClientInfo::derive(
        req.peer_addr().map(|a| a.ip()),
        req.app_config().secure(),
        req.headers(),
        req.uri().authority().map(|a| a.as_str()),
        trusted,
    );
    req.extensions_mut().insert(info);
    next.call(req).await
}

/// The client of a request, as [`derive`] found it.
impl FromRequest for ClientInfo {
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(of(req)))
    }
}

/// The client of `req` (outside an extractor: middleware, error pages).
pub fn of(req: &HttpRequest) -> ClientInfo {
    let found = req.extensions().get::<ClientInfo>().cloned();
    found.unwrap_or_else(|| ClientInfo::untrusted(req))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_str(k).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn client(peer: &str, pairs: &[(&str, &str)], trusted: &str) -> ClientInfo {
        ClientInfo::derive(
            Some(ip(peer)),
            false,
            &headers(pairs),
            None,
            &TrustedProxies::parse(trusted).unwrap(),
        )
    }

    #[test]
    fn ranges_match_their_addresses_only() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7 2001:db8::/32").unwrap();
        assert!(t.contains(ip("10.200.3.4")));
        assert!(t.contains(ip("192.168.1.7")));
        assert!(!t.contains(ip("192.168.1.8")));
        assert!(t.contains(ip("2001:db8:ffff::1")));
        assert!(!t.contains(ip("2001:db9::1")));
        assert!(t.contains(ip("::ffff:10.1.1.1")), "IPv4-mapped IPv6");
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "nginx", "::1/129", "10.0.0.0/x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_peers() {
        let spoof = [
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
            (
                "forwarded",
                "for=198.51.100.1;host=evil.example;proto=https",
            ),
            ("host", "colabel.example"),
        ];
        let direct = client("198.51.100.20", &spoof, "127.0.0.1");
        assert_eq!(direct.ip, ip("198.51.100.20"));
        assert_eq!(direct.scheme, Scheme::Http);
        assert_eq!(direct.host, "colabel.example");
        let proxied = client("127.0.0.1", &spoof, "127.0.0.1");
        assert_eq!(proxied.ip, ip("203.0.113.9"));
        assert_eq!(proxied.scheme, Scheme::Https);
        assert_eq!(proxied.host, "evil.example");
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_address() {
        let chain = [(
            "x-forwarded-for",
            "1.1.1.1, 203.0.113.9, 10.0.0.2, [2001:db8::5]:443",
        )];
        let c = client("10.0.0.1", &chain, "10.0.0.0/8, 2001:db8::/32");
        assert_eq!(
            c.ip,
            ip("203.0.113.9"),
            "1.1.1.1 may be made up by the client"
        );
        // Two header lines read as one list.
        let lines = [
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9:5555"),
        ];
        assert_eq!(
            client("10.0.0.1", &lines, "10.0.0.0/8").ip,
            ip("203.0.113.9")
        );
        // Only proxies: the leftmost of them.
        let all = [("x-forwarded-for", "10.0.0.3, 10.0.0.2")];
        assert_eq!(client("10.0.0.1", &all, "10.0.0.0/8").ip, ip("10.0.0.3"));
        // Garbage stops the walk at the last trusted hop.
        let junk = [("x-forwarded-for", "203.0.113.9, not-an-ip")];
        assert_eq!(client("10.0.0.1", &junk, "10.0.0.0/8").ip, ip("10.0.0.1"));
        // No header: the proxy itself (a health check).
        assert_eq!(client("10.0.0.1", &[], "10.0.0.0/8").ip, ip("10.0.0.1"));
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let c = client(
            "127.0.0.1",
            &[("host", "Colabel.Example"), ("x-forwarded-proto", "https")],
            "127.0.0.1",
        );
        assert!(c.is_same_origin("https://colabel.example"));
        assert!(c.is_same_origin("https://colabel.example:443"));
        assert!(!c.is_same_origin("http://colabel.example"));
        assert!(!c.is_same_origin("https://colabel.example:8443"));
        assert!(!c.is_same_origin("https://evil.example"));
        assert!(!c.is_same_origin("null"));
        let plain = client("127.0.0.1", &[("host", "127.0.0.1:8080")], "");
        assert!(plain.is_same_origin("http://127.0.0.1:8080"));
        assert!(!plain.is_same_origin("https://127.0.0.1:8080"));
        assert!(!plain.is_same_origin("http://127.0.0.1"));
    }
}
