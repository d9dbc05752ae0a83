//! A namespace-aware XML element tree that loses nothing.
//!
//! An [`Element`] keeps every attribute it was given (including ones nobody here understands and
//! `xml:lang`), its children in document order, and its text. The server re-serialises every
//! stanza it forwards from this tree (ARCHITECTURE.md, principle 5), so the tree must be able to
//! carry anything a well-formed, restricted-XML stanza can hold.
//!
//! Names and namespaces use rxml's types: the parser hands them over by move, so building a tree
//! from parser events copies no strings.

mod write;

pub use write::{write_escaped_attr, write_escaped_text};

use core::fmt;

pub use rxml::{Namespace, NcName};

/// The `xml:` namespace, under which `xml:lang` lives.
pub const XML_NS: &str = rxml::XMLNS_XML;

/// A node below an element: a child element or a run of text.
#[derive(Clone, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data, with references already expanded.
    Text(String),
}

/// One attribute: namespace (empty for a plain attribute), local name and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// The namespace; [`Namespace::NONE`] for an attribute without a prefix.
    pub ns: Namespace<'static>,
    /// The local name.
    pub name: NcName,
    /// The value, with references expanded.
    pub value: String,
}

/// An XML element: a qualified name, attributes, and child nodes.
///
/// Equality compares the information set: names, namespaces, attribute values and nodes. It does
/// not see prefixes or attribute order, which carry no meaning in XML.
#[derive(Clone)]
pub struct Element {
    ns: Namespace<'static>,
    name: NcName,
    // A vector, not a map: stanzas carry a handful of attributes, and one allocation for all of
    // them beats a tree node per attribute on the hot path. Keys are unique (the parser and
    // `set_attr_ns` make sure).
    attrs: Vec<Attribute>,
    nodes: Vec<Node>,
}

impl PartialEq for Element {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.ns == other.ns
            && self.attrs.len() == other.attrs.len()
            && self
                .attrs
                .iter()
                .all(|a| other.attr_ns(a.ns.as_str(), a.name.as_str()) == Some(a.value.as_str()))
            && self.nodes == other.nodes
    }
}

impl Eq for Element {}

/// A string was not a valid XML name where one was required.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid XML local name")]
pub struct InvalidName(pub String);

fn ncname(name: &str) -> Result<NcName, InvalidName> {
    NcName::try_from(name).map_err(|_| InvalidName(name.to_owned()))
}

impl Element {
    /// Creates an empty element.
    ///
    /// # Panics
    /// If `name` is not an XML `NCName`. Names written in code are constants; for names that come
    /// from elsewhere, use [`Element::try_new`].
    pub fn new(name: &str, ns: impl Into<Namespace<'static>>) -> Self {
        match Self::try_new(name, ns) {
            Ok(el) => el,
            Err(e) => panic!("{e}"),
        }
    }

    /// Creates an empty element, checking that `name` is an XML `NCName`.
    pub fn try_new(name: &str, ns: impl Into<Namespace<'static>>) -> Result<Self, InvalidName> {
        Ok(Self::from_parts(ns.into(), ncname(name)?, Vec::new()))
    }

    /// Creates an element from already validated parts, as the parser delivers them.
    ///
    /// The caller promises that no two attributes share a namespace and name.
    pub fn from_parts(ns: Namespace<'static>, name: NcName, attrs: Vec<Attribute>) -> Self {
        Self {
            ns,
            name,
            attrs,
            nodes: Vec::new(),
        }
    }

    /// The local name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The namespace name; empty for an element in no namespace.
    pub fn ns(&self) -> &str {
        self.ns.as_str()
    }

