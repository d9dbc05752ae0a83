//! What each thing the client sends means at each step of negotiation.
//!
//! The rules, in order of the stream's life:
//! - header: checked (`header.rs`), answered with ours and the features of the step.
//! - before TLS on a TLS-required listener: `<starttls/>`; `<auth/>` gets
//!   `<encryption-required/>`; anything else (a registration request included) is a
//!   `policy-violation`.
//! - before authentication: SASL elements, and XEP-0077 registration requests (`register.rs`:
//!   an IQ get/set whose one payload is `jabber:iq:register`, to nobody or the stream's
//!   domain), which go to the driver one at a time, a bounded number of times (then
//!   `policy-violation`), and not in the middle of a SASL exchange (`not-authorized`, as for
//!   `<starttls/>` there). XEP-0198 `<enable/>` and `<resume/>` (when stream management is
//!   configured) get `<failed><unexpected-request/></failed>` and the stream goes on.
//!   Anything else (other stanzas included, security.md B.13) is `not-authorized`: nothing
//!   is routed before authentication.
//! - after authentication: bind and the legacy session IQ; XEP-0198 `<resume/>` (to the
//!   driver, which answers as it does a bind; `<failed/>` with `bad-request` when malformed,
//!   with `feature-not-implemented` when resumption is off); `<enable/>` gets
//!   `<failed><unexpected-request/></failed>` (XEP-0198 §3: only after binding); XEP-0352
//!   `<active/>`/`<inactive/>` are ignored (there is no session yet to apply them to, and a
//!   stream starts active). Other stanzas are `not-authorized`, unknown elements (`<r/>`,
//!   `<a/>`, and SM or CSI elements when those are not configured)
//!   `unsupported-stanza-type`.
//! - bound: stanzas go to the driver, except the answers to our pings and the session IQ
//!   (counted by stream management all the same). XEP-0198: `<enable/>` once (a second one,
//!   or one after a resumption, gets `<failed><unexpected-request/></failed>`; a malformed one
//!   `<failed><bad-request/></failed>`), then `<r/>` and `<a/>` (before `<enable/>` they are
//!   `unsupported-stanza-type`); an `<a/>` without a numeric `h` is `invalid-xml`, one whose
//!   `h` (modulo 2^32) is not between what was already acknowledged and what was sent (more
//!   than was sent, or going backwards) `undefined-condition` with
//!   `<handled-count-too-high/>` (§6); `<resume/>` gets
//!   `<failed><unexpected-request/></failed>`. XEP-0352 `<active/>`/`<inactive/>` become
//!   [`Event::ClientState`]. Unknown elements are `unsupported-stanza-type`.

use xmpp_core::stanza::StanzaNs;
use xmpp_core::{Element, StanzaCondition, StanzaError, StreamCondition, StreamError, ns};
use xmpp_sasl::{ConnectionInfo, Failure, FailureCondition, FailureReason, ServerOffer};

use super::bind;
use super::config::TlsPolicy;
use super::connection::{Connection, Stage};
use super::event::Event;
use super::features;
use super::header;
use super::register;
use super::sasl::Step;
use crate::framer::{FrameEvent, StreamHeader};
use crate::write::write_close;

impl Connection {
    /// One event from the framer; `rest` is the input after it.
    pub(super) fn handle_frame(&mut self, event: FrameEvent, rest: &[u8]) {
        match event {
            FrameEvent::StreamOpen(h) => self.handle_header(&h),
            FrameEvent::Element(el) => self.handle_element(el, rest),
            FrameEvent::StreamClose => {
                // Our header is out: the client's was accepted, or we would be closed.
                write_close(&mut self.out);
                self.finish(None, true);
            }
            // Whitespace keep-alives only count as input, which they did already.
            _ => {}
        }
    }

    fn handle_header(&mut self, h: &StreamHeader) {
        self.stream_open = true;
        let checked = match &self.domain {
            None => header::check_initial(&self.config, h).map(|d| self.domain = Some(d)),
            Some(domain) => header::check_restart(domain, h),
        };
        if let Err(condition) = checked {
            self.close(StreamError::new(condition));
            return;
        }
        let id = self.random_id();
        self.write_header(&id);
        self.send_features();
    }

    fn send_features(&mut self) {
        let features = match self.stage {
            Stage::Authenticating => {
                if self.tls.is_none() && self.config.tls() == TlsPolicy::Required {
                    if !self.config.starttls() {
                        // TLS is required, yet this plaintext listener cannot do it: a
                        // configuration error no client can get past.
                        self.close(
                            StreamError::new(StreamCondition::InternalServerError)
                                .with_text(Some(self.config.lang()), "TLS is not available"),
                        );
                        return;
                    }
                    features::tls_required()
                } else {
                    let info = match &self.tls {
                        Some(bindings) => ConnectionInfo::tls(bindings.clone()),
                        None => ConnectionInfo::plaintext(),
                    };
                    let info = info.with_domain(self.domain.clone().unwrap_or_default());
                    let offer = ServerOffer::new(self.config.sasl().clone(), info);
                    let offer_starttls = self.tls.is_none() && self.config.starttls();
                    let features =
                        features::authentication(&offer, offer_starttls, self.register_offered);
                    self.sasl.set_offer(offer);
                    features
                }
            }
            Stage::Binding => features::post_auth(&self.config),
            _ => return,
        };
        self.write(&features);
    }

