//! Differential test: real stanzas (`tests/corpus/*.xml`) read by our reader and by
//! minidom, and our envelope checked against xmpp-parsers' typed stanzas.
//!
//! Three questions per stanza:
//! 1. Do two independent XML readers build the same tree (names, namespaces, attributes
//!    including `xml:lang`, child order, text)?
//! 2. Does what we write parse, in the other reader, to the same tree as the original
//!    (security.md §1.2: the server re-serialises every stanza, so a reader that sees
//!    something else in our output than we meant is how stanza smuggling starts)? Both as a
//!    standalone element and as a stanza inside a `jabber:client` stream.
//! 3. Does our `Stanza` read the same envelope (kind, type, id, from, to, bodies, subjects,
//!    iq payload, error condition) as xmpp-parsers?

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use bytes::{BufMut, BytesMut};
use xmpp_core::{
    Element, IqType, MessageType, Node, PresenceType, Stanza, StanzaKind, StanzaType, ns,
};
use xmpp_parsers::minidom;
use xmpp_parsers::{iq::Iq, message, presence};

fn corpus() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&p).expect("readable UTF-8 file");
            (name, text.trim_end().to_owned())
        })
        .collect()
}

// --- tree comparison ----------------------------------------------------------------------------

type Attrs = BTreeSet<(String, String, String)>;

fn our_attrs(el: &Element) -> Attrs {
    el.attrs()
        .map(|(ns, name, value)| (ns.to_owned(), name.to_owned(), value.to_owned()))
        .collect()
}

fn their_attrs(el: &minidom::Element) -> Attrs {
    // minidom keeps namespaced attributes (xml:lang among them) under their namespace, as
    // we do; declarations are not attributes in either.
    el.attrs()
        .iter()
        .map(|((ns, name), value)| (ns.to_string(), name.to_string(), value.clone()))
        .collect()
}

/// Compares two trees, describing the first difference with its path.
fn compare(ours: &Element, theirs: &minidom::Element, path: &str) -> Result<(), String> {
    let here = format!("{path}/{}", ours.name());
    if ours.name() != theirs.name() || ours.ns() != theirs.ns() {
        return Err(format!(
            "{here}: name {{{}}}{} vs {{{}}}{}",
            ours.ns(),
            ours.name(),
            theirs.ns(),
            theirs.name()
        ));
    }
    let (a, b) = (our_attrs(ours), their_attrs(theirs));
    if a != b {
        return Err(format!("{here}: attributes {a:?} vs {b:?}"));
    }
    let theirs_nodes: Vec<&minidom::Node> = theirs.nodes().collect();
    if ours.nodes().len() != theirs_nodes.len() {
        return Err(format!(
            "{here}: {} nodes vs {}",
            ours.nodes().len(),
            theirs_nodes.len()
        ));
    }
    for (i, (o, t)) in ours.nodes().iter().zip(theirs_nodes).enumerate() {
        match (o, t) {
            (Node::Element(o), minidom::Node::Element(t)) => {
                compare(o, t, &format!("{here}[{i}]"))?;
            }
            (Node::Text(o), minidom::Node::Text(t)) if o == t => {}
            _ => return Err(format!("{here}[{i}]: node {o:?} vs {t:?}")),
        }
    }
    Ok(())
}

// --- envelope comparison ------------------------------------------------------------------------

fn jid_str(j: Option<&xmpp_core::jid::Jid>) -> Option<String> {
    j.map(|j| j.as_str().to_owned())
}

fn their_jid(j: Option<&xmpp_parsers::jid::Jid>) -> Option<String> {
    j.map(ToString::to_string)
}

/// `<body/>`, `<subject/>` or `<status/>` children by language, as xmpp-parsers keys them:
/// `xml:lang` is inherited (XML 1.0 §2.12), so a child without one is in the stanza's
/// language, and "" only when neither says.
fn by_lang(stanza: &Stanza, name: &str) -> BTreeMap<String, String> {
    stanza
        .payloads()
        .filter(|c| c.is(name, stanza.ns().as_str()))
        .map(|c| {
            let lang = c.lang().or(stanza.lang()).unwrap_or_default();
            (lang.to_owned(), c.text())
        })
        .collect()
}

fn their_by_lang(map: &BTreeMap<message::Lang, String>) -> BTreeMap<String, String> {
    map.iter().map(|(l, t)| (l.0.clone(), t.clone())).collect()
}

/// `Err` describing the field when our reading and xmpp-parsers' differ.
macro_rules! expect_eq {
    ($field:expr, $ours:expr, $theirs:expr $(,)?) => {{
        let (ours, theirs) = ($ours, $theirs);
        if ours == theirs {
            Ok(())
        } else {
            Err(format!(
                "{}: ours {ours:?}, xmpp-parsers {theirs:?}",
                $field
            ))
        }
    }};
}

