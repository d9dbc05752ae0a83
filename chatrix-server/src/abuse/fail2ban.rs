//! Banning addresses that fail authentication too often, after ejabberd's `mod_fail2ban`.
//!
//! Each failed authentication from an address counts; failures are forgotten once `window`
//! passes without another one from that address (ejabberd's rule: its counter lives for
//! `c2s_auth_ban_lifetime` after the last failure, so a slow guesser is still caught). The
//! failure that brings the count to `max_failures` bans the address for `ban_duration`. ejabberd
//! defaults to 20 failures and a one-hour lifetime; Chatrix keeps the 20 and the one-hour window
//! but bans for six hours ([`Fail2BanSettings::default`]).
//!
//! A banned address's failures are not counted (the caller refuses it before authentication), and
//! a ban is not lengthened by attempts made during it. Addresses in the allow-list are never
//! counted or banned. IPv4-mapped IPv6 addresses are their IPv4 address.
//!
//! Bans are meant to be persisted by the caller: [`Fail2Ban::record_failure`] returns the new
//! [`Ban`] to store, and [`Fail2Ban::restore`] loads the stored ones at start.
//!
//! # Memory, and the cap
//!
//! At most `max_tracked` addresses (counting and banned together) are held. Stale entries are
//! pruned lazily (a sweep at most once per window, and on demand when full); restored bans are
//! the one exception to the cap ([`Fail2Ban::restore`]). When the table is
//! full of live entries, a failure from an address not yet in it is **not counted**: unlike the
//! registration limits, this cap fails open. Failing closed would mean refusing to count, hence
//! refusing to let in, every new address — turning a flood from many addresses into a lock-out
//! of all newcomers. And a per-address ban is no defence against an attacker with more addresses
//! than the table (each needs only `max_failures − 1` tries); that attack is for the per-account
//! and global limits. What the cap must not do is let the worst offenders go, and it does not:
//! addresses already counted stay counted and are banned on schedule, and bans are never evicted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use super::networks::Networks;
use crate::clock::elapsed;

/// The least time between two sweeps triggered by a full table.
const MIN_CAP_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// How [`Fail2Ban`] decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail2BanSettings {
    /// The failure that brings an address's count to this bans it (zero counts as one).
    pub max_failures: u32,
    /// An address's failures are forgotten after this long without a new one.
    pub window: Duration,
    /// How long a ban lasts.
    pub ban_duration: Duration,
    /// Addresses never counted or banned.
    pub allow: Networks,
    /// The most addresses held at once (counting or banned; at least one). See the module
    /// documentation for what happens at the cap.
    pub max_tracked: usize,
}

impl Default for Fail2BanSettings {
    /// 20 failures, forgotten after an hour without one, ban for six hours, no allow-list,
    /// 100 000 addresses.
    fn default() -> Self {
        Self {
            max_failures: 20,
            window: Duration::from_secs(3600),
            ban_duration: Duration::from_secs(6 * 3600),
            allow: Networks::new(),
            max_tracked: 100_000,
        }
    }
}

/// A ban: connections from `ip` are refused until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ban {
    /// The banned address (IPv4-mapped IPv6 addresses are stored as IPv4).
    pub ip: IpAddr,
    /// When the ban ends.
    pub until: SystemTime,
}

/// Failure counting and bans; see the module documentation. Thread-safe; each call holds an
/// internal lock briefly.
#[derive(Debug)]
pub struct Fail2Ban {
    settings: Fail2BanSettings,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<IpAddr, Entry>,
    next_sweep: Option<SystemTime>,
    last_cap_sweep: Option<SystemTime>,
}

#[derive(Debug, Clone, Copy)]
enum Entry {
    Failing { count: u32, last: SystemTime },
    Banned { until: SystemTime },
}

impl Entry {
    fn is_live(&self, window: Duration, now: SystemTime) -> bool {
        match *self {
            Entry::Failing { last, .. } => elapsed(last, now) < window,
            Entry::Banned { until } => now < until,
        }
    }
}

