//! Reading a `<query xmlns='jabber:iq:register'/>` a client sent (XEP-0077 §3).

use crate::dataform::{Form, FormError, FormKind};
use crate::element::{Element, Node};
use crate::error::{StanzaCondition, StanzaError};
use crate::ns;
use crate::stanza::IqType;

use super::captcha::{CHALLENGE_FIELD, OCR_FIELD, SID_FIELD};

/// The children XEP-0077's schema (§11) allows in a query, besides `<remove/>`. Anything else
/// in the namespace is a malformed request.
const SCHEMA_FIELDS: [&str; 19] = [
    "registered",
    "instructions",
    "username",
    "nick",
    "password",
    "name",
    "first",
    "last",
    "email",
    "address",
    "city",
    "state",
    "zip",
    "phone",
    "url",
    "date",
    "misc",
    "text",
    "key",
];

/// What a register query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterRequest {
    /// An iq `get`: which fields to fill in (§3.1). The server answers with
    /// [`super::registration_form`], or [`super::registered_answer`] when the session is
    /// already authenticated.
    FormRequest,
    /// An iq `set` with data: a registration from an unauthenticated stream (§3.1), or a
    /// password change from an authenticated one (§3.3).
    Submit(Submission),
    /// An iq `set` with `<remove/>`: cancel the account (§3.2).
    ///
    /// XEP-0077's table of §3.2 lists `bad-request` for a `<remove/>` that is not the only
    /// child, but clients have sent `<username/>` and `<password/>` beside it and Prosody and
    /// ejabberd accept that; the removal is decided by who the session is, not by what else
    /// the query holds, so other children are ignored here.
    Remove,
}

impl RegisterRequest {
    /// Reads the query of an iq of type `iq_type`.
    ///
    /// Errors (all `bad-request`, see [`RegisterError::condition`]): the element is not a
    /// register query; the iq is a `result` or an `error`; a `set` holds nothing to act on;
    /// a child of the register namespace that its schema does not define, or one of them
    /// twice, or one holding elements; several data forms, a form that is not of type
    /// `submit`, or one [`Form::from_element`] refuses. Elements of other namespaces (an
    /// out-of-band URL, say) are ignored.
    pub fn parse(iq_type: IqType, query: &Element) -> Result<Self, RegisterError> {
        if !query.is("query", ns::REGISTER) {
            return Err(RegisterError::NotARegisterQuery {
                name: query.name().to_owned(),
                ns: query.ns().to_owned(),
            });
        }
        match iq_type {
            IqType::Get => Ok(Self::FormRequest),
            IqType::Set => Self::parse_set(query),
            IqType::Result | IqType::Error => Err(RegisterError::UnexpectedIqType(iq_type)),
        }
    }

    fn parse_set(query: &Element) -> Result<Self, RegisterError> {
        if query.has_child("remove", ns::REGISTER) {
            return Ok(Self::Remove);
        }
        let mut legacy: Vec<(String, String)> = Vec::new();
        let mut form = None;
        for child in query.children() {
            if child.ns() == ns::DATA_FORMS && child.name() == "x" {
                if form.is_some() {
                    return Err(RegisterError::SeveralForms);
                }
                let parsed = Form::from_element(child)?;
                if parsed.kind != FormKind::Submit {
                    return Err(RegisterError::FormNotSubmitted(parsed.kind));
                }
                form = Some(parsed);
                continue;
            }
            if child.ns() != ns::REGISTER {
                continue;
            }
            let name = child.name();
            if !SCHEMA_FIELDS.contains(&name) {
                return Err(RegisterError::UnknownChild(name.to_owned()));
            }
            if legacy.iter().any(|(n, _)| n == name) {
                return Err(RegisterError::DuplicateChild(name.to_owned()));
            }
            if child.nodes().iter().any(|n| matches!(n, Node::Element(_))) {
                return Err(RegisterError::ChildNotText(name.to_owned()));
            }
            // `<registered/>` and `<instructions/>` belong in the server's answers; a client
            // that echoes them back has not asked for anything by it.
            if !matches!(name, "registered" | "instructions") {
                legacy.push((name.to_owned(), child.text()));
            }
        }
        if legacy.is_empty() && form.is_none() {
            return Err(RegisterError::NothingSubmitted);
        }
        Ok(Self::Submit(Submission { legacy, form }))
    }
}

/// The data of a register `set`: the legacy fields of XEP-0077 (`<username/>`,
/// `<password/>`, `<email/>`…) and the submitted data form, if any.
///
/// XEP-0077 §4 says a client MUST NOT send both, and that the form takes precedence; both are
/// accepted here, and where both name the same field the form's value wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    legacy: Vec<(String, String)>,
    form: Option<Form>,
}

