//! Accounts of a public service (issue 6): who may register and how often, CAPTCHAs, bans
//! after failed logins, the web pages, and the limits each account class gives.

use std::collections::BTreeMap;
use std::time::Duration;

use toml::Spanned;

use super::accounts_file::{Fail2BanFile, RegistrationFile, RegistrationModeFile, WebFile};
use super::file::AccountClassFile;
use super::{ConfigError, Resolver};

/// The class every account has until a class is set for it.
pub const DEFAULT_CLASS: &str = "default";
/// The class for supporters, with ten times the default limits unless configured.
pub const SPONSOR_CLASS: &str = "sponsor";
/// Offline messages per account of the default class (ejabberd's example default).
pub const DEFAULT_MAX_OFFLINE_MESSAGES: u32 = 100;
/// Upload quota of the default class: 100 MiB.
pub const DEFAULT_UPLOAD_QUOTA_BYTES: u64 = 100 * 1024 * 1024;
/// Usernames reserved when the configuration lists none: names people trust to be the
/// operator's (RFC 2142 mailbox names and their XMPP kin).
pub const DEFAULT_RESERVED_NAMES: &[&str] = &[
    "abuse",
    "admin",
    "administrator",
    "hostmaster",
    "info",
    "noc",
    "postmaster",
    "root",
    "security",
    "support",
    "webmaster",
    "xmpp",
];

/// The limits an account's class gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountClass {
    /// How many offline messages the account may hold.
    pub max_offline_messages: u32,
    /// Bytes the account may keep in HTTP upload (used by the upload issue).
    pub upload_quota_bytes: u64,
    /// How many living accounts may be registered from one address while this class is the
    /// class of new accounts (the default class); `None`: no limit beyond the hourly one.
    pub max_accounts_per_address: Option<u32>,
    /// How many messages the account may keep in its archive (XEP-0313); `None`: no limit.
    pub max_archive_messages: Option<u64>,
}

impl Default for AccountClass {
    fn default() -> Self {
        Self {
            max_offline_messages: DEFAULT_MAX_OFFLINE_MESSAGES,
            upload_quota_bytes: DEFAULT_UPLOAD_QUOTA_BYTES,
            max_accounts_per_address: None,
            max_archive_messages: None,
        }
    }
}

impl AccountClass {
    /// The built-in `sponsor` class: ten times the given limits (no limit stays no limit).
    fn tenfold(self) -> Self {
        Self {
            max_offline_messages: self.max_offline_messages.saturating_mul(10),
            upload_quota_bytes: self.upload_quota_bytes.saturating_mul(10),
            max_accounts_per_address: self.max_accounts_per_address.map(|n| n.saturating_mul(10)),
            max_archive_messages: self.max_archive_messages.map(|n| n.saturating_mul(10)),
        }
    }
}

/// Who may register in band and on the web.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationMode {
    /// Anyone (within the rate limits).
    Open,
    /// Nobody: the feature is not advertised and attempts get `not-allowed`.
    Closed,
    /// Only clients whose address is in `allowed_networks`.
    AllowedNetworks,
}

/// The `[registration]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationConfig {
    /// Who may register.
    pub mode: RegistrationMode,
    /// Networks (CIDR text, checked) for [`RegistrationMode::AllowedNetworks`].
    pub allowed_networks: Vec<String>,
    /// Whether a CAPTCHA is asked (off suits private servers).
    pub captcha: bool,
    /// Usernames nobody may register.
    pub reserved_names: Vec<String>,
    /// Minimum estimated password strength, in bits (0: any non-empty password).
    pub min_password_bits: u32,
    /// In-band registrations per IP address per [`Self::per_address_window`].
    pub per_address: u32,
    /// The window of [`Self::per_address`].
    pub per_address_window: Duration,
    /// Web registrations per [`Self::web_window`], whatever the address.
    pub web_per_window: u32,
    /// The window of [`Self::web_per_window`].
    pub web_window: Duration,
    /// How long a deleted username cannot be registered again.
    pub tombstone: Duration,
    /// How long a CAPTCHA may be answered.
    pub captcha_ttl: Duration,
    /// CAPTCHAs one address may request per [`Self::captcha_flood_window`].
    pub captcha_per_address: u32,
    /// The window of [`Self::captcha_per_address`].
    pub captcha_flood_window: Duration,
    /// How long an address that asked for too many CAPTCHAs gets none.
    pub captcha_block: Duration,
}

/// The `[fail2ban]` settings: bans after failed logins (c2s and web forms alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail2BanConfig {
    /// Failures from one address within [`Self::window`] that ban it.
    pub max_failures: u32,
    /// The window failures are counted in.
    pub window: Duration,
    /// How long a ban lasts.
    pub ban: Duration,
    /// Networks (CIDR text, checked) never counted or banned.
    pub allow: Vec<String>,
}

