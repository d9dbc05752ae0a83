//! Lists of IP networks (allow-lists and the like), written in CIDR notation.
//!
//! An entry is either `address/prefix` (`127.0.0.0/8`, `::1/128`, `2001:db8::/32`) or a single
//! address (`10.1.2.3`, `::1`), which stands for itself alone. Host bits after the prefix are
//! ignored (`10.1.2.3/8` is `10.0.0.0/8`).
//!
//! IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`, which a dual-stack listener reports for IPv4
//! clients) are IPv4 addresses here: [`Networks::contains`] canonicalises the address it is given,
//! and an entry written in the mapped form (`::ffff:10.0.0.0/104`) is stored as the IPv4 network
//! it denotes (`10.0.0.0/8`), so both spellings match the same clients.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net};

/// An entry of a [`Networks`] list that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid IP network {input:?}: expected an address or address/prefix, \
     such as 10.1.2.3, 10.0.0.0/8 or ::1/128"
)]
pub struct NetworkParseError {
    input: String,
}

impl NetworkParseError {
    /// The text that was rejected.
    pub fn input(&self) -> &str {
        &self.input
    }
}

/// One IP network (an address and a prefix length), canonical: host bits cleared and
/// IPv4-mapped IPv6 networks turned into IPv4 ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Network(IpNet);

impl Network {
    /// The network of exactly one address (a `/32` or a `/128`); IPv4-mapped addresses become
    /// IPv4.
    pub fn host(ip: IpAddr) -> Self {
        Self(IpNet::from(ip.to_canonical()))
    }

    /// Whether `ip` (canonicalised) is in this network. An IPv6 network wider than the mapped
    /// range (`::/0`, `::ffff:0:0/95`) contains the IPv4 addresses it covers in mapped form.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.0, ip.to_canonical()) {
            (IpNet::V6(net), IpAddr::V4(v4)) => net.contains(&v4.to_ipv6_mapped()),
            (net, ip) => net.contains(&ip),
        }
    }

    fn canonical(net: IpNet) -> Self {
        let net = net.trunc();
        if let IpNet::V6(v6) = net
            && v6.prefix_len() >= 96
            && let Some(v4) = v6.addr().to_ipv4_mapped()
            && let Ok(v4net) = Ipv4Net::new(v4, v6.prefix_len() - 96)
        {
            return Self(IpNet::V4(v4net));
        }
        Self(net)
    }
}

impl FromStr for Network {
    type Err = NetworkParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let parsed = if text.contains('/') {
            text.parse::<IpNet>().ok()
        } else {
            text.parse::<IpAddr>().ok().map(IpNet::from)
        };
        parsed
            .map(Self::canonical)
            .ok_or_else(|| NetworkParseError {
                input: s.to_owned(),
            })
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A list of IP networks; an address matches the list when it is in any of them.
///
/// A linear scan: these lists are short (an operator's allow-list), and a scan of a handful of
/// prefixes is cheaper than any index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks {
    nets: Vec<Network>,
}

impl Networks {
    /// The empty list, which contains no address.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses every entry; the first bad one is the error.
    pub fn parse<I, S>(entries: I) -> Result<Self, NetworkParseError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let nets = entries
            .into_iter()
            .map(|entry| entry.as_ref().parse())
            .collect::<Result<Vec<Network>, _>>()?;
        Ok(Self { nets })
    }

    /// The loopback networks, `127.0.0.0/8` and `::1/128`.
    pub fn loopback() -> Self {
        Self {
            nets: vec![
                Network::canonical(IpNet::V4(Ipv4Net::new_assert([127, 0, 0, 0].into(), 8))),
                Network::host(std::net::Ipv6Addr::LOCALHOST.into()),
            ],
        }
    }

    /// Adds a network to the list.
    pub fn push(&mut self, net: Network) {
        self.nets.push(net);
    }

    /// Whether `ip` (canonicalised: IPv4-mapped IPv6 is IPv4) is in one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|net| net.contains(ip))
    }

    /// Whether the list has no network (and so contains no address).
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// The number of networks in the list.
    pub fn len(&self) -> usize {
        self.nets.len()
    }

    /// The networks, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &Network> {
        self.nets.iter()
    }
}

