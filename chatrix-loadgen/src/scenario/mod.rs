//! The scenarios, and what they share: the run context, error tallies, process probes.

pub(crate) mod idle;
pub(crate) mod login_storm;
pub(crate) mod messages;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::client::{LoginConfig, PhaseTimes, Session, connect_and_login};
use crate::error::Error;
use crate::server_probe::{CpuUsage, Probe, Sample};
use crate::stats::Histogram;

/// What every scenario needs.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) addr: SocketAddr,
    pub(crate) login: LoginConfig,
    pub(crate) users_prefix: String,
    pub(crate) accounts: Option<usize>,
    pub(crate) concurrency: usize,
    pub(crate) server: Option<Probe>,
    pub(crate) this_process: Option<Probe>,
}

impl Ctx {
    /// The account name (localpart) for connection `i`.
    pub(crate) fn user(&self, i: usize) -> String {
        let n = self.accounts.map_or(i, |a| i % a.max(1));
        format!("{}{n}", self.users_prefix)
    }

    /// Logs connection `i` in (account [`Ctx::user`], resource `lg<i>`).
    pub(crate) async fn login(&self, i: usize) -> Result<Session<TcpStream>, Error> {
        connect_and_login(self.addr, &self.login, &self.user(i), &format!("lg{i}")).await
    }

    /// A reading of the server and of ourselves (either may be missing).
    pub(crate) fn sample(&self) -> Samples {
        Samples {
            server: self.server.as_ref().and_then(|p| p.sample().ok()),
            this_process: self.this_process.as_ref().and_then(|p| p.sample().ok()),
        }
    }

    /// CPU used between two readings.
    pub(crate) fn cpu(&self, before: &Samples, after: &Samples, wall: Duration) -> CpuReport {
        let usage = |probe: &Option<Probe>, a: Option<Sample>, b: Option<Sample>| {
            Some(CpuUsage::new(probe.as_ref()?, a?, b?, wall))
        };
        CpuReport {
            server: usage(&self.server, before.server, after.server),
            loadgen: usage(&self.this_process, before.this_process, after.this_process),
        }
    }
}

/// Readings of the server's and our own process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Samples {
    pub(crate) server: Option<Sample>,
    pub(crate) this_process: Option<Sample>,
}

/// CPU used by the server (with `--server-pid`) and by the load generator over an interval.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CpuReport {
    pub(crate) server: Option<CpuUsage>,
    pub(crate) loadgen: Option<CpuUsage>,
}

impl std::fmt::Display for CpuReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(s) = &self.server {
            writeln!(
                f,
                "server CPU:     {:.0} ms ({:.2} cores; pid {}; clock ticks {})",
                s.cpu_ms, s.cores, s.pid, s.clock_ticks_from
            )?;
        }
        if let Some(s) = &self.loadgen {
            writeln!(
                f,
                "loadgen CPU:    {:.0} ms ({:.2} cores)",
                s.cpu_ms, s.cores
            )?;
        }
        Ok(())
    }
}

/// Errors counted by kind, with the first message of each kind as an example.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub(crate) struct ErrorTally(BTreeMap<String, ErrorCount>);

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorCount {
    pub(crate) count: u64,
    pub(crate) example: String,
}

impl ErrorTally {
    pub(crate) fn add(&mut self, e: &Error) {
        self.0
            .entry(e.kind())
            .or_insert_with(|| ErrorCount {
                count: 0,
                example: e.to_string(),
            })
            .count += 1;
    }

    pub(crate) fn merge(&mut self, other: ErrorTally) {
        for (kind, c) in other.0 {
            self.0
                .entry(kind)
                .or_insert_with(|| ErrorCount {
                    count: 0,
                    example: c.example.clone(),
                })
                .count += c.count;
        }
    }

    pub(crate) fn total(&self) -> u64 {
        self.0.values().map(|c| c.count).sum()
    }

    /// Whether we ran out of file descriptors.
    pub(crate) fn has_emfile(&self) -> bool {
        self.0.contains_key("emfile")
    }
}

impl std::fmt::Display for ErrorTally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (kind, c) in &self.0 {
            writeln!(f, "  {:>7} × {kind}  (e.g. {})", c.count, c.example)?;
        }
        Ok(())
    }
}

