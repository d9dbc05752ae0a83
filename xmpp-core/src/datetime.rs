//! XEP-0082 date and time profiles: `2026-11-25T07:14:15Z`, with optional fractions and offsets.
//!
//! Used for entity time (XEP-0202), delay stamps (XEP-0203) and archive queries (XEP-0313).
//! Arithmetic on days uses the proleptic Gregorian calendar (Howard Hinnant's civil-date
//! algorithms), so no calendar crate is needed for what is a fixed, simple format.

use core::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A timestamp did not follow the XEP-0082 `DateTime` profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an XEP-0082 date-time")]
pub struct DateTimeError;

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both ranges are small and non-negative by construction.
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats a time as UTC, `YYYY-MM-DDThh:mm:ssZ`, with milliseconds when `millis` is set.
pub fn format_utc(time: SystemTime, millis: bool) -> String {
    let (secs, nanos) = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        // Before 1970: count back, keeping the fraction positive.
        Err(e) => {
            let d = e.duration();
            let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() == 0 {
                (-s, 0)
            } else {
                (-s - 1, 1_000_000_000 - d.subsec_nanos())
            }
        }
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = String::with_capacity(24);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if millis {
        let _ = write!(out, ".{:03}", nanos / 1_000_000);
    }
    out.push('Z');
    out
}

fn digits(s: &[u8], at: usize, n: usize) -> Result<u32, DateTimeError> {
    let part = s.get(at..at + n).ok_or(DateTimeError)?;
    let mut v = 0u32;
    for b in part {
        if !b.is_ascii_digit() {
            return Err(DateTimeError);
        }
        v = v * 10 + u32::from(b - b'0');
    }
    Ok(v)
}

fn expect(s: &[u8], at: usize, c: u8) -> Result<(), DateTimeError> {
    (s.get(at) == Some(&c)).then_some(()).ok_or(DateTimeError)
}

/// Parses an XEP-0082 `DateTime`: `CCYY-MM-DDThh:mm:ss[.sss]TZD`, where `TZD` is `Z` or
/// `±hh:mm`. Fractions beyond nanoseconds are truncated.
pub fn parse(s: &str) -> Result<SystemTime, DateTimeError> {
    let b = s.as_bytes();
    let year = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    expect(b, 10, b'T')?;
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b':')?;
    let second = digits(b, 17, 2)?;
    let mut at = 19;
    let mut nanos = 0u32;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 9 {
                nanos = nanos * 10 + u32::from(b[at] - b'0');
            }
            at += 1;
        }
        let len = at - start;
        if len == 0 {
            return Err(DateTimeError);
        }
        for _ in len..9 {
            nanos *= 10;
        }
    }
    let offset_secs: i64 = match b.get(at) {
        Some(b'Z') if at + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if at + 6 == b.len() => {
            let h = digits(b, at + 1, 2)?;
            expect(b, at + 3, b':')?;
            let m = digits(b, at + 4, 2)?;
            if h > 23 || m > 59 {
                return Err(DateTimeError);
            }
            let off = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -off } else { off }
        }
        _ => return Err(DateTimeError),
    };
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return Err(DateTimeError),
    };
    // A leap second (60) is folded into the next minute's first second.
    if day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return Err(DateTimeError);
    }
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_secs;
    let time = if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs.unsigned_abs(), nanos)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
            + Duration::from_nanos(u64::from(nanos))
    };
    Ok(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(UNIX_EPOCH, false), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::new(1_278_803_305, 123_000_000);
        assert_eq!(format_utc(t, false), "2010-07-10T23:08:25Z");
        assert_eq!(format_utc(t, true), "2010-07-10T23:08:25.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(format_utc(leap, false), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn parses_the_xep_0082_examples() {
        let t = parse("1969-07-21T02:56:15Z").expect("valid");
        assert_eq!(format_utc(t, false), "1969-07-21T02:56:15Z");
        let t = parse("1969-07-20T21:56:15-05:00").expect("valid");
        assert_eq!(format_utc(t, false), "1969-07-21T02:56:15Z");
        let t = parse("2010-07-10T23:08:25.123456Z").expect("valid");
        assert_eq!(format_utc(t, true), "2010-07-10T23:08:25.123Z");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2010-07-10",
            "2010-07-10T23:08:25",
            "2010-13-10T23:08:25Z",
            "2010-02-30T23:08:25Z",
            "2010-07-10T24:08:25Z",
            "2010-07-10T23:08:25.Z",
            "2010-07-10T23:08:25+0500",
            "2010-07-10T23:08:25Zjunk",
            "２010-07-10T23:08:25Z",
        ] {
            assert_eq!(parse(bad), Err(DateTimeError), "{bad}");
        }
    }

    #[test]
    fn round_trips_over_a_wide_range() {
        let mut secs: u64 = 0;
        while secs < 4_102_444_800 {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse(&format_utc(t, false)), Ok(t));
            secs += 86_399 * 17;
        }
    }
}
