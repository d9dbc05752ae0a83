//! Archiving preferences (XEP-0441, which XEP-0313 split out; same `urn:xmpp:mam:2`
//! namespace): which contacts' messages an account archives.
//!
//! ```
//! use xmpp_mam::{DefaultPolicy, Prefs};
//! use xmpp_core::Jid;
//!
//! let el = "<prefs xmlns='urn:xmpp:mam:2' default='roster'>\
//!             <always><jid>romeo@montague.lit</jid></always>\
//!             <never><jid>montague@montague.lit</jid></never>\
//!           </prefs>".parse()?;
//! let prefs = Prefs::from_element(&el)?;
//! assert_eq!(prefs.default, DefaultPolicy::Roster);
//! assert!(prefs.decide(&Jid::new("romeo@montague.lit/orchard")?, false));
//! assert!(!prefs.decide(&Jid::new("montague@montague.lit")?, true));
//! assert!(prefs.decide(&Jid::new("nurse@capulet.lit")?, true));
//! assert_eq!(Prefs::from_element(&prefs.to_element())?, prefs);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use xmpp_core::{Element, Jid, Node};

use crate::error::{MamError, bad_value};
use crate::ns;

/// Which messages are archived when no per-JID rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DefaultPolicy {
    /// Every message.
    #[default]
    Always,
    /// No message.
    Never,
    /// Messages with contacts in the owner's roster.
    Roster,
}

impl DefaultPolicy {
    /// Every policy.
    pub const ALL: [Self; 3] = [Self::Always, Self::Never, Self::Roster];

    /// The value of the `default` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Never => "never",
            Self::Roster => "roster",
        }
    }

    /// Reads the value of the `default` attribute.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// An owner's preferences.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prefs {
    /// The rule for JIDs in neither list.
    pub default: DefaultPolicy,
    /// JIDs whose messages are always archived.
    pub always: Vec<Jid>,
    /// JIDs whose messages are never archived (wins over `always`).
    pub never: Vec<Jid>,
}

impl Prefs {
    /// Whether a message with `with` (the `to` of an outgoing message, the `from` of an
    /// incoming one, XEP-0441 §2.3) is archived; `in_roster` says whether its bare JID is in
    /// the owner's roster, which only the `roster` default asks about.
    ///
    /// The `never` list wins, then the `always` list, then the default. A listed bare JID
    /// matches the target with any resource; a listed full JID only that full JID
    /// (XEP-0441 §2.3.1).
    pub fn decide(&self, with: &Jid, in_roster: bool) -> bool {
        if self.never.iter().any(|listed| matches(listed, with)) {
            return false;
        }
        if self.always.iter().any(|listed| matches(listed, with)) {
            return true;
        }
        match self.default {
            DefaultPolicy::Always => true,
            DefaultPolicy::Never => false,
            DefaultPolicy::Roster => in_roster,
        }
    }

    /// Writes `<prefs xmlns='urn:xmpp:mam:2' default='…'><always>…</always><never>…</never>
    /// </prefs>`, both lists present even when empty, as XEP-0441 §2.1 requires of an answer.
    pub fn to_element(&self) -> Element {
        let list = |name: &str, jids: &[Jid]| {
            let mut el = Element::new(name, ns::MAM);
            for jid in jids {
                el.append_child(Element::new("jid", ns::MAM).with_text(jid.as_str()));
            }
            el
        };
        Element::new("prefs", ns::MAM)
            .with_attr("default", self.default.as_str())
            .with_child(list("always", &self.always))
            .with_child(list("never", &self.never))
    }

    /// Reads a `<prefs/>` a client set.
    ///
    /// The `default` attribute is required and must be one of the three policies; `<always/>`
    /// and `<never/>` may each appear once (a missing one is an empty list) and hold only
    /// `<jid/>` elements with a JID as text. Elements of other namespaces are ignored; anything
    /// else is a `bad-request`. A JID listed twice in one list is kept once.
    pub fn from_element(el: &Element) -> Result<Self, MamError> {
        if !el.is("prefs", ns::MAM) {
            return Err(MamError::UnexpectedChild {
                parent: "iq",
                child: el.name().to_owned(),
            });
        }
        let default = el
            .attr("default")
            .ok_or_else(|| bad_value("default", "missing"))?;
        let default = DefaultPolicy::parse(default)
            .ok_or_else(|| bad_value("default", "not always, never or roster"))?;
        let mut prefs = Self {
            default,
            always: Vec::new(),
            never: Vec::new(),
        };
        let (mut seen_always, mut seen_never) = (false, false);
        for child in el.children().filter(|c| c.ns() == ns::MAM) {
            let (seen, list) = match child.name() {
                "always" => (&mut seen_always, &mut prefs.always),
                "never" => (&mut seen_never, &mut prefs.never),
                other => {
                    return Err(MamError::UnexpectedChild {
                        parent: "prefs",
                        child: other.to_owned(),
                    });
                }
            };
            if core::mem::replace(seen, true) {
                return Err(MamError::UnexpectedChild {
                    parent: "prefs",
                    child: child.name().to_owned(),
                });
            }
            *list = read_jids(child)?;
        }
        Ok(prefs)
    }
}

/// XEP-0441 §2.3.1: a listed full JID is compared as it is, a listed bare JID with the
/// target's bare JID.
fn matches(listed: &Jid, target: &Jid) -> bool {
    if listed.is_full() {
        listed == target
    } else {
        listed.as_str() == target.bare_str()
    }
}

fn read_jids(list: &Element) -> Result<Vec<Jid>, MamError> {
    let mut jids: Vec<Jid> = Vec::new();
    for child in list.children().filter(|c| c.ns() == ns::MAM) {
        if child.name() != "jid" {
            return Err(MamError::UnexpectedChild {
                parent: if list.name() == "always" {
                    "always"
                } else {
                    "never"
                },
                child: child.name().to_owned(),
            });
        }
        if child.nodes().iter().any(|n| matches!(n, Node::Element(_))) {
            return Err(bad_value("jid", "holds elements"));
        }
        let jid = Jid::new(&child.text()).map_err(|_| bad_value("jid", "not a valid JID"))?;
        if !jids.contains(&jid) {
            jids.push(jid);
        }
    }
    Ok(jids)
}

#[cfg(test)]
mod tests;
