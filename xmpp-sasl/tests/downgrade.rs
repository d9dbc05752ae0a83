//! Downgrade and replay cases of security.md §1.6 (adversarial cases C.19, C.20) and XEP-0474.

mod common;

use common::{
    Outcome, bindings, client_options, config, exchange, honest, offer, store_with, tls_offer,
};
use xmpp_sasl::{
    Advertised, ChannelBindingType, ChannelBindings, ClientChannelBinding, ClientError,
    ClientSession, ConnectionInfo, Failure, FailureCondition, FailureReason, FixedRng, Mechanism,
    ServerStep, select_mechanism,
};

#[allow(clippy::unnecessary_wraps)] // compared with `Result::err()` values
fn failure(condition: FailureCondition, reason: FailureReason) -> Option<Failure> {
    Some(Failure::new(condition, reason))
}

/// Feed raw messages to a fresh server session on `offer`; return the first failure.
fn raw_first(offer: &xmpp_sasl::ServerOffer, mechanism: Mechanism, msg: &str) -> Option<Failure> {
    let store = store_with("user", "pencil");
    let mut server = offer
        .start(mechanism.as_str(), &mut FixedRng::new(3))
        .ok()?;
    server
        .handle_client_message_with(msg.as_bytes(), &store)
        .err()
}

// ---- C.19: channel-binding stripping (GS2 flag y) -------------------------------------------

#[test]
fn y_flag_fails_when_server_offers_plus() {
    let offer = tls_offer();
    assert!(offer.supports_channel_binding());
    for m in [
        Mechanism::ScramSha1,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
    ] {
        assert_eq!(
            raw_first(&offer, m, "y,,n=user,r=abcdefgh"),
            failure(
                FailureCondition::NotAuthorized,
                FailureReason::ChannelBindingDowngrade
            ),
            "{m}"
        );
        // Through our client too.
        let options = client_options("user", "pencil")
            .with_channel_binding(ClientChannelBinding::NotOffered, bindings());
        let (outcome, _) = honest(
            &offer,
            m,
            &options,
            &store_with("user", "pencil"),
            &mut FixedRng::new(1),
        );
        assert_eq!(
            outcome.server_failure().map(|f| f.condition()),
            Some(FailureCondition::NotAuthorized)
        );
    }
}

#[test]
fn y_flag_fails_even_if_only_another_hash_has_plus() {
    let cfg = config().with_mechanisms(&[Mechanism::ScramSha1, Mechanism::ScramSha256Plus]);
    let offer = offer(cfg, ConnectionInfo::tls(bindings()));
    assert_eq!(
        raw_first(&offer, Mechanism::ScramSha1, "y,,n=user,r=abcdefgh"),
        failure(
            FailureCondition::NotAuthorized,
            FailureReason::ChannelBindingDowngrade
        )
    );
}

#[test]
fn y_flag_succeeds_when_server_has_no_binding() {
    // TLS 1.2 behind a proxy: no binding data, no -PLUS offered. `y` is then honest.
    let offer = offer(config(), ConnectionInfo::tls(ChannelBindings::none()));
    assert!(!offer.supports_channel_binding());
    let options = client_options("user", "pencil")
        .with_channel_binding(ClientChannelBinding::NotOffered, bindings());
    let (outcome, _) = honest(
        &offer,
        Mechanism::ScramSha256,
        &options,
        &store_with("user", "pencil"),
        &mut FixedRng::new(1),
    );
    assert!(outcome.is_success(), "{outcome:?}");
}

#[test]
fn mitm_strips_plus_from_features() {
    // The attacker removes every -PLUS mechanism from <mechanisms/>. A client that can bind
    // then picks plain SCRAM with flag y, and the real server refuses it.
    let offer = tls_offer();
    let mut seen = offer.advertised();
    seen.mechanisms.retain(|m| !m.ends_with("-PLUS"));
    seen.channel_binding_types = None;
    let (mechanism, flag) = select_mechanism(&seen, &bindings(), false).expect("choice");
    assert_eq!(
        (mechanism, flag),
        (Mechanism::ScramSha512, ClientChannelBinding::NotOffered)
    );
    let options = client_options("user", "pencil").with_channel_binding(flag, bindings());
    let (outcome, _) = honest(
        &offer,
        mechanism,
        &options,
        &store_with("user", "pencil"),
        &mut FixedRng::new(1),
    );
    assert_eq!(
        outcome.server_failure(),
        failure(
            FailureCondition::NotAuthorized,
            FailureReason::ChannelBindingDowngrade
        )
    );
}

