//! `idle`: open N sessions, hold them, and measure the server's resident memory per session
//! (`VmRSS` after all are up and settled, minus `VmRSS` before the first connect, over N).
//!
//! Sessions answer server pings (XEP-0199) and any other IQ while held, and may send whitespace
//! keep-alives. The load generator needs one file descriptor per session: raise the limit first
//! (`ulimit -n 65536`); running out is reported as `emfile`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{CpuReport, Ctx, ErrorTally, PhaseSummary, open_sessions, round, write_phases};
use crate::client::Session;
use crate::error::Error;
use crate::stats::LatencySummary;

/// Options of the idle scenario.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdleOptions {
    pub(crate) count: usize,
    pub(crate) hold: Duration,
    pub(crate) settle: Duration,
    pub(crate) keepalive: Duration,
}

/// Server memory (with `--server-pid`).
#[derive(Debug, Serialize)]
pub(crate) struct Memory {
    pub(crate) rss_before_kib: u64,
    /// After every session is up and `--settle` has passed.
    pub(crate) rss_open_kib: u64,
    /// At the end of `--hold`, before closing.
    pub(crate) rss_end_of_hold_kib: u64,
    /// (`rss_open_kib` − `rss_before_kib`) / sessions.
    pub(crate) kib_per_session: f64,
    /// (`rss_end_of_hold_kib` − `rss_before_kib`) / sessions.
    pub(crate) kib_per_session_end_of_hold: f64,
}

/// The result of an idle run.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) scenario: &'static str,
    pub(crate) requested: usize,
    pub(crate) established: usize,
    pub(crate) tls: bool,
    pub(crate) open_wall_s: f64,
    pub(crate) login_latency: LatencySummary,
    pub(crate) login_phases: Vec<PhaseSummary>,
    pub(crate) mechanisms: BTreeMap<&'static str, u64>,
    pub(crate) hold_s: f64,
    pub(crate) server_memory: Option<Memory>,
    /// The load generator's own RSS per session, KiB (for comparison).
    pub(crate) loadgen_kib_per_session: Option<f64>,
    /// Sessions the server closed while they were held.
    pub(crate) dropped: u64,
    /// IQs from the server answered while held (pings).
    pub(crate) iqs_answered: u64,
    pub(crate) errors: ErrorTally,
    pub(crate) drop_errors: ErrorTally,
    pub(crate) close_errors: ErrorTally,
    /// CPU over the hold period.
    pub(crate) cpu_while_holding: CpuReport,
}

/// How one held session ended.
#[derive(Debug, Default)]
struct Held {
    iqs_answered: u64,
    dropped: Option<Error>,
    close_error: Option<Error>,
}

pub(crate) async fn run(ctx: Arc<Ctx>, o: IdleOptions) -> Report {
    let before = ctx.sample();
    let open_start = Instant::now();
    let opened = open_sessions(&ctx, o.count).await;
    let open_wall = open_start.elapsed();
    let established = opened.sessions.len();
    let tls = opened.sessions.first().is_some_and(|(_, s)| s.is_tls());

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut holders = Vec::with_capacity(established);
    for (_, s) in opened.sessions {
        holders.push(tokio::spawn(hold(
            s,
            stop_rx.clone(),
            o.keepalive,
            ctx.login.timeout,
        )));
    }

    tokio::time::sleep(o.settle).await;
    let open = ctx.sample();
    let hold_start = Instant::now();
    tokio::time::sleep(o.hold).await;
    let end = ctx.sample();
    let cpu_while_holding = ctx.cpu(&open, &end, hold_start.elapsed());

    let _ = stop_tx.send(true);
    let mut report_drop = ErrorTally::default();
    let mut close_errors = ErrorTally::default();
    let mut dropped = 0;
    let mut iqs_answered = 0;
    for h in holders {
        let Ok(held) = h.await else { continue };
        iqs_answered += held.iqs_answered;
        if let Some(e) = held.dropped {
            dropped += 1;
            report_drop.add(&e);
        }
        if let Some(e) = held.close_error {
            close_errors.add(&e);
        }
    }

    #[expect(clippy::cast_precision_loss, reason = "memory sizes far below 2^52")]
    let per_session = |after: u64, before: u64| {
        round(
            (after as f64 - before as f64) / established.max(1) as f64,
            2,
        )
    };
    let server_memory = match (before.server, open.server, end.server) {
        (Some(b), Some(a), Some(e)) if established > 0 => Some(Memory {
            rss_before_kib: b.rss_kib,
            rss_open_kib: a.rss_kib,
            rss_end_of_hold_kib: e.rss_kib,
            kib_per_session: per_session(a.rss_kib, b.rss_kib),
            kib_per_session_end_of_hold: per_session(e.rss_kib, b.rss_kib),
        }),
        _ => None,
    };
    let loadgen_kib_per_session = match (before.this_process, open.this_process) {
        (Some(b), Some(a)) if established > 0 => Some(per_session(a.rss_kib, b.rss_kib)),
        _ => None,
    };
    Report {
        scenario: "idle",
        requested: o.count,
        established,
        tls,
        open_wall_s: round(open_wall.as_secs_f64(), 3),
        login_latency: opened.latency.summary(),
        login_phases: opened.phases.summary(),
        mechanisms: opened.mechanisms,
        hold_s: o.hold.as_secs_f64(),
        server_memory,
        loadgen_kib_per_session,
        dropped,
        iqs_answered,
        errors: opened.errors,
        drop_errors: report_drop,
        close_errors,
        cpu_while_holding,
    }
}

