//! "At most N events per key per window", with the time to wait when the limit is reached.
//!
//! A sliding log: each key keeps the times of its last `max_events` events, and a new event is
//! admitted when fewer than `max_events` of them lie within the last `window`. When it is not,
//! the answer says exactly when it will be ([`RetryAfter`]), so a client can be told "try again
//! in 42 minutes" rather than "later".
//!
//! Two ways to count:
//! - check, then commit: [`RateLimiter::check`] asks without consuming and
//!   [`RateLimiter::record`] consumes. A registration only counts once it has succeeded, so a
//!   user who picked a taken name can try another at once. Two attempts racing from one key can
//!   both pass the check; the limit is then exceeded by those few, which is acceptable where
//!   each attempt is itself expensive for the client (a CAPTCHA, a form).
//! - [`RateLimiter::try_acquire`] checks and consumes atomically, for limits on attempts.
//!
//! # Memory
//!
//! Memory is bounded by `max_keys` keys of at most `max_events` times each. Keys whose events
//! have all left the window are pruned lazily: a full sweep at most once per window during
//! ordinary calls, and on demand when the table is full.
//!
//! # At the cap: new keys are refused, not evicted
//!
//! When the table holds `max_keys` keys that are all still within their window, an event for a
//! key not in the table is refused, with a [`RetryAfter`] until the earliest key leaves.
//! Evicting an old key instead would keep the service open for newcomers, but it hands the
//! limiter to whoever controls more addresses than `max_keys`: each of their addresses, once
//! evicted by the others, starts again with a fresh allowance, so the limit on a flood from many
//! addresses (exactly the attack a free public server sees: a botnet registering spam accounts)
//! disappears. Refusing keeps the promise the limiter exists for, at most
//! `max_events × max_keys` events per window, at the price of turning newcomers away until the
//! flood's entries age out. Keys already in the table are never affected by the cap. Size the
//! cap well above the number of distinct legitimate keys expected per window.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use crate::clock::{elapsed, remaining};

/// The least time between two sweeps triggered by a full table, so that a flood of new keys
/// against a full table costs one sweep per second, not one per request.
const MIN_CAP_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// The limit a [`RateLimiter`] enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Events admitted per key within any `window`. Zero admits nothing.
    pub max_events: u32,
    /// The length of the sliding window.
    pub window: Duration,
    /// The most keys tracked at once (at least one is always allowed); see the module
    /// documentation for what happens at the cap.
    pub max_keys: usize,
}

impl RateLimitSettings {
    /// `max_events` per `window`, tracking at most 100 000 keys.
    pub fn new(max_events: u32, window: Duration) -> Self {
        Self {
            max_events,
            window,
            max_keys: 100_000,
        }
    }
}

/// A refusal: the event would exceed the limit; one will be admitted after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limit reached: try again in {}", Wait(self.0))]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// The wait in whole seconds, rounded up (for a `Retry-After` header).
    pub fn secs_ceil(&self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }

    /// The wait in whole minutes, rounded up (for "try again in 42 minutes").
    pub fn minutes_ceil(&self) -> u64 {
        self.secs_ceil().div_ceil(60)
    }
}

/// "6 hours", "42 minutes", "1 minute", "30 seconds": the wait as a person would say it,
/// rounded up (so "try again in" is never too early). Hours from an hour and a half on.
pub(crate) struct Wait(pub(crate) Duration);

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = RetryAfter(self.0).secs_ceil();
        let (n, unit) = if secs < 60 {
            (secs, "second")
        } else if secs < 5400 {
            (secs.div_ceil(60), "minute")
        } else {
            (secs.div_ceil(3600), "hour")
        };
        write!(f, "{n} {unit}{}", if n == 1 { "" } else { "s" })
    }
}

/// A keyed rate limiter; see the module documentation.
///
/// Keys are anything hashable: an IP address (see [`super::rate_key`] for IPv6), a user name,
/// or `()` for a single global limit. Thread-safe; each call holds an internal lock briefly and
/// never blocks on anything else.
#[derive(Debug)]
pub struct RateLimiter<K> {
    settings: RateLimitSettings,
    state: Mutex<State<K>>,
}

