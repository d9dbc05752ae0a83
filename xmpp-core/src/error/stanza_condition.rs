//! The defined conditions of stanza errors (RFC 6120 §8.3.3).

use core::fmt;
use core::str::FromStr;

use crate::element::Element;
use crate::ns;

use super::parse::condition_text;
use super::{ErrorParseError, ErrorType};

/// A defined stanza error condition (RFC 6120 §8.3.3), the element in
/// `urn:ietf:params:xml:ns:xmpp-stanzas` that tells a program what went wrong.
///
/// `<gone/>` and `<redirect/>` may carry an address (a URI or IRI, typically `xmpp:`) as
/// character data; RFC 6120 says they SHOULD, not MUST, so it is optional here too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StanzaCondition {
    /// `bad-request`: the stanza does not conform to the schema or cannot be processed.
    BadRequest,
    /// `conflict`: a resource or item with that name or address exists already.
    Conflict,
    /// `feature-not-implemented`: the recipient does not implement what the stanza asks for.
    FeatureNotImplemented,
    /// `forbidden`: the requester lacks the permissions for the action.
    Forbidden,
    /// `gone`: the recipient can no longer be contacted at this address, with the new
    /// address if there is one.
    Gone(Option<String>),
    /// `internal-server-error`: misconfiguration or another internal error.
    InternalServerError,
    /// `item-not-found`: the addressed JID or the requested item does not exist.
    ItemNotFound,
    /// `jid-malformed`: an address violates RFC 7622.
    JidMalformed,
    /// `not-acceptable`: the request does not meet the recipient's criteria.
    NotAcceptable,
    /// `not-allowed`: nobody may perform this action.
    NotAllowed,
    /// `not-authorized`: credentials are missing or wrong (authentication, despite the name).
    NotAuthorized,
    /// `policy-violation`: a local service policy was violated.
    PolicyViolation,
    /// `recipient-unavailable`: the recipient is temporarily unavailable.
    RecipientUnavailable,
    /// `redirect`: requests go to another entity for now, with its address if given.
    Redirect(Option<String>),
    /// `registration-required`: prior registration is needed.
    RegistrationRequired,
    /// `remote-server-not-found`: the recipient's server does not exist or cannot be resolved.
    RemoteServerNotFound,
    /// `remote-server-timeout`: the recipient's server could not be reached in time.
    RemoteServerTimeout,
    /// `resource-constraint`: the server or recipient is too busy.
    ResourceConstraint,
    /// `service-unavailable`: the service is not offered (also the privacy-preserving answer
    /// for "no such user").
    ServiceUnavailable,
    /// `subscription-required`: a prior subscription is needed.
    SubscriptionRequired,
    /// `undefined-condition`: none of the above; meant to come with an application-specific
    /// condition.
    UndefinedCondition,
    /// `unexpected-request`: understood, but not expected now (out of order).
    UnexpectedRequest,
}

impl StanzaCondition {
    /// Every defined condition, in the order of RFC 6120 §8.3.3 (addresses left empty).
    pub const ALL: [Self; 22] = [
        Self::BadRequest,
        Self::Conflict,
        Self::FeatureNotImplemented,
        Self::Forbidden,
        Self::Gone(None),
        Self::InternalServerError,
        Self::ItemNotFound,
        Self::JidMalformed,
        Self::NotAcceptable,
        Self::NotAllowed,
        Self::NotAuthorized,
        Self::PolicyViolation,
        Self::RecipientUnavailable,
        Self::Redirect(None),
        Self::RegistrationRequired,
        Self::RemoteServerNotFound,
        Self::RemoteServerTimeout,
        Self::ResourceConstraint,
        Self::ServiceUnavailable,
        Self::SubscriptionRequired,
        Self::UndefinedCondition,
        Self::UnexpectedRequest,
    ];

