//! Where a stanza addressed to the bare JID of a local account goes (RFC 6121 §8.5.2).
//!
//! The router knows the account's bound resources; this module knows the rules. The caller
//! passes one [`Availability`] per bound resource, in any order it likes, and gets back
//! indexes into that slice, so no session type leaks in here.
//!
//! Where RFC 6121 leaves a choice, the choice made (and why):
//!
//! - `chat` and `normal` with several non-negative resources (§8.5.2.1.1): the "most
//!   available" ones, taken to be the resources sharing the highest priority, rather than
//!   every non-negative resource (option (b)). Priority is the one signal a user has for
//!   saying which device should get a conversation; a client that wants every message asks
//!   for copies with carbons (XEP-0280), which is the opt-in the RFC has in mind for `chat`.
//! - `chat` and `normal` with no non-negative resource (§8.5.2.1.1 sends these to §8.5.2.2.1):
//!   offline storage, not `service-unavailable`. Whether a given message is worth storing is
//!   [`super::offline::is_storable`]'s question.

use crate::error::StanzaCondition;
use crate::stanza::MessageType;

/// A bound resource as delivery sees it: `None` = bound but not available (no initial
/// presence), `Some(p)` = available with priority p.
///
/// A bound resource that has not sent initial presence is a "connected resource" in RFC 6121
/// §8.5.2's words; it gets nothing addressed to the bare JID, because it has not said it wants
/// to be treated as online (§4.2).
pub type Availability = Option<i8>;

/// What the server does with a message addressed to a local account's bare JID.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BareDelivery {
    /// Deliver to these resources (indexes into the slice given), `to` left as the bare JID
    /// (§8.5.2.1.1: the server MUST NOT rewrite it).
    Resources(Vec<usize>),
    /// No resource can take it: store it offline if
    /// [`is_storable`](super::offline::is_storable) says so, else drop it.
    Offline,
    /// Answer the sender with this error.
    Bounce(StanzaCondition),
    /// Drop it silently.
    Drop,
}

/// Message to a bare JID (RFC 6121 §8.5.2.1.1, and §8.5.2.2.1 when no resource qualifies).
///
/// - `chat` / `normal` (a message without type is `normal`, §5.2.2): the available resources
///   with the highest non-negative priority, all that share it; none: [`BareDelivery::Offline`].
/// - `headline`: every available resource with non-negative priority; none:
///   [`BareDelivery::Drop`] (§8.5.2.1.1 and §8.5.2.2.1 both say to ignore it silently).
/// - `groupchat`: [`BareDelivery::Bounce`] with `service-unavailable`, whatever the resources
///   (§8.5.2.1.1 and §8.5.2.2.1: the server MUST NOT deliver it).
/// - `error`: [`BareDelivery::Drop`] (an error is never answered).
///
/// A resource with negative priority never receives a message addressed to the bare JID
/// (§8.5.2.1.1: "for any message type"), and one that is not available never counts.
pub fn message_to_bare(ty: MessageType, resources: &[Availability]) -> BareDelivery {
    match ty {
        MessageType::Chat | MessageType::Normal => {
            let Some(top) = non_negative(resources).map(|(_, p)| p).max() else {
                return BareDelivery::Offline;
            };
            BareDelivery::Resources(
                non_negative(resources)
                    .filter(|&(_, p)| p == top)
                    .map(|(i, _)| i)
                    .collect(),
            )
        }
        MessageType::Headline => {
            let all: Vec<usize> = non_negative(resources).map(|(i, _)| i).collect();
            if all.is_empty() {
                BareDelivery::Drop
            } else {
                BareDelivery::Resources(all)
            }
        }
        MessageType::Groupchat => BareDelivery::Bounce(StanzaCondition::ServiceUnavailable),
        MessageType::Error => BareDelivery::Drop,
    }
}

/// Presence (any type) to a bare JID: every available resource, whatever its priority
/// (RFC 6121 §8.5.2.1.2, §4). Empty when none.
///
/// Priority ranks resources for messages only: a client with negative priority still shows
/// its user's contacts as online, so it needs their presence. What the caller does with the
/// types this does not decide (a probe is answered by the server, §4.3; a subscription stanza
/// goes through the roster first, §3) happens before it asks.
pub fn presence_to_bare(resources: &[Availability]) -> Vec<usize> {
    resources
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.map(|_| i))
        .collect()
}

