//! A realistic mixed stream for the benchmarks: what a busy c2s connection carries.

/// The stanzas, in `jabber:client` without their own `xmlns`, as they appear inside a stream.
pub(crate) const STANZAS: &[&str] = &[
    // A chat message with a body, chat state, receipt request, origin id.
    "<message to='juliet@capulet.example/balcony' from='romeo@montague.example/orchard' \
     type='chat' id='ktx72v49' xml:lang='en'><body>Art thou not Romeo, and a Montague? \
     Neither, fair saint, if either thee dislike.</body>\
     <active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/>\
     <origin-id xmlns='urn:xmpp:sid:0' id='de305d54-75b4-431b-adb2-eb6b9e546013'/></message>",
    // A chat state only.
    "<message to='juliet@capulet.example' type='chat' id='cs1'>\
     <composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
    // Presence with caps and a vCard avatar hash.
    "<presence id='p1'><show>away</show><status>Out for lunch 🍝</status><priority>5</priority>\
     <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://conversations.im' \
     ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/><x xmlns='vcard-temp:x:update'>\
     <photo>01b87fcd030b72895ff8e88db57ec525450f000d</photo></x></presence>",
    // An IQ ping and a roster get.
    "<iq type='get' id='ping-1' to='capulet.example'><ping xmlns='urn:xmpp:ping'/></iq>",
    "<iq type='get' id='roster-1'><query xmlns='jabber:iq:roster' ver='ver14'/></iq>",
    // A disco#info result with identities, features and a form.
    "<iq type='result' id='disco-1' from='capulet.example'><query \
     xmlns='http://jabber.org/protocol/disco#info'><identity category='server' type='im' \
     name='Chatrix'/><feature var='http://jabber.org/protocol/disco#info'/><feature \
     var='urn:xmpp:ping'/><feature var='urn:xmpp:mam:2'/><feature var='urn:xmpp:carbons:2'/>\
     <feature var='msgoffline'/><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' \
     type='hidden'><value>http://jabber.org/network/serverinfo</value></field><field \
     var='abuse-addresses'><value>xmpp:abuse@capulet.example</value></field></x></query></iq>",
    // A MAM result: forwarded message with delay and stanza id.
    "<message to='romeo@montague.example/orchard' id='mam-r1'><result xmlns='urn:xmpp:mam:2' \
     queryid='f27' id='28482-98726-73623'><forwarded xmlns='urn:xmpp:forward:0'><delay \
     xmlns='urn:xmpp:delay' stamp='2010-07-10T23:08:25Z'/><message xmlns='jabber:client' \
     from='witch@shakespeare.lit' to='macbeth@shakespeare.lit' type='chat' id='m-1'>\
     <body>Hail to thee &amp; all thy house</body><stanza-id xmlns='urn:xmpp:sid:0' \
     by='shakespeare.lit' id='28482-98726-73623'/></message></forwarded></result></message>",
    // An OMEMO message.
    "<message to='juliet@capulet.example' type='chat' id='omemo-1'><encrypted \
     xmlns='eu.siacs.conversations.axolotl'><header sid='27183'><key rid='31415'>\
     MwohBZ3VhYm8xY2FiMjU1NjY0YTk0MWQ3Zjk3MGY0ZGYxNDBjMTA2ZjcwZjEwODI2ZTQyNTkwYmE2\
     </key><key prekey='true' rid='12321'>MwohBZ3VhYm8xY2FiMjU1NjY0YTk0MWQ3Zjk3MGY0</key>\
     <iv>BvcbZQeyBP6ZUAGp</iv></header><payload>7LpUdbFhPWo8KVSWHQ==</payload></encrypted>\
     <store xmlns='urn:xmpp:hints'/><encryption xmlns='urn:xmpp:eme:0' \
     namespace='eu.siacs.conversations.axolotl'/><body>I sent you an OMEMO encrypted message \
     but your client doesn’t seem to support that.</body></message>",
];

/// A whole stream: header, then the stanzas repeated `rounds` times, with keep-alives.
pub(crate) fn stream(rounds: usize) -> (Vec<u8>, usize) {
    let mut out = String::from(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
         xmlns:stream='http://etherx.jabber.org/streams' to='capulet.example' version='1.0' \
         xml:lang='en'>",
    );
    for _ in 0..rounds {
        for s in STANZAS {
            out.push_str(s);
        }
        out.push(' ');
    }
    (out.into_bytes(), rounds * STANZAS.len())
}
