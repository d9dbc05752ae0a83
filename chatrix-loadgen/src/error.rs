//! What can go wrong on one client connection, grouped into kinds for the reports.

use std::io;

/// The step of a login (or of a running session) that failed or timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// TCP connect.
    Connect,
    /// The TLS handshake (after `<proceed/>`, or at once for Direct TLS).
    Tls,
    /// Stream header and features, STARTTLS negotiation.
    Stream,
    /// The SASL exchange.
    Sasl,
    /// Resource binding (and the legacy session IQ when a server requires it).
    Bind,
    /// Initial presence and its reflection back to us.
    Presence,
    /// After login: exchanging stanzas, holding the session.
    Session,
    /// Closing the stream.
    Close,
}

impl Phase {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::Stream => "stream",
            Phase::Sasl => "sasl",
            Phase::Bind => "bind",
            Phase::Presence => "presence",
            Phase::Session => "session",
            Phase::Close => "close",
        }
    }
}

/// A failure on one connection. [`Error::kind`] is what the reports count by.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The process ran out of file descriptors.
    #[error("too many open files (EMFILE): raise the limit first, e.g. `ulimit -n 65536`")]
    TooManyOpenFiles,
    /// An I/O error in a phase.
    #[error("{}: {source}", .phase.as_str())]
    Io {
        /// Where.
        phase: Phase,
        /// What.
        source: io::Error,
    },
    /// No answer in time.
    #[error("timed out in {}", .0.as_str())]
    Timeout(Phase),
    /// The server closed the stream or the connection.
    #[error("the server closed the stream in {}", .0.as_str())]
    Closed(Phase),
    /// The server sent `<stream:error/>`.
    #[error("stream error: {0}")]
    Stream(String),
    /// The server's XML was refused by our framer.
    #[error("unreadable stream: {0}")]
    Frame(#[from] xmpp_stream::FrameError),
    /// The server did not offer something we need, or answered out of turn.
    #[error("protocol: {0}")]
    Protocol(&'static str),
    /// TLS refused (certificate, handshake).
    #[error("tls: {0}")]
    Tls(String),
    /// The server sent SASL `<failure/>`.
    #[error("sasl failure: {0}")]
    SaslFailure(String),
    /// Our SASL client refused the server's messages (bad signature, SSDP mismatch, ...).
    #[error("sasl client: {0}")]
    SaslClient(#[from] xmpp_sasl::ClientError),
    /// The bind IQ came back as an error.
    #[error("bind refused: {0}")]
    Bind(String),
}

impl Error {
    /// Wraps an I/O error, recognising EMFILE.
    pub(crate) fn io(phase: Phase, source: io::Error) -> Self {
        if source.raw_os_error() == Some(EMFILE) {
            Error::TooManyOpenFiles
        } else {
            Error::Io { phase, source }
        }
    }

    /// A short label to count errors by (`timeout:sasl`, `sasl-failure:not-authorized`, ...).
    pub(crate) fn kind(&self) -> String {
        match self {
            Error::TooManyOpenFiles => "emfile".to_owned(),
            Error::Io { phase, source } => format!("io:{}:{:?}", phase.as_str(), source.kind()),
            Error::Timeout(phase) => format!("timeout:{}", phase.as_str()),
            Error::Closed(phase) => format!("closed:{}", phase.as_str()),
            Error::Stream(c) => format!("stream-error:{c}"),
            Error::Frame(e) => format!("bad-xml:{}", e.condition()),
            Error::Protocol(what) => format!("protocol:{what}"),
            Error::Tls(_) => "tls".to_owned(),
            Error::SaslFailure(c) => format!("sasl-failure:{c}"),
            Error::SaslClient(_) => "sasl-client".to_owned(),
            Error::Bind(c) => format!("bind:{c}"),
        }
    }
}

/// Linux's EMFILE ("Too many open files").
const EMFILE: i32 = 24;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emfile_is_recognised() {
        let e = Error::io(Phase::Connect, io::Error::from_raw_os_error(EMFILE));
        assert_eq!(e.kind(), "emfile");
        assert!(e.to_string().contains("ulimit -n"));
        let e = Error::io(
            Phase::Connect,
            io::Error::from(io::ErrorKind::ConnectionRefused),
        );
        assert_eq!(e.kind(), "io:connect:ConnectionRefused");
    }
}