impl Fail2Ban {
    /// No failures counted, nobody banned.
    pub fn new(settings: Fail2BanSettings) -> Self {
        Self {
            settings: Fail2BanSettings {
                max_failures: settings.max_failures.max(1),
                max_tracked: settings.max_tracked.max(1),
                ..settings
            },
            state: Mutex::new(State::default()),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Fail2BanSettings {
        &self.settings
    }

    /// Counts a failed authentication from `ip`. Returns the ban when this failure starts one,
    /// for the caller to persist and log; `None` otherwise (including for allow-listed
    /// addresses, addresses already banned, and new addresses while the table is full).
    pub fn record_failure(&self, ip: IpAddr, now: SystemTime) -> Option<Ban> {
        let ip = ip.to_canonical();
        if self.settings.allow.contains(ip) {
            return None;
        }
        let s = &self.settings;
        let mut state = self.lock();
        state.routine_sweep(s.window, now);
        let count = match state.entries.get_mut(&ip) {
            Some(Entry::Banned { until }) if now < *until => return None,
            Some(Entry::Failing { count, last }) if elapsed(*last, now) < s.window => {
                *count += 1;
                *last = now;
                *count
            }
            // Expired: start counting afresh in place.
            Some(entry) => {
                *entry = Entry::Failing {
                    count: 1,
                    last: now,
                };
                1
            }
            None => {
                if !state.make_room(s, now) {
                    return None;
                }
                state.entries.insert(
                    ip,
                    Entry::Failing {
                        count: 1,
                        last: now,
                    },
                );
                1
            }
        };
        if count < s.max_failures {
            return None;
        }
        let until = now + s.ban_duration;
        state.entries.insert(ip, Entry::Banned { until });
        Some(Ban { ip, until })
    }

    /// When the ban on `ip` ends, if it is banned now. Allow-listed addresses are never banned,
    /// even if a ban on them was restored.
    pub fn banned_until(&self, ip: IpAddr, now: SystemTime) -> Option<SystemTime> {
        let ip = ip.to_canonical();
        if self.settings.allow.contains(ip) {
            return None;
        }
        let mut state = self.lock();
        match state.entries.get(&ip) {
            Some(&Entry::Banned { until }) if now < until => Some(until),
            Some(&Entry::Banned { .. }) => {
                state.entries.remove(&ip);
                None
            }
            _ => None,
        }
    }

    /// Lifts the ban on `ip` and forgets its failures. Returns whether there was a ban (possibly
    /// one that had already run out).
    pub fn lift(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        matches!(self.lock().entries.remove(&ip), Some(Entry::Banned { .. }))
    }

    /// Bans `ip` until `until`: for bans loaded from storage at start (and for a ban an
    /// operator sets by hand). Replaces any ban or count `ip` had. Returns whether the ban was
    /// kept: not if `ip` is allow-listed. A ban that has already ended is harmless (it is never
    /// enforced and is swept like any other).
    ///
    /// Not subject to the cap: stored bans were made under it (a ban takes the place of the
    /// address's failure count, and bans are never evicted), so there are never more of them
    /// than the cap, and a ban must not be dropped for want of room.
    pub fn restore(&self, ip: IpAddr, until: SystemTime) -> bool {
        let ip = ip.to_canonical();
        if self.settings.allow.contains(ip) {
            return false;
        }
        self.lock().entries.insert(ip, Entry::Banned { until });
        true
    }

    /// The bans in force at `now`, in no particular order.
    pub fn active_bans(&self, now: SystemTime) -> Vec<Ban> {
        self.lock()
            .entries
            .iter()
            .filter_map(|(&ip, entry)| match *entry {
                Entry::Banned { until } if now < until => Some(Ban { ip, until }),
                _ => None,
            })
            .collect()
    }

    /// The number of addresses held (counting or banned, including ones not yet pruned).
    pub fn tracked(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn routine_sweep(&mut self, window: Duration, now: SystemTime) {
        if self.next_sweep.is_none_or(|t| now >= t) {
            self.entries.retain(|_, entry| entry.is_live(window, now));
            self.next_sweep = Some(now + window);
        }
    }

    /// Whether there is room for one more address, sweeping first if the table is full (at
    /// most once per [`MIN_CAP_SWEEP_INTERVAL`]).
    fn make_room(&mut self, s: &Fail2BanSettings, now: SystemTime) -> bool {
        if self.entries.len() < s.max_tracked {
            return true;
        }
        if self
            .last_cap_sweep
            .is_none_or(|t| elapsed(t, now) >= MIN_CAP_SWEEP_INTERVAL)
        {
            self.last_cap_sweep = Some(now);
            self.entries.retain(|_, entry| entry.is_live(s.window, now));
        }
        self.entries.len() < s.max_tracked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    const MIN: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    fn t0() -> SystemTime {
        ManualClock::start()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn small(max_failures: u32) -> Fail2BanSettings {
        Fail2BanSettings {
            max_failures,
            ..Fail2BanSettings::default()
        }
    }

    #[test]
    fn defaults_follow_ejabberd_with_a_six_hour_ban() {
        let s = Fail2BanSettings::default();
        assert_eq!(s.max_failures, 20);
        assert_eq!(s.window, HOUR);
        assert_eq!(s.ban_duration, 6 * HOUR);
        assert!(s.allow.is_empty());
    }

    #[test]
    fn the_nth_failure_bans_once_and_the_ban_expires() {
        let f2b = Fail2Ban::new(small(3));
        let a = ip("192.0.2.1");
        assert_eq!(f2b.record_failure(a, t0()), None);
        assert_eq!(f2b.record_failure(a, t0() + MIN), None);
        assert_eq!(f2b.banned_until(a, t0() + MIN), None);
        let ban = f2b
            .record_failure(a, t0() + 2 * MIN)
            .expect("this failure bans");
        assert_eq!(
            ban,
            Ban {
                ip: a,
                until: t0() + 2 * MIN + 6 * HOUR
            }
        );
        // Further failures during the ban neither report nor lengthen it.
        assert_eq!(f2b.record_failure(a, t0() + 3 * MIN), None);
        assert_eq!(f2b.banned_until(a, t0() + 3 * MIN), Some(ban.until));
        assert_eq!(f2b.active_bans(t0() + 3 * MIN), vec![ban]);
        // Other addresses are not affected.
        assert_eq!(f2b.banned_until(ip("192.0.2.2"), t0() + 3 * MIN), None);
        // Until the last instant, then free, with a fresh count.
        assert_eq!(
            f2b.banned_until(a, ban.until - Duration::from_secs(1)),
            Some(ban.until)
        );
        assert_eq!(f2b.banned_until(a, ban.until), None);
        assert!(f2b.active_bans(ban.until).is_empty());
        assert_eq!(f2b.record_failure(a, ban.until), None);
        assert_eq!(f2b.record_failure(a, ban.until), None);
        assert!(f2b.record_failure(a, ban.until).is_some());
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_window() {
        let f2b = Fail2Ban::new(small(3));
        let a = ip("192.0.2.1");
        f2b.record_failure(a, t0());
        f2b.record_failure(a, t0() + 50 * MIN);
        // 50 minutes after the last one the count still stands (the window follows the last
        // failure, as in ejabberd): the third bans.
        assert!(f2b.record_failure(a, t0() + 100 * MIN).is_some());

        let b = ip("192.0.2.2");
        f2b.record_failure(b, t0());
        f2b.record_failure(b, t0() + MIN);
        // An hour of quiet: the count starts over.
        assert_eq!(f2b.record_failure(b, t0() + MIN + HOUR), None);
        assert_eq!(f2b.record_failure(b, t0() + MIN + HOUR), None);
        assert!(f2b.record_failure(b, t0() + MIN + HOUR).is_some());
    }

    #[test]
    fn allow_listed_addresses_are_never_counted_or_banned() {
        let f2b = Fail2Ban::new(Fail2BanSettings {
            allow: Networks::parse(["127.0.0.0/8", "2001:db8::/32"])
                .unwrap_or_else(|e| panic!("{e}")),
            ..small(1)
        });
        for a in ["127.0.0.1", "::ffff:127.0.0.1", "2001:db8::7"] {
            assert_eq!(f2b.record_failure(ip(a), t0()), None);
            assert!(!f2b.restore(ip(a), t0() + HOUR));
            assert_eq!(f2b.banned_until(ip(a), t0()), None);
        }
        assert_eq!(f2b.tracked(), 0);
        assert!(f2b.record_failure(ip("192.0.2.1"), t0()).is_some());
    }

    #[test]
    fn ipv4_mapped_addresses_are_one_address() {
        let f2b = Fail2Ban::new(small(2));
        assert_eq!(f2b.record_failure(ip("::ffff:192.0.2.9"), t0()), None);
        let ban = f2b
            .record_failure(ip("192.0.2.9"), t0())
            .expect("this failure bans");
        assert_eq!(ban.ip, ip("192.0.2.9"));
        assert_eq!(
            f2b.banned_until(ip("::ffff:192.0.2.9"), t0()),
            Some(ban.until)
        );
        assert!(f2b.lift(ip("::ffff:192.0.2.9")));
        assert_eq!(f2b.banned_until(ip("192.0.2.9"), t0()), None);
    }

    #[test]
    fn lift_restore_and_zero_failures() {
        let f2b = Fail2Ban::new(small(0));
        let a = ip("2001:db8::1");
        // Zero counts as one: the first failure bans.
        let ban = f2b.record_failure(a, t0()).expect("this failure bans");
        assert!(f2b.lift(a));
        assert!(!f2b.lift(a));
        assert_eq!(f2b.banned_until(a, t0()), None);
        // Restoring: live bans apply, ended ones are never enforced.
        assert!(f2b.restore(a, ban.until));
        assert_eq!(f2b.banned_until(a, t0() + MIN), Some(ban.until));
        let b = ip("2001:db8::2");
        assert!(f2b.restore(b, t0()));
        assert_eq!(f2b.banned_until(b, t0()), None);
        assert!(f2b.active_bans(t0()).iter().all(|ban| ban.ip == a));
    }

    #[test]
    fn a_full_table_does_not_count_newcomers_but_keeps_offenders() {
        let f2b = Fail2Ban::new(Fail2BanSettings {
            max_tracked: 2,
            ..small(3)
        });
        let (a, b, c) = (ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3"));
        f2b.record_failure(a, t0());
        f2b.record_failure(b, t0());
        for _ in 0..5 {
            assert_eq!(f2b.record_failure(c, t0() + MIN), None);
        }
        assert_eq!(f2b.tracked(), 2);
        assert_eq!(f2b.banned_until(c, t0() + MIN), None);
        // The addresses already counted are still banned on schedule.
        f2b.record_failure(a, t0() + MIN);
        assert!(f2b.record_failure(a, t0() + MIN).is_some());
        // Once b's failures age out there is room for c.
        let later = t0() + HOUR + Duration::from_secs(1);
        f2b.record_failure(c, later);
        f2b.record_failure(c, later);
        assert!(f2b.record_failure(c, later).is_some());
        // The ban on a was not evicted to make room.
        assert!(f2b.banned_until(a, later).is_some());
        // Restored bans are kept even when the table is full.
        let d = ip("192.0.2.4");
        assert!(f2b.restore(d, later + HOUR));
        assert!(f2b.banned_until(d, later).is_some());
    }

    #[test]
    fn stale_entries_are_swept() {
        let f2b = Fail2Ban::new(small(20));
        for n in 0..100u8 {
            f2b.record_failure(IpAddr::from([198, 51, 100, n]), t0());
        }
        assert_eq!(f2b.tracked(), 100);
        f2b.record_failure(ip("192.0.2.1"), t0() + 2 * HOUR);
        assert_eq!(f2b.tracked(), 1);
    }
}