/// The `[web]` settings (the listeners themselves are `[[listeners]]` of kind `web-https` or
/// `web-http`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebConfig {
    /// Proxies (CIDR text, checked) whose `X-Forwarded-For` names the client's address.
    pub trusted_proxies: Vec<String>,
}

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// The classes of the file, with `default` and `sponsor` always present.
pub(super) fn account_classes(
    file: &BTreeMap<String, AccountClassFile>,
) -> BTreeMap<String, AccountClass> {
    let resolve = |class: &AccountClassFile, base: AccountClass| AccountClass {
        max_offline_messages: class
            .max_offline_messages
            .as_ref()
            .map_or(base.max_offline_messages, |v| *v.get_ref()),
        upload_quota_bytes: class
            .upload_quota_bytes
            .as_ref()
            .map_or(base.upload_quota_bytes, |v| *v.get_ref()),
        max_accounts_per_address: match &class.max_accounts_per_address {
            None => base.max_accounts_per_address,
            Some(v) if *v.get_ref() == 0 => None,
            Some(v) => Some(*v.get_ref()),
        },
        max_archive_messages: match &class.max_archive_messages {
            None => base.max_archive_messages,
            Some(v) if *v.get_ref() == 0 => None,
            Some(v) => Some(*v.get_ref()),
        },
    };
    let empty = AccountClassFile::default();
    let default = resolve(
        file.get(DEFAULT_CLASS).unwrap_or(&empty),
        AccountClass::default(),
    );
    // An unconfigured sponsor class still exists, with ten times what `default` has.
    let sponsor = resolve(file.get(SPONSOR_CLASS).unwrap_or(&empty), default.tenfold());
    let mut out = BTreeMap::new();
    for (name, class) in file {
        out.insert(name.clone(), resolve(class, default));
    }
    out.insert(DEFAULT_CLASS.to_owned(), default);
    out.insert(SPONSOR_CLASS.to_owned(), sponsor);
    out
}

impl Resolver<'_> {
    pub(super) fn registration(
        &self,
        file: RegistrationFile,
    ) -> Result<RegistrationConfig, ConfigError> {
        let mode = match file.mode.map(Spanned::into_inner) {
            None | Some(RegistrationModeFile::Open) => RegistrationMode::Open,
            Some(RegistrationModeFile::Closed) => RegistrationMode::Closed,
            Some(RegistrationModeFile::AllowedNetworks) => RegistrationMode::AllowedNetworks,
        };
        let allowed_networks =
            self.networks("registration.allowed_networks", file.allowed_networks)?;
        if mode == RegistrationMode::AllowedNetworks && allowed_networks.is_empty() {
            return Err(self.invalid(
                "registration.allowed_networks",
                None,
                "mode = \"allowed-networks\" needs at least one network",
            ));
        }
        let reserved_names = match file.reserved_names {
            None => DEFAULT_RESERVED_NAMES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            Some(names) => names.into_iter().map(Spanned::into_inner).collect(),
        };
        Ok(RegistrationConfig {
            mode,
            allowed_networks,
            captcha: file.captcha.unwrap_or(true),
            reserved_names,
            min_password_bits: file.min_password_bits.map_or(40, Spanned::into_inner),
            per_address: self.at_least_one("registration.per_address", file.per_address, 1)?,
            per_address_window: self.secs(
                "registration.per_address_window_secs",
                file.per_address_window_secs,
                HOUR,
            )?,
            web_per_window: self.at_least_one(
                "registration.web_per_window",
                file.web_per_window,
                1,
            )?,
            web_window: self.secs("registration.web_window_secs", file.web_window_secs, HOUR)?,
            tombstone: Duration::from_secs(
                file.tombstone_days
                    .map_or(30, Spanned::into_inner)
                    .saturating_mul(DAY),
            ),
            captcha_ttl: self.secs("registration.captcha_ttl_secs", file.captcha_ttl_secs, 300)?,
            captcha_per_address: self.at_least_one(
                "registration.captcha_per_address",
                file.captcha_per_address,
                10,
            )?,
            captcha_flood_window: self.secs(
                "registration.captcha_flood_window_secs",
                file.captcha_flood_window_secs,
                60,
            )?,
            captcha_block: self.secs(
                "registration.captcha_block_secs",
                file.captcha_block_secs,
                60,
            )?,
        })
    }

    pub(super) fn fail2ban(&self, file: Fail2BanFile) -> Result<Fail2BanConfig, ConfigError> {
        Ok(Fail2BanConfig {
            max_failures: self.at_least_one("fail2ban.max_failures", file.max_failures, 20)?,
            window: self.secs("fail2ban.window_secs", file.window_secs, HOUR)?,
            ban: self.secs("fail2ban.ban_secs", file.ban_secs, 6 * HOUR)?,
            allow: self.networks("fail2ban.allow", file.allow)?,
        })
    }

    pub(super) fn web(&self, file: WebFile) -> Result<WebConfig, ConfigError> {
        Ok(WebConfig {
            trusted_proxies: self.networks("web.trusted_proxies", file.trusted_proxies)?,
        })
    }

    fn at_least_one(
        &self,
        key: &str,
        value: Option<Spanned<u32>>,
        default: u32,
    ) -> Result<u32, ConfigError> {
        match value {
            None => Ok(default),
            Some(v) if *v.get_ref() == 0 => {
                Err(self.invalid(key, Some(v.span()), "must be at least 1"))
            }
            Some(v) => Ok(v.into_inner()),
        }
    }

    fn secs(
        &self,
        key: &str,
        value: Option<Spanned<u64>>,
        default: u64,
    ) -> Result<Duration, ConfigError> {
        match value {
            None => Ok(Duration::from_secs(default)),
            Some(v) if *v.get_ref() == 0 => {
                Err(self.invalid(key, Some(v.span()), "must be at least 1"))
            }
            Some(v) => Ok(Duration::from_secs(v.into_inner())),
        }
    }

    fn networks(
        &self,
        key: &str,
        value: Option<Vec<Spanned<String>>>,
    ) -> Result<Vec<String>, ConfigError> {
        let mut out = Vec::new();
        for (i, net) in value.unwrap_or_default().into_iter().enumerate() {
            if let Err(e) = crate::abuse::Networks::parse([net.get_ref().as_str()]) {
                return Err(self.invalid(format!("{key}[{i}]"), Some(net.span()), e.to_string()));
            }
            out.push(net.into_inner());
        }
        Ok(out)
    }
}
