//! Archiving preferences (XEP-0313 §5).

use xmpp_core::Jid;

/// Which messages are archived when no per-JID rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DefaultPolicy {
    /// Every message.
    #[default]
    Always,
    /// No message.
    Never,
    /// Messages with contacts in the owner's roster.
    Roster,
}

/// An owner's preferences.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prefs {
    /// The rule for JIDs in neither list.
    pub default: DefaultPolicy,
    /// JIDs whose messages are always archived.
    pub always: Vec<Jid>,
    /// JIDs whose messages are never archived (wins over `always`).
    pub never: Vec<Jid>,
}
