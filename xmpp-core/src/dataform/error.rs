//! Why an element is not a data form this crate accepts.

/// Why an element is not an acceptable `jabber:x:data` form (XEP-0004), or not an acceptable
/// XEP-0221 media element inside one.
///
/// Each variant names the rule of XEP-0004 that the input breaks; a form-processing entity
/// answers any of them with `bad-request` (the input is malformed, not merely unacceptable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// The element is not `<x xmlns='jabber:x:data'/>` (or the media element is not
    /// `<media xmlns='urn:xmpp:media-element'/>`).
    #[error("expected <{expected}/>, found <{name}/> in `{ns}`")]
    WrongElement {
        /// The element that was expected.
        expected: &'static str,
        /// The local name found.
        name: String,
        /// The namespace found.
        ns: String,
    },
    /// The form has no `type` attribute (XEP-0004 §3.1: it is required).
    #[error("the form has no type")]
    MissingType,
    /// The form's `type` is not `form`, `submit`, `cancel` or `result`.
    #[error("unknown form type `{0}`")]
    UnknownType(String),
    /// A field's `type` is not one of the ten XEP-0004 §3.3 defines.
    #[error("unknown field type `{0}`")]
    UnknownFieldType(String),
    /// A field other than a `fixed` one has no `var` (XEP-0004 §3.2).
    #[error("a field has no var")]
    MissingVar,
    /// Two fields share a `var`, which must identify a field uniquely (XEP-0004 §3.2).
    #[error("two fields are named `{0}`")]
    DuplicateVar(String),
    /// An element of the data forms namespace that is not allowed where it stands, or text
    /// where only elements are allowed.
    #[error("unexpected <{child}/> in <{parent}/>")]
    UnexpectedChild {
        /// The parent element.
        parent: &'static str,
        /// The unexpected child (`#text` for character data).
        child: String,
    },
    /// A child that may appear once appears twice (`title`, `desc`, `required`).
    #[error("more than one <{child}/> in <{parent}/>")]
    DuplicateChild {
        /// The parent element.
        parent: &'static str,
        /// The repeated child.
        child: &'static str,
    },
    /// `<reported/>` and `<item/>` (multi-item results, XEP-0004 §3.4) are outside the subset
    /// this crate reads.
    #[error("<{0}/> (multiple items) is not supported")]
    Unsupported(&'static str),
    /// A field whose type takes one value carries several (XEP-0004 §3.2: only `list-multi`,
    /// `jid-multi`, `text-multi` and `hidden` may).
    #[error("field `{0}` has more than one value")]
    TooManyValues(String),
    /// A field that is not a list carries `<option/>` elements (XEP-0004 §3.2).
    #[error("field `{0}` is not a list but has options")]
    OptionsNotAllowed(String),
    /// An `<option/>` does not hold exactly one `<value/>` (XEP-0004 §3.2).
    #[error("an option must hold exactly one value")]
    BadOption,
    /// Two options of a field share a label or a value (XEP-0004 §3.3, note 2).
    #[error("field `{0}` repeats an option")]
    DuplicateOption(String),
    /// `<required/>` is not empty (XEP-0004 §3.2: it MUST be).
    #[error("<required/> must be empty")]
    RequiredNotEmpty,
    /// The `FORM_TYPE` field does not hold exactly one value (XEP-0068).
    #[error("FORM_TYPE must hold exactly one value")]
    FormTypeValues,
    /// A media element is malformed (XEP-0221): a size that is not a number, or a `<uri/>`
    /// without a type or without a URI.
    #[error("invalid media element: {0}")]
    InvalidMedia(&'static str),
}
