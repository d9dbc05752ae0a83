//! The command line, end to end: the built binary on a temporary data dir, then the database
//! read back through the library.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chatrix_server::storage::{AccountJid, DatabaseUrl, Storage, StorageOptions};
use xmpp_sasl::{ScramHash, StoredCredentials};

const BIN: &str = env!("CARGO_BIN_EXE_chatrix-server");

/// Runs the binary with `args`, feeding `stdin` (or nothing, from /dev/null).
fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{BIN}: {e}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap_or_else(|| panic!("stdin"));
        pipe.write_all(input.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "failed: {}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

#[track_caller]
fn assert_fails_with(o: &Output, needle: &str) {
    assert!(!o.status.success(), "succeeded: {}", stdout(o));
    assert!(
        stderr(o).contains(needle),
        "`{needle}` not in stderr: {}",
        stderr(o)
    );
}

/// Opens the SQLite database of a data dir through the library.
async fn open(data_dir: &Path) -> Storage {
    Storage::open(
        &DatabaseUrl::Sqlite(data_dir.join("chatrix.db")),
        &StorageOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn records(storage: &Storage, jid: &str) -> Vec<StoredCredentials> {
    let account = AccountJid::parse(jid).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for hash in ScramHash::ALL {
        if let Some(c) = storage
            .credentials(&account, hash)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        {
            out.push(c);
        }
    }
    out
}

#[tokio::test]
async fn user_commands_on_the_default_configuration() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let d = data.to_str().unwrap_or_else(|| panic!("utf-8 path"));
    let user = |args: &[&str], stdin: Option<&str>| {
        let mut all = vec!["--data-dir", d, "user"];
        all.extend_from_slice(args);
        run(&all, stdin)
    };

    // add: the password from stdin, the JID normalised.
    let o = user(
        &["add", "Alice@LOCALHOST", "--password-stdin"],
        Some("pencil\n"),
    );
    assert_ok(&o);
    assert_eq!(stdout(&o), "created alice@localhost\n");
    let o = user(
        &["add", "bob@localhost", "--password-stdin"],
        Some("hunter2\r\n"),
    );
    assert_ok(&o);

    {
        let storage = open(&data).await;
        let alice = records(&storage, "alice@localhost").await;
        let hashes: Vec<ScramHash> = alice.iter().map(StoredCredentials::hash).collect();
        assert_eq!(hashes, ScramHash::ALL);
        for c in &alice {
            assert_eq!(c.iterations(), 4096);
            assert!(c.verify_password("pencil"), "{:?}", c.hash());
            assert!(!c.verify_password("pencil\n"));
        }
        // Windows line endings are not part of the password either.
        assert!(
            records(&storage, "bob@localhost")
                .await
                .iter()
                .all(|c| c.verify_password("hunter2"))
        );
        storage.close().await;
    }

    // Duplicates, unknown hosts, bad JIDs, empty passwords, no terminal.
    assert_fails_with(
        &user(&["add", "alice@localhost", "--password-stdin"], Some("x\n")),
        "already exists",
    );
    assert_fails_with(
        &user(
            &["add", "carol@example.org", "--password-stdin"],
            Some("x\n"),
        ),
        "not a host",
    );
    assert_fails_with(
        &user(&["add", "localhost", "--password-stdin"], Some("x\n")),
        "user@domain",
    );
    assert_fails_with(
        &user(
            &["add", "carol@localhost/phone", "--password-stdin"],
            Some("x\n"),
        ),
        "user@domain",
    );
    assert_fails_with(
        &user(
            &["add", "ca rol@localhost", "--password-stdin"],
            Some("x\n"),
        ),
        "not a valid JID",
    );
    assert_fails_with(
        &user(&["add", "carol@localhost", "--password-stdin"], Some("\n")),
        "empty",
    );
    assert_fails_with(&user(&["add", "carol@localhost"], None), "--password-stdin");

    // list: every host, or one.
    let o = user(&["list"], None);
    assert_ok(&o);
    assert_eq!(stdout(&o), "alice@localhost\nbob@localhost\n");
    let o = user(&["list", "LOCALHOST"], None);
    assert_ok(&o);
    assert_eq!(stdout(&o), "alice@localhost\nbob@localhost\n");
    assert_fails_with(&user(&["list", "example.org"], None), "not a host");

    // passwd: the new password works, the old one does not.
    assert_ok(&user(
        &["passwd", "alice@localhost", "--password-stdin"],
        Some("crayon\n"),
    ));
    {
        let storage = open(&data).await;
        let alice = records(&storage, "alice@localhost").await;
        assert_eq!(alice.len(), 3);
        assert!(
            alice
                .iter()
                .all(|c| c.verify_password("crayon") && !c.verify_password("pencil"))
        );
        storage.close().await;
    }
    assert_fails_with(
        &user(
            &["passwd", "carol@localhost", "--password-stdin"],
            Some("x\n"),
        ),
        "does not exist",
    );

    // delete.
    let o = user(&["delete", "bob@localhost"], None);
    assert_ok(&o);
    assert_eq!(stdout(&o), "deleted bob@localhost\n");
    assert_fails_with(&user(&["delete", "bob@localhost"], None), "does not exist");
    assert_eq!(stdout(&user(&["list"], None)), "alice@localhost\n");

    // Passwords appear nowhere in what the commands print.
    for o in [
        user(
            &["add", "dave@localhost", "--password-stdin"],
            Some("s3cr3t-pw\n"),
        ),
        user(
            &["passwd", "dave@localhost", "--password-stdin"],
            Some("an0ther-pw\n"),
        ),
    ] {
        assert_ok(&o);
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(!all.contains("s3cr3t") && !all.contains("an0ther"), "{all}");
    }
}

#[tokio::test]
async fn group_commands_on_the_default_configuration() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let d = data.to_str().unwrap_or_else(|| panic!("utf-8 path"));
    let cmd = |args: &[&str]| {
        let mut all = vec!["--data-dir", d];
        all.extend_from_slice(args);
        run(&all, None)
    };
    let group = |args: &[&str]| {
        let mut all = vec!["group"];
        all.extend_from_slice(args);
        cmd(&all)
    };
    for jid in ["alice@localhost", "bob@localhost"] {
        assert_ok(&run(
            &["--data-dir", d, "user", "add", jid, "--password-stdin"],
            Some("pw\n"),
        ));
    }

    // create: the first host by default, the display name defaults to the name.
    let o = group(&["create", "staff", "--display-name", "Staff ✓"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "created shared group staff on localhost\n");
    assert_ok(&group(&[
        "create",
        "all",
        "--everyone",
        "--domain",
        "LocalHost",
    ]));
    assert_fails_with(&group(&["create", "staff"]), "already exists");
    assert_fails_with(
        &group(&["create", "x", "--domain", "example.org"]),
        "not a host",
    );
    assert_fails_with(&group(&["create", " "]), "must not be empty");
    assert_fails_with(
        &group(&["create", "x", "--display-name", ""]),
        "must not be empty",
    );

    // add-member: once, twice (no change, no failure), unknown accounts, groups and hosts.
    let o = group(&["add-member", "staff", "Alice@localhost"]);
    assert_ok(&o);
    assert_eq!(
        stdout(&o),
        "added alice@localhost to shared group staff on localhost\n"
    );
    let o = group(&["add-member", "staff", "alice@localhost"]);
    assert_ok(&o);
    assert!(stdout(&o).contains("already a member"), "{}", stdout(&o));
    assert_ok(&group(&["add-member", "staff", "bob@localhost"]));
    assert_fails_with(
        &group(&["add-member", "staff", "carol@localhost"]),
        "account carol@localhost does not exist",
    );
    assert_fails_with(
        &group(&["add-member", "nope", "alice@localhost"]),
        "shared group `nope` does not exist on localhost",
    );
    assert_fails_with(
        &group(&["add-member", "staff", "carol@example.org"]),
        "not a host",
    );
    assert_fails_with(
        &group(&["add-member", "staff", "ca rol@localhost"]),
        "not a valid JID",
    );
    assert_fails_with(&group(&["add-member", "staff"]), "JID");

    // list: every group, ordered by domain and name.
    let o = group(&["list"]);
    assert_ok(&o);
    assert_eq!(
        stdout(&o),
        "all on localhost \"all\": everyone\n\
         staff on localhost \"Staff ✓\": alice@localhost, bob@localhost\n"
    );
    {
        let storage = open(&data).await;
        let groups = storage
            .shared_groups()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[1].display_name, "Staff ✓");
        assert!(groups[0].everyone && !groups[1].everyone);
        storage.close().await;
    }

    // remove-member.
    let o = group(&["remove-member", "staff", "bob@localhost"]);
    assert_ok(&o);
    assert_eq!(
        stdout(&o),
        "removed bob@localhost from shared group staff on localhost\n"
    );
    let o = group(&["remove-member", "staff", "bob@localhost"]);
    assert_ok(&o);
    assert!(stdout(&o).contains("not a member"), "{}", stdout(&o));
    assert_fails_with(
        &group(&["remove-member", "staff", "carol@localhost"]),
        "does not exist",
    );
    assert_fails_with(
        &group(&["remove-member", "nope", "bob@localhost"]),
        "shared group `nope` does not exist",
    );

    // Deleting an account removes its memberships.
    assert_ok(&cmd(&["user", "delete", "alice@localhost"]));
    let o = group(&["list", "--domain", "localhost"]);
    assert_ok(&o);
    assert!(
        stdout(&o).contains("staff on localhost \"Staff ✓\": no members\n"),
        "{}",
        stdout(&o)
    );

    // delete.
    let o = group(&["delete", "staff"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "deleted shared group staff on localhost\n");
    assert_fails_with(&group(&["delete", "staff"]), "does not exist");
    assert_eq!(
        stdout(&group(&["list"])),
        "all on localhost \"all\": everyone\n"
    );
    assert_fails_with(&group(&["list", "--domain", "example.org"]), "not a host");
}

#[test]
fn group_commands_across_hosts() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("chatrix.toml");
    write(
        &config,
        "data_dir = \"state\"\n\
         [[hosts]]\ndomain = \"example.org\"\n\
         [[hosts]]\ndomain = \"example.net\"\n",
    );
    let c = path_str(&config);
    let group = |args: &[&str]| {
        let mut all = vec!["-c", c, "group"];
        all.extend_from_slice(args);
        run(&all, None)
    };
    for jid in ["alice@example.org", "bob@example.net"] {
        assert_ok(&run(
            &["-c", c, "user", "add", jid, "--password-stdin"],
            Some("pw\n"),
        ));
    }
    // The default domain is the first host; the same name may exist on another.
    assert_ok(&group(&["create", "team"]));
    assert_ok(&group(&["create", "team", "--domain", "example.net"]));
    // A member may be an account of any of our hosts.
    assert_ok(&group(&["add-member", "team", "bob@example.net"]));
    assert_ok(&group(&[
        "add-member",
        "team",
        "alice@example.org",
        "--domain",
        "example.net",
    ]));
    let o = group(&["list"]);
    assert_ok(&o);
    assert_eq!(
        stdout(&o),
        "team on example.net \"team\": alice@example.org\n\
         team on example.org \"team\": bob@example.net\n"
    );
    let o = group(&["list", "--domain", "example.org"]);
    assert_eq!(
        stdout(&o),
        "team on example.org \"team\": bob@example.net\n"
    );
    assert_ok(&group(&["delete", "team", "--domain", "example.net"]));
    assert_fails_with(
        &group(&["delete", "team", "--domain", "example.net"]),
        "does not exist on example.net",
    );
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap_or_else(|| panic!("utf-8 path"))
}

#[tokio::test]
async fn user_commands_follow_the_configuration_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("chatrix.toml");
    write(
        &config,
        "data_dir = \"state\"\n\
         [[hosts]]\ndomain = \"example.org\"\n\
         [[hosts]]\ndomain = \"example.net\"\n\
         [sasl]\niterations = 5000\n",
    );
    let c = path_str(&config);
    assert_ok(&run(
        &[
            "--config",
            c,
            "user",
            "add",
            "alice@example.org",
            "--password-stdin",
        ],
        Some("pw\n"),
    ));
    assert_ok(&run(
        &[
            "user",
            "add",
            "alice@example.net",
            "--password-stdin",
            "-c",
            c,
        ],
        Some("pw2\n"),
    ));
    assert_fails_with(
        &run(
            &[
                "-c",
                c,
                "user",
                "add",
                "alice@localhost",
                "--password-stdin",
            ],
            Some("pw\n"),
        ),
        "not a host",
    );
    let o = run(&["-c", c, "user", "list"], None);
    assert_ok(&o);
    assert_eq!(stdout(&o), "alice@example.org\nalice@example.net\n");
    let o = run(&["-c", c, "user", "list", "example.net"], None);
    assert_eq!(stdout(&o), "alice@example.net\n");

    // The data dir is relative to the file; the iteration count is the configured one.
    let storage = open(&dir.path().join("state")).await;
    let recs = records(&storage, "alice@example.org").await;
    assert_eq!(recs.len(), 3);
    assert!(
        recs.iter()
            .all(|r| r.iterations() == 5000 && r.verify_password("pw"))
    );
    storage.close().await;
}

