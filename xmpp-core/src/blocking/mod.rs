//! Blocking (XEP-0191): the block list, its storage trait, and what a block means for a
//! stanza.

pub mod store;

pub use store::BlockListStore;
