//! The same bytes split at any points give the same events (security.md §1.2, the Openfire
//! OF-2814 class: multi-byte characters split across reads).

mod common;

use common::{HEADER, frame_chunks};
use proptest::prelude::*;
use xmpp_stream::Limits;

fn corpus() -> String {
    format!(
        "{HEADER}\
         <message to='juliet@example.org/balcony' id='m1' type='chat' xml:lang='fr'>\
           <body>Wherefore art thou? &lt;3 ✓ 😀 «guillemets»</body>\
           <active xmlns='http://jabber.org/protocol/chatstates'/>\
           <request xmlns='urn:xmpp:receipts'/></message>\n \
         <presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' \
           node='https://conversations.im' ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/>\
           <x xmlns='vcard-temp:x:update'><photo/></x></presence>\
         <iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>\t\
         <message><body><![CDATA[<not-a-tag/> & ]]>après</body>\
           <x xmlns:a='urn:a' a:attr='v&apos;&#x9;'/></message>\
         </stream:stream>"
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn chunking_does_not_change_events(cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..40)) {
        let input = corpus();
        let bytes = input.as_bytes();
        let (whole, err) = frame_chunks(Limits::default(), [bytes]);
        prop_assert_eq!(err, None);

        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len())).collect();
        points.sort_unstable();
        points.dedup();
        let mut chunks = Vec::new();
        let mut start = 0;
        for p in points {
            chunks.push(&bytes[start..p]);
            start = p;
        }
        chunks.push(&bytes[start..]);
        let (split, err) = frame_chunks(Limits::default(), chunks);
        prop_assert_eq!(err, None);
        // Keep-alive whitespace may arrive as several events when it is split; stanzas and
        // everything else must be identical.
        let squash = |evs: Vec<xmpp_stream::FrameEvent>| {
            let mut out: Vec<xmpp_stream::FrameEvent> = Vec::new();
            for e in evs {
                if e == xmpp_stream::FrameEvent::Whitespace && out.last() == Some(&e) {
                    continue;
                }
                out.push(e);
            }
            out
        };
        prop_assert_eq!(squash(split), squash(whole));
    }
}

#[test]
fn one_byte_at_a_time_gives_the_same_events() {
    let input = corpus();
    let (whole, _) = frame_chunks(Limits::default(), [input.as_bytes()]);
    let (bytewise, err) = frame_chunks(Limits::default(), input.as_bytes().chunks(1));
    assert_eq!(err, None);
    let stanzas = |evs: &[xmpp_stream::FrameEvent]| {
        evs.iter()
            .filter(|e| **e != xmpp_stream::FrameEvent::Whitespace)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(stanzas(&bytewise), stanzas(&whole));
    assert_eq!(stanzas(&whole).len(), 6);
}
