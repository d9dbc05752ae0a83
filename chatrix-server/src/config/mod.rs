//! Server configuration: the TOML file ([`file`]), checked and resolved into [`Config`].
//!
//! Without `--config` the server runs on built-in defaults: domain `localhost`, data dir
//! `./chatrix-data`, SQLite `chatrix.db` in it, a generated self-signed certificate, c2s
//! STARTTLS on 5222 and Direct TLS on 5223. A file changes only what it mentions.
//!
//! Relative paths in a file (data dir, certificates) are relative to the file's directory, so
//! a configuration means the same wherever the server is started from; `--data-dir` on the
//! command line is relative to the current directory. A relative SQLite path is relative to
//! the data dir.

mod accounts;
mod accounts_file;
mod error;
mod file;
mod sessions;
mod sessions_file;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use xmpp_core::jid::BareJid;
use xmpp_core::xml::Limits;
use xmpp_sasl::{MIN_ITERATIONS, Mechanism};

pub use accounts::{
    AccountClass, DEFAULT_CLASS, DEFAULT_MAX_OFFLINE_MESSAGES, DEFAULT_RESERVED_NAMES,
    DEFAULT_UPLOAD_QUOTA_BYTES, Fail2BanConfig, RegistrationConfig, RegistrationMode,
    SPONSOR_CLASS, WebConfig,
};
pub use error::{ConfigError, Location, Origin};
use file::{ConfigFile, ListenerKindFile, TlsModeFile};
pub use sessions::{
    ArchiveConfig, CsiConfig, DEFAULT_EXPIRY_INTERVAL, DEFAULT_MAX_HELD, DEFAULT_MAX_PAGE,
    DEFAULT_MAX_UNACKED, DEFAULT_PAGE, DEFAULT_RESUME_TIMEOUT, MAX_RESUME_TIMEOUT,
    StreamManagementConfig,
};

use crate::storage::DatabaseUrl;

/// The domain served when no configuration says otherwise.
pub const DEFAULT_DOMAIN: &str = "localhost";
/// The data directory used when no configuration says otherwise.
pub const DEFAULT_DATA_DIR: &str = "chatrix-data";
/// The database used when no configuration says otherwise (a file in the data dir).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://chatrix.db";
/// The log filter used when neither `RUST_LOG` nor the configuration sets one.
pub const DEFAULT_LOG_LEVEL: &str = "info";
/// The connection pool size used when the configuration does not set one.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// The PBKDF2 iteration count for new passwords (RFC 7677 §4 minimum).
pub const DEFAULT_ITERATIONS: u32 = xmpp_sasl::DEFAULT_ITERATIONS;
/// The highest iteration count accepted in the configuration (the SASL layer refuses more).
pub const MAX_ITERATIONS: u32 = xmpp_sasl::DEFAULT_MAX_ITERATIONS;

/// A checked, resolved configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where it came from.
    pub origin: Origin,
    /// The data directory (absolute, or relative to the current directory).
    pub data_dir: PathBuf,
    /// The log filter, in `tracing_subscriber::EnvFilter` syntax.
    pub log_level: String,
    /// The virtual hosts, in file order; never empty.
    pub hosts: Vec<HostConfig>,
    /// The listeners, in file order.
    pub listeners: Vec<ListenerConfig>,
    /// The account database.
    pub database: DatabaseConfig,
    /// Parser limits for each stanza.
    pub limits: Limits,
    /// SASL settings.
    pub sasl: SaslConfig,
    /// The most items one roster may hold.
    pub max_roster_items: usize,
    /// Limits per account class; always has [`DEFAULT_CLASS`].
    pub account_classes: BTreeMap<String, AccountClass>,
    /// How often shared roster groups are checked for changes.
    pub shared_groups_poll: Duration,
    /// In-band and web registration.
    pub registration: RegistrationConfig,
    /// Bans after failed logins.
    pub fail2ban: Fail2BanConfig,
    /// The account web pages.
    pub web: WebConfig,
    /// Stream management (XEP-0198): acknowledgements and resumption.
    pub stream_management: StreamManagementConfig,
    /// The message archive (XEP-0313).
    pub archive: ArchiveConfig,
    /// Client state indication (XEP-0352).
    pub csi: CsiConfig,
}

/// The roster size limit when the configuration sets none.
pub const DEFAULT_MAX_ROSTER_ITEMS: usize = 1000;
/// How often shared groups are checked when the configuration does not say.
pub const DEFAULT_SHARED_GROUPS_POLL: Duration = Duration::from_secs(2);

