//! Connects xmpp-core's sans-IO router to the running sessions.

mod resumptions;
mod sessions;

pub use resumptions::{Resumptions, Takeover};

pub use sessions::{
    CsiKind, OUTBOUND_QUEUE, Outbound, Presence, RegistryView, SessionHandle, SessionRegistry,
    parse_queued,
};
