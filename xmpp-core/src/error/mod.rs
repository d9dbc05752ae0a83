//! The two error worlds of RFC 6120 (ARCHITECTURE.md, principle 4).
//!
//! - [`StanzaError`] (§8.3) answers one stanza; the stream goes on. It travels inside a
//!   `<message/>`, `<presence/>` or `<iq/>` of type `error`, in that stanza's namespace.
//! - [`StreamError`] (§4.9) closes the stream. It travels as `<stream:error/>`.
//!
//! They share nothing but the shape of their human-readable [`ErrorText`] and the parse error
//! [`ErrorParseError`]; there is deliberately no conversion between them, so code that has a
//! stanza error cannot end a stream by accident, and the other way round.
//!
//! Parsing is strict (one defined condition, known `type`, no stray text, at most one
//! application-specific element) but keeps everything a well-formed error carries, so that a
//! parsed error serialises back to the same information set (child order aside, which carries
//! no meaning here).

mod parse;
mod stanza;
mod stanza_condition;
mod stream;
mod stream_condition;
#[cfg(test)]
mod tests;
mod text;

pub use parse::ErrorParseError;
pub use stanza::{ErrorType, StanzaError};
pub use stanza_condition::StanzaCondition;
pub use stream::StreamError;
pub use stream_condition::StreamCondition;
pub use text::ErrorText;
