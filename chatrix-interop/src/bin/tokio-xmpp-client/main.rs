//! `tokio-xmpp-client`: log in to an XMPP server with tokio-xmpp and report what happened.
//!
//! The interop tests run it as a child process so that they can set `SSL_CERT_FILE`: tokio-xmpp
//! trusts the certificates `rustls-native-certs` loads, and that crate reads the variable (see
//! the crate docs). It can also be run by hand against any server.
//!
//! On success it prints, one per line on standard output:
//!
//! ```text
//! mechanism: SCRAM-SHA-256-PLUS        the SASL mechanism tokio-xmpp sent in <auth/>
//! channel-binding: tls-exporter        from its GS2 header ("none" for "n", "not-offered" for "y")
//! online: alice@localhost/phone        the JID the server bound
//! sent: bob@localhost/laptop           after --send-to
//! received: bob@localhost/laptop pong  after --expect-from/--expect-body
//! roster: bob@localhost|Bob|both|Friends,Work   after --roster, one line per item
//! ```
//!
//! and exits with 0. A failed login (a TLS or certificate error, no usable mechanism, a SASL
//! failure, …) prints `error: login failed: …` on standard error, with tokio-xmpp's own error
//! text, and exits with 1, as does a timeout.

mod observe;
mod tls12;

use std::process::ExitCode;
use std::str::FromStr as _;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use futures::StreamExt as _;
use tokio_xmpp::connect::DnsConfig;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::parsers::message::{Lang, Message, MessageType};
use tokio_xmpp::xmlstream::Timeouts;
use tokio_xmpp::{Client, Event, Stanza};

/// How the client reaches TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Plaintext, then `<starttls/>` (RFC 6120).
    Starttls,
    /// TLS from the first byte (XEP-0368).
    Direct,
}

/// Which TLS versions the client allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TlsVersion {
    /// tokio-xmpp's own connector, unchanged (TLS 1.3 or 1.2, as rustls negotiates).
    Default,
    /// TLS 1.2 only, through this binary's connector (tokio-xmpp then uses plain SCRAM).
    #[value(name = "1.2")]
    Tls12,
}

/// Log in to an XMPP server with tokio-xmpp, optionally send and await one message.
#[derive(Debug, Parser)]
#[command(name = "tokio-xmpp-client", version)]
struct Args {
    /// The account; a full JID asks for that resource.
    #[arg(long)]
    jid: String,
    /// Its password.
    #[arg(long)]
    password: String,
    /// IP:PORT to connect to (no DNS); the TLS server name is the JID's domain.
    #[arg(long)]
    server: String,
    /// STARTTLS or Direct TLS.
    #[arg(long, value_enum)]
    mode: Mode,
    /// TLS versions allowed.
    #[arg(long, value_enum, default_value = "default")]
    tls: TlsVersion,
    /// After login, send a chat message to this JID...
    #[arg(long, requires = "body")]
    send_to: Option<String>,
    /// ...with this body.
    #[arg(long, requires = "send_to")]
    body: Option<String>,
    /// After login (and sending), wait for a message from exactly this JID...
    #[arg(long, requires = "expect_body")]
    expect_from: Option<String>,
    /// ...with this body.
    #[arg(long, requires = "expect_from")]
    expect_body: Option<String>,
    /// Answer the expected message with this body.
    #[arg(long, requires = "expect_from")]
    reply: Option<String>,
    /// After login, fetch the roster (RFC 6121 §2.1.3) and print its items.
    #[arg(long)]
    roster: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    /// Copy tokio-xmpp's log (every byte sent and received) to standard error.
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let timeout = Duration::from_secs(args.timeout);
    match runtime.block_on(async { tokio::time::timeout(timeout, run(&args)).await }) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("error: timed out after {}s", args.timeout);
            ExitCode::FAILURE
        }
    }
}

fn parse_jid(s: &str) -> Result<Jid, String> {
    Jid::from_str(s).map_err(|e| format!("{s}: {e}"))
}

