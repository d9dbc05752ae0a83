//! Shared roster groups (as in ejabberd's `mod_shared_roster` and Openfire's shared groups):
//! groups the administrator defines, whose members see each other as contacts without
//! subscribing.
//!
//! A shared contact is never stored in the member's roster: it is merged in when a client
//! reads the roster ([`merge`]), so that removing someone from a group removes them from
//! every member's view at once, and a user's own items are never rewritten by a group
//! change.

use std::collections::BTreeMap;

use crate::element::Element;
use crate::jid::BareJid;
use crate::ns;
use crate::roster::{Roster, RosterItem, RosterVersion, Subscription};

/// A contact that a shared group puts into a roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedContact {
    /// The contact.
    pub jid: BareJid,
    /// The display names of the groups that the owner and the contact share, unique, in the
    /// order the groups were given: the roster groups the contact appears in.
    pub groups: Vec<String>,
}

/// Builds the shared contacts of `owner` from groups given as (display name, members) pairs:
/// every member of every group `owner` is in, except `owner`, with the display names of all
/// groups they share (no duplicates, first-seen order), one entry per JID, ordered by JID.
///
/// A group the owner is not in contributes nothing: membership is what makes a group shared
/// with someone. A group "of everyone on the domain" is given with its members listed.
pub fn shared_contacts<'a>(
    owner: &BareJid,
    groups: impl IntoIterator<Item = (&'a str, &'a [BareJid])>,
) -> Vec<SharedContact> {
    let mut contacts: BTreeMap<&BareJid, Vec<String>> = BTreeMap::new();
    for (name, members) in groups {
        if !members.contains(owner) {
            continue;
        }
        for member in members.iter().filter(|m| *m != owner) {
            let names = contacts.entry(member).or_default();
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    contacts
        .into_iter()
        .map(|(jid, groups)| SharedContact {
            jid: jid.clone(),
            groups,
        })
        .collect()
}

/// The roster a client sees: `stored` plus the shared contacts, each as a `both` item (no
/// ask, approval or pending flags) in its shared groups. A contact that also has a personal
/// item keeps its name and personal groups, gains the shared group names, and shows `both`.
/// The version is the stored roster's.
///
/// This is a view, for roster results, pushes and presence fan-out: it is never stored back,
/// and the subscription state machine ([`crate::roster::outbound`] and
/// [`crate::roster::inbound`]) keeps working on the stored items. The server pushes the
/// difference when groups change; the version alone does not track that.
pub fn merge(stored: &Roster, shared: &[SharedContact]) -> Roster {
    let mut items: BTreeMap<BareJid, RosterItem> = stored
        .items()
        .map(|item| (item.jid.clone(), item.clone()))
        .collect();
    for contact in shared {
        let item = items
            .entry(contact.jid.clone())
            .or_insert_with(|| RosterItem::new(contact.jid.clone()));
        for group in &contact.groups {
            item.add_group(group);
        }
        item.subscription = Subscription::Both;
        item.ask = false;
        item.approved = false;
        item.pending_in = false;
    }
    Roster::from_parts(stored.version(), items.into_values())
}

/// The `ver` a client sees (RFC 6121 §2.6) for a stored roster at `stored` merged with
/// `shared`: the stored version mixed with a fingerprint of the shared contacts, so that a
/// group change alters `ver` for exactly the accounts it affects, without writing to any
/// roster, and also when it was made while the server was down. With no shared contacts it is
/// the stored version itself. The fingerprint is FNV-1a: stable across runs and releases,
/// unlike the standard library's hasher.
pub fn visible_version(stored: RosterVersion, shared: &[SharedContact]) -> RosterVersion {
    if shared.is_empty() {
        return stored;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for c in shared {
        feed(c.jid.as_str().as_bytes());
        feed(&[0]);
        for g in &c.groups {
            feed(g.as_bytes());
            feed(&[1]);
        }
    }
    // The top bit keeps it apart from plain stored versions, which are counters.
    RosterVersion::new((stored.get().wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ hash) | (1 << 63))
}

/// The `<item/>` of a roster push (§2.1.6) for `jid` as a client sees it: the personal item
/// merged with the shared groups it is in, the shared item alone, or
/// `subscription='remove'` when neither is left.
pub fn visible_item(
    jid: &BareJid,
    personal: Option<RosterItem>,
    shared: &[SharedContact],
) -> Element {
    let shared: Vec<SharedContact> = shared.iter().filter(|c| c.jid == *jid).cloned().collect();
    let merged = merge(
        &Roster::from_parts(RosterVersion::INITIAL, personal),
        &shared,
    );
    match merged.get(jid) {
        Some(item) => item.to_element(),
        None => Element::new("item", ns::ROSTER)
            .with_attr("jid", jid.as_str())
            .with_attr("subscription", Subscription::Remove.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::roster::RosterVersion;

    fn bare(s: &str) -> BareJid {
        BareJid::new(s).expect("valid bare JID")
    }

    fn jids(list: &[&str]) -> Vec<BareJid> {
        list.iter().map(|s| bare(s)).collect()
    }

    #[test]
    fn members_of_the_owners_groups_with_every_shared_group_name() {
        let owner = bare("alice@example.com");
        let staff = jids(&["alice@example.com", "carol@example.com", "bob@example.com"]);
        let board = jids(&["bob@example.com", "alice@example.com"]);
        let other = jids(&["dave@example.com", "carol@example.com"]);
        let got = shared_contacts(
            &owner,
            [
                ("Staff", staff.as_slice()),
                ("Others", other.as_slice()),
                ("Board", board.as_slice()),
            ],
        );
        assert_eq!(
            got,
            [
                SharedContact {
                    jid: bare("bob@example.com"),
                    groups: vec!["Staff".into(), "Board".into()],
                },
                SharedContact {
                    jid: bare("carol@example.com"),
                    groups: vec!["Staff".into()],
                },
            ],
            "ordered by JID, the owner left out, dave (not in a group with alice) absent"
        );
    }

    #[test]
    fn a_display_name_is_listed_once_and_a_member_once() {
        let owner = bare("alice@example.com");
        let a = jids(&["alice@example.com", "bob@example.com", "bob@example.com"]);
        let b = jids(&["alice@example.com", "bob@example.com"]);
        let got = shared_contacts(&owner, [("Team", a.as_slice()), ("Team", b.as_slice())]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].groups, ["Team"]);
    }

    #[test]
    fn no_groups_no_contacts() {
        let owner = bare("alice@example.com");
        assert!(shared_contacts(&owner, []).is_empty());
        let alone = jids(&["alice@example.com"]);
        assert!(shared_contacts(&owner, [("Solo", alone.as_slice())]).is_empty());
    }

    fn stored() -> Roster {
        let mut romeo = RosterItem::new(bare("romeo@example.net"));
        romeo.name = Some("Romeo".into());
        romeo.groups = vec!["Friends".into()];
        romeo.subscription = Subscription::To;
        romeo.pending_in = true;
        let mut nurse = RosterItem::new(bare("nurse@example.com"));
        nurse.ask = true;
        nurse.approved = true;
        Roster::from_parts(RosterVersion::new(7), [romeo, nurse])
    }

    #[test]
    fn merge_adds_shared_contacts_as_both() {
        let shared = [SharedContact {
            jid: bare("bob@example.com"),
            groups: vec!["Staff".into(), "Board".into()],
        }];
        let roster = merge(&stored(), &shared);
        assert_eq!(roster.version(), RosterVersion::new(7));
        assert_eq!(roster.len(), 3);
        let bob = roster.get(&bare("bob@example.com")).expect("merged");
        assert_eq!(bob.subscription, Subscription::Both);
        assert_eq!(bob.groups, ["Staff", "Board"]);
        assert_eq!(bob.name, None);
        assert!(!bob.ask && !bob.approved && !bob.pending_in);
        // The personal items are untouched.
        assert_eq!(
            roster.get(&bare("nurse@example.com")),
            stored().get(&bare("nurse@example.com"))
        );
    }

    #[test]
    fn merge_keeps_a_personal_item_name_and_groups_and_shows_both() {
        let shared = [SharedContact {
            jid: bare("romeo@example.net"),
            groups: vec!["Staff".into(), "Friends".into()],
        }];
        let roster = merge(&stored(), &shared);
        let romeo = roster.get(&bare("romeo@example.net")).expect("kept");
        assert_eq!(romeo.name.as_deref(), Some("Romeo"));
        assert_eq!(
            romeo.groups,
            ["Friends", "Staff"],
            "personal first, no duplicate"
        );
        assert_eq!(romeo.subscription, Subscription::Both);
        assert!(!romeo.ask && !romeo.approved && !romeo.pending_in);
        let xml = romeo.to_element();
        assert_eq!(xml.attr("subscription"), Some("both"));
        assert_eq!(xml.attr("ask"), None);
    }

    #[test]
    fn merge_with_nothing_shared_is_the_stored_roster() {
        assert_eq!(merge(&stored(), &[]), stored());
    }

    proptest! {
        /// Sharing is symmetric: if a group puts B in A's roster, the same group puts A in
        /// B's, under the same names; and nobody ever sees themselves.
        #[test]
        fn sharing_is_symmetric(
            groups in proptest::collection::vec(
                (0usize..3, proptest::collection::vec(0usize..6, 0..6)),
                0..5,
            ),
        ) {
            let people: Vec<BareJid> =
                (0..6).map(|i| bare(&format!("u{i}@example.com"))).collect();
            let names = ["A", "B", "C"];
            let groups: Vec<(&str, Vec<BareJid>)> = groups
                .into_iter()
                .map(|(n, ms)| (names[n], ms.into_iter().map(|m| people[m].clone()).collect()))
                .collect();
            let view = |owner: &BareJid| {
                shared_contacts(owner, groups.iter().map(|(n, ms)| (*n, ms.as_slice())))
            };
            for a in &people {
                let mine = view(a);
                prop_assert!(mine.iter().all(|c| c.jid != *a));
                prop_assert!(mine.windows(2).all(|w| w[0].jid < w[1].jid));
                for c in &mine {
                    let theirs = view(&c.jid);
                    let back = theirs.iter().find(|t| t.jid == *a);
                    prop_assert!(back.is_some());
                    let mut x = c.groups.clone();
                    let mut y = back.map(|b| b.groups.clone()).unwrap_or_default();
                    x.sort();
                    y.sort();
                    prop_assert_eq!(x, y);
                }
            }
        }
    }

    #[test]
    fn the_visible_version_changes_with_the_shared_contacts_only() {
        let stored = RosterVersion::new(7);
        assert_eq!(visible_version(stored, &[]), stored);
        let a = [SharedContact {
            jid: bare("a@example.org"),
            groups: vec!["Team".into()],
        }];
        let b = [SharedContact {
            jid: bare("b@example.org"),
            groups: vec!["Team".into()],
        }];
        assert_ne!(visible_version(stored, &a), stored);
        assert_ne!(visible_version(stored, &a), visible_version(stored, &b));
        assert_eq!(visible_version(stored, &a), visible_version(stored, &a));
        assert_ne!(
            visible_version(stored, &a),
            visible_version(stored.next(), &a)
        );
    }

    #[test]
    fn a_pushed_item_is_removed_unless_personal_or_shared() {
        let el = visible_item(&bare("a@example.org"), None, &[]);
        assert_eq!(el.attr("subscription"), Some("remove"));
        let personal = RosterItem::new(bare("a@example.org"));
        let el = visible_item(&bare("a@example.org"), Some(personal), &[]);
        assert_eq!(el.attr("subscription"), Some("none"));
        let shared = [SharedContact {
            jid: bare("a@example.org"),
            groups: vec!["Team".into()],
        }];
        let el = visible_item(&bare("a@example.org"), None, &shared);
        assert_eq!(el.attr("subscription"), Some("both"));
    }
}
