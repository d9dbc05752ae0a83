//! The blocking iqs (XEP-0191 §3.2–§3.5): reading a client's request, building the result
//! and the pushes.

use crate::element::Element;
use crate::error::{StanzaCondition, StanzaError};
use crate::jid::{FullJid, Jid, JidError};
use crate::ns;
use crate::stanza::{IqType, Stanza, StanzaKind, StanzaNs};

/// The service discovery feature of blocking (§3.1): the server lists it in its
/// `disco#info`.
pub const DISCO_FEATURE: &str = ns::BLOCKING;

/// What a blocking iq from a client asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockingRequest {
    /// `<iq type='get'><blocklist/></iq>`: the list (§3.2).
    Get,
    /// `<iq type='set'><block><item jid=…/>…</block></iq>`: block these JIDs (§3.3); never
    /// empty.
    Block(Vec<Jid>),
    /// `<iq type='set'><unblock><item jid=…/>…</unblock></iq>`: unblock these JIDs (§3.4);
    /// empty means unblock everyone (§3.5).
    Unblock(Vec<Jid>),
}

impl BlockingRequest {
    /// Reads a blocking iq; `None` when the stanza is not an iq `get` or `set` with a
    /// payload in `urn:xmpp:blocking` (the caller handles it as anything else).
    ///
    /// The JIDs come out normalised, each once, in the order given. A [`BlockingError`]
    /// converts into the [`StanzaError`] to answer with ([`Stanza::error_reply`]):
    /// `bad-request` for a `<block/>` without items (§3.3), an `<item/>` without `jid`, or
    /// a payload that does not fit the iq type; `jid-malformed` for an item whose `jid` is
    /// not a valid JID.
    ///
    /// Children of `<block/>` and `<unblock/>` other than `<item/>` in the same namespace are
    /// ignored, as unknown extensions are.
    ///
    /// Whom the iq is addressed to is not checked here: see the [module docs](super).
    pub fn parse(stanza: &Stanza) -> Option<Result<Self, BlockingError>> {
        let ty = stanza.iq_type().filter(|t| t.is_request())?;
        let payload = stanza.iq_payload()?;
        if payload.ns() != ns::BLOCKING {
            return None;
        }
        Some(match (ty, payload.name()) {
            (IqType::Get, "blocklist") => Ok(Self::Get),
            (IqType::Set, "block") => items(payload).and_then(|jids| {
                if jids.is_empty() {
                    Err(BlockingError::EmptyBlock)
                } else {
                    Ok(Self::Block(jids))
                }
            }),
            (IqType::Set, "unblock") => items(payload).map(Self::Unblock),
            _ => Err(BlockingError::UnexpectedPayload),
        })
    }
}

/// Why a blocking iq is refused. It converts into the [`StanzaError`] to answer with;
/// [`BlockingError::condition`] is its condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockingError {
    /// A `<block/>` without any `<item/>` (§3.3: `bad-request`).
    #[error("a block request names at least one JID")]
    EmptyBlock,
    /// An `<item/>` without a `jid` attribute (`bad-request`).
    #[error("an item needs a jid")]
    MissingJid,
    /// An `<item/>` whose `jid` is not a valid JID (`jid-malformed`).
    #[error("the item's jid is malformed: {0}")]
    MalformedJid(#[from] JidError),
    /// A `get` of anything but `<blocklist/>`, or a `set` of anything but `<block/>` or
    /// `<unblock/>` (`bad-request`).
    #[error("expected a get of <blocklist/>, or a set of <block/> or <unblock/>")]
    UnexpectedPayload,
}

impl BlockingError {
    /// The stanza error condition to answer with.
    pub fn condition(&self) -> StanzaCondition {
        match self {
            Self::MalformedJid(_) => StanzaCondition::JidMalformed,
            Self::EmptyBlock | Self::MissingJid | Self::UnexpectedPayload => {
                StanzaCondition::BadRequest
            }
        }
    }
}

impl From<BlockingError> for StanzaError {
    /// The error with its condition and, in English, what was wrong.
    fn from(e: BlockingError) -> Self {
        StanzaError::new(e.condition()).with_text(Some("en"), e.to_string())
    }
}

/// The JIDs of the `<item/>` children, normalised and without repeats.
fn items(payload: &Element) -> Result<Vec<Jid>, BlockingError> {
    let mut jids: Vec<Jid> = Vec::new();
    for item in payload.children().filter(|c| c.is("item", ns::BLOCKING)) {
        let raw = item.attr("jid").ok_or(BlockingError::MissingJid)?;
        let jid = Jid::new(raw)?;
        if !jids.contains(&jid) {
            jids.push(jid);
        }
    }
    Ok(jids)
}

fn with_items(name: &str, items: &[Jid]) -> Element {
    let mut el = Element::new(name, ns::BLOCKING);
    for jid in items {
        el.append_child(Element::new("item", ns::BLOCKING).with_attr("jid", jid.as_str()));
    }
    el
}

/// `<blocklist xmlns='urn:xmpp:blocking'>` with one `<item jid=…/>` per JID (§3.2); empty
/// when the list is.
pub fn blocklist_element(items: &[Jid]) -> Element {
    with_items("blocklist", items)
}

/// The result to a [`BlockingRequest::Get`]: the list as [`blocklist_element`] (§3.2).
/// `None` when `iq` is not an iq `get` or `set`, as for [`Stanza::iq_result`].
pub fn blocklist_result(iq: &Stanza, items: &[Jid]) -> Option<Stanza> {
    iq.iq_result(Some(blocklist_element(items)))
}

/// The push that tells a session about newly blocked JIDs (§3.3):
/// `<iq type='set' to=… id=…><block><item jid=…/>…</block></iq>` in `jabber:client`, without
/// `from` (a client reads that as its own account, as for roster pushes).
///
/// `items` are the JIDs of the request and should not be empty: a `<block/>` without items
/// is invalid (§3.3), and a client may reject the push.
pub fn block_push(to: &FullJid, id: &str, items: &[Jid]) -> Stanza {
    push(to, id, with_items("block", items))
}

/// The push that tells a session about unblocked JIDs (§3.4), or with no items that every
/// JID was unblocked (§3.5); shaped like [`block_push`].
pub fn unblock_push(to: &FullJid, id: &str, items: &[Jid]) -> Stanza {
    push(to, id, with_items("unblock", items))
}

fn push(to: &FullJid, id: &str, payload: Element) -> Stanza {
    let el = Element::new(StanzaKind::Iq.as_str(), StanzaNs::Client.namespace())
        .with_attr("type", IqType::Set.as_str())
        .with_attr("id", id)
        .with_attr("to", to.as_str())
        .with_child(payload);
    // An iq set in jabber:client with an id, a valid `to` and exactly one child passes every
    // check of `Stanza::from_element`.
    Stanza::from_element(el).expect("a push built from valid parts is a valid stanza")
}
