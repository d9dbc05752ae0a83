//! Message archives (XEP-0313) for 1:1 chats, with stanza ids (XEP-0359), result set
//! management (XEP-0059), preferences and retention.
//!
//! What it is for: the query and result model, archiving rules and the [`ArchiveStore`]
//! trait with an in-memory implementation; SQLite and PostgreSQL implementations live beside
//! the server.
//!
//! What it is not for: owning a database connection or a clock.
#![warn(missing_docs)]

pub mod prefs;
pub mod store;

pub use prefs::{DefaultPolicy, Prefs};
pub use store::{ArchiveStore, ArchivedMessage, Bounds, Cursor, Fetched, Filter, NewEntry};
