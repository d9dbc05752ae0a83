//! The CAPTCHA of a registration form: XEP-0158 §4 fields, the picture as a XEP-0221 media
//! element, and the picture's bytes as XEP-0231 bits of binary.

use base64::Engine as _;

use crate::dataform::{Field, FieldType, Form, FormKind, Media};
use crate::element::Element;
use crate::ns;

/// The field holding the answer to an image CAPTCHA (XEP-0158 §7.2, `ocr`).
pub const OCR_FIELD: &str = "ocr";
/// The hidden field holding the challenge id (XEP-0158 §3.1.2).
pub const CHALLENGE_FIELD: &str = "challenge";
/// The hidden field holding the id of the stanza that triggered the challenge.
pub const SID_FIELD: &str = "sid";
/// The hidden field holding the address the triggering stanza was sent to.
pub const FROM_FIELD: &str = "from";

/// The MIME type of the picture.
const PNG: &str = "image/png";

/// An image CAPTCHA the server made, to put in a registration form.
///
/// The server draws the picture and remembers the answer under `challenge_id`; this module only
/// puts it into XML.
#[derive(Clone, PartialEq, Eq)]
pub struct Captcha {
    /// The challenge id, unique among the server's open challenges; it comes back in the
    /// submitted form's `challenge` field.
    pub challenge_id: String,
    /// The picture, PNG-encoded. XEP-0231 asks that bits of binary stay under about 8 KiB.
    pub png: Vec<u8>,
    /// The field's label, the question put to the user.
    pub label: String,
    /// The `from` field: the address the client sent its request to, the server's domain.
    pub from: String,
    /// The `sid` field: the id of the iq that asked for the form. May be empty.
    pub sid: String,
    /// Width and height of the picture in pixels, as a display hint.
    pub size: Option<(u32, u32)>,
}

impl core::fmt::Debug for Captcha {
    // The picture's bytes would bury everything else.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Captcha")
            .field("challenge_id", &self.challenge_id)
            .field("png", &format_args!("{} bytes", self.png.len()))
            .field("label", &self.label)
            .field("from", &self.from)
            .field("sid", &self.sid)
            .field("size", &self.size)
            .finish()
    }
}

impl Captcha {
    /// A CAPTCHA with the label XEP-0158 suggests for `ocr` ("Enter the text you see"), no
    /// `sid` and no size hint.
    pub fn new(challenge_id: impl Into<String>, png: Vec<u8>, from: impl Into<String>) -> Self {
        Self {
            challenge_id: challenge_id.into(),
            png,
            label: "Enter the text you see".to_owned(),
            from: from.into(),
            sid: String::new(),
            size: None,
        }
    }

    /// The XEP-0231 content id of the picture.
    pub fn cid(&self) -> String {
        bob_cid(&self.png)
    }

    /// The picture as a `data:` URI (RFC 2397), for clients that render the media element
    /// without fetching bits of binary.
    pub fn data_uri(&self) -> String {
        format!("data:{PNG};base64,{}", base64_png(&self.png))
    }

    /// The XEP-0221 media element: the `cid:` URI first, then the `data:` URI.
    pub fn media(&self) -> Media {
        Media {
            width: self.size.map(|(w, _)| w),
            height: self.size.map(|(_, h)| h),
            uris: Vec::new(),
        }
        .with_uri(PNG, format!("cid:{}", self.cid()))
        .with_uri(PNG, self.data_uri())
    }

    /// The XEP-0231 `<data/>` element holding the picture, with `max-age='0'`: a challenge
    /// is good for one registration, so nothing should cache it.
    pub fn bob_data(&self) -> Element {
        Element::new("data", ns::BOB)
            .with_attr("cid", self.cid())
            .with_attr("type", PNG)
            .with_attr("max-age", "0")
            .with_text(base64_png(&self.png))
    }

    /// The registration form with this CAPTCHA (XEP-0158 §4): hidden `FORM_TYPE`
    /// (`urn:xmpp:captcha`), `from`, `challenge` and `sid`; then `username`, `password` and the
    /// required `ocr` field with the picture.
    pub fn registration_form(&self) -> Form {
        let ocr = Field::new(OCR_FIELD, FieldType::TextSingle)
            .with_label(self.label.as_str())
            .required()
            .with_payload(self.media().to_element());
        Form::with_form_type(FormKind::Form, ns::CAPTCHA)
            .with_field(Field::hidden(FROM_FIELD, self.from.as_str()))
            .with_field(Field::hidden(CHALLENGE_FIELD, self.challenge_id.as_str()))
            .with_field(Field::hidden(SID_FIELD, self.sid.as_str()))
            .with_field(super::form::username_field())
            .with_field(super::form::password_field())
            .with_field(ocr)
    }
}

/// The XEP-0231 content id of some bytes: `sha1+<hex SHA-1>@bob.xmpp.org`.
pub fn bob_cid(bytes: &[u8]) -> String {
    format!(
        "sha1+{}@bob.xmpp.org",
        sha1_smol::Sha1::from(bytes).digest()
    )
}

fn base64_png(png: &[u8]) -> String {
    // XEP-0231 §2: no white space, padding as RFC 4648 §4 has it.
    base64::engine::general_purpose::STANDARD.encode(png)
}
