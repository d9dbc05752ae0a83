//! Multi-user chat (XEP-0045, with XEP-0421 occupant ids, XEP-0410 self-ping, XEP-0425
//! moderation and XEP-0249 invitations) as a sans-IO room state machine.
//!
//! **Status: not implemented yet.** This crate only reserves its place in the workspace; a later
//! issue fills it in. Nothing here works.
//!
//! What it will be for: room state (occupants, roles, affiliations, configuration forms,
//! history) driven by parsed stanzas and the current time, returning the stanzas to send, with
//! room persistence behind a storage trait.
//!
//! What it is not for: sockets, tasks or databases; the server binary wires those in.
#![warn(missing_docs)]
