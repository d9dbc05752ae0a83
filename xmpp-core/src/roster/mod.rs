//! Rosters and presence subscriptions (RFC 6121 §2, §3 and Appendix A), sans-IO.
//!
//! This is the pure logic that issue 5 ("Instant messaging core") will wire into the router:
//!
//! - [`item`]: [`RosterItem`], [`Roster`] and their XML in `jabber:iq:roster`, with the checks
//!   RFC 6121 §2.3.3 asks of a client's roster set.
//! - [`subscription`]: the nine subscription states of RFC 6121 Appendix A.1 and the tables
//!   A.2 (stanzas the user sends) and A.3 (stanzas that arrive for the user) as two pure
//!   functions, [`outbound`] and [`inbound`].
//! - [`version`]: roster versioning (RFC 6121 §2.6).
//! - [`store`]: the [`RosterStore`] trait and an in-memory [`MemoryRosterStore`].
//! - [`iq`]: answering roster gets and sets and building roster pushes (RFC 6121 §2.1.6).
//!
//! ```
//! use xmpp_core::roster::{
//!     RosterItem, RosterLimits, RosterChange, Roster, SubscriptionType, handle_roster_get,
//!     handle_roster_set, outbound,
//! };
//!
//! // Juliet adds Romeo to her roster (a roster set), then asks for his presence.
//! let mut roster = Roster::new();
//! let query = "<query xmlns='jabber:iq:roster'><item jid='romeo@example.net' name='Romeo'/></query>"
//!     .parse()?;
//! let change = handle_roster_set(&roster, &query, &RosterLimits::default())?;
//! change.apply(&mut roster);
//!
//! let romeo = change.jid().clone();
//! let out = outbound(roster.state(&romeo), SubscriptionType::Subscribe);
//! assert!(out.deliver && out.roster_push);
//! let mut item = roster.get(&romeo).cloned().unwrap_or_else(|| RosterItem::new(romeo.clone()));
//! item.set_state(out.state);
//! let ver = RosterChange::Put(item.clone()).apply(&mut roster);
//! assert!(item.ask);
//!
//! // A client that cached this version gets an empty result.
//! assert_eq!(handle_roster_get(&roster, Some(&ver.to_string())), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Nothing here reads a socket, a clock or a database: the server loads the roster, asks these
//! functions what to do, stores the result, and sends the elements they build.

pub mod iq;
pub mod item;
pub mod store;
pub mod subscription;
pub mod version;

pub use iq::{
    RosterChange, RosterSetError, check_addressee, handle_roster_get, handle_roster_set,
    requested_ver, roster_push,
};
pub use item::{ItemError, Roster, RosterItem, RosterLimits, RosterSetItem, Subscription};
pub use store::{MemoryRosterStore, RosterStore};
pub use subscription::{FollowUp, Outcome, State, SubState, SubscriptionType, inbound, outbound};
pub use version::{RosterVersion, VersionDecision};

#[cfg(test)]
mod tests;
