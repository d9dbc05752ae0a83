//! Which stanza it is, and its `type` attribute, per kind.

use core::fmt;

use super::StanzaViolation;

/// The three stanzas of RFC 6120 §8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StanzaKind {
    /// `<message/>`: push, fire and forget.
    Message,
    /// `<presence/>`: availability and subscriptions, broadcast.
    Presence,
    /// `<iq/>`: request and response.
    Iq,
}

impl StanzaKind {
    /// The element name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Presence => "presence",
            Self::Iq => "iq",
        }
    }

    /// The kind named by an element name, if it is a stanza's.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "message" => Some(Self::Message),
            "presence" => Some(Self::Presence),
            "iq" => Some(Self::Iq),
            _ => None,
        }
    }
}

impl fmt::Display for StanzaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `type` of a message (RFC 6121 §5.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// `chat`: one-to-one conversation.
    Chat,
    /// `error`: an answer to a message that failed.
    Error,
    /// `groupchat`: a multi-user chat message.
    Groupchat,
    /// `headline`: an alert, no reply expected.
    Headline,
    /// `normal`: a single message, possibly answered; also what an absent or unknown type
    /// means.
    Normal,
}

impl MessageType {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Error => "error",
            Self::Groupchat => "groupchat",
            Self::Headline => "headline",
            Self::Normal => "normal",
        }
    }

    /// The type of a message whose `type` attribute is `value`.
    ///
    /// Never fails: RFC 6121 §5.2.2 says a message without a type, or with one the
    /// application does not understand, MUST be treated as `normal`. The attribute itself
    /// stays in the element untouched.
    pub fn from_attr(value: Option<&str>) -> Self {
        match value {
            Some("chat") => Self::Chat,
            Some("error") => Self::Error,
            Some("groupchat") => Self::Groupchat,
            Some("headline") => Self::Headline,
            _ => Self::Normal,
        }
    }
}

/// The `type` of a presence (RFC 6121 §4.7.1); no attribute means available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresenceType {
    /// No `type` attribute: the sender is available.
    Available,
    /// `unavailable`: the sender is no longer available.
    Unavailable,
    /// `subscribe`: the sender asks to see the recipient's presence.
    Subscribe,
    /// `subscribed`: the sender lets the recipient see its presence.
    Subscribed,
    /// `unsubscribe`: the sender no longer wants the recipient's presence.
    Unsubscribe,
    /// `unsubscribed`: a subscription request is denied or a subscription cancelled.
    Unsubscribed,
    /// `probe`: a server asks for a contact's current presence.
    Probe,
    /// `error`: an answer to a presence that failed.
    Error,
}

impl PresenceType {
    /// The attribute value; `None` for [`PresenceType::Available`], which has none.
    pub fn as_attr(self) -> Option<&'static str> {
        Some(match self {
            Self::Available => return None,
            Self::Unavailable => "unavailable",
            Self::Subscribe => "subscribe",
            Self::Subscribed => "subscribed",
            Self::Unsubscribe => "unsubscribe",
            Self::Unsubscribed => "unsubscribed",
            Self::Probe => "probe",
            Self::Error => "error",
        })
    }

    /// The type of a presence whose `type` attribute is `value`.
    ///
    /// Unlike a message's, an unknown presence type is an error (`bad-request`): presence
    /// types drive subscription state, and guessing one would change it.
    pub fn from_attr(value: Option<&str>) -> Result<Self, StanzaViolation> {
        Ok(match value {
            None => Self::Available,
            Some("unavailable") => Self::Unavailable,
            Some("subscribe") => Self::Subscribe,
            Some("subscribed") => Self::Subscribed,
            Some("unsubscribe") => Self::Unsubscribe,
            Some("unsubscribed") => Self::Unsubscribed,
            Some("probe") => Self::Probe,
            Some("error") => Self::Error,
            Some(other) => {
                return Err(StanzaViolation::UnknownType {
                    kind: StanzaKind::Presence,
                    value: other.to_owned(),
                });
            }
        })
    }
}

/// The `type` of an iq (RFC 6120 §8.2.3); required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IqType {
    /// `get`: a request for information.
    Get,
    /// `set`: a request to change something.
    Set,
    /// `result`: a successful answer.
    Result,
    /// `error`: a failed answer.
    Error,
}

impl IqType {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Set => "set",
            Self::Result => "result",
            Self::Error => "error",
        }
    }

    /// Whether this is a request (`get` or `set`), which must be answered.
    pub fn is_request(self) -> bool {
        matches!(self, Self::Get | Self::Set)
    }

    /// The type of an iq whose `type` attribute is `value`.
    pub fn from_attr(value: Option<&str>) -> Result<Self, StanzaViolation> {
        match value {
            Some("get") => Ok(Self::Get),
            Some("set") => Ok(Self::Set),
            Some("result") => Ok(Self::Result),
            Some("error") => Ok(Self::Error),
            None => Err(StanzaViolation::MissingType),
            Some(other) => Err(StanzaViolation::UnknownType {
                kind: StanzaKind::Iq,
                value: other.to_owned(),
            }),
        }
    }
}

impl fmt::Display for IqType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stanza's kind together with its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StanzaType {
    /// A message and its type.
    Message(MessageType),
    /// A presence and its type.
    Presence(PresenceType),
    /// An iq and its type.
    Iq(IqType),
}

impl StanzaType {
    /// The kind of stanza.
    pub fn kind(self) -> StanzaKind {
        match self {
            Self::Message(_) => StanzaKind::Message,
            Self::Presence(_) => StanzaKind::Presence,
            Self::Iq(_) => StanzaKind::Iq,
        }
    }

    /// Whether this is an error stanza, which is never answered with another error.
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Self::Message(MessageType::Error)
                | Self::Presence(PresenceType::Error)
                | Self::Iq(IqType::Error)
        )
    }

    /// The error type of the given kind.
    pub fn error_of(kind: StanzaKind) -> Self {
        match kind {
            StanzaKind::Message => Self::Message(MessageType::Error),
            StanzaKind::Presence => Self::Presence(PresenceType::Error),
            StanzaKind::Iq => Self::Iq(IqType::Error),
        }
    }
}
