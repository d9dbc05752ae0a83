//! The media element of XEP-0221: pictures, sounds or videos attached to a form field, such as
//! the image of a CAPTCHA (XEP-0158).

use crate::element::{Element, Node};
use crate::ns;

use super::FormError;
use super::field::check_whitespace;

pub(super) const MEDIA: &str = ns::MEDIA_ELEMENT;

/// One place to fetch the media from: `<uri type='image/png'>cid:…</uri>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaUri {
    /// The MIME type of what the URI points to.
    pub mime: String,
    /// The URI: `http:`, `https:`, a XEP-0231 `cid:`, or an RFC 2397 `data:` URI.
    pub uri: String,
}

/// `<media xmlns='urn:xmpp:media-element'/>` (XEP-0221): a size hint and the URIs of the same
/// media in one or more forms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Media {
    /// The suggested display width, in pixels.
    pub width: Option<u32>,
    /// The suggested display height, in pixels.
    pub height: Option<u32>,
    /// The URIs, in the order of the sender's preference.
    pub uris: Vec<MediaUri>,
}

impl Media {
    /// Builder: appends a URI.
    #[must_use]
    pub fn with_uri(mut self, mime: impl Into<String>, uri: impl Into<String>) -> Self {
        self.uris.push(MediaUri {
            mime: mime.into(),
            uri: uri.into(),
        });
        self
    }

    /// Writes the `<media/>` element.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new("media", MEDIA);
        if let Some(w) = self.width {
            el.set_attr("width", w.to_string());
        }
        if let Some(h) = self.height {
            el.set_attr("height", h.to_string());
        }
        for uri in &self.uris {
            el.append_child(
                Element::new("uri", MEDIA)
                    .with_attr("type", uri.mime.as_str())
                    .with_text(uri.uri.as_str()),
            );
        }
        el
    }

    /// Reads a `<media/>` element. Elements of other namespaces inside it (XEP-0231 once put
    /// a `<data/>` there) are skipped; white space around a URI is dropped, as the examples
    /// of XEP-0158 indent them.
    pub fn from_element(el: &Element) -> Result<Self, FormError> {
        if !el.is("media", MEDIA) {
            return Err(FormError::WrongElement {
                expected: "media",
                name: el.name().to_owned(),
                ns: el.ns().to_owned(),
            });
        }
        let size = |name| {
            el.attr(name)
                .map(|v: &str| {
                    v.parse::<u32>()
                        .map_err(|_| FormError::InvalidMedia("size is not a number"))
                })
                .transpose()
        };
        let mut media = Self {
            width: size("width")?,
            height: size("height")?,
            uris: Vec::new(),
        };
        for node in el.nodes() {
            match node {
                Node::Text(t) => check_whitespace(t, "media")?,
                Node::Element(child) if child.is("uri", MEDIA) => {
                    let mime = child
                        .attr("type")
                        .ok_or(FormError::InvalidMedia("a uri has no type"))?;
                    if child.children().next().is_some() {
                        return Err(FormError::InvalidMedia("a uri holds an element"));
                    }
                    let text = child.text();
                    let uri = text.trim_matches([' ', '\t', '\r', '\n']);
                    if uri.is_empty() {
                        return Err(FormError::InvalidMedia("a uri is empty"));
                    }
                    media.uris.push(MediaUri {
                        mime: mime.to_owned(),
                        uri: uri.to_owned(),
                    });
                }
                Node::Element(child) if child.ns() == MEDIA => {
                    return Err(FormError::UnexpectedChild {
                        parent: "media",
                        child: child.name().to_owned(),
                    });
                }
                Node::Element(_) => {}
            }
        }
        Ok(media)
    }
}