impl Config {
    /// The limits of the default account class.
    pub fn default_class(&self) -> AccountClass {
        self.account_classes
            .get(DEFAULT_CLASS)
            .copied()
            .unwrap_or_default()
    }

    /// The limits of class `name` (`None`: the default class). A class no longer in the
    /// configuration falls back to the default class.
    pub fn class(&self, name: Option<&str>) -> AccountClass {
        name.and_then(|n| self.account_classes.get(n))
            .copied()
            .unwrap_or_else(|| self.default_class())
    }
}

/// One virtual host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// The domain, normalised (lowercase, Unicode form, no trailing dot).
    pub domain: String,
    /// Its certificate; `None` means the generated self-signed one.
    pub certificate: Option<CertificateFiles>,
}

/// A certificate chain and its key, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFiles {
    /// The chain, leaf first.
    pub certificate: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// What a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListenerKind {
    /// Client-to-server, TLS negotiated with STARTTLS (RFC 6120 §5).
    C2sStarttls,
    /// Client-to-server, TLS from the first byte (XEP-0368), ALPN `xmpp-client`.
    C2sDirectTls,
    /// The account web pages (register, change password, delete) over HTTPS.
    WebHttps,
    /// The account web pages over plain HTTP, for a TLS-terminating reverse proxy in front.
    WebHttp,
}

impl ListenerKind {
    /// The name used in the configuration file.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::C2sStarttls => "c2s-starttls",
            Self::C2sDirectTls => "c2s-direct-tls",
            Self::WebHttps => "web-https",
            Self::WebHttp => "web-http",
        }
    }

    /// The port used when the configuration does not give one.
    pub const fn default_port(self) -> u16 {
        match self {
            Self::C2sStarttls => 5222,
            Self::C2sDirectTls => 5223,
            // ejabberd's ports for the same pages.
            Self::WebHttps => 5443,
            Self::WebHttp => 5280,
        }
    }

    /// Whether it serves XMPP clients (the other kinds serve the web pages).
    pub const fn is_c2s(self) -> bool {
        matches!(self, Self::C2sStarttls | Self::C2sDirectTls)
    }
}

/// Whether a listener insists on TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsMode {
    /// TLS before authentication, always (the default).
    Required,
    /// STARTTLS offered but not required: for a TLS-terminating proxy in front, or loopback
    /// benchmarks. Only for `c2s-starttls` listeners.
    Optional,
}

impl TlsMode {
    /// The name used in the configuration file.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Optional => "optional",
        }
    }
}

/// One listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// What it speaks.
    pub kind: ListenerKind,
    /// Address and port to bind.
    pub address: SocketAddr,
    /// Whether TLS is mandatory.
    pub tls: TlsMode,
}

impl std::fmt::Display for ListenerConfig {
    /// `c2s-starttls on 0.0.0.0:5222 (TLS required)`, `web-https on [::]:5443 (HTTPS)`: how
    /// the start-up summary and `check-config` list it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {} (", self.kind.as_str(), self.address)?;
        match self.kind {
            ListenerKind::C2sStarttls | ListenerKind::C2sDirectTls => {
                write!(f, "TLS {})", self.tls.as_str())
            }
            ListenerKind::WebHttps => f.write_str("HTTPS)"),
            ListenerKind::WebHttp => f.write_str("plain HTTP, for a TLS-terminating proxy)"),
        }
    }
}

/// The `[database]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// Which database, resolved (a relative SQLite path is made relative to the data dir when
    /// the configuration is resolved, see [`Config::database_url`]).
    pub url: DatabaseUrl,
    /// Connection pool size.
    pub max_connections: u32,
}

/// The `[sasl]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslConfig {
    /// Mechanisms to offer, in order; `None` offers every mechanism the connection allows.
    pub mechanisms: Option<Vec<Mechanism>>,
    /// PBKDF2 iterations for new and changed passwords.
    pub iterations: u32,
}

impl Config {
    /// The built-in defaults (what the server runs with when started without `--config`).
    pub fn defaults() -> Self {
        let text = "";
        Resolver::new(text, Origin::Defaults, Path::new("."))
            .resolve(ConfigFile::default())
            .unwrap_or_else(|e| unreachable!("the built-in defaults are valid: {e}"))
    }

