//! rxml's raw tokenizer, our namespace resolution, and limits checked on every raw event.
//!
//! rxml's own namespace-resolving `Parser` hands out an element only after its whole start tag
//! has been read, so a start tag with a million attributes would be buffered before anyone could
//! count them. Driving the raw parser and resolving prefixes here lets every limit fire on the
//! event that crosses it, with memory bounded by the limits themselves.

use rxml::error::EndOrError;
use rxml::parser::{Options, RawEvent, RawParser, RawQName};
use rxml::{Namespace, NcName, Parse, WithOptions};

use super::limits::{Limit, Limits};
use crate::element::Attribute;
use crate::ns;

/// One event of a namespace-resolved document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum XmlEvent {
    /// The XML declaration (`<?xml version='1.0'?>`).
    Declaration,
    /// A start tag, with its namespace resolved and declarations removed from the attributes.
    Start {
        /// The element's namespace.
        ns: Namespace<'static>,
        /// The element's local name.
        name: NcName,
        /// The attributes, unique by namespace and name.
        attrs: Vec<Attribute>,
    },
    /// Character data (one text run may arrive as several events).
    Text(String),
    /// An end tag (also emitted for `/>`).
    End,
}

/// Why a document was refused. Once returned, a reader returns the same error forever.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// Not well-formed or not namespace-well-formed XML (RFC 6120 `not-well-formed`).
    #[error("not well-formed: {0}")]
    NotWellFormed(rxml::Error),
    /// A construct RFC 6120 §11.1 forbids: DTD, entity, processing instruction or comment
    /// (`restricted-xml`).
    #[error("restricted XML: {0}")]
    Restricted(rxml::Error),
    /// An encoding other than UTF-8 was declared (`unsupported-encoding`).
    #[error("unsupported encoding")]
    UnsupportedEncoding,
    /// A configured limit was exceeded (`policy-violation`).
    #[error("limit exceeded: {0}")]
    Limit(Limit),
    /// A complete document held no element.
    #[error("no element")]
    NoElement,
}

impl XmlError {
    fn from_rxml(e: rxml::Error) -> Self {
        use rxml::Error as E;
        match e {
            E::RestrictedXml("long name or reference") => XmlError::Limit(Limit::TokenLength),
            E::RestrictedXml(msg) if msg.contains("encoding") => XmlError::UnsupportedEncoding,
            // `<!` that opens neither CDATA nor a comment is a markup declaration: a DTD.
            E::RestrictedXml(_)
            | E::UndeclaredEntity
            | E::InvalidSyntax("malformed cdata or comment section start") => {
                XmlError::Restricted(e)
            }
            other => XmlError::NotWellFormed(other),
        }
    }
}

/// One open element's namespace scope.
#[derive(Debug)]
struct Scope {
    default_ns: Namespace<'static>,
    /// How many entries of `XmlReader::prefixes` this element declared.
    declared: usize,
}

/// A start tag being read: kept raw until `>` so declarations after the name apply to it.
#[derive(Debug)]
struct PendingHead {
    prefix: Option<NcName>,
    name: NcName,
    attrs: Vec<(Option<NcName>, NcName, String)>,
    default_decl: Option<String>,
    prefix_decls: Vec<(NcName, String)>,
}

/// An incremental, sans-IO XML reader: feed it bytes, get namespace-resolved events.
///
/// `base_depth` says where the limited "top-level elements" sit: 0 for a document (the root is
/// one), 1 for an XMPP stream (each stanza, a child of `<stream:stream>`, is one). The stream
/// header itself is also held to the byte, attribute and declaration limits.
#[derive(Debug)]
pub struct XmlReader {
    raw: RawParser,
    limits: Limits,
    base_depth: usize,
    depth: usize,
    element_bytes: usize,
    head: Option<PendingHead>,
    scopes: Vec<Scope>,
    prefixes: Vec<(NcName, Namespace<'static>)>,
    error: Option<XmlError>,
}

impl XmlReader {
    /// A reader at the start of a document or stream.
    pub fn new(limits: &Limits, base_depth: usize) -> Self {
        let options = Options {
            max_token_length: limits.max_token_length,
            ..Options::default()
        };
        let mut raw = RawParser::with_options(options);
        // Between top-level elements, text must surface at once: a whitespace keep-alive has
        // to be seen when it arrives, not when the next stanza does.
        raw.set_text_buffering(base_depth > 0);
        Self {
            raw,
            limits: *limits,
            base_depth,
            depth: 0,
            element_bytes: 0,
            head: None,
            scopes: Vec::new(),
            prefixes: Vec::new(),
            error: None,
        }
    }