    /// The element name of the condition.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::Conflict => "conflict",
            Self::FeatureNotImplemented => "feature-not-implemented",
            Self::Forbidden => "forbidden",
            Self::Gone(_) => "gone",
            Self::InternalServerError => "internal-server-error",
            Self::ItemNotFound => "item-not-found",
            Self::JidMalformed => "jid-malformed",
            Self::NotAcceptable => "not-acceptable",
            Self::NotAllowed => "not-allowed",
            Self::NotAuthorized => "not-authorized",
            Self::PolicyViolation => "policy-violation",
            Self::RecipientUnavailable => "recipient-unavailable",
            Self::Redirect(_) => "redirect",
            Self::RegistrationRequired => "registration-required",
            Self::RemoteServerNotFound => "remote-server-not-found",
            Self::RemoteServerTimeout => "remote-server-timeout",
            Self::ResourceConstraint => "resource-constraint",
            Self::ServiceUnavailable => "service-unavailable",
            Self::SubscriptionRequired => "subscription-required",
            Self::UndefinedCondition => "undefined-condition",
            Self::UnexpectedRequest => "unexpected-request",
        }
    }

    /// The error type RFC 6120 §8.3.3 associates with the condition.
    ///
    /// Where the RFC offers two, this is the first it names (or the one its example uses);
    /// `undefined-condition` may take any type, and gets `cancel`, the one that never invites
    /// a blind retry.
    pub fn default_type(&self) -> ErrorType {
        match self {
            Self::Forbidden
            | Self::NotAuthorized
            | Self::RegistrationRequired
            | Self::SubscriptionRequired => ErrorType::Auth,
            Self::BadRequest
            | Self::JidMalformed
            | Self::NotAcceptable
            | Self::PolicyViolation
            | Self::Redirect(_) => ErrorType::Modify,
            Self::RecipientUnavailable
            | Self::RemoteServerTimeout
            | Self::ResourceConstraint
            | Self::UnexpectedRequest => ErrorType::Wait,
            Self::Conflict
            | Self::FeatureNotImplemented
            | Self::Gone(_)
            | Self::InternalServerError
            | Self::ItemNotFound
            | Self::NotAllowed
            | Self::RemoteServerNotFound
            | Self::ServiceUnavailable
            | Self::UndefinedCondition => ErrorType::Cancel,
        }
    }

    /// The new or alternate address of `<gone/>` or `<redirect/>`, if given.
    pub fn address(&self) -> Option<&str> {
        match self {
            Self::Gone(uri) | Self::Redirect(uri) => uri.as_deref(),
            _ => None,
        }
    }

    /// Reads a condition element; the caller has checked its namespace.
    pub(super) fn from_element(el: &Element) -> Result<Self, ErrorParseError> {
        let mut condition: Self = el.name().parse()?;
        let text = condition_text(el, condition.as_str(), condition.carries_address())?;
        if let Self::Gone(uri) | Self::Redirect(uri) = &mut condition {
            *uri = text;
        }
        Ok(condition)
    }

    /// Writes the condition element.
    pub(super) fn to_element(&self) -> Element {
        let el = Element::new(self.as_str(), ns::XMPP_STANZAS);
        match self.address() {
            Some(uri) => el.with_text(uri),
            None => el,
        }
    }

    fn carries_address(&self) -> bool {
        matches!(self, Self::Gone(_) | Self::Redirect(_))
    }
}

impl FromStr for StanzaCondition {
    type Err = ErrorParseError;

    /// Parses an element name; `gone` and `redirect` come without an address.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "bad-request" => Self::BadRequest,
            "conflict" => Self::Conflict,
            "feature-not-implemented" => Self::FeatureNotImplemented,
            "forbidden" => Self::Forbidden,
            "gone" => Self::Gone(None),
            "internal-server-error" => Self::InternalServerError,
            "item-not-found" => Self::ItemNotFound,
            "jid-malformed" => Self::JidMalformed,
            "not-acceptable" => Self::NotAcceptable,
            "not-allowed" => Self::NotAllowed,
            "not-authorized" => Self::NotAuthorized,
            "policy-violation" => Self::PolicyViolation,
            "recipient-unavailable" => Self::RecipientUnavailable,
            "redirect" => Self::Redirect(None),
            "registration-required" => Self::RegistrationRequired,
            "remote-server-not-found" => Self::RemoteServerNotFound,
            "remote-server-timeout" => Self::RemoteServerTimeout,
            "resource-constraint" => Self::ResourceConstraint,
            "service-unavailable" => Self::ServiceUnavailable,
            "subscription-required" => Self::SubscriptionRequired,
            "undefined-condition" => Self::UndefinedCondition,
            "unexpected-request" => Self::UnexpectedRequest,
            other => return Err(ErrorParseError::UnknownCondition(other.to_owned())),
        })
    }
}

impl fmt::Display for StanzaCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())?;
        match self.address() {
            Some(uri) => write!(f, " ({uri})"),
            None => Ok(()),
        }
    }
}
