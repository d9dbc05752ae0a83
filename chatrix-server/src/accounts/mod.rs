//! Accounts of a public, free service (issue 6): in-band and web registration behind a
//! CAPTCHA and rate limits, password changes, account deletion, and bans after failed logins.
//!
//! One [`Accounts`] serves both doors, XMPP (XEP-0077, through `c2s`) and the web pages
//! (`web`), so the same rules and the same counters apply whichever door is used. The protocol
//! pieces (forms, username and password policy) are xmpp-core's `register` module; this module
//! holds the state they need: the CAPTCHA store, the rate limiters, the ban list, and the
//! storage and IM core that an account lives in. Every time-based rule reads the injected
//! [`Clock`](crate::clock::Clock), so tests move time instead of sleeping.
//!
//! [`Accounts::delete`] is the only way the running server deletes an account: later features
//! that keep per-account state outside the database tables (which cascade from `accounts`)
//! extend it.

mod error;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use xmpp_core::register::policy;

use crate::abuse::{
    Fail2Ban, Fail2BanSettings, Networks, RateLimitSettings, RateLimiter, RetryAfter, rate_key,
};
use crate::captcha::{CaptchaError, CaptchaSettings, CaptchaStore, Challenge, FloodSettings};
use crate::config::RegistrationMode;
use crate::im::Im;
use crate::storage::{AccountJid, Ban};
use crate::{ServerContext, StorageError};
pub use error::AccountError;

/// Which door a request came through: the limits differ (per address in band, per server on
/// the web, as chatrix.one's rules have it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// XEP-0077 on a client stream.
    InBand,
    /// The web registration page.
    Web,
}

/// An answer to a CAPTCHA challenge.
#[derive(Debug, Clone, Copy)]
pub struct CaptchaAnswer<'a> {
    /// The challenge id the form carried.
    pub id: &'a str,
    /// What the person read in the image.
    pub text: &'a str,
}

/// A registration request, from either door.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount<'a> {
    /// The requested username (the localpart), as typed.
    pub username: &'a str,
    /// The hosted domain the account is for (normalised).
    pub domain: &'a str,
    /// The password, as typed.
    pub password: &'a str,
    /// The CAPTCHA answer, when one was asked.
    pub captcha: Option<CaptchaAnswer<'a>>,
    /// The client's address.
    pub address: IpAddr,
    /// Which door.
    pub channel: Channel,
}

/// The registration, password and deletion rules of a running server, with their state.
#[derive(Debug)]
pub struct Accounts {
    ctx: ServerContext,
    im: Arc<Im>,
    captchas: CaptchaStore,
    per_address: RateLimiter<IpAddr>,
    web: RateLimiter<()>,
    fail2ban: Fail2Ban,
    registration_networks: Networks,
}

impl Accounts {
    /// The account rules of `ctx`'s configuration, over `im`.
    pub fn new(ctx: ServerContext, im: Arc<Im>) -> Self {
        let r = &ctx.config.registration;
        let defaults = CaptchaSettings::default();
        let captchas = CaptchaStore::new(CaptchaSettings {
            ttl: r.captcha_ttl,
            flood: FloodSettings {
                max_per_ip: r.captcha_per_address,
                window: r.captcha_flood_window,
                block: r.captcha_block,
                ..defaults.flood
            },
            ..defaults
        });
        let per_address =
            RateLimiter::new(RateLimitSettings::new(r.per_address, r.per_address_window));
        let web = RateLimiter::new(RateLimitSettings::new(r.web_per_window, r.web_window));
        let f = &ctx.config.fail2ban;
        let fail2ban = Fail2Ban::new(Fail2BanSettings {
            max_failures: f.max_failures,
            window: f.window,
            ban_duration: f.ban,
            allow: checked_networks(&f.allow),
            ..Fail2BanSettings::default()
        });
        let registration_networks = checked_networks(&r.allowed_networks);
        Self {
            ctx,
            im,
            captchas,
            per_address,
            web,
            fail2ban,
            registration_networks,
        }
    }

    fn now(&self) -> SystemTime {
        self.ctx.clock.now()
    }

    /// The CAPTCHA store (tests play the human through `CaptchaStore::answer_of`).
    pub fn captchas(&self) -> &CaptchaStore {
        &self.captchas
    }

    /// Whether registration asks for a CAPTCHA.
    pub fn captcha_required(&self) -> bool {
        self.ctx.config.registration.captcha
    }

