//! Serialisation of elements into bytes.
//!
//! The server writes every stanza it forwards from the tree, with this escaper (security.md
//! §1.2: a parser differential between us and a client must not let text become markup). So the
//! output must be well-formed and must re-parse to the same tree in any conforming parser:
//! attribute values escape tab, newline and carriage return (parsers normalise them otherwise),
//! text escapes `>` (so `]]>` never appears raw) and `\r`, and characters XML 1.0 forbids (which
//! only code, never the parser, can put in a tree) become U+FFFD rather than invalid output.

use core::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::{Element, Namespace, Node, XML_NS};

const TEXT: u8 = 1;
const ATTR: u8 = 2;

/// For each byte: in which contexts it needs attention. Built at compile time so the scan is a
/// table lookup per byte.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = TEXT | ATTR;
        b += 1;
    }
    t[b'\n' as usize] = ATTR;
    t[b'\t' as usize] = ATTR;
    t[b'&' as usize] = TEXT | ATTR;
    t[b'<' as usize] = TEXT | ATTR;
    t[b'>' as usize] = TEXT | ATTR;
    t[b'\'' as usize] = ATTR;
    // First byte of U+FFFE / U+FFFF (EF BF BE / EF BF BF), which XML forbids.
    t[0xEF] = TEXT | ATTR;
    t
};

fn escape_into(out: &mut BytesMut, s: &str, ctx: u8) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if CLASS[b as usize] & ctx == 0 {
            i += 1;
            continue;
        }
        let (replacement, len): (&[u8], usize) = match b {
            b'&' => (b"&amp;", 1),
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            b'\'' => (b"&apos;", 1),
            b'\n' => (b"&#xA;", 1),
            b'\t' => (b"&#x9;", 1),
            b'\r' => (b"&#xD;", 1),
            0xEF => {
                if let Some([0xBF, 0xBE | 0xBF]) = bytes.get(i + 1..i + 3) {
                    ("\u{FFFD}".as_bytes(), 3)
                } else {
                    i += 1;
                    continue;
                }
            }
            // Every other flagged byte is a C0 control character.
            _ => ("\u{FFFD}".as_bytes(), 1),
        };
        out.put_slice(&bytes[start..i]);
        out.put_slice(replacement);
        i += len;
        start = i;
    }
    out.put_slice(&bytes[start..]);
}

/// Writes `s` escaped for use as character data.
pub fn write_escaped_text(out: &mut BytesMut, s: &str) {
    escape_into(out, s, TEXT);
}

/// Writes `s` escaped for use inside a single-quoted attribute value.
pub fn write_escaped_attr(out: &mut BytesMut, s: &str) {
    escape_into(out, s, ATTR);
}

fn put_attr(out: &mut BytesMut, prefix: Option<&str>, name: &str, value: &str) {
    out.put_u8(b' ');
    if let Some(p) = prefix {
        out.put_slice(p.as_bytes());
        out.put_u8(b':');
    }
    out.put_slice(name.as_bytes());
    out.put_slice(b"='");
    write_escaped_attr(out, value);
    out.put_u8(b'\'');
}

/// Prefixes for namespaced attributes other than `xml:`. Elements with such attributes are rare
/// (XEP-0131 headers, some publish-subscribe payloads), so the prefixes are declared on the element that
/// uses them rather than tracked across the tree.
const ATTR_PREFIXES: [&str; 8] = ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"];

impl Element {
    /// Serialises this element on its own: it declares its namespace.
    pub fn write_to(&self, out: &mut BytesMut) {
        self.write_in(out, "");
    }

    /// Serialises this element as a child of an element whose default namespace is `parent_ns`,
    /// declaring its own namespace only when it differs. A stanza written into a stream whose
    /// default namespace is `jabber:client` passes that, and carries no `xmlns` of its own.
    pub fn write_in(&self, out: &mut BytesMut, parent_ns: &str) {
        if self.ns() == XML_NS {
            // `<xml:foo/>` is namespace-well-formed, but the XML namespace may never be declared
            // as a default (found by the element_roundtrip fuzz target): use its fixed prefix.
            self.write_prefixed(out, "xml", false, parent_ns);
            return;
        }
        out.put_u8(b'<');
        out.put_slice(self.name().as_bytes());
        if self.ns() != parent_ns {
            put_attr(out, None, "xmlns", self.ns());
        }
        self.write_attrs(out);
        self.write_content(out, None, self.ns());
    }

    /// Serialises this element with `prefix:` on its name, declaring the prefix when `declare`
    /// is set, while its children see `default_ns` as the default namespace.
    ///
    /// This is how stream-level elements are written: `<stream:features>` inside a stream whose
    /// default namespace is `jabber:client`, so that clients which look for the conventional
    /// prefix find it.
    pub fn write_prefixed(
        &self,
        out: &mut BytesMut,
        prefix: &str,
        declare: bool,
        default_ns: &str,
    ) {
        out.put_u8(b'<');
        out.put_slice(prefix.as_bytes());
        out.put_u8(b':');
        out.put_slice(self.name().as_bytes());
        if declare {
            put_attr(out, Some("xmlns"), prefix, self.ns());
        }
        self.write_attrs(out);
        self.write_content(out, Some(prefix), default_ns);
    }

    /// Everything after the attributes: the children and the end tag (or `/>`).
    fn write_content(&self, out: &mut BytesMut, prefix: Option<&str>, children_ns: &str) {
        if self.nodes.is_empty() {
            out.put_slice(b"/>");
            return;
        }
        out.put_u8(b'>');
        for node in &self.nodes {
            match node {
                Node::Element(child) => child.write_in(out, children_ns),
                Node::Text(t) => write_escaped_text(out, t),
            }
        }
        out.put_slice(b"</");
        if let Some(p) = prefix {
            out.put_slice(p.as_bytes());
            out.put_u8(b':');
        }
        out.put_slice(self.name().as_bytes());
        out.put_u8(b'>');
    }

    fn write_attrs(&self, out: &mut BytesMut) {
        // Namespaces needing a prefix, in first-seen order; at most a handful.
        let mut declared: Vec<&Namespace<'static>> = Vec::new();
        for super::Attribute { ns, name, value } in &self.attrs {
            let prefix = if ns.is_none() {
                None
            } else if ns.as_str() == XML_NS {
                Some("xml")
            } else if ns.as_str() == rxml::XMLNS_XMLNS {
                // Declarations are made by the writer, never copied from the tree.
                continue;
            } else {
                let idx = if let Some(i) = declared.iter().position(|d| *d == ns) {
                    i
                } else {
                    declared.push(ns);
                    let i = declared.len() - 1;
                    put_attr(out, Some("xmlns"), &prefix_for(i), ns.as_str());
                    i
                };
                let p = prefix_for(idx);
                out.put_u8(b' ');
                out.put_slice(p.as_bytes());
                out.put_u8(b':');
                out.put_slice(name.as_bytes());
                out.put_slice(b"='");
                write_escaped_attr(out, value);
                out.put_u8(b'\'');
                continue;
            };
            put_attr(out, prefix, name.as_str(), value);
        }
    }

    /// The serialised element as bytes.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(256);
        self.write_to(&mut out);
        out.freeze()
    }
}

fn prefix_for(idx: usize) -> String {
    ATTR_PREFIXES
        .get(idx)
        .map_or_else(|| format!("a{idx}"), |p| (*p).to_owned())
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes();
        // The writer only emits UTF-8: names, escaped strings and ASCII punctuation.
        f.write_str(&String::from_utf8_lossy(&bytes))
    }
}