    /// The namespace as rxml's shared type (cheap to clone).
    pub fn namespace(&self) -> &Namespace<'static> {
        &self.ns
    }

    /// Whether this element has the given local name and namespace.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name.as_str() == name && self.ns.as_str() == ns
    }

    /// Moves this element into another namespace, and with it every descendant that shared the
    /// old one. This is how a stanza moves between `jabber:client` and `jabber:server`.
    pub fn set_ns_deep(&mut self, ns: &Namespace<'static>) {
        let old = core::mem::replace(&mut self.ns, ns.clone());
        for child in self.children_mut() {
            if child.ns == old {
                child.set_ns_deep(ns);
            }
        }
    }

    // --- attributes -------------------------------------------------------------------------

    /// The value of an attribute in no namespace.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attr_ns("", name)
    }

    /// The value of a namespaced attribute.
    pub fn attr_ns(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name.as_str() == name && a.ns.as_str() == ns)
            .map(|a| a.value.as_str())
    }

    /// The `xml:lang` attribute of this element itself (not inherited).
    pub fn lang(&self) -> Option<&str> {
        self.attr_ns(XML_NS, "lang")
    }

    /// Sets an attribute in no namespace, returning the previous value.
    ///
    /// # Panics
    /// If `name` is not an XML `NCName` (names written in code are constants).
    pub fn set_attr(&mut self, name: &str, value: impl Into<String>) -> Option<String> {
        self.set_attr_ns(Namespace::NONE, name, value)
    }

    /// Sets a namespaced attribute, returning the previous value.
    ///
    /// # Panics
    /// If `name` is not an XML `NCName`.
    pub fn set_attr_ns(
        &mut self,
        ns: impl Into<Namespace<'static>>,
        name: &str,
        value: impl Into<String>,
    ) -> Option<String> {
        let ns = ns.into();
        let value = value.into();
        if let Some(a) = self
            .attrs
            .iter_mut()
            .find(|a| a.name.as_str() == name && a.ns == ns)
        {
            return Some(core::mem::replace(&mut a.value, value));
        }
        let name = match ncname(name) {
            Ok(n) => n,
            Err(e) => panic!("{e}"),
        };
        self.attrs.push(Attribute { ns, name, value });
        None
    }

    /// Removes an attribute in no namespace, returning its value.
    pub fn remove_attr(&mut self, name: &str) -> Option<String> {
        let pos = self
            .attrs
            .iter()
            .position(|a| a.ns.is_none() && a.name.as_str() == name)?;
        Some(self.attrs.swap_remove(pos).value)
    }

    /// Builder form of [`Element::set_attr`].
    #[must_use]
    pub fn with_attr(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set_attr(name, value);
        self
    }

    /// Builder form of [`Element::set_attr_ns`].
    #[must_use]
    pub fn with_attr_ns(
        mut self,
        ns: impl Into<Namespace<'static>>,
        name: &str,
        value: impl Into<String>,
    ) -> Self {
        self.set_attr_ns(ns, name, value);
        self
    }

    /// Every attribute as `(namespace, local name, value)`; the namespace is empty for plain
    /// attributes.
    pub fn attrs(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.attrs
            .iter()
            .map(|a| (a.ns.as_str(), a.name.as_str(), a.value.as_str()))
    }

    /// The attributes themselves.
    pub fn attributes(&self) -> &[Attribute] {
        &self.attrs
    }

    // --- children ---------------------------------------------------------------------------

    /// All child nodes, elements and text, in document order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Child elements in document order.
    pub fn children(&self) -> impl Iterator<Item = &Element> {
        self.nodes.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Child elements, mutable.
    pub fn children_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.nodes.iter_mut().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child with this name and namespace.
    pub fn get_child(&self, name: &str, ns: &str) -> Option<&Element> {
        self.children().find(|c| c.is(name, ns))
    }

    /// The first child with this name and namespace, mutable.
    pub fn get_child_mut(&mut self, name: &str, ns: &str) -> Option<&mut Element> {
        self.children_mut().find(|c| c.is(name, ns))
    }

    /// Whether a child with this name and namespace exists.
    pub fn has_child(&self, name: &str, ns: &str) -> bool {
        self.get_child(name, ns).is_some()
    }

    /// Removes and returns the first child with this name and namespace.
    pub fn take_child(&mut self, name: &str, ns: &str) -> Option<Element> {
        let pos = self
            .nodes
            .iter()
            .position(|n| matches!(n, Node::Element(e) if e.is(name, ns)))?;
        match self.nodes.remove(pos) {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        }
    }

    /// Removes every child element for which `keep` returns false; text stays.
    pub fn retain_children(&mut self, mut keep: impl FnMut(&Element) -> bool) {
        self.nodes.retain(|n| match n {
            Node::Element(e) => keep(e),
            Node::Text(_) => true,
        });
    }

    /// Appends a child element and returns a reference to it.
    pub fn append_child(&mut self, child: Element) -> &mut Element {
        self.nodes.push(Node::Element(child));
        match self.nodes.last_mut() {
            Some(Node::Element(e)) => e,
            _ => unreachable!("an element was pushed just now"),
        }
    }

    /// Appends text, merging it with text directly before it so that equal documents give
    /// equal trees however the parser split their character data.
    pub fn append_text(&mut self, text: impl Into<String>) {
        let text = text.into();
        if text.is_empty() {
            return;
        }
        if let Some(Node::Text(last)) = self.nodes.last_mut() {
            last.push_str(&text);
        } else {
            self.nodes.push(Node::Text(text));
        }
    }

    /// Appends a node (element or text).
    pub fn append_node(&mut self, node: Node) {
        match node {
            Node::Element(e) => {
                self.nodes.push(Node::Element(e));
            }
            Node::Text(t) => self.append_text(t),
        }
    }

    /// Builder form of [`Element::append_child`].
    #[must_use]
    pub fn with_child(mut self, child: Element) -> Self {
        self.nodes.push(Node::Element(child));
        self
    }

    /// Builder form of [`Element::append_text`].
    #[must_use]
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.append_text(text);
        self
    }

    /// The concatenated text directly inside this element (not in its descendants).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            if let Node::Text(t) = n {
                out.push_str(t);
            }
        }
        out
    }

    /// The text of the first child with this name and namespace.
    pub fn child_text(&self, name: &str, ns: &str) -> Option<String> {
        self.get_child(name, ns).map(Element::text)
    }

    /// Removes all child nodes.
    pub fn clear_nodes(&mut self) {
        self.nodes.clear();
    }

    /// Takes the child nodes out, leaving none.
    pub fn take_nodes(&mut self) -> Vec<Node> {
        core::mem::take(&mut self.nodes)
    }
}

impl fmt::Debug for Element {
    /// Debug output is the serialised XML: the shape a reader of a test failure wants to see.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Element(e) => fmt::Debug::fmt(e, f),
            Node::Text(t) => fmt::Debug::fmt(t, f),
        }
    }
}

#[cfg(test)]
mod tests;
