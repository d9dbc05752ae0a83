//! User enumeration (security.md C.22, RFC 6120 §13.11): an unknown user gets the same kind of
//! answer as a wrong password, and a stable, plausible salt.

mod common;

use std::time::{Duration, Instant};

use common::{attr, client_options, config, honest, offer, store_with, tls_offer};
use xmpp_sasl::{
    ConnectionInfo, FailureCondition, FailureReason, FixedRng, Mechanism, MemoryCredentials,
    ScramHash, ServerOffer, ServerStep, StoredCredentials,
};

/// The server-first-message for `user`, as an attacker would see it.
fn server_first(offer: &ServerOffer, store: &MemoryCredentials, user: &str, seed: u64) -> String {
    let mut s = offer
        .start("SCRAM-SHA-256", &mut FixedRng::new(seed))
        .expect("start");
    let ServerStep::Challenge(sf) = s
        .handle_client_message_with(format!("n,,n={user},r=probe").as_bytes(), store)
        .expect("first")
    else {
        panic!()
    };
    String::from_utf8(sf).expect("utf8")
}

#[test]
fn unknown_user_looks_like_a_known_one() {
    let offer = tls_offer();
    let store = store_with("alice", "pencil");
    let known = server_first(&offer, &store, "alice", 1);
    let unknown = server_first(&offer, &store, "mallory", 2);
    // Same attributes, same lengths, same iteration count.
    let shape = |m: &str| {
        common::attrs(m.as_bytes())
            .into_iter()
            .map(|(k, v)| (k, v.len()))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&known), shape(&unknown));
    assert_eq!(attr(known.as_bytes(), "i"), attr(unknown.as_bytes(), "i"));

    // Stable across probes (different server nonces), different per user, not the real salt.
    let again = server_first(&offer, &store, "mallory", 3);
    assert_eq!(attr(unknown.as_bytes(), "s"), attr(again.as_bytes(), "s"));
    let other = server_first(&offer, &store, "trudy", 4);
    assert_ne!(attr(unknown.as_bytes(), "s"), attr(other.as_bytes(), "s"));
    assert_ne!(attr(unknown.as_bytes(), "s"), attr(known.as_bytes(), "s"));
}

#[test]
fn fake_salt_depends_on_the_server_secret() {
    let store = MemoryCredentials::new();
    let a = server_first(&tls_offer(), &store, "mallory", 1);
    let other_secret = xmpp_sasl::ServerConfig::new(b"another secret of enough length")
        .expect("config")
        .with_iteration_bounds(common::TEST_ITERATIONS, 100_000)
        .expect("bounds")
        .with_unknown_user_params(common::TEST_ITERATIONS, 16);
    let b = server_first(
        &offer(other_secret, ConnectionInfo::tls(common::bindings())),
        &store,
        "mallory",
        1,
    );
    assert_ne!(attr(a.as_bytes(), "s"), attr(b.as_bytes(), "s"));
}

#[test]
fn unknown_user_and_wrong_password_fail_alike() {
    let offer = tls_offer();
    let store = store_with("alice", "pencil");
    for m in [
        Mechanism::ScramSha1,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
        Mechanism::Plain,
    ] {
        let (wrong, t1) = honest(
            &offer,
            m,
            &client_options("alice", "crayon"),
            &store,
            &mut FixedRng::new(1),
        );
        let (unknown, t2) = honest(
            &offer,
            m,
            &client_options("mallory", "crayon"),
            &store,
            &mut FixedRng::new(1),
        );
        let wrong = wrong.server_failure().expect("fails");
        let unknown = unknown.server_failure().expect("fails");
        assert_eq!(wrong.condition(), FailureCondition::NotAuthorized);
        assert_eq!(wrong.condition(), unknown.condition(), "{m}");
        assert_eq!(wrong.reason(), FailureReason::InvalidCredentials);
        assert_eq!(unknown.reason(), FailureReason::UnknownUser);
        // Same number of round trips.
        assert_eq!(t1.len(), t2.len(), "{m}");
    }
}

#[test]
fn unusable_records_are_treated_as_unknown() {
    let offer = tls_offer();
    let mut rng = FixedRng::new(1);
    // A record below the configured minimum iteration count.
    let weak = StoredCredentials::derive(ScramHash::Sha256, "pencil", b"salt", 16).expect("derive");
    let mut store = MemoryCredentials::new();
    store.insert("alice", vec![weak]);
    let (outcome, _) = honest(
        &offer,
        Mechanism::ScramSha256,
        &client_options("alice", "pencil").with_iteration_bounds(1, 100_000),
        &store,
        &mut rng,
    );
    assert_eq!(
        outcome
            .server_failure()
            .map(|f| (f.condition(), f.reason())),
        Some((
            FailureCondition::NotAuthorized,
            FailureReason::CredentialsUnusable
        ))
    );
    // A SHA-256 record offered for SCRAM-SHA-512 (a caller bug) is not used either.
    let mut s = offer.start("SCRAM-SHA-512", &mut rng).expect("start");
    s.handle_client_message(b"n,,n=alice,r=abc").expect("first");
    let sha256 = StoredCredentials::derive(ScramHash::Sha256, "pencil", b"salt", 4096).expect("d");
    let ServerStep::Challenge(sf) = s.provide_credentials(sha256).expect("challenge") else {
        panic!()
    };
    assert_ne!(
        attr(&sf, "s"),
        Some(xmpp_sasl::encode_base64(b"salt")),
        "the fake salt is shown"
    );
}

#[test]
fn unknown_user_costs_about_the_same() {
    // A coarse guard, not the KS test of security.md C.22 (that one runs against the whole
    // server): server-side time for an unknown user must not be much shorter than for a wrong
    // password. PLAIN is the interesting case (PBKDF2 on the server).
    let offer = offer(
        config(),
        ConnectionInfo::tls(xmpp_sasl::ChannelBindings::none()),
    );
    let store = store_with("alice", "pencil");
    let time = |user: &str| {
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let mut s = offer.start("PLAIN", &mut FixedRng::new(1)).expect("start");
            let msg = format!("\0{user}\0crayon");
            let t = Instant::now();
            let _ = s.handle_client_message_with(msg.as_bytes(), &store);
            best = best.min(t.elapsed());
        }
        best
    };
    let wrong = time("alice");
    let unknown = time("mallory");
    // The fake record uses the PLAIN hash (SHA-256) at the configured count, like alice's real
    // record. Allow a wide margin for a busy machine.
    assert!(
        unknown * 4 > wrong && wrong * 4 > unknown,
        "wrong password {wrong:?} vs unknown user {unknown:?}"
    );
}
