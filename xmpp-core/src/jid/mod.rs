//! XMPP addresses (RFC 7622): [`Jid`], [`BareJid`] and [`FullJid`].
//!
//! A JID is `[localpart@]domainpart[/resourcepart]`. Each part is normalised once, when the
//! JID is made, and the normalised string is what a JID *is*: equality, ordering and hashing
//! look at nothing else, so JIDs can be map keys and database keys, and two spellings of one
//! address (`Juliet@Example.COM`, `juliet@example.com`) are the same value.
//!
//! Normalisation (RFC 7622 §3.2–§3.4):
//! - localpart: PRECIS `UsernameCaseMapped` (RFC 8265 §3.3; width mapping, lowercasing, NFC,
//!   Bidi Rule), minus `" & ' / : < > @` (§3.3.1). `ß` and `ς` stay as they are.
//! - domainpart: an IPv6 literal in brackets or an IPv4 address as it is (IPv6 lowercased);
//!   otherwise UTS #46 (non-transitional, STD3 ASCII rules) to the Unicode form, lowercase,
//!   without a trailing dot, no empty label, labels at most 63 octets as A-labels. The
//!   repertoire is UTS #46's, a little wider than IDNA2008's (it lets symbols such as emoji
//!   through), because that is what `idna` and browsers implement and what peers will send.
//!   A rightmost label of digits must belong to an IPv4 address.
//! - resourcepart: PRECIS `OpaqueString` (RFC 8265 §4.2): non-ASCII spaces become ASCII
//!   spaces, NFC; case and everything else are kept.
//! - every part at most 1023 bytes once normalised; an empty part is an error, never absent.
//!
//! Each profile is applied until its output is stable (RFC 8264 §7), so parsing the string
//! of a JID always gives back the same JID.
//!
//! Splitting follows §3.1: the first `/` starts the resourcepart (which may itself contain
//! `@` and `/`), and the first `@` before it ends the localpart.
//!
//! Already-normalised ASCII (`user@example.org/phone`, by far the most common input) takes a
//! fast path that skips PRECIS and IDNA and allocates nothing but the JID's own string.
//!
//! One deliberate reading of the RFC: `juliet@example.com/ foo` is accepted. RFC 7622's table
//! of examples lists it as invalid ("leading space in resourcepart"), but no rule says so —
//! `OpaqueString` allows spaces anywhere — and refusing an address other servers accept would
//! lose their messages.
//!
//! ```
//! use xmpp_core::jid::{BareJid, FullJid, Jid};
//!
//! let jid: Jid = "Juliet@Example.COM/Balcony".parse()?;
//! assert_eq!(jid.as_str(), "juliet@example.com/Balcony");
//! assert_eq!(jid.localpart(), Some("juliet"));
//! assert_eq!(jid.domain(), "example.com");
//! assert_eq!(jid.resource(), Some("Balcony"));
//!
//! let full = FullJid::try_from(jid)?;
//! let bare: BareJid = full.to_bare();
//! assert_eq!(bare, BareJid::new("juliet@EXAMPLE.com.")?);
//! # Ok::<(), xmpp_core::jid::JidError>(())
//! ```

mod error;
mod normalize;
#[cfg(test)]
mod tests;

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::Arc;

pub use error::{DomainViolation, JidError, ProfileViolation};

/// Any JID: a domain (`example.org`), a bare JID (`juliet@example.org`) or a full JID
/// (`juliet@example.org/balcony`), normalised.
///
/// Cloning is a reference-count increment. Equality, ordering and hashing compare the
/// normalised string only.
#[derive(Clone)]
pub struct Jid {
    /// The normalised `[local@]domain[/resource]`.
    s: Arc<str>,
    /// Where the domainpart starts: 0 without a localpart, else just after the `@`.
    domain_start: u16,
    /// Where the domainpart ends: `s.len()` without a resourcepart, else at the `/`.
    domain_end: u16,
}

/// A JID without a resourcepart: an account (`juliet@example.org`), a room, a server
/// (`example.org`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BareJid(Jid);

