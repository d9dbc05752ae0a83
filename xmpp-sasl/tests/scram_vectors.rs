//! Published and cross-checked SCRAM test vectors, replayed through our server and our client.
//!
//! * RFC 5802 §5 (SCRAM-SHA-1) and RFC 7677 §3 (SCRAM-SHA-256): published.
//! * XEP-0474 §5.3 (SCRAM-SHA-1-PLUS with `tls-exporter` and the SSDP `h=` attribute): published
//!   (checked once with Python's hashlib/hmac to be internally consistent).
//! * SCRAM-SHA-512, SHA-512-PLUS with SSDP, SHA-256-PLUS with tls-server-end-point and authzid:
//!   no RFC publishes these. `tests/vectors/scram_vectors.txt` was generated once by
//!   `tests/vectors/gen_scram_vectors.py` (Python standard library only: `hashlib.pbkdf2_hmac`,
//!   `hmac`), an implementation independent of this crate; the script first reproduces the two RFC
//!   vectors as a self-check.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use xmpp_sasl::{
    Advertised, ChannelBindingType, ChannelBindings, ClientChannelBinding, ClientOptions,
    ClientSession, ConnectionInfo, FixedRng, Mechanism, ScramHash, ServerConfig, ServerOffer,
    ServerStep, StoredCredentials,
};

fn b64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).expect("base64")
}

fn server_config(mechanisms: &[Mechanism], ssdp: bool) -> ServerConfig {
    ServerConfig::new(common::SECRET)
        .expect("config")
        .with_mechanisms(mechanisms)
        .with_ssdp(ssdp)
}

/// The four messages of one exchange.
struct Messages<'a> {
    client_first: &'a str,
    server_first: &'a str,
    client_final: &'a str,
    server_final: &'a str,
}

/// Run the server side with a fixed server nonce; check every server message.
fn replay_server(
    offer: &ServerOffer,
    mechanism: Mechanism,
    server_nonce: &str,
    credentials: StoredCredentials,
    msgs: &Messages<'_>,
) -> ServerStep {
    let Messages {
        client_first,
        server_first,
        client_final,
        server_final,
    } = *msgs;
    let mut rng = FixedRng::new(0).with_nonces([server_nonce]);
    let mut server = offer.start(mechanism.as_str(), &mut rng).expect("start");
    let step = server
        .handle_client_message(client_first.as_bytes())
        .expect("client-first");
    assert!(
        matches!(step, ServerStep::NeedCredentials { .. }),
        "{step:?}"
    );
    let step = server
        .provide_credentials(credentials)
        .expect("credentials");
    assert_eq!(
        step,
        ServerStep::Challenge(server_first.as_bytes().to_vec())
    );
    let step = server
        .handle_client_message(client_final.as_bytes())
        .expect("client-final");
    let ServerStep::Success {
        additional_data, ..
    } = &step
    else {
        panic!("expected success, got {step:?}");
    };
    assert_eq!(additional_data.as_deref(), Some(server_final.as_bytes()));
    step
}

/// Run the client side with a fixed client nonce; check every client message.
fn replay_client(
    mechanism: Mechanism,
    options: &ClientOptions,
    client_nonce: &str,
    msgs: &Messages<'_>,
) {
    let Messages {
        client_first,
        server_first,
        client_final,
        server_final,
    } = *msgs;
    let mut rng = FixedRng::new(0).with_nonces([client_nonce]);
    let mut client = ClientSession::new(mechanism, options, &mut rng).expect("client");
    assert_eq!(
        String::from_utf8(client.initial_response().expect("first")).expect("utf8"),
        client_first
    );
    let fin = client
        .handle_challenge(server_first.as_bytes())
        .expect("final");
    assert_eq!(String::from_utf8(fin).expect("utf8"), client_final);
    client
        .handle_success(Some(server_final.as_bytes()))
        .expect("server signature");
    assert!(client.is_authenticated());
}

#[test]
fn rfc5802_scram_sha1() {
    let creds =
        StoredCredentials::derive(ScramHash::Sha1, "pencil", &b64("QSXCR+Q6sek8bf92"), 4096)
            .expect("derive");
    let offer = ServerOffer::new(
        Arc::new(server_config(&[Mechanism::ScramSha1], false)),
        ConnectionInfo::plaintext(),
    );
    let cf = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
    let sf = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
    let cfin = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
    let sfin = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";
    let step = replay_server(
        &offer,
        Mechanism::ScramSha1,
        "3rfcNHYJY1ZVvWVs7j",
        creds,
        &Messages {
            client_first: cf,
            server_first: sf,
            client_final: cfin,
            server_final: sfin,
        },
    );
    assert_eq!(
        step,
        ServerStep::Success {
            additional_data: Some(sfin.as_bytes().to_vec()),
            authcid: "user".into(),
            authzid: None
        }
    );
    let options = ClientOptions::new("user", "pencil");
    replay_client(
        Mechanism::ScramSha1,
        &options,
        "fyko+d2lbbFgONRv9qkxdawL",
        &Messages {
            client_first: cf,
            server_first: sf,
            client_final: cfin,
            server_final: sfin,
        },
    );
}