    /// Whether `address` may register at all (mode and networks; not the rate limits).
    pub fn registration_open_to(&self, address: IpAddr) -> Result<(), AccountError> {
        match self.ctx.config.registration.mode {
            RegistrationMode::Open => Ok(()),
            RegistrationMode::Closed => Err(AccountError::RegistrationClosed),
            RegistrationMode::AllowedNetworks if self.registration_networks.contains(address) => {
                Ok(())
            }
            RegistrationMode::AllowedNetworks => Err(AccountError::NotFromThisNetwork),
        }
    }

    /// A new CAPTCHA for `address`; refused while the address floods.
    pub async fn new_captcha(&self, address: IpAddr) -> Result<Challenge, AccountError> {
        self.registration_open_to(address)?;
        self.captchas
            .issue_async(address, self.now())
            .await
            .map_err(|e| match e {
                CaptchaError::Flooded { retry_after } | CaptchaError::Busy { retry_after } => {
                    AccountError::CaptchaFlooded { retry_after }
                }
                _ => AccountError::CaptchaUnavailable,
            })
    }

    /// Registers an account, checking in order: who may register, the rate limit of the door,
    /// the CAPTCHA, the username and password rules, the per-address account count, then the
    /// name in storage (taken, or tombstoned). Only a registration that succeeds counts
    /// towards the rate limit.
    pub async fn register(&self, req: NewAccount<'_>) -> Result<AccountJid, AccountError> {
        let now = self.now();
        self.registration_open_to(req.address)?;
        self.check_banned(req.address).await?;
        let key = rate_key(req.address);
        match req.channel {
            Channel::InBand => self.per_address.check(&key, now),
            Channel::Web => self.web.check(&(), now),
        }
        .map_err(|RetryAfter(retry_after)| AccountError::RateLimited { retry_after })?;
        if self.captcha_required() {
            let answer = req.captcha.ok_or(AccountError::CaptchaMissing)?;
            self.captchas
                .verify(answer.id, answer.text, now)
                .map_err(|_| AccountError::CaptchaWrong)?;
        }
        let registration = &self.ctx.config.registration;
        let username = policy::check_username(req.username)
            .map_err(|e| AccountError::InvalidUsername(e.to_string()))?;
        if policy::is_reserved(&username, &registration.reserved_names) {
            return Err(AccountError::Reserved);
        }
        policy::check_password(req.password, f64::from(registration.min_password_bits))
            .map_err(|e| AccountError::WeakPassword(e.to_string()))?;
        let account = AccountJid::from_parts(&username, req.domain)
            .map_err(|e| AccountError::InvalidUsername(e.to_string()))?;
        if let Some(max) = self.ctx.config.default_class().max_accounts_per_address {
            let held = self
                .ctx
                .storage
                .accounts_registered_from(req.address)
                .await?;
            if held >= u64::from(max) {
                return Err(AccountError::TooManyAccounts);
            }
        }
        let credentials = self.credentials(req.password).await?;
        match self
            .ctx
            .storage
            .register_account(&account, &credentials, None, Some(req.address), now)
            .await
        {
            Ok(()) => {}
            Err(StorageError::Tombstoned { .. }) => return Err(AccountError::Tombstoned),
            Err(e) => return Err(e.into()),
        }
        self.im.forget_deletion(account.as_bare());
        match req.channel {
            Channel::InBand => self.per_address.record(key, now),
            Channel::Web => self.web.record((), now),
        }
        tracing::info!(%account, address = %req.address, channel = ?req.channel, "account registered");
        Ok(account)
    }

    /// Checks a password for the web pages, counting a wrong one as a failed login of
    /// `address` (the same counter as c2s).
    pub async fn verify_password(
        &self,
        account: &AccountJid,
        password: &str,
        address: IpAddr,
    ) -> Result<(), AccountError> {
        self.check_banned(address).await?;
        // SCRAM records only: the password is checked by deriving the stored key again.
        let record = self
            .ctx
            .storage
            .credentials(account, xmpp_sasl::ScramHash::Sha256)
            .await?;
        let password = password.to_owned();
        // PBKDF2 is CPU work: off the async workers. An unknown account costs the same
        // derivation (against a throwaway record), so timing does not tell which names exist.
        let iterations = self.ctx.config.sasl.iterations;
        let ok = tokio::task::spawn_blocking(move || {
            if let Some(r) = record {
                r.verify_password(&password)
            } else {
                let _ = xmpp_sasl::StoredCredentials::derive(
                    xmpp_sasl::ScramHash::Sha256,
                    &password,
                    b"chatrix-unknown-account",
                    iterations,
                );
                false
            }
        })
        .await
        .unwrap_or(false);
        if ok {
            Ok(())
        } else {
            self.auth_failed(address).await;
            Err(AccountError::WrongCredentials)
        }
    }

