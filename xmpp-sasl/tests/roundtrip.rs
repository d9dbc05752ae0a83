//! Property tests: our client against our server.
//!
//! * succeeds for random usernames and passwords (Unicode, commas, equals signs, characters that
//!   SASLprep maps) for every mechanism;
//! * fails for any one-byte change to the proof, the nonce, the channel-binding data or the GS2
//!   header (and, more broadly, to any byte of the client-final-message).

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Outcome, TEST_ITERATIONS, client_options, exchange, honest, register, tls_offer};
use proptest::prelude::*;
use xmpp_sasl::{
    ChannelBindingType, ChannelBindings, ClientChannelBinding, ConnectionInfo, FailureCondition,
    FixedRng, Mechanism, MemoryCredentials, saslprep,
};

const SCRAM: [Mechanism; 6] = [
    Mechanism::ScramSha1,
    Mechanism::ScramSha1Plus,
    Mechanism::ScramSha256,
    Mechanism::ScramSha256Plus,
    Mechanism::ScramSha512,
    Mechanism::ScramSha512Plus,
];

/// Characters for names: ASCII printable (with `,` and `=` weighted up), letters from several
/// scripts, and characters SASLprep maps (NBSP → space, soft hyphen → nothing, ﬁ → fi, Ⅸ → IX).
fn name_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        2 => Just(','),
        2 => Just('='),
        3 => proptest::sample::select(vec![
            'ä', 'ö', 'ß', 'é', 'ñ', 'Ω', 'Ж', 'д', '中', '文', 'ひ', 'ł', '€', '\u{00A0}', '\u{00AD}',
            '\u{FB01}', '\u{2168}', '\u{00AA}',
        ]),
    ]
}

fn name() -> impl Strategy<Value = String> {
    proptest::collection::vec(name_char(), 1..24).prop_map(|v| v.into_iter().collect())
}

fn plus_options(
    user: &str,
    password: &str,
    mechanism: Mechanism,
    ty: ChannelBindingType,
    bindings: ChannelBindings,
) -> xmpp_sasl::ClientOptions {
    let o = client_options(user, password);
    if mechanism.is_plus() {
        o.with_channel_binding(ClientChannelBinding::Bind(ty), bindings)
    } else {
        o
    }
}