/// A certificate and key for `domains`, written as PEM into `dir`.
fn certificate(dir: &Path, name: &str, domains: &[&str]) -> (PathBuf, PathBuf) {
    let domains: Vec<String> = domains.iter().map(|d| (*d).to_owned()).collect();
    let (cert, key) =
        chatrix_server::tls::self_signed::generate(&domains).unwrap_or_else(|e| panic!("{e}"));
    let (cert_path, key_path) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    write(&cert_path, &cert);
    write(&key_path, &key);
    (cert_path, key_path)
}

#[test]
fn check_config() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (cert, key) = certificate(dir.path(), "org", &["example.org"]);
    let (other_cert, other_key) = certificate(dir.path(), "other", &["example.com"]);
    let config = dir.path().join("chatrix.toml");
    let c = path_str(&config);
    let host = |cert: &Path, key: &Path| {
        format!(
            "[[hosts]]\ndomain = \"example.org\"\ncertificate = \"{}\"\nkey = \"{}\"\n",
            cert.display(),
            key.display()
        )
    };

    // Defaults: fine, and nothing is written.
    let data = dir.path().join("untouched");
    let o = run(&["check-config", "--data-dir", path_str(&data)], None);
    assert_ok(&o);
    assert!(stdout(&o).contains("configuration OK: built-in defaults"));
    assert!(stdout(&o).contains("listener c2s-starttls on 0.0.0.0:5222 (TLS required)"));
    assert!(stdout(&o).contains("listener web-https on 0.0.0.0:5443 (HTTPS)"));
    assert!(!data.exists());

    // A good certificate.
    write(&config, &host(&cert, &key));
    let o = run(&["check-config", "--config", c], None);
    assert_ok(&o);
    assert!(stdout(&o).contains("host example.org: certificate"));

    // A certificate for another name, a key that does not match, a missing file.
    write(&config, &host(&other_cert, &other_key));
    assert_fails_with(
        &run(&["check-config", "--config", c], None),
        "not valid for `example.org`",
    );
    write(&config, &host(&cert, &other_key));
    assert_fails_with(&run(&["check-config", "--config", c], None), "with key");
    write(&config, &host(&dir.path().join("missing.pem"), &key));
    assert_fails_with(&run(&["check-config", "--config", c], None), "missing.pem");
    write(&config, &host(&key, &key));
    assert_fails_with(
        &run(&["check-config", "--config", c], None),
        "no certificate",
    );

    // Configuration errors show the file and the line.
    write(&config, "[sasl]\niterations = 4096\nmechanisms = 3\n");
    let o = run(&["check-config", "--config", c], None);
    assert_fails_with(&o, "line 3");
    assert!(stderr(&o).contains("chatrix.toml"), "{}", stderr(&o));
    assert_fails_with(
        &run(
            &[
                "check-config",
                "--config",
                path_str(&dir.path().join("nope.toml")),
            ],
            None,
        ),
        "cannot read",
    );
}