/// The available resources with non-negative priority, with their index.
fn non_negative(resources: &[Availability]) -> impl Iterator<Item = (usize, i8)> + '_ {
    resources
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.filter(|p| *p >= 0).map(|p| (i, p)))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn to(resources: &[usize]) -> BareDelivery {
        BareDelivery::Resources(resources.to_vec())
    }

    #[test]
    fn rfc6121_8_5_2_1_1_chat_goes_to_all_that_share_the_highest_priority() {
        let r = [Some(5), Some(5), Some(1)];
        assert_eq!(message_to_bare(MessageType::Chat, &r), to(&[0, 1]));
        assert_eq!(message_to_bare(MessageType::Normal, &r), to(&[0, 1]));
    }

    #[test]
    fn rfc6121_8_5_2_1_1_one_non_negative_resource_gets_it() {
        for p in [0, 1, 127] {
            let r = [Some(-1), Some(p)];
            assert_eq!(message_to_bare(MessageType::Chat, &r), to(&[1]), "{p}");
        }
    }

    #[test]
    fn rfc6121_5_2_2_a_message_without_type_is_normal() {
        // `MessageType::from_attr(None)` is `Normal`: it follows the chat rules.
        let ty = MessageType::from_attr(None);
        assert_eq!(message_to_bare(ty, &[Some(0), Some(3)]), to(&[1]));
    }

    #[test]
    fn rfc6121_8_5_2_1_1_negative_only_is_handled_as_no_resource() {
        // "If the only available resource has a negative presence priority then the server
        // SHOULD handle the message as if there were no available resources" (§8.5.2.2.1).
        let r = [Some(-1), Some(-128)];
        assert_eq!(
            message_to_bare(MessageType::Chat, &r),
            BareDelivery::Offline
        );
        assert_eq!(
            message_to_bare(MessageType::Normal, &r),
            BareDelivery::Offline
        );
        assert_eq!(
            message_to_bare(MessageType::Chat, &[]),
            BareDelivery::Offline
        );
    }

    #[test]
    fn rfc6121_8_5_2_a_bound_but_unavailable_resource_is_never_chosen() {
        let r = [None, Some(0), None];
        assert_eq!(message_to_bare(MessageType::Chat, &r), to(&[1]));
        assert_eq!(message_to_bare(MessageType::Headline, &r), to(&[1]));
        assert_eq!(
            message_to_bare(MessageType::Chat, &[None, None]),
            BareDelivery::Offline
        );
        assert_eq!(
            message_to_bare(MessageType::Headline, &[None]),
            BareDelivery::Drop
        );
    }

    #[test]
    fn rfc6121_8_5_2_1_1_headline_goes_to_every_non_negative_resource() {
        let r = [Some(5), Some(-1), Some(0), None, Some(1)];
        assert_eq!(message_to_bare(MessageType::Headline, &r), to(&[0, 2, 4]));
    }

    #[test]
    fn rfc6121_8_5_2_2_1_headline_without_a_non_negative_resource_is_dropped() {
        assert_eq!(
            message_to_bare(MessageType::Headline, &[Some(-5)]),
            BareDelivery::Drop
        );
        assert_eq!(
            message_to_bare(MessageType::Headline, &[]),
            BareDelivery::Drop
        );
    }

    #[test]
    fn rfc6121_8_5_2_groupchat_is_bounced_with_service_unavailable() {
        let bounce = BareDelivery::Bounce(StanzaCondition::ServiceUnavailable);
        for r in [&[Some(5)][..], &[Some(-1)], &[None], &[]] {
            assert_eq!(message_to_bare(MessageType::Groupchat, r), bounce, "{r:?}");
        }
    }

    #[test]
    fn rfc6121_8_5_2_error_is_dropped() {
        for r in [&[Some(5)][..], &[]] {
            assert_eq!(message_to_bare(MessageType::Error, r), BareDelivery::Drop);
        }
    }

    #[test]
    fn rfc6121_8_5_2_1_2_presence_goes_to_every_available_resource() {
        let r = [Some(-1), None, Some(0), Some(-128), Some(127)];
        assert_eq!(presence_to_bare(&r), [0, 2, 3, 4]);
        assert!(presence_to_bare(&[None, None]).is_empty());
        assert!(presence_to_bare(&[]).is_empty());
    }

    proptest! {
        /// RFC 6121 §8.5.2.1.1: the chosen indexes are exactly the available resources with
        /// the highest non-negative priority; Offline exactly when there is none.
        #[test]
        fn chat_and_normal_pick_exactly_the_top_non_negative(
            resources in proptest::collection::vec(proptest::option::of(any::<i8>()), 0..12),
            chat in any::<bool>(),
        ) {
            let ty = if chat { MessageType::Chat } else { MessageType::Normal };
            let top = resources.iter().flatten().copied().filter(|p| *p >= 0).max();
            let got = message_to_bare(ty, &resources);
            match top {
                None => prop_assert_eq!(got, BareDelivery::Offline),
                Some(top) => {
                    let want: Vec<usize> = (0..resources.len())
                        .filter(|&i| resources[i] == Some(top))
                        .collect();
                    prop_assert!(!want.is_empty());
                    prop_assert_eq!(got, BareDelivery::Resources(want));
                }
            }
        }

        /// RFC 6121 §8.5.2.1.1: headline reaches every non-negative available resource, and
        /// nothing else; presence (§8.5.2.1.2) every available one.
        #[test]
        fn headline_and_presence_sets(
            resources in proptest::collection::vec(proptest::option::of(any::<i8>()), 0..12),
        ) {
            let non_negative: Vec<usize> = (0..resources.len())
                .filter(|&i| resources[i].is_some_and(|p| p >= 0))
                .collect();
            let want = if non_negative.is_empty() {
                BareDelivery::Drop
            } else {
                BareDelivery::Resources(non_negative)
            };
            prop_assert_eq!(message_to_bare(MessageType::Headline, &resources), want);
            let available: Vec<usize> =
                (0..resources.len()).filter(|&i| resources[i].is_some()).collect();
            prop_assert_eq!(presence_to_bare(&resources), available);
        }
    }
}
