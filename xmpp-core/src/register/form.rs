//! The server's answers to a register `get` (XEP-0077 §3.1), and the stream feature (§8).

use crate::dataform::{Field, FieldType, Form, FormKind};
use crate::element::Element;
use crate::ns;

use super::captcha::Captcha;

/// What goes into the registration form the server hands out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormSpec {
    /// The `<instructions/>` for the user, also put into the data form; empty for none.
    pub instructions: String,
    /// A title for the data form.
    pub title: Option<String>,
    /// The CAPTCHA to solve, if registration requires one.
    pub captcha: Option<Captcha>,
    /// A web page where one can register instead, sent as a XEP-0066 URL (XEP-0077 §5).
    pub web_url: Option<String>,
}

impl FormSpec {
    /// A form with these instructions and nothing else.
    pub fn new(instructions: impl Into<String>) -> Self {
        Self {
            instructions: instructions.into(),
            ..Self::default()
        }
    }
}

/// The `username` field of a registration form.
pub(super) fn username_field() -> Field {
    Field::new("username", FieldType::TextSingle)
        .with_label("Username")
        .required()
}

/// The `password` field of a registration form.
pub(super) fn password_field() -> Field {
    Field::new("password", FieldType::TextPrivate)
        .with_label("Password")
        .required()
}

/// The payload of the result to a register `get` from an unauthenticated stream: the fields
/// to fill in (XEP-0077 §3.1).
///
/// Without a CAPTCHA it holds the legacy `<username/>` and `<password/>` and a data form with
/// the same two fields (`FORM_TYPE` `jabber:iq:register`), for the clients that only render
/// forms. With one, it holds the XEP-0158 form (see [`Captcha::registration_form`]) and the
/// picture as a XEP-0231 `<data/>`, but no legacy fields: XEP-0077 §6 says not to offer them
/// when the form asks for something they cannot carry, since a legacy client could never
/// answer the CAPTCHA. The instructions, and the web URL if any, are what such a client shows.
pub fn registration_form(spec: &FormSpec) -> Element {
    let mut query = Element::new("query", ns::REGISTER);
    if !spec.instructions.is_empty() {
        query.append_child(
            Element::new("instructions", ns::REGISTER).with_text(spec.instructions.as_str()),
        );
    }
    let mut form = if let Some(captcha) = &spec.captcha {
        captcha.registration_form()
    } else {
        query.append_child(Element::new("username", ns::REGISTER));
        query.append_child(Element::new("password", ns::REGISTER));
        Form::with_form_type(FormKind::Form, ns::REGISTER)
            .with_field(username_field())
            .with_field(password_field())
    };
    form.title.clone_from(&spec.title);
    if !spec.instructions.is_empty() {
        form.instructions.push(spec.instructions.clone());
    }
    query.append_child(form.to_element());
    if let Some(url) = &spec.web_url {
        query.append_child(
            Element::new("x", ns::OOB).with_child(Element::new("url", ns::OOB).with_text(url)),
        );
    }
    if let Some(captcha) = &spec.captcha {
        query.append_child(captcha.bob_data());
    }
    query
}

/// The payload of the result to a register `get` from an account that is already signed in
/// (XEP-0077 §3.1): `<registered/>`, the username, and an empty `<password/>` (the XEP allows
/// it empty, and the server does not know it anyway).
pub fn registered_answer(username: &str) -> Element {
    Element::new("query", ns::REGISTER)
        .with_child(Element::new("registered", ns::REGISTER))
        .with_child(Element::new("username", ns::REGISTER).with_text(username))
        .with_child(Element::new("password", ns::REGISTER))
}

/// The error answer to a register IQ, without the request's query: the submitted password
/// must not come back (XEP-0077 §3.3 for password changes; nothing else in a query is worth
/// echoing either). Works on the raw element, so that an IQ which does not even parse as a
/// stanza (before authentication) is answered too: `to` and `from` are swapped, `id` kept.
pub fn error_answer(iq: &Element, error: &crate::StanzaError) -> Element {
    let mut reply = Element::new("iq", ns::JABBER_CLIENT).with_attr("type", "error");
    if let Some(id) = iq.attr("id") {
        reply.set_attr("id", id);
    }
    if let Some(from) = iq.attr("from") {
        reply.set_attr("to", from);
    }
    if let Some(to) = iq.attr("to") {
        reply.set_attr("from", to);
    }
    reply.with_child(error.to_element(ns::JABBER_CLIENT))
}

/// The stream feature that announces in-band registration (XEP-0077 §8), for a
/// `jabber:client` stream only.
pub fn register_feature() -> Element {
    Element::new("register", ns::REGISTER_FEATURE)
}
