//! `messages`: M pairs of sessions; both sides of each pair send `<message type='chat'/>` to
//! the other's full JID, each body carrying its send time (monotonic ns since the run began,
//! see [`crate::timestamp`]), and the receiver records the latency.
//!
//! Open loop with `--rate R`: every sender sends at R / (2M) per second on its own schedule
//! (spread so senders do not fire together), catching up without waiting when late. Closed loop
//! with `--rate 0`: each session starts with `--window` messages in flight and sends one more
//! whenever one arrives from its partner.
//!
//! After `--duration` sending stops; messages still in flight get `--drain` seconds to arrive;
//! whatever has not is counted lost.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use xmpp_core::{Element, ns};

use super::{CpuReport, Ctx, ErrorTally, open_sessions, round};
use crate::client::Session;
use crate::error::Error;
use crate::proto;
use crate::stats::{Histogram, LatencySummary};
use crate::timestamp;

/// Options of the messages scenario.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MessageOptions {
    pub(crate) pairs: usize,
    pub(crate) rate: u64,
    pub(crate) duration: Duration,
    pub(crate) drain: Duration,
    pub(crate) window: u64,
    pub(crate) body_bytes: usize,
}

/// The result of a messages run.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) scenario: &'static str,
    pub(crate) pairs_requested: usize,
    pub(crate) pairs: usize,
    /// Aggregate target rate, messages/s (0: closed loop).
    pub(crate) rate: u64,
    pub(crate) window: Option<u64>,
    pub(crate) duration_s: f64,
    pub(crate) sent: u64,
    pub(crate) received: u64,
    /// Sent but not received by the end of the drain period.
    pub(crate) lost: u64,
    /// Messages sent per second of the sending period.
    pub(crate) sent_per_s: f64,
    /// Messages received during the sending period, per second.
    pub(crate) delivered_per_s: f64,
    /// Send to receipt, measured in the load generator.
    pub(crate) latency: LatencySummary,
    /// How late the open-loop senders fell behind their schedule at worst, ms.
    pub(crate) max_sender_lag_ms: f64,
    /// `<message type='error'/>` bounces received.
    pub(crate) bounced: u64,
    pub(crate) login_errors: ErrorTally,
    pub(crate) session_errors: ErrorTally,
    /// CPU from the first message to the end of the drain.
    pub(crate) cpu: CpuReport,
    /// Server CPU over the run divided by messages received, µs.
    pub(crate) server_cpu_us_per_message: Option<f64>,
    pub(crate) loadgen_cpu_us_per_message: Option<f64>,
}

/// Counters all sessions share, for the drain to know when everything arrived.
#[derive(Debug, Default)]
struct Shared {
    sent: AtomicU64,
    received: AtomicU64,
    /// Sessions that have stopped sending (or failed).
    senders_done: AtomicUsize,
}

/// How a session sends.
#[derive(Debug, Clone, Copy)]
enum Pace {
    /// One message every `interval`, starting at `first`.
    Rate { first: Instant, interval: Duration },
    /// Keep this many in flight.
    Window(u64),
}

/// What one session did.
#[derive(Debug, Default)]
struct Outcome {
    latency: Histogram,
    sent: u64,
    received: u64,
    received_in_window: u64,
    bounced: u64,
    max_lag: Duration,
    error: Option<Error>,
    close_error: Option<Error>,
}

/// Everything a session task needs.
struct Plan {
    partner: String,
    pace: Pace,
    epoch: Instant,
    send_until: Instant,
    body_bytes: usize,
    close_timeout: Duration,
}

