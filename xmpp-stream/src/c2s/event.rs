//! What a connection tells its driver: events that need action, and the negotiation state.

use xmpp_core::jid::{BareJid, FullJid};
use xmpp_core::{Element, StreamError};
use xmpp_sasl::{FailureCondition, FailureReason, Mechanism, ScramHash};

use super::sm::Resumption;

/// Something the driver must act on or know about, from
/// [`Connection::poll_event`](super::Connection::poll_event).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `<proceed/>` is queued. Flush [`poll_transmit`](super::Connection::poll_transmit),
    /// then run the TLS handshake on the raw socket and call
    /// [`handle_tls_established`](super::Connection::handle_tls_established).
    ///
    /// The connection has checked that nothing followed `<starttls/>` in the input (a
    /// pipelined plaintext command would be the CVE-2011-0411 injection); nothing read from
    /// the socket before the handshake may be fed to it again.
    StartTls,
    /// A SASL mechanism needs the stored credentials of `jid`. Look them up (storage may be
    /// asynchronous) and call [`provide_credentials`](super::Connection::provide_credentials)
    /// or [`provide_no_such_user`](super::Connection::provide_no_such_user). Until then the
    /// connection reads no input.
    NeedCredentials {
        /// The localpart, prepared by `xmpp-sasl` (RFC 4013) and normalised as a JID
        /// localpart here: the account name to look up.
        username: String,
        /// The account: `username@domain` of this stream.
        jid: BareJid,
        /// Which record is needed (for PLAIN: the one configured in `xmpp-sasl`).
        hash: ScramHash,
        /// The mechanism being run.
        mechanism: Mechanism,
    },
    /// An unauthenticated client sent an XEP-0077 registration request (`<iq/>` of type `get`
    /// or `set` whose payload is `<query xmlns='jabber:iq:register'/>`), as it arrived. It is
    /// emitted whether or not [`offer_registration`](super::Connection::offer_registration)
    /// was called: when registration is closed to this client, answer `not-allowed`.
    ///
    /// Build the reply (an `<iq/>` in `jabber:client` of type `result` or `error` with the
    /// request's `id`) and call [`answer_register_iq`](super::Connection::answer_register_iq).
    /// Until then the connection reads no input.
    ///
    /// The connection has checked that the stream is encrypted where TLS is required, that
    /// no SASL exchange is running, and that `to` is absent or the stream's domain; register
    /// the account at [`domain`](super::Connection::domain). `from` means nothing here (an
    /// unauthenticated client has no address) and must not be used. After a successful
    /// registration the client authenticates with SASL on the same stream.
    RegisterIq(Element),
    /// A `<failure/>` went out. Count these per IP for throttling (security.md §1.6); the
    /// condition is what the client saw, the reason is for logs only.
    AuthFailed {
        /// What the client was told.
        condition: FailureCondition,
        /// Why, for logs (never sent to the client).
        reason: FailureReason,
        /// The username the client tried, if it got that far.
        username: Option<String>,
    },
    /// SASL succeeded: the stream restarts and the client will bind a resource.
    Authenticated {
        /// The authenticated account.
        jid: BareJid,
    },
    /// The client asks to bind a resource. Pick one (a random one, e.g.
    /// [`Connection::generate_resource`](super::Connection::generate_resource), when it sent
    /// none), resolve conflicts with other sessions of the account, and call
    /// [`complete_bind`](super::Connection::complete_bind). Until then the connection reads no
    /// input.
    BindRequest {
        /// The resource the client asked for, normalised (RFC 7622 `OpaqueString`).
        requested_resource: Option<String>,
    },
    /// The resource is bound: stanzas may flow.
    Bound {
        /// The session's address.
        jid: FullJid,
    },
    /// A stanza (`message`, `presence` or `iq` in `jabber:client`) from the bound client, as
    /// it arrived: the router checks it and stamps `from`. Once it is handled (stored, routed
    /// or answered with an error), call
    /// [`stanza_handled`](super::Connection::stanza_handled), once per stanza, in order: with
    /// stream management on, only then does the client's `<r/>` count it.
    Stanza(Element),
    /// The client enabled XEP-0198 stream management (`<enabled/>` is queued). From now on
    /// stanzas are counted both ways and those sent are kept until acknowledged.
    SmEnabled {
        /// The resumption id and timeout, when the client asked for resumption and it is
        /// configured. Register the id for this account (only this account may resume it),
        /// and forget it when the session ends for good.
        resume: Option<Resumption>,
    },
    /// An authenticated client asks, instead of binding, to resume the session `previd`
    /// (XEP-0198 §5). Look it up among this account's sessions, end the connection it had
    /// (if still open), take its state with
    /// [`take_sm_state`](super::Connection::take_sm_state) and call
    /// [`complete_resume`](super::Connection::complete_resume). Until then the connection
    /// reads no input.
    ResumeRequest {
        /// The SM-ID the client names; opaque, as the client sent it.
        previd: String,
        /// How many stanzas of the old session the client handled (modulo 2^32); the
        /// connection applies it in `complete_resume`.
        h: u32,
    },
    /// The session is resumed on this connection (`<resumed/>` and the stanzas the client had
    /// not acknowledged are queued): stanzas may flow, as after [`Event::Bound`], with
    /// stream management on. Write what the session got meanwhile, then
    /// [`request_ack`](super::Connection::request_ack).
    Resumed {
        /// The session's address.
        jid: FullJid,
    },
    /// XEP-0352: the client says it is in use (`<active/>`) or not (`<inactive/>`). Every
    /// stream starts active; the state is the driver's to keep (and never to reveal to
    /// others, XEP-0352 §6).
    ClientState {
        /// `true` for `<active/>`.
        active: bool,
    },
    /// The stream is over. Flush [`poll_transmit`](super::Connection::poll_transmit), then
    /// close the socket. Nothing else happens on this connection.
    Closed {
        /// The stream error that ended it (sent by us, or received from the peer), if any.
        error: Option<StreamError>,
        /// Whether the peer ended it (`</stream:stream>`, its own `<stream:error/>`, or EOF).
        by_peer: bool,
    },
}

/// Where a connection is in its life, from [`Connection::state`](super::Connection::state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Waiting for the client's stream header (at the start or after a restart).
    AwaitingStreamHeader,
    /// `<proceed/>` was sent; waiting for the driver's TLS handshake.
    AwaitingTls,
    /// The stream is open and the client has to authenticate (or upgrade to TLS first).
    Authenticating,
    /// Waiting for the driver to answer [`Event::NeedCredentials`].
    AwaitingCredentials,
    /// Waiting for the driver to answer [`Event::RegisterIq`].
    AwaitingRegistration,
    /// Authenticated; the client has to bind a resource.
    Binding,
    /// Waiting for the driver to answer [`Event::BindRequest`].
    AwaitingBind,
    /// Waiting for the driver to answer [`Event::ResumeRequest`].
    AwaitingResume,
    /// Bound: stanzas flow.
    Established,
    /// The stream is over.
    Closed,
}
