//! Outstanding CAPTCHA challenges, single use, with a limit on how fast one address may ask.
//!
//! # Limits
//!
//! - Each challenge lives `ttl` and is consumed by its first [`CaptchaStore::verify`], right or
//!   wrong, so an answer cannot be guessed by retrying: each guess costs a new image.
//! - At most `max_outstanding` challenges exist at once. When they all do, new requests are
//!   refused ([`CaptchaError::Busy`]) until the oldest expires, rather than evicting it: evicting
//!   would let a flood cancel the challenges people are solving, and make the flood's CPU cost
//!   unbounded.
//! - Flood protection: an address that asks for more than `max_per_ip` challenges within
//!   `window` gets none for `block` ([`CaptchaError::Flooded`]), after which it starts afresh.
//!   IPv6 addresses count per /64 ([`crate::abuse::rate_key`]), IPv4-mapped ones as IPv4. At
//!   most `max_addresses` addresses are tracked; when the table is full of live entries, new
//!   addresses are refused too (fail closed, like the registration limits: CAPTCHAs only serve
//!   registration, and a flood from many addresses must not buy unbounded image generation).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use ring::rand::{SecureRandom, SystemRandom};

use super::image::ImageCaptcha;
use super::{CaptchaGenerator, Generated};
use crate::abuse::rate::Wait;
use crate::abuse::rate_key;
use crate::clock::{elapsed, remaining};

/// Bytes of randomness in a challenge id (128 bits: unguessable).
const ID_LEN: usize = 16;

/// The least time between two sweeps of the flood table triggered by a full table.
const MIN_CAP_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// How fast one address may ask for challenges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodSettings {
    /// Challenges one address may ask for within `window` (zero counts as one).
    pub max_per_ip: u32,
    /// The counting window, starting at an address's first request.
    pub window: Duration,
    /// How long an address that asked for too many gets none.
    pub block: Duration,
    /// The most addresses tracked at once (at least one).
    pub max_addresses: usize,
}

impl Default for FloodSettings {
    /// 10 a minute; then a minute's block; 100 000 addresses.
    fn default() -> Self {
        Self {
            max_per_ip: 10,
            window: Duration::from_secs(60),
            block: Duration::from_secs(60),
            max_addresses: 100_000,
        }
    }
}

/// How a [`CaptchaStore`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptchaSettings {
    /// How long a challenge can be answered.
    pub ttl: Duration,
    /// The most challenges outstanding at once (at least one).
    pub max_outstanding: usize,
    /// Per-address flood protection.
    pub flood: FloodSettings,
}

impl Default for CaptchaSettings {
    /// Five minutes to answer, 10 000 outstanding, the default flood limits.
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            max_outstanding: 10_000,
            flood: FloodSettings::default(),
        }
    }
}

/// A challenge for the client: the image to show and the id to send back with the answer. The
/// answer stays in the store.
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    /// 32 lowercase hexadecimal digits (128 random bits).
    pub id: String,
    /// The image, PNG-encoded.
    pub png: Bytes,
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("id", &self.id)
            .field("png_len", &self.png.len())
            .finish()
    }
}

/// Why a challenge was not issued or not passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaptchaError {
    /// This address asked for too many challenges; none for it until the block ends.
    #[error("too many CAPTCHA requests from this address: try again in {}", Wait(*retry_after))]
    Flooded {
        /// Time left until the address may ask again.
        retry_after: Duration,
    },
    /// Too many challenges are outstanding server-wide.
    #[error("too many CAPTCHAs are outstanding: try again in {}", Wait(*retry_after))]
    Busy {
        /// Time until the oldest outstanding challenge expires.
        retry_after: Duration,
    },
    /// The image (or the id's randomness) could not be generated.
    #[error("the CAPTCHA could not be generated")]
    Generation,
    /// No such challenge: never issued, already used, or expired and forgotten.
    #[error("unknown or already used CAPTCHA")]
    Unknown,
    /// The challenge's time ran out (it is now consumed).
    #[error("the CAPTCHA has expired")]
    Expired,
    /// The answer was wrong (the challenge is now consumed).
    #[error("wrong CAPTCHA answer")]
    Wrong,
}

