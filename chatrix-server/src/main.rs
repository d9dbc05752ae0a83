//! The Chatrix XMPP server binary.
//!
//! **Status:** the server does not accept connections yet; the c2s listener, storage backends
//! and the admin CLI arrive with the "chatrix-server: a c2s server that real clients log in to"
//! issue. Until then the binary says so and exits with a failure code, rather than pretending to
//! run.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "chatrix-server {}: not runnable yet; the c2s listener is still being built",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::FAILURE
}
