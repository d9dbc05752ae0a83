//! Configuration: defaults, every key, errors that name the key and the line, the example
//! file, and building a [`ServerContext`] from a configuration (data dir, self-signed
//! certificate, server secret, storage, TLS that a client accepts).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chatrix_server::ServerContext;
use chatrix_server::config::{
    ArchiveConfig, CertificateFiles, Config, ConfigError, CsiConfig, ListenerConfig, ListenerKind,
    Location, RegistrationMode, StreamManagementConfig, TlsMode,
};
use chatrix_server::storage::{Backend, DatabaseUrl};
use xmpp_core::xml::Limits;
use xmpp_mam::DefaultPolicy;
use xmpp_sasl::Mechanism;

fn parse(text: &str) -> Config {
    Config::from_toml_str(text).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_err(text: &str) -> ConfigError {
    match Config::from_toml_str(text) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e,
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Asserts that the error points at `line`, and that its message names `key` and the line.
fn assert_points_at(e: &ConfigError, line: usize, key: &str) {
    let message = e.to_string();
    assert_eq!(e.location().map(|l| l.line), Some(line), "{message}");
    assert!(
        message.contains(&format!("line {line}")),
        "no line number in: {message}"
    );
    assert!(message.contains(key), "`{key}` not named in: {message}");
}

#[test]
fn defaults() {
    let c = Config::defaults();
    assert_eq!(c.data_dir, PathBuf::from("chatrix-data"));
    assert_eq!(c.log_level, "info");
    assert_eq!(c.hosts.len(), 1);
    assert_eq!(c.hosts[0].domain, "localhost");
    assert_eq!(c.hosts[0].certificate, None);
    assert_eq!(
        c.listeners,
        vec![
            ListenerConfig {
                kind: ListenerKind::C2sStarttls,
                address: addr("0.0.0.0:5222"),
                tls: TlsMode::Required
            },
            ListenerConfig {
                kind: ListenerKind::C2sDirectTls,
                address: addr("0.0.0.0:5223"),
                tls: TlsMode::Required
            },
            ListenerConfig {
                kind: ListenerKind::WebHttps,
                address: addr("0.0.0.0:5443"),
                tls: TlsMode::Required
            },
        ]
    );
    assert_eq!(c.database.url, DatabaseUrl::Sqlite("chatrix.db".into()));
    assert_eq!(
        c.database_url(),
        DatabaseUrl::Sqlite(Path::new("chatrix-data").join("chatrix.db"))
    );
    assert_eq!(c.database.max_connections, 10);
    assert_eq!(c.limits, Limits::default());
    assert_eq!(c.sasl.mechanisms, None);
    assert_eq!(c.sasl.iterations, 4096);
    assert_eq!(
        c.self_signed_cert_path(),
        Path::new("chatrix-data/cert.pem")
    );
    assert_eq!(c.self_signed_key_path(), Path::new("chatrix-data/key.pem"));
    assert_eq!(
        c.server_secret_path(),
        Path::new("chatrix-data/server-secret")
    );

    // An empty file is the defaults; --data-dir moves the database with it.
    let empty = parse("");
    assert_eq!(empty.hosts, c.hosts);
    assert_eq!(empty.listeners, c.listeners);
    let moved = c.with_data_dir("/srv/x");
    assert_eq!(
        moved.database_url(),
        DatabaseUrl::Sqlite("/srv/x/chatrix.db".into())
    );
}

#[test]
fn every_key() {
    let c = parse(
        r#"
data_dir = "/srv/chatrix"
log_level = "debug"

[[hosts]]
domain = "Example.ORG."
certificate = "/etc/certs/example.org.pem"
key = "/etc/certs/example.org.key"

[[hosts]]
domain = "chat.example.net"

[[listeners]]
kind = "c2s-starttls"
address = "127.0.0.1"
port = 15222
tls = "optional"

[[listeners]]
kind = "c2s-direct-tls"
address = "::1"

[database]
url = "postgres://chatrix:pw@db.internal:5432/chatrix"
max_connections = 3

[limits]
max_stanza_bytes = 65536
max_depth = 20
max_attributes = 30
max_namespace_declarations = 8
max_token_length = 4096

[sasl]
mechanisms = ["SCRAM-SHA-1", "SCRAM-SHA-1", "PLAIN"]
iterations = 10000
"#,
    );
    assert_eq!(c.data_dir, PathBuf::from("/srv/chatrix"));
    assert_eq!(c.log_level, "debug");
    assert_eq!(c.hosts[0].domain, "example.org");
    assert_eq!(
        c.hosts[0].certificate,
        Some(CertificateFiles {
            certificate: "/etc/certs/example.org.pem".into(),
            key: "/etc/certs/example.org.key".into(),
        })
    );
    assert_eq!(c.hosts[1].domain, "chat.example.net");
    assert_eq!(c.hosts[1].certificate, None);
    assert!(c.is_host("example.org") && !c.is_host("example.com"));
    assert_eq!(
        c.listeners,
        vec![
            ListenerConfig {
                kind: ListenerKind::C2sStarttls,
                address: addr("127.0.0.1:15222"),
                tls: TlsMode::Optional
            },
            ListenerConfig {
                kind: ListenerKind::C2sDirectTls,
                address: addr("[::1]:5223"),
                tls: TlsMode::Required
            },
        ]
    );
    assert!(matches!(c.database_url(), DatabaseUrl::Postgres(u) if u.contains("db.internal")));
    assert_eq!(c.database.max_connections, 3);
    assert_eq!(
        c.limits,
        Limits {
            max_element_bytes: 65536,
            max_depth: 20,
            max_attributes: 30,
            max_namespace_declarations: 8,
            max_token_length: 4096,
        }
    );
    assert_eq!(
        c.sasl.mechanisms,
        Some(vec![Mechanism::ScramSha1, Mechanism::Plain])
    );
    assert_eq!(c.sasl.iterations, 10000);
    // The database password does not leak through Debug.
    assert!(!format!("{c:?}").contains(":pw@"));
}

#[test]
fn unknown_keys_are_errors_with_their_line() {
    let e = parse_err("log_level = \"info\"\n\ndomian = \"x\"\n");
    assert_points_at(&e, 3, "domian");

    let e = parse_err("[[hosts]]\ndomain = \"a.example\"\ncertficate = \"c.pem\"\n");
    assert_points_at(&e, 3, "certficate");

    let e = parse_err("[[listeners]]\nkind = \"c2s-starttls\"\nport = 5222\nbacklog = 10\n");
    assert_points_at(&e, 4, "backlog");

    let e = parse_err("[limits]\nmax_stanza_byte = 10\n");
    assert_points_at(&e, 2, "max_stanza_byte");

    let e = parse_err("[sasl]\nmechanism = []\n");
    assert_points_at(&e, 2, "mechanism");

    let e = parse_err("[database]\nurl = \"sqlite://a.db\"\npool = 3\n");
    assert_points_at(&e, 3, "pool");

    let e = parse_err("\n[tls]\ncertificate = \"x\"\n");
    assert_points_at(&e, 2, "tls");
}

#[test]
fn wrong_types_and_bad_toml_are_errors_with_their_line() {
    let e = parse_err("[[listeners]]\nkind = \"c2s-starttls\"\nport = \"5222\"\n");
    assert_points_at(&e, 3, "port");

    let e = parse_err("[[listeners]]\nkind = \"c2s-starttls\"\nport = 70000\n");
    assert_points_at(&e, 3, "port");

    let e = parse_err("[[listeners]]\nkind = \"s2s\"\n");
    assert_points_at(&e, 2, "kind");

    let e = parse_err("[[listeners]]\nkind = \"c2s-starttls\"\ntls = \"maybe\"\n");
    assert_points_at(&e, 3, "tls");

    let e = parse_err("[[listeners]]\nport = 5222\n");
    assert!(e.to_string().contains("kind"), "{e}");

    let e = parse_err("hosts = \"localhost\"\n");
    assert_points_at(&e, 1, "hosts");

    let e = parse_err("log_level = \"info\"\nlog_level = \"debug\"\n");
    assert_eq!(e.location().map(|l| l.line), Some(2), "{e}");

    let e = parse_err("data_dir = \n");
    assert_eq!(e.location().map(|l| l.line), Some(1), "{e}");
}

#[test]
fn bad_values_are_errors_naming_key_and_line() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "[[hosts]]\ndomain = \"exa mple.org\"\n",
            2,
            "hosts[0].domain",
        ),
        (
            "[[hosts]]\ndomain = \"user@example.org\"\n",
            2,
            "hosts[0].domain",
        ),
        (
            "[[hosts]]\ndomain = \"a.example\"\n[[hosts]]\ndomain = \"A.example\"\n",
            4,
            "hosts[1].domain",
        ),
        ("hosts = []\n", 1, "hosts"),
        (
            "[[hosts]]\ndomain = \"a.example\"\ncertificate = \"c.pem\"\n",
            3,
            "hosts[0].key",
        ),
        (
            "[[hosts]]\ndomain = \"a.example\"\nkey = \"k.pem\"\n",
            3,
            "hosts[0].certificate",
        ),
        (
            "[[listeners]]\nkind = \"c2s-starttls\"\naddress = \"localhost\"\n",
            3,
            "listeners[0].address",
        ),
        (
            "[[listeners]]\nkind = \"c2s-direct-tls\"\ntls = \"optional\"\n",
            3,
            "listeners[0].tls",
        ),
        ("[database]\nurl = \"mysql://db/x\"\n", 2, "database.url"),
        ("[database]\nurl = \"sqlite://\"\n", 2, "database.url"),
        (
            "[database]\nmax_connections = 0\n",
            2,
            "database.max_connections",
        ),
        ("[limits]\nmax_depth = 0\n", 2, "limits.max_depth"),
        ("[sasl]\nmechanisms = []\n", 2, "sasl.mechanisms"),
        (
            "[sasl]\nmechanisms = [\n  \"SCRAM-SHA-1\",\n  \"DIGEST-MD5\",\n]\n",
            4,
            "sasl.mechanisms[1]",
        ),
        ("[sasl]\niterations = 1000\n", 2, "sasl.iterations"),
        ("[sasl]\niterations = 1000000\n", 2, "sasl.iterations"),
        ("log_level = \"chatrix=loud\"\n", 1, "log_level"),
        ("[roster]\nmax_items = 0\n", 2, "roster.max_items"),
        (
            "[shared_groups]\npoll_interval_ms = 0\n",
            2,
            "shared_groups.poll_interval_ms",
        ),
    ];
    for (text, line, key) in cases {
        let e = parse_err(text);
        assert!(matches!(e, ConfigError::Invalid { .. }), "{text}: {e:?}");
        assert_points_at(&e, *line, key);
    }

    // Two listeners on one address and port.
    let e = parse_err(
        "[[listeners]]\nkind = \"c2s-starttls\"\n[[listeners]]\nkind = \"c2s-direct-tls\"\nport = 5222\n",
    );
    assert!(e.to_string().contains("0.0.0.0:5222"), "{e}");
}

