//! Authorisation identity handling (security.md C.23, ejabberd#2446).

mod common;

use common::{Outcome, client_options, config, honest, offer, store_with, tls_offer};
use xmpp_sasl::{
    AuthzidPolicy, ChannelBindings, ConnectionInfo, FailureCondition, FailureReason, FixedRng,
    Mechanism,
};

const MECHS: [Mechanism; 3] = [
    Mechanism::ScramSha256,
    Mechanism::ScramSha512,
    Mechanism::Plain,
];

fn run(offer: &xmpp_sasl::ServerOffer, m: Mechanism, password: &str, authzid: &str) -> Outcome {
    let store = store_with("alice", "pencil");
    let options = client_options("alice", password).with_authzid(authzid);
    honest(offer, m, &options, &store, &mut FixedRng::new(1)).0
}

#[test]
fn only_self_is_accepted() {
    let offer = tls_offer(); // domain example.org
    for m in MECHS {
        for ok in ["", "alice", "alice@example.org"] {
            assert_eq!(
                run(&offer, m, "pencil", ok),
                Outcome::Success {
                    authcid: "alice".into(),
                    authzid: (!ok.is_empty()).then(|| ok.to_owned())
                },
                "{m} {ok:?}"
            );
        }
        for bad in [
            "bob@example.org",
            "ALICE@example.org",
            "alice@otherhost",
            "alice@example.org/res",
            "alice@",
            "@example.org",
            "alicealice@example.org",
            "bob",
        ] {
            assert_eq!(
                run(&offer, m, "pencil", bad)
                    .server_failure()
                    .map(|f| (f.condition(), f.reason())),
                Some((
                    FailureCondition::InvalidAuthzid,
                    FailureReason::AuthzidNotAllowed
                )),
                "{m} {bad:?}"
            );
        }
    }
}

#[test]
fn authzid_is_checked_only_after_authentication() {
    // A wrong password with a forbidden authzid reveals nothing about the policy.
    let offer = tls_offer();
    for m in MECHS {
        assert_eq!(
            run(&offer, m, "crayon", "bob@example.org")
                .server_failure()
                .map(|f| f.condition()),
            Some(FailureCondition::NotAuthorized),
            "{m}"
        );
    }
}

#[test]
fn without_a_domain_only_the_bare_username_matches() {
    let offer = offer(config(), ConnectionInfo::tls(ChannelBindings::none()));
    assert!(run(&offer, Mechanism::ScramSha256, "pencil", "alice").is_success());
    assert!(
        !run(
            &offer,
            Mechanism::ScramSha256,
            "pencil",
            "alice@example.org"
        )
        .is_success()
    );
}

#[test]
fn caller_decides_policy_reports_the_authzid() {
    let offer = offer(
        config().with_authzid_policy(AuthzidPolicy::CallerDecides),
        ConnectionInfo::tls(ChannelBindings::none()),
    );
    for m in MECHS {
        assert_eq!(
            run(&offer, m, "pencil", "bob@example.org"),
            Outcome::Success {
                authcid: "alice".into(),
                authzid: Some("bob@example.org".into())
            }
        );
    }
}

#[test]
fn escaped_authzid_round_trips() {
    // `a=` is a saslname: `,` and `=` are escaped on the wire and compared unescaped.
    let store = {
        let mut s = xmpp_sasl::MemoryCredentials::new();
        common::register(&mut s, "a,b=c", "pencil", &mut FixedRng::new(3));
        s
    };
    let offer = tls_offer();
    let options = client_options("a,b=c", "pencil").with_authzid("a,b=c@example.org");
    let (outcome, transcript) = honest(
        &offer,
        Mechanism::ScramSha1,
        &options,
        &store,
        &mut FixedRng::new(1),
    );
    assert_eq!(
        outcome,
        Outcome::Success {
            authcid: "a,b=c".into(),
            authzid: Some("a,b=c@example.org".into())
        }
    );
    assert!(transcript[0].starts_with(b"n,a=a=2Cb=3Dc@example.org,n=a=2Cb=3Dc,r="));
}
