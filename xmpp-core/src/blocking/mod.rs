//! Blocking (XEP-0191, `urn:xmpp:blocking`): the block list, its storage trait, and what a
//! block means for a stanza. Sans-IO: the server loads the list, asks these functions, and
//! sends what they build.
//!
//! - [`request`]: [`BlockingRequest::parse`] reads a client's iq (get the list, block,
//!   unblock, unblock all); [`blocklist_result`], [`block_push`] and [`unblock_push`] build
//!   the answers and the pushes.
//! - [`list`]: [`BlockList`], the JIDs an account blocks, with the XEP-0191 §6 matching
//!   rules ([`BlockList::is_blocked`]); [`inbound_decision`] and [`outbound_error`], what
//!   the server does with a stanza from or to a blocked entity.
//! - [`store`]: the [`BlockListStore`] trait and an in-memory [`MemoryBlockListStore`].
//!
//! The server's flow for an iq from a client, addressed to nobody or to the user's own bare
//! JID (anything else is routed, not handled here):
//!
//! 1. [`BlockingRequest::parse`]; a [`BlockingError`] is answered with
//!    [`Stanza::error_reply`](crate::Stanza::error_reply) of its
//!    [`StanzaError`](crate::StanzaError).
//! 2. [`BlockingRequest::Get`]: answer with [`blocklist_result`], and remember that this
//!    session asked: only such sessions get pushes (§3.3).
//! 3. [`BlockingRequest::Block`] / [`BlockingRequest::Unblock`] (an empty unblock is
//!    "unblock all"): change the store, then the in-memory [`BlockList`], answer with an
//!    empty result, and send [`block_push`] / [`unblock_push`] with the items of the request
//!    to every session of the account that asked for the list, the requesting one included.
//! 4. Presence (§3.3, §3.4): on block, send `unavailable` to each newly blocked contact that
//!    may see the user's presence; on unblock, the user's current presence, likewise. Those
//!    are roster questions; [`crate::im::presence`] builds the stanzas.
//!
//! Then for every stanza routed to a local user from another entity whose `from` the user
//! blocks ([`BlockList::check_inbound`]), and every stanza a user sends to a JID they block
//! ([`BlockList::blocks_outbound`]), the decisions of [`list`] apply. Stanzas the server
//! itself makes for the user (pushes, carbons, its own answers) are not subject to the list.
//!
//! ```
//! use xmpp_core::blocking::{BlockList, BlockingRequest, InboundBlock, inbound_decision};
//! use xmpp_core::{Element, Jid, Stanza, StanzaCondition};
//!
//! let iq: Element = "<iq xmlns='jabber:client' type='set' id='block1'>\
//!     <block xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/></block></iq>".parse()?;
//! let Some(Ok(BlockingRequest::Block(jids))) = BlockingRequest::parse(&Stanza::from_element(iq)?)
//! else {
//!     panic!("a block request");
//! };
//! let mut list = BlockList::new();
//! list.block(&jids);
//!
//! let message: Element = "<message xmlns='jabber:client' from='romeo@montague.net/orchard' \
//!     to='juliet@capulet.com'><body>Can you hear me now?</body></message>".parse()?;
//! let message = Stanza::from_element(message)?;
//! let Some(InboundBlock::Error(error)) = list.check_inbound(&message) else {
//!     panic!("blocked");
//! };
//! assert_eq!(error.condition, StanzaCondition::ServiceUnavailable);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod list;
pub mod request;
pub mod store;

pub use list::{BlockList, InboundBlock, inbound_decision, outbound_error};
pub use request::{
    BlockingError, BlockingRequest, DISCO_FEATURE, block_push, blocklist_element, blocklist_result,
    unblock_push,
};
pub use store::{BlockListStore, MemoryBlockListStore};

#[cfg(test)]
mod tests;