fn cb_type(pick: bool) -> ChannelBindingType {
    if pick {
        ChannelBindingType::TlsExporter
    } else {
        ChannelBindingType::TlsServerEndPoint
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_mechanism_succeeds(user in name(), password in name(), pick in any::<bool>(), seed in any::<u64>()) {
        prop_assume!(saslprep(&user).is_ok() && saslprep(&password).is_ok());
        let mut rng = FixedRng::new(seed);
        let mut store = MemoryCredentials::new();
        register(&mut store, &user, &password, &mut rng);
        let offer = tls_offer();
        let expected = saslprep(&user).map(std::borrow::Cow::into_owned).ok();
        for mechanism in SCRAM.into_iter().chain([Mechanism::Plain]) {
            let options = plus_options(&user, &password, mechanism, cb_type(pick), common::bindings())
                .with_advertised(offer.advertised())
                .require_ssdp(mechanism != Mechanism::Plain);
            let (outcome, _) = honest(&offer, mechanism, &options, &store, &mut rng);
            prop_assert_eq!(
                outcome,
                Outcome::Success { authcid: expected.clone().unwrap_or_default(), authzid: None },
                "{}", mechanism
            );
        }
    }

    #[test]
    fn wrong_password_fails(user in name(), password in name(), other in name(), seed in any::<u64>()) {
        prop_assume!(saslprep(&user).is_ok() && saslprep(&password).is_ok());
        prop_assume!(saslprep(&other).is_ok() && saslprep(&other).ok() != saslprep(&password).ok());
        let mut rng = FixedRng::new(seed);
        let mut store = MemoryCredentials::new();
        register(&mut store, &user, &password, &mut rng);
        let offer = tls_offer();
        for mechanism in SCRAM.into_iter().chain([Mechanism::Plain]) {
            let options = plus_options(&user, &other, mechanism, cb_type(true), common::bindings());
            let (outcome, _) = honest(&offer, mechanism, &options, &store, &mut rng);
            prop_assert_eq!(
                outcome.server_failure().map(|f| f.condition()),
                Some(FailureCondition::NotAuthorized)
            );
        }
    }

    /// One byte of the decoded proof changed.
    #[test]
    fn proof_byte_change_fails(m in 0usize..6, pos in any::<prop::sample::Index>(), x in 1u8..=255, seed in any::<u64>()) {
        let mechanism = SCRAM[m];
        let (outcome, _) = run_tampered(mechanism, seed, |i, msg| {
            if i == 2 {
                *msg = rewrite_attr(msg, "p", |proof| {
                    let mut raw = STANDARD.decode(proof).expect("proof");
                    let idx = pos.index(raw.len());
                    raw[idx] ^= x;
                    STANDARD.encode(raw)
                });
            }
        });
        prop_assert_eq!(outcome.server_failure().map(|f| f.condition()), Some(FailureCondition::NotAuthorized));
    }

    /// One byte of the nonce in the client-final changed (to another printable character).
    #[test]
    fn nonce_byte_change_fails(m in 0usize..6, pos in any::<prop::sample::Index>(), c in 0x21u8..0x7f, seed in any::<u64>()) {
        prop_assume!(c != b',');
        let mechanism = SCRAM[m];
        let (outcome, _) = run_tampered(mechanism, seed, |i, msg| {
            if i == 2 {
                *msg = rewrite_attr(msg, "r", |nonce| {
                    let mut b = nonce.as_bytes().to_vec();
                    let idx = pos.index(b.len());
                    if b[idx] == c { b[idx] = if c == b'A' { b'B' } else { b'A' }; } else { b[idx] = c; }
                    String::from_utf8(b).expect("ascii")
                });
            }
        });
        prop_assert_eq!(outcome.server_failure().map(|f| f.condition()), Some(FailureCondition::NotAuthorized));
    }

    /// The client binds to data that differs from the server's in one byte.
    #[test]
    fn channel_binding_data_byte_change_fails(m in 0usize..3, pick in any::<bool>(), pos in 0usize..32, x in 1u8..=255, seed in any::<u64>()) {
        let mechanism = [Mechanism::ScramSha1Plus, Mechanism::ScramSha256Plus, Mechanism::ScramSha512Plus][m];
        let mut theirs = common::bindings();
        let ty = cb_type(pick);
        let data = match ty {
            ChannelBindingType::TlsExporter => theirs.tls_exporter.as_mut(),
            _ => theirs.tls_server_end_point.as_mut(),
        }.expect("data");
        data[pos] ^= x;
        let mut store = MemoryCredentials::new();
        let mut rng = FixedRng::new(seed);
        register(&mut store, "user", "pencil", &mut rng);
        let options = plus_options("user", "pencil", mechanism, ty, theirs);
        let (outcome, _) = honest(&tls_offer(), mechanism, &options, &store, &mut rng);
        prop_assert_eq!(
            outcome.server_failure().map(|f| (f.condition(), f.reason())),
            Some((FailureCondition::NotAuthorized, xmpp_sasl::FailureReason::ChannelBindingMismatch))
        );
    }

    /// One byte of the decoded `c=` (GS2 header or binding data) changed in flight.
    #[test]
    fn c_attribute_byte_change_fails(m in 0usize..6, pos in any::<prop::sample::Index>(), x in 1u8..=255, seed in any::<u64>()) {
        let mechanism = SCRAM[m];
        let (outcome, _) = run_tampered(mechanism, seed, |i, msg| {
            if i == 2 {
                *msg = rewrite_attr(msg, "c", |c| {
                    let mut raw = STANDARD.decode(c).expect("c");
                    let idx = pos.index(raw.len());
                    raw[idx] ^= x;
                    STANDARD.encode(raw)
                });
            }
        });
        prop_assert_eq!(outcome.server_failure().map(|f| f.condition()), Some(FailureCondition::NotAuthorized));
    }

    /// One byte of the GS2 header in the client-first-message changed in flight (any value).
    #[test]
    fn gs2_header_byte_change_fails(m in 0usize..6, pos in any::<prop::sample::Index>(), x in 1u8..=255, seed in any::<u64>()) {
        let mechanism = SCRAM[m];
        let (outcome, _) = run_tampered(mechanism, seed, |i, msg| {
            if i == 0 {
                // The header ends at the second comma.
                let end = msg.iter().enumerate().filter(|(_, b)| **b == b',').nth(1).map(|(i, _)| i + 1).expect("gs2");
                let idx = pos.index(end);
                msg[idx] ^= x;
            }
        });
        prop_assert!(!outcome.is_success(), "{:?}", outcome);
    }

    /// Any one-byte change anywhere in the client-final-message.
    #[test]
    fn any_client_final_byte_change_fails(m in 0usize..6, pos in any::<prop::sample::Index>(), x in 1u8..=255, seed in any::<u64>()) {
        let mechanism = SCRAM[m];
        let (outcome, _) = run_tampered(mechanism, seed, |i, msg| {
            if i == 2 {
                let idx = pos.index(msg.len());
                msg[idx] ^= x;
            }
        });
        prop_assert!(outcome.server_failure().is_some(), "{:?}", outcome);
    }

    /// Any one-byte change anywhere in the server-first-message: the client or the server notices.
    #[test]
    fn any_server_first_byte_change_fails(m in 0usize..6, pos in any::<prop::sample::Index>(), x in 1u8..=255, seed in any::<u64>()) {
        let mechanism = SCRAM[m];
        let (outcome, _) = run_tampered(mechanism, seed, |i, msg| {
            if i == 1 {
                let idx = pos.index(msg.len());
                msg[idx] ^= x;
            }
        });
        prop_assert!(!outcome.is_success(), "{:?}", outcome);
    }

    /// EXTERNAL authenticates exactly the identity the TLS layer verified.
    #[test]
    fn external_roundtrip(identity in name(), ask in any::<bool>()) {
        prop_assume!(!identity.contains('\0'));
        let offer = common::offer(
            common::config(),
            ConnectionInfo::tls(ChannelBindings::none()).with_external_identities(vec![identity.clone()]),
        );
        let options = if ask {
            xmpp_sasl::ClientOptions::external().with_authzid(&identity)
        } else {
            xmpp_sasl::ClientOptions::external()
        };
        let (outcome, transcript) = honest(&offer, Mechanism::External, &options, &MemoryCredentials::new(), &mut FixedRng::new(1));
        prop_assert_eq!(outcome, Outcome::Success { authcid: identity.clone(), authzid: ask.then(|| identity.clone()) });
        prop_assert_eq!(transcript.len(), 2);
    }
}

/// An honest SCRAM exchange for user/pencil with `tamper` applied.
fn run_tampered(
    mechanism: Mechanism,
    seed: u64,
    mut tamper: impl FnMut(usize, &mut Vec<u8>),
) -> (Outcome, common::Transcript) {
    let mut rng = FixedRng::new(seed);
    let mut store = MemoryCredentials::new();
    register(&mut store, "us,er=", "pencil", &mut rng);
    let offer = tls_offer();
    let options = plus_options(
        "us,er=",
        "pencil",
        mechanism,
        cb_type(seed.is_multiple_of(2)),
        common::bindings(),
    )
    .with_advertised(offer.advertised());
    // Sanity: untampered, it works.
    let (ok, _) = honest(&offer, mechanism, &options, &store, &mut rng.clone());
    assert!(ok.is_success(), "{ok:?}");
    exchange(&offer, mechanism, &options, &store, &mut rng, &mut tamper)
}

/// Replace the value of attribute `name` in a SCRAM message.
fn rewrite_attr(msg: &[u8], name: &str, f: impl FnOnce(&str) -> String) -> Vec<u8> {
    let text = String::from_utf8(msg.to_vec()).expect("utf8");
    let mut f = Some(f);
    text.split(',')
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if k == name => match f.take() {
                Some(f) => format!("{k}={}", f(v)),
                None => kv.to_owned(),
            },
            _ => kv.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
        .into_bytes()
}

#[test]
fn iterations_used_are_the_test_ones() {
    // Guard: the property tests above run at a lowered count; production minimum stays 4096.
    assert_eq!(xmpp_sasl::MIN_ITERATIONS, 4096);
    const { assert!(TEST_ITERATIONS < xmpp_sasl::MIN_ITERATIONS) };
}
