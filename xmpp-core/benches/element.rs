//! Element serialisation and parsing of single stanzas.
//!
//! `cargo bench -p xmpp-core --bench element`

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use xmpp_core::Element;

const MESSAGE: &str = "<message xmlns='jabber:client' to='juliet@capulet.example/balcony' \
    from='romeo@montague.example/orchard' type='chat' id='ktx72v49' xml:lang='en'>\
    <body>Art thou not Romeo, and a Montague? Neither, fair saint, if either thee dislike.</body>\
    <active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/>\
    <origin-id xmlns='urn:xmpp:sid:0' id='de305d54-75b4-431b-adb2-eb6b9e546013'/></message>";

const MAM_RESULT: &str = "<message xmlns='jabber:client' to='romeo@montague.example/orchard' \
    id='mam-r1'><result xmlns='urn:xmpp:mam:2' queryid='f27' id='28482-98726-73623'><forwarded \
    xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2010-07-10T23:08:25Z'/>\
    <message from='witch@shakespeare.lit' to='macbeth@shakespeare.lit' type='chat' id='m-1'>\
    <body>Hail to thee &amp; all thy house &lt;3</body><stanza-id xmlns='urn:xmpp:sid:0' \
    by='shakespeare.lit' id='28482-98726-73623'/></message></forwarded></result></message>";

fn bench(c: &mut Criterion) {
    for (name, xml) in [("message", MESSAGE), ("mam-result", MAM_RESULT)] {
        let el: Element = xml.parse().expect("valid");
        let len = el.to_bytes().len();
        let mut g = c.benchmark_group(format!("element-{name}"));
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function("serialise", |b| {
            let mut out = BytesMut::with_capacity(4096);
            b.iter(|| {
                out.clear();
                black_box(&el).write_in(&mut out, "jabber:client");
                black_box(out.len())
            });
        });
        g.bench_function("parse", |b| b.iter(|| black_box(xml).parse::<Element>()));
        g.bench_function("clone", |b| b.iter(|| black_box(&el).clone()));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