#[test]
fn account_classes_and_im_limits() {
    let c = parse(
        "[roster]\nmax_items = 50\n[account_classes.default]\nmax_offline_messages = 7\n\
         [account_classes.sponsor]\nmax_offline_messages = 70\n[shared_groups]\npoll_interval_ms = 100\n",
    );
    assert_eq!(c.max_roster_items, 50);
    assert_eq!(c.default_class().max_offline_messages, 7);
    assert_eq!(
        c.account_classes
            .get("sponsor")
            .map(|k| k.max_offline_messages),
        Some(70)
    );
    assert_eq!(c.shared_groups_poll, std::time::Duration::from_millis(100));
    // Without the tables: the defaults, and the default class always exists.
    let c = parse("");
    assert_eq!(c.max_roster_items, 1000);
    assert_eq!(c.default_class().max_offline_messages, 100);
    let e = parse_err("[account_classes.default]\nmax_offline = 3\n");
    assert!(e.to_string().contains("max_offline"), "{e}");
}

#[test]
fn columns_count_characters() {
    let e = parse_err("[[hosts]]\n  domain = \"ü@x\"\n");
    assert_eq!(
        e.location(),
        Some(Location {
            line: 2,
            column: 12
        })
    );
}

#[test]
fn the_example_file_parses_and_sets_every_section() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../chatrix.example.toml");
    let c = Config::load(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/chatrix"));
    assert_eq!(c.hosts.len(), 2);
    assert!(c.hosts[0].certificate.is_some());
    assert_eq!(c.listeners.len(), 4);
    assert!(matches!(c.database.url, DatabaseUrl::Postgres(_)));
    assert!(c.sasl.mechanisms.is_some());
    assert_eq!(c.max_roster_items, 1000);
    assert_eq!(c.default_class().max_offline_messages, 100);
    assert_eq!(c.shared_groups_poll, std::time::Duration::from_secs(2));
    assert_eq!(c.stream_management, StreamManagementConfig::default());
    assert_eq!(
        c.archive.retention,
        Some(Duration::from_secs(365 * 24 * 3600))
    );
    assert_eq!(c.csi, CsiConfig::default());
    assert_eq!(
        c.class(Some("sponsor")).max_archive_messages,
        Some(1_000_000)
    );

    // Every key the parser knows appears in the example (uncommented).
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    for key in [
        "data_dir",
        "log_level",
        "[[hosts]]",
        "domain",
        "certificate",
        "key",
        "[[listeners]]",
        "kind",
        "address",
        "port",
        "tls",
        "[database]",
        "url",
        "max_connections",
        "[limits]",
        "max_stanza_bytes",
        "max_depth",
        "max_attributes",
        "max_namespace_declarations",
        "max_token_length",
        "[sasl]",
        "mechanisms",
        "iterations",
        "[roster]",
        "max_items",
        "[account_classes.default]",
        "max_offline_messages",
        "[shared_groups]",
        "poll_interval_ms",
        "[account_classes.sponsor]",
        "upload_quota_bytes",
        "max_accounts_per_address",
        "[registration]",
        "mode",
        "allowed_networks",
        "captcha",
        "reserved_names",
        "min_password_bits",
        "per_address",
        "per_address_window_secs",
        "web_per_window",
        "web_window_secs",
        "captcha_per_address",
        "captcha_flood_window_secs",
        "captcha_block_secs",
        "captcha_ttl_secs",
        "tombstone_days",
        "[fail2ban]",
        "max_failures",
        "window_secs",
        "ban_secs",
        "allow",
        "[web]",
        "trusted_proxies",
        "max_archive_messages",
        "[stream_management]",
        "enabled",
        "resume_timeout_secs",
        "max_unacked",
        "[archive]",
        "default =",
        "retention_days",
        "expiry_interval_secs",
        "max_page_size",
        "default_page_size",
        "[csi]",
        "max_held",
    ] {
        assert!(
            text.lines()
                .any(|l| !l.starts_with('#') && l.trim_start().starts_with(key)),
            "{key} is not in the example"
        );
    }
}

