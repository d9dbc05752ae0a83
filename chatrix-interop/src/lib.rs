//! Interoperability tests for Chatrix: the server, started for real, against clients that
//! were not written with it.
//!
//! This crate exists for its tests and two helper binaries; it has no library API.
//!
//! - `tests/login.rs` starts `chatrix-server` in-process (port-0 listeners, a temporary data
//!   dir, SQLite and, when `CHATRIX_TEST_PG_URL` is set, a fresh PostgreSQL database per test)
//!   and logs in with [tokio-xmpp](https://crates.io/crates/tokio-xmpp), over STARTTLS and
//!   Direct TLS, with each SCRAM mechanism tokio-xmpp can speak, verifying the server's
//!   generated certificate. It also runs the built `chatrix-server` binary (`user add`, then a
//!   login).
//! - `tests/c2s_errors.rs` speaks raw XMPP over real sockets (tokio + tokio-rustls, the
//!   server's output parsed with `xmpp_stream::Framer`) and checks the exact stream, SASL and
//!   stanza error for each kind of bad input.
//! - The `tokio-xmpp-client` binary logs in with tokio-xmpp and reports what happened. It is a
//!   separate process because tokio-xmpp takes its trust roots from `rustls-native-certs`,
//!   which reads `SSL_CERT_FILE`; setting that variable inside the test process would need
//!   `unsafe` (edition 2024), which the workspace forbids. Run it with `--help` for its options.
//! - The `crash-test` binary checks "ack means durable" under SIGKILL: it runs the built
//!   `chatrix-server`, has two raw clients exchange messages with stream management (XEP-0198)
//!   on, kills the server mid-traffic, restarts it, and looks for every acknowledged message in
//!   the archives (XEP-0313) and offline stores. `interop/crash.sh` runs it; `.ci/run` on
//!   SQLite and PostgreSQL.
//!
//! What this crate is not for: unit or conformance tests of a single crate (those live with the
//! crate: `xmpp-stream/tests/c2s_*.rs` drive the negotiation in memory), load testing
//! (`chatrix-loadgen`), or anything the server links. Nothing here may become a dependency of a
//! non-test crate. The Python interop check with slixmpp lives in `interop/`.