impl Submission {
    /// The value of a field: from the submitted form if it has the field, otherwise from the
    /// legacy element of the same name. An empty element gives `Some("")`.
    ///
    /// The form's fields keep their XEP-0158 names: `challenge`, `sid`, `ocr`, `from`.
    pub fn field(&self, var: &str) -> Option<&str> {
        if let Some(field) = self.form.as_ref().and_then(|f| f.field(var)) {
            return Some(field.value().unwrap_or(""));
        }
        self.legacy
            .iter()
            .find(|(name, _)| name == var)
            .map(|(_, value)| value.as_str())
    }

    /// The username, unless absent or empty.
    pub fn username(&self) -> Option<&str> {
        self.field("username").filter(|s| !s.is_empty())
    }

    /// The password, unless absent or empty: XEP-0077 §3.1 counts `<password/>` as not
    /// provided, and §3.3 forbids setting an empty password.
    pub fn password(&self) -> Option<&str> {
        self.field("password").filter(|s| !s.is_empty())
    }

    /// Username and password for a registration, or the error XEP-0077 §3.1 prescribes when
    /// either is missing or empty: `not-acceptable`.
    ///
    /// A password change (§3.3) prescribes `bad-request` for incomplete data instead; the
    /// server picks the condition there.
    pub fn credentials(&self) -> Result<(&str, &str), RegisterError> {
        let username = self.username().ok_or(RegisterError::Missing("username"))?;
        let password = self.password().ok_or(RegisterError::Missing("password"))?;
        Ok((username, password))
    }

    /// The `FORM_TYPE` of the submitted form (XEP-0068): `jabber:iq:register`,
    /// `urn:xmpp:captcha` for a CAPTCHA form, or `jabber:iq:register:changepassword`.
    pub fn form_type(&self) -> Option<&str> {
        self.form.as_ref().and_then(Form::form_type)
    }

    /// The submitted form, if there was one.
    pub fn form(&self) -> Option<&Form> {
        self.form.as_ref()
    }

    /// The answer to a CAPTCHA: the submitted form's `challenge` and `ocr` fields, when the
    /// form's `FORM_TYPE` is `urn:xmpp:captcha` and both are present (XEP-0158 §4).
    pub fn captcha_answer(&self) -> Option<CaptchaAnswer<'_>> {
        let form = self.form.as_ref()?;
        if form.form_type() != Some(ns::CAPTCHA) {
            return None;
        }
        Some(CaptchaAnswer {
            challenge: form.value(CHALLENGE_FIELD)?,
            sid: form.value(SID_FIELD),
            answer: form.value(OCR_FIELD)?,
        })
    }
}

/// A submitted CAPTCHA answer, to check against the challenge the server handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptchaAnswer<'a> {
    /// The challenge id the form carried (the server's own, echoed back).
    pub challenge: &'a str,
    /// The `sid` echoed back, if any.
    pub sid: Option<&'a str>,
    /// What the user read in the picture.
    pub answer: &'a str,
}

/// Why a register query is refused.
///
/// [`RegisterError::condition`] gives the RFC 6120 condition and `Display` a short English
/// text; `StanzaError::from` puts both together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// The payload is not `<query xmlns='jabber:iq:register'/>`.
    #[error("expected a jabber:iq:register query, found <{name}/> in `{ns}`")]
    NotARegisterQuery {
        /// The local name found.
        name: String,
        /// The namespace found.
        ns: String,
    },
    /// A register query arrived in an iq `result` or `error`, which asks for nothing.
    #[error("a register query in an iq of type {} asks for nothing", .0.as_str())]
    UnexpectedIqType(IqType),
    /// An element of the register namespace that XEP-0077 does not define.
    #[error("unknown element <{0}/> in the register query")]
    UnknownChild(String),
    /// A field element given twice.
    #[error("<{0}/> is given twice")]
    DuplicateChild(String),
    /// A field element holding elements rather than text.
    #[error("<{0}/> must hold text only")]
    ChildNotText(String),
    /// More than one data form.
    #[error("more than one data form")]
    SeveralForms,
    /// A data form that is not a submission (`form`, `result`, `cancel`).
    #[error("the data form is of type {}, not submit", .0.as_str())]
    FormNotSubmitted(FormKind),
    /// The data form is malformed.
    #[error("invalid data form: {0}")]
    Form(#[from] FormError),
    /// A `set` with neither `<remove/>`, nor fields, nor a form.
    #[error("the register query holds nothing to act on")]
    NothingSubmitted,
    /// A registration lacks a required field, or has it empty (XEP-0077 §3.1).
    #[error("the {0} is missing")]
    Missing(&'static str),
}

impl RegisterError {
    /// The stanza error condition to answer with: `not-acceptable` for missing data (XEP-0077
    /// §3.1), `bad-request` for everything malformed.
    pub fn condition(&self) -> StanzaCondition {
        match self {
            Self::Missing(_) => StanzaCondition::NotAcceptable,
            _ => StanzaCondition::BadRequest,
        }
    }
}

impl From<RegisterError> for StanzaError {
    fn from(e: RegisterError) -> Self {
        StanzaError::new(e.condition()).with_text(Some("en"), e.to_string())
    }
}