#[test]
fn relative_paths_are_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("chatrix.toml");
    std::fs::write(
        &path,
        "data_dir = \"state\"\n[[hosts]]\ndomain = \"a.example\"\ncertificate = \"certs/a.pem\"\nkey = \"certs/a.key\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let c = Config::load(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.data_dir, dir.path().join("state"));
    assert_eq!(
        c.database_url(),
        DatabaseUrl::Sqlite(dir.path().join("state/chatrix.db"))
    );
    let files = c.hosts[0]
        .certificate
        .clone()
        .unwrap_or_else(|| panic!("certificate"));
    assert_eq!(files.certificate, dir.path().join("certs/a.pem"));

    // Errors name the file.
    std::fs::write(&path, "bogus = 1\n").unwrap_or_else(|e| panic!("{e}"));
    let e = Config::load(Some(&path)).map(|_| ()).unwrap_err_or_panic();
    assert!(e.to_string().contains("chatrix.toml"), "{e}");
    let missing = Config::load(Some(&dir.path().join("nope.toml")));
    assert!(matches!(missing, Err(ConfigError::Read { .. })));
}

trait UnwrapErr<E> {
    fn unwrap_err_or_panic(self) -> E;
}

impl<E> UnwrapErr<E> for Result<(), E> {
    fn unwrap_err_or_panic(self) -> E {
        match self {
            Ok(()) => panic!("expected an error"),
            Err(e) => e,
        }
    }
}