#[test]
fn help_and_version() {
    let o = run(&["--help"], None);
    assert_ok(&o);
    for word in ["check-config", "user", "group", "--config", "--data-dir"] {
        assert!(stdout(&o).contains(word), "{word}: {}", stdout(&o));
    }
    let o = run(&["user", "--help"], None);
    assert_ok(&o);
    for word in ["add", "passwd", "delete", "list"] {
        assert!(stdout(&o).contains(word), "{word}");
    }
    let o = run(&["group", "--help"], None);
    assert_ok(&o);
    for word in ["create", "delete", "add-member", "remove-member", "list"] {
        assert!(stdout(&o).contains(word), "{word}");
    }
    let o = run(&["group", "create", "--help"], None);
    assert_ok(&o);
    for word in ["--domain", "--display-name", "--everyone"] {
        assert!(stdout(&o).contains(word), "{word}");
    }
    let o = run(&["--version"], None);
    assert_ok(&o);
    assert!(stdout(&o).contains(env!("CARGO_PKG_VERSION")));
    assert!(!run(&["user", "frobnicate"], None).status.success());
}

#[tokio::test]
async fn user_set_class_command() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("chatrix.toml");
    write(
        &config,
        "data_dir = \"state\"\n\
         [account_classes.team]\nmax_offline_messages = 500\n",
    );
    let c = path_str(&config);
    let user = |args: &[&str]| {
        let mut all = vec!["-c", c, "user"];
        all.extend_from_slice(args);
        run(&all, None)
    };
    assert_ok(&run(
        &[
            "-c",
            c,
            "user",
            "add",
            "alice@localhost",
            "--password-stdin",
        ],
        Some("pencil\n"),
    ));
    let alice = AccountJid::parse("alice@localhost").unwrap_or_else(|e| panic!("{e}"));
    let class = |expected: Option<&str>| {
        let alice = alice.clone();
        let data = dir.path().join("state");
        let expected = expected.map(str::to_owned);
        async move {
            let storage = open(&data).await;
            let class = storage
                .account_class(&alice)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            storage.close().await;
            assert_eq!(class, expected);
        }
    };

    // The built-in sponsor class, with the JID normalised.
    let o = user(&["set-class", "Alice@LOCALHOST", "sponsor"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "alice@localhost is now in class sponsor\n");
    class(Some("sponsor")).await;

    // A configured class.
    let o = user(&["set-class", "alice@localhost", "team"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "alice@localhost is now in class team\n");
    class(Some("team")).await;

    // An unknown class is an error naming it, and changes nothing.
    assert_fails_with(
        &user(&["set-class", "alice@localhost", "gold"]),
        "no account class `gold`",
    );
    class(Some("team")).await;

    // The default class is stored as no class.
    let o = user(&["set-class", "alice@localhost", "default"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "alice@localhost is now in class default\n");
    class(None).await;

    // A missing account, a host that is not ours, a JID that is not an account.
    assert_fails_with(
        &user(&["set-class", "carol@localhost", "sponsor"]),
        "does not exist",
    );
    assert_fails_with(
        &user(&["set-class", "alice@example.org", "sponsor"]),
        "not a host",
    );
    assert_fails_with(&user(&["set-class", "localhost", "sponsor"]), "user@domain");
    assert_fails_with(&user(&["set-class", "alice@localhost"]), "CLASS");
}

#[tokio::test]
async fn ban_commands() {
    use std::net::IpAddr;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use chatrix_server::storage::Ban;

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let d = data.to_str().unwrap_or_else(|| panic!("utf-8 path"));
    let ban = |args: &[&str]| {
        let mut all = vec!["--data-dir", d, "ban"];
        all.extend_from_slice(args);
        run(&all, None)
    };
    let ip = |s: &str| -> IpAddr { s.parse().unwrap_or_else(|e| panic!("{s}: {e}")) };
    // 2100-01-01T00:00:00Z, and a time long gone.
    let future = UNIX_EPOCH + Duration::from_secs(4_102_444_800);
    let past = UNIX_EPOCH + Duration::from_secs(946_684_800);

    // Nothing banned: nothing listed.
    let o = ban(&["list"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "");

    {
        let storage = open(&data).await;
        for (addr, until, reason) in [
            ("2001:db8::7", future, "manual"),
            ("192.0.2.7", future, "failed logins"),
            ("192.0.2.8", future, "failed logins"),
            ("198.51.100.1", past, "failed logins"),
        ] {
            storage
                .put_ban(&Ban {
                    ip: ip(addr),
                    until,
                    reason: reason.to_owned(),
                    created_at: SystemTime::now(),
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        storage.close().await;
    }

    // The bans in force, IPv4 first; the expired one is not listed.
    let o = ban(&["list"]);
    assert_ok(&o);
    assert_eq!(
        stdout(&o),
        "192.0.2.7 until 2100-01-01T00:00:00Z (failed logins)\n\
         192.0.2.8 until 2100-01-01T00:00:00Z (failed logins)\n\
         2001:db8::7 until 2100-01-01T00:00:00Z (manual)\n"
    );

    let o = ban(&["remove", "192.0.2.7"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "lifted the ban of 192.0.2.7\n");
    let o = ban(&["remove", "192.0.2.7"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "192.0.2.7 is not banned\n");
    // An IPv4-mapped IPv6 address is its IPv4 address.
    let o = ban(&["remove", "::ffff:192.0.2.8"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "lifted the ban of ::ffff:192.0.2.8\n");
    assert_fails_with(&ban(&["remove", "192.0.2"]), "invalid");
    assert_fails_with(&ban(&["remove"]), "<IP>");

    let o = ban(&["list"]);
    assert_ok(&o);
    assert_eq!(
        stdout(&o),
        "2001:db8::7 until 2100-01-01T00:00:00Z (manual)\n"
    );
    let storage = open(&data).await;
    for addr in ["192.0.2.7", "192.0.2.8"] {
        assert_eq!(
            storage
                .ban(ip(addr))
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            None,
            "{addr}"
        );
    }
    storage.close().await;
}
