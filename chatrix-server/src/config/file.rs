//! The TOML file as written: every key, its type and its default, nothing resolved yet.
//!
//! Every table refuses keys it does not know (`deny_unknown_fields`), so a typo is an error
//! with a line number instead of a setting silently ignored. Values that need checking beyond
//! their type keep their position ([`Spanned`]) so that [`super::Config`] can name the line.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

/// The whole file. Every key is optional; an empty file is the built-in defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    /// Where the server keeps its state (database, generated certificate, server secret).
    pub(crate) data_dir: Option<Spanned<PathBuf>>,
    /// Log filter (`info`, `debug`, `chatrix_server=debug,info`, ...).
    pub(crate) log_level: Option<Spanned<String>>,
    /// The virtual hosts this server is authoritative for.
    pub(crate) hosts: Option<Spanned<Vec<HostFile>>>,
    /// Sockets to listen on.
    pub(crate) listeners: Option<Spanned<Vec<ListenerFile>>>,
    /// The account database.
    #[serde(default)]
    pub(crate) database: DatabaseFile,
    /// Parser limits for each stanza.
    #[serde(default)]
    pub(crate) limits: LimitsFile,
    /// SASL settings.
    #[serde(default)]
    pub(crate) sasl: SaslFile,
    /// Roster settings.
    #[serde(default)]
    pub(crate) roster: RosterFile,
    /// Per-class account limits, by class name (`default`, `sponsor`, ...).
    #[serde(default)]
    pub(crate) account_classes: std::collections::BTreeMap<String, AccountClassFile>,
    /// Shared roster groups.
    #[serde(default)]
    pub(crate) shared_groups: SharedGroupsFile,
    /// In-band and web registration.
    #[serde(default)]
    pub(crate) registration: super::accounts_file::RegistrationFile,
    /// Bans after failed logins.
    #[serde(default)]
    pub(crate) fail2ban: super::accounts_file::Fail2BanFile,
    /// The account web pages.
    #[serde(default)]
    pub(crate) web: super::accounts_file::WebFile,
    /// Stream management (XEP-0198).
    #[serde(default)]
    pub(crate) stream_management: super::sessions_file::StreamManagementFile,
    /// The message archive (XEP-0313).
    #[serde(default)]
    pub(crate) archive: super::sessions_file::ArchiveFile,
    /// Client state indication (XEP-0352).
    #[serde(default)]
    pub(crate) csi: super::sessions_file::CsiFile,
}

/// The `[roster]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RosterFile {
    /// The most items one roster may hold.
    pub(crate) max_items: Option<Spanned<usize>>,
}

/// One `[account_classes.NAME]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountClassFile {
    /// How many offline messages an account of the class may hold.
    pub(crate) max_offline_messages: Option<Spanned<u32>>,
    /// Bytes an account of the class may keep in HTTP upload.
    pub(crate) upload_quota_bytes: Option<Spanned<u64>>,
    /// Living accounts registered from one address (0: no limit).
    pub(crate) max_accounts_per_address: Option<Spanned<u32>>,
    /// Messages an account of the class may keep in its archive (0: no limit).
    pub(crate) max_archive_messages: Option<Spanned<u64>>,
}

/// The `[shared_groups]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SharedGroupsFile {
    /// How often the server looks for changed groups, in milliseconds.
    pub(crate) poll_interval_ms: Option<Spanned<u64>>,
}

/// One `[[hosts]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostFile {
    /// The domain, e.g. `example.org`.
    pub(crate) domain: Spanned<String>,
    /// PEM certificate chain, leaf first. Without it a self-signed certificate is generated.
    pub(crate) certificate: Option<Spanned<PathBuf>>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for `certificate`.
    pub(crate) key: Option<Spanned<PathBuf>>,
}

/// One `[[listeners]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListenerFile {
    /// What is spoken on the socket.
    pub(crate) kind: ListenerKindFile,
    /// The address to bind (`0.0.0.0`, `::`, `127.0.0.1`).
    pub(crate) address: Option<Spanned<String>>,
    /// The TCP port; defaults to 5222 (STARTTLS) or 5223 (Direct TLS).
    pub(crate) port: Option<u16>,
    /// Whether TLS is mandatory before authentication.
    pub(crate) tls: Option<Spanned<TlsModeFile>>,
}

/// `kind = "..."` of a listener.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ListenerKindFile {
    /// RFC 6120 client-to-server, TLS negotiated with STARTTLS.
    C2sStarttls,
    /// XEP-0368 client-to-server, TLS from the first byte.
    C2sDirectTls,
    /// The account web pages over HTTPS (the hosts' certificates).
    WebHttps,
    /// The account web pages over plain HTTP, for a TLS-terminating reverse proxy.
    WebHttp,
}

/// `tls = "..."` of a listener.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum TlsModeFile {
    /// Clients must use TLS.
    Required,
    /// TLS is offered but not required.
    Optional,
}

/// The `[database]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DatabaseFile {
    /// `sqlite://FILE` (relative to the data dir) or `postgres://...`.
    pub(crate) url: Option<Spanned<String>>,
    /// Size of the connection pool.
    pub(crate) max_connections: Option<Spanned<u32>>,
}

/// The `[limits]` table.
#[derive(Debug, Default, Deserialize)]
#[allow(clippy::struct_field_names)] // the names are the configuration keys
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsFile {
    /// Bytes one stanza may span.
    pub(crate) max_stanza_bytes: Option<Spanned<usize>>,
    /// Element nesting depth of one stanza.
    pub(crate) max_depth: Option<Spanned<usize>>,
    /// Attributes on one element.
    pub(crate) max_attributes: Option<Spanned<usize>>,
    /// Namespace declarations on one element.
    pub(crate) max_namespace_declarations: Option<Spanned<usize>>,
    /// Bytes of one name or attribute value.
    pub(crate) max_token_length: Option<Spanned<usize>>,
}

/// The `[sasl]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SaslFile {
    /// Mechanisms to offer, by their SASL names; absent means all.
    pub(crate) mechanisms: Option<Spanned<Vec<Spanned<String>>>>,
    /// PBKDF2 iterations for new and changed passwords.
    pub(crate) iterations: Option<Spanned<u32>>,
}