#[test]
fn gs2_flag_must_match_mechanism() {
    let offer = tls_offer();
    for (m, msg) in [
        (Mechanism::ScramSha256Plus, "n,,n=user,r=abcdefgh"),
        (Mechanism::ScramSha256Plus, "y,,n=user,r=abcdefgh"),
        (Mechanism::ScramSha256, "p=tls-exporter,,n=user,r=abcdefgh"),
    ] {
        assert_eq!(
            raw_first(&offer, m, msg),
            failure(
                FailureCondition::MalformedRequest,
                FailureReason::ChannelBindingFlagMismatch
            ),
            "{m} {msg}"
        );
    }
}

// ---- C.20: wrong or unsupported binding -------------------------------------------------------

#[test]
fn binding_type_not_offered() {
    let unsupported = failure(
        FailureCondition::NotAuthorized,
        FailureReason::UnsupportedChannelBindingType,
    );
    // tls-unique is never offered (undefined for TLS 1.3, not exposed by rustls).
    assert_eq!(
        raw_first(
            &tls_offer(),
            Mechanism::ScramSha256Plus,
            "p=tls-unique,,n=user,r=abcdefgh"
        ),
        unsupported
    );
    // Unknown name.
    assert_eq!(
        raw_first(
            &tls_offer(),
            Mechanism::ScramSha256Plus,
            "p=x-made-up,,n=user,r=abcdefgh"
        ),
        unsupported
    );
    // TLS 1.2: only tls-server-end-point is available, so tls-exporter is not offered.
    let tls12 = offer(
        config(),
        ConnectionInfo::tls(ChannelBindings {
            tls_exporter: None,
            tls_server_end_point: Some(common::end_point()),
        }),
    );
    assert_eq!(
        tls12.channel_binding_types(),
        &[ChannelBindingType::TlsServerEndPoint]
    );
    assert_eq!(
        raw_first(
            &tls12,
            Mechanism::ScramSha256Plus,
            "p=tls-exporter,,n=user,r=abcdefgh"
        ),
        unsupported
    );
    // A type disabled by configuration is not offered either.
    let no_endpoint = offer(
        config().with_channel_binding_types(&[ChannelBindingType::TlsExporter]),
        ConnectionInfo::tls(bindings()),
    );
    assert_eq!(
        raw_first(
            &no_endpoint,
            Mechanism::ScramSha256Plus,
            "p=tls-server-end-point,,n=user,r=abcdefgh"
        ),
        unsupported
    );
}

#[test]
fn binding_data_from_another_connection() {
    for (ty, other) in [
        (
            ChannelBindingType::TlsExporter,
            ChannelBindings {
                tls_exporter: Some(vec![0x01; 32]),
                tls_server_end_point: None,
            },
        ),
        (
            ChannelBindingType::TlsServerEndPoint,
            ChannelBindings {
                tls_exporter: None,
                // Hash of a different certificate (a MITM's).
                tls_server_end_point: Some(vec![0x02; 32]),
            },
        ),
    ] {
        for m in [
            Mechanism::ScramSha1Plus,
            Mechanism::ScramSha256Plus,
            Mechanism::ScramSha512Plus,
        ] {
            let options = client_options("user", "pencil")
                .with_channel_binding(ClientChannelBinding::Bind(ty), other.clone());
            let (outcome, _) = honest(
                &tls_offer(),
                m,
                &options,
                &store_with("user", "pencil"),
                &mut FixedRng::new(1),
            );
            assert_eq!(
                outcome.server_failure(),
                failure(
                    FailureCondition::NotAuthorized,
                    FailureReason::ChannelBindingMismatch
                ),
                "{m} {ty}"
            );
        }
    }
}

