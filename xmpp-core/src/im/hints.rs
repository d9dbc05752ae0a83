//! Message processing hints (XEP-0334): what the sender of a message asks of the entities
//! that route and store it.
//!
//! One reader for every place that honours them (offline storage, archiving, carbons), so that
//! they agree on what a hint is: an empty element with one of the four names in
//! [`ns::HINTS`], as a direct child of the message. Hints elsewhere (inside a forwarded
//! message, in another namespace) are someone else's and are not read.
//!
//! Hints are hints (XEP-0334 §5): each user of [`Hints`] says which it honours and how.

use crate::ns;
use crate::stanza::Stanza;

/// The XEP-0334 hints a message carries.
///
/// ```
/// use xmpp_core::im::Hints;
/// use xmpp_core::{Element, Stanza};
///
/// let el: Element = "<message xmlns='jabber:client' to='juliet@example.com/balcony'>\
///     <body>hi</body><no-copy xmlns='urn:xmpp:hints'/><no-store xmlns='urn:xmpp:hints'/>\
///     </message>".parse()?;
/// let hints = Hints::of(&Stanza::from_element(el)?);
/// assert!(hints.no_copy && hints.no_store && !hints.store);
/// assert!(hints.forbids_storage());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hints {
    /// `<no-permanent-store/>`: keep it in no archive or log (XEP-0313 and the like); a
    /// temporary copy for delivery is fine.
    pub no_permanent_store: bool,
    /// `<no-store/>`: keep it nowhere, not even for later delivery to an offline client.
    pub no_store: bool,
    /// `<no-copy/>`: do not copy it to other addresses than the one it is addressed to,
    /// e.g. with message carbons (XEP-0280).
    pub no_copy: bool,
    /// `<store/>`: store it even though other rules would not (XEP-0334 §4.4).
    pub store: bool,
}

impl Hints {
    /// The hints among the direct children of `stanza` (none for a presence or an iq, whose
    /// children are never hints in practice, but read the same way).
    pub fn of(stanza: &Stanza) -> Self {
        let mut hints = Self::default();
        for child in stanza.payloads().filter(|p| p.ns() == ns::HINTS) {
            match child.name() {
                "no-permanent-store" => hints.no_permanent_store = true,
                "no-store" => hints.no_store = true,
                "no-copy" => hints.no_copy = true,
                "store" => hints.store = true,
                _ => {}
            }
        }
        hints
    }

    /// Whether the sender asked for no storage at all or no permanent storage: either "no"
    /// keeps a message out of an archive, and out of an offline store too (a message its
    /// sender wants kept nowhere has no place on the recipient's disk).
    ///
    /// A "no" wins over a `<store/>` given at the same time: keeping what the sender asked not
    /// to keep is the worse mistake.
    pub fn forbids_storage(&self) -> bool {
        self.no_store || self.no_permanent_store
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::element::Element;

    fn stanza(s: &str) -> Stanza {
        let el: Element = s.parse().expect("test input is well-formed");
        Stanza::from_element(el).expect("valid stanza")
    }

    fn message(payload: &str) -> Stanza {
        stanza(&format!(
            "<message xmlns='jabber:client' to='juliet@example.com/a'><body>x</body>{payload}</message>"
        ))
    }

    #[test]
    fn xep0334_each_hint_is_read() {
        let h = |name: &str| Hints::of(&message(&format!("<{name} xmlns='urn:xmpp:hints'/>")));
        assert_eq!(
            h("no-permanent-store"),
            Hints {
                no_permanent_store: true,
                ..Hints::default()
            }
        );
        assert_eq!(
            h("no-store"),
            Hints {
                no_store: true,
                ..Hints::default()
            }
        );
        assert_eq!(
            h("no-copy"),
            Hints {
                no_copy: true,
                ..Hints::default()
            }
        );
        assert_eq!(
            h("store"),
            Hints {
                store: true,
                ..Hints::default()
            }
        );
        assert_eq!(h("unknown-hint"), Hints::default());
    }

    #[test]
    fn xep0334_all_at_once() {
        let all = message(
            "<no-permanent-store xmlns='urn:xmpp:hints'/><no-store xmlns='urn:xmpp:hints'/>\
             <no-copy xmlns='urn:xmpp:hints'/><store xmlns='urn:xmpp:hints'/>",
        );
        let h = Hints::of(&all);
        assert!(h.no_permanent_store && h.no_store && h.no_copy && h.store);
        assert!(h.forbids_storage(), "a no wins over store");
    }

    #[test]
    fn only_direct_children_in_the_hints_namespace_count() {
        // Another namespace.
        assert_eq!(
            Hints::of(&message("<no-store xmlns='urn:example'/>")),
            Hints::default()
        );
        // Inside a forwarded message: that message's hints, not this one's.
        let nested = message(
            "<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
             <message xmlns='jabber:client'><no-copy xmlns='urn:xmpp:hints'/></message>\
             </forwarded></sent>",
        );
        assert_eq!(Hints::of(&nested), Hints::default());
    }

    #[test]
    fn forbids_storage_is_either_no() {
        let mut h = Hints::default();
        assert!(!h.forbids_storage());
        h.store = true;
        assert!(!h.forbids_storage());
        h.no_permanent_store = true;
        assert!(h.forbids_storage());
        h = Hints {
            no_store: true,
            ..Hints::default()
        };
        assert!(h.forbids_storage());
        h = Hints {
            no_copy: true,
            ..Hints::default()
        };
        assert!(!h.forbids_storage());
    }
}