fn their_message_type(t: &message::MessageType) -> MessageType {
    match t {
        message::MessageType::Chat => MessageType::Chat,
        message::MessageType::Error => MessageType::Error,
        message::MessageType::Groupchat => MessageType::Groupchat,
        message::MessageType::Headline => MessageType::Headline,
        message::MessageType::Normal => MessageType::Normal,
    }
}

fn their_presence_type(t: &presence::Type) -> PresenceType {
    match t {
        presence::Type::None => PresenceType::Available,
        presence::Type::Error => PresenceType::Error,
        presence::Type::Probe => PresenceType::Probe,
        presence::Type::Subscribe => PresenceType::Subscribe,
        presence::Type::Subscribed => PresenceType::Subscribed,
        presence::Type::Unavailable => PresenceType::Unavailable,
        presence::Type::Unsubscribe => PresenceType::Unsubscribe,
        presence::Type::Unsubscribed => PresenceType::Unsubscribed,
    }
}

/// The defined condition of our stanza's `<error/>`, and of xmpp-parsers' reading of it.
fn compare_error(
    stanza: &Stanza,
    theirs: Option<&xmpp_parsers::stanza_error::StanzaError>,
) -> Result<(), String> {
    let ours = stanza
        .error()
        .map(|r| r.map_err(|e| format!("our error parse: {e}")))
        .transpose()?;
    let ours = ours.map(|e| {
        (
            e.condition.as_str().to_owned(),
            e.error_type.as_str().to_owned(),
            e.texts.len(),
        )
    });
    let theirs = theirs.map(|e| {
        let el = minidom::Element::from(e.clone());
        let cond = minidom::Element::from(e.defined_condition.clone());
        (
            cond.name().to_owned(),
            el.attr("type").unwrap_or_default().to_owned(),
            e.texts.len(),
        )
    });
    expect_eq!("error", ours, theirs)
}

fn compare_envelope(stanza: &Stanza, theirs: &minidom::Element) -> Result<(), String> {
    match stanza.kind() {
        StanzaKind::Message => {
            let m = message::Message::try_from(theirs.clone())
                .map_err(|e| format!("xmpp-parsers rejects the message: {e:?}"))?;
            expect_eq!(
                "type",
                stanza.stanza_type(),
                StanzaType::Message(their_message_type(&m.type_)),
            )?;
            expect_eq!(
                "id",
                stanza.id().map(str::to_owned),
                m.id.as_ref().map(|i| i.0.clone()),
            )?;
            expect_eq!("from", jid_str(stanza.from()), their_jid(m.from.as_ref()))?;
            expect_eq!("to", jid_str(stanza.to()), their_jid(m.to.as_ref()))?;
            expect_eq!("bodies", by_lang(stanza, "body"), their_by_lang(&m.bodies))?;
            expect_eq!(
                "subjects",
                by_lang(stanza, "subject"),
                their_by_lang(&m.subjects),
            )?;
            let their_error = m
                .payloads
                .iter()
                .find(|p| p.is("error", ns::JABBER_CLIENT))
                .map(|p| xmpp_parsers::stanza_error::StanzaError::try_from(p.clone()))
                .transpose()
                .map_err(|e| format!("xmpp-parsers rejects the error: {e:?}"))?;
            compare_error(stanza, their_error.as_ref())
        }
        StanzaKind::Presence => {
            let p = presence::Presence::try_from(theirs.clone())
                .map_err(|e| format!("xmpp-parsers rejects the presence: {e:?}"))?;
            expect_eq!(
                "type",
                stanza.stanza_type(),
                StanzaType::Presence(their_presence_type(&p.type_)),
            )?;
            expect_eq!("id", stanza.id().map(str::to_owned), p.id.clone())?;
            expect_eq!("from", jid_str(stanza.from()), their_jid(p.from.as_ref()))?;
            expect_eq!("to", jid_str(stanza.to()), their_jid(p.to.as_ref()))?;
            expect_eq!(
                "statuses",
                by_lang(stanza, "status"),
                their_by_lang(&p.statuses),
            )?;
            let their_error = p
                .payloads
                .iter()
                .find(|x| x.is("error", ns::JABBER_CLIENT))
                .map(|x| xmpp_parsers::stanza_error::StanzaError::try_from(x.clone()))
                .transpose()
                .map_err(|e| format!("xmpp-parsers rejects the error: {e:?}"))?;
            compare_error(stanza, their_error.as_ref())
        }
        StanzaKind::Iq => {
            let iq = Iq::try_from(theirs.clone())
                .map_err(|e| format!("xmpp-parsers rejects the iq: {e:?}"))?;
            expect_eq!("id", stanza.id(), Some(iq.id()))?;
            expect_eq!("from", jid_str(stanza.from()), their_jid(iq.from()))?;
            expect_eq!("to", jid_str(stanza.to()), their_jid(iq.to()))?;
            let ours_payload = stanza
                .iq_payload()
                .map(|p| (p.name().to_owned(), p.ns().to_owned()));
            let (their_type, their_payload, their_error) = match &iq {
                Iq::Get { payload, .. } => (IqType::Get, Some(payload), None),
                Iq::Set { payload, .. } => (IqType::Set, Some(payload), None),
                Iq::Result { payload, .. } => (IqType::Result, payload.as_ref(), None),
                Iq::Error { payload, error, .. } => (IqType::Error, payload.as_ref(), Some(error)),
            };
            expect_eq!("type", stanza.stanza_type(), StanzaType::Iq(their_type))?;
            expect_eq!(
                "payload",
                ours_payload,
                their_payload.map(|p| (p.name().to_owned(), p.ns())),
            )?;
            compare_error(stanza, their_error)
        }
    }
}

