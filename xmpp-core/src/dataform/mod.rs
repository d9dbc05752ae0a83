//! Data forms (XEP-0004), the subset Chatrix uses: a form with a title, instructions and
//! fields, read strictly and written back the same; plus `FORM_TYPE` (XEP-0068) and the
//! media element of XEP-0221.
//!
//! Multi-item results (`<reported/>` and `<item/>`, XEP-0004 §3.4) are not read: no protocol
//! Chatrix answers needs them, and [`Form::from_element`] says so with
//! [`FormError::Unsupported`] rather than dropping data.
//!
//! ```
//! use xmpp_core::dataform::{Field, FieldType, Form, FormKind};
//!
//! let form = Form::with_form_type(FormKind::Form, "jabber:iq:register")
//!     .with_field(Field::new("username", FieldType::TextSingle).required());
//! let el = form.to_element();
//! let back = Form::from_element(&el)?;
//! assert_eq!(back, form);
//! assert_eq!(back.form_type(), Some("jabber:iq:register"));
//! # Ok::<(), xmpp_core::dataform::FormError>(())
//! ```

mod error;
mod field;
mod media;

pub use error::FormError;
pub use field::{Field, FieldOption, FieldType};
pub use media::{Media, MediaUri};

use std::collections::HashSet;

use crate::element::{Element, Node};
use crate::ns;

use field::{check_whitespace, element_text, text_element};

/// The name of the field that says which protocol a form belongs to (XEP-0068).
pub const FORM_TYPE: &str = "FORM_TYPE";

/// What a form is for: the `type` attribute of `<x/>` (XEP-0004 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormKind {
    /// `form`: a form to fill in.
    Form,
    /// `submit`: a filled-in form coming back.
    Submit,
    /// `cancel`: the submitter gave up.
    Cancel,
    /// `result`: data returned.
    Result,
}

impl FormKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [Self::Form, Self::Submit, Self::Cancel, Self::Result];

    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Form => "form",
            Self::Submit => "submit",
            Self::Cancel => "cancel",
            Self::Result => "result",
        }
    }

    /// Reads the attribute value.
    pub fn parse(s: &str) -> Result<Self, FormError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| FormError::UnknownType(s.to_owned()))
    }
}

/// A data form: `<x xmlns='jabber:x:data' type='…'/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The `type` attribute.
    pub kind: FormKind,
    /// The `<title/>`.
    pub title: Option<String>,
    /// The `<instructions/>` elements, in order (XEP-0004 allows several).
    pub instructions: Vec<String>,
    /// The fields, in the order they are presented.
    pub fields: Vec<Field>,
}

impl Form {
    /// An empty form of this kind.
    pub fn new(kind: FormKind) -> Self {
        Self {
            kind,
            title: None,
            instructions: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// A form whose first field is the hidden `FORM_TYPE` (XEP-0068).
    pub fn with_form_type(kind: FormKind, form_type: &str) -> Self {
        Self::new(kind).with_field(Field::hidden(FORM_TYPE, form_type))
    }

    /// Builder: sets the title.
    #[must_use]
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Builder: appends instructions.
    #[must_use]
    pub fn with_instructions(mut self, text: impl Into<String>) -> Self {
        self.instructions.push(text.into());
        self
    }

    /// Builder: appends a field.
    #[must_use]
    pub fn with_field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }

    /// The field with this `var`.
    pub fn field(&self, var: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.var.as_deref() == Some(var))
    }

    /// The first value of the field with this `var`.
    pub fn value(&self, var: &str) -> Option<&str> {
        self.field(var).and_then(Field::value)
    }

    /// The value of the `FORM_TYPE` field (XEP-0068), which names the protocol the form
    /// belongs to.
    ///
    /// In a form or a result only a `hidden` `FORM_TYPE` counts (XEP-0068 §4); in a
    /// submission the type is often left out, and one without a type, or `text-single`, counts
    /// too (XEP-0068 §6). A cancelled form has none.
    pub fn form_type(&self) -> Option<&str> {
        self.form_type_field().and_then(Field::value)
    }

    fn form_type_field(&self) -> Option<&Field> {
        let field = self.field(FORM_TYPE)?;
        let counts = match self.kind {
            FormKind::Form | FormKind::Result => field.kind == Some(FieldType::Hidden),
            FormKind::Submit => matches!(
                field.kind,
                None | Some(FieldType::Hidden | FieldType::TextSingle)
            ),
            FormKind::Cancel => false,
        };
        counts.then_some(field)
    }

    /// Writes the `<x/>` element.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new("x", ns::DATA_FORMS).with_attr("type", self.kind.as_str());
        if let Some(title) = &self.title {
            el.append_child(text_element("title", title));
        }
        for text in &self.instructions {
            el.append_child(text_element("instructions", text));
        }
        for field in &self.fields {
            el.append_child(field.to_element());
        }
        el
    }

    /// Reads an `<x xmlns='jabber:x:data'/>` element, strictly.
    ///
    /// Besides the rules [`Field`] checks, the form needs a known `type`, at most one
    /// `<title/>`, fields with distinct `var`s and, if it has a `FORM_TYPE`, exactly one value
    /// in it. Elements of other namespaces directly inside `<x/>` (layout hints of XEP-0141,
    /// for instance) are skipped; unknown elements of the data forms namespace are errors.
    pub fn from_element(el: &Element) -> Result<Self, FormError> {
        if !el.is("x", ns::DATA_FORMS) {
            return Err(FormError::WrongElement {
                expected: "x",
                name: el.name().to_owned(),
                ns: el.ns().to_owned(),
            });
        }
        let kind = FormKind::parse(el.attr("type").ok_or(FormError::MissingType)?)?;
        let mut form = Self::new(kind);
        for node in el.nodes() {
            let child = match node {
                Node::Element(child) => child,
                Node::Text(t) => {
                    check_whitespace(t, "x")?;
                    continue;
                }
            };
            if child.ns() != ns::DATA_FORMS {
                continue;
            }
            match child.name() {
                "title" => {
                    if form.title.is_some() {
                        return Err(FormError::DuplicateChild {
                            parent: "x",
                            child: "title",
                        });
                    }
                    form.title = Some(element_text(child, "title")?);
                }
                "instructions" => form.instructions.push(element_text(child, "instructions")?),
                "field" => form.fields.push(Field::from_element(child)?),
                "reported" => return Err(FormError::Unsupported("reported")),
                "item" => return Err(FormError::Unsupported("item")),
                other => {
                    return Err(FormError::UnexpectedChild {
                        parent: "x",
                        child: other.to_owned(),
                    });
                }
            }
        }
        let mut vars = HashSet::new();
        for var in form.fields.iter().filter_map(|f| f.var.as_deref()) {
            if !vars.insert(var) {
                return Err(FormError::DuplicateVar(var.to_owned()));
            }
        }
        if form.form_type_field().is_some_and(|f| f.values.len() != 1) {
            return Err(FormError::FormTypeValues);
        }
        Ok(form)
    }
}

#[cfg(test)]
mod tests;
