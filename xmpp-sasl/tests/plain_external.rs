//! PLAIN against the stored SCRAM record, and EXTERNAL against verified certificate identities.

mod common;

use common::{Outcome, client_options, config, honest, offer, store_with};
use xmpp_sasl::{
    AuthzidPolicy, ChannelBindings, ClientOptions, ConnectionInfo, FailureCondition, FailureReason,
    FixedRng, Mechanism, MemoryCredentials, ScramHash, ServerStep, StoredCredentials,
};

fn tls() -> ConnectionInfo {
    ConnectionInfo::tls(ChannelBindings::none())
}

#[test]
fn plain_is_verified_against_the_configured_scram_record() {
    for h in ScramHash::ALL {
        let record = StoredCredentials::derive(h, "pencil", b"some salt", 4096).expect("derive");
        let mut store = MemoryCredentials::new();
        store.insert("user", vec![record]);
        let offer = offer(config().with_plain_hash(h), tls());
        let (ok, _) = honest(
            &offer,
            Mechanism::Plain,
            &client_options("user", "pencil"),
            &store,
            &mut FixedRng::new(1),
        );
        assert!(ok.is_success(), "{h}");
        let (bad, _) = honest(
            &offer,
            Mechanism::Plain,
            &client_options("user", "pencil!"),
            &store,
            &mut FixedRng::new(1),
        );
        assert_eq!(
            bad.server_failure().map(|f| f.condition()),
            Some(FailureCondition::NotAuthorized)
        );
    }
}

#[test]
fn plain_without_the_configured_record_fails_like_an_unknown_user() {
    // Only a SHA-1 record; PLAIN verifies against SHA-256 by default.
    let record =
        StoredCredentials::derive(ScramHash::Sha1, "pencil", b"some salt", 4096).expect("derive");
    let mut store = MemoryCredentials::new();
    store.insert("user", vec![record]);
    let (outcome, _) = honest(
        &offer(config(), tls()),
        Mechanism::Plain,
        &client_options("user", "pencil"),
        &store,
        &mut FixedRng::new(1),
    );
    assert_eq!(
        outcome
            .server_failure()
            .map(|f| (f.condition(), f.reason())),
        Some((FailureCondition::NotAuthorized, FailureReason::UnknownUser))
    );
}

#[test]
fn plain_applies_saslprep_to_both_sides() {
    // Registered with "I<soft hyphen>X", logging in with "IX" and with "Ⅸ" (U+2168, NFKC → IX).
    let mut store = MemoryCredentials::new();
    common::register(&mut store, "user", "I\u{00AD}X", &mut FixedRng::new(2));
    let offer = offer(config(), tls());
    for pw in ["IX", "\u{2168}", "I\u{00AD}X"] {
        for m in [Mechanism::Plain, Mechanism::ScramSha256] {
            let (o, _) = honest(
                &offer,
                m,
                &client_options("user", pw),
                &store,
                &mut FixedRng::new(1),
            );
            assert!(o.is_success(), "{m} {pw:?}");
        }
    }
}

#[test]
fn plain_wire_format_and_password_prep_failure() {
    let offer = offer(config(), tls());
    let store = store_with("user", "pencil");
    let mut s = offer.start("PLAIN", &mut FixedRng::new(1)).expect("start");
    // authzid NUL authcid NUL password, raw bytes.
    assert_eq!(
        s.handle_client_message_with(b"\0user\0pencil", &store),
        Ok(ServerStep::Success {
            additional_data: None,
            authcid: "user".into(),
            authzid: None
        })
    );
    // A password SASLprep rejects cannot match: not-authorized (not malformed: no hint).
    let mut s = offer.start("PLAIN", &mut FixedRng::new(1)).expect("start");
    assert_eq!(
        s.handle_client_message_with(b"\0user\0pen\x07cil", &store)
            .err()
            .map(|f| f.condition()),
        Some(FailureCondition::NotAuthorized)
    );
}

fn external_offer(identities: &[&str], policy: AuthzidPolicy) -> xmpp_sasl::ServerOffer {
    offer(
        config().with_authzid_policy(policy),
        tls().with_external_identities(identities.iter().map(|s| (*s).to_owned()).collect()),
    )
}

fn external(offer: &xmpp_sasl::ServerOffer, authzid: Option<&str>) -> Outcome {
    let options = match authzid {
        Some(a) => ClientOptions::external().with_authzid(a),
        None => ClientOptions::external(),
    };
    honest(
        offer,
        Mechanism::External,
        &options,
        &MemoryCredentials::new(),
        &mut FixedRng::new(1),
    )
    .0
}

#[test]
fn external_s2s_certificate() {
    let offer = external_offer(&["remote.example"], AuthzidPolicy::SelfOnly);
    assert!(offer.offers(Mechanism::External));
    assert_eq!(
        external(&offer, None),
        Outcome::Success {
            authcid: "remote.example".into(),
            authzid: None
        }
    );
    assert_eq!(
        external(&offer, Some("remote.example")),
        Outcome::Success {
            authcid: "remote.example".into(),
            authzid: Some("remote.example".into())
        }
    );
    assert_eq!(
        external(&offer, Some("other.example"))
            .server_failure()
            .map(|f| f.condition()),
        Some(FailureCondition::InvalidAuthzid)
    );
}

#[test]
fn external_with_several_identities_needs_an_authzid() {
    let offer = external_offer(&["a.example", "b.example"], AuthzidPolicy::SelfOnly);
    assert_eq!(
        external(&offer, None)
            .server_failure()
            .map(|f| (f.condition(), f.reason())),
        Some((
            FailureCondition::NotAuthorized,
            FailureReason::NoExternalIdentity
        ))
    );
    assert!(external(&offer, Some("b.example")).is_success());
}

#[test]
fn external_not_offered_without_identities() {
    let offer = external_offer(&[], AuthzidPolicy::SelfOnly);
    assert!(!offer.offers(Mechanism::External));
    assert_eq!(
        offer
            .start("EXTERNAL", &mut FixedRng::new(1))
            .err()
            .map(|f| f.condition()),
        Some(FailureCondition::InvalidMechanism)
    );
}

#[test]
fn external_caller_decides() {
    let offer = external_offer(&["alice@example.org"], AuthzidPolicy::CallerDecides);
    assert_eq!(
        external(&offer, Some("bob@example.org")),
        Outcome::Success {
            authcid: "alice@example.org".into(),
            authzid: Some("bob@example.org".into())
        }
    );
}

#[test]
fn external_rejects_nul() {
    let offer = external_offer(&["a"], AuthzidPolicy::SelfOnly);
    let mut s = offer
        .start("EXTERNAL", &mut FixedRng::new(1))
        .expect("start");
    assert_eq!(
        s.handle_client_message(b"a\0").err().map(|f| f.condition()),
        Some(FailureCondition::MalformedRequest)
    );
}
