//! Message carbons (XEP-0280), wired: which sessions get copies of a message, decided by
//! `xmpp_core::im::carbons` and delivered here.

use xmpp_core::im::carbons::{self, Direction};
use xmpp_core::{FullJid, Stanza};

use crate::router::{Outbound, RegistryView};

/// Sends the copies a message owes: `<sent/>` to the sender's other resources that
/// enabled carbons, `<received/>` to the recipient's resources that enabled carbons and
/// did not get the message itself. `original` is the message as the sender sent it
/// (`from` stamped); `delivered` are the resources it went to. A message that went to
/// nobody (offline storage, an error) gets no `<received/>` copies.
pub(crate) fn send_carbons(
    view: &RegistryView<'_>,
    sender: &FullJid,
    original: &Stanza,
    delivered: &[FullJid],
) {
    let account = sender.to_bare();
    if carbons::is_eligible(original, Direction::Sent) {
        for (jid, handle) in view.carbon_copies(&account) {
            if jid != *sender && !delivered.contains(&jid) {
                let copy = carbons::sent_copy(original, &account, &jid);
                let _ = handle.try_send(Outbound::stanza(&copy));
            }
        }
    }
    let Some(recipient) = delivered.first().map(FullJid::to_bare) else {
        return;
    };
    if recipient == account || !carbons::is_eligible(original, Direction::Received) {
        return;
    }
    for (jid, handle) in view.carbon_copies(&recipient) {
        if !delivered.contains(&jid) {
            let copy = carbons::received_copy(original, &recipient, &jid);
            let _ = handle.try_send(Outbound::stanza(&copy));
        }
    }
}
