//! One `<field/>` of a data form (XEP-0004 §3.2, §3.3), with its options.

use crate::element::{Element, Node};
use crate::ns;

use super::FormError;
use super::media::MEDIA;

/// The type of a field (XEP-0004 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// `boolean`: `0`/`1`/`false`/`true`.
    Boolean,
    /// `fixed`: text for the reader, not an input.
    Fixed,
    /// `hidden`: returned as it was given, not shown.
    Hidden,
    /// `jid-multi`: several addresses.
    JidMulti,
    /// `jid-single`: one address.
    JidSingle,
    /// `list-multi`: several of the options.
    ListMulti,
    /// `list-single`: one of the options.
    ListSingle,
    /// `text-multi`: several lines, one per value.
    TextMulti,
    /// `text-private`: one line, obscured on screen (passwords).
    TextPrivate,
    /// `text-single`: one line; also what a field without a type is.
    TextSingle,
}

impl FieldType {
    /// Every field type, in the order of XEP-0004 §3.3.
    pub const ALL: [Self; 10] = [
        Self::Boolean,
        Self::Fixed,
        Self::Hidden,
        Self::JidMulti,
        Self::JidSingle,
        Self::ListMulti,
        Self::ListSingle,
        Self::TextMulti,
        Self::TextPrivate,
        Self::TextSingle,
    ];

    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::Fixed => "fixed",
            Self::Hidden => "hidden",
            Self::JidMulti => "jid-multi",
            Self::JidSingle => "jid-single",
            Self::ListMulti => "list-multi",
            Self::ListSingle => "list-single",
            Self::TextMulti => "text-multi",
            Self::TextPrivate => "text-private",
            Self::TextSingle => "text-single",
        }
    }

    /// Reads the attribute value.
    pub fn parse(s: &str) -> Result<Self, FormError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| FormError::UnknownFieldType(s.to_owned()))
    }

    /// Whether a field of this type may carry several values (XEP-0004 §3.2).
    pub fn is_multi(self) -> bool {
        matches!(
            self,
            Self::ListMulti | Self::JidMulti | Self::TextMulti | Self::Hidden
        )
    }

    /// Whether a field of this type may carry options.
    pub fn is_list(self) -> bool {
        matches!(self, Self::ListMulti | Self::ListSingle)
    }
}

/// One choice of a list field: `<option label='…'><value>…</value></option>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOption {
    /// The human-readable name.
    pub label: Option<String>,
    /// The value submitted when this option is chosen.
    pub value: String,
}

/// A field of a data form.
///
/// `kind` stays `None` when the field had no `type` attribute, which is how submitted forms
/// usually arrive: XEP-0004 reads such a field as `text-single` ([`Field::effective_type`]),
/// but a submitter may leave the type out of a multi-valued field too, so the checks that
/// depend on the type run only when the type was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The `var` attribute, which names the field within its form.
    pub var: Option<String>,
    /// The `type` attribute.
    pub kind: Option<FieldType>,
    /// The `label` attribute.
    pub label: Option<String>,
    /// The `<desc/>` child: a longer description.
    pub desc: Option<String>,
    /// Whether `<required/>` is present.
    pub required: bool,
    /// The `<value/>` children, in order.
    pub values: Vec<String>,
    /// The `<option/>` children of a list field.
    pub options: Vec<FieldOption>,
    /// Children in other namespaces, kept as they are: a XEP-0221 `<media/>`, a XEP-0122
    /// `<validate/>`. They are written after the values and options.
    pub payloads: Vec<Element>,
}

impl Field {
    /// A field with a name and a type and nothing else.
    pub fn new(var: impl Into<String>, kind: FieldType) -> Self {
        Self {
            var: Some(var.into()),
            kind: Some(kind),
            label: None,
            desc: None,
            required: false,
            values: Vec::new(),
            options: Vec::new(),
            payloads: Vec::new(),
        }
    }

    /// A `hidden` field holding one value, such as `FORM_TYPE`.
    pub fn hidden(var: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(var, FieldType::Hidden).with_value(value)
    }

