//! Malformed input (security.md C.21): every bad message gives `malformed-request` or
//! `incorrect-encoding` (or `not-authorized` where the grammar is fine but the content is wrong),
//! never a panic.

mod common;

use common::{store_with, tls_offer};
use proptest::prelude::*;
use xmpp_sasl::{
    FailureCondition, FailureReason, FixedRng, Mechanism, ServerSession, ServerStep,
    decode_sasl_payload,
};

use FailureCondition::{IncorrectEncoding, MalformedRequest, NotAuthorized};

fn start(mechanism: Mechanism) -> ServerSession {
    tls_offer()
        .start(mechanism.as_str(), &mut FixedRng::new(11))
        .expect("start")
}

fn first_failure(mechanism: Mechanism, msg: &[u8]) -> Option<FailureCondition> {
    let store = store_with("user", "pencil");
    start(mechanism)
        .handle_client_message_with(msg, &store)
        .err()
        .map(|f| f.condition())
}

#[test]
fn bad_client_first_messages() {
    let big_user = format!("n,,n={},r=abcdefgh", "a".repeat(1 << 20));
    let long_nonce = format!("n,,n=user,r={}", "x".repeat(300));
    let cases: Vec<(&[u8], FailureCondition)> = vec![
        (b"", MalformedRequest),
        (b"n,,n=user", MalformedRequest),               // missing r=
        (b"n,,r=abcdefgh", MalformedRequest),           // missing n=
        (b"n,,r=abcdefgh,n=user", MalformedRequest),    // wrong order
        (b"n,,n=user,r=", MalformedRequest),            // empty nonce
        (b"n,,n=user,r=ab,cd", MalformedRequest),       // bad extension
        (b"n,,n=us=2Xer,r=abcdefgh", MalformedRequest), // bad escape
        (b"n,,n==,r=abcdefgh", MalformedRequest),
        (b"n,,n=a=3,r=abcdefgh", MalformedRequest),
        (b"n,a=,n=user,r=abcdefgh", MalformedRequest), // empty authzid
        (b"n,a=b=zz,n=user,r=abcdefgh", MalformedRequest),
        (b"n,,m=ext,n=user,r=abcdefgh", MalformedRequest), // mandatory extension
        (b"x,,n=user,r=abcdefgh", MalformedRequest),
        (b"n,,n=\x07bell,r=abcdefgh", MalformedRequest), // SASLprep: control char
        (b"n,,n=\xc3\x28,r=abcdefgh", MalformedRequest), // not UTF-8
        (b"n,,n=us\0er,r=abcdefgh", MalformedRequest),
        (b"n,,n=\xd8\xa71,r=abcdefgh", MalformedRequest), // bidi rule (RFC 4013 §3 example)
        (big_user.as_bytes(), MalformedRequest),          // 1 MB username
        (long_nonce.as_bytes(), MalformedRequest),        // overly long nonce
    ];
    for (msg, expected) in cases {
        let got = first_failure(Mechanism::ScramSha256, msg);
        assert_eq!(got, Some(expected), "{:?}", String::from_utf8_lossy(msg));
    }
    // Escaped names are fine: `=2C` is a (here unknown) user called ",", `=3D` one called "=".
    assert_eq!(
        first_failure(Mechanism::ScramSha256, b"n,,n==2C,r=abcdefgh"),
        None
    );
    assert_eq!(
        first_failure(Mechanism::ScramSha256, b"n,,n==3D=2c,r=abcdefgh"),
        None
    );
}

fn after_first(mechanism: Mechanism) -> (ServerSession, String) {
    let store = store_with("user", "pencil");
    let mut s = start(mechanism);
    let ServerStep::Challenge(sf) = s
        .handle_client_message_with(b"n,,n=user,r=clientnonce", &store)
        .expect("first")
    else {
        panic!()
    };
    let sf = String::from_utf8(sf).expect("utf8");
    let nonce = common::attr(sf.as_bytes(), "r").expect("r");
    (s, nonce)
}

