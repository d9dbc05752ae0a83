//! Roster versioning (RFC 6121 §2.6, which took over XEP-0237).
//!
//! Every roster carries a counter that goes up by one with each change; its decimal form is the
//! `ver` string clients cache. When a client's roster get carries a `ver`:
//!
//! - equal to the current version: the roster has not changed, and the answer is an empty iq
//!   result (RFC 6121 §2.6.3); changes made later reach the client as roster pushes;
//! - anything else (older, newer after a restore from backup, not a number, empty): the full
//!   roster with the current `ver`.
//!
//! Answering a stale version with the full roster rather than with the pushes in between is
//! the simplest strategy RFC 6121 §2.6.3 allows, and it is always correct: it needs no change
//! log, and a client that cached anything gets a complete replacement. Interim pushes can come
//! later, when a store keeps a log of changes.
//!
//! A client that sends no `ver` at all does not do versioning: it gets the full roster without
//! a `ver` attribute, so it is never handed a value it does not expect.
//!
//! Caveat for storage: the counter must be stored with the roster and must never go back for
//! the same account. If an account is deleted and created again, the new roster must not
//! reuse small counters that an old client may still have cached; a store can start a new
//! roster at a value derived from the time (any value works, only equality is compared).

use core::fmt;

/// The version of one account's roster: a counter that grows with every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RosterVersion(u64);

impl RosterVersion {
    /// The version of a roster that has never changed.
    pub const INITIAL: Self = Self(0);

    /// A version with this counter value (as stored).
    pub const fn new(counter: u64) -> Self {
        Self(counter)
    }

    /// The counter value, for storage.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The version after one more change. Saturates rather than wrapping: after 2^64
    /// changes a roster would stop looking changed, which is better than going back.
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }

    /// Reads a `ver` string this module wrote; `None` for anything else.
    pub fn parse(ver: &str) -> Option<Self> {
        // `u64::from_str` accepts a leading `+` and zeros; a `ver` is compared as we wrote it.
        let canonical = ver == "0" || !ver.starts_with('0');
        if ver.is_empty() || !canonical || !ver.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        ver.parse().ok().map(Self)
    }

    /// What to answer a roster get that carried `requested` (the `ver` attribute, if any).
    pub fn decide(self, requested: Option<&str>) -> VersionDecision {
        match requested {
            None => VersionDecision::FullWithoutVersion,
            Some(ver) if Self::parse(ver) == Some(self) => VersionDecision::Unchanged,
            Some(_) => VersionDecision::Full,
        }
    }
}

impl fmt::Display for RosterVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// How to answer a roster get, given the version the client holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VersionDecision {
    /// The client did not ask for versioning: the full roster, without `ver`.
    FullWithoutVersion,
    /// The client's copy is missing or stale: the full roster, with the current `ver`.
    Full,
    /// The client's copy is current: an empty iq result.
    Unchanged,
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn parse_only_what_we_write() {
        assert_eq!(RosterVersion::parse("17"), Some(RosterVersion::new(17)));
        assert_eq!(RosterVersion::parse("+17"), None);
        assert_eq!(RosterVersion::parse("017"), None);
        assert_eq!(RosterVersion::parse("0"), Some(RosterVersion::INITIAL));
        assert_eq!(RosterVersion::parse(""), None);
        assert_eq!(RosterVersion::parse("abc"), None);
        assert_eq!(RosterVersion::parse("99999999999999999999999"), None);
        assert_eq!(RosterVersion::new(42).to_string(), "42");
    }

    #[test]
    fn next_saturates() {
        assert_eq!(RosterVersion::INITIAL.next(), RosterVersion::new(1));
        assert_eq!(
            RosterVersion::new(u64::MAX).next(),
            RosterVersion::new(u64::MAX)
        );
    }

    #[test]
    fn decisions() {
        let v = RosterVersion::new(5);
        assert_eq!(v.decide(None), VersionDecision::FullWithoutVersion);
        assert_eq!(v.decide(Some("")), VersionDecision::Full);
        assert_eq!(v.decide(Some("4")), VersionDecision::Full);
        assert_eq!(v.decide(Some("6")), VersionDecision::Full);
        assert_eq!(v.decide(Some("junk")), VersionDecision::Full);
        assert_eq!(v.decide(Some("5")), VersionDecision::Unchanged);
    }
}
