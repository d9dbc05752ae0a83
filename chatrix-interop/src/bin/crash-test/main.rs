//! `crash-test`: "ack means durable" (ARCHITECTURE.md principle 7) under SIGKILL.
//!
//! It starts `chatrix-server` itself, so that it can kill it: two accounts (created
//! beforehand, e.g. with `chatrix-server user add`) log in over Direct TLS, enable stream
//! management (XEP-0198) and send each other chat messages as fast as a window of
//! unacknowledged stanzas allows, each message followed by `<r/>`. Each client logs every
//! stanza it sends, in order, so the server's `<a h='N'/>` names exactly which ones the server
//! has acknowledged. At a random point (a number of acknowledged messages between
//! `--min-acked` and `--max-acked`) the server gets SIGKILL while messages are in flight; it is
//! started again on the same data dir and database, and the next round begins on fresh
//! sessions. In the last `--offline-rounds` rounds only the first account is online, so its
//! messages go to the second one's offline store. After the last round each account pages
//! through its whole archive (XEP-0313) and then takes its offline messages.
//!
//! The check: every message the server acknowledged is in the sender's archive, and in the
//! recipient's archive or offline store; and every message a client received live is in both
//! archives (archived before routed). Messages the server answered with an error are
//! excused (the sender was told). Unacknowledged messages may or may not have survived;
//! they are counted, not checked.
//!
//! It prints the counts and exits with 0 when nothing acknowledged was lost, 1 otherwise
//! (and 2 when the test itself could not run: the server did not start, a login failed…).
//! `interop/crash.sh` runs it on a fresh data dir, on SQLite or PostgreSQL.

mod client;
mod server;
mod traffic;
mod verify;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;

use crate::client::{Conn, Error};
use crate::server::Server;
use crate::traffic::{Log, Running};
use crate::verify::Holdings;

/// Kill chatrix-server with SIGKILL while two clients exchange messages with stream
/// management on; check that every acknowledged message survived.
#[derive(Debug, Parser)]
#[command(name = "crash-test", version)]
struct Args {
    /// The chatrix-server binary.
    #[arg(long)]
    server_bin: PathBuf,
    /// Its configuration file (domain localhost, a c2s-direct-tls listener on --port).
    #[arg(long)]
    config: PathBuf,
    /// The server's working directory. Default: the config file's directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The server's output, appended over all runs.
    #[arg(long)]
    server_log: PathBuf,
    /// The Direct TLS port on 127.0.0.1.
    #[arg(long)]
    port: u16,
    /// The certificate to trust (the server's generated data/cert.pem). It may not exist
    /// before the first start.
    #[arg(long)]
    ca: PathBuf,
    /// The first account, as USER:PASSWORD (on localhost).
    #[arg(long, default_value = "alice:pw-alice")]
    alice: String,
    /// The second account.
    #[arg(long, default_value = "bob:pw-bob")]
    bob: String,
    /// Rounds of traffic, each ended by a SIGKILL.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// The fewest messages (both clients together) acknowledged before the kill.
    #[arg(long, default_value_t = 200)]
    min_acked: u64,
    /// The most.
    #[arg(long, default_value_t = 500)]
    max_acked: u64,
    /// Of the rounds, how many (the last ones) have only the first account online, so that
    /// its messages go to the second account's offline store.
    #[arg(long, default_value_t = 1)]
    offline_rounds: u32,
    /// Stanzas a client may have unacknowledged at once.
    #[arg(long, default_value_t = 64)]
    window: u64,
    /// Seed for the kill points (default: from the clock); printed, to repeat a run.
    #[arg(long)]
    seed: Option<u64>,
    /// A name for the report (e.g. the backend).
    #[arg(long, default_value = "")]
    label: String,
}

/// How long a round may take to reach its kill point.
const ROUND_TIMEOUT: Duration = Duration::from_secs(60);

/// One account under test.
#[derive(Debug, Clone)]
struct Account {
    name: String,
    password: String,
}

fn account(spec: &str) -> Result<Account, Error> {
    let (name, password) = spec
        .split_once(':')
        .ok_or_else(|| format!("expected USER:PASSWORD, got {spec:?}"))?;
    Ok(Account {
        name: name.to_owned(),
        password: password.to_owned(),
    })
}

/// xorshift64*: enough to spread kill points, and repeatable from the printed seed.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn between(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        low + r % (high - low + 1)
    }
}

/// What one client did over all rounds.
#[derive(Debug, Default)]
struct Tally {
    /// Every message sent, by key, and whether the server acknowledged it.
    sent: Vec<(String, bool)>,
    /// Messages answered with an error.
    errors: Vec<String>,
    /// Messages received live from the peer, by key.
    received: Vec<String>,
}