    fn handle_element(&mut self, el: Element, rest: &[u8]) {
        if el.is("error", ns::STREAM) {
            // The client ends the stream with an error of its own: answer with our close.
            let error = StreamError::from_element(&el).ok();
            write_close(&mut self.out);
            self.finish(error, true);
            return;
        }
        match self.stage {
            Stage::Authenticating => self.handle_unauthenticated(el, rest),
            Stage::Binding => self.handle_unbound(el),
            Stage::Established => self.handle_bound(el),
            Stage::AwaitingTls | Stage::Closed => {}
        }
    }

    fn handle_unauthenticated(&mut self, el: Element, rest: &[u8]) {
        if el.is("starttls", ns::TLS) {
            self.handle_starttls(rest);
            return;
        }
        if self.tls.is_none() && self.config.tls() == TlsPolicy::Required {
            if el.is("auth", ns::SASL) {
                // A SASL failure, not a stream error (RFC 6120 §6.4.5 lists
                // encryption-required): the client may still upgrade.
                let step = self.sasl.refuse(Failure::new(
                    FailureCondition::EncryptionRequired,
                    FailureReason::EncryptionRequired,
                ));
                self.apply_sasl(step);
            } else {
                self.close(
                    StreamError::new(StreamCondition::PolicyViolation)
                        .with_text(Some(self.config.lang()), "STARTTLS is required"),
                );
            }
            return;
        }
        if self.is_sm_element(&el) && matches!(el.name(), "enable" | "resume") {
            // XEP-0198 §3: not before authentication, but recoverable (§6).
            self.sm_unexpected();
            return;
        }
        let domain = self.domain.clone().unwrap_or_default();
        if let Some(id) = register::request_id(&el, &domain) {
            let id = id.to_owned();
            self.handle_register_iq(el, id);
            return;
        }
        let step = if el.ns() == ns::SASL {
            match el.name() {
                "auth" => self.sasl.handle_auth(&el, &domain, &mut *self.rng),
                "response" => self.sasl.handle_response(&el, &domain),
                "abort" => self.sasl.handle_abort(),
                _ => return self.not_authorized(),
            }
        } else {
            return self.not_authorized();
        };
        self.apply_sasl(step);
    }

    /// An XEP-0077 request before authentication, where SASL would be allowed.
    fn handle_register_iq(&mut self, el: Element, id: String) {
        if self.sasl.in_progress() {
            // A challenge is out: the only steps that exist are <response/> and <abort/>, and
            // out-of-order steps end the stream here as <starttls/> does.
            self.not_authorized();
            return;
        }
        if self.register_iqs >= self.config.max_register_iqs() {
            // Bounds what one connection can make the driver (and its storage) do before
            // anyone has authenticated; per-address throttling is the driver's.
            self.close(
                StreamError::new(StreamCondition::PolicyViolation)
                    .with_text(Some(self.config.lang()), "too many registration requests"),
            );
            return;
        }
        self.register_iqs += 1;
        self.pending_register = Some(id);
        self.events.push_back(Event::RegisterIq(el));
    }

    fn not_authorized(&mut self) {
        self.close(StreamError::new(StreamCondition::NotAuthorized));
    }

    fn handle_starttls(&mut self, rest: &[u8]) {
        if self.tls.is_some() || self.sasl.in_progress() {
            // Already encrypted, or in the middle of SASL: not a step that exists here.
            self.not_authorized();
            return;
        }
        if !self.config.starttls() {
            // RFC 6120 §5.4.2.2: <failure/>, then the stream ends without a stream error.
            self.write(&Element::new("failure", ns::TLS));
            write_close(&mut self.out);
            self.finish(None, false);
            return;
        }
        if !rest.is_empty() {
            // Whatever follows <starttls/> was sent in plaintext before the client could have
            // seen <proceed/>: the STARTTLS command injection of CVE-2011-0411 (security.md
            // §1.4). It must reach neither the TLS layer nor the next stream.
            self.close(
                StreamError::new(StreamCondition::PolicyViolation)
                    .with_text(Some(self.config.lang()), "data after <starttls/>"),
            );
            return;
        }
        self.write(&Element::new("proceed", ns::TLS));
        self.stage = Stage::AwaitingTls;
        self.sasl.reset();
        self.restart_stream();
        self.events.push_back(Event::StartTls);
    }

