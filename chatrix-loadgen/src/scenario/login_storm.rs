//! `logins`: N full logins (TCP, TLS, SASL, bind, initial presence reflected), C at a time, each
//! closed cleanly right after. Logins per second, login latency, and the server's CPU per login.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::{CpuReport, Ctx, ErrorTally, PhaseHistograms, PhaseSummary, round, write_phases};
use crate::error::Error;
use crate::stats::{Histogram, LatencySummary};

/// The result of a login storm.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) scenario: &'static str,
    pub(crate) requested: usize,
    pub(crate) concurrency: usize,
    pub(crate) ok: u64,
    pub(crate) failed: u64,
    pub(crate) wall_s: f64,
    pub(crate) logins_per_s: f64,
    /// From TCP connect to our own presence coming back.
    pub(crate) latency: LatencySummary,
    /// Where the login time went.
    pub(crate) phases: Vec<PhaseSummary>,
    pub(crate) mechanisms: BTreeMap<&'static str, u64>,
    pub(crate) errors: ErrorTally,
    /// Errors while closing (the login itself counted as done).
    pub(crate) close_errors: ErrorTally,
    pub(crate) cpu: CpuReport,
    /// Server CPU (utime + stime) over the run divided by successful logins, ms.
    pub(crate) server_cpu_ms_per_login: Option<f64>,
    /// Our own CPU per login, ms: if this is near (cores / `logins_per_s`), the load generator
    /// is the bottleneck.
    pub(crate) loadgen_cpu_ms_per_login: Option<f64>,
}

#[derive(Default)]
struct Tally {
    latency: Histogram,
    phases: PhaseHistograms,
    errors: ErrorTally,
    close_errors: ErrorTally,
    mechanisms: BTreeMap<&'static str, u64>,
}

pub(crate) async fn run(ctx: Arc<Ctx>, count: usize, max_duration: Option<Duration>) -> Report {
    let next = Arc::new(AtomicUsize::new(0));
    let before = ctx.sample();
    let start = Instant::now();
    let stop_at = max_duration.map(|d| start + d);
    let mut workers = Vec::new();
    for _ in 0..ctx.concurrency.clamp(1, count.max(1)) {
        let ctx = ctx.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut t = Tally::default();
            loop {
                if stop_at.is_some_and(|s| Instant::now() >= s) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let t0 = Instant::now();
                match ctx.login(i).await {
                    Ok(session) => {
                        t.latency.record_duration(t0.elapsed());
                        t.phases.record(session.phase_times());
                        *t.mechanisms
                            .entry(session.mechanism().as_str())
                            .or_default() += 1;
                        if let Err(e) = session.close(ctx.login.timeout).await {
                            t.close_errors.add(&e);
                        }
                    }
                    Err(e) => {
                        if matches!(e, Error::TooManyOpenFiles) {
                            next.store(count, Ordering::Relaxed);
                        }
                        t.errors.add(&e);
                    }
                }
            }
            t
        }));
    }
    let mut all = Tally::default();
    for w in workers {
        if let Ok(t) = w.await {
            all.latency.merge(&t.latency);
            all.phases.merge(&t.phases);
            all.errors.merge(t.errors);
            all.close_errors.merge(t.close_errors);
            for (m, n) in t.mechanisms {
                *all.mechanisms.entry(m).or_default() += n;
            }
        }
    }
    let wall = start.elapsed();
    let after = ctx.sample();
    let cpu = ctx.cpu(&before, &after, wall);
    let ok = all.latency.count();
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let per_login = |ms: f64| (ok > 0).then(|| round(ms / ok as f64, 4));
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let logins_per_s = round(ok as f64 / wall.as_secs_f64().max(1e-9), 1);
    Report {
        scenario: "logins",
        requested: count,
        concurrency: ctx.concurrency,
        ok,
        failed: all.errors.total(),
        wall_s: round(wall.as_secs_f64(), 3),
        logins_per_s,
        latency: all.latency.summary(),
        phases: all.phases.summary(),
        mechanisms: all.mechanisms,
        server_cpu_ms_per_login: cpu.server.as_ref().and_then(|c| per_login(c.cpu_ms)),
        loadgen_cpu_ms_per_login: cpu.loadgen.as_ref().and_then(|c| per_login(c.cpu_ms)),
        errors: all.errors,
        close_errors: all.close_errors,
        cpu,
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "logins:         {} ok, {} failed of {} ({} at a time) in {:.2} s",
            self.ok, self.failed, self.requested, self.concurrency, self.wall_s
        )?;
        writeln!(f, "logins/s:       {:.1}", self.logins_per_s)?;
        writeln!(f, "login latency:  {}", self.latency)?;
        write_phases(f, &self.phases)?;
        for (m, n) in &self.mechanisms {
            writeln!(f, "mechanism:      {m} × {n}")?;
        }
        write!(f, "{}", self.cpu)?;
        if let Some(ms) = self.server_cpu_ms_per_login {
            writeln!(f, "server CPU per login:  {ms:.3} ms")?;
        }
        if let Some(ms) = self.loadgen_cpu_ms_per_login {
            writeln!(f, "loadgen CPU per login: {ms:.3} ms")?;
        }
        if self.errors.total() > 0 {
            writeln!(f, "errors:")?;
            write!(f, "{}", self.errors)?;
        }
        if self.close_errors.total() > 0 {
            writeln!(f, "close errors:")?;
            write!(f, "{}", self.close_errors)?;
        }
        Ok(())
    }
}
