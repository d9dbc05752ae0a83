//! The client's address: the TCP peer, or, when the peer is a trusted reverse proxy, the
//! address the proxies recorded in `X-Forwarded-For`.
//!
//! Every proxy appends the address it received the request from, so the list reads
//! `client, proxy1, proxy2` and the right-most entries are the ones our own proxies wrote.
//! Walking from the right past the trusted proxies, the first untrusted entry is the client:
//! anything to its left was written by the client itself and proves nothing. The rate limits
//! and bans apply to that address, so a trusted proxy is never limited or banned for the
//! clients behind it.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

use crate::abuse::Networks;

/// The header reverse proxies record the client's address in.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// A trusted proxy forwarded a request whose `X-Forwarded-For` cannot be read: the proxy is
/// misconfigured, and guessing would attribute the request (and its bans) to the proxy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the reverse proxy sent an unreadable X-Forwarded-For entry: {entry:?}")]
pub(super) struct BadForwardedFor {
    entry: String,
}

/// The address a request is attributed to (IPv4-mapped IPv6 as IPv4).
pub(super) fn client_address(
    peer: SocketAddr,
    headers: &HeaderMap,
    trusted_proxies: &Networks,
) -> Result<IpAddr, BadForwardedFor> {
    let mut client = peer.ip().to_canonical();
    if !trusted_proxies.contains(client) {
        return Ok(client);
    }
    // Several headers make one list, in order (RFC 9110 §5.3).
    let entries: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .flat_map(|value| {
            // A header that is not even text is one bad entry.
            value
                .to_str()
                .map_or_else(|_| vec!["\u{fffd}"], |v| v.split(',').collect())
        })
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    for entry in entries.into_iter().rev() {
        let ip = parse_entry(entry).ok_or_else(|| BadForwardedFor {
            entry: entry.chars().take(64).collect(),
        })?;
        client = ip;
        if !trusted_proxies.contains(ip) {
            break;
        }
    }
    Ok(client)
}

/// Whether the request came through a trusted proxy that says the client used HTTPS.
pub(super) fn forwarded_https(
    peer: SocketAddr,
    headers: &HeaderMap,
    trusted_proxies: &Networks,
) -> bool {
    trusted_proxies.contains(peer.ip())
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The host the client asked for: `X-Forwarded-Host` from a trusted proxy, else `Host`.
pub(super) fn request_host<'h>(
    peer: SocketAddr,
    headers: &'h HeaderMap,
    trusted_proxies: &Networks,
) -> Option<&'h str> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let forwarded = trusted_proxies
        .contains(peer.ip())
        .then(|| text("x-forwarded-host"))
        .flatten()
        // A list when several proxies set it: the first is what the client asked for.
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    forwarded.or_else(|| text("host").map(str::trim))
}

/// `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`, or either with a port.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse().ok())
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn nets(list: &[&str]) -> Networks {
        Networks::parse(list).unwrap_or_else(|e| panic!("{e}"))
    }

    fn peer(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().unwrap_or_else(|e| panic!("{e}")), 40000)
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                X_FORWARDED_FOR,
                HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let trusted = nets(&["10.0.0.0/8"]);
        let h = xff(&["198.51.100.7"]);
        assert_eq!(
            client_address(peer("203.0.113.9"), &h, &trusted),
            Ok(ip("203.0.113.9"))
        );
        assert_eq!(
            client_address(peer("203.0.113.9"), &h, &Networks::new()),
            Ok(ip("203.0.113.9"))
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "::1"]);
        // The client forged the first entry; the proxy appended the real one.
        let h = xff(&["192.0.2.66, 198.51.100.7"]);
        assert_eq!(
            client_address(peer("10.0.0.2"), &h, &trusted),
            Ok(ip("198.51.100.7"))
        );
        // Two proxies of ours, in two headers.
        let h = xff(&["192.0.2.66, 198.51.100.7", "10.1.1.1"]);
        assert_eq!(
            client_address(peer("10.0.0.2"), &h, &trusted),
            Ok(ip("198.51.100.7"))
        );
        // Mapped IPv4 peer, bracketed IPv6 and ports in the list.
        let h = xff(&["[2001:db8::5]:1234"]);
        assert_eq!(
            client_address(peer("::ffff:10.0.0.2"), &h, &trusted),
            Ok(ip("2001:db8::5"))
        );
        let h = xff(&["198.51.100.7:5555"]);
        assert_eq!(
            client_address(peer("::1"), &h, &trusted),
            Ok(ip("198.51.100.7"))
        );
    }

    #[test]
    fn a_proxy_without_the_header_or_a_chain_of_ours_is_itself_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_address(peer("10.0.0.2"), &HeaderMap::new(), &trusted),
            Ok(ip("10.0.0.2"))
        );
        let h = xff(&["10.3.3.3, 10.4.4.4"]);
        assert_eq!(
            client_address(peer("10.0.0.2"), &h, &trusted),
            Ok(ip("10.3.3.3"))
        );
    }

    #[test]
    fn garbage_written_by_our_proxy_is_refused_but_garbage_left_of_the_client_is_ignored() {
        let trusted = nets(&["10.0.0.0/8"]);
        let h = xff(&["unknown"]);
        assert!(client_address(peer("10.0.0.2"), &h, &trusted).is_err());
        let h = xff(&["not an address, 198.51.100.7"]);
        assert_eq!(
            client_address(peer("10.0.0.2"), &h, &trusted),
            Ok(ip("198.51.100.7"))
        );
    }

    #[test]
    fn forwarded_host_and_proto_only_from_a_trusted_proxy() {
        let trusted = nets(&["10.0.0.0/8"]);
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:5280"));
        h.insert("x-forwarded-host", HeaderValue::from_static("chat.example"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(
            request_host(peer("10.0.0.2"), &h, &trusted),
            Some("chat.example")
        );
        assert_eq!(
            request_host(peer("192.0.2.1"), &h, &trusted),
            Some("127.0.0.1:5280")
        );
        assert!(forwarded_https(peer("10.0.0.2"), &h, &trusted));
        assert!(!forwarded_https(peer("192.0.2.1"), &h, &trusted));
    }

    proptest! {
        #[test]
        fn any_list_is_harmless_and_ignored_from_an_untrusted_peer(
            list in proptest::collection::vec("[0-9a-f.:\\[\\] ,]{0,20}", 0..4),
        ) {
            let trusted = nets(&["10.0.0.0/8"]);
            let values: Vec<HeaderValue> = list
                .iter()
                .filter_map(|v| HeaderValue::from_str(v).ok())
                .collect();
            let mut h = HeaderMap::new();
            for v in values {
                h.append(X_FORWARDED_FOR, v);
            }
            let _ = client_address(peer("10.0.0.2"), &h, &trusted);
            prop_assert_eq!(
                client_address(peer("192.0.2.1"), &h, &trusted),
                Ok(ip("192.0.2.1"))
            );
        }
    }
}
