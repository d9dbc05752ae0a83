//! Client-to-server connections.
//!
//! PLACEHOLDER: the lead engineer replaces this file with the c2s driver (accept loop,
//! STARTTLS / Direct TLS, stream negotiation, routing). Until then the server prepares
//! everything and stops here with an error.

use crate::{ServerContext, ServerError};

/// Runs the c2s listeners until the server stops. Not implemented yet.
#[allow(clippy::unused_async)] // the real driver awaits; the placeholder keeps its signature
pub async fn run(ctx: ServerContext) -> Result<(), ServerError> {
    drop(ctx);
    Err(ServerError::NotImplemented("c2s"))
}
