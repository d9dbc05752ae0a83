//! Latency histograms: log-linear buckets (HDR-style), so memory stays bounded however many
//! samples a run records, with a relative error below 1/128 (0.8 %) and exact values below
//! 256 ns.

use std::time::Duration;

use serde::Serialize;

/// Sub-buckets per power of two, as a power of two.
const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;

/// A histogram of nanosecond values.
#[derive(Debug, Clone, Default)]
pub(crate) struct Histogram {
    /// Counts per bucket; grows to the highest bucket used (about 3,500 buckets for 10 s).
    counts: Vec<u64>,
    total: u64,
    min: u64,
    max: u64,
    sum: u128,
}

fn index(v: u64) -> usize {
    if v < 2 * SUB {
        // usize is at least 32 bits on every target we build for; v < 256 here.
        return usize::try_from(v).unwrap_or(usize::MAX);
    }
    let exponent = v.ilog2();
    let shift = exponent - SUB_BITS;
    let top = v >> shift; // in [SUB, 2 * SUB)
    let i = (u64::from(shift) + 1) * SUB + (top - SUB);
    usize::try_from(i).unwrap_or(usize::MAX)
}

/// The highest value that falls into bucket `i`.
fn upper_bound(i: usize) -> u64 {
    let i = i as u64;
    if i < 2 * SUB {
        return i;
    }
    let shift = i / SUB - 1;
    let top = i % SUB + SUB;
    // The top bucket ends at u64::MAX: the shift drops the carry and the subtraction wraps.
    ((top + 1) << shift).wrapping_sub(1)
}

impl Histogram {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records one value in nanoseconds.
    pub(crate) fn record(&mut self, ns: u64) {
        let i = index(ns);
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        if self.total == 0 || ns < self.min {
            self.min = ns;
        }
        self.max = self.max.max(ns);
        self.total += 1;
        self.sum += u128::from(ns);
    }

    /// Records a duration (saturating at `u64::MAX` ns, some 584 years).
    pub(crate) fn record_duration(&mut self, d: Duration) {
        self.record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Adds another histogram's samples.
    pub(crate) fn merge(&mut self, other: &Histogram) {
        if other.total == 0 {
            return;
        }
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        if self.total == 0 || other.min < self.min {
            self.min = other.min;
        }
        self.max = self.max.max(other.max);
        self.total += other.total;
        self.sum += other.sum;
    }

    pub(crate) fn count(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` (0.0–1.0): the smallest recorded value (up to bucket
    /// resolution) that at least `q` of the samples do not exceed. 0 when empty.
    pub(crate) fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let q = q.clamp(0.0, 1.0);
        // The rank of the sample wanted, 1-based: ceil(q * n), at least 1.
        #[expect(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "counts far below 2^52; the rank is clamped to [1, n]"
        )]
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return upper_bound(i).clamp(self.min, self.max);
            }
        }
        self.max
    }

    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    pub(crate) fn min(&self) -> u64 {
        self.min
    }

    pub(crate) fn mean(&self) -> u64 {
        if self.total == 0 {
            0
        } else {
            u64::try_from(self.sum / u128::from(self.total)).unwrap_or(u64::MAX)
        }
    }

    /// The usual summary, in microseconds.
    pub(crate) fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.total,
            min_us: us(self.min()),
            mean_us: us(self.mean()),
            p50_us: us(self.quantile(0.50)),
            p90_us: us(self.quantile(0.90)),
            p99_us: us(self.quantile(0.99)),
            p999_us: us(self.quantile(0.999)),
            max_us: us(self.max()),
        }
    }
}

#[expect(clippy::cast_precision_loss, reason = "display only")]
fn us(ns: u64) -> f64 {
    (ns as f64 / 1000.0 * 10.0).round() / 10.0
}

/// Percentiles of a latency distribution, in microseconds (0.1 µs resolution).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LatencySummary {
    pub(crate) count: u64,
    pub(crate) min_us: f64,
    pub(crate) mean_us: f64,
    pub(crate) p50_us: f64,
    pub(crate) p90_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) p999_us: f64,
    pub(crate) max_us: f64,
}

impl std::fmt::Display for LatencySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |v: f64| v / 1000.0;
        write!(
            f,
            "p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms  (mean {:.3} ms, n={})",
            ms(self.p50_us),
            ms(self.p90_us),
            ms(self.p99_us),
            ms(self.p999_us),
            ms(self.max_us),
            ms(self.mean_us),
            self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_bounded() {
        let mut last = None;
        for v in (0..5000u64).chain([1 << 20, (1 << 20) + 1, u64::MAX / 3, u64::MAX]) {
            let i = index(v);
            assert!(upper_bound(i) >= v, "v={v} i={i}");
            if i > 0 {
                assert!(upper_bound(i - 1) < v, "v={v} i={i}");
            }
            if let Some(prev) = last {
                assert!(i >= prev);
            }
            last = Some(i);
        }
        assert_eq!(index(255), 255);
        assert_eq!(index(256), 256);
        assert_eq!(upper_bound(256), 257);
    }

    #[test]
    fn empty_histogram_reports_zero() {
        let h = Histogram::new();
        assert_eq!(h.quantile(0.5), 0);
        assert_eq!(h.mean(), 0);
        assert_eq!(h.count(), 0);
    }

    #[test]
    fn small_values_are_exact() {
        let mut h = Histogram::new();
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), 50);
        assert_eq!(h.quantile(0.99), 99);
        assert_eq!(h.quantile(1.0), 100);
        assert_eq!(h.quantile(0.0), 1);
        assert_eq!(h.min(), 1);
        assert_eq!(h.max(), 100);
        assert_eq!(h.mean(), 50);
    }

    #[test]
    fn large_values_within_relative_error() {
        let mut h = Histogram::new();
        // 1 µs .. 10 ms in 1 µs steps.
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        for (q, exact) in [(0.5, 5_000_000u64), (0.99, 9_900_000), (0.999, 9_990_000)] {
            let got = h.quantile(q);
            #[expect(clippy::cast_precision_loss, reason = "small test values")]
            let err = got.abs_diff(exact) as f64 / exact as f64;
            assert!(got >= exact, "q={q}: {got} < {exact}");
            assert!(err < 1.0 / 128.0, "q={q}: {got} vs {exact}");
        }
        assert_eq!(h.quantile(1.0), 10_000_000);
    }

    #[test]
    fn a_single_outlier_shows_only_in_the_tail() {
        let mut h = Histogram::new();
        for _ in 0..999 {
            h.record(100_000);
        }
        h.record(50_000_000);
        assert!(h.quantile(0.99) < 101_000);
        assert_eq!(h.quantile(0.9999), 50_000_000);
        assert_eq!(h.max(), 50_000_000);
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        let mut all = Histogram::new();
        for v in 0..3000u64 {
            let x = v * v * 17 % 1_000_003;
            if v % 3 == 0 { &mut a } else { &mut b }.record(x);
            all.record(x);
        }
        let mut merged = Histogram::new();
        merged.merge(&a);
        merged.merge(&b);
        merged.merge(&Histogram::new());
        for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(merged.quantile(q), all.quantile(q));
        }
        assert_eq!(merged.count(), 3000);
        assert_eq!(merged.min(), all.min());
        assert_eq!(merged.mean(), all.mean());
    }

    #[test]
    fn summary_is_in_microseconds() {
        let mut h = Histogram::new();
        h.record_duration(Duration::from_micros(1500));
        let s = h.summary();
        assert!((s.p50_us - 1500.0).abs() < 1500.0 / 128.0);
        assert!(s.to_string().contains("p50 1.5"));
    }
}