/// What opening many sessions produced.
#[derive(Debug, Default)]
pub(crate) struct Opened {
    /// (connection index, session), in no particular order.
    pub(crate) sessions: Vec<(usize, Session<TcpStream>)>,
    pub(crate) latency: Histogram,
    pub(crate) phases: PhaseHistograms,
    pub(crate) errors: ErrorTally,
    pub(crate) mechanisms: BTreeMap<&'static str, u64>,
}

/// Logs in connections `0..count`, `ctx.concurrency` at a time, and keeps the sessions.
pub(crate) async fn open_sessions(ctx: &Arc<Ctx>, count: usize) -> Opened {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..ctx.concurrency.clamp(1, count.max(1)) {
        let ctx = ctx.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut opened = Opened::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let t0 = Instant::now();
                match ctx.login(i).await {
                    Ok(s) => {
                        opened.latency.record_duration(t0.elapsed());
                        opened.phases.record(s.phase_times());
                        *opened.mechanisms.entry(s.mechanism().as_str()).or_default() += 1;
                        opened.sessions.push((i, s));
                    }
                    Err(e) => {
                        let fatal = matches!(e, Error::TooManyOpenFiles);
                        opened.errors.add(&e);
                        if fatal {
                            // Every later connect would fail the same way.
                            next.store(count, Ordering::Relaxed);
                        }
                    }
                }
            }
            opened
        }));
    }
    let mut all = Opened::default();
    for w in workers {
        if let Ok(o) = w.await {
            all.sessions.extend(o.sessions);
            all.latency.merge(&o.latency);
            all.phases.merge(&o.phases);
            all.errors.merge(o.errors);
            for (m, n) in o.mechanisms {
                *all.mechanisms.entry(m).or_default() += n;
            }
        }
    }
    all
}

/// Closes sessions cleanly, `concurrency` at a time; returns the close errors.
pub(crate) async fn close_sessions(
    sessions: Vec<Session<TcpStream>>,
    concurrency: usize,
    timeout: Duration,
) -> ErrorTally {
    let mut errors = ErrorTally::default();
    let mut set = tokio::task::JoinSet::new();
    for s in sessions {
        if set.len() >= concurrency.max(1)
            && let Some(Ok(Err(e))) = set.join_next().await
        {
            errors.add(&e);
        }
        set.spawn(s.close(timeout));
    }
    while let Some(r) = set.join_next().await {
        if let Ok(Err(e)) = r {
            errors.add(&e);
        }
    }
    errors
}

/// Login time per phase, over many logins.
#[derive(Debug, Clone, Default)]
pub(crate) struct PhaseHistograms(Vec<Histogram>);

/// One phase's share of the login time.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PhaseSummary {
    pub(crate) phase: &'static str,
    pub(crate) mean_us: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
}

impl PhaseHistograms {
    pub(crate) fn record(&mut self, times: &PhaseTimes) {
        if self.0.is_empty() {
            self.0 = vec![Histogram::new(); PhaseTimes::PHASES.len()];
        }
        for (h, (_, d)) in self.0.iter_mut().zip(times.iter()) {
            h.record_duration(d);
        }
    }

    pub(crate) fn merge(&mut self, other: &PhaseHistograms) {
        if self.0.is_empty() {
            self.0.clone_from(&other.0);
            return;
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            mine.merge(theirs);
        }
    }

    pub(crate) fn summary(&self) -> Vec<PhaseSummary> {
        PhaseTimes::PHASES
            .iter()
            .zip(&self.0)
            .map(|(p, h)| {
                let s = h.summary();
                PhaseSummary {
                    phase: p.as_str(),
                    mean_us: s.mean_us,
                    p50_us: s.p50_us,
                    p99_us: s.p99_us,
                }
            })
            .collect()
    }
}

/// Writes phase summaries as one line each.
pub(crate) fn write_phases(
    f: &mut std::fmt::Formatter<'_>,
    phases: &[PhaseSummary],
) -> std::fmt::Result {
    for p in phases {
        writeln!(
            f,
            "  {:<9} mean {:>8.3} ms  p50 {:>8.3} ms  p99 {:>8.3} ms",
            p.phase,
            p.mean_us / 1000.0,
            p.p50_us / 1000.0,
            p.p99_us / 1000.0
        )?;
    }
    Ok(())
}

/// Rounds to `digits` decimals (for readable JSON).
pub(crate) fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}
