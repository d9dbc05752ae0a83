//! The server's memory and CPU time, read from `/proc/<pid>/status` (`VmRSS`) and
//! `/proc/<pid>/stat` (utime + stime, every thread of the process). Linux only.
//!
//! CPU times in `/proc` are in clock ticks. The tick rate comes from `getconf CLK_TCK` (run
//! once); if that fails we assume 100, the `USER_HZ` Linux reports on every mainstream
//! architecture. (No libc: the workspace forbids `unsafe`, which `sysconf` needs.)

use std::io;
use std::process::Command;
use std::time::Duration;

use serde::Serialize;

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Resident set size, KiB.
    pub(crate) rss_kib: u64,
    /// User + system CPU time, clock ticks.
    pub(crate) cpu_ticks: u64,
}

/// Reads `/proc/<pid>` for one process.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pid: u32,
    ticks_per_second: u64,
    /// Where the tick rate came from (`getconf` or `assumed`).
    tick_source: &'static str,
}

impl Probe {
    /// A probe for `pid`; fails if the process cannot be read now.
    pub(crate) fn new(pid: u32) -> io::Result<Self> {
        let (ticks_per_second, tick_source) = clock_ticks();
        let probe = Self {
            pid,
            ticks_per_second,
            tick_source,
        };
        probe.sample()?;
        Ok(probe)
    }

    /// A probe for the load generator itself.
    pub(crate) fn current() -> io::Result<Self> {
        Self::new(std::process::id())
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    pub(crate) fn tick_source(&self) -> &'static str {
        self.tick_source
    }

    pub(crate) fn sample(&self) -> io::Result<Sample> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        let bad = |what| io::Error::new(io::ErrorKind::InvalidData, what);
        Ok(Sample {
            rss_kib: parse_vm_rss(&status).ok_or_else(|| bad("no VmRSS in /proc/PID/status"))?,
            cpu_ticks: parse_cpu_ticks(&stat).ok_or_else(|| bad("unreadable /proc/PID/stat"))?,
        })
    }

    /// CPU time between two samples.
    pub(crate) fn cpu_between(&self, before: Sample, after: Sample) -> Duration {
        let ticks = after.cpu_ticks.saturating_sub(before.cpu_ticks);
        Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / self.ticks_per_second.max(1))
    }
}

/// What a scenario reports about a process's CPU over a measured interval.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CpuUsage {
    pub(crate) pid: u32,
    /// utime + stime over the interval, ms (resolution: one clock tick, 10 ms at 100 Hz).
    pub(crate) cpu_ms: f64,
    /// `cpu_ms` divided by the wall time: cores busy on average.
    pub(crate) cores: f64,
    /// `getconf` or `assumed` (100 Hz).
    pub(crate) clock_ticks_from: &'static str,
}

impl CpuUsage {
    pub(crate) fn new(probe: &Probe, before: Sample, after: Sample, wall: Duration) -> Self {
        let cpu = probe.cpu_between(before, after);
        Self {
            pid: probe.pid(),
            cpu_ms: cpu.as_secs_f64() * 1000.0,
            cores: cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9),
            clock_ticks_from: probe.tick_source(),
        }
    }
}

fn clock_ticks() -> (u64, &'static str) {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&t| t > 0)
        .map_or((100, "assumed"), |t| (t, "getconf"))
}

/// `VmRSS:   12345 kB` → 12345.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let value = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(value)
}

/// Fields 14 and 15 (utime, stime) of `/proc/PID/stat`. The command name (field 2) is in
/// parentheses and may itself hold spaces and parentheses, so count from the last `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ")": field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status() {
        let status = "Name:\tbeam.smp\nVmPeak:\t 100 kB\nVmRSS:\t   51234 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(parse_vm_rss(status), Some(51234));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        assert_eq!(parse_vm_rss("VmRSS: 12 MB\n"), None);
    }

    #[test]
    fn parses_stat_with_awkward_command_names() {
        let stat = "4242 (tokio (worker) 1) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                    750 250 0 0 20 0 9 0 123456 1000000 2000 18446744073709551615";
        assert_eq!(parse_cpu_ticks(stat), Some(1000));
        assert_eq!(parse_cpu_ticks("1 (x) S 1 2"), None);
        assert_eq!(parse_cpu_ticks("no parenthesis"), None);
    }

    #[test]
    fn reads_our_own_process() {
        let probe = Probe::current().expect("/proc/self readable");
        let a = probe.sample().expect("sample");
        assert!(a.rss_kib > 0);
        // Burn a little CPU; the counter never goes backwards.
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let b = probe.sample().expect("sample");
        assert!(b.cpu_ticks >= a.cpu_ticks);
        let usage = CpuUsage::new(&probe, a, b, Duration::from_secs(1));
        assert!(usage.cpu_ms >= 0.0);
    }
}