impl Tally {
    fn add(&mut self, log: &Log) {
        let acked: std::collections::HashSet<&str> = log.acked_messages().collect();
        for key in log.messages() {
            self.sent.push((key.to_owned(), acked.contains(key)));
        }
        self.errors.extend(log.errors.iter().cloned());
        self.received.extend(log.received.iter().cloned());
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("crash-test: error: {e}");
            eprintln!("crash-test: server log: {}", args.server_log.display());
            ExitCode::from(2)
        }
    }
}

async fn run(args: &Args) -> Result<bool, Error> {
    let accounts = [account(&args.alice)?, account(&args.bob)?];
    if args.min_acked == 0 || args.min_acked > args.max_acked {
        return Err("need 0 < --min-acked <= --max-acked".into());
    }
    if args.offline_rounds > args.rounds {
        return Err("need --offline-rounds <= --rounds".into());
    }
    let seed = args.seed.unwrap_or_else(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos());
        #[allow(clippy::cast_possible_truncation)] // any 64 bits will do
        let seed = (nanos as u64) | 1;
        seed
    });
    let mut rng = Rng(seed | 1);
    let label = if args.label.is_empty() {
        String::new()
    } else {
        format!(" [{}]", args.label)
    };
    println!(
        "crash-test{label}: seed {seed}, {} rounds, kill after {}..={} acknowledged messages",
        args.rounds, args.min_acked, args.max_acked
    );

    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let mut server = Server {
        bin: args.server_bin.clone(),
        config: args.config.clone(),
        dir: match &args.dir {
            Some(d) => d.clone(),
            None => args
                .config
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), PathBuf::from),
        },
        log: args.server_log.clone(),
        addr,
        child: None,
    };
    server.start().await?;

    let mut tallies: [Tally; 2] = Default::default();
    for round in 1..=args.rounds {
        let kill_at = rng.between(args.min_acked, args.max_acked);
        let offline = round + args.offline_rounds > args.rounds;
        let logs = round_trip(args, &accounts, &mut server, round, kill_at, offline).await?;
        for (tally, log) in tallies.iter_mut().zip(&logs) {
            tally.add(log);
        }
        server.start().await?;
    }

    let mut held = Vec::new();
    for a in &accounts {
        let conn = Conn::login(addr, &args.ca, &a.name, &a.password, "verify").await?;
        held.push(verify::holdings(conn).await?);
    }
    server.kill()?;
    Ok(report(&label, &accounts, &tallies, &held))
}

