//! Wall-clock time as an injectable dependency.
//!
//! The abuse limits ([`crate::abuse`]) and the CAPTCHA store ([`crate::captcha`]) never read the
//! clock themselves: every call takes `now: SystemTime`. The server reads a [`Clock`] (the
//! [`SystemClock`] in production) and passes the value in; tests use a [`ManualClock`] and move it
//! forward instead of sleeping.
//!
//! Wall-clock time (not `Instant`) because bans outlive the process: they are persisted with an
//! absolute expiry and restored at start. Everything that compares times tolerates the clock
//! stepping backwards (elapsed time then counts as zero), so a clock correction never panics.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// A source of the current wall-clock time.
pub trait Clock: Send + Sync + Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to, for tests.
///
/// Share it as `Arc<ManualClock>` (which coerces to `Arc<dyn Clock>`): the test keeps one handle
/// to [`advance`](Self::advance) it while the code under test reads the other.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// Seconds after the Unix epoch at which [`ManualClock::new`] starts:
    /// 2023-11-14T22:13:20Z, a round and obviously artificial time far from the epoch, so that
    /// subtracting a window from it never underflows.
    pub const START_UNIX_SECS: u64 = 1_700_000_000;

    /// The time [`ManualClock::new`] starts at ([`Self::START_UNIX_SECS`]).
    pub fn start() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(Self::START_UNIX_SECS)
    }

    /// A clock standing at [`ManualClock::start`].
    pub fn new() -> Self {
        Self::at(Self::start())
    }

    /// A clock standing at `now`.
    pub fn at(now: SystemTime) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    /// Sets the clock to `now` (which may be earlier than the current reading).
    pub fn set(&self, now: SystemTime) {
        *self.lock() = now;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SystemTime> {
        // A poisoned lock still holds a valid time: a test that panicked elsewhere must not
        // turn every later reading into a second panic.
        self.now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.lock()
    }
}

/// Time elapsed from `earlier` to `now`, zero if the clock went backwards.
pub(crate) fn elapsed(earlier: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(earlier).unwrap_or(Duration::ZERO)
}

/// Time left from `now` until `later`, zero if `later` has passed.
pub(crate) fn remaining(now: SystemTime, later: SystemTime) -> Duration {
    later.duration_since(now).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn manual_clock_starts_at_documented_time_and_moves_only_when_told() {
        let clock = Arc::new(ManualClock::new());
        let shared: Arc<dyn Clock> = clock.clone();
        assert_eq!(
            shared.now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
        );
        clock.advance(Duration::from_secs(90));
        assert_eq!(shared.now(), ManualClock::start() + Duration::from_secs(90));
        clock.set(ManualClock::start());
        assert_eq!(shared.now(), ManualClock::start());
    }

    #[test]
    fn system_clock_is_after_the_manual_start() {
        assert!(SystemClock.now() > ManualClock::start());
    }

    #[test]
    fn elapsed_and_remaining_saturate_when_the_clock_steps_back() {
        let t = ManualClock::start();
        let later = t + Duration::from_secs(5);
        assert_eq!(elapsed(t, later), Duration::from_secs(5));
        assert_eq!(elapsed(later, t), Duration::ZERO);
        assert_eq!(remaining(t, later), Duration::from_secs(5));
        assert_eq!(remaining(later, t), Duration::ZERO);
    }
}
