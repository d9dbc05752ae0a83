//! IQs the server answers itself: on its domain (disco, ping, version, time, last activity) and
//! on behalf of an account's bare JID (disco).

use std::time::SystemTime;

use crate::element::Element;
use crate::error::StanzaCondition;
use crate::ns;
use crate::stanza::{IqType, Stanza};

use super::ServerInfo;
use super::disco::{DiscoInfo, Identity};

/// How a server-handled IQ request is answered: a result payload or an error.
pub(super) type Answer = Result<Option<Element>, StanzaCondition>;

fn not_allowed_unless_get(iq_type: IqType) -> Result<(), StanzaCondition> {
    if iq_type == IqType::Get {
        Ok(())
    } else {
        Err(StanzaCondition::NotAllowed)
    }
}

/// Answers an IQ request addressed to the server's domain.
pub(super) fn handle_domain_iq(info: &ServerInfo, iq: &Stanza, now: SystemTime) -> Answer {
    let (Some(iq_type), Some(payload)) = (iq.iq_type(), iq.iq_payload()) else {
        return Err(StanzaCondition::BadRequest);
    };
    match payload.ns() {
        ns::DISCO_INFO if payload.name() == "query" => {
            not_allowed_unless_get(iq_type)?;
            let node = payload.attr("node");
            match node {
                None => Ok(Some(info.disco.to_element(None))),
                Some(n) if n == info.caps_node_ver() => Ok(Some(info.disco.to_element(Some(n)))),
                Some(_) => Err(StanzaCondition::ItemNotFound),
            }
        }
        ns::DISCO_ITEMS if payload.name() == "query" => {
            not_allowed_unless_get(iq_type)?;
            if payload.attr("node").is_some() {
                return Err(StanzaCondition::ItemNotFound);
            }
            let mut q = Element::new("query", ns::DISCO_ITEMS);
            for item in &info.items {
                q.append_child(
                    Element::new("item", ns::DISCO_ITEMS).with_attr("jid", item.as_str()),
                );
            }
            Ok(Some(q))
        }
        ns::PING if payload.name() == "ping" => {
            not_allowed_unless_get(iq_type)?;
            Ok(None)
        }
        ns::VERSION if payload.name() == "query" => {
            not_allowed_unless_get(iq_type)?;
            let mut q = Element::new("query", ns::VERSION)
                .with_child(
                    Element::new("name", ns::VERSION).with_text(info.software_name.as_str()),
                )
                .with_child(
                    Element::new("version", ns::VERSION).with_text(info.software_version.as_str()),
                );
            if let Some(os) = &info.os {
                q.append_child(Element::new("os", ns::VERSION).with_text(os.as_str()));
            }
            Ok(Some(q))
        }
        ns::TIME if payload.name() == "time" => {
            not_allowed_unless_get(iq_type)?;
            Ok(Some(
                Element::new("time", ns::TIME)
                    .with_child(Element::new("tzo", ns::TIME).with_text("+00:00"))
                    .with_child(
                        Element::new("utc", ns::TIME)
                            .with_text(crate::datetime::format_utc(now, true)),
                    ),
            ))
        }
        ns::LAST if payload.name() == "query" => {
            not_allowed_unless_get(iq_type)?;
            // For a server, XEP-0012 last activity is its uptime.
            let uptime = now.duration_since(info.started).map_or(0, |d| d.as_secs());
            Ok(Some(
                Element::new("query", ns::LAST).with_attr("seconds", uptime.to_string()),
            ))
        }
        _ => Err(StanzaCondition::ServiceUnavailable),
    }
}

/// Answers an IQ request addressed to an account's bare JID, on the account's behalf.
/// An IQ request to an account's bare JID that no session or module took: the account's
/// disco, with `features` (the account features, for the user's own account only).
pub(super) fn handle_account_iq(iq: &Stanza, features: &[String]) -> Answer {
    let (Some(iq_type), Some(payload)) = (iq.iq_type(), iq.iq_payload()) else {
        return Err(StanzaCondition::BadRequest);
    };
    match payload.ns() {
        ns::DISCO_INFO if payload.name() == "query" && payload.attr("node").is_none() => {
            not_allowed_unless_get(iq_type)?;
            let info = DiscoInfo {
                identities: vec![Identity::new("account", "registered")],
                features: [ns::DISCO_INFO, ns::DISCO_ITEMS]
                    .into_iter()
                    .map(str::to_owned)
                    .chain(features.iter().cloned())
                    .collect(),
                extensions: vec![],
            };
            Ok(Some(info.to_element(None)))
        }
        ns::DISCO_ITEMS if payload.name() == "query" && payload.attr("node").is_none() => {
            not_allowed_unless_get(iq_type)?;
            Ok(Some(Element::new("query", ns::DISCO_ITEMS)))
        }
        _ => Err(StanzaCondition::ServiceUnavailable),
    }
}
