//! Sans-IO SASL for XMPP: SCRAM-SHA-1/256/512 and their -PLUS variants (RFC 5802, RFC 7677),
//! PLAIN (RFC 4616), EXTERNAL (RFC 4422 Appendix A), stored credentials, channel binding
//! (RFC 9266 `tls-exporter`, RFC 5929 `tls-server-end-point`), XEP-0440 advertisement and XEP-0474
//! downgrade protection.
//!
//! # What it is for
//!
//! * The **server** side of SASL for c2s and s2s: deciding what to offer on a connection
//!   ([`ServerOffer`]), then running one [`ServerSession`] per attempt, step by step, with raw
//!   bytes in and out.
//! * The **client** side ([`ClientSession`]), for tests and outgoing s2s.
//! * **Stored credentials** ([`StoredCredentials`]): salt, iteration count, StoredKey and
//!   ServerKey per account and hash, derived once from the password. PLAIN is verified against the
//!   same record; nothing that logs a user in is ever stored.
//!
//! # What it is not for
//!
//! * I/O of any kind: no sockets, no TLS types (the caller fills [`ChannelBindings`] from its TLS
//!   layer), no clock, no randomness of its own (the caller passes an [`Rng`]), no database (the
//!   session asks for credentials with [`ServerStep::NeedCredentials`]; fetch them however you like).
//! * XML: the stream layer builds `<mechanisms/>`, `<auth/>`, `<challenge/>`, `<success/>` and
//!   `<failure/>`, and base64-codes payloads with [`decode_sasl_payload`] / [`encode_sasl_payload`].
//! * Rate limiting and lockout (per IP, in the server), JID normalisation (xmpp-core; pass
//!   normalised domains and identities here).
//!
//! # Decisions
//!
//! * PLAIN is not offered on plaintext streams; asking for it there gives `encryption-required`.
//! * An unknown user runs the same exchange as a known one, with a salt derived from the server
//!   secret and the username (stable across probes), and ends in the same `not-authorized`.
//! * Sessions are single use; failures are sticky.
//! * [`FailureReason`] explains failures for logs; only the [`FailureCondition`] goes on the wire.
//!
//! # A complete server-side exchange
//!
//! ```
//! use std::sync::Arc;
//! use xmpp_sasl::{
//!     ChannelBindings, ClientChannelBinding, ClientOptions, ClientSession, ConnectionInfo,
//!     FixedRng, Mechanism, ServerConfig, ServerOffer, ServerSession, ServerStep, ScramHash,
//!     StoredCredentials, decode_sasl_payload, encode_sasl_payload,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Tests use a fixed RNG; a real server uses `xmpp_sasl::SystemRng::new()`.
//! let mut rng = FixedRng::new(1);
//!
//! // At registration: derive and store the record (never the password).
//! let record = StoredCredentials::generate(ScramHash::Sha256, "pencil", 4096, &mut rng)?;
//!
//! // Per connection: the TLS layer supplies the binding data (here: a TLS 1.3 exporter value).
//! let bindings = ChannelBindings { tls_exporter: Some(vec![0x42; 32]), tls_server_end_point: None };
//! let config = Arc::new(ServerConfig::new(b"a long, stable, secret server key")?);
//! let offer = ServerOffer::new(config, ConnectionInfo::tls(bindings.clone()).with_domain("example.org"));
//! assert!(offer.offers(Mechanism::ScramSha256Plus));
//! // Advertise offer.mechanisms() in <mechanisms/> and offer.channel_binding_types() (XEP-0440).
//!
//! // The client (normally on the other side of the network) picks SCRAM-SHA-256-PLUS.
//! let options = ClientOptions::new("user", "pencil")
//!     .with_channel_binding(ClientChannelBinding::Bind(xmpp_sasl::ChannelBindingType::TlsExporter), bindings)
//!     .with_advertised(offer.advertised());
//! let mut client = ClientSession::new(Mechanism::ScramSha256Plus, &options, &mut rng)?;
//! let auth_text = encode_sasl_payload(&client.initial_response()?);
//!
//! // <auth mechanism='SCRAM-SHA-256-PLUS'>auth_text</auth> arrives at the server.
//! let mut server = offer.start("SCRAM-SHA-256-PLUS", &mut rng)?;
//! let first = decode_sasl_payload(&auth_text)?.unwrap_or_default();
//! let ServerStep::NeedCredentials { username, hash } = server.handle_client_message(&first)? else {
//!     unreachable!()
//! };
//! assert_eq!((username.as_str(), hash), ("user", ScramHash::Sha256));
//!
//! // Look the user up (asynchronously if you like) and hand the record over.
//! let ServerStep::Challenge(server_first) = server.provide_credentials(record)? else { unreachable!() };
//!
//! // <challenge/> goes out, <response/> comes back.
//! let client_final = client.handle_challenge(&server_first)?;
//! let ServerStep::Success { additional_data, authcid, authzid } =
//!     server.handle_client_message(&client_final)?
//! else {
//!     unreachable!()
//! };
//! assert_eq!((authcid.as_str(), authzid), ("user", None));
//! assert!(server.is_authenticated());
//!
//! // <success>v=...</success>: the client checks that the server knew the credentials too.
//! client.handle_success(additional_data.as_deref())?;
//! assert!(client.is_authenticated());
//!
//! // A session is single use: replaying the client-final now fails.
//! assert!(server.handle_client_message(&client_final).is_err());
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod channel_binding;
mod client;
mod config;
mod credentials;
mod error;
mod external;
mod mechanism;
mod payload;
mod plain;
mod rng;
mod saslprep;
mod scram;
mod secret;
mod server;
mod ssdp;

pub use channel_binding::{
    ChannelBindingType, ChannelBindings, SASL_CB_NAMESPACE, UnknownChannelBindingType,
};
pub use client::{ClientChannelBinding, ClientOptions, ClientSession, select_mechanism};
pub use config::{
    AuthzidPolicy, ConnectionInfo, DEFAULT_MAX_ITERATIONS, DEFAULT_MAX_MESSAGE_LEN, ServerConfig,
    ServerOffer,
};
pub use credentials::{
    CredentialLookup, DEFAULT_ITERATIONS, DEFAULT_SALT_LEN, MIN_ITERATIONS, MemoryCredentials,
    StoredCredentials,
};
pub use error::{
    ClientError, ConfigError, CredentialError, DecodeError, Failure, FailureCondition,
    FailureReason, LookupError, RngError, UnknownConditionError,
};
pub use mechanism::{Mechanism, UnknownMechanismError};
pub use payload::{decode_sasl_payload, encode_base64, encode_sasl_payload};
pub use rng::{FixedRng, NONCE_BYTES, Rng, SystemRng};
pub use saslprep::{SaslnameError, SaslprepError, escape_saslname, saslprep, unescape_saslname};
pub use scram::ScramHash;
pub use server::{ServerSession, ServerStep};
pub use ssdp::{Advertised, ssdp_hash};

/// The SASL namespace of RFC 6120 (`<mechanisms/>`, `<auth/>`, `<failure/>`, ...).
pub const SASL_NAMESPACE: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
