//! The `<stream:features/>` a client sees at each step of negotiation.
//!
//! One feature set per step, never a choice that skips a required step (security.md §1.4,
//! the CVE-2014-8760 lesson): before TLS on a TLS-required listener only STARTTLS, then only
//! SASL (with XEP-0077 registration when offered, which leads back to SASL), then only
//! binding (and what rides on a bound session).

use xmpp_core::{Element, ns};
use xmpp_sasl::{SASL_CB_NAMESPACE, ServerOffer};

use super::config::ConnectionConfig;

/// `<starttls/>`, with `<required/>` when nothing else is allowed before it.
pub(super) fn starttls(required: bool) -> Element {
    let el = Element::new("starttls", ns::TLS);
    if required {
        el.with_child(Element::new("required", ns::TLS))
    } else {
        el
    }
}

/// Features before TLS on a listener that requires it: STARTTLS alone.
pub(super) fn tls_required() -> Element {
    features().with_child(starttls(true))
}

/// Features of an unauthenticated stream: the SASL mechanisms of `offer` and their XEP-0440
/// channel-binding types, plus an optional STARTTLS (a plaintext stream on a TLS-optional
/// listener) and an optional XEP-0077 `<register/>`.
pub(super) fn authentication(
    offer: &ServerOffer,
    offer_starttls: bool,
    offer_register: bool,
) -> Element {
    let mut el = features();
    if offer_starttls {
        el.append_child(starttls(false));
    }
    let mut mechanisms = Element::new("mechanisms", ns::SASL);
    for m in offer.mechanisms() {
        mechanisms.append_child(Element::new("mechanism", ns::SASL).with_text(m.as_str()));
    }
    el.append_child(mechanisms);
    // XEP-0440: the types for which -PLUS would work here. The offer leaves the list empty
    // when it offers no -PLUS mechanism, and then the element is left out: XEP-0474 hashes
    // "no element" differently from "an empty one".
    if !offer.channel_binding_types().is_empty() {
        let mut cb = Element::new("sasl-channel-binding", SASL_CB_NAMESPACE);
        for t in offer.channel_binding_types() {
            cb.append_child(
                Element::new("channel-binding", SASL_CB_NAMESPACE).with_attr("type", t.as_str()),
            );
        }
        el.append_child(cb);
    }
    if offer_register {
        el.append_child(xmpp_core::register::register_feature());
    }
    el
}

/// Features after authentication: `<bind/>`, the RFC 3921 `<session/>` marked optional (RFC
/// 6121 Appendix E: old clients still look for it and send the IQ if it is not optional),
/// XEP-0198 `<sm/>` and XEP-0352 `<csi/>` when configured (both only ever after
/// authentication, as XEP-0198 §2 requires), and the configured extras.
pub(super) fn post_auth(config: &ConnectionConfig) -> Element {
    let mut el = features()
        .with_child(Element::new("bind", ns::BIND))
        .with_child(
            Element::new("session", ns::SESSION).with_child(Element::new("optional", ns::SESSION)),
        );
    if config.stream_management().is_some() {
        el.append_child(Element::new("sm", ns::SM));
    }
    if config.csi() {
        el.append_child(Element::new("csi", ns::CSI));
    }
    for extra in config.extra_features() {
        el.append_child(extra.clone());
    }
    el
}

fn features() -> Element {
    Element::new("features", ns::STREAM)
}