#[test]
fn c_attribute_must_repeat_the_gs2_header() {
    // A MITM rewrites the client-first flag from p=... to n (to use a non-PLUS path) — the
    // mechanism check catches it; and a c= that omits the binding data fails.
    let offer = tls_offer();
    let options = client_options("user", "pencil").with_channel_binding(
        ClientChannelBinding::Bind(ChannelBindingType::TlsExporter),
        bindings(),
    );
    let (outcome, _) = exchange(
        &offer,
        Mechanism::ScramSha256Plus,
        &options,
        &store_with("user", "pencil"),
        &mut FixedRng::new(1),
        &mut |i, msg| {
            if i == 2 {
                // c=base64("p=tls-exporter,,") without the data.
                let text = String::from_utf8(msg.clone()).expect("utf8");
                let rest = text.split_once(',').expect(",").1;
                *msg = format!("c=cD10bHMtZXhwb3J0ZXIsLA==,{rest}").into_bytes();
            }
        },
    );
    assert_eq!(
        outcome.server_failure(),
        failure(
            FailureCondition::NotAuthorized,
            FailureReason::ChannelBindingMismatch
        )
    );
}

#[test]
fn plain_and_plus_need_tls() {
    let plaintext = offer(config(), ConnectionInfo::plaintext());
    let mut rng = FixedRng::new(1);
    assert_eq!(
        plaintext.start("PLAIN", &mut rng).err(),
        failure(
            FailureCondition::EncryptionRequired,
            FailureReason::EncryptionRequired
        )
    );
    assert_eq!(
        plaintext.start("SCRAM-SHA-256-PLUS", &mut rng).err(),
        failure(
            FailureCondition::InvalidMechanism,
            FailureReason::MechanismNotOffered
        )
    );
    assert_eq!(
        plaintext.start("DIGEST-MD5", &mut rng).err(),
        failure(
            FailureCondition::InvalidMechanism,
            FailureReason::MechanismNotOffered
        )
    );
    assert_eq!(
        plaintext.start("EXTERNAL", &mut rng).err(),
        failure(
            FailureCondition::InvalidMechanism,
            FailureReason::MechanismNotOffered
        )
    );
}

// ---- Replay ------------------------------------------------------------------------------------

#[test]
fn replayed_client_final_in_a_new_session_fails() {
    let offer = tls_offer();
    let store = store_with("user", "pencil");
    let mut rng = FixedRng::new(5);
    for m in [
        Mechanism::ScramSha1,
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha512,
    ] {
        let options = if m.is_plus() {
            client_options("user", "pencil").with_channel_binding(
                ClientChannelBinding::Bind(ChannelBindingType::TlsExporter),
                bindings(),
            )
        } else {
            client_options("user", "pencil")
        };
        let (outcome, transcript) = honest(&offer, m, &options, &store, &mut rng);
        assert!(outcome.is_success());
        // An eavesdropper replays the client's two messages to a new session (the rng has moved
        // on, as a real one would: a new server nonce).
        let mut server = offer.start(m.as_str(), &mut rng).expect("start");
        let step = server
            .handle_client_message_with(&transcript[0], &store)
            .expect("first");
        assert!(matches!(step, ServerStep::Challenge(_)));
        assert_eq!(
            server.handle_client_message(&transcript[2]).err(),
            failure(
                FailureCondition::NotAuthorized,
                FailureReason::NonceMismatch
            ),
            "{m}"
        );
    }
}