#[test]
fn bad_client_final_messages() {
    let cases: Vec<(String, FailureCondition)> = vec![
        (String::new(), MalformedRequest),
        ("c=biws,r={N}".into(), MalformedRequest), // no proof
        ("c=biws,p=AAAA".into(), MalformedRequest), // no nonce
        ("r={N},c=biws,p=AAAA".into(), MalformedRequest),
        ("c=biws,r={N},p=AAA".into(), IncorrectEncoding), // non-base64 proof
        ("c=biws,r={N},p=AA==A".into(), IncorrectEncoding),
        ("c=biws,r={N},p=A A=".into(), MalformedRequest),
        ("c=bi,r={N},p=AAAA".into(), IncorrectEncoding),
        ("c=biws,r={N},p=".into(), NotAuthorized), // empty proof: wrong length
        ("c=biws,r={N},p=AAAA".into(), NotAuthorized), // short proof
        ("c=biws,r=clientnonce,p=AAAA".into(), NotAuthorized), // nonce without server part
        ("c=biws,r={N}x,p=AAAA".into(), NotAuthorized),
        ("c=eSws,r={N},p=AAAA".into(), NotAuthorized), // c=y,, against n,,
        ("c=biws,r={N},m=1,p=AAAA".into(), NotAuthorized), // unknown extension: ignored
        ("c=biws,r={N},p=AAAA,".into(), MalformedRequest),
    ];
    for (template, expected) in cases {
        let (mut s, nonce) = after_first(Mechanism::ScramSha256);
        let msg = template.replace("{N}", &nonce);
        assert_eq!(
            s.handle_client_message(msg.as_bytes())
                .err()
                .map(|f| f.condition()),
            Some(expected),
            "{msg}"
        );
    }
}

#[test]
fn bad_plain_messages() {
    for msg in [
        &b""[..],
        b"user",
        b"\0user",
        b"\0user\0",
        b"\0\0pass",
        b"a\0b\0c\0d",
        b"\0us\xffer\0pass",
    ] {
        assert_eq!(
            first_failure(Mechanism::Plain, msg),
            Some(MalformedRequest),
            "{msg:?}"
        );
    }
    let long = [b"\0user\0".as_slice(), &[b'x'; 2000]].concat();
    let mut s = start(Mechanism::Plain);
    assert_eq!(
        s.handle_client_message(&long).err().map(|f| f.reason()),
        Some(FailureReason::TooLong)
    );
}

#[test]
fn payload_base64_is_strict() {
    for bad in ["bi ws", "biws\n", "biw", "====", "b!ws"] {
        assert!(decode_sasl_payload(bad).is_err(), "{bad:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary bytes at any step of any mechanism: an error or a normal step, never a panic,
    /// and never success.
    #[test]
    fn arbitrary_messages_never_panic(m in 0usize..8, msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..4)) {
        let mechanism = xmpp_sasl::Mechanism::ALL[m];
        let offer = common::offer(
            common::config(),
            xmpp_sasl::ConnectionInfo::tls(common::bindings()).with_external_identities(vec!["a".into(), "b".into()]),
        );
        let store = store_with("user", "pencil");
        let mut s = offer.start(mechanism.as_str(), &mut FixedRng::new(1)).expect("start");
        for msg in msgs {
            if let Ok(ServerStep::Success { .. }) = s.handle_client_message_with(&msg, &store) {
                // Only EXTERNAL can succeed on guessable input (the identity is not secret).
                prop_assert_eq!(mechanism, Mechanism::External);
            }
        }
    }

    /// Arbitrary text shaped like SCRAM attributes.
    #[test]
    fn scram_shaped_messages_never_panic(parts in proptest::collection::vec("[a-z]=[ -~]{0,12}", 1..8), flag in "(n|y|p=[a-z-]{1,20})") {
        let msg = format!("{flag},,{}", parts.join(","));
        for mechanism in [Mechanism::ScramSha1, Mechanism::ScramSha256Plus] {
            let _ = first_failure(mechanism, msg.as_bytes());
        }
    }
}
