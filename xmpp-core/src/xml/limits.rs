//! Limits on what a peer may send, enforced while parsing.

use core::fmt;

/// Limits applied to each top-level element (a stanza, or the stream header).
///
/// The defaults follow the field (ejabberd and Prosody cap c2s stanzas at 256 KiB) and
/// security.md §1.3: rxml's cost grows with the square of nesting depth and it does not limit
/// attributes, so the reader must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of input one top-level element may span, markup included.
    pub max_element_bytes: usize,
    /// Nesting depth of a top-level element; the element itself is depth 1.
    pub max_depth: usize,
    /// Attributes on one element, not counting namespace declarations.
    pub max_attributes: usize,
    /// Namespace declarations (`xmlns`, `xmlns:p`) on one element.
    pub max_namespace_declarations: usize,
    /// Bytes of one name, attribute value or reference. Longer text is split, not refused.
    pub max_token_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_element_bytes: 256 * 1024,
            max_depth: 32,
            max_attributes: 64,
            max_namespace_declarations: 16,
            max_token_length: 8192,
        }
    }
}

impl Limits {
    /// Limits for re-reading XML this crate wrote itself: no caps on size, attributes or
    /// declarations, since the writer may legitimately exceed what the input was held to (a
    /// prefix declared once on an ancestor is declared again where it is used). Depth and
    /// token length stay as given.
    #[must_use]
    pub fn for_own_output(self) -> Self {
        Self {
            max_element_bytes: usize::MAX,
            max_attributes: usize::MAX,
            max_namespace_declarations: usize::MAX,
            ..self
        }
    }
}

/// Which limit a peer exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_element_bytes`].
    ElementBytes,
    /// [`Limits::max_depth`].
    Depth,
    /// [`Limits::max_attributes`].
    Attributes,
    /// [`Limits::max_namespace_declarations`].
    NamespaceDeclarations,
    /// [`Limits::max_token_length`].
    TokenLength,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::ElementBytes => "element too large",
            Limit::Depth => "elements nested too deeply",
            Limit::Attributes => "too many attributes",
            Limit::NamespaceDeclarations => "too many namespace declarations",
            Limit::TokenLength => "name or attribute value too long",
        })
    }
}