// --- the test -----------------------------------------------------------------------------------

/// Writes `el` as a stanza inside a `jabber:client` stream (no `xmlns` of its own), the way
/// a stream writer does, wrapped so that minidom can read it.
fn in_stream(el: &Element) -> String {
    let mut out = BytesMut::new();
    out.put_slice(b"<stream xmlns='jabber:client'>");
    el.write_in(&mut out, ns::JABBER_CLIENT);
    out.put_slice(b"</stream>");
    String::from_utf8(out.to_vec()).expect("we write UTF-8")
}

fn run_one(text: &str) -> Result<StanzaKind, String> {
    let ours: Element = text.parse().map_err(|e| format!("our reader: {e}"))?;
    let theirs: minidom::Element = text.parse().map_err(|e| format!("minidom: {e}"))?;
    compare(&ours, &theirs, "").map_err(|e| format!("trees differ: {e}"))?;

    // What we write, read by minidom and by us.
    let written = ours.to_string();
    let reread: minidom::Element = written
        .parse()
        .map_err(|e| format!("minidom rejects our output {written}: {e}"))?;
    compare(&ours, &reread, "")
        .map_err(|e| format!("minidom reads our output differently: {e}\n{written}"))?;
    if reread != theirs {
        return Err(format!(
            "minidom: our output is not the original\n{written}"
        ));
    }
    let ours_again: Element = written
        .parse()
        .map_err(|e| format!("our reader on our output: {e}"))?;
    if ours_again != ours {
        return Err(format!(
            "our reader: our output is not the original\n{written}"
        ));
    }
    let streamed = in_stream(&ours);
    let wrapper: minidom::Element = streamed
        .parse()
        .map_err(|e| format!("minidom rejects our stream output {streamed}: {e}"))?;
    let child = wrapper.children().next().ok_or("no stanza in the stream")?;
    compare(&ours, child, "")
        .map_err(|e| format!("in a stream, minidom reads: {e}\n{streamed}"))?;

    // The envelope.
    let stanza =
        Stanza::from_element(ours.clone()).map_err(|e| format!("our stanza check: {e}"))?;
    compare_envelope(&stanza, &theirs)?;
    if stanza.element() != &ours {
        return Err("the stanza changed already-normalised addresses".into());
    }
    Ok(stanza.kind())
}

#[test]
fn corpus_agrees_with_minidom_and_xmpp_parsers() {
    let corpus = corpus();
    assert!(
        corpus.len() >= 30,
        "the corpus has only {} stanzas",
        corpus.len()
    );
    let mut failures = String::new();
    let mut kinds = BTreeMap::new();
    for (name, text) in &corpus {
        match run_one(text) {
            Ok(kind) => *kinds.entry(kind.as_str()).or_insert(0) += 1,
            Err(e) => {
                let _ = writeln!(failures, "{name}: {e}");
            }
        }
    }
    assert!(failures.is_empty(), "differences:\n{failures}");
    for kind in ["message", "presence", "iq"] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) >= 5,
            "too few {kind} stanzas: {kinds:?}"
        );
    }
}

/// The comparison itself must be able to fail: a tree that differs in one attribute, one
/// text or one child is reported.
#[test]
fn the_comparison_sees_differences() {
    let theirs: minidom::Element =
        "<message xmlns='jabber:client' xml:lang='en'><body>a</body></message>"
            .parse()
            .expect("well-formed");
    for ours in [
        "<message xmlns='jabber:client' xml:lang='de'><body>a</body></message>",
        "<message xmlns='jabber:client' lang='en'><body>a</body></message>",
        "<message xmlns='jabber:client' xml:lang='en'><body>b</body></message>",
        "<message xmlns='jabber:client' xml:lang='en'><body xmlns='x'>a</body></message>",
        "<message xmlns='jabber:client' xml:lang='en'><body>a</body><body>a</body></message>",
        "<message xmlns='jabber:server' xml:lang='en'><body>a</body></message>",
    ] {
        let ours: Element = ours.parse().expect("well-formed");
        assert!(compare(&ours, &theirs, "").is_err(), "{ours}");
    }
    let same: Element = "<message xmlns='jabber:client' xml:lang='en'><body>a</body></message>"
        .parse()
        .expect("well-formed");
    assert_eq!(compare(&same, &theirs, ""), Ok(()));
}