/// A configuration on a fresh temporary data dir.
fn temp_config(extra: &str) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = parse(extra).with_data_dir(dir.path().join("data"));
    (dir, config)
}

#[tokio::test]
async fn building_the_context_prepares_the_data_dir() {
    let (_dir, config) = temp_config("[sasl]\nmechanisms = [\"SCRAM-SHA-1\"]\n");
    let data = config.data_dir.clone();
    let ctx = ServerContext::build(config.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ctx.storage.backend(), Backend::Sqlite);
    assert!(data.join("chatrix.db").is_file());
    assert_eq!(ctx.secret.as_bytes().len(), 32);
    assert_eq!(ctx.sasl.mechanisms(), &[Mechanism::ScramSha1]);
    let status = ctx
        .self_signed
        .clone()
        .unwrap_or_else(|| panic!("self-signed"));
    assert!(status.generated);
    assert_eq!(status.certificate, data.join("cert.pem"));
    assert_eq!(status.domains, vec!["localhost".to_owned()]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for (file, want) in [
            ("key.pem", 0o600),
            ("server-secret", 0o600),
            ("cert.pem", 0o644),
        ] {
            let mode = std::fs::metadata(data.join(file))
                .map(|m| m.permissions().mode() & 0o777)
                .ok();
            assert_eq!(mode, Some(want), "{file}");
        }
    }
    let material = ctx.tls.select(Some("localhost"));
    assert!(material.covers("localhost"));
    assert!(material.covers("conference.localhost"));
    drop(ctx);

    // A second start reuses the certificate and the secret.
    let secret = std::fs::read(data.join("server-secret")).unwrap_or_else(|e| panic!("{e}"));
    let cert = std::fs::read(data.join("cert.pem")).unwrap_or_else(|e| panic!("{e}"));
    let ctx = ServerContext::build(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ctx.secret.as_bytes(), secret.as_slice());
    assert_eq!(
        std::fs::read(data.join("cert.pem")).ok().as_deref(),
        Some(cert.as_slice())
    );
    assert!(ctx.self_signed.is_some_and(|s| !s.generated));
}

