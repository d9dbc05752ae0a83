//! Client state indication (XEP-0352) from the outside: stanzas classify as they should
//! through bytes, and the hold queue keeps its promises over generated sequences of pushes and
//! state changes. (The nonzas and the stream feature are xmpp-stream's.)

use std::collections::HashSet;

use proptest::prelude::*;
use xmpp_core::im::csi::{CsiClass, CsiQueue, DEFAULT_MAX_HELD, Push, classify};
use xmpp_core::{Element, Jid, Stanza, ns};

fn stanza(s: &str) -> Stanza {
    let el: Element = s.parse().expect("test input is well-formed");
    Stanza::from_element(el).expect("valid stanza")
}

#[test]
fn namespace_agrees() {
    assert_eq!(ns::CSI, xmpp_parsers::ns::CSI);
}

/// A phone goes to sleep, its contacts chatter, then Juliet writes: Romeo's client gets the
/// latest presence of each contact, the chat states, and her message, in the order they came.
#[test]
fn a_sleeping_client_gets_the_latest_of_everything_when_a_message_comes() {
    let incoming = [
        "<presence xmlns='jabber:client' from='juliet@capulet.lit/balcony'><show>away</show></presence>",
        "<presence xmlns='jabber:client' from='nurse@capulet.lit/kitchen'/>",
        "<message xmlns='jabber:client' from='juliet@capulet.lit/balcony' type='chat'>\
         <composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
        "<presence xmlns='jabber:client' from='juliet@capulet.lit/balcony'/>",
        "<message xmlns='jabber:client' from='juliet@capulet.lit/balcony' type='chat'>\
         <body>Wherefore art thou?</body><active xmlns='http://jabber.org/protocol/chatstates'/>\
         </message>",
    ];
    let mut q = CsiQueue::new(DEFAULT_MAX_HELD);
    q.set_inactive();
    let mut sent: Vec<usize> = Vec::new();
    for (i, s) in incoming.iter().enumerate() {
        // What the server would do: classify once, queue the serialised bytes.
        let st = stanza(s);
        match q.push(classify(&st), (i, st.to_string())) {
            Push::Pass((i, _)) => sent.push(i),
            Push::Send(items) => sent.extend(items.into_iter().map(|(i, _)| i)),
            Push::Held => {}
        }
    }
    assert_eq!(sent, [1, 2, 3, 4], "the first 'away' was superseded");
    assert!(q.is_empty());
}

// --- the queue over generated sequences ---------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Urgent,
    Deferrable,
    Presence(usize),
    Active,
    Inactive,
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Urgent),
        3 => Just(Op::Deferrable),
        5 => (0..3usize).prop_map(Op::Presence),
        1 => Just(Op::Active),
        2 => Just(Op::Inactive),
        1 => Just(Op::Flush),
    ]
}

fn sender(n: usize) -> Jid {
    format!("contact{n}@example.net/r")
        .parse()
        .expect("valid JID")
}

/// What each pushed item was: `None` for urgent and deferrable, the sender for presence.
type Pushed = Vec<(bool, Option<usize>)>;

/// Runs the ops; returns what was pushed (urgent?, presence sender) and everything sent, in
/// order, the final flush included. Checks the per-step promises on the way.
fn run(ops: &[Op], max_held: usize) -> Result<(Pushed, Vec<usize>), TestCaseError> {
    let mut q = CsiQueue::new(max_held);
    let mut pushed: Pushed = Vec::new();
    let mut out: Vec<usize> = Vec::new();
    for op in ops {
        let class = match op {
            Op::Urgent => Some(CsiClass::Urgent),
            Op::Deferrable => Some(CsiClass::Deferrable),
            Op::Presence(n) => Some(CsiClass::Presence { from: sender(*n) }),
            Op::Active => {
                out.extend(q.set_active());
                None
            }
            Op::Inactive => {
                q.set_inactive();
                None
            }
            Op::Flush => {
                out.extend(q.flush());
                None
            }
        };
        if let Some(class) = class {
            let i = pushed.len();
            let urgent = class == CsiClass::Urgent;
            let presence = match op {
                Op::Presence(n) => Some(*n),
                _ => None,
            };
            pushed.push((urgent, presence));
            let active = q.is_active();
            match q.push(class, i) {
                Push::Pass(item) => {
                    prop_assert_eq!(item, i);
                    out.push(item);
                }
                Push::Send(items) => {
                    prop_assert!(items.len() >= 2, "Send carries held items");
                    prop_assert_eq!(items.last().copied(), Some(i), "the item comes last");
                    out.extend(items);
                }
                Push::Held => {
                    prop_assert!(!urgent, "an urgent item is never held");
                    prop_assert!(!active, "an active client gets everything at once");
                }
            }
        }
        prop_assert!(q.len() <= max_held);
        // At most one presence per sender held, seen through a copy of the queue.
        let mut copy = q.clone();
        let held = copy.flush();
        let mut senders = HashSet::new();
        for i in held {
            if let Some(n) = pushed[i].1 {
                prop_assert!(senders.insert(n), "two presences from contact{} held", n);
            }
        }
        if q.is_active() {
            prop_assert!(q.is_empty());
        }
    }
    out.extend(q.flush());
    Ok((pushed, out))
}

proptest! {
    #[test]
    fn queue_keeps_its_promises(
        ops in proptest::collection::vec(op(), 0..60),
        max_held in 0..8usize,
    ) {
        let (pushed, out) = run(&ops, max_held)?;
        // Order: everything leaves in arrival order, each item at most once.
        prop_assert!(out.windows(2).all(|w| w[0] < w[1]), "{:?}", out);
        let sent: HashSet<usize> = out.iter().copied().collect();
        for (i, (_, presence)) in pushed.iter().enumerate() {
            match presence {
                // Urgent and deferrable items are never lost.
                None => prop_assert!(sent.contains(&i), "item {} lost", i),
                // A presence is dropped only for a newer one from the same sender, and the
                // newest from each sender always arrives.
                Some(n) => {
                    let newer = pushed[i + 1..].iter().any(|(_, p)| *p == Some(*n));
                    if !newer {
                        prop_assert!(sent.contains(&i), "last presence of contact{} lost", n);
                    }
                    if !sent.contains(&i) {
                        prop_assert!(newer);
                    }
                }
            }
        }
    }
}