#[test]
fn second_client_final_after_completion_fails() {
    let offer = tls_offer();
    let store = store_with("user", "pencil");
    let mut rng = FixedRng::new(6);
    let mut client = ClientSession::new(
        Mechanism::ScramSha256,
        &client_options("user", "pencil"),
        &mut rng,
    )
    .expect("client");
    let mut server = offer.start("SCRAM-SHA-256", &mut rng).expect("server");
    let first = client.initial_response().expect("first");
    let ServerStep::Challenge(sf) = server
        .handle_client_message_with(&first, &store)
        .expect("step")
    else {
        panic!()
    };
    let fin = client.handle_challenge(&sf).expect("final");
    let step = server.handle_client_message(&fin).expect("success");
    assert!(matches!(step, ServerStep::Success { .. }));
    let again = failure(
        FailureCondition::MalformedRequest,
        FailureReason::UnexpectedMessage,
    );
    assert_eq!(server.handle_client_message(&fin).err(), again);
    assert_eq!(server.handle_client_message(&first).err(), again);
    assert!(server.is_authenticated());
    // Credentials after the fact are an API misuse, not a second chance.
    assert!(server.user_not_found().is_err());
}

#[test]
fn failure_is_sticky() {
    let offer = tls_offer();
    let store = store_with("user", "pencil");
    let mut rng = FixedRng::new(7);
    let mut client = ClientSession::new(
        Mechanism::ScramSha1,
        &client_options("user", "wrong"),
        &mut rng,
    )
    .expect("client");
    let mut server = offer.start("SCRAM-SHA-1", &mut rng).expect("server");
    let first = client.initial_response().expect("first");
    let ServerStep::Challenge(sf) = server
        .handle_client_message_with(&first, &store)
        .expect("step")
    else {
        panic!()
    };
    let fin = client.handle_challenge(&sf).expect("final");
    let f = server
        .handle_client_message(&fin)
        .expect_err("wrong password");
    assert_eq!(f.condition(), FailureCondition::NotAuthorized);
    assert_eq!(server.handle_client_message(&fin).err(), Some(f));
    assert!(server.is_finished() && !server.is_authenticated());
}

#[test]
fn client_final_before_server_first_fails() {
    let offer = tls_offer();
    let mut server = offer
        .start("SCRAM-SHA-256", &mut FixedRng::new(1))
        .expect("server");
    let step = server
        .handle_client_message(b"n,,n=user,r=abcdefgh")
        .expect("first");
    assert!(matches!(step, ServerStep::NeedCredentials { .. }));
    // The caller forgot the lookup and fed the next message: refused.
    assert_eq!(
        server
            .handle_client_message(b"c=biws,r=abcdefgh,p=AAAA")
            .err(),
        failure(
            FailureCondition::MalformedRequest,
            FailureReason::UnexpectedMessage
        )
    );
}

#[test]
fn client_rejects_server_nonce_not_extending_its_own() {
    let offer = tls_offer();
    let (outcome, _) = exchange(
        &offer,
        Mechanism::ScramSha256,
        &client_options("user", "pencil"),
        &store_with("user", "pencil"),
        &mut FixedRng::new(1),
        &mut |i, msg| {
            if i == 1 {
                // Swap the server nonce for one that does not start with the client nonce.
                let text = String::from_utf8(msg.clone()).expect("utf8");
                let rest = text.split_once(',').expect(",").1;
                *msg = format!("r=someoneelsesnonce,{rest}").into_bytes();
            }
        },
    );
    assert_eq!(outcome, Outcome::Client(ClientError::NonceMismatch));
}

// ---- XEP-0474 SSDP -----------------------------------------------------------------------------

fn ssdp_options(seen: Advertised) -> xmpp_sasl::ClientOptions {
    client_options("user", "pencil")
        .with_advertised(seen)
        .require_ssdp(true)
}

#[test]
fn ssdp_detects_stripped_mechanism() {
    // The attacker hides SCRAM-SHA-512 (and the -PLUS variants) to push the client to SHA-1.
    let offer = tls_offer();
    let mut seen = offer.advertised();
    seen.mechanisms
        .retain(|m| m == "SCRAM-SHA-1" || m == "SCRAM-SHA-256" || m == "PLAIN");
    let (outcome, _) = honest(
        &offer,
        Mechanism::ScramSha1,
        &ssdp_options(seen),
        &store_with("user", "pencil"),
        &mut FixedRng::new(1),
    );
    assert_eq!(outcome, Outcome::Client(ClientError::DowngradeDetected));
}