#[derive(Debug)]
struct State<K> {
    /// Per key, the times of its most recent events, oldest first, at most `max_events`.
    events: HashMap<K, VecDeque<SystemTime>>,
    /// When the next routine sweep of stale keys is due.
    next_sweep: Option<SystemTime>,
    /// When the last sweep forced by a full table ran.
    last_cap_sweep: Option<SystemTime>,
    /// After the last sweep: when the earliest remaining key leaves its window.
    reclaim_at: Option<SystemTime>,
}

impl<K: Eq + Hash> RateLimiter<K> {
    /// An empty limiter.
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            settings: RateLimitSettings {
                max_keys: settings.max_keys.max(1),
                ..settings
            },
            state: Mutex::new(State {
                events: HashMap::new(),
                next_sweep: None,
                last_cap_sweep: None,
                reclaim_at: None,
            }),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &RateLimitSettings {
        &self.settings
    }

    /// Whether an event for `key` would be admitted now, without counting one.
    pub fn check(&self, key: &K, now: SystemTime) -> Result<(), RetryAfter> {
        let mut state = self.lock();
        state.routine_sweep(&self.settings, now);
        state.verdict(&self.settings, key, now)
    }

    /// Counts an event for `key` (one that happened, typically after [`check`](Self::check)
    /// admitted it), whether or not the limit allowed it.
    ///
    /// If `key` is new and the table is full (see the module documentation), the event cannot
    /// be stored and is not counted; `check` refuses new keys in that state, so this only
    /// happens when the table filled between the check and the record.
    pub fn record(&self, key: K, now: SystemTime) {
        let mut state = self.lock();
        state.routine_sweep(&self.settings, now);
        state.push(&self.settings, key, now);
    }

    /// Admits and counts an event for `key` if the limit allows it, atomically.
    pub fn try_acquire(&self, key: K, now: SystemTime) -> Result<(), RetryAfter> {
        let mut state = self.lock();
        state.routine_sweep(&self.settings, now);
        state.verdict(&self.settings, &key, now)?;
        state.push(&self.settings, key, now);
        Ok(())
    }

    /// The number of keys currently tracked (including ones not yet pruned).
    pub fn tracked_keys(&self) -> usize {
        self.lock().events.len()
    }

    fn lock(&self) -> MutexGuard<'_, State<K>> {
        // The state is consistent after every statement that can panic, so a poisoned lock
        // (a panic elsewhere while holding it) leaves usable data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Eq + Hash> State<K> {
    fn verdict(
        &mut self,
        s: &RateLimitSettings,
        key: &K,
        now: SystemTime,
    ) -> Result<(), RetryAfter> {
        if s.max_events == 0 {
            return Err(RetryAfter(s.window));
        }
        match self.events.get_mut(key) {
            Some(times) => {
                prune(times, s.window, now);
                match times.front() {
                    Some(&oldest) if times.len() >= s.max_events as usize => {
                        Err(RetryAfter(remaining(now, oldest + s.window)))
                    }
                    _ => Ok(()),
                }
            }
            None => self.room_for_new_key(s, now),
        }
    }

    fn push(&mut self, s: &RateLimitSettings, key: K, now: SystemTime) {
        if s.max_events == 0 {
            return;
        }
        if !self.events.contains_key(&key) && self.room_for_new_key(s, now).is_err() {
            return;
        }
        let times = self.events.entry(key).or_default();
        prune(times, s.window, now);
        times.push_back(now);
        // Only the newest `max_events` matter: the oldest of them says when the next event fits.
        while times.len() > s.max_events as usize {
            times.pop_front();
        }
    }

    fn room_for_new_key(
        &mut self,
        s: &RateLimitSettings,
        now: SystemTime,
    ) -> Result<(), RetryAfter> {
        if self.events.len() < s.max_keys {
            return Ok(());
        }
        let sweep_allowed_at = self.last_cap_sweep.map(|t| t + MIN_CAP_SWEEP_INTERVAL);
        if sweep_allowed_at.is_none_or(|t| now >= t) {
            self.last_cap_sweep = Some(now);
            self.sweep(s.window, now);
            if self.events.len() < s.max_keys {
                return Ok(());
            }
        }
        let reclaim = self.reclaim_at.map_or(s.window, |t| remaining(now, t));
        let next_sweep = sweep_allowed_at.map_or(MIN_CAP_SWEEP_INTERVAL, |t| remaining(now, t));
        let wait = reclaim.max(next_sweep);
        // Never "retry after zero": a caller looping on it would spin.
        Err(RetryAfter(if wait.is_zero() {
            MIN_CAP_SWEEP_INTERVAL
        } else {
            wait
        }))
    }

