//! Arbitrary UTF-8 as a JID. Checks: no panic; whatever is accepted is a fixed point (its
//! string form parses to the same JID with the same parts), every part is non-empty and at
//! most 1023 bytes, the typed views agree, and rebuilding from the parts gives the same JID.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xmpp_core::jid::{BareJid, FullJid, Jid};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let _ = BareJid::new(input);
    let _ = FullJid::new(input);
    let Ok(jid) = Jid::new(input) else {
        return;
    };

    let shown = jid.to_string();
    let again = Jid::new(&shown).expect("a JID's string form must parse");
    assert_eq!(again, jid, "normalisation is not idempotent");
    assert_eq!(again.as_str(), shown);
    assert_eq!(
        (again.localpart(), again.domain(), again.resource()),
        (jid.localpart(), jid.domain(), jid.resource())
    );

    let within = |part: &str| !part.is_empty() && part.len() <= 1023;
    assert!(jid.localpart().is_none_or(within));
    assert!(within(jid.domain()));
    assert!(jid.resource().is_none_or(within));

    let rebuilt = Jid::from_parts(jid.localpart(), jid.domain(), jid.resource());
    assert_eq!(
        rebuilt.as_ref(),
        Ok(&jid),
        "parts must rebuild the same JID"
    );

    let bare = jid.to_bare();
    assert_eq!(bare.as_str(), jid.bare_str());
    assert_eq!(BareJid::new(bare.as_str()).as_ref(), Ok(&bare));
    match jid.clone().try_into_full() {
        Ok(full) => {
            assert_eq!(FullJid::new(&shown).as_ref(), Ok(&full));
            assert_eq!(full.with_resource(full.resource()).as_ref(), Ok(&full));
        }
        Err(b) => assert_eq!(b, bare),
    }
});