/// Outstanding CAPTCHA challenges; see the module documentation. Thread-safe: share it in an
/// `Arc`. Each call holds an internal lock briefly; image generation runs outside it.
#[derive(Debug)]
pub struct CaptchaStore {
    settings: CaptchaSettings,
    generator: Arc<dyn CaptchaGenerator>,
    rng: SystemRandom,
    state: Mutex<State>,
}

type Id = [u8; ID_LEN];

#[derive(Debug, Default)]
struct State {
    pending: HashMap<Id, Pending>,
    /// The same challenges ordered by expiry, to prune the expired ones from the front.
    by_expiry: BTreeSet<(SystemTime, Id)>,
    flood: HashMap<IpAddr, Flood>,
    flood_next_sweep: Option<SystemTime>,
    flood_last_cap_sweep: Option<SystemTime>,
}

#[derive(Debug)]
struct Pending {
    /// Normalised ([`normalise`]).
    answer: String,
    expires: SystemTime,
}

#[derive(Debug, Clone, Copy)]
struct Flood {
    window_start: SystemTime,
    count: u32,
    blocked_until: Option<SystemTime>,
}

impl Flood {
    fn is_live(&self, s: &FloodSettings, now: SystemTime) -> bool {
        match self.blocked_until {
            Some(until) => now < until,
            None => elapsed(self.window_start, now) < s.window,
        }
    }
}

impl CaptchaStore {
    /// A store making images with [`ImageCaptcha::default`].
    pub fn new(settings: CaptchaSettings) -> Self {
        Self::with_generator(settings, Arc::new(ImageCaptcha::default()))
    }

