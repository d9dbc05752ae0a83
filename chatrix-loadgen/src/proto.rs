//! The few elements the load generator sends, and how it reads the server's answers.

use xmpp_core::{Element, ns};
use xmpp_sasl::{Advertised, SASL_CB_NAMESPACE};

/// `<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`.
pub(crate) fn starttls() -> Element {
    Element::new("starttls", ns::TLS)
}

/// `<auth mechanism='...'>payload</auth>`.
pub(crate) fn auth(mechanism: &str, payload: String) -> Element {
    Element::new("auth", ns::SASL)
        .with_attr("mechanism", mechanism)
        .with_text(payload)
}

/// `<response>payload</response>`.
pub(crate) fn response(payload: String) -> Element {
    Element::new("response", ns::SASL).with_text(payload)
}

/// The bind request for `resource`.
pub(crate) fn bind(id: &str, resource: &str) -> Element {
    Element::new("iq", ns::JABBER_CLIENT)
        .with_attr("type", "set")
        .with_attr("id", id)
        .with_child(
            Element::new("bind", ns::BIND)
                .with_child(Element::new("resource", ns::BIND).with_text(resource)),
        )
}

/// The legacy session request (RFC 3921), for servers that still require it.
pub(crate) fn session(id: &str) -> Element {
    Element::new("iq", ns::JABBER_CLIENT)
        .with_attr("type", "set")
        .with_attr("id", id)
        .with_child(Element::new("session", ns::SESSION))
}

/// Initial presence.
pub(crate) fn presence() -> Element {
    Element::new("presence", ns::JABBER_CLIENT)
}

/// A chat message to `to`.
pub(crate) fn chat(to: &str, id: &str, body: String) -> Element {
    Element::new("message", ns::JABBER_CLIENT)
        .with_attr("type", "chat")
        .with_attr("to", to)
        .with_attr("id", id)
        .with_child(Element::new("body", ns::JABBER_CLIENT).with_text(body))
}

/// The answer to an IQ get or set addressed to us: a result for XEP-0199 pings, an error
/// (`service-unavailable`) for anything else (RFC 6120 §8.2.3 says every IQ gets an answer).
pub(crate) fn iq_answer(iq: &Element) -> Option<Element> {
    if !matches!(iq.attr("type"), Some("get" | "set")) {
        return None;
    }
    let mut answer = Element::new("iq", ns::JABBER_CLIENT);
    if let Some(from) = iq.attr("from") {
        answer.set_attr("to", from);
    }
    if let Some(id) = iq.attr("id") {
        answer.set_attr("id", id);
    }
    if iq.has_child("ping", ns::PING) {
        answer.set_attr("type", "result");
    } else {
        answer.set_attr("type", "error");
        answer.append_child(
            Element::new("error", ns::JABBER_CLIENT)
                .with_attr("type", "cancel")
                .with_child(Element::new("service-unavailable", ns::XMPP_STANZAS)),
        );
    }
    Some(answer)
}

/// What the server offered for SASL in its features, as XEP-0474 hashes it.
pub(crate) fn advertised(features: &Element) -> Option<Advertised> {
    let mechanisms = features.get_child("mechanisms", ns::SASL)?;
    let channel_binding_types = features
        .get_child("sasl-channel-binding", SASL_CB_NAMESPACE)
        .map(|cb| {
            cb.children()
                .filter(|c| c.is("channel-binding", SASL_CB_NAMESPACE))
                .filter_map(|c| c.attr("type").map(str::to_owned))
                .collect()
        });
    Some(Advertised {
        mechanisms: mechanisms
            .children()
            .filter(|c| c.is("mechanism", ns::SASL))
            .map(|c| c.text().trim().to_owned())
            .collect(),
        channel_binding_types,
    })
}

/// Whether the features require the legacy session IQ (offered without `<optional/>`).
pub(crate) fn session_required(features: &Element) -> bool {
    features
        .get_child("session", ns::SESSION)
        .is_some_and(|s| !s.has_child("optional", ns::SESSION))
}

/// The first child's name of a `<stream:error/>` or SASL `<failure/>`: the condition.
pub(crate) fn condition(element: &Element) -> String {
    element
        .children()
        .find(|c| c.name() != "text")
        .map_or_else(|| "unknown".to_owned(), |c| c.name().to_owned())
}

/// The condition of an IQ error.
pub(crate) fn iq_error_condition(iq: &Element) -> String {
    iq.get_child("error", ns::JABBER_CLIENT)
        .map_or_else(|| "unknown".to_owned(), condition)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_gets_a_result_and_anything_else_an_error() {
        let ping = Element::new("iq", ns::JABBER_CLIENT)
            .with_attr("type", "get")
            .with_attr("id", "p1")
            .with_attr("from", "localhost")
            .with_child(Element::new("ping", ns::PING));
        let answer = iq_answer(&ping).expect("answered");
        assert_eq!(answer.attr("type"), Some("result"));
        assert_eq!(answer.attr("id"), Some("p1"));
        assert_eq!(answer.attr("to"), Some("localhost"));
        let version = Element::new("iq", ns::JABBER_CLIENT)
            .with_attr("type", "get")
            .with_attr("id", "v")
            .with_child(Element::new("query", ns::VERSION));
        let answer = iq_answer(&version).expect("answered");
        assert_eq!(answer.attr("type"), Some("error"));
        assert_eq!(iq_error_condition(&answer), "service-unavailable");
        let result = Element::new("iq", ns::JABBER_CLIENT).with_attr("type", "result");
        assert!(iq_answer(&result).is_none());
    }

    #[test]
    fn reads_advertised_mechanisms_and_bindings() {
        let features = Element::new("features", ns::STREAM)
            .with_child(
                Element::new("mechanisms", ns::SASL)
                    .with_child(Element::new("mechanism", ns::SASL).with_text("SCRAM-SHA-1"))
                    .with_child(Element::new("mechanism", ns::SASL).with_text("PLAIN")),
            )
            .with_child(
                Element::new("sasl-channel-binding", SASL_CB_NAMESPACE).with_child(
                    Element::new("channel-binding", SASL_CB_NAMESPACE)
                        .with_attr("type", "tls-exporter"),
                ),
            );
        let adv = advertised(&features).expect("mechanisms");
        assert_eq!(adv.mechanisms, ["SCRAM-SHA-1", "PLAIN"]);
        assert_eq!(
            adv.channel_binding_types.as_deref(),
            Some(&["tls-exporter".to_owned()][..])
        );
        assert!(!session_required(&features));
        let with_session = features.with_child(Element::new("session", ns::SESSION));
        assert!(session_required(&with_session));
    }
}
