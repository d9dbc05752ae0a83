//! The vocabulary every other Chatrix crate speaks: XMPP addresses, a lossless XML element tree,
//! the one XML reader (with limits), stanzas, and stanza and stream errors.
//!
//! What it is for:
//! - [`Jid`] and friends: RFC 7622 addresses, normalised with PRECIS, usable as map keys.
//! - [`Element`]: a namespace-aware tree that keeps everything a peer sent, and writes it back
//!   with an escaper that never emits invalid XML.
//! - [`xml`]: rxml's restricted-XML tokenizer plus Chatrix's limits on size, depth, attributes
//!   and namespace declarations, for every place that reads XML.
//! - [`Stanza`]: the `message` / `presence` / `iq` envelope with the RFC 6120 rules, in
//!   `jabber:client`, `jabber:server` and `jabber:component:accept`.
//! - [`StanzaError`] and [`StreamError`]: RFC 6120 §8.3 and §4.9.3, to and from XML.
//! - [`roster`] and [`im`]: the rules of RFC 6121 (rosters, subscriptions, presence, delivery
//!   to a bare JID, offline storage), as pure functions the server wires to its sessions and
//!   storage; with message carbons (XEP-0280), processing hints (XEP-0334) and client state
//!   indication (XEP-0352) in [`im`].
//! - [`blocking`]: the blocking command (XEP-0191): its iqs, the block list with its JID
//!   matching, and what a block means for a stanza from or to a blocked entity.
//! - [`dataform`]: data forms (XEP-0004), the subset registration needs, with `FORM_TYPE`
//!   (XEP-0068) and media elements (XEP-0221).
//! - [`register`]: in-band registration (XEP-0077) with CAPTCHA forms (XEP-0158, XEP-0231):
//!   reading register queries, building the replies, and the username and password policy
//!   checks the web pages share.
//!
//! What it is not for: sockets, TLS, SASL or stream negotiation (see `xmpp-stream` and
//! `xmpp-sasl`), nor typed models of every XEP payload. Payloads the server does not act on
//! stay elements and pass through untouched.
#![warn(missing_docs)]

pub mod blocking;
pub mod dataform;
pub mod datetime;
pub mod element;
pub mod error;
pub mod im;
pub mod jid;
pub mod ns;
pub mod register;
pub mod roster;
pub mod router;
pub mod stanza;
pub mod xml;

pub use element::{Attribute, Element, Node};
pub use error::{
    ErrorParseError, ErrorText, ErrorType, StanzaCondition, StanzaError, StreamCondition,
    StreamError,
};
pub use jid::{BareJid, FullJid, Jid, JidError};
pub use stanza::{
    InvalidStanza, IqType, MessageType, PresenceType, Stanza, StanzaKind, StanzaNs, StanzaType,
    StanzaViolation,
};
