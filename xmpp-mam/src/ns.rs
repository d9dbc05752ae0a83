//! The namespaces this crate reads and writes.
//!
//! Those the rest of the workspace also uses come from [`xmpp_core::ns`], so that one name has
//! one spelling everywhere; the ones only archiving needs are defined here.

pub use xmpp_core::ns::{DATA_FORMS, DELAY, FORWARD, HINTS, MAM, OMEMO, OMEMO_LEGACY, RSM, SID};

/// The disco feature of XEP-0313's `before-id`/`after-id`/`ids` fields, flipped pages and
/// archive metadata. A server that advertises it advertises [`MAM`] too.
pub const MAM_EXTENDED: &str = "urn:xmpp:mam:2#extended";

/// Message retraction (XEP-0424): a `<retract/>` is archived so that every client of the
/// account learns of it when it catches up.
pub const MESSAGE_RETRACT: &str = "urn:xmpp:message-retract:1";

/// Last message correction (XEP-0308): a `<replace/>` is archived like the message it
/// corrects.
pub const MESSAGE_CORRECT: &str = "urn:xmpp:message-correct:0";

/// Message reactions (XEP-0444): archived, clients show them beside the message.
pub const REACTIONS: &str = "urn:xmpp:reactions:0";

/// Data forms validation (XEP-0122): the `<validate/>` that marks the `ids` field of the
/// query form as open to any value.
pub const XDATA_VALIDATE: &str = "http://jabber.org/protocol/xdata-validate";