    /// Sets a new password (the account is authenticated already: a bound session, or
    /// [`Self::verify_password`] on the web). Sessions stay up; their stream-management
    /// resumption ids stop working.
    pub async fn change_password(
        &self,
        account: &AccountJid,
        password: &str,
    ) -> Result<(), AccountError> {
        policy::check_password(
            password,
            f64::from(self.ctx.config.registration.min_password_bits),
        )
        .map_err(|e| AccountError::WeakPassword(e.to_string()))?;
        let credentials = self.credentials(password).await?;
        self.ctx
            .storage
            .set_credentials(account, &credentials)
            .await?;
        // Resumption ids were handed out under the old password: whoever holds one must
        // log in with the new password instead (XEP-0198 §5 leaves this to the server).
        self.im.resumptions.forget_account(account.as_bare());
        tracing::info!(%account, "password changed");
        Ok(())
    }

    /// Deletes an account: tells its contacts (unavailable, then unsubscribe and
    /// unsubscribed), deletes everything stored for it in one transaction with a tombstone
    /// for the name, and ends its sessions. The one deletion path of the running server.
    pub async fn delete(&self, account: &AccountJid) -> Result<(), AccountError> {
        let until = self.now() + self.ctx.config.registration.tombstone;
        self.im.remove_account(account, until).await?;
        tracing::info!(%account, "account deleted");
        Ok(())
    }

    /// The class of an account (`None`: the default class).
    pub async fn class_of(&self, account: &AccountJid) -> Result<Option<String>, AccountError> {
        Ok(self.ctx.storage.account_class(account).await?)
    }

    /// Counts a failed login from `address`; bans it (and stores the ban) when that was one
    /// too many.
    pub async fn auth_failed(&self, address: IpAddr) {
        let now = self.now();
        if let Some(crate::abuse::Ban { until, .. }) = self.fail2ban.record_failure(address, now) {
            tracing::warn!(%address, "address banned after repeated failed logins");
            let ban = Ban {
                ip: address,
                until,
                reason: "failed logins".to_owned(),
                created_at: now,
            };
            if let Err(e) = self.ctx.storage.put_ban(&ban).await {
                tracing::warn!(error = %e, "could not store a ban; it holds until restart");
            }
        }
    }

    /// How long `address` stays banned, if it is. A ban lifted with `chatrix-server ban
    /// remove` while the server runs is noticed here: a ban held in memory is checked against
    /// the database before it is enforced.
    pub async fn banned(&self, address: IpAddr) -> Option<Duration> {
        let now = self.now();
        let until = self.fail2ban.banned_until(address, now)?;
        match self.ctx.storage.ban(address).await {
            Ok(None) => {
                self.fail2ban.lift(address);
                None
            }
            Ok(Some(stored)) => stored.until.duration_since(now).ok(),
            // The database is down: the ban in memory stands.
            Err(_) => until.duration_since(now).ok(),
        }
    }

    async fn check_banned(&self, address: IpAddr) -> Result<(), AccountError> {
        match self.banned(address).await {
            Some(retry_after) => Err(AccountError::Banned { retry_after }),
            None => Ok(()),
        }
    }

    /// At start: forgets expired bans and tombstones (they no longer refuse anything; this
    /// keeps their tables from growing), then loads the bans in force.
    pub async fn start(&self) -> Result<(), StorageError> {
        let now = self.now();
        self.ctx.storage.purge_bans(now).await?;
        self.ctx.storage.purge_tombstones(now).await?;
        for ban in self.ctx.storage.bans(now).await? {
            self.fail2ban.restore(ban.ip, ban.until);
        }
        Ok(())
    }

    async fn credentials(
        &self,
        password: &str,
    ) -> Result<Vec<xmpp_sasl::StoredCredentials>, AccountError> {
        let password = password.to_owned();
        let iterations = self.ctx.config.sasl.iterations;
        // PBKDF2 at thousands of iterations is CPU work: off the async workers.
        tokio::task::spawn_blocking(move || {
            xmpp_sasl::StoredCredentials::generate_all(
                &password,
                iterations,
                &mut xmpp_sasl::SystemRng::new(),
            )
        })
        .await
        .map_err(|_| AccountError::WeakPassword("the password could not be processed".into()))?
        .map_err(|e| AccountError::WeakPassword(e.to_string()))
    }
}

/// Networks from the configuration, which checked them already.
fn checked_networks(list: &[String]) -> Networks {
    Networks::parse(list.iter().map(String::as_str)).unwrap_or_default()
}
