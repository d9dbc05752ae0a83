//! The TOML tables of issue 7 as written: `[stream_management]`, `[archive]` and `[csi]`.
//! Resolved in `sessions.rs`.

use serde::Deserialize;
use toml::Spanned;

/// The `[stream_management]` table (XEP-0198).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamManagementFile {
    /// Whether `<sm/>` is offered at all.
    pub(crate) enabled: Option<bool>,
    /// How long a broken session waits to be resumed, in seconds (0: no resumption).
    pub(crate) resume_timeout_secs: Option<Spanned<u64>>,
    /// Stanzas sent but not yet acknowledged before the session is closed.
    pub(crate) max_unacked: Option<Spanned<usize>>,
}

/// The `[archive]` table (XEP-0313).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArchiveFile {
    /// Whether messages are archived and `urn:xmpp:mam:2` is offered.
    pub(crate) enabled: Option<bool>,
    /// The archiving default of accounts that set no preferences.
    pub(crate) default: Option<DefaultPolicyFile>,
    /// Days a message is kept (0: forever).
    pub(crate) retention_days: Option<Spanned<u64>>,
    /// How often expired messages are removed, in seconds.
    pub(crate) expiry_interval_secs: Option<Spanned<u64>>,
    /// The most messages one query page may hold.
    pub(crate) max_page_size: Option<Spanned<usize>>,
    /// Messages per page when the query names no `<max/>`.
    pub(crate) default_page_size: Option<Spanned<usize>>,
}

/// `default = "..."` of `[archive]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum DefaultPolicyFile {
    /// Every message.
    Always,
    /// Messages with contacts in the owner's roster.
    Roster,
    /// No message.
    Never,
}

/// The `[csi]` table (XEP-0352).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CsiFile {
    /// Whether `<csi/>` is offered.
    pub(crate) enabled: Option<bool>,
    /// Stanzas held back for an inactive client before they are all sent.
    pub(crate) max_held: Option<Spanned<usize>>,
}
