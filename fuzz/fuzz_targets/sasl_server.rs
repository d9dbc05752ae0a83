//! The SASL server side (xmpp-sasl) fed by a fuzzer, with a fixed RNG and fixed credentials.
//!
//! Two modes, chosen by the input:
//! * `Raw`: arbitrary client messages for any mechanism, on a connection whose TLS state and
//!   channel bindings are also chosen by the input.
//! * `Tampered`: an honest client's messages for SCRAM or PLAIN, each XORed with a mask.
//!
//! Checks: no panic; a failure is sticky (the same failure again for any later message); nothing
//! is accepted after success; `NeedCredentials` never escapes `handle_client_message_with`;
//! raw input never authenticates except through EXTERNAL (the identity is not a secret) or PLAIN
//! carrying the password (up to SASLprep); a tampered exchange only succeeds if no byte was changed.
#![no_main]

use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use xmpp_sasl::{
    ChannelBindingType, ChannelBindings, ClientChannelBinding, ClientOptions, ClientSession,
    ConnectionInfo, CredentialLookup, Failure, FixedRng, LookupError, Mechanism, ScramHash,
    ServerConfig, ServerOffer, ServerSession, ServerStep, StoredCredentials,
};

const USER: &str = "user";
/// No substring of this has a SASLprep (NFKC) equivalent of the same byte length.
const PASSWORD: &str = "Q7#x9!v2@K";
/// Low, so that each run stays cheap; the bounds below are lowered to match.
const ITERATIONS: u32 = 16;

fn records() -> &'static [StoredCredentials] {
    static RECORDS: OnceLock<Vec<StoredCredentials>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        ScramHash::ALL
            .into_iter()
            .map(|h| {
                StoredCredentials::derive(h, PASSWORD, b"fixed fuzz salt!", ITERATIONS)
                    .expect("derive")
            })
            .collect()
    })
}

struct Store {
    known: bool,
}

impl CredentialLookup for Store {
    fn lookup(
        &self,
        username: &str,
        hash: ScramHash,
    ) -> Result<Option<StoredCredentials>, LookupError> {
        Ok((self.known && username == USER)
            .then(|| records().iter().find(|r| r.hash() == hash).cloned())
            .flatten())
    }
}

