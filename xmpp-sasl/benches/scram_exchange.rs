//! Full SASL exchanges, server side and client side measured separately.
//!
//! Server side: everything the server does for one login (start the session, parse the
//! client-first, build the server-first with the SSDP hash, verify the client-final, sign), with
//! the stored credentials already derived at 4096 iterations: SCRAM logins cost the server no
//! PBKDF2. The client messages are precomputed once; a fixed RNG seed gives every iteration the
//! same server nonce so they stay valid. PLAIN is the exception: the server runs PBKDF2 at the
//! stored count on every login.
//!
//! Client side: the PBKDF2 at 4096 iterations dominates.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use xmpp_sasl::{
    ChannelBindingType, ChannelBindings, ClientChannelBinding, ClientOptions, ClientSession,
    ConnectionInfo, FixedRng, Mechanism, ServerConfig, ServerOffer, ServerStep, StoredCredentials,
};

const SERVER_SEED: u64 = 7;
const CLIENT_SEED: u64 = 3;

fn bindings() -> ChannelBindings {
    ChannelBindings {
        tls_exporter: Some(vec![0xE7; 32]),
        tls_server_end_point: Some(vec![0x5E; 32]),
    }
}

fn offer() -> ServerOffer {
    let config = ServerConfig::new(b"benchmark secret, long enough").expect("config");
    ServerOffer::new(
        Arc::new(config),
        ConnectionInfo::tls(bindings())
            .with_domain("example.org")
            .with_external_identities(vec!["remote.example".into()]),
    )
}

fn options(mechanism: Mechanism) -> ClientOptions {
    let o = if mechanism == Mechanism::External {
        ClientOptions::external()
    } else {
        ClientOptions::new("user", "pencil")
    };
    if mechanism.is_plus() {
        o.with_channel_binding(
            ClientChannelBinding::Bind(ChannelBindingType::TlsExporter),
            bindings(),
        )
    } else {
        o
    }
}

fn credentials(mechanism: Mechanism) -> Option<StoredCredentials> {
    let hash = mechanism
        .scram_hash()
        .unwrap_or(xmpp_sasl::ScramHash::Sha256);
    (mechanism != Mechanism::External).then(|| {
        StoredCredentials::generate(hash, "pencil", 4096, &mut FixedRng::new(1)).expect("creds")
    })
}

/// One server-side login, returning whether it succeeded.
fn server_login(
    offer: &ServerOffer,
    mechanism: Mechanism,
    creds: Option<&StoredCredentials>,
    client_msgs: &[Vec<u8>],
) -> bool {
    let mut rng = FixedRng::new(SERVER_SEED);
    let Ok(mut server) = offer.start(mechanism.as_str(), &mut rng) else {
        return false;
    };
    let mut msgs = client_msgs.iter();
    let mut step = server.handle_client_message(msgs.next().expect("first"));
    loop {
        step = match step {
            Ok(ServerStep::NeedCredentials { .. }) => match creds {
                Some(c) => server.provide_credentials(c.clone()),
                None => server.user_not_found(),
            },
            Ok(ServerStep::Challenge(_)) => match msgs.next() {
                Some(m) => server.handle_client_message(m),
                None => return false,
            },
            Ok(ServerStep::Success { .. }) => return true,
            Ok(_) | Err(_) => return false,
        };
    }
}

/// Run an honest exchange once and record the client's messages and the server's challenges.
fn record(
    offer: &ServerOffer,
    mechanism: Mechanism,
    creds: Option<&StoredCredentials>,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut client = ClientSession::new(
        mechanism,
        &options(mechanism),
        &mut FixedRng::new(CLIENT_SEED),
    )
    .expect("client");
    let mut server = offer
        .start(mechanism.as_str(), &mut FixedRng::new(SERVER_SEED))
        .expect("server");
    let mut client_msgs = vec![client.initial_response().expect("first")];
    let mut server_msgs = Vec::new();
    let mut step = server.handle_client_message(&client_msgs[0]);
    loop {
        step = match step.expect("honest exchange") {
            ServerStep::NeedCredentials { .. } => {
                server.provide_credentials(creds.expect("creds").clone())
            }
            ServerStep::Challenge(c) => {
                let r = client.handle_challenge(&c).expect("response");
                server_msgs.push(c);
                client_msgs.push(r.clone());
                server.handle_client_message(&r)
            }
            ServerStep::Success {
                additional_data, ..
            } => {
                client
                    .handle_success(additional_data.as_deref())
                    .expect("verified");
                server_msgs.push(additional_data.unwrap_or_default());
                return (client_msgs, server_msgs);
            }
            _ => unreachable!(),
        };
    }
}

const ALL: [Mechanism; 8] = [
    Mechanism::ScramSha1,
    Mechanism::ScramSha1Plus,
    Mechanism::ScramSha256,
    Mechanism::ScramSha256Plus,
    Mechanism::ScramSha512,
    Mechanism::ScramSha512Plus,
    Mechanism::Plain,
    Mechanism::External,
];

fn server_side(c: &mut Criterion) {
    let offer = offer();
    let mut group = c.benchmark_group("server_login");
    for mechanism in ALL {
        let creds = credentials(mechanism);
        let (client_msgs, _) = record(&offer, mechanism, creds.as_ref());
        assert!(server_login(
            &offer,
            mechanism,
            creds.as_ref(),
            &client_msgs
        ));
        if mechanism == Mechanism::Plain {
            group.sample_size(20);
        } else {
            group.sample_size(100);
        }
        group.bench_function(mechanism.as_str(), |b| {
            b.iter(|| {
                assert!(server_login(
                    black_box(&offer),
                    mechanism,
                    creds.as_ref(),
                    black_box(&client_msgs)
                ));
            });
        });
    }
    // Unknown user: the fake-credential path must cost about the same as a real login.
    let creds = credentials(Mechanism::ScramSha256);
    let (client_msgs, _) = record(&offer, Mechanism::ScramSha256, creds.as_ref());
    group.bench_function("SCRAM-SHA-256 unknown user", |b| {
        b.iter(|| {
            assert!(!server_login(
                black_box(&offer),
                Mechanism::ScramSha256,
                None,
                black_box(&client_msgs)
            ));
        });
    });
    group.finish();
}

fn client_side(c: &mut Criterion) {
    let offer = offer();
    let mut group = c.benchmark_group("client_login");
    group.sample_size(20);
    for mechanism in [
        Mechanism::ScramSha1,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512Plus,
    ] {
        let creds = credentials(mechanism);
        let (_, server_msgs) = record(&offer, mechanism, creds.as_ref());
        let opts = options(mechanism);
        group.bench_function(mechanism.as_str(), |b| {
            b.iter(|| {
                let mut client =
                    ClientSession::new(mechanism, &opts, &mut FixedRng::new(CLIENT_SEED))
                        .expect("client");
                client.initial_response().expect("first");
                client.handle_challenge(&server_msgs[0]).expect("final");
                client
                    .handle_success(Some(&server_msgs[1]))
                    .expect("verified");
                black_box(client.is_authenticated())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, server_side, client_side);
criterion_main!(benches);
