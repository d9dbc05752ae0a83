//! The time columns: `SystemTime` as seconds (tombstones, bans) or microseconds (offline
//! messages, archives) since the Unix epoch, in a `BIGINT`.
//!
//! Seconds are floored, so for a stored `until` (a whole second) `until > seconds(now)` holds
//! exactly when `until > now`: the database's comparison and one in Rust on the value read back
//! agree.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Whole seconds since the Unix epoch, floored (negative before it), saturating.
pub(super) fn seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let up = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            i64::try_from(up).map_or(i64::MIN, |s| -s)
        }
    }
}

/// The time `seconds` after the Unix epoch; `None` when the platform cannot represent it.
pub(super) fn from_seconds(seconds: i64) -> Option<SystemTime> {
    let d = Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

/// Microseconds since the Unix epoch (negative before it), truncated, saturating.
pub(super) fn micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |m| -m),
    }
}

/// Microseconds since the Unix epoch, rounded up (towards the future), saturating: for a stored
/// (truncated) `ts`, `ts >= micros_ceil(t)` holds exactly when `from_micros(ts) >= t`, and
/// `ts < micros_ceil(t)` exactly when `from_micros(ts) < t`, so an inclusive lower bound or an
/// exclusive upper one compares in SQL as it would in Rust on the time read back.
pub(super) fn micros_ceil(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => {
            let up = d.as_micros() + u128::from(d.subsec_nanos() % 1_000 > 0);
            i64::try_from(up).unwrap_or(i64::MAX)
        }
        // Before the epoch truncation is already towards the future.
        Err(_) => micros(t),
    }
}

/// The time `micros` after the Unix epoch; `None` when the platform cannot represent it.
pub(super) fn from_micros(micros: i64) -> Option<SystemTime> {
    let d = Duration::from_micros(micros.unsigned_abs());
    if micros >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip_and_truncate() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        assert_eq!(micros(t), 1_700_000_000_123_456);
        assert_eq!(
            from_micros(micros(t)),
            Some(UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000))
        );
        let before = UNIX_EPOCH - Duration::from_micros(5);
        assert_eq!(micros(before), -5);
        assert_eq!(from_micros(-5), Some(before));
    }

    #[test]
    fn micros_ceil_rounds_up() {
        let whole = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        assert_eq!(micros_ceil(whole), micros(whole));
        assert_eq!(
            micros_ceil(whole + Duration::from_nanos(1)),
            micros(whole) + 1
        );
        assert_eq!(
            micros_ceil(whole + Duration::from_nanos(999)),
            micros(whole) + 1
        );
        let before = UNIX_EPOCH - Duration::from_nanos(5_500);
        assert_eq!(micros_ceil(before), -5);
        // The bound agrees with comparing times read back, around a stored value.
        for stored in [-3_i64, 0, 7] {
            let read = from_micros(stored).unwrap_or(UNIX_EPOCH);
            for nanos in -2_500_i64..=2_500 {
                let d = Duration::from_nanos(nanos.unsigned_abs());
                let t = if nanos >= 0 { read + d } else { read - d };
                assert_eq!(stored >= micros_ceil(t), read >= t, "{stored} {nanos}");
            }
        }
    }

    #[test]
    fn seconds_floor() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 999_999_999);
        assert_eq!(seconds(t), 1_700_000_000);
        assert_eq!(seconds(UNIX_EPOCH), 0);
        assert_eq!(seconds(UNIX_EPOCH - Duration::from_millis(1)), -1);
        assert_eq!(seconds(UNIX_EPOCH - Duration::from_secs(2)), -2);
        assert_eq!(from_seconds(-2), Some(UNIX_EPOCH - Duration::from_secs(2)));
    }

    /// A stored whole second compares with `now` in SQL (on `seconds(now)`) as it does in Rust
    /// (on `now` itself), on both sides of the epoch.
    #[test]
    fn floored_comparison_agrees() {
        for until in -3_i64..=3 {
            let until_time = from_seconds(until).unwrap_or(UNIX_EPOCH);
            assert_eq!(seconds(until_time), until);
            for now_millis in (-4_000_i64..=4_000).step_by(250) {
                let d = Duration::from_millis(now_millis.unsigned_abs());
                let now = if now_millis >= 0 {
                    UNIX_EPOCH + d
                } else {
                    UNIX_EPOCH - d
                };
                assert_eq!(
                    until > seconds(now),
                    until_time > now,
                    "{until} {now_millis}"
                );
            }
        }
    }
}