#[derive(Arbitrary, Debug)]
enum Mode {
    Raw(Vec<Vec<u8>>),
    Tampered {
        client_seed: u64,
        exporter: bool,
        masks: Vec<Vec<u8>>,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    mechanism: u8,
    /// bit 0: encrypted, 1: tls-exporter data, 2: tls-server-end-point data, 3: external
    /// identities, 4: SSDP off, 5: domain set.
    connection: u8,
    known_user: bool,
    mode: Mode,
}

fn offer(bits: u8) -> ServerOffer {
    let config = ServerConfig::new(b"fuzzing server secret, fixed")
        .and_then(|c| c.with_iteration_bounds(1, 100_000))
        .expect("config")
        .with_unknown_user_params(ITERATIONS, 16)
        .with_ssdp(bits & 16 == 0);
    let bindings = ChannelBindings {
        tls_exporter: (bits & 2 != 0).then(|| vec![0xE7; 32]),
        tls_server_end_point: (bits & 4 != 0).then(|| vec![0x5E; 32]),
    };
    let mut conn = if bits & 1 != 0 {
        ConnectionInfo::tls(bindings)
    } else {
        ConnectionInfo::plaintext()
    };
    if bits & 8 != 0 {
        conn = conn.with_external_identities(vec!["a.example".into(), USER.into()]);
    }
    if bits & 32 != 0 {
        conn = conn.with_domain("example.org");
    }
    ServerOffer::new(Arc::new(config), conn)
}

/// Tracks the session's observable state and checks the stickiness rules.
struct Checked {
    session: ServerSession,
    failed: Option<Failure>,
    succeeded: bool,
}

impl Checked {
    fn feed(&mut self, msg: &[u8], store: &Store) -> Option<ServerStep> {
        let r = self.session.handle_client_message_with(msg, store);
        if let Some(f) = self.failed {
            assert_eq!(r.as_ref().err(), Some(&f), "failure must be sticky");
            return None;
        }
        if self.succeeded {
            assert!(r.is_err(), "nothing is accepted after success");
            return None;
        }
        match r {
            Err(f) => {
                self.failed = Some(f);
                assert!(self.session.is_finished() && !self.session.is_authenticated());
                None
            }
            Ok(ServerStep::NeedCredentials { .. }) => panic!("NeedCredentials escaped"),
            Ok(step) => {
                if matches!(step, ServerStep::Success { .. }) {
                    self.succeeded = true;
                    assert!(self.session.is_authenticated());
                }
                Some(step)
            }
        }
    }
}

fn xor(msg: &mut [u8], mask: Option<&Vec<u8>>) -> bool {
    let mut changed = false;
    if let Some(mask) = mask {
        for (b, m) in msg.iter_mut().zip(mask) {
            *b ^= m;
            changed |= *m != 0;
        }
    }
    changed
}

fuzz_target!(|input: Input| {
    let mechanism = Mechanism::ALL[usize::from(input.mechanism) % Mechanism::ALL.len()];
    let offer = offer(input.connection);
    let store = Store {
        known: input.known_user,
    };
    let Ok(session) = offer.start(mechanism.as_str(), &mut FixedRng::new(1)) else {
        return;
    };
    let mut s = Checked {
        session,
        failed: None,
        succeeded: false,
    };

    match input.mode {
        Mode::Raw(msgs) => {
            for msg in msgs.iter().take(8) {
                if let Some(ServerStep::Success { .. }) = s.feed(msg, &store) {
                    // PLAIN: only the password itself (up to SASLprep) gets in.
                    let carries_password = msg
                        .split(|b| *b == 0)
                        .nth(2)
                        .and_then(|p| std::str::from_utf8(p).ok())
                        .and_then(|p| xmpp_sasl::saslprep(p).ok())
                        .is_some_and(|p| p == PASSWORD);
                    assert!(
                        mechanism == Mechanism::External
                            || (mechanism == Mechanism::Plain && carries_password),
                        "raw input authenticated with {mechanism}"
                    );
                }
            }
        }
        Mode::Tampered {
            client_seed,
            exporter,
            masks,
        } => {
            if mechanism == Mechanism::External {
                return;
            }
            let mut options = ClientOptions::new(USER, PASSWORD).with_iteration_bounds(1, 100_000);
            if mechanism.is_plus() {
                let ty = if exporter {
                    ChannelBindingType::TlsExporter
                } else {
                    ChannelBindingType::TlsServerEndPoint
                };
                options = options.with_channel_binding(
                    ClientChannelBinding::Bind(ty),
                    offer.connection().channel_bindings().clone(),
                );
            }
            let Ok(mut client) =
                ClientSession::new(mechanism, &options, &mut FixedRng::new(client_seed))
            else {
                return;
            };
            let Ok(mut msg) = client.initial_response() else {
                return;
            };
            let mut tampered = false;
            let mut masks = masks.iter();
            for _ in 0..4 {
                tampered |= xor(&mut msg, masks.next());
                match s.feed(&msg, &store) {
                    Some(ServerStep::Challenge(c)) => match client.handle_challenge(&c) {
                        Ok(next) => msg = next,
                        Err(_) => {
                            assert!(tampered, "honest client refused an honest server");
                            return;
                        }
                    },
                    Some(ServerStep::Success {
                        additional_data, ..
                    }) => {
                        assert!(!tampered, "a tampered exchange succeeded");
                        if input.known_user {
                            client
                                .handle_success(additional_data.as_deref())
                                .expect("server signature");
                        }
                        return;
                    }
                    Some(ServerStep::NeedCredentials { .. }) => unreachable!(),
                    Some(_) => return,
                    None => {
                        // Failure: honest exchanges with a known user on an offered mechanism
                        // must not fail.
                        assert!(tampered || !input.known_user, "honest exchange failed");
                        return;
                    }
                }
            }
        }
    }
});