#[tokio::test]
async fn a_client_trusting_the_self_signed_certificate_completes_a_handshake() {
    use rustls::pki_types::ServerName;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let (_dir, config) = temp_config("");
    let cert_path = config.self_signed_cert_path();
    let ctx = ServerContext::build(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(&cert_path).unwrap_or_else(|e| panic!("{e}"));
    let cert = {
        use rustls::pki_types::pem::PemObject as _;
        rustls::pki_types::CertificateDer::from_pem_slice(&pem).unwrap_or_else(|e| panic!("{e}"))
    };
    roots.add(cert).unwrap_or_else(|e| panic!("{e}"));

    for (tls12, direct) in [(false, true), (true, true), (false, false)] {
        let versions: &[&rustls::SupportedProtocolVersion] = if tls12 {
            &[&rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13]
        };
        let mut client_config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(versions)
        .unwrap_or_else(|e| panic!("{e}"))
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
        if direct {
            client_config.alpn_protocols = vec![b"xmpp-client".to_vec()];
        }
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));

        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let server_ctx = ctx.clone();
        let server = tokio::spawn(async move {
            let start = tokio_rustls::LazyConfigAcceptor::new(
                rustls::server::Acceptor::default(),
                server_io,
            )
            .await?;
            let sni = start.client_hello().server_name().map(str::to_owned);
            let material = server_ctx.tls.select(sni.as_deref());
            let end_point = material.tls_server_end_point.clone();
            let config = if direct {
                Arc::clone(&material.config_direct)
            } else {
                Arc::clone(&material.config_starttls)
            };
            let mut tls = start.into_stream(config).await?;
            let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
            tls.write_all(b"<ok/>").await?;
            tls.shutdown().await?;
            Ok::<_, std::io::Error>((sni, end_point, alpn))
        });

        let name = ServerName::try_from("conference.localhost").unwrap_or_else(|e| panic!("{e}"));
        let mut tls = connector
            .connect(name, client_io)
            .await
            .unwrap_or_else(|e| panic!("handshake (tls12={tls12}): {e}"));
        let peer_leaf = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .map_or_else(|| panic!("no peer certificate"), |c| c.as_ref().to_vec());
        let mut buf = Vec::new();
        tls.read_to_end(&mut buf)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(buf, b"<ok/>");

        let (sni, end_point, alpn) = server
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sni.as_deref(), Some("conference.localhost"));
        if direct {
            assert_eq!(alpn.as_deref(), Some(&b"xmpp-client"[..]));
        } else {
            assert_eq!(alpn, None);
        }
        // The client computes tls-server-end-point itself (ECDSA-SHA256 → SHA-256 of the leaf
        // it received) and agrees with what the server precomputed.
        let client_end_point = ring::digest::digest(&ring::digest::SHA256, &peer_leaf);
        assert_eq!(end_point.as_deref(), Some(client_end_point.as_ref()));
    }
}