    fn routine_sweep(&mut self, s: &RateLimitSettings, now: SystemTime) {
        if self.next_sweep.is_none_or(|t| now >= t) {
            self.sweep(s.window, now);
            self.next_sweep = Some(now + s.window);
        }
    }

    /// Drops every key with no event left in the window and notes when the next one will go.
    fn sweep(&mut self, window: Duration, now: SystemTime) {
        let mut reclaim_at: Option<SystemTime> = None;
        self.events.retain(|_, times| {
            prune(times, window, now);
            let Some(&newest) = times.back() else {
                return false;
            };
            let leaves = newest + window;
            reclaim_at = Some(reclaim_at.map_or(leaves, |t| t.min(leaves)));
            true
        });
        self.reclaim_at = reclaim_at;
    }
}

fn prune(times: &mut VecDeque<SystemTime>, window: Duration, now: SystemTime) {
    while times.front().is_some_and(|&t| elapsed(t, now) >= window) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::net::IpAddr;

    const HOUR: Duration = Duration::from_secs(3600);
    const MIN: Duration = Duration::from_secs(60);

    fn t0() -> SystemTime {
        ManualClock::start()
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, n])
    }

    #[test]
    fn one_per_hour_with_exact_retry_after() {
        let limiter = RateLimiter::new(RateLimitSettings::new(1, HOUR));
        assert_eq!(limiter.check(&ip(1), t0()), Ok(()));
        limiter.record(ip(1), t0());
        let later = t0() + 18 * MIN;
        assert_eq!(limiter.check(&ip(1), later), Err(RetryAfter(42 * MIN)));
        // Another address is unaffected.
        assert_eq!(limiter.check(&ip(2), later), Ok(()));
        // Exactly one window after the event, it is admitted again.
        assert_eq!(
            limiter.check(&ip(1), t0() + HOUR - Duration::from_secs(1)),
            Err(RetryAfter(Duration::from_secs(1)))
        );
        assert_eq!(limiter.check(&ip(1), t0() + HOUR), Ok(()));
    }

    #[test]
    fn check_does_not_consume() {
        let limiter = RateLimiter::new(RateLimitSettings::new(1, HOUR));
        for _ in 0..5 {
            assert_eq!(limiter.check(&(), t0()), Ok(()));
        }
        limiter.record((), t0());
        assert!(limiter.check(&(), t0()).is_err());
    }

    #[test]
    fn sliding_window_counts_the_last_n_events() {
        let limiter = RateLimiter::new(RateLimitSettings::new(3, 10 * MIN));
        let times = [t0(), t0() + 2 * MIN, t0() + 5 * MIN];
        for t in times {
            assert_eq!(limiter.try_acquire("k", t), Ok(()));
        }
        // Full until the first event leaves, at 10 minutes.
        assert_eq!(
            limiter.try_acquire("k", t0() + 6 * MIN),
            Err(RetryAfter(4 * MIN))
        );
        assert_eq!(limiter.try_acquire("k", t0() + 10 * MIN), Ok(()));
        // Now events at 2, 5 and 10 minutes: the next slot opens at 12.
        assert_eq!(limiter.check(&"k", t0() + 11 * MIN), Err(RetryAfter(MIN)));
        assert_eq!(limiter.check(&"k", t0() + 12 * MIN), Ok(()));
    }

    #[test]
    fn records_beyond_the_limit_still_push_the_retry_time() {
        let limiter = RateLimiter::new(RateLimitSettings::new(2, 10 * MIN));
        for m in 0..5 {
            limiter.record(
                (),
                t0() + u32::try_from(m).unwrap_or_else(|e| panic!("{e}")) * MIN,
            );
        }
        // The newest two events (3 and 4 minutes) decide: free again at 13 minutes.
        assert_eq!(limiter.check(&(), t0() + 5 * MIN), Err(RetryAfter(8 * MIN)));
        assert_eq!(limiter.check(&(), t0() + 13 * MIN), Ok(()));
    }

    #[test]
    fn zero_events_admits_nothing() {
        let limiter = RateLimiter::new(RateLimitSettings::new(0, HOUR));
        assert_eq!(limiter.try_acquire((), t0()), Err(RetryAfter(HOUR)));
        limiter.record((), t0());
        assert_eq!(limiter.tracked_keys(), 0);
    }

    #[test]
    fn full_table_refuses_new_keys_until_one_ages_out() {
        let settings = RateLimitSettings {
            max_events: 1,
            window: HOUR,
            max_keys: 3,
        };
        let limiter = RateLimiter::new(settings);
        limiter.record(ip(1), t0());
        limiter.record(ip(2), t0() + 10 * MIN);
        limiter.record(ip(3), t0() + 20 * MIN);
        let now = t0() + 30 * MIN;
        // A new key is refused until the first key's window ends (at one hour).
        assert_eq!(limiter.check(&ip(4), now), Err(RetryAfter(30 * MIN)));
        assert_eq!(limiter.try_acquire(ip(4), now), Err(RetryAfter(30 * MIN)));
        // Recording for a new key at the cap does not grow the table.
        limiter.record(ip(4), now);
        assert_eq!(limiter.tracked_keys(), 3);
        // Known keys are unaffected by the cap.
        assert_eq!(limiter.check(&ip(1), now), Err(RetryAfter(30 * MIN)));
        // Once ip(1) has aged out there is room again.
        assert_eq!(limiter.try_acquire(ip(4), t0() + HOUR), Ok(()));
        assert_eq!(limiter.tracked_keys(), 3);
        assert_eq!(
            limiter.check(&ip(1), t0() + HOUR),
            Err(RetryAfter(10 * MIN))
        );
    }

    #[test]
    fn cap_sweeps_are_spaced() {
        let settings = RateLimitSettings {
            max_events: 1,
            window: Duration::from_secs(10),
            max_keys: 1,
        };
        let limiter = RateLimiter::new(settings);
        limiter.record(1, t0());
        // The forced sweep runs, finds nothing to drop, and says when key 1 leaves.
        assert_eq!(
            limiter.check(&2, t0() + Duration::from_secs(9)),
            Err(RetryAfter(Duration::from_secs(1)))
        );
        // Half a second later no second sweep is allowed yet.
        let t = t0() + Duration::from_millis(9_500);
        assert_eq!(
            limiter.check(&2, t),
            Err(RetryAfter(Duration::from_millis(500)))
        );
        assert_eq!(limiter.check(&2, t0() + Duration::from_secs(10)), Ok(()));
    }

    #[test]
    fn routine_sweep_prunes_stale_keys() {
        let limiter = RateLimiter::new(RateLimitSettings::new(1, MIN));
        for n in 0..50 {
            limiter.record(ip(n), t0());
        }
        assert_eq!(limiter.tracked_keys(), 50);
        // The next call a window later sweeps everything that left it.
        assert_eq!(limiter.check(&ip(200), t0() + 2 * MIN), Ok(()));
        assert_eq!(limiter.tracked_keys(), 0);
    }

    #[test]
    fn a_clock_stepping_back_does_not_panic_or_free_slots() {
        let limiter = RateLimiter::new(RateLimitSettings::new(1, HOUR));
        limiter.record((), t0());
        let earlier = t0() - 5 * MIN;
        assert_eq!(limiter.check(&(), earlier), Err(RetryAfter(HOUR + 5 * MIN)));
    }

    #[test]
    fn retry_after_reads_like_a_person_would_say_it() {
        assert_eq!(
            RetryAfter(42 * MIN).to_string(),
            "rate limit reached: try again in 42 minutes"
        );
        assert_eq!(
            RetryAfter(41 * MIN + Duration::from_millis(1)).minutes_ceil(),
            42
        );
        assert_eq!(
            RetryAfter(MIN).to_string(),
            "rate limit reached: try again in 1 minute"
        );
        assert_eq!(
            RetryAfter(Duration::from_millis(29_001)).to_string(),
            "rate limit reached: try again in 30 seconds"
        );
        assert_eq!(
            RetryAfter(Duration::from_secs(1)).to_string(),
            "rate limit reached: try again in 1 second"
        );
        assert_eq!(RetryAfter(Duration::from_millis(1)).secs_ceil(), 1);
    }

    #[test]
    fn shared_between_threads() {
        let limiter = std::sync::Arc::new(RateLimiter::new(RateLimitSettings::new(100, HOUR)));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let limiter = limiter.clone();
                std::thread::spawn(move || {
                    (0..50)
                        .filter(|_| limiter.try_acquire((), t0()).is_ok())
                        .count()
                })
            })
            .collect();
        let admitted: usize = handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .sum();
        assert_eq!(admitted, 100);
    }
}
