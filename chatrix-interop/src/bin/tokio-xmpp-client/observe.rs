//! What tokio-xmpp did, read from its own log records.
//!
//! tokio-xmpp's `Client` retries a failed login forever (logging `Failed to connect: …` and
//! backing off), and it does not tell which SASL mechanism it used. Both are in its log: the
//! error record of each failed attempt, and (at trace level) every byte it sends. A logger that
//! watches those records turns them into facts this binary can report, without re-implementing
//! any part of the login.

use std::sync::{Mutex, OnceLock, PoisonError};

use base64::Engine as _;
use tokio::sync::mpsc;

/// What one `<auth/>` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthSent {
    /// The `mechanism` attribute.
    pub(crate) mechanism: String,
    /// The channel-binding part of the GS2 header of the initial response: `tls-exporter` for
    /// `p=tls-exporter`, `none` for `n`, `not-offered` for `y`; empty for non-SCRAM mechanisms.
    pub(crate) channel_binding: String,
}

#[derive(Debug, Default)]
struct State {
    verbose: bool,
    last_auth: Option<AuthSent>,
    failures: Option<mpsc::UnboundedSender<String>>,
}

#[derive(Debug)]
struct Observer {
    state: Mutex<State>,
}

static OBSERVER: OnceLock<Observer> = OnceLock::new();

/// Installs the logger; returns the receiver of login failures (one message per failed
/// attempt). `verbose` also copies every tokio-xmpp record to standard error.
pub(crate) fn install(verbose: bool) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    let observer = OBSERVER.get_or_init(|| Observer {
        state: Mutex::new(State::default()),
    });
    {
        let mut state = observer
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.verbose = verbose;
        state.failures = Some(tx);
    }
    if log::set_logger(observer).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
    }
    rx
}

/// The last `<auth/>` tokio-xmpp sent.
pub(crate) fn last_auth() -> Option<AuthSent> {
    OBSERVER.get().and_then(|o| {
        o.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_auth
            .clone()
    })
}

impl log::Log for Observer {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with("tokio_xmpp")
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = record.args().to_string();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.verbose {
            eprintln!("[{} {}] {text}", record.level(), record.target());
        }
        if let Some(data) = text.strip_prefix("SEND ") {
            if let Some(auth) = parse_auth(data) {
                state.last_auth = Some(auth);
            }
        } else if let Some(rest) = text.strip_prefix("Failed to connect: ") {
            // "Failed to connect: {error}. Retrying in {delay:?}."
            let error = rest.rsplit_once(". Retrying in ").map_or(rest, |(e, _)| e);
            if let Some(tx) = &state.failures {
                let _ = tx.send(error.to_owned());
            }
        }
    }

    fn flush(&self) {}
}

/// Reads `<auth … mechanism='X'>payload</auth>` out of one chunk of sent XML.
fn parse_auth(data: &str) -> Option<AuthSent> {
    let start = data.find("<auth")?;
    let element = &data[start..];
    let open_end = element.find('>')?;
    let open = &element[..open_end];
    let mechanism = attribute(open, "mechanism")?;
    let payload = element[open_end + 1..]
        .split("</auth>")
        .next()
        .unwrap_or_default()
        .trim();
    let initial = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .unwrap_or_default();
    let channel_binding = if !mechanism.starts_with("SCRAM-") {
        String::new()
    } else if initial.starts_with(b"n,") {
        "none".to_owned()
    } else if initial.starts_with(b"y,") {
        "not-offered".to_owned()
    } else if let Some(rest) = initial.strip_prefix(b"p=") {
        let end = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
        String::from_utf8_lossy(&rest[..end]).into_owned()
    } else {
        "unknown".to_owned()
    };
    Some(AuthSent {
        mechanism,
        channel_binding,
    })
}

/// The value of `name='…'` or `name="…"` in an opening tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    for quote in ['\'', '"'] {
        let pattern = format!(" {name}={quote}");
        if let Some(i) = tag.find(&pattern) {
            let rest = &tag[i + pattern.len()..];
            return rest.find(quote).map(|end| rest[..end].to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_elements_are_read() {
        // "p=tls-exporter,,n=alice,r=abc" and "n,,n=alice,r=abc"
        let plus = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256-PLUS'>cD10bHMtZXhwb3J0ZXIsLG49YWxpY2Uscj1hYmM=</auth>";
        assert_eq!(
            parse_auth(plus),
            Some(AuthSent {
                mechanism: "SCRAM-SHA-256-PLUS".into(),
                channel_binding: "tls-exporter".into()
            })
        );
        let plain = "<auth mechanism=\"SCRAM-SHA-1\" xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\">biwsbj1hbGljZSxyPWFiYw==</auth>";
        assert_eq!(
            parse_auth(plain),
            Some(AuthSent {
                mechanism: "SCRAM-SHA-1".into(),
                channel_binding: "none".into()
            })
        );
        assert_eq!(parse_auth("<presence/>"), None);
    }
}