    /// How many elements are open.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The default namespace in scope inside the innermost open element: for a stream, after
    /// its header, the content namespace (`jabber:client`, `jabber:server`, ...).
    pub fn default_ns(&self) -> Namespace<'static> {
        self.scopes
            .last()
            .map_or(Namespace::NONE, |s| s.default_ns.clone())
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Releases scratch buffers; for connections that will be idle for a while.
    pub fn release_temporaries(&mut self) {
        self.raw.release_temporaries();
    }

    /// Reads the next event from `buf`, advancing it past the bytes consumed.
    ///
    /// `Ok(None)` means `buf` is used up and more input is needed (or, with `at_eof`, that the
    /// document ended cleanly). Bytes of an incomplete token are kept inside the reader, so the
    /// caller never has to keep a tail of its buffer.
    pub fn read(&mut self, buf: &mut &[u8], at_eof: bool) -> Result<Option<XmlEvent>, XmlError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.read_inner(buf, at_eof) {
            Ok(ev) => Ok(ev),
            Err(e) => {
                self.error = Some(e);
                Err(e)
            }
        }
    }

    fn read_inner(&mut self, buf: &mut &[u8], at_eof: bool) -> Result<Option<XmlEvent>, XmlError> {
        loop {
            let raw = match self.raw.parse(buf, at_eof) {
                Ok(Some(raw)) => raw,
                Ok(None) | Err(EndOrError::NeedMoreData) => return Ok(None),
                Err(EndOrError::Error(e)) => return Err(XmlError::from_rxml(e)),
            };
            if let Some(event) = self.handle_raw(raw)? {
                return Ok(Some(event));
            }
        }
    }

    fn count_bytes(&mut self, len: usize) -> Result<(), XmlError> {
        self.element_bytes = self.element_bytes.saturating_add(len);
        if self.element_bytes > self.limits.max_element_bytes {
            return Err(XmlError::Limit(Limit::ElementBytes));
        }
        Ok(())
    }

    fn handle_raw(&mut self, raw: RawEvent) -> Result<Option<XmlEvent>, XmlError> {
        match raw {
            RawEvent::XmlDeclaration(..) => Ok(Some(XmlEvent::Declaration)),
            RawEvent::ElementHeadOpen(m, (prefix, name)) => {
                if self.depth <= self.base_depth {
                    // A new top-level element (or the stream header) starts its own budget.
                    self.element_bytes = 0;
                }
                self.count_bytes(m.len())?;
                self.depth += 1;
                self.raw.set_text_buffering(self.depth > self.base_depth);
                if self.depth > self.base_depth + self.limits.max_depth {
                    return Err(XmlError::Limit(Limit::Depth));
                }
                self.head = Some(PendingHead {
                    prefix,
                    name,
                    attrs: Vec::new(),
                    default_decl: None,
                    prefix_decls: Vec::new(),
                });
                Ok(None)
            }
            RawEvent::Attribute(m, qname, value) => {
                self.count_bytes(m.len())?;
                self.handle_attribute(qname, value)?;
                Ok(None)
            }
            RawEvent::ElementHeadClose(m) => {
                self.count_bytes(m.len())?;
                self.close_head().map(Some)
            }
            RawEvent::Text(m, text) => {
                if self.depth > self.base_depth {
                    self.count_bytes(m.len())?;
                }
                Ok(Some(XmlEvent::Text(text)))
            }
            RawEvent::ElementFoot(m) => {
                if self.depth > self.base_depth {
                    self.count_bytes(m.len())?;
                }
                self.depth = self.depth.saturating_sub(1);
                self.raw.set_text_buffering(self.depth > self.base_depth);
                if let Some(scope) = self.scopes.pop() {
                    let keep = self.prefixes.len().saturating_sub(scope.declared);
                    self.prefixes.truncate(keep);
                }
                Ok(Some(XmlEvent::End))
            }
        }
    }

