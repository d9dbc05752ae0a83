//! Message archives (XEP-0313) for 1:1 and group chats, with stanza ids (XEP-0359), result set
//! management (XEP-0059), preferences and retention.
//!
//! **Status: not implemented yet.** This crate only reserves its place in the workspace; a later
//! issue fills it in. Nothing here works.
//!
//! What it will be for: the query and result model, archiving rules and the `ArchiveStore`
//! trait with an in-memory implementation; SQLite and PostgreSQL implementations live beside the
//! server.
//!
//! What it is not for: owning a database connection or a clock.
#![warn(missing_docs)]