pub(crate) async fn run(ctx: Arc<Ctx>, o: MessageOptions) -> Report {
    let opened = open_sessions(&ctx, o.pairs * 2).await;
    let mut by_index: BTreeMap<usize, Session<TcpStream>> = opened.sessions.into_iter().collect();
    let mut couples = Vec::new();
    for k in 0..o.pairs {
        if let (Some(a), Some(b)) = (by_index.remove(&(2 * k)), by_index.remove(&(2 * k + 1))) {
            couples.push((a, b));
        }
    }
    // Sessions whose partner failed to log in take no part.
    let leftovers: Vec<_> = by_index.into_values().collect();
    let _ = super::close_sessions(leftovers, ctx.concurrency, ctx.login.timeout).await;

    let senders = couples.len() * 2;
    let shared = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let before = ctx.sample();
    let epoch = Instant::now();
    let send_until = epoch + o.duration;
    let mut tasks = Vec::with_capacity(senders);
    for (k, (a, b)) in couples.into_iter().enumerate() {
        let (ja, jb) = (a.jid().to_owned(), b.jid().to_owned());
        for (j, (session, partner)) in [(a, jb), (b, ja)].into_iter().enumerate() {
            #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
            let pace = if o.rate == 0 {
                Pace::Window(o.window.max(1))
            } else {
                // Each sender's share of the aggregate rate, spread evenly over one interval.
                let interval = Duration::from_secs_f64(senders as f64 / o.rate as f64);
                let slot = (2 * k + j) as f64 / senders as f64;
                Pace::Rate {
                    first: epoch + interval.mul_f64(slot),
                    interval,
                }
            };
            let plan = Plan {
                partner,
                pace,
                epoch,
                send_until,
                body_bytes: o.body_bytes,
                close_timeout: ctx.login.timeout,
            };
            tasks.push(tokio::spawn(converse(
                session,
                plan,
                shared.clone(),
                stop_rx.clone(),
            )));
        }
    }

    tokio::time::sleep_until(send_until).await;
    let drain_until = Instant::now() + o.drain;
    while Instant::now() < drain_until
        && (shared.senders_done.load(Ordering::Acquire) < senders
            || shared.received.load(Ordering::Relaxed) < shared.sent.load(Ordering::Relaxed))
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let wall = epoch.elapsed();
    let after = ctx.sample();
    let _ = stop_tx.send(true);

    let mut latency = Histogram::new();
    let (mut sent, mut received, mut in_window, mut bounced) = (0, 0, 0, 0);
    let mut max_lag = Duration::ZERO;
    let mut session_errors = ErrorTally::default();
    for t in tasks {
        let Ok(out) = t.await else { continue };
        latency.merge(&out.latency);
        sent += out.sent;
        received += out.received;
        in_window += out.received_in_window;
        bounced += out.bounced;
        max_lag = max_lag.max(out.max_lag);
        for e in [out.error, out.close_error].iter().flatten() {
            session_errors.add(e);
        }
    }
    let cpu = ctx.cpu(&before, &after, wall);
    let secs = o.duration.as_secs_f64().max(1e-9);
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let per_message = |ms: f64| (received > 0).then(|| round(ms * 1000.0 / received as f64, 3));
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let (sent_per_s, delivered_per_s) = (
        round(sent as f64 / secs, 1),
        round(in_window as f64 / secs, 1),
    );
    Report {
        scenario: "messages",
        pairs_requested: o.pairs,
        pairs: senders / 2,
        rate: o.rate,
        window: (o.rate == 0).then_some(o.window.max(1)),
        duration_s: o.duration.as_secs_f64(),
        sent,
        received,
        lost: sent.saturating_sub(received),
        sent_per_s,
        delivered_per_s,
        latency: latency.summary(),
        max_sender_lag_ms: round(max_lag.as_secs_f64() * 1000.0, 3),
        bounced,
        login_errors: opened.errors,
        session_errors,
        server_cpu_us_per_message: cpu.server.as_ref().and_then(|c| per_message(c.cpu_ms)),
        loadgen_cpu_us_per_message: cpu.loadgen.as_ref().and_then(|c| per_message(c.cpu_ms)),
        cpu,
    }
}

fn nanos_since(epoch: Instant, now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(epoch).as_nanos()).unwrap_or(u64::MAX)
}

