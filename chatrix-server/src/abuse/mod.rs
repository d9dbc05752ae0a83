//! Abuse limits: in-memory building blocks, each taking `now` from the caller (see
//! [`crate::clock`]) and holding bounded state behind a short-lived lock.
//!
//! - [`networks`]: lists of IP networks in CIDR notation ([`Networks`]), for allow-lists.
//! - [`rate`]: "at most N events per key per window" ([`RateLimiter`]), answering with the time
//!   to wait ([`RetryAfter`]); for registrations per address and per server.
//! - [`fail2ban`]: bans for addresses that fail authentication too often ([`Fail2Ban`]), after
//!   ejabberd's `mod_fail2ban`.
//!
//! All of them treat an IPv4-mapped IPv6 address as the IPv4 address it carries; for the rate
//! limiter, whose keys are the caller's choice, [`rate_key`] gives the key for a client address.

pub mod fail2ban;
pub mod networks;
pub mod rate;

use std::net::{IpAddr, Ipv6Addr};

pub use fail2ban::{Ban, Fail2Ban, Fail2BanSettings};
pub use networks::{Network, NetworkParseError, Networks};
pub use rate::{RateLimitSettings, RateLimiter, RetryAfter};

/// The key under which a client address is rate-limited: an IPv4 address (IPv4-mapped IPv6
/// included) as it is, an IPv6 address reduced to its /64 network.
///
/// A /64 is what one subscriber, or one virtual machine, is routinely given, so a per-address
/// limit on full IPv6 addresses would be no limit: the client picks a fresh address per
/// request. Limiting per /64 treats such a client as one address, as its IPv4 is treated.
pub fn rate_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        v4 @ IpAddr::V4(_) => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_key_groups_ipv6_by_64_and_keeps_ipv4() {
        let key = |s: &str| rate_key(s.parse().unwrap_or_else(|e| panic!("{e}"))).to_string();
        assert_eq!(key("192.0.2.1"), "192.0.2.1");
        assert_eq!(key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::1"), "::");
    }
}
