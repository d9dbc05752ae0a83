//! What our client refuses from a server: low or huge iteration counts, foreign nonces, bad
//! signatures, `e=` errors, mandatory extensions.

use xmpp_sasl::{
    ChannelBindingType, ClientChannelBinding, ClientError, ClientOptions, ClientSession, FixedRng,
    Mechanism,
};

/// A client that has sent `n,,n=user,r=cnonce`.
fn client(options: &ClientOptions) -> ClientSession {
    let mut rng = FixedRng::new(0).with_nonces(["cnonce"]);
    let mut c = ClientSession::new(Mechanism::ScramSha256, options, &mut rng).expect("client");
    assert_eq!(c.initial_response().expect("first"), b"n,,n=user,r=cnonce");
    c
}

fn challenge(options: &ClientOptions, msg: &str) -> Result<Vec<u8>, ClientError> {
    client(options).handle_challenge(msg.as_bytes())
}

#[test]
fn iteration_bounds() {
    let o = ClientOptions::new("user", "pencil");
    assert_eq!(
        challenge(&o, "r=cnonceS,s=c2FsdA==,i=4095"),
        Err(ClientError::IterationCountOutOfRange {
            iterations: 4095,
            min: 4096,
            max: 100_000
        })
    );
    assert!(matches!(
        challenge(&o, "r=cnonceS,s=c2FsdA==,i=100001"),
        Err(ClientError::IterationCountOutOfRange { .. })
    ));
    assert!(challenge(&o, "r=cnonceS,s=c2FsdA==,i=4096").is_ok());
    let strict = o.with_iteration_bounds(10_000, 20_000);
    assert!(matches!(
        challenge(&strict, "r=cnonceS,s=c2FsdA==,i=4096"),
        Err(ClientError::IterationCountOutOfRange { .. })
    ));
}

#[test]
fn server_first_checks() {
    let o = ClientOptions::new("user", "pencil");
    for (msg, err) in [
        ("r=cnonce,s=c2FsdA==,i=4096", ClientError::NonceMismatch), // no server part
        ("r=other,s=c2FsdA==,i=4096", ClientError::NonceMismatch),
        ("r=cnoncS,s=c2FsdA==,i=4096", ClientError::NonceMismatch),
        ("r=cnonceS,s=,i=4096", ClientError::Malformed("empty salt")),
        ("r=cnonceS,s=c2FsdA=,i=4096", ClientError::InvalidBase64),
        (
            "m=x,r=cnonceS,s=c2FsdA==,i=4096",
            ClientError::ExtensionNotSupported,
        ),
    ] {
        assert_eq!(challenge(&o, msg), Err(err), "{msg}");
    }
    assert!(matches!(
        challenge(&o, "r=cnonceS,i=4096,s=c2FsdA=="),
        Err(ClientError::Malformed(_))
    ));
    assert!(matches!(
        client(&o).handle_challenge(b"\xff"),
        Err(ClientError::Malformed(_))
    ));
}

#[test]
fn server_signature_is_required_and_checked() {
    let o = ClientOptions::new("user", "pencil");
    let sf = "r=cnonceS,s=c2FsdA==,i=4096";

    let mut c = client(&o);
    c.handle_challenge(sf.as_bytes()).expect("final");
    assert_eq!(
        c.handle_success(Some(b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
        Err(ClientError::ServerSignatureMismatch)
    );
    assert!(!c.is_authenticated());
    // Sticky.
    assert_eq!(
        c.handle_success(None),
        Err(ClientError::ServerSignatureMismatch)
    );

    let mut c = client(&o);
    c.handle_challenge(sf.as_bytes()).expect("final");
    assert_eq!(
        c.handle_success(None),
        Err(ClientError::ServerSignatureMismatch)
    );

    let mut c = client(&o);
    c.handle_challenge(sf.as_bytes()).expect("final");
    assert_eq!(
        c.handle_success(Some(b"e=invalid-proof")),
        Err(ClientError::ServerError("invalid-proof".into()))
    );

    // Success before any challenge: the server skipped the exchange.
    let mut c = client(&o);
    assert_eq!(c.handle_success(None), Err(ClientError::UnexpectedMessage));
}

#[test]
fn verifier_as_final_challenge() {
    // RFC 6120 §6.4.3: some servers send v= in a last <challenge/> and an empty <success/>.
    // Reproduce with RFC 7677's vector.
    let o = ClientOptions::new("user", "pencil");
    let mut rng = FixedRng::new(0).with_nonces(["rOprNGfwEbeRWgbNEkqO"]);
    let mut c = ClientSession::new(Mechanism::ScramSha256, &o, &mut rng).expect("client");
    c.initial_response().expect("first");
    c.handle_challenge(
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    )
    .expect("final");
    assert_eq!(
        c.handle_challenge(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
        Ok(Vec::new())
    );
    assert!(!c.is_authenticated());
    c.handle_success(None).expect("success");
    assert!(c.is_authenticated());
    assert_eq!(c.handle_success(None), Err(ClientError::UnexpectedMessage));
}

#[test]
fn option_consistency() {
    let mut rng = FixedRng::new(1);
    let plus_without_binding = ClientOptions::new("user", "pencil");
    assert!(matches!(
        ClientSession::new(Mechanism::ScramSha256Plus, &plus_without_binding, &mut rng),
        Err(ClientError::InvalidOptions(_))
    ));
    let bind_without_data = ClientOptions::new("user", "pencil").with_channel_binding(
        ClientChannelBinding::Bind(ChannelBindingType::TlsExporter),
        xmpp_sasl::ChannelBindings::none(),
    );
    assert!(matches!(
        ClientSession::new(Mechanism::ScramSha256Plus, &bind_without_data, &mut rng),
        Err(ClientError::InvalidOptions(_))
    ));
    assert!(matches!(
        ClientSession::new(Mechanism::ScramSha256, &bind_without_data, &mut rng),
        Err(ClientError::InvalidOptions(_))
    ));
    let ssdp_without_lists = ClientOptions::new("user", "pencil").require_ssdp(true);
    assert!(matches!(
        ClientSession::new(Mechanism::ScramSha256, &ssdp_without_lists, &mut rng),
        Err(ClientError::InvalidOptions(_))
    ));
    for bad in [
        ("", "pencil"),
        ("user", ""),
        ("us\u{7}er", "x"),
        ("user", "\u{0627}1"),
    ] {
        let o = ClientOptions::new(bad.0, bad.1);
        assert!(matches!(
            ClientSession::new(Mechanism::ScramSha1, &o, &mut rng),
            Err(ClientError::InvalidInput(_))
        ));
        assert!(matches!(
            ClientSession::new(Mechanism::Plain, &o, &mut rng),
            Err(ClientError::InvalidInput(_))
        ));
    }
}

#[test]
fn plain_and_external_messages() {
    let mut rng = FixedRng::new(1);
    let o = ClientOptions::new("us\u{00AD}er", "pen\u{00A0}cil").with_authzid("user@example.org");
    let mut c = ClientSession::new(Mechanism::Plain, &o, &mut rng).expect("plain");
    assert_eq!(
        c.initial_response().expect("msg"),
        b"user@example.org\0user\0pen cil"
    );
    assert_eq!(
        c.handle_challenge(b"x"),
        Err(ClientError::UnexpectedMessage)
    );

    let mut c =
        ClientSession::new(Mechanism::External, &ClientOptions::external(), &mut rng).expect("e");
    assert_eq!(c.initial_response().expect("msg"), b"");
    assert_eq!(xmpp_sasl::encode_sasl_payload(b""), "=");
    c.handle_success(None).expect("success");
    assert!(c.is_authenticated());
}
