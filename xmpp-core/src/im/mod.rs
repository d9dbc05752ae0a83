//! The instant-messaging rules of RFC 6121 that the server wires: delivery to a bare JID,
//! offline storage, presence handling and shared roster groups; and the extensions a modern
//! client expects next to them: carbons, processing hints, client state indication.
//! Sans-IO: no sockets, no clock, no storage.
//!
//! What it is for: deciding. Each function takes what the server already knows (the
//! availability of an account's resources, a stanza, a roster, the shared groups) and says
//! what to do, or builds the stanza to send. The rules and the choices made where the RFC
//! leaves one are written down here, next to the code and its tests, and summarised in
//! `docs/im-core.md`.
//!
//! - [`delivery`]: where a message or presence addressed to a local bare JID goes
//!   (RFC 6121 §8.5.2).
//! - [`offline`]: which messages are worth storing for later (XEP-0160, XEP-0334, XEP-0085),
//!   and the `<delay/>` they get when delivered (XEP-0203).
//! - [`presence`]: what a client's presence asks for, its priority, and the presence stanzas
//!   the server builds (RFC 6121 §3, §4).
//! - [`shared`]: shared roster groups, merged into the roster a client sees.
//! - [`hints`]: the message processing hints (XEP-0334) a message carries, read once for
//!   offline storage, archiving and carbons.
//! - [`carbons`]: message carbons (XEP-0280): the enable/disable iq, which messages are
//!   copied to the user's other resources, the copies, and forged copies from clients.
//! - [`csi`]: client state indication (XEP-0352): what can wait while a client is inactive,
//!   and the queue that holds it.
//!
//! The most used items are re-exported here; the builders of [`presence`] and
//! [`shared::merge`] keep their module path, which says what they build.
//!
//! What it is not for: the session table, locks, storage, timers or the order in which the
//! server does things; those are the server's (`chatrix-server`'s `im` module and the
//! router). Roster items and the subscription state machine are in [`crate::roster`].

pub mod carbons;
pub mod csi;
pub mod delivery;
pub mod hints;
pub mod offline;
pub mod presence;
pub mod shared;

pub use carbons::{CarbonsRequest, Direction};
pub use csi::{CsiClass, CsiQueue, Push};
pub use delivery::{Availability, BareDelivery, message_to_bare, presence_to_bare};
pub use hints::Hints;
pub use offline::{OFFLINE_REASON, is_storable, stamp_delay};
pub use presence::ClientPresence;
pub use shared::{SharedContact, shared_contacts, visible_item, visible_version};