#[test]
fn rfc7677_scram_sha256() {
    let creds = StoredCredentials::derive(
        ScramHash::Sha256,
        "pencil",
        &b64("W22ZaJ0SNY7soEsUEjb6gQ=="),
        4096,
    )
    .expect("derive");
    let offer = ServerOffer::new(
        Arc::new(server_config(&[Mechanism::ScramSha256], false)),
        ConnectionInfo::plaintext(),
    );
    let cf = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    let sf =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    let cfin = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    let sfin = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
    replay_server(
        &offer,
        Mechanism::ScramSha256,
        "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        creds,
        &Messages {
            client_first: cf,
            server_first: sf,
            client_final: cfin,
            server_final: sfin,
        },
    );
    replay_client(
        Mechanism::ScramSha256,
        &ClientOptions::new("user", "pencil"),
        "rOprNGfwEbeRWgbNEkqO",
        &Messages {
            client_first: cf,
            server_first: sf,
            client_final: cfin,
            server_final: sfin,
        },
    );
}

/// XEP-0474 §5.3: SCRAM-SHA-1-PLUS, tls-exporter (fake 20-byte data), SSDP hash over two
/// mechanisms and two binding types, and an unknown `x=` extension in the client-final.
#[test]
fn xep0474_example_scram_sha1_plus_ssdp() {
    let cn = "12C4CD5C-E38E-4A98-8F6D-15C38F51CCC6";
    let sn = "a09117a6-ac50-4f2f-93f1-93799c2bddf6";
    let creds =
        StoredCredentials::derive(ScramHash::Sha1, "pencil", &b64("QSXCR+Q6sek8bf92"), 4096)
            .expect("derive");
    let bindings = ChannelBindings {
        tls_exporter: Some(b"THIS IS FAKE CB DATA".to_vec()),
        tls_server_end_point: Some(vec![1; 32]),
    };
    let offer = ServerOffer::new(
        Arc::new(server_config(
            &[Mechanism::ScramSha1, Mechanism::ScramSha1Plus],
            true,
        )),
        ConnectionInfo::tls(bindings.clone()),
    );
    let cf = format!("p=tls-exporter,,n=user,r={cn}");
    let sf = format!("r={cn}{sn},s=QSXCR+Q6sek8bf92,i=4096,h=G6k/rBLDqgOhRRaCuuatSDFkJ08=");
    let cfin = format!(
        "c=cD10bHMtZXhwb3J0ZXIsLFRISVMgSVMgRkFLRSBDQiBEQVRB,r={cn}{sn},\
         x=19C6532F-1CF4-4A27-A18D-DC9CEA41BBB3,p=M/SIDjT+dfcxUh89jZEypRvFxB4="
    );
    let sfin = "v=MQrMPvv7yv4x4Cq4W4Ih25EqS2c=";
    replay_server(
        &offer,
        Mechanism::ScramSha1Plus,
        sn,
        creds,
        &Messages {
            client_first: &cf,
            server_first: &sf,
            client_final: &cfin,
            server_final: sfin,
        },
    );

    // Our client accepts the server-first (its h= matches what the XEP's server advertised) and
    // produces the same proof as the example minus the `x=` extension.
    let advertised = Advertised {
        mechanisms: vec!["SCRAM-SHA-1".into(), "SCRAM-SHA-1-PLUS".into()],
        channel_binding_types: Some(vec!["tls-server-end-point".into(), "tls-exporter".into()]),
    };
    assert_eq!(
        offer.advertised().ssdp_hash(ScramHash::Sha1),
        advertised.ssdp_hash(ScramHash::Sha1)
    );
    let options = ClientOptions::new("user", "pencil")
        .with_channel_binding(
            ClientChannelBinding::Bind(ChannelBindingType::TlsExporter),
            bindings,
        )
        .with_advertised(advertised)
        .require_ssdp(true);
    let mut rng = FixedRng::new(0).with_nonces([cn]);
    let mut client = ClientSession::new(Mechanism::ScramSha1Plus, &options, &mut rng).expect("c");
    assert_eq!(client.initial_response().expect("first"), cf.as_bytes());
    let fin = client
        .handle_challenge(sf.as_bytes())
        .expect("ssdp accepted");
    assert!(
        String::from_utf8(fin)
            .expect("utf8")
            .starts_with("c=cD10bHMtZXhwb3J0ZXIsLFRISVMgSVMgRkFLRSBDQiBEQVRB,r=")
    );
}

/// One block of `tests/vectors/scram_vectors.txt`.
struct Vector(Vec<(String, String)>);