    /// Loads the configuration: the file at `path`, or the built-in defaults when `None`.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self::defaults());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Self::parse(&text, Origin::File(path.to_path_buf()), base)
    }

    /// Parses configuration text; relative paths are taken relative to the current directory.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        Self::parse(text, Origin::Text, Path::new("."))
    }

    fn parse(text: &str, origin: Origin, base: &Path) -> Result<Self, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            location: e.span().map(|s| Location::of_span(text, &s)),
            origin: origin.clone(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        Resolver::new(text, origin, base).resolve(file)
    }

    /// Replaces the data directory (the `--data-dir` option).
    #[must_use]
    pub fn with_data_dir(mut self, data_dir: impl Into<PathBuf>) -> Self {
        self.data_dir = data_dir.into();
        self
    }

    /// The database to open: a relative SQLite path is taken relative to the data dir.
    pub fn database_url(&self) -> DatabaseUrl {
        match &self.database.url {
            DatabaseUrl::Sqlite(path) if path.is_relative() => {
                DatabaseUrl::Sqlite(self.data_dir.join(path))
            }
            other => other.clone(),
        }
    }

    /// The host configuration for `domain` (normalised), if it is one of ours.
    pub fn host(&self, domain: &str) -> Option<&HostConfig> {
        self.hosts.iter().find(|h| h.domain == domain)
    }

    /// Whether `domain` (normalised) is one of our hosts.
    pub fn is_host(&self, domain: &str) -> bool {
        self.host(domain).is_some()
    }

    /// The generated self-signed certificate: `cert.pem` in the data dir.
    pub fn self_signed_cert_path(&self) -> PathBuf {
        self.data_dir.join("cert.pem")
    }

    /// The key of the generated self-signed certificate: `key.pem` in the data dir.
    pub fn self_signed_key_path(&self) -> PathBuf {
        self.data_dir.join("key.pem")
    }

    /// The file holding the server secret: `server-secret` in the data dir.
    pub fn server_secret_path(&self) -> PathBuf {
        self.data_dir.join("server-secret")
    }
}

/// Turns the file's values into a [`Config`], naming the line of every bad value.
struct Resolver<'a> {
    text: &'a str,
    origin: Origin,
    base: &'a Path,
}

impl<'a> Resolver<'a> {
    fn new(text: &'a str, origin: Origin, base: &'a Path) -> Self {
        Self { text, origin, base }
    }