/// One session: sends to its partner on its pace, records what arrives, until stopped.
async fn converse(
    mut s: Session<TcpStream>,
    plan: Plan,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let mut out = Outcome::default();
    let mut seq = 0u64;
    let far = plan.send_until + Duration::from_secs(365 * 24 * 3600);
    let mut next_send = match plan.pace {
        Pace::Rate { first, .. } => first,
        Pace::Window(_) => far,
    };
    if let Pace::Window(w) = plan.pace {
        for _ in 0..w {
            if let Err(e) = send_one(&mut s, &plan, &mut seq, &shared).await {
                out.error = Some(e);
                break;
            }
            out.sent += 1;
        }
    }
    let mut sending = true;
    while out.error.is_none() {
        if sending && Instant::now() >= plan.send_until {
            // Sent the last one: tell the drain, which waits for every sender to get here.
            sending = false;
            next_send = far;
            shared.senders_done.fetch_add(1, Ordering::Release);
        }
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep_until(plan.send_until), if sending => {}
            r = s.recv() => {
                let stanza = match r {
                    Ok(stanza) => stanza,
                    Err(e) => { out.error = Some(e); break; }
                };
                let now = Instant::now();
                if !stanza.is("message", ns::JABBER_CLIENT) {
                    if let Err(e) = s.answer_iq(&stanza).await {
                        out.error = Some(e);
                    }
                    continue;
                }
                if stanza.attr("type") == Some("error") {
                    out.bounced += 1;
                    continue;
                }
                let Some((_, sent_ns)) = body(&stanza).as_deref().and_then(timestamp::decode) else {
                    continue;
                };
                out.latency.record(nanos_since(plan.epoch, now).saturating_sub(sent_ns));
                out.received += 1;
                if now < plan.send_until {
                    out.received_in_window += 1;
                }
                shared.received.fetch_add(1, Ordering::Relaxed);
                if matches!(plan.pace, Pace::Window(_)) && sending && now < plan.send_until {
                    match send_one(&mut s, &plan, &mut seq, &shared).await {
                        Ok(()) => out.sent += 1,
                        Err(e) => out.error = Some(e),
                    }
                }
            }
            () = tokio::time::sleep_until(next_send), if sending && next_send < plan.send_until => {
                if let Pace::Rate { interval, .. } = plan.pace {
                    out.max_lag = out.max_lag.max(Instant::now().saturating_duration_since(next_send));
                    next_send += interval;
                }
                match send_one(&mut s, &plan, &mut seq, &shared).await {
                    Ok(()) => out.sent += 1,
                    Err(e) => out.error = Some(e),
                }
            }
        }
    }
    if sending {
        shared.senders_done.fetch_add(1, Ordering::Release);
    }
    out.close_error = s.close(plan.close_timeout).await.err();
    out
}

fn body(message: &Element) -> Option<String> {
    message.child_text("body", ns::JABBER_CLIENT)
}

async fn send_one(
    s: &mut Session<TcpStream>,
    plan: &Plan,
    seq: &mut u64,
    shared: &Shared,
) -> Result<(), Error> {
    let now = nanos_since(plan.epoch, Instant::now());
    let body = timestamp::encode(*seq, now, plan.body_bytes);
    let message = proto::chat(&plan.partner, &seq.to_string(), body);
    *seq += 1;
    // Counted before the write: the partner may see it before this task resumes.
    shared.sent.fetch_add(1, Ordering::Relaxed);
    s.send(&message).await
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pace = match self.window {
            Some(w) => format!("as fast as possible, {w} in flight per session"),
            None => format!("target {} msg/s", self.rate),
        };
        writeln!(
            f,
            "pairs:          {} of {} ({pace}) for {:.1} s",
            self.pairs, self.pairs_requested, self.duration_s
        )?;
        writeln!(
            f,
            "messages:       {} sent, {} received, {} lost, {} bounced",
            self.sent, self.received, self.lost, self.bounced
        )?;
        writeln!(
            f,
            "rate:           {:.1} sent/s, {:.1} delivered/s",
            self.sent_per_s, self.delivered_per_s
        )?;
        writeln!(f, "latency:        {}", self.latency)?;
        if self.window.is_none() {
            writeln!(f, "sender lag:     max {:.3} ms", self.max_sender_lag_ms)?;
        }
        write!(f, "{}", self.cpu)?;
        if let Some(us) = self.server_cpu_us_per_message {
            writeln!(f, "server CPU per message:  {us:.2} µs")?;
        }
        if let Some(us) = self.loadgen_cpu_us_per_message {
            writeln!(f, "loadgen CPU per message: {us:.2} µs")?;
        }
        for (title, errors) in [
            ("login errors:", &self.login_errors),
            ("session errors:", &self.session_errors),
        ] {
            if errors.total() > 0 {
                writeln!(f, "{title}")?;
                write!(f, "{errors}")?;
            }
        }
        Ok(())
    }
}
