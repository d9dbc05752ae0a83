//! The command line (clap derive).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use xmpp_sasl::Mechanism;

use crate::client::{MechanismChoice, TlsMode};

/// Drives an XMPP server with many client connections and reports what it saw.
///
/// Accounts are `<users-prefix><i>@<domain>` with one common password; create them beforehand
/// (`chatrix-loadgen accounts --count N` lists them). Every scenario stops by itself.
#[derive(Debug, Parser)]
#[command(name = "chatrix-loadgen", version, about, long_about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) common: Common,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every scenario shares.
#[derive(Debug, Args)]
pub(crate) struct Common {
    /// The server's c2s address (the only address the load generator connects to).
    #[arg(
        long,
        global = true,
        default_value = "127.0.0.1:5222",
        value_name = "HOST:PORT"
    )]
    pub(crate) server: String,

    /// The XMPP domain (stream `to`, account domain, and TLS name unless --tls-name).
    #[arg(long, global = true, default_value = "localhost")]
    pub(crate) domain: String,

    /// How to secure connections: STARTTLS (port 5222), Direct TLS (XEP-0368, port 5223), or
    /// none (only for servers that allow plaintext on loopback).
    #[arg(long, global = true, value_enum, default_value_t = TlsMode::Starttls)]
    pub(crate) tls: TlsMode,

    /// PEM file with the certificate(s) to trust: the server's self-signed certificate or its CA.
    #[arg(long, global = true, value_name = "PEM")]
    pub(crate) ca_file: Option<PathBuf>,

    /// Accept any server certificate. For benchmarks on loopback only: anyone on the path could
    /// impersonate the server.
    #[arg(long, global = true)]
    pub(crate) insecure: bool,

    /// The name to send in SNI and to verify the certificate for (default: --domain).
    #[arg(long, global = true)]
    pub(crate) tls_name: Option<String>,

    /// Resume TLS sessions with tickets (off by default: every login is a full handshake).
    #[arg(long, global = true)]
    pub(crate) tls_resume: bool,

    /// Offer TLS 1.3 only.
    #[arg(long, global = true)]
    pub(crate) tls13_only: bool,

    /// SASL mechanism: `auto` (the strongest offered, with channel binding when possible) or a
    /// name such as SCRAM-SHA-1, SCRAM-SHA-256, SCRAM-SHA-256-PLUS, PLAIN.
    #[arg(long, global = true, default_value = "auto", value_parser = parse_mechanism)]
    pub(crate) mechanism: MechanismChoice,

    /// Account names are this prefix followed by a number from 0.
    #[arg(long, global = true, default_value = "loadtest")]
    pub(crate) users_prefix: String,

    /// The password of every load-test account.
    #[arg(long, global = true, default_value = "loadtest")]
    pub(crate) password: String,

    /// Cycle through this many accounts (sessions then differ by resource). Default: one
    /// account per connection.
    #[arg(long, global = true)]
    pub(crate) accounts: Option<usize>,

    /// Connections opened (logins in flight) at once.
    #[arg(long, global = true, default_value_t = 50)]
    pub(crate) concurrency: usize,

    /// The server's process id: report its RSS and CPU time from /proc.
    #[arg(long, global = true, value_name = "PID")]
    pub(crate) server_pid: Option<u32>,

    /// Seconds allowed for one login, and for one clean close.
    #[arg(long, global = true, default_value = "30", value_parser = parse_secs)]
    pub(crate) timeout: Duration,

    /// Runtime worker threads (default: the number of CPUs).
    #[arg(long, global = true)]
    pub(crate) threads: Option<usize>,

    /// Print the report as JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// A scenario.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the account JIDs a run of N connections uses, one per line (to create them).
    Accounts {
        /// How many.
        #[arg(long)]
        count: usize,
    },
    /// Login storm: full logins (TCP, TLS, SASL, bind, presence), each closed cleanly at once.
    Logins {
        /// Logins in total.
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// Stop starting logins after this many seconds.
        #[arg(long, value_parser = parse_secs)]
        duration: Option<Duration>,
    },
    /// Open N sessions, hold them idle, report the server's RSS per session.
    Idle {
        /// Sessions to open.
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// Seconds to hold the sessions open once all are up (server pings are answered).
        #[arg(long, default_value = "10", value_parser = parse_secs)]
        hold: Duration,
        /// Seconds to wait after the last login before reading the server's RSS.
        #[arg(long, default_value = "2", value_parser = parse_secs)]
        settle: Duration,
        /// Send a whitespace keep-alive on every session this often (0: never).
        #[arg(long, default_value = "0", value_parser = parse_secs)]
        keepalive: Duration,
    },
    /// M pairs of sessions sending each other chat messages; delivered/s and latency.
    Messages {
        /// Pairs of sessions (2 × pairs logins); both sides of a pair send.
        #[arg(long, default_value_t = 10)]
        pairs: usize,
        /// Messages per second, all senders together; 0: as fast as possible, each session
        /// keeping --window messages in flight to its partner.
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        /// Seconds of sending.
        #[arg(long, default_value = "10", value_parser = parse_secs)]
        duration: Duration,
        /// Seconds to wait for messages still in flight after sending stops.
        #[arg(long, default_value = "2", value_parser = parse_secs)]
        drain: Duration,
        /// Messages in flight per session with --rate 0.
        #[arg(long, default_value_t = 16)]
        window: u64,
        /// Pad message bodies to at least this many bytes.
        #[arg(long, default_value_t = 0)]
        body_bytes: usize,
    },
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

fn parse_mechanism(s: &str) -> Result<MechanismChoice, String> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(MechanismChoice::Auto);
    }
    s.parse::<Mechanism>()
        .map(MechanismChoice::Fixed)
        .map_err(|_| format!("unknown SASL mechanism {s:?} (names are case-sensitive)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_a_full_command() {
        let cli = Cli::try_parse_from([
            "chatrix-loadgen",
            "--server",
            "127.0.0.1:5223",
            "--tls",
            "direct",
            "--insecure",
            "--mechanism",
            "SCRAM-SHA-1",
            "messages",
            "--pairs",
            "3",
            "--rate",
            "0",
            "--duration",
            "1.5",
            "--json",
        ])
        .expect("parses");
        assert_eq!(cli.common.tls, TlsMode::Direct);
        assert_eq!(
            cli.common.mechanism,
            MechanismChoice::Fixed(Mechanism::ScramSha1)
        );
        assert!(cli.common.json);
        let Command::Messages {
            pairs,
            rate,
            duration,
            ..
        } = cli.command
        else {
            panic!("messages expected");
        };
        assert_eq!((pairs, rate), (3, 0));
        assert_eq!(duration, Duration::from_millis(1500));
        assert!(parse_mechanism("scram-sha-1").is_err());
        assert!(parse_secs("-1").is_err());
    }
}