    fn invalid(
        &self,
        key: impl Into<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.clone(),
            key: key.into(),
            location: span.map(|s| Location::of_span(self.text, &s)),
            message: message.into(),
        }
    }

    fn path(&self, p: &Path) -> PathBuf {
        if p.is_relative() && self.base != Path::new(".") {
            self.base.join(p)
        } else {
            p.to_path_buf()
        }
    }

    fn resolve(&self, file: ConfigFile) -> Result<Config, ConfigError> {
        let data_dir = file.data_dir.map_or_else(
            || PathBuf::from(DEFAULT_DATA_DIR),
            |d| self.path(d.get_ref()),
        );
        let log_level = self.log_level(file.log_level)?;
        let hosts = self.hosts(file.hosts)?;
        let listeners = self.listeners(file.listeners)?;
        let database = self.database(file.database)?;
        let limits = self.limits(file.limits)?;
        let sasl = self.sasl(file.sasl)?;
        let max_roster_items = match file.roster.max_items {
            None => DEFAULT_MAX_ROSTER_ITEMS,
            Some(n) if *n.get_ref() == 0 => {
                return Err(self.invalid("roster.max_items", Some(n.span()), "must be at least 1"));
            }
            Some(n) => n.into_inner(),
        };
        let account_classes = accounts::account_classes(&file.account_classes);
        let registration = self.registration(file.registration)?;
        let fail2ban = self.fail2ban(file.fail2ban)?;
        let web = self.web(file.web)?;
        let stream_management = self.stream_management(file.stream_management)?;
        let archive = self.archive(file.archive)?;
        let csi = self.csi(file.csi)?;
        let shared_groups_poll = match file.shared_groups.poll_interval_ms {
            None => DEFAULT_SHARED_GROUPS_POLL,
            Some(n) if *n.get_ref() == 0 => {
                return Err(self.invalid(
                    "shared_groups.poll_interval_ms",
                    Some(n.span()),
                    "must be at least 1",
                ));
            }
            Some(n) => Duration::from_millis(n.into_inner()),
        };
        Ok(Config {
            origin: self.origin.clone(),
            data_dir,
            log_level,
            hosts,
            listeners,
            database,
            limits,
            sasl,
            max_roster_items,
            account_classes,
            shared_groups_poll,
            registration,
            fail2ban,
            web,
            stream_management,
            archive,
            csi,
        })
    }

    fn log_level(&self, level: Option<Spanned<String>>) -> Result<String, ConfigError> {
        let Some(level) = level else {
            return Ok(DEFAULT_LOG_LEVEL.to_owned());
        };
        let span = level.span();
        let level = level.into_inner();
        tracing_subscriber::EnvFilter::builder()
            .parse(&level)
            .map_err(|e| self.invalid("log_level", Some(span), e.to_string()))?;
        Ok(level)
    }

    fn hosts(
        &self,
        hosts: Option<Spanned<Vec<file::HostFile>>>,
    ) -> Result<Vec<HostConfig>, ConfigError> {
        let Some(hosts) = hosts else {
            return Ok(vec![HostConfig {
                domain: DEFAULT_DOMAIN.to_owned(),
                certificate: None,
            }]);
        };
        let span = hosts.span();
        let hosts = hosts.into_inner();
        if hosts.is_empty() {
            return Err(self.invalid("hosts", Some(span), "at least one host is needed"));
        }
        let mut out: Vec<HostConfig> = Vec::with_capacity(hosts.len());
        for (i, host) in hosts.into_iter().enumerate() {
            let key = format!("hosts[{i}].domain");
            let dspan = host.domain.span();
            let domain = match BareJid::from_domain(host.domain.get_ref()) {
                Ok(jid) if jid.localpart().is_none() => jid.domain().to_owned(),
                Ok(_) => return Err(self.invalid(key, Some(dspan), "a domain, not an address")),
                Err(e) => {
                    return Err(self.invalid(key, Some(dspan), format!("not a valid domain: {e}")));
                }
            };
            if out.iter().any(|h| h.domain == domain) {
                return Err(self.invalid(key, Some(dspan), format!("`{domain}` is listed twice")));
            }
            let certificate = match (host.certificate, host.key) {
                (None, None) => None,
                (Some(cert), Some(key)) => Some(CertificateFiles {
                    certificate: self.path(cert.get_ref()),
                    key: self.path(key.get_ref()),
                }),
                (Some(cert), None) => {
                    return Err(self.invalid(
                        format!("hosts[{i}].key"),
                        Some(cert.span()),
                        "`certificate` is set but `key` is missing",
                    ));
                }
                (None, Some(key)) => {
                    return Err(self.invalid(
                        format!("hosts[{i}].certificate"),
                        Some(key.span()),
                        "`key` is set but `certificate` is missing",
                    ));
                }
            };
            out.push(HostConfig {
                domain,
                certificate,
            });
        }
        Ok(out)
    }

    fn listeners(
        &self,
        listeners: Option<Spanned<Vec<file::ListenerFile>>>,
    ) -> Result<Vec<ListenerConfig>, ConfigError> {
        let Some(listeners) = listeners else {
            return Ok([
                ListenerKind::C2sStarttls,
                ListenerKind::C2sDirectTls,
                ListenerKind::WebHttps,
            ]
            .into_iter()
            .map(|kind| ListenerConfig {
                kind,
                address: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), kind.default_port()),
                tls: TlsMode::Required,
            })
            .collect());
        };
        let mut out: Vec<ListenerConfig> = Vec::new();
        for (i, l) in listeners.into_inner().into_iter().enumerate() {
            let kind = match l.kind {
                ListenerKindFile::C2sStarttls => ListenerKind::C2sStarttls,
                ListenerKindFile::C2sDirectTls => ListenerKind::C2sDirectTls,
                ListenerKindFile::WebHttps => ListenerKind::WebHttps,
                ListenerKindFile::WebHttp => ListenerKind::WebHttp,
            };
            let ip = match l.address {
                None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                Some(a) => a.get_ref().parse::<IpAddr>().map_err(|_| {
                    self.invalid(
                        format!("listeners[{i}].address"),
                        Some(a.span()),
                        format!("`{}` is not an IP address (use e.g. \"0.0.0.0\", \"::\" or \"127.0.0.1\")", a.get_ref()),
                    )
                })?,
            };
            let port = l.port.unwrap_or(kind.default_port());
            let tls = match l.tls {
                None => TlsMode::Required,
                Some(t) => match (t.get_ref(), kind) {
                    (TlsModeFile::Required, _) => TlsMode::Required,
                    (TlsModeFile::Optional, ListenerKind::C2sStarttls) => TlsMode::Optional,
                    (TlsModeFile::Optional, ListenerKind::C2sDirectTls) => {
                        return Err(self.invalid(
                            format!("listeners[{i}].tls"),
                            Some(t.span()),
                            "a c2s-direct-tls listener always uses TLS; use a c2s-starttls listener with tls = \"optional\"",
                        ));
                    }
                    (TlsModeFile::Optional, ListenerKind::WebHttps | ListenerKind::WebHttp) => {
                        return Err(self.invalid(
                            format!("listeners[{i}].tls"),
                            Some(t.span()),
                            "`tls` is for c2s listeners; use kind = \"web-http\" behind a TLS-terminating proxy",
                        ));
                    }
                },
            };
            let address = SocketAddr::new(ip, port);
            if port != 0 && out.iter().any(|o| o.address == address) {
                return Err(self.invalid(
                    format!("listeners[{i}]"),
                    None,
                    format!("{address} is used by two listeners"),
                ));
            }
            out.push(ListenerConfig { kind, address, tls });
        }
        Ok(out)
    }

    fn database(&self, db: file::DatabaseFile) -> Result<DatabaseConfig, ConfigError> {
        let url = match db.url {
            None => DatabaseUrl::parse(DEFAULT_DATABASE_URL)
                .unwrap_or_else(|e| unreachable!("the default URL is valid: {e}")),
            Some(u) => DatabaseUrl::parse(u.get_ref())
                .map_err(|e| self.invalid("database.url", Some(u.span()), e.to_string()))?,
        };
        let max_connections = match db.max_connections {
            None => DEFAULT_MAX_CONNECTIONS,
            Some(n) if *n.get_ref() == 0 => {
                return Err(self.invalid(
                    "database.max_connections",
                    Some(n.span()),
                    "must be at least 1",
                ));
            }
            Some(n) => n.into_inner(),
        };
        Ok(DatabaseConfig {
            url,
            max_connections,
        })
    }

    fn limits(&self, l: file::LimitsFile) -> Result<Limits, ConfigError> {
        let d = Limits::default();
        let get = |v: Option<Spanned<usize>>, key: &str, default: usize| match v {
            None => Ok(default),
            Some(v) if *v.get_ref() == 0 => Err(self.invalid(
                format!("limits.{key}"),
                Some(v.span()),
                "must be at least 1",
            )),
            Some(v) => Ok(v.into_inner()),
        };
        Ok(Limits {
            max_element_bytes: get(l.max_stanza_bytes, "max_stanza_bytes", d.max_element_bytes)?,
            max_depth: get(l.max_depth, "max_depth", d.max_depth)?,
            max_attributes: get(l.max_attributes, "max_attributes", d.max_attributes)?,
            max_namespace_declarations: get(
                l.max_namespace_declarations,
                "max_namespace_declarations",
                d.max_namespace_declarations,
            )?,
            max_token_length: get(l.max_token_length, "max_token_length", d.max_token_length)?,
        })
    }

    fn sasl(&self, s: file::SaslFile) -> Result<SaslConfig, ConfigError> {
        let mechanisms = match s.mechanisms {
            None => None,
            Some(list) => {
                let span = list.span();
                let list = list.into_inner();
                if list.is_empty() {
                    return Err(self.invalid(
                        "sasl.mechanisms",
                        Some(span),
                        "lists no mechanism (leave it out to offer all)",
                    ));
                }
                let mut out = Vec::with_capacity(list.len());
                for (i, name) in list.into_iter().enumerate() {
                    let m: Mechanism = name.get_ref().parse().map_err(|_| {
                        let known: Vec<&str> = Mechanism::ALL.iter().map(|m| m.as_str()).collect();
                        self.invalid(
                            format!("sasl.mechanisms[{i}]"),
                            Some(name.span()),
                            format!(
                                "unknown mechanism `{}`, expected one of {}",
                                name.get_ref(),
                                known.join(", ")
                            ),
                        )
                    })?;
                    if !out.contains(&m) {
                        out.push(m);
                    }
                }
                Some(out)
            }
        };
        let iterations = match s.iterations {
            None => DEFAULT_ITERATIONS,
            Some(n) if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(n.get_ref()) => {
                return Err(self.invalid(
                    "sasl.iterations",
                    Some(n.span()),
                    format!("must be between {MIN_ITERATIONS} and {MAX_ITERATIONS}"),
                ));
            }
            Some(n) => n.into_inner(),
        };
        Ok(SaslConfig {
            mechanisms,
            iterations,
        })
    }
}
