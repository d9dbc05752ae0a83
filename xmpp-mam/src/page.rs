//! Paging (XEP-0059 as XEP-0313 §4.3 uses it), as two pure steps around one store fetch.
//!
//! 1. [`plan`] turns a [`Query`] into what to ask the store: the [`Filter`], the [`Cursor`]
//!    the RSM position resolves to, and a fetch limit of one more than the page size. The
//!    extra message is how [`finish`] learns whether the page is the last one without
//!    counting the result set.
//! 2. The server awaits [`crate::ArchiveStore::fetch`] with the plan.
//! 3. [`finish`] turns what the store found into a [`Page`]: the messages in the order they
//!    are sent (chronological, or newest first with `<flip-page/>`), the RSM `first`/`last`
//!    ids and whether the result is `complete`.
//!
//! "Complete" means there is nothing more in the direction the client is paging: after the
//! page's last message when it pages forwards (no position, or `<after/>`), before the
//! page's first message when it pages backwards (`<before/>`, empty or not). A client paging
//! back through its history from the end stops when it gets `complete='true'`, and one
//! catching up forwards likewise.
//!
//! No count of the result set is given: with the messages of years in one archive, a count
//! for every page is a scan of every matching row (`O(n)` per page, where the fetch itself is
//! `O(page)` on the index), and XEP-0059 allows leaving `<count/>` out when it is that costly.
//!
//! ```
//! use xmpp_mam::page::{self, DEFAULT_MAX_PAGE_SIZE, PageSizes};
//! use xmpp_mam::{Cursor, Fetched, Position, Query, Rsm};
//!
//! let query = Query {
//!     rsm: Rsm { max: Some(1000), position: Position::Last },
//!     ..Query::default()
//! };
//! let plan = page::plan(&query, PageSizes::default());
//! assert_eq!(plan.cursor, Cursor::Last);
//! assert_eq!(plan.page_size, DEFAULT_MAX_PAGE_SIZE);
//! assert_eq!(plan.limit, DEFAULT_MAX_PAGE_SIZE + 1);
//!
//! // An empty archive: an empty page, and nothing more to fetch.
//! let page = page::finish(&plan, Fetched::Messages(Vec::new()))?;
//! assert!(page.messages.is_empty() && page.complete && page.first.is_none());
//! # Ok::<(), xmpp_mam::MamError>(())
//! ```

use crate::error::MamError;
use crate::query::{Position, Query};
use crate::store::{ArchivedMessage, Cursor, Fetched, Filter};

/// Messages per page when a query names no `<max/>` and the server's configuration says
/// nothing (ejabberd's `DEF_PAGE_SIZE`).
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// The most messages per page when the server's configuration says nothing, whatever
/// `<max/>` a query asks for (ejabberd's `MAX_PAGE_SIZE`).
pub const DEFAULT_MAX_PAGE_SIZE: usize = 250;

/// The largest page size a server may configure: each page is one fetch held in memory and a
/// burst of result messages on one stream, so a page stays a page.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The server's page sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSizes {
    /// Messages per page when the query names no `<max/>`.
    pub default: usize,
    /// The most messages per page, whatever `<max/>` the query names.
    pub max: usize,
}

impl Default for PageSizes {
    /// [`DEFAULT_PAGE_SIZE`] and [`DEFAULT_MAX_PAGE_SIZE`].
    fn default() -> Self {
        Self {
            default: DEFAULT_PAGE_SIZE,
            max: DEFAULT_MAX_PAGE_SIZE,
        }
    }
}

/// What to fetch for a query, and how to read what comes back.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Which messages.
    pub filter: Filter,
    /// From where, in which direction.
    pub cursor: Cursor,
    /// How many to fetch: [`Plan::page_size`] + 1.
    pub limit: usize,
    /// How many the page holds at most: the client's `<max/>` clamped to the server's
    /// maximum, or the server's default.
    pub page_size: usize,
    /// Whether the page is sent newest first.
    pub flip_page: bool,
}

/// One page of results, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The messages in the order they are sent: oldest first, or newest first when the query
    /// flipped the page.
    pub messages: Vec<ArchivedMessage>,
    /// The RSM `<first/>`: the id of the page's oldest message (also when flipped, so that
    /// `<before>first</before>` always asks for the older page); `None` for an empty page.
    pub first: Option<String>,
    /// The RSM `<last/>`: the id of the page's newest message; `None` for an empty page.
    pub last: Option<String>,
    /// Whether nothing more matches in the direction of the query (see the
    /// [module docs](self)).
    pub complete: bool,
}

/// Turns a query into a fetch. The page holds the client's `<max/>` messages, at most
/// `sizes.max`, or `sizes.default` when it names none; `sizes.max` is clamped to
/// 1..=[`MAX_PAGE_SIZE`] and `sizes.default` to 1..=`sizes.max`, so that a configuration
/// mistake cannot make pages empty or unbounded. `<max>0</max>` gives an empty page, whose
/// `complete` still says whether anything matches (XEP-0059 §2.6 uses it to ask for a count,
/// which is not given).
pub fn plan(query: &Query, sizes: PageSizes) -> Plan {
    let max = sizes.max.clamp(1, MAX_PAGE_SIZE);
    let default = sizes.default.clamp(1, max);
    let page_size = query.rsm.max.map_or(default, |m| m.min(max));
    let cursor = match &query.rsm.position {
        Position::First => Cursor::First,
        Position::After(id) => Cursor::After(id.clone()),
        Position::Before(id) => Cursor::Before(id.clone()),
        Position::Last => Cursor::Last,
    };
    Plan {
        filter: query.filter.clone(),
        cursor,
        limit: page_size + 1,
        page_size,
        flip_page: query.flip_page,
    }
}

/// Turns what the store fetched for `plan` into the page to send.
///
/// [`Fetched::UnknownId`] is the `item-not-found` XEP-0313 §4.3.2 and §4.1.3 ask for
/// ([`MamError::UnknownId`]; it converts into the [`xmpp_core::StanzaError`] to answer
/// with). The store may return more than [`Plan::page_size`] messages (that is how
/// `complete` is learnt); the surplus is dropped.
pub fn finish(plan: &Plan, fetched: Fetched) -> Result<Page, MamError> {
    let mut messages = match fetched {
        Fetched::Messages(messages) => messages,
        Fetched::UnknownId => return Err(MamError::UnknownId),
    };
    let complete = messages.len() <= plan.page_size;
    messages.truncate(plan.page_size);
    // Backward cursors come newest first; a page is chronological unless flipped.
    if matches!(plan.cursor, Cursor::Last | Cursor::Before(_)) {
        messages.reverse();
    }
    let first = messages.first().map(|m| m.id.clone());
    let last = messages.last().map(|m| m.id.clone());
    if plan.flip_page {
        messages.reverse();
    }
    Ok(Page {
        messages,
        first,
        last,
        complete,
    })
}

#[cfg(test)]
mod tests;
