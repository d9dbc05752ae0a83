//! The namespaces a stanza can live in.

use core::fmt;

use crate::element::Namespace;
use crate::ns;

/// The namespace of a stanza, which is the default namespace of the stream it travels on.
///
/// The same stanza is in `jabber:client` on a client's stream and in `jabber:server` on a
/// server-to-server stream; [`Stanza::set_ns`](super::Stanza::set_ns) moves it across.
///
/// Non-exhaustive: XEP-0114's connect mode (`jabber:component:connect`) may join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StanzaNs {
    /// `jabber:client`: client-to-server streams (RFC 6120).
    Client,
    /// `jabber:server`: server-to-server streams (RFC 6120).
    Server,
    /// `jabber:component:accept`: external components (XEP-0114).
    Component,
}

impl StanzaNs {
    /// The namespace name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => ns::JABBER_CLIENT,
            Self::Server => ns::JABBER_SERVER,
            Self::Component => ns::COMPONENT_ACCEPT,
        }
    }

    /// The stanza namespace with this name, if it is one.
    pub fn from_uri(uri: &str) -> Option<Self> {
        match uri {
            ns::JABBER_CLIENT => Some(Self::Client),
            ns::JABBER_SERVER => Some(Self::Server),
            ns::COMPONENT_ACCEPT => Some(Self::Component),
            _ => None,
        }
    }

    /// The namespace as rxml's type, sharing the static string.
    pub fn namespace(self) -> Namespace<'static> {
        Namespace::from_str(self.as_str())
    }
}

impl From<StanzaNs> for Namespace<'static> {
    fn from(ns: StanzaNs) -> Self {
        ns.namespace()
    }
}

impl fmt::Display for StanzaNs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
