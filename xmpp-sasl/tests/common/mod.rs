//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use xmpp_sasl::{
    ChannelBindings, ClientError, ClientOptions, ClientSession, ConnectionInfo, CredentialLookup,
    Failure, FixedRng, Mechanism, MemoryCredentials, ScramHash, ServerConfig, ServerOffer,
    ServerStep, StoredCredentials, saslprep,
};

pub const SECRET: &[u8] = b"test secret, at least sixteen bytes";

/// Iteration count used in property tests (debug builds make PBKDF2 slow; the bounds below are
/// lowered to match).
pub const TEST_ITERATIONS: u32 = 128;

pub fn exporter() -> Vec<u8> {
    vec![0xE7; 32]
}

pub fn end_point() -> Vec<u8> {
    vec![0x5E; 32]
}

/// A TLS 1.3 connection: both binding types available.
pub fn bindings() -> ChannelBindings {
    ChannelBindings {
        tls_exporter: Some(exporter()),
        tls_server_end_point: Some(end_point()),
    }
}

/// Default config with bounds lowered to [`TEST_ITERATIONS`].
pub fn config() -> ServerConfig {
    ServerConfig::new(SECRET)
        .and_then(|c| c.with_iteration_bounds(TEST_ITERATIONS, 100_000))
        .map(|c| c.with_unknown_user_params(TEST_ITERATIONS, 16))
        .expect("config")
}

pub fn offer(config: ServerConfig, connection: ConnectionInfo) -> ServerOffer {
    ServerOffer::new(Arc::new(config), connection)
}

/// Everything offered: TLS 1.3 with both bindings, domain example.org.
pub fn tls_offer() -> ServerOffer {
    offer(
        config(),
        ConnectionInfo::tls(bindings()).with_domain("example.org"),
    )
}

/// Register `user` with one record per hash at [`TEST_ITERATIONS`].
pub fn register(store: &mut MemoryCredentials, user: &str, password: &str, rng: &mut FixedRng) {
    let mut records = Vec::new();
    for h in ScramHash::ALL {
        let mut salt = [0u8; 16];
        xmpp_sasl::Rng::fill_bytes(rng, &mut salt).expect("rng");
        records
            .push(StoredCredentials::derive(h, password, &salt, TEST_ITERATIONS).expect("derive"));
    }
    let name = saslprep(user).expect("username").into_owned();
    store.insert(&name, records);
}

pub fn store_with(user: &str, password: &str) -> MemoryCredentials {
    let mut store = MemoryCredentials::new();
    register(&mut store, user, password, &mut FixedRng::new(99));
    store
}

pub fn client_options(user: &str, password: &str) -> ClientOptions {
    ClientOptions::new(user, password).with_iteration_bounds(TEST_ITERATIONS, 100_000)
}

/// How an exchange ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Both sides agree the user is authenticated.
    Success {
        authcid: String,
        authzid: Option<String>,
    },
    /// The server failed the exchange.
    Server(Failure),
    /// The client failed the exchange.
    Client(ClientError),
}

impl Outcome {
    pub fn server_failure(&self) -> Option<Failure> {
        match self {
            Self::Server(f) => Some(*f),
            _ => None,
        }
    }

    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success { .. })
    }
}

/// Messages seen on the wire, in order: client-first/initial response, server-first, ...
pub type Transcript = Vec<Vec<u8>>;

/// Run a full exchange between our client and our server. `tamper(index, message)` may change
/// each message in flight (index 0 is the client's initial response, then alternating).
pub fn exchange(
    offer: &ServerOffer,
    mechanism: Mechanism,
    options: &ClientOptions,
    store: &dyn CredentialLookup,
    rng: &mut FixedRng,
    tamper: &mut dyn FnMut(usize, &mut Vec<u8>),
) -> (Outcome, Transcript) {
    let mut transcript = Vec::new();
    let mut client = match ClientSession::new(mechanism, options, rng) {
        Ok(c) => c,
        Err(e) => return (Outcome::Client(e), transcript),
    };
    let mut server = match offer.start(mechanism.as_str(), rng) {
        Ok(s) => s,
        Err(f) => return (Outcome::Server(f), transcript),
    };
    let mut msg = match client.initial_response() {
        Ok(m) => m,
        Err(e) => return (Outcome::Client(e), transcript),
    };
    for index in (0..16).step_by(2) {
        tamper(index, &mut msg);
        transcript.push(msg.clone());
        let step = match server.handle_client_message_with(&msg, store) {
            Ok(s) => s,
            Err(f) => return (Outcome::Server(f), transcript),
        };
        match step {
            ServerStep::Challenge(mut c) => {
                tamper(index + 1, &mut c);
                transcript.push(c.clone());
                msg = match client.handle_challenge(&c) {
                    Ok(m) => m,
                    Err(e) => return (Outcome::Client(e), transcript),
                };
            }
            ServerStep::Success {
                additional_data,
                authcid,
                authzid,
            } => {
                let mut data = additional_data.unwrap_or_default();
                tamper(index + 1, &mut data);
                transcript.push(data.clone());
                let data = (!data.is_empty()).then_some(data);
                return match client.handle_success(data.as_deref()) {
                    Ok(()) => {
                        assert!(server.is_authenticated() && client.is_authenticated());
                        (Outcome::Success { authcid, authzid }, transcript)
                    }
                    Err(e) => (Outcome::Client(e), transcript),
                };
            }
            other => panic!("unexpected step {other:?}"),
        }
    }
    panic!("exchange did not terminate");
}

/// [`exchange`] without tampering.
pub fn honest(
    offer: &ServerOffer,
    mechanism: Mechanism,
    options: &ClientOptions,
    store: &dyn CredentialLookup,
    rng: &mut FixedRng,
) -> (Outcome, Transcript) {
    exchange(offer, mechanism, options, store, rng, &mut |_, _| {})
}

/// Split a SCRAM message into its `k=v` attributes (test-side, tolerant).
pub fn attrs(msg: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(msg)
        .split(',')
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

pub fn attr(msg: &[u8], name: &str) -> Option<String> {
    attrs(msg)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}