    pub(super) fn apply_sasl(&mut self, step: Step) {
        match step {
            Step::Challenge(challenge) => self.write(&challenge),
            Step::NeedCredentials {
                username,
                jid,
                hash,
                mechanism,
            } => self.events.push_back(Event::NeedCredentials {
                username,
                jid,
                hash,
                mechanism,
            }),
            Step::Success { reply, jid } => {
                self.write(&reply);
                self.account = Some(jid.clone());
                self.stage = Stage::Binding;
                self.sasl.reset();
                // RFC 6120 §6.4.6: the client restarts the stream; what it pipelined after
                // its last SASL message is read by the fresh parser as the new stream.
                self.restart_stream();
                self.events.push_back(Event::Authenticated { jid });
            }
            Step::Failure {
                reply,
                failure,
                username,
                exhausted,
            } => {
                self.write(&reply);
                self.events.push_back(Event::AuthFailed {
                    condition: failure.condition(),
                    reason: failure.reason(),
                    username,
                });
                if exhausted {
                    self.close(
                        StreamError::new(StreamCondition::PolicyViolation).with_text(
                            Some(self.config.lang()),
                            "too many failed authentication attempts",
                        ),
                    );
                }
            }
        }
    }

    fn handle_unbound(&mut self, el: Element) {
        if bind::is_bind(&el) {
            let Some(account) = self.account.clone() else {
                return self.not_authorized();
            };
            match bind::parse_request(&el, &account) {
                Ok(requested_resource) => {
                    self.pending_bind = Some(el);
                    self.events
                        .push_back(Event::BindRequest { requested_resource });
                }
                Err(why) => {
                    let error = StanzaError::new(StanzaCondition::BadRequest)
                        .with_text(Some(self.config.lang()), why);
                    self.write(&bind::error(&el, error));
                }
            }
        } else if bind::is_session(&el) {
            let domain = self.domain.clone().unwrap_or_default();
            self.write(&bind::session_result(&el, &domain));
        } else if self.is_sm_element(&el) && el.name() == "resume" {
            self.handle_resume(&el);
        } else if self.is_sm_element(&el) && el.name() == "enable" {
            self.sm_unexpected();
        } else if self.is_csi_element(&el) {
            // XEP-0352 is about a bound session; before binding there is none to apply it to.
        } else if is_stanza(&el) {
            // RFC 6120 §7.1: no stanzas before a resource is bound.
            self.not_authorized();
        } else {
            self.unsupported(&el);
        }
    }

    fn handle_bound(&mut self, el: Element) {
        if !is_stanza(&el) {
            self.handle_bound_nonza(&el);
            return;
        }
        if el.name() == "iq" {
            let domain = self.domain.clone().unwrap_or_default();
            if self.timers.take_reply(&el, &domain) {
                self.count_self_handled();
                return;
            }
            if bind::is_session(&el) {
                self.count_self_handled();
                let _ = self.write_stanza(&bind::session_result(&el, &domain));
                return;
            }
            if bind::is_bind(&el) {
                // RFC 6120 binds one resource per stream; a second bind is refused, and
                // the session keeps the first.
                self.count_self_handled();
                let refusal = StanzaError::new(StanzaCondition::NotAllowed);
                let _ = self.write_stanza(&bind::error(&el, refusal));
                return;
            }
        }
        self.count_stanza_for_driver();
        self.events.push_back(Event::Stanza(el));
    }

    /// A top-level element of a bound stream that is not a stanza: stream management, client
    /// state indication, or unknown.
    fn handle_bound_nonza(&mut self, el: &Element) {
        if self.is_sm_element(el) {
            match el.name() {
                "enable" => self.handle_enable(el),
                "r" => self.handle_ack_request(el),
                "a" => self.handle_ack(el),
                "resume" => self.sm_unexpected(),
                _ => self.unsupported(el),
            }
        } else if self.is_csi_element(el) {
            let active = el.name() == "active";
            self.events.push_back(Event::ClientState { active });
        } else {
            self.unsupported(el);
        }
    }

    /// Whether `el` is in the XEP-0198 namespace and stream management is configured.
    fn is_sm_element(&self, el: &Element) -> bool {
        el.ns() == ns::SM && self.config.stream_management().is_some()
    }

    /// Whether `el` is `<active/>` or `<inactive/>` of XEP-0352 and CSI is configured.
    fn is_csi_element(&self, el: &Element) -> bool {
        el.ns() == ns::CSI && self.config.csi() && matches!(el.name(), "active" | "inactive")
    }

    /// A top-level element that is not a stanza of this stream.
    pub(super) fn unsupported(&mut self, el: &Element) {
        let in_other_stanza_ns = matches!(el.name(), "message" | "presence" | "iq")
            && StanzaNs::from_uri(el.ns()).is_some();
        let condition = if in_other_stanza_ns {
            // <message xmlns='jabber:server'/> on a client stream (RFC 6120 §4.9.3.10).
            StreamCondition::InvalidNamespace
        } else {
            StreamCondition::UnsupportedStanzaType
        };
        self.close(StreamError::new(condition));
    }
}

/// A `message`, `presence` or `iq` in `jabber:client`.
fn is_stanza(el: &Element) -> bool {
    el.ns() == ns::JABBER_CLIENT && matches!(el.name(), "message" | "presence" | "iq")
}