impl Vector {
    fn get(&self, key: &str) -> &str {
        let (_, v) = self
            .0
            .iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("missing {key}"));
        v
    }

    fn list(&self, key: &str) -> Option<Vec<String>> {
        let v = self.get(key);
        (!v.is_empty()).then(|| v.split(',').map(str::to_owned).collect())
    }
}

fn load_vectors() -> Vec<Vector> {
    let text = include_str!("vectors/scram_vectors.txt");
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            Vector(
                block
                    .lines()
                    .map(|l| {
                        let (k, v) = l
                            .split_once(": ")
                            .or_else(|| l.split_once(':'))
                            .expect("k: v");
                        (k.to_owned(), v.to_owned())
                    })
                    .collect(),
            )
        })
        .collect()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn python_cross_checked_vectors() {
    let vectors = load_vectors();
    assert_eq!(vectors.len(), 4);
    let mut sha512_seen = 0;
    for v in &vectors {
        let name = v.get("name");
        let mechanism: Mechanism = v.get("mechanism").parse().expect("mechanism");
        let hash = mechanism.scram_hash().expect("scram");
        if hash == ScramHash::Sha512 {
            sha512_seen += 1;
        }
        let iterations: u32 = v.get("iterations").parse().expect("iterations");
        let creds =
            StoredCredentials::derive(hash, v.get("password"), &b64(v.get("salt")), iterations)
                .expect("derive");
        assert_eq!(
            creds.stored_key(),
            b64(v.get("stored-key")),
            "{name}: StoredKey"
        );
        assert_eq!(
            creds.server_key(),
            b64(v.get("server-key")),
            "{name}: ServerKey"
        );

        let advertised_mechs = v.list("advertised-mechanisms");
        let advertised_cbs = v.list("advertised-cb-types");
        let cb_type: Option<ChannelBindingType> = Some(v.get("cb-type"))
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("cb"));
        let cb_data = hex(v.get("cb-data-hex"));

        // Server: offer exactly what the vector says was advertised.
        let mechanisms: Vec<Mechanism> = advertised_mechs.as_ref().map_or_else(
            || vec![mechanism],
            |l| l.iter().map(|m| m.parse().expect("m")).collect(),
        );
        let cb_types: Vec<ChannelBindingType> = advertised_cbs
            .as_ref()
            .map(|l| l.iter().map(|t| t.parse().expect("t")).collect())
            .unwrap_or_default();
        let mut bindings = ChannelBindings::none();
        for t in &cb_types {
            let data = if Some(*t) == cb_type {
                cb_data.clone()
            } else {
                vec![0xAB; 32]
            };
            match t {
                ChannelBindingType::TlsExporter => bindings.tls_exporter = Some(data),
                _ => bindings.tls_server_end_point = Some(data),
            }
        }
        let mut connection = if mechanisms
            .iter()
            .any(|m| m.is_plus() || *m == Mechanism::Plain)
        {
            ConnectionInfo::tls(bindings.clone())
        } else {
            ConnectionInfo::plaintext()
        };
        if !v.get("domain").is_empty() {
            connection = connection.with_domain(v.get("domain"));
        }
        let config = server_config(&mechanisms, advertised_mechs.is_some())
            .with_channel_binding_types(&cb_types);
        let offer = ServerOffer::new(Arc::new(config), connection);
        let step = replay_server(
            &offer,
            mechanism,
            v.get("server-nonce"),
            creds,
            &Messages {
                client_first: v.get("client-first"),
                server_first: v.get("server-first"),
                client_final: v.get("client-final"),
                server_final: v.get("server-final"),
            },
        );
        let ServerStep::Success {
            authcid, authzid, ..
        } = step
        else {
            unreachable!()
        };
        assert_eq!(authcid, v.get("username"), "{name}");
        assert_eq!(
            authzid.as_deref(),
            Some(v.get("authzid")).filter(|a| !a.is_empty())
        );

        // Client.
        let mut options = ClientOptions::new(v.get("username"), v.get("password"))
            .with_iteration_bounds(4096, 100_000);
        if !v.get("authzid").is_empty() {
            options = options.with_authzid(v.get("authzid"));
        }
        if let Some(t) = cb_type {
            options = options.with_channel_binding(ClientChannelBinding::Bind(t), bindings);
        }
        if let Some(m) = advertised_mechs {
            options = options
                .with_advertised(Advertised {
                    mechanisms: m,
                    channel_binding_types: advertised_cbs,
                })
                .require_ssdp(true);
        }
        replay_client(
            mechanism,
            &options,
            v.get("client-nonce"),
            &Messages {
                client_first: v.get("client-first"),
                server_first: v.get("server-first"),
                client_final: v.get("client-final"),
                server_final: v.get("server-final"),
            },
        );
    }
    assert_eq!(sha512_seen, 2);
}
