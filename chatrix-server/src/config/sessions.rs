//! Sessions that survive mobile networks (issue 7): stream management (XEP-0198), the message
//! archive (XEP-0313) and client state indication (XEP-0352).

use std::fmt;
use std::time::Duration;

use toml::Spanned;
use xmpp_mam::DefaultPolicy;

use super::sessions_file::{ArchiveFile, CsiFile, DefaultPolicyFile, StreamManagementFile};
use super::{ConfigError, Resolver};

/// How long a broken session waits for its client to resume it: ejabberd's `resume_timeout`.
pub const DEFAULT_RESUME_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest resumption wait accepted: a session kept for longer mostly holds memory for a
/// client that will log in afresh anyway.
pub const MAX_RESUME_TIMEOUT: Duration = Duration::from_secs(3600);
/// Unacknowledged stanzas one session may have before it is closed.
pub const DEFAULT_MAX_UNACKED: usize = 1000;
/// How often expired archive messages are removed when the configuration does not say.
pub const DEFAULT_EXPIRY_INTERVAL: Duration = Duration::from_secs(3600);
/// The most messages in one archive page: ejabberd's `MAX_PAGE_SIZE` in `mod_mam`.
pub const DEFAULT_MAX_PAGE: usize = 250;
/// Messages per archive page when a query names no `<max/>`: ejabberd's `DEF_PAGE_SIZE`.
pub const DEFAULT_PAGE: usize = 50;
/// Stanzas held back for an inactive client before everything held is sent.
pub const DEFAULT_MAX_HELD: usize = 100;

/// The longest retention accepted, in days (a hundred years: longer is "forever", say so).
const MAX_RETENTION_DAYS: u64 = 36_500;
const DAY: u64 = 24 * 3600;

/// The `[stream_management]` settings (XEP-0198).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamManagementConfig {
    /// Whether `<sm xmlns='urn:xmpp:sm:3'/>` is offered.
    pub enabled: bool,
    /// How long a session whose connection broke waits to be resumed; zero turns resumption
    /// off (acknowledgements still work).
    pub resume_timeout: Duration,
    /// Stanzas sent but not yet acknowledged after which the session is closed.
    pub max_unacked: usize,
}

impl Default for StreamManagementConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            resume_timeout: DEFAULT_RESUME_TIMEOUT,
            max_unacked: DEFAULT_MAX_UNACKED,
        }
    }
}

impl StreamManagementConfig {
    /// Whether sessions may be resumed (stream management on and a non-zero timeout).
    pub fn resumable(&self) -> bool {
        self.enabled && !self.resume_timeout.is_zero()
    }
}

impl fmt::Display for StreamManagementConfig {
    /// `on, resumable for 300 s, at most 1000 unacknowledged stanzas`: how `check-config` and
    /// the start-up summary can show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.enabled {
            return f.write_str("off");
        }
        if self.resumable() {
            write!(f, "on, resumable for {} s", self.resume_timeout.as_secs())?;
        } else {
            f.write_str("on, not resumable")?;
        }
        write!(f, ", at most {} unacknowledged stanzas", self.max_unacked)
    }
}

/// The `[archive]` settings (XEP-0313).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveConfig {
    /// Whether messages are archived and the archive can be queried.
    pub enabled: bool,
    /// What is archived for an account that has set no preferences.
    pub default_policy: DefaultPolicy,
    /// How long a message is kept; `None`: forever.
    pub retention: Option<Duration>,
    /// How often expired messages are removed (only matters with a retention).
    pub expiry_interval: Duration,
    /// The most messages one page holds, whatever `<max/>` the query asks for.
    pub max_page: usize,
    /// Messages per page when the query names no `<max/>`; never more than
    /// [`Self::max_page`].
    pub default_page: usize,
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            default_policy: DefaultPolicy::Always,
            retention: None,
            expiry_interval: DEFAULT_EXPIRY_INTERVAL,
            max_page: DEFAULT_MAX_PAGE,
            default_page: DEFAULT_PAGE,
        }
    }
}

/// The configuration name of a policy (`always`, `roster`, `never`).
const fn policy_name(policy: DefaultPolicy) -> &'static str {
    match policy {
        DefaultPolicy::Always => "always",
        DefaultPolicy::Roster => "roster",
        DefaultPolicy::Never => "never",
    }
}

impl fmt::Display for ArchiveConfig {
    /// `on, default always, kept forever, pages of 50 (at most 250)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.enabled {
            return f.write_str("off");
        }
        write!(f, "on, default {}, ", policy_name(self.default_policy))?;
        match self.retention {
            None => f.write_str("kept forever")?,
            Some(r) => write!(
                f,
                "kept {} days (expired every {} s)",
                r.as_secs() / DAY,
                self.expiry_interval.as_secs()
            )?,
        }
        write!(
            f,
            ", pages of {} (at most {})",
            self.default_page, self.max_page
        )
    }
}