#[test]
fn registration_fail2ban_and_classes() {
    let c = Config::defaults();
    let r = &c.registration;
    assert_eq!(r.mode, RegistrationMode::Open);
    assert!(r.captcha);
    assert_eq!((r.per_address, r.per_address_window.as_secs()), (1, 3600));
    assert_eq!((r.web_per_window, r.web_window.as_secs()), (1, 3600));
    assert!(r.reserved_names.iter().any(|n| n == "admin"));
    assert_eq!(c.fail2ban.ban.as_secs(), 6 * 3600);
    // The sponsor class exists unconfigured, with ten times the default limits.
    assert_eq!(c.class(Some("sponsor")).max_offline_messages, 1000);
    assert_eq!(c.class(Some("gone")).max_offline_messages, 100);

    let c = Config::from_toml_str(
        "[registration]\nmode = \"allowed-networks\"\nallowed_networks = [\"10.0.0.0/8\", \"::1\"]\n\
         captcha = false\nper_address = 3\nreserved_names = [\"boss\"]\n\
         [fail2ban]\nmax_failures = 5\nallow = [\"127.0.0.1/32\"]\n\
         [account_classes.default]\nmax_offline_messages = 7\n\
         [account_classes.staff]\nmax_accounts_per_address = 2\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.registration.mode, RegistrationMode::AllowedNetworks);
    assert!(!c.registration.captcha);
    assert_eq!(c.registration.reserved_names, ["boss"]);
    assert_eq!(c.fail2ban.max_failures, 5);
    assert_eq!(c.class(Some("sponsor")).max_offline_messages, 70);
    assert_eq!(c.class(Some("staff")).max_offline_messages, 7);
    assert_eq!(c.class(Some("staff")).max_accounts_per_address, Some(2));

    let e = parse_err("[registration]\nallowed_networks = [\"10.0.0.0/33\"]\n");
    assert_points_at(&e, 2, "registration.allowed_networks[0]");
    let e = parse_err("[registration]\nmode = \"allowed-networks\"\n");
    assert!(e.to_string().contains("at least one network"), "{e}");
    let e = parse_err("[fail2ban]\nmax_failures = 0\n");
    assert_points_at(&e, 2, "fail2ban.max_failures");
    let e = parse_err("[[listeners]]\nkind = \"web-https\"\ntls = \"optional\"\n");
    assert_points_at(&e, 3, "listeners[0].tls");
}

#[test]
fn sessions_defaults() {
    let c = Config::defaults();
    assert_eq!(
        c.stream_management,
        StreamManagementConfig {
            enabled: true,
            resume_timeout: Duration::from_secs(300),
            max_unacked: 1000,
        }
    );
    assert!(c.stream_management.resumable());
    assert_eq!(
        c.archive,
        ArchiveConfig {
            enabled: true,
            default_policy: DefaultPolicy::Always,
            retention: None,
            expiry_interval: Duration::from_secs(3600),
            max_page: 250,
            default_page: 50,
        }
    );
    assert_eq!(
        c.csi,
        CsiConfig {
            enabled: true,
            max_held: 100,
        }
    );
    // The Default impls are the built-in defaults.
    assert_eq!(c.stream_management, StreamManagementConfig::default());
    assert_eq!(c.archive, ArchiveConfig::default());
    assert_eq!(c.csi, CsiConfig::default());
    // No archive cap unless configured, for default and sponsor alike.
    assert_eq!(c.default_class().max_archive_messages, None);
    assert_eq!(c.class(Some("sponsor")).max_archive_messages, None);
    // Empty tables are the defaults too.
    let empty = parse("[stream_management]\n[archive]\n[csi]\n");
    assert_eq!(empty.stream_management, c.stream_management);
    assert_eq!(empty.archive, c.archive);
    assert_eq!(empty.csi, c.csi);
}

#[test]
fn sessions_every_key() {
    let c = parse(
        "[stream_management]\nenabled = false\nresume_timeout_secs = 3600\nmax_unacked = 10\n\
         [archive]\nenabled = false\ndefault = \"roster\"\nretention_days = 30\n\
         expiry_interval_secs = 60\nmax_page_size = 1000\ndefault_page_size = 1000\n\
         [csi]\nenabled = false\nmax_held = 10000\n\
         [account_classes.default]\nmax_archive_messages = 5000\n",
    );
    assert_eq!(
        c.stream_management,
        StreamManagementConfig {
            enabled: false,
            resume_timeout: Duration::from_secs(3600),
            max_unacked: 10,
        }
    );
    assert!(!c.stream_management.resumable());
    assert_eq!(
        c.archive,
        ArchiveConfig {
            enabled: false,
            default_policy: DefaultPolicy::Roster,
            retention: Some(Duration::from_secs(30 * 24 * 3600)),
            expiry_interval: Duration::from_secs(60),
            max_page: 1000,
            default_page: 1000,
        }
    );
    assert_eq!(
        c.csi,
        CsiConfig {
            enabled: false,
            max_held: 10000,
        }
    );
    assert_eq!(c.default_class().max_archive_messages, Some(5000));

    // The other policies, the lower bounds, and 0 meaning "off" / "forever".
    let c = parse(
        "[stream_management]\nresume_timeout_secs = 0\nmax_unacked = 100000\n\
         [archive]\ndefault = \"never\"\nretention_days = 0\nmax_page_size = 10\ndefault_page_size = 1\n\
         [csi]\nmax_held = 1\n",
    );
    assert!(c.stream_management.enabled);
    assert_eq!(c.stream_management.resume_timeout, Duration::ZERO);
    assert!(!c.stream_management.resumable());
    assert_eq!(c.stream_management.max_unacked, 100_000);
    assert_eq!(c.archive.default_policy, DefaultPolicy::Never);
    assert_eq!(c.archive.retention, None);
    assert_eq!((c.archive.max_page, c.archive.default_page), (10, 1));
    assert_eq!(c.csi.max_held, 1);
    assert_eq!(
        parse("[archive]\ndefault = \"always\"\n")
            .archive
            .default_policy,
        DefaultPolicy::Always
    );
    // A maximum page below the default page lowers the default page with it.
    let c = parse("[archive]\nmax_page_size = 20\n");
    assert_eq!((c.archive.max_page, c.archive.default_page), (20, 20));
}

#[test]
fn sessions_out_of_range_values_name_key_and_line() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "[stream_management]\nresume_timeout_secs = 3601\n",
            2,
            "stream_management.resume_timeout_secs",
        ),
        (
            "[stream_management]\nmax_unacked = 9\n",
            2,
            "stream_management.max_unacked",
        ),
        (
            "[stream_management]\nmax_unacked = 100001\n",
            2,
            "stream_management.max_unacked",
        ),
        (
            "[archive]\nretention_days = 36501\n",
            2,
            "archive.retention_days",
        ),
        (
            "[archive]\nexpiry_interval_secs = 59\n",
            2,
            "archive.expiry_interval_secs",
        ),
        ("[archive]\nmax_page_size = 9\n", 2, "archive.max_page_size"),
        (
            "[archive]\nmax_page_size = 1001\n",
            2,
            "archive.max_page_size",
        ),
        (
            "[archive]\ndefault_page_size = 0\n",
            2,
            "archive.default_page_size",
        ),
        (
            "[archive]\ndefault_page_size = 251\n",
            2,
            "archive.default_page_size",
        ),
        (
            "[archive]\nmax_page_size = 100\n\ndefault_page_size = 101\n",
            4,
            "archive.default_page_size",
        ),
        ("[csi]\nmax_held = 0\n", 2, "csi.max_held"),
        ("[csi]\nmax_held = 10001\n", 2, "csi.max_held"),
    ];
    for (text, line, key) in cases {
        let e = parse_err(text);
        assert!(matches!(e, ConfigError::Invalid { .. }), "{text}: {e:?}");
        assert_points_at(&e, *line, key);
    }
    let e = parse_err("[csi]\nmax_held = 0\n");
    assert!(e.to_string().contains("between 1 and 10000"), "{e}");
    let e = parse_err("[archive]\nexpiry_interval_secs = 1\n");
    assert!(e.to_string().contains("at least 60"), "{e}");

    // Wrong types and unknown words are parse errors at their line.
    let e = parse_err("[archive]\n\ndefault = \"roster-only\"\n");
    assert_points_at(&e, 3, "default");
    let e = parse_err("[stream_management]\nresume_timeout_secs = -1\n");
    assert_points_at(&e, 2, "resume_timeout_secs");
    let e = parse_err("[csi]\nenabled = \"yes\"\n");
    assert_points_at(&e, 2, "enabled");
}

