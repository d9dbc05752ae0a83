//! Personal eventing (XEP-0163, the XEP-0060 subset it needs, XEP-0223 publish options) with
//! OMEMO device lists and bundles as first-class citizens; avatars (XEP-0084) and bookmarks
//! (XEP-0402) ride on the same nodes.
//!
//! **Status: not implemented yet.** This crate only reserves its place in the workspace; a later
//! issue fills it in. Nothing here works.
//!
//! What it is not for: OMEMO cryptography. The server stores and distributes what clients
//! publish; it never sees a key it could use.
#![warn(missing_docs)]