/// The `[csi]` settings (XEP-0352).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsiConfig {
    /// Whether `<csi xmlns='urn:xmpp:csi:0'/>` is offered.
    pub enabled: bool,
    /// Stanzas held back while the client is inactive; one more sends everything held.
    pub max_held: usize,
}

impl Default for CsiConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_held: DEFAULT_MAX_HELD,
        }
    }
}

impl fmt::Display for CsiConfig {
    /// `on, holding at most 100 stanzas for an inactive client`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.enabled {
            write!(
                f,
                "on, holding at most {} stanzas for an inactive client",
                self.max_held
            )
        } else {
            f.write_str("off")
        }
    }
}

impl Resolver<'_> {
    pub(super) fn stream_management(
        &self,
        file: StreamManagementFile,
    ) -> Result<StreamManagementConfig, ConfigError> {
        let d = StreamManagementConfig::default();
        let resume_secs = self.in_range(
            "stream_management.resume_timeout_secs",
            file.resume_timeout_secs,
            d.resume_timeout.as_secs(),
            0,
            Some(MAX_RESUME_TIMEOUT.as_secs()),
        )?;
        Ok(StreamManagementConfig {
            enabled: file.enabled.unwrap_or(d.enabled),
            resume_timeout: Duration::from_secs(resume_secs),
            max_unacked: self.in_range(
                "stream_management.max_unacked",
                file.max_unacked,
                d.max_unacked,
                10,
                Some(100_000),
            )?,
        })
    }

    pub(super) fn archive(&self, file: ArchiveFile) -> Result<ArchiveConfig, ConfigError> {
        let d = ArchiveConfig::default();
        let default_policy = match file.default {
            None => d.default_policy,
            Some(DefaultPolicyFile::Always) => DefaultPolicy::Always,
            Some(DefaultPolicyFile::Roster) => DefaultPolicy::Roster,
            Some(DefaultPolicyFile::Never) => DefaultPolicy::Never,
        };
        let retention_days = self.in_range(
            "archive.retention_days",
            file.retention_days,
            0,
            0,
            Some(MAX_RETENTION_DAYS),
        )?;
        let expiry_secs = self.in_range(
            "archive.expiry_interval_secs",
            file.expiry_interval_secs,
            d.expiry_interval.as_secs(),
            60,
            None,
        )?;
        let max_page = self.in_range(
            "archive.max_page_size",
            file.max_page_size,
            d.max_page,
            10,
            Some(1000),
        )?;
        // Checked against the resolved maximum, so that lowering only `max_page_size` below
        // the default page names the key that was written.
        let default_page = match file.default_page_size {
            None if max_page < d.default_page => max_page,
            None => d.default_page,
            Some(v) if *v.get_ref() == 0 || *v.get_ref() > max_page => {
                return Err(self.invalid(
                    "archive.default_page_size",
                    Some(v.span()),
                    format!("must be between 1 and max_page_size ({max_page})"),
                ));
            }
            Some(v) => v.into_inner(),
        };
        Ok(ArchiveConfig {
            enabled: file.enabled.unwrap_or(d.enabled),
            default_policy,
            retention: (retention_days > 0).then(|| Duration::from_secs(retention_days * DAY)),
            expiry_interval: Duration::from_secs(expiry_secs),
            max_page,
            default_page,
        })
    }

    pub(super) fn csi(&self, file: CsiFile) -> Result<CsiConfig, ConfigError> {
        let d = CsiConfig::default();
        Ok(CsiConfig {
            enabled: file.enabled.unwrap_or(d.enabled),
            max_held: self.in_range("csi.max_held", file.max_held, d.max_held, 1, Some(10_000))?,
        })
    }

    /// `value` if it lies in `min..=max` (no upper bound when `max` is `None`), `default` when
    /// absent; otherwise an error at its line.
    fn in_range<T>(
        &self,
        key: &str,
        value: Option<Spanned<T>>,
        default: T,
        min: T,
        max: Option<T>,
    ) -> Result<T, ConfigError>
    where
        T: Copy + PartialOrd + fmt::Display,
    {
        let Some(v) = value else {
            return Ok(default);
        };
        let n = *v.get_ref();
        if n >= min && max.is_none_or(|max| n <= max) {
            return Ok(n);
        }
        let message = match max {
            None => format!("must be at least {min}"),
            Some(max) => format!("must be between {min} and {max}"),
        };
        Err(self.invalid(key, Some(v.span()), message))
    }
}
