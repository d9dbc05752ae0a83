//! Connects xmpp-core's sans-IO router to the running sessions.

mod sessions;

pub use sessions::{
    OUTBOUND_QUEUE, Outbound, Presence, RegistryView, SessionHandle, SessionRegistry,
};
