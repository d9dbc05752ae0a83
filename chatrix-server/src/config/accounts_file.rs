//! The TOML tables of issue 6 as written: `[registration]`, `[fail2ban]`, `[web]` and the
//! per-class limits. Resolved in `accounts.rs`.

use serde::Deserialize;
use toml::Spanned;

/// The `[registration]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistrationFile {
    /// `open`, `closed` or `allowed-networks`.
    pub(crate) mode: Option<Spanned<RegistrationModeFile>>,
    /// Networks (CIDR) from which registration is open in `allowed-networks` mode.
    pub(crate) allowed_networks: Option<Vec<Spanned<String>>>,
    /// Whether registration asks for a CAPTCHA.
    pub(crate) captcha: Option<bool>,
    /// Usernames nobody may register (compared in normalised form).
    pub(crate) reserved_names: Option<Vec<Spanned<String>>>,
    /// The minimum estimated password strength, in bits.
    pub(crate) min_password_bits: Option<Spanned<u32>>,
    /// In-band registrations allowed per IP address per window.
    pub(crate) per_address: Option<Spanned<u32>>,
    /// The window of `per_address`, in seconds.
    pub(crate) per_address_window_secs: Option<Spanned<u64>>,
    /// Web registrations allowed per window, whatever the address.
    pub(crate) web_per_window: Option<Spanned<u32>>,
    /// The window of `web_per_window`, in seconds.
    pub(crate) web_window_secs: Option<Spanned<u64>>,
    /// How long a deleted username stays reserved, in days.
    pub(crate) tombstone_days: Option<Spanned<u64>>,
    /// How long a CAPTCHA may be answered, in seconds.
    pub(crate) captcha_ttl_secs: Option<Spanned<u64>>,
    /// CAPTCHAs one address may request per `captcha_flood_window_secs`.
    pub(crate) captcha_per_address: Option<Spanned<u32>>,
    /// The window of `captcha_per_address`, in seconds.
    pub(crate) captcha_flood_window_secs: Option<Spanned<u64>>,
    /// How long an address that asked for too many CAPTCHAs gets none, in seconds.
    pub(crate) captcha_block_secs: Option<Spanned<u64>>,
}

/// `mode = "..."` of `[registration]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RegistrationModeFile {
    /// Anyone may register.
    Open,
    /// Nobody may register; the feature is not advertised.
    Closed,
    /// Only clients from `allowed_networks`.
    AllowedNetworks,
}

/// The `[fail2ban]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fail2BanFile {
    /// Failed logins from one address within `window_secs` that ban it.
    pub(crate) max_failures: Option<Spanned<u32>>,
    /// The window, in seconds.
    pub(crate) window_secs: Option<Spanned<u64>>,
    /// How long a ban lasts, in seconds.
    pub(crate) ban_secs: Option<Spanned<u64>>,
    /// Networks (CIDR) never counted or banned.
    pub(crate) allow: Option<Vec<Spanned<String>>>,
}

/// The `[web]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebFile {
    /// Proxies (CIDR) whose `X-Forwarded-For` header names the client.
    pub(crate) trusted_proxies: Option<Vec<Spanned<String>>>,
}