/// A JID with a resourcepart: one session of an account (`juliet@example.org/balcony`), an
/// occupant of a room.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FullJid(Jid);

/// Offsets are at most 3 × 1023 + 2, so they always fit; saturating keeps this panic-free.
fn offset(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

impl Jid {
    /// Parses and normalises any JID.
    ///
    /// ```
    /// # use xmpp_core::jid::{Jid, JidError};
    /// let jid = Jid::new("a.example.com/b@example.net")?;
    /// assert_eq!(jid.localpart(), None);
    /// assert_eq!(jid.resource(), Some("b@example.net"));
    /// assert_eq!(Jid::new("juliet@"), Err(JidError::EmptyDomain));
    /// # Ok::<(), JidError>(())
    /// ```
    pub fn new(s: &str) -> Result<Self, JidError> {
        let (rest, resource) = match s.split_once('/') {
            Some((rest, resource)) => (rest, Some(resource)),
            None => (s, None),
        };
        let (local, domain) = match rest.split_once('@') {
            Some((local, domain)) => (Some(local), domain),
            None => (None, rest),
        };
        Self::build(Some(s), local, domain, resource)
    }

    /// Makes a JID from its parts, normalising each.
    ///
    /// `Some("")` is an error (an empty part is never the same as an absent one).
    ///
    /// ```
    /// # use xmpp_core::jid::Jid;
    /// let jid = Jid::from_parts(Some("ＪＵＬＩＥＴ"), "Example.ORG.", Some("balcony 🎭"))?;
    /// assert_eq!(jid.as_str(), "juliet@example.org/balcony 🎭");
    /// # Ok::<(), xmpp_core::jid::JidError>(())
    /// ```
    pub fn from_parts(
        localpart: Option<&str>,
        domain: &str,
        resource: Option<&str>,
    ) -> Result<Self, JidError> {
        Self::build(None, localpart, domain, resource)
    }

    /// `whole` is the input the raw parts were split from, if there was one: when every part
    /// is already normalised, the JID is that string, copied once.
    fn build(
        whole: Option<&str>,
        raw_local: Option<&str>,
        raw_domain: &str,
        raw_resource: Option<&str>,
    ) -> Result<Self, JidError> {
        let local = raw_local.map(normalize::localpart).transpose()?;
        let domain = normalize::domain(raw_domain)?;
        let resource = raw_resource.map(normalize::resource).transpose()?;
        let verbatim = whole.filter(|_| {
            local.as_deref() == raw_local
                && domain == raw_domain
                && resource.as_deref() == raw_resource
        });
        Ok(Self::assemble(
            verbatim,
            local.as_deref(),
            &domain,
            resource.as_deref(),
        ))
    }

    /// Joins parts that are already normalised.
    fn assemble(
        verbatim: Option<&str>,
        local: Option<&str>,
        domain: &str,
        resource: Option<&str>,
    ) -> Self {
        let domain_start = local.map_or(0, |l| l.len() + 1);
        let domain_end = domain_start + domain.len();
        let s: Arc<str> = if let Some(whole) = verbatim {
            Arc::from(whole)
        } else {
            let len = domain_end + resource.map_or(0, |r| r.len() + 1);
            let mut s = String::with_capacity(len);
            if let Some(local) = local {
                s.push_str(local);
                s.push('@');
            }
            s.push_str(domain);
            if let Some(resource) = resource {
                s.push('/');
                s.push_str(resource);
            }
            Arc::from(s)
        };
        Self {
            s,
            domain_start: offset(domain_start),
            domain_end: offset(domain_end),
        }
    }

    /// The normalised JID as a string.
    pub fn as_str(&self) -> &str {
        &self.s
    }

    /// The localpart (the part before `@`), if any.
    pub fn localpart(&self) -> Option<&str> {
        let start = usize::from(self.domain_start);
        (start > 0).then(|| &self.s[..start - 1])
    }

    /// The domainpart, in Unicode form, lowercase, without a trailing dot.
    pub fn domain(&self) -> &str {
        &self.s[usize::from(self.domain_start)..usize::from(self.domain_end)]
    }

    /// The resourcepart (everything after the first `/`), if any.
    pub fn resource(&self) -> Option<&str> {
        let end = usize::from(self.domain_end);
        (end < self.s.len()).then(|| &self.s[end + 1..])
    }

    /// The bare part, `[local@]domain`, as a string.
    pub fn bare_str(&self) -> &str {
        &self.s[..usize::from(self.domain_end)]
    }

    /// Whether there is no resourcepart.
    pub fn is_bare(&self) -> bool {
        usize::from(self.domain_end) == self.s.len()
    }

    /// Whether there is a resourcepart.
    pub fn is_full(&self) -> bool {
        !self.is_bare()
    }

    /// This JID without its resourcepart. Free when it has none; one allocation otherwise.
    pub fn to_bare(&self) -> BareJid {
        if self.is_bare() {
            BareJid(self.clone())
        } else {
            BareJid(Self {
                s: Arc::from(self.bare_str()),
                domain_start: self.domain_start,
                domain_end: self.domain_end,
            })
        }
    }

    /// Like [`to_bare`](Self::to_bare), reusing the string when there is no resourcepart.
    pub fn into_bare(self) -> BareJid {
        if self.is_bare() {
            BareJid(self)
        } else {
            self.to_bare()
        }
    }

    /// The JID of the domain alone (`example.org` for `juliet@example.org/balcony`).
    pub fn domain_jid(&self) -> BareJid {
        if self.localpart().is_none() && self.is_bare() {
            return BareJid(self.clone());
        }
        let domain = self.domain();
        BareJid(Self {
            s: Arc::from(domain),
            domain_start: 0,
            domain_end: offset(domain.len()),
        })
    }

    /// This JID's bare part with `resource` (normalised) as its resourcepart, replacing any
    /// resourcepart it had.
    pub fn with_resource(&self, resource: &str) -> Result<FullJid, JidError> {
        let resource = normalize::resource(resource)?;
        let jid = Self::assemble(None, self.localpart(), self.domain(), Some(&resource));
        Ok(FullJid(jid))
    }

    /// The [`FullJid`] if there is a resourcepart, else the [`BareJid`]: a conversion that
    /// hands back a typed value either way.
    pub fn try_into_full(self) -> Result<FullJid, BareJid> {
        if self.is_full() {
            Ok(FullJid(self))
        } else {
            Err(BareJid(self))
        }
    }
}

impl BareJid {
    /// Parses and normalises a JID that must not have a resourcepart.
    ///
    /// ```
    /// # use xmpp_core::jid::{BareJid, JidError};
    /// assert_eq!(BareJid::new("Example.ORG.")?.as_str(), "example.org");
    /// assert_eq!(BareJid::new("juliet@example.org/x"), Err(JidError::ResourcePresent));
    /// # Ok::<(), JidError>(())
    /// ```
    pub fn new(s: &str) -> Result<Self, JidError> {
        // Decided before normalising: the resource is the mistake, whatever else is wrong.
        if s.contains('/') {
            return Err(JidError::ResourcePresent);
        }
        Jid::new(s).map(Self)
    }

    /// Makes a bare JID from a localpart (if any) and a domainpart, normalising each.
    pub fn from_parts(localpart: Option<&str>, domain: &str) -> Result<Self, JidError> {
        Jid::from_parts(localpart, domain, None).map(Self)
    }

    /// Makes the JID of a domain (a server or a service), normalising it.
    pub fn from_domain(domain: &str) -> Result<Self, JidError> {
        Self::from_parts(None, domain)
    }

    /// The domainpart, in Unicode form, lowercase, without a trailing dot.
    pub fn domain(&self) -> &str {
        self.0.domain()
    }

    /// The localpart, if any.
    pub fn localpart(&self) -> Option<&str> {
        self.0.localpart()
    }
}

impl FullJid {
    /// Parses and normalises a JID that must have a resourcepart.
    ///
    /// ```
    /// # use xmpp_core::jid::{FullJid, JidError};
    /// assert_eq!(FullJid::new("juliet@example.com/foo@bar")?.resource(), "foo@bar");
    /// assert_eq!(FullJid::new("juliet@example.com"), Err(JidError::ResourceMissing));
    /// # Ok::<(), JidError>(())
    /// ```
    pub fn new(s: &str) -> Result<Self, JidError> {
        if !s.contains('/') {
            return Err(JidError::ResourceMissing);
        }
        Jid::new(s).map(Self)
    }

    /// Makes a full JID from its parts, normalising each.
    pub fn from_parts(
        localpart: Option<&str>,
        domain: &str,
        resource: &str,
    ) -> Result<Self, JidError> {
        Jid::from_parts(localpart, domain, Some(resource)).map(Self)
    }

    /// The resourcepart.
    pub fn resource(&self) -> &str {
        self.0.resource().unwrap_or_default()
    }

    /// The domainpart, in Unicode form, lowercase, without a trailing dot.
    pub fn domain(&self) -> &str {
        self.0.domain()
    }

    /// The localpart, if any.
    pub fn localpart(&self) -> Option<&str> {
        self.0.localpart()
    }

    /// This JID without its resourcepart (one allocation).
    pub fn to_bare(&self) -> BareJid {
        self.0.to_bare()
    }

    /// The bare part, `[local@]domain`, as a string.
    pub fn bare_str(&self) -> &str {
        self.0.bare_str()
    }
}

// --- Identity: the normalised string, nothing else ------------------------------------------

impl PartialEq for Jid {
    fn eq(&self, other: &Self) -> bool {
        self.s == other.s
    }
}

impl Eq for Jid {}

impl PartialOrd for Jid {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Jid {
    fn cmp(&self, other: &Self) -> Ordering {
        self.s.cmp(&other.s)
    }
}

impl Hash for Jid {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.s.hash(state);
    }
}

impl fmt::Debug for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Jid").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Jid {
    type Err = JidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Jid {
    type Error = JidError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for Jid {
    type Error = JidError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}

impl AsRef<str> for Jid {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl TryFrom<Jid> for BareJid {
    type Error = JidError;

    fn try_from(jid: Jid) -> Result<Self, Self::Error> {
        if jid.is_bare() {
            Ok(Self(jid))
        } else {
            Err(JidError::ResourcePresent)
        }
    }
}

impl TryFrom<Jid> for FullJid {
    type Error = JidError;

    fn try_from(jid: Jid) -> Result<Self, Self::Error> {
        jid.try_into_full().map_err(|_| JidError::ResourceMissing)
    }
}

/// What [`BareJid`] and [`FullJid`] share: string views, parsing, formatting, and the free
/// way back to [`Jid`]. A `BareJid` never equals a `FullJid`, so they are not comparable.
macro_rules! restricted_jid {
    ($name:ident) => {
        impl $name {
            /// The normalised JID as a string.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// This JID as a [`Jid`].
            pub fn as_jid(&self) -> &Jid {
                &self.0
            }

            /// This JID as a [`Jid`], without copying.
            pub fn into_jid(self) -> Jid {
                self.0
            }

            /// The JID of the domain alone.
            #[must_use]
            pub fn domain_jid(&self) -> BareJid {
                self.0.domain_jid()
            }

            /// The bare part of this JID with `resource` (normalised) as its resourcepart.
            pub fn with_resource(&self, resource: &str) -> Result<FullJid, JidError> {
                self.0.with_resource(resource)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(&self.as_str())
                    .finish()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = JidError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = JidError;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = JidError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(&s)
            }
        }

        impl From<$name> for Jid {
            fn from(jid: $name) -> Self {
                jid.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl AsRef<Jid> for $name {
            fn as_ref(&self) -> &Jid {
                &self.0
            }
        }

        // Sound because equality, ordering and hashing are the `Jid`'s own: a map keyed by
        // this type can be queried with a `&Jid`.
        impl Borrow<Jid> for $name {
            fn borrow(&self) -> &Jid {
                &self.0
            }
        }

        impl PartialEq<Jid> for $name {
            fn eq(&self, other: &Jid) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for Jid {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

restricted_jid!(BareJid);
restricted_jid!(FullJid);