/// One round: log in, exchange messages until `kill_at` are acknowledged, SIGKILL, and
/// return each client's log (after reading what the server wrote before it died). With
/// `offline`, only the first account logs in and sends: its messages go to the offline store.
async fn round_trip(
    args: &Args,
    accounts: &[Account; 2],
    server: &mut Server,
    round: u32,
    kill_at: u64,
    offline: bool,
) -> Result<[Log; 2], Error> {
    let resource = format!("crash{round}");
    let online = if offline { 1 } else { 2 };
    let logins = accounts[..online]
        .iter()
        .map(|a| Conn::login(server.addr, &args.ca, &a.name, &a.password, &resource));
    let mut conns = futures::future::try_join_all(logins).await?;
    let logs = futures::future::try_join_all(conns.iter_mut().map(traffic::prepare)).await?;
    let clients: Vec<Running> = conns
        .into_iter()
        .zip(logs)
        .enumerate()
        .map(|(i, (conn, log))| {
            Running::start(
                conn,
                log,
                &accounts[i].name,
                &accounts[1 - i].name,
                round,
                args.window,
            )
        })
        .collect();
    let started = Instant::now();
    loop {
        let acked: usize = clients.iter().map(Running::acked).sum();
        if acked as u64 >= kill_at {
            break;
        }
        if clients.iter().any(Running::closed) {
            return Err(format!(
                "round {round}: a connection closed before the kill: {:?}",
                clients
                    .iter()
                    .map(|c| c.log.lock().map(|l| l.close_reason.clone()).ok())
                    .collect::<Vec<_>>()
            )
            .into());
        }
        if started.elapsed() > ROUND_TIMEOUT {
            return Err(format!(
                "round {round}: only {acked} messages acknowledged in {ROUND_TIMEOUT:?}"
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill()?;
    let elapsed = started.elapsed();
    let mut logs = futures::future::try_join_all(clients.into_iter().map(Running::finish))
        .await?
        .into_iter();
    let logs = [
        logs.next().unwrap_or_default(),
        logs.next().unwrap_or_default(),
    ];
    let line: Vec<String> = accounts[..online]
        .iter()
        .zip(&logs)
        .map(|(acc, log)| {
            let sent = log.messages().count();
            let acked = log.acked_messages().count();
            format!(
                "{} sent {sent}, acknowledged {acked}, in flight {}",
                acc.name,
                sent - acked
            )
        })
        .collect();
    println!(
        "round {round}{}: SIGKILL after {kill_at}+ acknowledged messages ({:.1} s): {}",
        if offline {
            format!(" ({} offline)", accounts[1].name)
        } else {
            String::new()
        },
        elapsed.as_secs_f64(),
        line.join("; ")
    );
    Ok(logs)
}

/// Prints the counts; true when no acknowledged message was lost (and no delivered one was
/// missing from the archives).
fn report(label: &str, accounts: &[Account; 2], tallies: &[Tally; 2], held: &[Holdings]) -> bool {
    let mut total = HashMap::<&str, usize>::new();
    let mut lost_keys = Vec::new();
    for (i, (acc, tally)) in accounts.iter().zip(tallies).enumerate() {
        let (me, peer) = (&held[i], &held[1 - i]);
        let mut count = HashMap::<&str, usize>::new();
        for (key, was_acked) in &tally.sent {
            let in_sender = me.archive.contains(key);
            let in_recipient_archive = peer.archive.contains(key);
            let in_offline = peer.offline.contains(key);
            let survived = in_sender && (in_recipient_archive || in_offline);
            *count.entry("sent").or_default() += 1;
            if !*was_acked {
                *count.entry("unacknowledged").or_default() += 1;
                if survived {
                    *count.entry("unacknowledged but found").or_default() += 1;
                }
                continue;
            }
            *count.entry("acknowledged").or_default() += 1;
            if tally.errors.contains(key) {
                *count.entry("refused").or_default() += 1;
            } else if survived {
                *count.entry("found").or_default() += 1;
                if !in_recipient_archive {
                    *count.entry("offline only").or_default() += 1;
                }
            } else {
                *count.entry("lost").or_default() += 1;
                lost_keys.push(format!(
                    "acknowledged {key}: in the sender's archive {in_sender}, in the \
                     recipient's archive {in_recipient_archive}, offline {in_offline}"
                ));
            }
        }
        // Archived before routed: what the recipient saw live is in both archives.
        for key in &tally.received {
            if !(me.archive.contains(key) && peer.archive.contains(key)) {
                *count.entry("delivered, not archived").or_default() += 1;
                lost_keys.push(format!(
                    "delivered {key}: in the recipient's archive {}, in the sender's archive {}",
                    me.archive.contains(key),
                    peer.archive.contains(key)
                ));
            }
        }
        let c = |k: &str| count.get(k).copied().unwrap_or(0);
        println!(
            "{}: sent {}, acknowledged {}, acknowledged and found {} (only in the offline \
             store: {}), refused with an error {}, LOST {}; unacknowledged {}, found anyway {}; \
             received live {} (not archived: {}); archive entries {} ({} duplicates); offline \
             messages after the last restart {}",
            acc.name,
            c("sent"),
            c("acknowledged"),
            c("found"),
            c("offline only"),
            c("refused"),
            c("lost"),
            c("unacknowledged"),
            c("unacknowledged but found"),
            tally.received.len(),
            c("delivered, not archived"),
            me.archive_entries,
            me.archive_entries - me.archive.len(),
            me.offline.len()
        );
        for (k, v) in count {
            *total.entry(k).or_default() += v;
        }
    }
    let t = |k: &str| total.get(k).copied().unwrap_or(0);
    println!(
        "crash-test{label}: sent {}, acknowledged {}, found {}, lost {}, unacknowledged {} \
         (found anyway {}), delivered but not archived {}",
        t("sent"),
        t("acknowledged"),
        t("found"),
        t("lost"),
        t("unacknowledged"),
        t("unacknowledged but found"),
        t("delivered, not archived")
    );
    for key in lost_keys.iter().take(20) {
        println!("missing: {key}");
    }
    if lost_keys.len() > 20 {
        println!("missing: … and {} more", lost_keys.len() - 20);
    }
    if t("acknowledged") == 0 {
        println!("FAILED: nothing was acknowledged, so nothing was tested");
        return false;
    }
    if lost_keys.is_empty() {
        println!("PASSED: every acknowledged message survived SIGKILL");
        true
    } else {
        println!("FAILED: acknowledged or delivered messages are missing");
        false
    }
}