#[test]
fn sessions_unknown_keys_are_errors_with_their_line() {
    let e = parse_err("[stream_management]\nenabled = true\nresume_timeout = 300\n");
    assert_points_at(&e, 3, "resume_timeout");
    let e = parse_err("[archive]\nmax_page = 100\n");
    assert_points_at(&e, 2, "max_page");
    let e = parse_err("[archive]\nretention_secs = 100\n");
    assert_points_at(&e, 2, "retention_secs");
    let e = parse_err("[csi]\n\nmax_queue = 5\n");
    assert_points_at(&e, 3, "max_queue");
    let e = parse_err("[account_classes.default]\nmax_archive = 5\n");
    assert_points_at(&e, 2, "max_archive");
}

#[test]
fn sponsor_gets_tenfold_the_archive_cap() {
    let c = parse("[account_classes.default]\nmax_archive_messages = 20000\n");
    assert_eq!(c.default_class().max_archive_messages, Some(20000));
    assert_eq!(c.class(Some("sponsor")).max_archive_messages, Some(200_000));
    // A class that does not set it takes default's; 0 means no cap.
    let c = parse(
        "[account_classes.default]\nmax_archive_messages = 20000\n\
         [account_classes.staff]\nmax_offline_messages = 5\n\
         [account_classes.unlimited]\nmax_archive_messages = 0\n\
         [account_classes.sponsor]\nmax_archive_messages = 7\n",
    );
    assert_eq!(c.class(Some("staff")).max_archive_messages, Some(20000));
    assert_eq!(c.class(Some("unlimited")).max_archive_messages, None);
    assert_eq!(c.class(Some("sponsor")).max_archive_messages, Some(7));
    // 0 in default is no cap, and the sponsor class keeps no cap.
    let c = parse("[account_classes.default]\nmax_archive_messages = 0\n");
    assert_eq!(c.default_class().max_archive_messages, None);
    assert_eq!(c.class(Some("sponsor")).max_archive_messages, None);
    // The tenfold saturates instead of wrapping.
    let c = parse(&format!(
        "[account_classes.default]\nmax_archive_messages = {}\n",
        i64::MAX
    ));
    assert_eq!(
        c.class(Some("sponsor")).max_archive_messages,
        Some(u64::MAX)
    );
}

#[test]
fn sessions_summaries() {
    let c = Config::defaults();
    assert_eq!(
        c.stream_management.to_string(),
        "on, resumable for 300 s, at most 1000 unacknowledged stanzas"
    );
    assert_eq!(
        c.archive.to_string(),
        "on, default always, kept forever, pages of 50 (at most 250)"
    );
    assert_eq!(
        c.csi.to_string(),
        "on, holding at most 100 stanzas for an inactive client"
    );
    let c = parse(
        "[stream_management]\nresume_timeout_secs = 0\n[archive]\ndefault = \"roster\"\n\
         retention_days = 7\n[csi]\nenabled = false\n",
    );
    assert_eq!(
        c.stream_management.to_string(),
        "on, not resumable, at most 1000 unacknowledged stanzas"
    );
    assert_eq!(
        c.archive.to_string(),
        "on, default roster, kept 7 days (expired every 3600 s), pages of 50 (at most 250)"
    );
    assert_eq!(c.csi.to_string(), "off");
    let c = parse("[stream_management]\nenabled = false\n[archive]\nenabled = false\n");
    assert_eq!(c.stream_management.to_string(), "off");
    assert_eq!(c.archive.to_string(), "off");
}
