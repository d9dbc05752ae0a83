//! SCRAM (RFC 5802, RFC 7677): SCRAM-SHA-1/256/512 and their -PLUS variants.
//!
//! * `hash`: the hash functions and key derivation.
//! * `parse`: the message grammar (nom).
//! * `server`, `client`: the two state machines, driven through [`crate::ServerSession`] and
//!   [`crate::ClientSession`].

pub(crate) mod client;
pub(crate) mod hash;
pub(crate) mod parse;
pub(crate) mod server;

pub use hash::ScramHash;
