//! Message archives (XEP-0313, `urn:xmpp:mam:2` and `urn:xmpp:mam:2#extended`) for 1:1
//! chats, with stanza ids (XEP-0359), result set management (XEP-0059), preferences
//! (XEP-0441) and retention, as pure functions around a storage trait.
//!
//! What it is for:
//! - [`rules`]: which messages are archived, the `<stanza-id/>` that says where, stripping
//!   forged ones, and new archive ids.
//! - [`query`]: reading MAM iqs ([`MamRequest`]): queries with their form and RSM parts,
//!   form requests, preferences, metadata.
//! - [`page`]: the paging rules between a query and one store fetch ([`page::plan`],
//!   [`page::finish`]): page sizes, direction, `complete`, `first`/`last`, flipped pages.
//! - [`results`]: the result messages, `<fin/>`, the query form, preferences and metadata
//!   answers.
//! - [`prefs`]: preferences and the decision they make for a contact.
//! - [`store`]: the [`ArchiveStore`] trait the server's databases implement, with
//!   [`MemoryArchive`] for tests and `conformance` (feature `conformance`), the suite every
//!   implementation runs.
//!
//! A query, as the server runs it:
//!
//! ```
//! use std::task::{Context, Poll, Waker};
//! use xmpp_core::Stanza;
//! use xmpp_mam::{ArchiveStore, MamRequest, MemoryArchive, page, results};
//!
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     match std::pin::pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
//! #         Poll::Ready(v) => v,
//! #         Poll::Pending => unreachable!("the memory store is ready at once"),
//! #     }
//! # }
//! let store = MemoryArchive::new();
//! let owner = xmpp_core::BareJid::new("juliet@capulet.lit")?;
//! let iq = Stanza::from_element(
//!     "<iq xmlns='jabber:client' type='set' id='q1' from='juliet@capulet.lit/balcony'>\
//!        <query xmlns='urn:xmpp:mam:2' queryid='f27'/></iq>".parse()?,
//! )?;
//! let Some(Ok(MamRequest::Query(query))) = MamRequest::parse(&iq) else { unreachable!() };
//! let plan = page::plan(&query, page::PageSizes::default());
//! let fetched = block_on(store.fetch(&owner, &plan.filter, &plan.cursor, plan.limit))?;
//! let page = page::finish(&plan, fetched)?;
//! for message in results::result_messages(&iq, query.query_id.as_deref(), &page) {
//!     // send each result message
//! #   let _ = message;
//! }
//! let fin = results::fin_answer(&iq, &page).expect("a set is answered");
//! assert_eq!(
//!     fin.to_string(),
//!     "<iq xmlns='jabber:client' to='juliet@capulet.lit/balcony' id='q1' type='result'>\
//!      <fin xmlns='urn:xmpp:mam:2' complete='true'>\
//!      <set xmlns='http://jabber.org/protocol/rsm'/></fin></iq>"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What it is not for: owning a database connection, a clock or a random source (the caller
//! passes times and random bytes in), delivering messages, or MUC archives (a room's archive
//! follows other rules: `xmpp-muc`). Groupchat messages are never put in a user's archive,
//! so the `include-groupchat` field is not offered.
#![warn(missing_docs)]

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod error;
pub mod memory;
pub mod ns;
pub mod page;
pub mod prefs;
pub mod query;
pub mod results;
pub mod rules;
pub mod store;
#[cfg(test)]
mod test_util;

pub use error::MamError;
pub use memory::{MemoryArchive, MemoryArchiveError};
pub use page::{Page, PageSizes, Plan};
pub use prefs::{DefaultPolicy, Prefs};
pub use query::{MamRequest, Position, Query, Rsm, check_addressee};
pub use store::{ArchiveStore, ArchivedMessage, Bounds, Cursor, Fetched, Filter, NewEntry};