    /// A store making images with `generator`.
    pub fn with_generator(settings: CaptchaSettings, generator: Arc<dyn CaptchaGenerator>) -> Self {
        let settings = CaptchaSettings {
            max_outstanding: settings.max_outstanding.max(1),
            flood: FloodSettings {
                max_per_ip: settings.flood.max_per_ip.max(1),
                max_addresses: settings.flood.max_addresses.max(1),
                ..settings.flood
            },
            ..settings
        };
        Self {
            settings,
            generator,
            rng: SystemRandom::new(),
            state: Mutex::new(State::default()),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &CaptchaSettings {
        &self.settings
    }

    /// A new challenge for a client at `ip`, unless `ip` is flooding or too many are
    /// outstanding. Every request counts toward the flood limit, refused ones included.
    ///
    /// Generates an image on the calling thread: from async code use
    /// [`issue_async`](Self::issue_async), or call this under `spawn_blocking`.
    pub fn issue(&self, ip: IpAddr, now: SystemTime) -> Result<Challenge, CaptchaError> {
        self.admit(ip, now)?;
        let generated = self
            .generator
            .generate()
            .map_err(|_| CaptchaError::Generation)?;
        self.keep(generated, now)
    }

    /// [`issue`](Self::issue) for async code: the image is drawn on tokio's blocking pool, so
    /// the async workers are not held up. Needs a tokio runtime.
    pub async fn issue_async(
        &self,
        ip: IpAddr,
        now: SystemTime,
    ) -> Result<Challenge, CaptchaError> {
        self.admit(ip, now)?;
        let generator = Arc::clone(&self.generator);
        let generated = tokio::task::spawn_blocking(move || generator.generate())
            .await
            .map_err(|_| CaptchaError::Generation)?
            .map_err(|_| CaptchaError::Generation)?;
        self.keep(generated, now)
    }

    /// The checks before an image is drawn: the address's flood limit, then the room left.
    fn admit(&self, ip: IpAddr, now: SystemTime) -> Result<(), CaptchaError> {
        let mut state = self.lock();
        state.admit_address(&self.settings.flood, rate_key(ip), now)?;
        state.prune_expired(now);
        state.room(&self.settings, now)
    }

    /// Stores a drawn challenge under a fresh id.
    fn keep(&self, generated: Generated, now: SystemTime) -> Result<Challenge, CaptchaError> {
        let mut id: Id = [0; ID_LEN];
        self.rng
            .fill(&mut id)
            .map_err(|_| CaptchaError::Generation)?;
        let expires = now + self.settings.ttl;
        let mut state = self.lock();
        // Others may have filled the store while this image was drawn.
        state.prune_expired(now);
        state.room(&self.settings, now)?;
        state.pending.insert(
            id,
            Pending {
                answer: normalise(&generated.answer),
                expires,
            },
        );
        state.by_expiry.insert((expires, id));
        Ok(Challenge {
            id: hex(&id),
            png: Bytes::from(generated.png),
        })
    }

    /// Checks `answer` for challenge `id` and consumes the challenge, whatever the outcome.
    /// Case and white space in the answer do not matter.
    pub fn verify(&self, id: &str, answer: &str, now: SystemTime) -> Result<(), CaptchaError> {
        let id = parse_id(id).ok_or(CaptchaError::Unknown)?;
        let mut state = self.lock();
        let pending = state.pending.remove(&id);
        if let Some(pending) = &pending {
            state.by_expiry.remove(&(pending.expires, id));
        }
        state.prune_expired(now);
        drop(state);
        let pending = pending.ok_or(CaptchaError::Unknown)?;
        if now >= pending.expires {
            return Err(CaptchaError::Expired);
        }
        // Plain comparison: timing reveals nothing once the challenge is gone.
        if normalise(answer) == pending.answer {
            Ok(())
        } else {
            Err(CaptchaError::Wrong)
        }
    }

    /// **For tests only**: the answer to challenge `id`, without consuming it, for integration
    /// tests (a headless browser among them) that play a person reading the image. Production
    /// code must never call it: it would make the CAPTCHA pointless.
    #[doc(hidden)]
    pub fn answer_of(&self, id: &str) -> Option<String> {
        let id = parse_id(id)?;
        self.lock().pending.get(&id).map(|p| p.answer.clone())
    }

    /// The number of challenges outstanding (including expired ones not yet pruned).
    pub fn outstanding(&self) -> usize {
        self.lock().pending.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn prune_expired(&mut self, now: SystemTime) {
        while let Some(&(expires, id)) = self.by_expiry.first() {
            if now < expires {
                break;
            }
            self.by_expiry.pop_first();
            self.pending.remove(&id);
        }
    }

    fn room(&self, s: &CaptchaSettings, now: SystemTime) -> Result<(), CaptchaError> {
        if self.pending.len() < s.max_outstanding {
            return Ok(());
        }
        let oldest = self.by_expiry.first().map_or(now, |&(expires, _)| expires);
        Err(CaptchaError::Busy {
            retry_after: remaining(now, oldest).max(Duration::from_secs(1)),
        })
    }

    /// Counts a request from `key`, refusing it if the address is (or now becomes) blocked.
    fn admit_address(
        &mut self,
        s: &FloodSettings,
        key: IpAddr,
        now: SystemTime,
    ) -> Result<(), CaptchaError> {
        if self.flood_next_sweep.is_none_or(|t| now >= t) {
            self.flood.retain(|_, f| f.is_live(s, now));
            self.flood_next_sweep = Some(now + s.window);
        }
        if !self.flood.contains_key(&key) && !self.flood_room(s, now) {
            // The table is full: a conservative wait, by when every live entry has gone.
            return Err(CaptchaError::Flooded {
                retry_after: s.window.max(s.block),
            });
        }
        let fresh = Flood {
            window_start: now,
            count: 0,
            blocked_until: None,
        };
        let entry = self.flood.entry(key).or_insert(fresh);
        if let Some(until) = entry.blocked_until
            && now < until
        {
            return Err(CaptchaError::Flooded {
                retry_after: remaining(now, until),
            });
        }
        if !entry.is_live(s, now) {
            *entry = fresh;
        }
        entry.count += 1;
        if entry.count > s.max_per_ip {
            entry.blocked_until = Some(now + s.block);
            return Err(CaptchaError::Flooded {
                retry_after: s.block,
            });
        }
        Ok(())
    }

    fn flood_room(&mut self, s: &FloodSettings, now: SystemTime) -> bool {
        if self.flood.len() < s.max_addresses {
            return true;
        }
        if self
            .flood_last_cap_sweep
            .is_none_or(|t| elapsed(t, now) >= MIN_CAP_SWEEP_INTERVAL)
        {
            self.flood_last_cap_sweep = Some(now);
            self.flood.retain(|_, f| f.is_live(s, now));
        }
        self.flood.len() < s.max_addresses
    }
}

/// The form answers are compared in: no white space, capitals.
fn normalise(answer: &str) -> String {
    answer
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

fn hex(id: &Id) -> String {
    use fmt::Write;
    id.iter()
        .fold(String::with_capacity(2 * ID_LEN), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn parse_id(text: &str) -> Option<Id> {
    let text = text.as_bytes();
    if text.len() != 2 * ID_LEN {
        return None;
    }
    let mut id: Id = [0; ID_LEN];
    for (byte, pair) in id.iter_mut().zip(text.chunks_exact(2)) {
        // Digits only: `from_str_radix` alone would also take a sign ("+f").
        let [hi, lo] = [pair[0], pair[1]].map(|d| char::from(d).to_digit(16));
        *byte = u8::try_from(hi? * 16 + lo?).ok()?;
    }
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::captcha::GenerateError;
    use crate::clock::ManualClock;
    use std::sync::atomic::{AtomicU32, Ordering};

    const SEC: Duration = Duration::from_secs(1);
    const MIN: Duration = Duration::from_secs(60);

    /// Answers "ab12", "ab13", ... and a one-byte "image".
    #[derive(Debug, Default)]
    struct Counting(AtomicU32);

    impl CaptchaGenerator for Counting {
        fn generate(&self) -> Result<Generated, GenerateError> {
            let n = self.0.fetch_add(1, Ordering::Relaxed);
            Ok(Generated {
                answer: format!("ab{}", 12 + n),
                png: vec![0x89],
            })
        }
    }

    #[derive(Debug)]
    struct Broken;

    impl CaptchaGenerator for Broken {
        fn generate(&self) -> Result<Generated, GenerateError> {
            Err(GenerateError)
        }
    }

    fn t0() -> SystemTime {
        ManualClock::start()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn store(settings: CaptchaSettings) -> CaptchaStore {
        CaptchaStore::with_generator(settings, Arc::new(Counting::default()))
    }

    #[test]
    fn right_answer_passes_once_case_and_spaces_ignored() {
        let store = store(CaptchaSettings::default());
        let c = store
            .issue(ip("192.0.2.1"), t0())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.id.len(), 32);
        assert!(
            c.id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(c.png.as_ref(), [0x89]);
        assert_eq!(store.answer_of(&c.id).as_deref(), Some("AB12"));
        assert_eq!(store.verify(&c.id, " a B 1 2\n", t0() + MIN), Ok(()));
        // Single use.
        assert_eq!(
            store.verify(&c.id, "AB12", t0() + MIN),
            Err(CaptchaError::Unknown)
        );
        assert_eq!(store.answer_of(&c.id), None);
        assert_eq!(store.outstanding(), 0);
    }

    #[test]
    fn a_wrong_answer_consumes_the_challenge() {
        let store = store(CaptchaSettings::default());
        let c = store
            .issue(ip("192.0.2.1"), t0())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.verify(&c.id, "AB13", t0()), Err(CaptchaError::Wrong));
        assert_eq!(
            store.verify(&c.id, "AB12", t0()),
            Err(CaptchaError::Unknown)
        );
    }

    #[test]
    fn challenges_expire() {
        let store = store(CaptchaSettings::default());
        let a = store
            .issue(ip("192.0.2.1"), t0())
            .unwrap_or_else(|e| panic!("{e}"));
        let b = store
            .issue(ip("192.0.2.1"), t0())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a.id, b.id);
        let ttl = CaptchaSettings::default().ttl;
        // Verified at the instant it expires: it is still held, so the caller learns why.
        assert_eq!(
            store.verify(&a.id, "AB12", t0() + ttl),
            Err(CaptchaError::Expired)
        );
        // That call pruned the other expired one: it is simply gone.
        assert_eq!(store.outstanding(), 0);
        assert_eq!(
            store.verify(&b.id, "AB13", t0() + ttl),
            Err(CaptchaError::Unknown)
        );
        let c = store
            .issue(ip("192.0.2.1"), t0() + ttl)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.verify(&c.id, "ab14", t0() + ttl + ttl - SEC), Ok(()));
    }

    #[test]
    fn malformed_ids_are_unknown() {
        let store = store(CaptchaSettings::default());
        let c = store
            .issue(ip("192.0.2.1"), t0())
            .unwrap_or_else(|e| panic!("{e}"));
        for bad in [
            "",
            "zz",
            &format!("+{}", &c.id[1..]),
            &c.id[..31],
            &format!("{}0", c.id),
            &"é".repeat(16),
            &c.id.replace(|_: char| true, "g"),
        ] {
            assert_eq!(
                store.verify(bad, "AB12", t0()),
                Err(CaptchaError::Unknown),
                "{bad}"
            );
        }
        // Ids are hexadecimal either way up.
        assert_eq!(store.verify(&c.id.to_uppercase(), "AB12", t0()), Ok(()));
    }

    #[test]
    fn flooding_blocks_the_address_then_releases_it() {
        let flood = FloodSettings {
            max_per_ip: 3,
            window: MIN,
            block: MIN,
            ..FloodSettings::default()
        };
        let store = store(CaptchaSettings {
            flood,
            ..CaptchaSettings::default()
        });
        let a = ip("192.0.2.1");
        for s in 0..3 {
            store
                .issue(a, t0() + s * SEC)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let fourth = t0() + 10 * SEC;
        assert_eq!(
            store.issue(a, fourth),
            Err(CaptchaError::Flooded { retry_after: MIN })
        );
        // Other addresses are unaffected.
        store
            .issue(ip("192.0.2.2"), fourth)
            .unwrap_or_else(|e| panic!("{e}"));
        // Asking during the block does not lengthen it.
        assert_eq!(
            store.issue(a, fourth + 45 * SEC),
            Err(CaptchaError::Flooded {
                retry_after: 15 * SEC
            })
        );
        // Released after the block, with a fresh allowance.
        for _ in 0..3 {
            store
                .issue(a, fourth + MIN)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(store.issue(a, fourth + MIN).is_err());
    }

    #[test]
    fn the_flood_window_restarts() {
        let store = store(CaptchaSettings {
            flood: FloodSettings {
                max_per_ip: 2,
                ..FloodSettings::default()
            },
            ..CaptchaSettings::default()
        });
        let a = ip("192.0.2.1");
        store.issue(a, t0()).unwrap_or_else(|e| panic!("{e}"));
        store
            .issue(a, t0() + 30 * SEC)
            .unwrap_or_else(|e| panic!("{e}"));
        // A minute after the first request the count starts over.
        store.issue(a, t0() + MIN).unwrap_or_else(|e| panic!("{e}"));
        store.issue(a, t0() + MIN).unwrap_or_else(|e| panic!("{e}"));
        assert!(store.issue(a, t0() + MIN).is_err());
    }

    #[test]
    fn ipv6_floods_count_per_64_and_mapped_ipv4_as_ipv4() {
        let store = store(CaptchaSettings {
            flood: FloodSettings {
                max_per_ip: 2,
                ..FloodSettings::default()
            },
            ..CaptchaSettings::default()
        });
        store
            .issue(ip("2001:db8:0:1::1"), t0())
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .issue(ip("2001:db8:0:1::2"), t0())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(store.issue(ip("2001:db8:0:1:ffff::3"), t0()).is_err());
        store
            .issue(ip("2001:db8:0:2::1"), t0())
            .unwrap_or_else(|e| panic!("{e}"));

        store
            .issue(ip("192.0.2.1"), t0())
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .issue(ip("::ffff:192.0.2.1"), t0())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(store.issue(ip("192.0.2.1"), t0()).is_err());
    }

    #[test]
    fn outstanding_cap_refuses_until_the_oldest_expires() {
        let store = store(CaptchaSettings {
            max_outstanding: 2,
            ..CaptchaSettings::default()
        });
        let a = store
            .issue(ip("192.0.2.1"), t0())
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .issue(ip("192.0.2.2"), t0() + MIN)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            store.issue(ip("192.0.2.3"), t0() + 2 * MIN),
            Err(CaptchaError::Busy {
                retry_after: 3 * MIN
            })
        );
        // Answering one frees its place at once.
        store
            .verify(&a.id, "AB12", t0() + 2 * MIN)
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .issue(ip("192.0.2.3"), t0() + 2 * MIN)
            .unwrap_or_else(|e| panic!("{e}"));
        // And expiry frees the rest.
        store
            .issue(ip("192.0.2.4"), t0() + 6 * MIN)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.outstanding(), 2);
    }

    #[test]
    fn full_flood_table_refuses_new_addresses() {
        let store = store(CaptchaSettings {
            flood: FloodSettings {
                max_addresses: 2,
                ..FloodSettings::default()
            },
            ..CaptchaSettings::default()
        });
        store
            .issue(ip("192.0.2.1"), t0())
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .issue(ip("192.0.2.2"), t0())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            store.issue(ip("192.0.2.3"), t0() + SEC),
            Err(CaptchaError::Flooded { retry_after: MIN })
        );
        // Known addresses still get theirs; a newcomer once the window has passed.
        store
            .issue(ip("192.0.2.1"), t0() + SEC)
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .issue(ip("192.0.2.3"), t0() + MIN + SEC)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn generator_failure_is_reported() {
        let store = CaptchaStore::with_generator(CaptchaSettings::default(), Arc::new(Broken));
        assert_eq!(
            store.issue(ip("192.0.2.1"), t0()),
            Err(CaptchaError::Generation)
        );
        assert_eq!(store.outstanding(), 0);
    }

    #[test]
    fn the_real_generator_round_trips() {
        let store = CaptchaStore::new(CaptchaSettings::default());
        let c = store
            .issue(ip("192.0.2.1"), t0())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.png[..4], [0x89, b'P', b'N', b'G']);
        let answer = store.answer_of(&c.id).expect("the challenge is pending");
        assert_eq!(answer.len(), ImageCaptcha::DEFAULT_LENGTH as usize);
        assert_eq!(
            store.verify(&c.id, &answer.to_lowercase(), t0() + MIN),
            Ok(())
        );
    }

    #[tokio::test]
    async fn issue_async_draws_off_the_async_workers() {
        let store = CaptchaStore::new(CaptchaSettings::default());
        let c = store
            .issue_async(ip("192.0.2.1"), t0())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.png[..4], [0x89, b'P', b'N', b'G']);
        let answer = store.answer_of(&c.id).expect("the challenge is pending");
        assert_eq!(store.verify(&c.id, &answer, t0()), Ok(()));
        let broken = CaptchaStore::with_generator(CaptchaSettings::default(), Arc::new(Broken));
        assert_eq!(
            broken.issue_async(ip("192.0.2.1"), t0()).await,
            Err(CaptchaError::Generation)
        );
    }

    #[test]
    fn errors_say_how_long_to_wait() {
        assert_eq!(
            CaptchaError::Flooded {
                retry_after: 45 * SEC
            }
            .to_string(),
            "too many CAPTCHA requests from this address: try again in 45 seconds"
        );
        assert_eq!(
            CaptchaError::Busy {
                retry_after: 3 * MIN
            }
            .to_string(),
            "too many CAPTCHAs are outstanding: try again in 3 minutes"
        );
    }

    #[test]
    fn hex_ids_round_trip() {
        let id: Id =
            core::array::from_fn(|i| u8::try_from(i * 17).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(parse_id(&hex(&id)), Some(id));
    }

    #[test]
    fn store_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CaptchaStore>();
    }
}