    /// A field as a submitter writes it: a name and values, no type.
    pub fn submitted(var: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            kind: None,
            ..Self::new(var, FieldType::TextSingle).with_value(value)
        }
    }

    /// Builder: sets the label.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Builder: sets the description.
    #[must_use]
    pub fn with_desc(mut self, desc: impl Into<String>) -> Self {
        self.desc = Some(desc.into());
        self
    }

    /// Builder: marks the field required.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Builder: appends a value.
    #[must_use]
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.values.push(value.into());
        self
    }

    /// Builder: appends an option.
    #[must_use]
    pub fn with_option(mut self, label: Option<&str>, value: impl Into<String>) -> Self {
        self.options.push(FieldOption {
            label: label.map(str::to_owned),
            value: value.into(),
        });
        self
    }

    /// Builder: appends a child element in another namespace (a XEP-0221 `<media/>`).
    #[must_use]
    pub fn with_payload(mut self, payload: Element) -> Self {
        self.payloads.push(payload);
        self
    }

    /// The type, or `text-single` when none was given (XEP-0004 §3.2).
    pub fn effective_type(&self) -> FieldType {
        self.kind.unwrap_or(FieldType::TextSingle)
    }

    /// The first value.
    pub fn value(&self) -> Option<&str> {
        self.values.first().map(String::as_str)
    }

    /// The first XEP-0221 `<media/>` child.
    pub fn media(&self) -> Option<&Element> {
        self.payloads.iter().find(|p| p.is("media", MEDIA))
    }

    /// Writes the `<field/>` element.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new("field", ns::DATA_FORMS);
        if let Some(var) = &self.var {
            el.set_attr("var", var.as_str());
        }
        if let Some(kind) = self.kind {
            el.set_attr("type", kind.as_str());
        }
        if let Some(label) = &self.label {
            el.set_attr("label", label.as_str());
        }
        if let Some(desc) = &self.desc {
            el.append_child(text_element("desc", desc));
        }
        if self.required {
            el.append_child(Element::new("required", ns::DATA_FORMS));
        }
        for value in &self.values {
            el.append_child(text_element("value", value));
        }
        for option in &self.options {
            let mut opt = Element::new("option", ns::DATA_FORMS);
            if let Some(label) = &option.label {
                opt.set_attr("label", label.as_str());
            }
            opt.append_child(text_element("value", &option.value));
            el.append_child(opt);
        }
        for payload in &self.payloads {
            el.append_child(payload.clone());
        }
        el
    }

    /// Reads a `<field/>` element; the caller has checked its name and namespace.
    ///
    /// Checks the rules XEP-0004 §3.2 states with MUST: a `var` unless the field is `fixed`,
    /// one value unless the type allows several, options only in lists, each option with one
    /// value, options unique, `<required/>` empty.
    pub(super) fn from_element(el: &Element) -> Result<Self, FormError> {
        let kind = el.attr("type").map(FieldType::parse).transpose()?;
        let mut field = Self {
            var: el.attr("var").map(str::to_owned),
            kind,
            label: el.attr("label").map(str::to_owned),
            desc: None,
            required: false,
            values: Vec::new(),
            options: Vec::new(),
            payloads: Vec::new(),
        };
        for node in el.nodes() {
            let child = match node {
                Node::Element(child) => child,
                Node::Text(t) => {
                    check_whitespace(t, "field")?;
                    continue;
                }
            };
            if child.ns() != ns::DATA_FORMS {
                field.payloads.push(child.clone());
                continue;
            }
            match child.name() {
                "desc" => {
                    if field.desc.is_some() {
                        return Err(FormError::DuplicateChild {
                            parent: "field",
                            child: "desc",
                        });
                    }
                    field.desc = Some(element_text(child, "desc")?);
                }
                "required" => {
                    if field.required {
                        return Err(FormError::DuplicateChild {
                            parent: "field",
                            child: "required",
                        });
                    }
                    if child.nodes().iter().any(|n| match n {
                        Node::Element(_) => true,
                        Node::Text(t) => !is_xml_space(t),
                    }) {
                        return Err(FormError::RequiredNotEmpty);
                    }
                    field.required = true;
                }
                "value" => field.values.push(element_text(child, "value")?),
                "option" => field.options.push(read_option(child)?),
                other => {
                    return Err(FormError::UnexpectedChild {
                        parent: "field",
                        child: other.to_owned(),
                    });
                }
            }
        }
        field.check()?;
        Ok(field)
    }

    fn check(&self) -> Result<(), FormError> {
        let name = || self.var.clone().unwrap_or_default();
        if self.var.is_none() && self.kind != Some(FieldType::Fixed) {
            return Err(FormError::MissingVar);
        }
        if self.kind.is_some_and(|k| !k.is_multi()) && self.values.len() > 1 {
            return Err(FormError::TooManyValues(name()));
        }
        // Without a type the field is text-single, which takes no options.
        if !self.options.is_empty() && !self.kind.is_some_and(FieldType::is_list) {
            return Err(FormError::OptionsNotAllowed(name()));
        }
        for (i, a) in self.options.iter().enumerate() {
            let repeated = self
                .options
                .iter()
                .skip(i + 1)
                .any(|b| a.value == b.value || (a.label.is_some() && a.label == b.label));
            if repeated {
                return Err(FormError::DuplicateOption(name()));
            }
        }
        Ok(())
    }
}

fn read_option(el: &Element) -> Result<FieldOption, FormError> {
    let mut value = None;
    for node in el.nodes() {
        match node {
            Node::Text(t) => check_whitespace(t, "option")?,
            Node::Element(child) if child.is("value", ns::DATA_FORMS) => {
                if value.is_some() {
                    return Err(FormError::BadOption);
                }
                value = Some(element_text(child, "value")?);
            }
            Node::Element(child) => {
                return Err(FormError::UnexpectedChild {
                    parent: "option",
                    child: child.name().to_owned(),
                });
            }
        }
    }
    Ok(FieldOption {
        label: el.attr("label").map(str::to_owned),
        value: value.ok_or(FormError::BadOption)?,
    })
}

/// An element in the data forms namespace holding only text.
pub(super) fn text_element(name: &str, text: &str) -> Element {
    Element::new(name, ns::DATA_FORMS).with_text(text)
}

/// The text of an element that may hold only text. The text is kept exactly: a value may
/// be a password, whose spaces count.
pub(super) fn element_text(el: &Element, parent: &'static str) -> Result<String, FormError> {
    if let Some(child) = el.children().next() {
        return Err(FormError::UnexpectedChild {
            parent,
            child: child.name().to_owned(),
        });
    }
    Ok(el.text())
}

/// Text between the children of an element that holds elements: indentation is fine,
/// anything else is not.
pub(super) fn check_whitespace(text: &str, parent: &'static str) -> Result<(), FormError> {
    if is_xml_space(text) {
        Ok(())
    } else {
        Err(FormError::UnexpectedChild {
            parent,
            child: "#text".to_owned(),
        })
    }
}

/// Whether the text is XML white space only (XML 1.0 production 3), which is all that
/// indentation between elements may be.
pub(super) fn is_xml_space(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}