/// Holds one session until told to stop, answering IQs; then closes it.
async fn hold(
    mut s: Session<TcpStream>,
    mut stop: watch::Receiver<bool>,
    keepalive: Duration,
    close_timeout: Duration,
) -> Held {
    let mut held = Held::default();
    s.release_temporaries();
    let far = Duration::from_secs(365 * 24 * 3600);
    let period = if keepalive.is_zero() { far } else { keepalive };
    let mut next_keepalive = Instant::now() + period;
    loop {
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = stop.changed() => break,
            r = s.recv() => {
                let r = match r {
                    Ok(stanza) => s.answer_iq(&stanza).await,
                    Err(e) => Err(e),
                };
                match r {
                    Ok(answered) => held.iqs_answered += u64::from(answered),
                    Err(e) => {
                        held.dropped = Some(e);
                        return held;
                    }
                }
                s.release_temporaries();
            }
            () = tokio::time::sleep_until(next_keepalive) => {
                next_keepalive += period;
                if let Err(e) = s.keepalive().await {
                    held.dropped = Some(e);
                    return held;
                }
            }
        }
    }
    held.close_error = s.close(close_timeout).await.err();
    held
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "sessions:       {} of {} established ({}) in {:.2} s, held {:.0} s",
            self.established,
            self.requested,
            if self.tls { "TLS" } else { "plaintext" },
            self.open_wall_s,
            self.hold_s
        )?;
        writeln!(f, "login latency:  {}", self.login_latency)?;
        write_phases(f, &self.login_phases)?;
        for (m, n) in &self.mechanisms {
            writeln!(f, "mechanism:      {m} × {n}")?;
        }
        if let Some(m) = &self.server_memory {
            writeln!(
                f,
                "server RSS:     {} KiB before, {} KiB with sessions open, {} KiB at end of hold",
                m.rss_before_kib, m.rss_open_kib, m.rss_end_of_hold_kib
            )?;
            writeln!(
                f,
                "server memory per idle session: {:.2} KiB (end of hold: {:.2} KiB)",
                m.kib_per_session, m.kib_per_session_end_of_hold
            )?;
        }
        if let Some(k) = self.loadgen_kib_per_session {
            writeln!(f, "loadgen memory per session:     {k:.2} KiB")?;
        }
        writeln!(
            f,
            "while holding:  {} IQs answered, {} sessions dropped by the server",
            self.iqs_answered, self.dropped
        )?;
        write!(f, "{}", self.cpu_while_holding)?;
        for (title, errors) in [
            ("login errors:", &self.errors),
            ("dropped:", &self.drop_errors),
            ("close errors:", &self.close_errors),
        ] {
            if errors.total() > 0 {
                writeln!(f, "{title}")?;
                write!(f, "{errors}")?;
            }
        }
        if self.errors.has_emfile() {
            writeln!(
                f,
                "hint: out of file descriptors; run `ulimit -n 65536` (or as high as `ulimit -Hn` \
                 allows) in this shell first"
            )?;
        }
        Ok(())
    }
}
