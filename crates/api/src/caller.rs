//! Who is asking: the client address behind a request, and its hashed key.
//!
//! `X-Forwarded-For` is believed only when the peer is a trusted proxy, and then only as far as
//! the chain of trusted proxies goes: the rightmost address not itself a trusted proxy is the
//! client. So a client cannot choose its own rate-limit bucket by sending the header itself.
//!
//! An IPv6 client is known by its prefix (a /64 unless `CLIENT_IPV6_PREFIX` says otherwise):
//! one subscriber commonly holds a whole /64, so a key per address would let them pick from
//! billions of buckets.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts as RequestParts;
use ipnet::IpNet;

use crate::error::ApiError;
use crate::secret::ServerSecret;

/// Who sent a request, by the hashed address of the client behind it.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// HMAC of the client address under the server secret.
    pub key: String,
}

/// What it takes to tell callers apart: the server secret and the proxies whose
/// `X-Forwarded-For` is believed.
#[derive(Debug, Clone)]
pub(crate) struct CallerKeys {
    secret: ServerSecret,
    trusted_proxies: Arc<[IpNet]>,
    ipv6_prefix: u8,
}

impl CallerKeys {
    /// Keys under `secret`, believing `trusted_proxies`, with IPv6 clients known by their
    /// first `ipv6_prefix` bits (at most 128).
    pub(crate) fn new(secret: ServerSecret, trusted_proxies: &[IpNet], ipv6_prefix: u8) -> Self {
        Self { secret, trusted_proxies: trusted_proxies.into(), ipv6_prefix: ipv6_prefix.min(128) }
    }

    /// The key of the client at `address`.
    fn key(&self, address: IpAddr) -> String {
        self.secret.client_key(client_bucket(address, self.ipv6_prefix).as_bytes())
    }
}

impl<S> FromRequestParts<S> for Caller
where
    CallerKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut RequestParts, state: &S) -> Result<Self, Self::Rejection> {
        let keys = CallerKeys::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
        let address = client_address(peer, &parts.headers, &keys.trusted_proxies);
        Ok(Self { key: keys.key(address) })
    }
}

/// The client's address, given the peer, the headers and the trusted proxies.
pub(crate) fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return canonical(peer);
    }
    let mut client = peer;
    // Every X-Forwarded-For header, right to left: each hop appends the address it received
    // the request from.
    let hops = headers.get_all("x-forwarded-for").iter().rev().filter_map(|v| v.to_str().ok());
    for hop in hops.flat_map(|v| v.rsplit(',')) {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            // A malformed entry ends what can be believed.
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    canonical(client)
}

/// What identifies the client at `address`: an IPv4 address itself, an IPv6 address's first
/// `ipv6_prefix` bits (`2001:db8:1:2::/64`).
fn client_bucket(address: IpAddr, ipv6_prefix: u8) -> ClientBucket {
    match address {
        IpAddr::V4(v4) => ClientBucket::V4(v4.octets()),
        IpAddr::V6(v6) => {
            let prefix = ipv6_prefix.min(128);
            let mask = u128::MAX.checked_shl(u32::from(128 - prefix)).unwrap_or(0);
            let mut bytes = [0; 17];
            bytes[..16].copy_from_slice(&(v6.to_bits() & mask).to_be_bytes());
            bytes[16] = prefix;
            ClientBucket::V6(bytes)
        }
    }
}

/// The bytes naming one client: four for an IPv4 address; sixteen for an IPv6 network and
/// one for its prefix length, so two lengths never name the same bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientBucket {
    V4([u8; 4]),
    V6([u8; 17]),
}

impl ClientBucket {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::V4(bytes) => bytes,
            Self::V6(bytes) => bytes,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) count as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = vec!["10.0.0.0/8".parse().expect("net")];
        let got = client_address(ip("203.0.113.9"), &headers(&["1.2.3.4"]), &trusted);
        assert_eq!(got, ip("203.0.113.9"));
        assert_eq!(client_address(ip("203.0.113.9"), &headers(&["1.2.3.4"]), &[]), ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_passes_on_the_rightmost_untrusted_address() {
        let trusted = vec!["10.0.0.0/8".parse().expect("net")];
        // The client forged the first entry; the proxy appended the real one.
        let got = client_address(ip("10.0.0.2"), &headers(&["6.6.6.6, 198.51.100.4"]), &trusted);
        assert_eq!(got, ip("198.51.100.4"));
        let chained =
            client_address(ip("10.0.0.2"), &headers(&["6.6.6.6", "198.51.100.4, 10.0.0.3"]), &trusted);
        assert_eq!(chained, ip("198.51.100.4"));
    }

    #[test]
    fn garbage_in_the_header_is_not_believed() {
        let trusted = vec!["10.0.0.0/8".parse().expect("net")];
        assert_eq!(client_address(ip("10.0.0.2"), &headers(&["nonsense"]), &trusted), ip("10.0.0.2"));
        assert_eq!(client_address(ip("10.0.0.2"), &headers(&[]), &trusted), ip("10.0.0.2"));
    }

    #[test]
    fn an_ipv6_client_is_its_prefix_and_an_ipv4_client_its_address() {
        let secret = ServerSecret::new(Some("s")).expect("secret");
        let keys = CallerKeys::new(secret.clone(), &[], 64);
        let one_64: std::collections::BTreeSet<String> =
            (0..30).map(|i| keys.key(ip(&format!("2001:db8:1:2::{i:x}")))).collect();
        assert_eq!(one_64.len(), 1, "30 addresses of one /64 are one client");
        assert_ne!(keys.key(ip("2001:db8:1:2::1")), keys.key(ip("2001:db8:1:3::1")));
        let network = |text: &str, prefix: u8| {
            let mut bytes = [0; 17];
            bytes[..16].copy_from_slice(&text.parse::<std::net::Ipv6Addr>().expect("v6").octets());
            bytes[16] = prefix;
            ClientBucket::V6(bytes)
        };
        assert_eq!(client_bucket(ip("2001:db8:1:2:aaaa::1"), 64), network("2001:db8:1:2::", 64));
        assert_eq!(client_bucket(ip("2001:db8:1:2:aaaa::1"), 48), network("2001:db8:1::", 48));
        assert_eq!(client_bucket(ip("2001:db8::1"), 0), network("::", 0));
        assert_eq!(client_bucket(ip("2001:db8::1"), 128), network("2001:db8::1", 128));
        assert_eq!(client_bucket(ip("203.0.113.7"), 64), ClientBucket::V4([203, 0, 113, 7]));
        assert_eq!(keys.key(ip("203.0.113.7")), secret.client_key(&[203, 0, 113, 7]));
        let per_address = CallerKeys::new(secret, &[], 128);
        assert_ne!(per_address.key(ip("2001:db8:1:2::1")), per_address.key(ip("2001:db8:1:2::2")));
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4() {
        let trusted = vec!["127.0.0.1/32".parse().expect("net")];
        let got = client_address(ip("::ffff:127.0.0.1"), &headers(&["192.0.2.1"]), &trusted);
        assert_eq!(got, ip("192.0.2.1"));
    }
}