impl FromIterator<Network> for Networks {
    fn from_iter<T: IntoIterator<Item = Network>>(iter: T) -> Self {
        Self {
            nets: iter.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn cidr_and_single_addresses() {
        let nets = Networks::parse(["127.0.0.0/8", "::1/128", "10.1.2.3", "2001:db8::/32"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(nets.len(), 4);
        assert!(nets.contains(ip("127.0.0.1")));
        assert!(nets.contains(ip("127.255.0.9")));
        assert!(nets.contains(ip("::1")));
        assert!(nets.contains(ip("10.1.2.3")));
        assert!(!nets.contains(ip("10.1.2.4")));
        assert!(nets.contains(ip("2001:db8:1::5")));
        assert!(!nets.contains(ip("2001:db9::1")));
        assert!(!nets.contains(ip("128.0.0.1")));
        assert!(!nets.contains(ip("::2")));
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4() {
        let nets = Networks::parse(["192.0.2.0/24"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(nets.contains(ip("::ffff:192.0.2.7")));
        assert!(!nets.contains(ip("::ffff:192.0.3.7")));
    }

    #[test]
    fn mapped_entries_are_stored_as_ipv4() {
        let nets = Networks::parse(["::ffff:10.0.0.0/104", "::ffff:192.0.2.1"])
            .unwrap_or_else(|e| panic!("{e}"));
        let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.0.2.1/32"]);
        assert!(nets.contains(ip("10.9.9.9")));
        assert!(nets.contains(ip("::ffff:10.9.9.9")));
        assert!(nets.contains(ip("192.0.2.1")));
        // A mapped prefix shorter than /96 covers more than IPv4; it stays IPv6, and still
        // contains the IPv4 addresses it covers.
        let wide: Network = "::ffff:0:0/95".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(wide.to_string(), "::fffe:0:0/95");
        assert!(wide.contains(ip("192.0.2.1")));
        assert!(wide.contains(ip("::fffe:1:2")));
        let all: Network = "::/0".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(all.contains(ip("192.0.2.1")));
        let not_mapped: Network = "2001:db8::/32".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(!not_mapped.contains(ip("192.0.2.1")));
    }

    #[test]
    fn host_bits_are_cleared_and_whitespace_trimmed() {
        let net: Network = " 10.1.2.3/8 ".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains(ip("10.200.0.1")));
    }

    #[test]
    fn bad_entries_are_typed_errors() {
        for bad in [
            "",
            "10.0.0.0/33",
            "::1/129",
            "10.0.0",
            "example.org",
            "10.0.0.0/",
            "/8",
        ] {
            let err = Networks::parse(["127.0.0.1", bad]).expect_err(bad);
            assert_eq!(err.input(), bad);
            assert!(err.to_string().contains("invalid IP network"));
        }
    }

    #[test]
    fn empty_and_loopback_lists() {
        assert!(!Networks::new().contains(ip("127.0.0.1")));
        assert!(Networks::new().is_empty());
        let lo = Networks::loopback();
        assert!(lo.contains(Ipv4Addr::LOCALHOST.into()));
        assert!(lo.contains(ip("127.1.2.3")));
        assert!(lo.contains(Ipv6Addr::LOCALHOST.into()));
        assert!(lo.contains(ip("::ffff:127.0.0.1")));
        assert!(!lo.contains(ip("192.0.2.1")));
        let collected: Networks = lo.iter().copied().collect();
        assert_eq!(collected, lo);
    }

    proptest! {
        #[test]
        fn display_round_trips(addr in any::<IpAddr>(), len in 0u8..=128) {
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let text = format!("{addr}/{}", len.min(max));
            let net: Network = text.parse().unwrap_or_else(|e| panic!("{e}"));
            let again: Network = net.to_string().parse().unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(net, again);
            prop_assert!(net.contains(addr));
        }

        #[test]
        fn a_single_address_contains_only_itself(a in any::<IpAddr>(), b in any::<IpAddr>()) {
            let nets = Networks::parse([a.to_string()]).unwrap_or_else(|e| panic!("{e}"));
            prop_assert!(nets.contains(a));
            prop_assert_eq!(nets.contains(b), a.to_canonical() == b.to_canonical());
        }

        #[test]
        fn parsing_never_panics(s in ".{0,60}") {
            let _ = s.parse::<Network>();
        }
    }
}