#[test]
fn ssdp_detects_edited_channel_binding_list() {
    // The attacker replaces the XEP-0440 list with a type the client does not support, so the
    // client falls back to `n` (XEP-0474 rule 6) and checks the hash.
    let offer = tls_offer();
    let mut seen = offer.advertised();
    seen.channel_binding_types = Some(vec!["tls-unique".into()]);
    let (mechanism, flag) = select_mechanism(&seen, &bindings(), false).expect("choice");
    assert_eq!(
        (mechanism, flag),
        (Mechanism::ScramSha512, ClientChannelBinding::Unsupported)
    );
    let options = ssdp_options(seen).with_channel_binding(flag, bindings());
    let (outcome, _) = honest(
        &offer,
        mechanism,
        &options,
        &store_with("user", "pencil"),
        &mut FixedRng::new(1),
    );
    assert_eq!(outcome, Outcome::Client(ClientError::DowngradeDetected));

    // Removing the element entirely is detected as well.
    let mut seen = offer.advertised();
    seen.channel_binding_types = None;
    let (outcome, _) = honest(
        &offer,
        Mechanism::ScramSha256,
        &ssdp_options(seen),
        &store_with("user", "pencil"),
        &mut FixedRng::new(1),
    );
    assert_eq!(outcome, Outcome::Client(ClientError::DowngradeDetected));
}

#[test]
fn ssdp_mitm_rewriting_h_is_caught_by_the_server() {
    // The attacker also rewrites h= to match the list it showed. The client is fooled, but h= is
    // part of the AuthMessage, so the proof no longer matches and the server refuses.
    let offer = tls_offer();
    let mut seen = offer.advertised();
    seen.mechanisms.retain(|m| m == "SCRAM-SHA-1");
    seen.channel_binding_types = None;
    let forged = seen.ssdp_attribute(xmpp_sasl::ScramHash::Sha1);
    let (outcome, _) = exchange(
        &offer,
        Mechanism::ScramSha1,
        &ssdp_options(seen),
        &store_with("user", "pencil"),
        &mut FixedRng::new(1),
        &mut |i, msg| {
            if i == 1 {
                let text = String::from_utf8(msg.clone()).expect("utf8");
                let (head, _) = text.rsplit_once(",h=").expect("h=");
                *msg = format!("{head},h={forged}").into_bytes();
            }
        },
    );
    assert_eq!(
        outcome.server_failure(),
        failure(
            FailureCondition::NotAuthorized,
            FailureReason::InvalidCredentials
        )
    );
}

#[test]
fn ssdp_missing_when_required() {
    let offer = offer(config().with_ssdp(false), ConnectionInfo::tls(bindings()));
    let (outcome, transcript) = honest(
        &offer,
        Mechanism::ScramSha256,
        &ssdp_options(offer.advertised()),
        &store_with("user", "pencil"),
        &mut FixedRng::new(1),
    );
    assert_eq!(outcome, Outcome::Client(ClientError::SsdpMissing));
    assert!(common::attr(&transcript[1], "h").is_none());
    // Not required: proceeds.
    let options = client_options("user", "pencil").with_advertised(offer.advertised());
    let (outcome, _) = honest(
        &offer,
        Mechanism::ScramSha256,
        &options,
        &store_with("user", "pencil"),
        &mut FixedRng::new(1),
    );
    assert!(outcome.is_success());
}

#[test]
fn ssdp_attribute_matches_offer() {
    let offer = tls_offer();
    let (outcome, transcript) = honest(
        &offer,
        Mechanism::ScramSha512Plus,
        &ssdp_options(offer.advertised()).with_channel_binding(
            ClientChannelBinding::Bind(ChannelBindingType::TlsExporter),
            bindings(),
        ),
        &store_with("user", "pencil"),
        &mut FixedRng::new(1),
    );
    assert!(outcome.is_success());
    assert_eq!(
        common::attr(&transcript[1], "h"),
        Some(
            offer
                .advertised()
                .ssdp_attribute(xmpp_sasl::ScramHash::Sha512)
        )
    );
}