    fn handle_attribute(
        &mut self,
        (prefix, name): RawQName,
        value: String,
    ) -> Result<(), XmlError> {
        let limits = self.limits;
        let Some(head) = self.head.as_mut() else {
            return Err(XmlError::NotWellFormed(rxml::Error::InvalidSyntax(
                "attribute outside a start tag",
            )));
        };
        let is_decl = match &prefix {
            None => name.as_str() == "xmlns",
            Some(p) => p.as_str() == "xmlns",
        };
        if is_decl {
            let count = head.prefix_decls.len() + usize::from(head.default_decl.is_some()) + 1;
            if count > limits.max_namespace_declarations {
                return Err(XmlError::Limit(Limit::NamespaceDeclarations));
            }
            if value == rxml::XMLNS_XMLNS {
                return Err(XmlError::NotWellFormed(rxml::Error::ReservedNamespaceName));
            }
            if prefix.is_none() {
                if head.default_decl.is_some() {
                    return Err(XmlError::NotWellFormed(rxml::Error::DuplicateAttribute));
                }
                head.default_decl = Some(value);
            } else {
                if name.as_str() == "xmlns" {
                    return Err(XmlError::NotWellFormed(
                        rxml::Error::ReservedNamespacePrefix,
                    ));
                }
                if head.prefix_decls.iter().any(|(p, _)| *p == name) {
                    return Err(XmlError::NotWellFormed(rxml::Error::DuplicateAttribute));
                }
                head.prefix_decls.push((name, value));
            }
        } else {
            if head.attrs.len() + 1 > limits.max_attributes {
                return Err(XmlError::Limit(Limit::Attributes));
            }
            head.attrs.push((prefix, name, value));
        }
        Ok(())
    }

    fn lookup(&self, prefix: &NcName) -> Result<Namespace<'static>, XmlError> {
        if prefix.as_str() == "xml" {
            return Ok(Namespace::XML);
        }
        self.prefixes
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, ns)| ns.clone())
            .ok_or(XmlError::NotWellFormed(
                rxml::Error::UndeclaredNamespacePrefix(None),
            ))
    }

    fn close_head(&mut self) -> Result<XmlEvent, XmlError> {
        let Some(head) = self.head.take() else {
            return Err(XmlError::NotWellFormed(rxml::Error::InvalidSyntax(
                "end of a start tag that never began",
            )));
        };
        let inherited = self
            .scopes
            .last()
            .map_or(Namespace::NONE, |s| s.default_ns.clone());
        let default_ns = match head.default_decl {
            Some(uri) => ns::intern(uri),
            None => inherited,
        };
        let before = self.prefixes.len();
        for (prefix, uri) in head.prefix_decls {
            if prefix.as_str() == "xml" {
                // Binding `xml` to its own namespace is allowed and changes nothing.
                continue;
            }
            self.prefixes.push((prefix, ns::intern(uri)));
        }
        self.scopes.push(Scope {
            default_ns: default_ns.clone(),
            declared: self.prefixes.len() - before,
        });

        let ns = match &head.prefix {
            None => default_ns,
            Some(p) => self.lookup(p)?,
        };
        let mut attrs: Vec<Attribute> = Vec::with_capacity(head.attrs.len());
        for (prefix, name, value) in head.attrs {
            let attr_ns = match &prefix {
                None => Namespace::NONE,
                Some(p) => self.lookup(p)?,
            };
            if attrs.iter().any(|a| a.name == name && a.ns == attr_ns) {
                return Err(XmlError::NotWellFormed(rxml::Error::DuplicateAttribute));
            }
            attrs.push(Attribute {
                ns: attr_ns,
                name,
                value,
            });
        }

        Ok(XmlEvent::Start {
            ns,
            name: head.name,
            attrs,
        })
    }
}
