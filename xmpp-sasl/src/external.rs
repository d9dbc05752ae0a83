//! EXTERNAL (RFC 4422 Appendix A): authentication by the TLS layer, typically a client
//! certificate (RFC 6120 §13.7.2 for server-to-server, XEP-0178 for clients).
//!
//! The message is the requested authorisation identity, possibly empty. The TLS layer has already
//! verified the certificate and passed the identities it proves
//! ([`ConnectionInfo::with_external_identities`](crate::ConnectionInfo::with_external_identities)):
//!
//! * empty authzid and exactly one identity: that identity is authenticated;
//! * empty authzid and several identities: `not-authorized` (the client must choose);
//! * a non-empty authzid that is one of the identities: that identity is authenticated;
//! * otherwise `invalid-authzid`, unless the policy is
//!   [`AuthzidPolicy::CallerDecides`](crate::AuthzidPolicy::CallerDecides) and there is exactly
//!   one identity, in which case the caller gets both and decides.

use crate::config::{AuthzidPolicy, ServerOffer};
use crate::error::{Failure, FailureCondition, FailureReason};
use crate::server::ServerStep;

pub(crate) fn handle_message(offer: &ServerOffer, msg: &str) -> Result<ServerStep, Failure> {
    if msg.contains('\0') {
        return Err(Failure::malformed("NUL in EXTERNAL authzid"));
    }
    let identities = offer.connection().external_identities();
    let no_identity = || Failure::not_authorized(FailureReason::NoExternalIdentity);
    if msg.is_empty() {
        return match identities {
            [only] => Ok(ServerStep::Success {
                additional_data: None,
                authcid: only.clone(),
                authzid: None,
            }),
            _ => Err(no_identity()),
        };
    }
    if identities.iter().any(|i| i == msg) {
        return Ok(ServerStep::Success {
            additional_data: None,
            authcid: msg.to_owned(),
            authzid: Some(msg.to_owned()),
        });
    }
    match (offer.config().authzid_policy(), identities) {
        (AuthzidPolicy::CallerDecides, [only]) => Ok(ServerStep::Success {
            additional_data: None,
            authcid: only.clone(),
            authzid: Some(msg.to_owned()),
        }),
        (_, []) => Err(no_identity()),
        _ => Err(Failure::new(
            FailureCondition::InvalidAuthzid,
            FailureReason::AuthzidNotAllowed,
        )),
    }
}
