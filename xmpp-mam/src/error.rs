//! Why a MAM request is refused, and the stanza error it is answered with.

use xmpp_core::dataform::FormError;
use xmpp_core::{IqType, StanzaCondition, StanzaError};

/// Why a MAM request (a query, a preferences set, a metadata request) is refused.
///
/// It converts into the [`StanzaError`] to answer with, carrying the reason as English text;
/// [`MamError::condition`] is its condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MamError {
    /// A child in the MAM or RSM namespace that has no place where it is, or one that may
    /// appear only once appearing twice.
    #[error("unexpected <{child}/> in <{parent}/>")]
    UnexpectedChild {
        /// The element it was found in.
        parent: &'static str,
        /// Its local name.
        child: String,
    },
    /// The query's data form is malformed (XEP-0004).
    #[error("bad query form: {0}")]
    Form(#[from] FormError),
    /// The query's data form is not of type `submit`.
    #[error("the query form is not a submission")]
    FormNotSubmitted,
    /// The query's data form has a `FORM_TYPE` other than `urn:xmpp:mam:2`.
    #[error("the query form's FORM_TYPE is `{0}`, not urn:xmpp:mam:2")]
    WrongFormType(String),
    /// A form field this server does not know: XEP-0313 §4.1.5 answers it with
    /// `feature-not-implemented`, so that a client learns the filter was not applied.
    #[error("unsupported query field `{0}`")]
    UnknownField(String),
    /// A field or element holds a value it must not (a date that is not XEP-0082, a JID that
    /// does not parse, a `max` that is not a number, an empty id, several values in a
    /// single-valued field).
    #[error("bad value for `{name}`: {reason}")]
    BadValue {
        /// The field or element.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// RSM `<index/>` (XEP-0059 §2.5): jumping to a position needs a count of the result
    /// set, which an archive of millions of messages cannot give cheaply, so it is not offered
    /// (XEP-0059 allows `feature-not-implemented`). `<index>0</index>` is the first page and
    /// is accepted.
    #[error("RSM <index/> is not supported")]
    IndexUnsupported,
    /// RSM `<before/>` with an id and `<after/>` together: XEP-0313 §4.3.2 leaves this
    /// undefined and points to `before-id`/`after-id` for ranges, so it is refused rather
    /// than guessed.
    #[error("RSM <before/> and <after/> together; use the before-id and after-id fields")]
    BeforeAndAfter,
    /// A `node` attribute: archives of pubsub nodes (XEP-0442) are not served here.
    #[error("pubsub archives (the node attribute) are not supported")]
    NodeUnsupported,
    /// An id named by the query (RSM `<before/>`/`<after/>`, `before-id`, `after-id`,
    /// `ids`) is not in the archive (XEP-0313 §4.3.2, §4.1.3).
    #[error("no message with that id in the archive")]
    UnknownId,
    /// The payload does not go with the iq type (a `set` of `<metadata/>`).
    #[error("<{payload}/> is not used with an iq of type {}", .iq_type.as_str())]
    WrongIqType {
        /// The payload's local name.
        payload: &'static str,
        /// The iq's type.
        iq_type: IqType,
    },
    /// The archive of another account: only its owner may read it or change its
    /// preferences (XEP-0313 §8.1).
    #[error("only the account itself may use its archive")]
    Forbidden,
}

impl MamError {
    /// The stanza error condition to answer with.
    pub fn condition(&self) -> StanzaCondition {
        match self {
            Self::UnknownField(_) | Self::IndexUnsupported | Self::NodeUnsupported => {
                StanzaCondition::FeatureNotImplemented
            }
            Self::UnknownId => StanzaCondition::ItemNotFound,
            Self::Forbidden => StanzaCondition::Forbidden,
            Self::UnexpectedChild { .. }
            | Self::Form(_)
            | Self::FormNotSubmitted
            | Self::WrongFormType(_)
            | Self::BadValue { .. }
            | Self::BeforeAndAfter
            | Self::WrongIqType { .. } => StanzaCondition::BadRequest,
        }
    }
}

impl From<MamError> for StanzaError {
    fn from(e: MamError) -> Self {
        StanzaError::new(e.condition()).with_text(Some("en"), e.to_string())
    }
}

pub(crate) fn bad_value(name: &str, reason: &'static str) -> MamError {
    MamError::BadValue {
        name: name.to_owned(),
        reason,
    }
}