async fn run(args: &Args) -> Result<(), String> {
    let mut failures = observe::install(args.verbose);
    let jid = parse_jid(&args.jid)?;
    let dns = DnsConfig::addr(&args.server);
    let password = args.password.clone();
    let timeouts = Timeouts::default();
    let mut client = match (args.mode, args.tls) {
        (Mode::Starttls, TlsVersion::Default) => Client::new_starttls(jid, password, dns, timeouts),
        (Mode::Direct, TlsVersion::Default) => {
            Client::new_direct_tls_with_config(jid, password, dns, timeouts)
        }
        (mode, TlsVersion::Tls12) => {
            let start = match mode {
                Mode::Starttls => tls12::Start::StartTls,
                Mode::Direct => tls12::Start::Direct,
            };
            let connector = tls12::Tls12Connector::new(&args.server, start)?;
            Client::new_with_connector(jid, password, connector, timeouts)
        }
    };
    // Online, or the first failed attempt (tokio-xmpp would retry forever).
    let bound = loop {
        tokio::select! {
            event = client.next() => match event {
                Some(Event::Online { bound_jid, .. }) => break bound_jid,
                Some(Event::Disconnected(e)) => return Err(format!("disconnected: {e}")),
                Some(Event::Stanza(_)) => {}
                None => return Err("the client stopped before going online".to_owned()),
            },
            Some(failure) = failures.recv() => return Err(format!("login failed: {failure}")),
        }
    };
    let auth = observe::last_auth();
    println!(
        "mechanism: {}",
        auth.as_ref().map_or("unknown", |a| a.mechanism.as_str())
    );
    println!(
        "channel-binding: {}",
        auth.as_ref()
            .map_or("unknown", |a| a.channel_binding.as_str())
    );
    println!("online: {bound}");

    if args.roster {
        for line in fetch_roster(&mut client).await? {
            println!("roster: {line}");
        }
    }

    if let (Some(to), Some(body)) = (&args.send_to, &args.body) {
        let to = parse_jid(to)?;
        send_chat(&mut client, to.clone(), body).await?;
        println!("sent: {to}");
    }

    if let (Some(from), Some(body)) = (&args.expect_from, &args.expect_body) {
        let from = parse_jid(from)?;
        loop {
            let message = match client.next().await {
                Some(Event::Stanza(Stanza::Message(m))) => m,
                Some(Event::Stanza(_) | Event::Online { .. }) => continue,
                Some(Event::Disconnected(e)) => return Err(format!("disconnected: {e}")),
                None => return Err("the stream ended before the message came".to_owned()),
            };
            let got = message.get_best_body_cloned(vec![]).map(|(_, b)| b);
            if message.from.as_ref() == Some(&from) && got.as_deref() == Some(body.as_str()) {
                println!("received: {from} {body}");
                break;
            }
            eprintln!(
                "ignored a message from {:?} with body {got:?}",
                message.from.as_ref().map(ToString::to_string)
            );
        }
        if let Some(reply) = &args.reply {
            send_chat(&mut client, from.clone(), reply).await?;
            println!("sent: {from}");
        }
    }

    client.send_end().await.map_err(|e| format!("closing: {e}"))
}

/// Asks for the roster with xmpp-parsers' types and describes each item as
/// `jid|name|subscription|group,group`.
async fn fetch_roster(client: &mut Client) -> Result<Vec<String>, String> {
    use tokio_xmpp::parsers::iq::Iq;
    use tokio_xmpp::parsers::roster::{Roster, Subscription};
    let request = Iq::from_get(
        "roster-1",
        Roster {
            ver: None,
            items: Vec::new(),
        },
    );
    client
        .send_stanza(request.into())
        .await
        .map_err(|e| format!("sending the roster get: {e}"))?;
    loop {
        let payload = match client.next().await {
            Some(Event::Stanza(Stanza::Iq(Iq::Result { id, payload, .. }))) if id == "roster-1" => {
                payload
            }
            Some(Event::Stanza(Stanza::Iq(Iq::Error { id, error, .. }))) if id == "roster-1" => {
                return Err(format!("roster get failed: {error:?}"));
            }
            Some(Event::Stanza(_) | Event::Online { .. }) => continue,
            Some(Event::Disconnected(e)) => return Err(format!("disconnected: {e}")),
            None => return Err("the stream ended before the roster came".to_owned()),
        };
        let roster = match payload {
            Some(element) => Roster::try_from(element).map_err(|e| format!("roster: {e}"))?,
            None => return Ok(Vec::new()),
        };
        return Ok(roster
            .items
            .iter()
            .map(|item| {
                let subscription = match item.subscription {
                    Subscription::None => "none",
                    Subscription::From => "from",
                    Subscription::To => "to",
                    Subscription::Both => "both",
                    Subscription::Remove => "remove",
                };
                let groups: Vec<&str> = item.groups.iter().map(|g| g.0.as_str()).collect();
                format!(
                    "{}|{}|{subscription}|{}",
                    item.jid,
                    item.name.as_deref().unwrap_or(""),
                    groups.join(",")
                )
            })
            .collect());
    }
}

async fn send_chat(client: &mut Client, to: Jid, body: &str) -> Result<(), String> {
    let message =
        Message::new_with_type(MessageType::Chat, Some(to)).with_body(Lang::new(), body.to_owned());
    client
        .send_stanza(message.into())
        .await
        .map(drop)
        .map_err(|e| format!("sending: {e}"))
}
