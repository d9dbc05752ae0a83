//! Parse arbitrary bytes as one element; whatever parses must serialise and re-parse to the
//! same tree, and serialising again must give the same bytes (the parser-differential check of
//! security.md §1.2 against ourselves).
#![no_main]

use libfuzzer_sys::fuzz_target;
use xmpp_core::Element;
use xmpp_core::xml::{Limits, parse_element};

fuzz_target!(|data: &[u8]| {
    let Ok(el) = parse_element(data, &Limits::default()) else {
        return;
    };
    let bytes = el.to_bytes();
    // Our output may be larger than the input (a prefix declared once on an ancestor is
    // declared again where it is used), so read it back under looser limits.
    let loose = Limits::default().for_own_output();
    let back = parse_element(&bytes, &loose).expect("what we write must parse");
    assert_eq!(back, el);
    assert_eq!(back.to_bytes(), bytes, "serialisation is canonical");
    let _: &Element = &back;
});
