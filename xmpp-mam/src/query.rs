//! Reading MAM iqs (XEP-0313 §4, XEP-0441, XEP-0059): what a client asks of its archive.
//!
//! [`MamRequest::parse`] looks at an iq and says whether it is for this crate at all (`None`
//! when its payload is not in `urn:xmpp:mam:2`, or when it is not a request), and if so what
//! it asks or why it is refused. The server checks who may use the archive
//! ([`check_addressee`]) and then acts on the request:
//!
//! - [`MamRequest::Query`]: [`crate::page::plan`] the fetch, run it on the store,
//!   [`crate::page::finish`] the page, send [`crate::results::result_message`]s and then
//!   [`crate::results::fin_answer`].
//! - [`MamRequest::FormRequest`]: answer with [`crate::results::form_answer`].
//! - [`MamRequest::GetPrefs`] / [`MamRequest::SetPrefs`]: load or store the [`Prefs`] and
//!   answer with [`crate::results::prefs_answer`].
//! - [`MamRequest::Metadata`]: load the store's bounds and answer with
//!   [`crate::results::metadata_answer`].
//!
//! ```
//! use xmpp_core::{Jid, Stanza};
//! use xmpp_mam::{MamRequest, Position};
//!
//! let iq = Stanza::from_element(
//!     "<iq xmlns='jabber:client' type='set' id='q1' from='juliet@capulet.lit/balcony'>\
//!        <query xmlns='urn:xmpp:mam:2' queryid='f27'>\
//!          <x xmlns='jabber:x:data' type='submit'>\
//!            <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>\
//!            <field var='with'><value>romeo@montague.lit</value></field>\
//!          </x>\
//!          <set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before/></set>\
//!        </query>\
//!      </iq>".parse()?,
//! )?;
//! let Some(Ok(MamRequest::Query(query))) = MamRequest::parse(&iq) else { panic!() };
//! assert_eq!(query.query_id.as_deref(), Some("f27"));
//! assert_eq!(query.filter.with, Some(Jid::new("romeo@montague.lit")?));
//! assert_eq!(query.rsm.max, Some(10));
//! assert_eq!(query.rsm.position, Position::Last);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use xmpp_core::dataform::{Field, FieldType, Form, FormKind};
use xmpp_core::{BareJid, Element, IqType, Jid, Node, Stanza, datetime};

use crate::error::{MamError, bad_value};
use crate::ns;
use crate::prefs::Prefs;
use crate::store::Filter;

/// The form fields a query may use (XEP-0313 §4.1, with the `#extended` ones).
pub(crate) const WITH: &str = "with";
pub(crate) const START: &str = "start";
pub(crate) const END: &str = "end";
pub(crate) const BEFORE_ID: &str = "before-id";
pub(crate) const AFTER_ID: &str = "after-id";
pub(crate) const IDS: &str = "ids";

/// The most ids one query may name in `ids`: each is a lookup, and a stranger's query must
/// not make the server do unbounded work. More is `bad-request`.
pub const MAX_IDS: usize = 100;

/// What a MAM iq asks.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MamRequest {
    /// An iq `set` with `<query/>`: fetch messages (XEP-0313 §4).
    Query(Query),
    /// An iq `get` with `<query/>`: which form fields a query may use (§4.1.5).
    FormRequest,
    /// An iq `get` with `<prefs/>` (XEP-0441 §2.1).
    GetPrefs,
    /// An iq `set` with `<prefs/>` (XEP-0441 §2.1).
    SetPrefs(Prefs),
    /// An iq `get` with `<metadata/>`: the first and last message of the archive (§5).
    Metadata,
}

impl MamRequest {
    /// Reads an iq: `None` when it is not for this crate (not a `get` or `set`, or its payload
    /// is not in `urn:xmpp:mam:2`), otherwise the request or why it is refused; the error
    /// converts into the [`xmpp_core::StanzaError`] to answer with.
    ///
    /// See [`MamRequest::from_payload`] for the rules.
    pub fn parse(iq: &Stanza) -> Option<Result<Self, MamError>> {
        let iq_type = iq.iq_type().filter(|t| t.is_request())?;
        let payload = iq.iq_payload()?;
        if payload.ns() != ns::MAM {
            return None;
        }
        Some(Self::from_payload(iq_type, payload))
    }

    /// Reads the payload of a `get` or `set` iq in `urn:xmpp:mam:2`.
    ///
    /// `<query/>` (a `get` is a form request whatever it holds), `<prefs/>` and `<metadata/>`
    /// (a `get` only) are requests; any other element of the namespace is a `bad-request`.
    /// See [`Query::from_element`] and [`Prefs::from_element`] for the payloads' rules.
    pub fn from_payload(iq_type: IqType, payload: &Element) -> Result<Self, MamError> {
        let set = match iq_type {
            IqType::Get => false,
            IqType::Set => true,
            IqType::Result | IqType::Error => {
                return Err(MamError::WrongIqType {
                    payload: "query",
                    iq_type,
                });
            }
        };
        match (payload.ns() == ns::MAM, payload.name(), set) {
            (true, "query", false) => Ok(Self::FormRequest),
            (true, "query", true) => Query::from_element(payload).map(Self::Query),
            (true, "prefs", false) => Ok(Self::GetPrefs),
            (true, "prefs", true) => Prefs::from_element(payload).map(Self::SetPrefs),
            (true, "metadata", false) => Ok(Self::Metadata),
            (true, "metadata", true) => Err(MamError::WrongIqType {
                payload: "metadata",
                iq_type,
            }),
            _ => Err(MamError::UnexpectedChild {
                parent: "iq",
                child: payload.name().to_owned(),
            }),
        }
    }
}

/// Checks who a MAM iq is addressed to: nobody (the sender's own account) or the sender's own
/// bare JID. Another account's archive is `forbidden` (XEP-0313 §8.1); the server routes iqs
/// to full JIDs to their sessions and never asks.
pub fn check_addressee(owner: &BareJid, to: Option<&Jid>) -> Result<(), MamError> {
    match to {
        None => Ok(()),
        Some(to) if to.is_bare() && to.as_str() == owner.as_str() => Ok(()),
        Some(_) => Err(MamError::Forbidden),
    }
}

/// A query: which messages (the form's filter), which page of them (RSM), in which order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// The `queryid` attribute, echoed in every result so that the client can tell its
    /// queries' results apart.
    pub query_id: Option<String>,
    /// The form's fields: `with`, `start`, `end`, `before-id`, `after-id`, `ids`.
    pub filter: Filter,
    /// The RSM `<set/>`.
    pub rsm: Rsm,
    /// `<flip-page/>`: send the page newest first (`#extended`).
    pub flip_page: bool,
}

/// The RSM part of a query (XEP-0059): how many, and from where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rsm {
    /// `<max/>`, as the client asked; [`crate::page::plan`] clamps it to the server's page
    /// size.
    pub max: Option<usize>,
    /// `<after/>`, `<before/>` or neither.
    pub position: Position,
}

/// Which page of the result set a query asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Position {
    /// No `<before/>` or `<after/>`: the first page, oldest messages first.
    #[default]
    First,
    /// `<after>id</after>`: the page just after that message (paging forwards).
    After(String),
    /// `<before>id</before>`: the page just before that message (paging backwards).
    Before(String),
    /// An empty `<before/>`: the last page, the newest messages (XEP-0059 §2.5).
    Last,
}

impl Query {
    /// Reads a `<query xmlns='urn:xmpp:mam:2'/>` of an iq `set`.
    ///
    /// Refused with `bad-request`: a data form that is malformed, not of type `submit`, or of
    /// another `FORM_TYPE`; a field with several values where one is expected, a `with` that
    /// is not a JID, a `start` or `end` that is not an XEP-0082 date-time, an empty id; an RSM
    /// `<set/>` with unknown or repeated children, a `<max/>` or `<index/>` that is not a
    /// number, an empty `<after/>`, `<before/>` and `<after/>` together; a second form,
    /// `<set/>` or `<flip-page/>`; any other child in the MAM namespace.
    ///
    /// Refused with `feature-not-implemented`: a form field other than those of
    /// XEP-0313 (§4.1.5 says so, so that a client knows its filter was not applied), RSM
    /// `<index/>` other than 0, and the `node` attribute of pubsub archives (XEP-0442).
    ///
    /// A form without `FORM_TYPE` is accepted (XEP-0068 lets submissions leave it out), and so
    /// is a field without values (it filters nothing). Children in other namespaces are
    /// ignored.
    pub fn from_element(el: &Element) -> Result<Self, MamError> {
        if el.attr("node").is_some() {
            return Err(MamError::NodeUnsupported);
        }
        let mut query = Self {
            query_id: el.attr("queryid").map(str::to_owned),
            ..Self::default()
        };
        let (mut seen_form, mut seen_set) = (false, false);
        for child in el.children() {
            let once = |seen: &mut bool| {
                if core::mem::replace(seen, true) {
                    Err(MamError::UnexpectedChild {
                        parent: "query",
                        child: child.name().to_owned(),
                    })
                } else {
                    Ok(())
                }
            };
            match (child.ns(), child.name()) {
                (ns::DATA_FORMS, "x") => {
                    once(&mut seen_form)?;
                    query.filter = read_form(child)?;
                }
                (ns::RSM, "set") => {
                    once(&mut seen_set)?;
                    query.rsm = read_rsm(child)?;
                }
                (ns::MAM, "flip-page") => {
                    let mut seen = query.flip_page;
                    once(&mut seen)?;
                    query.flip_page = true;
                }
                (ns::MAM, other) => {
                    return Err(MamError::UnexpectedChild {
                        parent: "query",
                        child: other.to_owned(),
                    });
                }
                _ => {}
            }
        }
        Ok(query)
    }

    /// Writes the query as a client sends it: the form only when the filter has a condition,
    /// the RSM `<set/>` only when it asks for something. [`Query::from_element`] reads it back
    /// to an equal query.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new("query", ns::MAM);
        if let Some(id) = &self.query_id {
            el.set_attr("queryid", id.as_str());
        }
        if self.filter != Filter::default() {
            el.append_child(write_form(&self.filter).to_element());
        }
        if self.rsm != Rsm::default() {
            el.append_child(write_rsm(&self.rsm));
        }
        if self.flip_page {
            el.append_child(Element::new("flip-page", ns::MAM));
        }
        el
    }
}

fn read_form(el: &Element) -> Result<Filter, MamError> {
    let form = Form::from_element(el)?;
    if form.kind != FormKind::Submit {
        return Err(MamError::FormNotSubmitted);
    }
    let mut filter = Filter::default();
    for field in &form.fields {
        let Some(var) = field.var.as_deref() else {
            // Only a `fixed` field may lack a name (Form checks that), and a fixed field
            // submits nothing.
            continue;
        };
        match var {
            xmpp_core::dataform::FORM_TYPE => {
                if let Some(value) = single(field, var)?
                    && value != ns::MAM
                {
                    return Err(MamError::WrongFormType(value.to_owned()));
                }
            }
            WITH => {
                filter.with = single(field, var)?
                    .map(|v| Jid::new(v).map_err(|_| bad_value(var, "not a valid JID")))
                    .transpose()?;
            }
            START => filter.start = single(field, var)?.map(|v| date(var, v)).transpose()?,
            END => filter.end = single(field, var)?.map(|v| date(var, v)).transpose()?,
            BEFORE_ID => filter.before_id = single(field, var)?.map(|v| id(var, v)).transpose()?,
            AFTER_ID => filter.after_id = single(field, var)?.map(|v| id(var, v)).transpose()?,
            IDS => {
                if field.values.len() > MAX_IDS {
                    return Err(MamError::BadValue {
                        name: IDS.to_owned(),
                        reason: "more ids than one query may name",
                    });
                }
                filter.ids = field
                    .values
                    .iter()
                    .map(|v| id(var, v))
                    .collect::<Result<_, _>>()?;
            }
            other => return Err(MamError::UnknownField(other.to_owned())),
        }
    }
    Ok(filter)
}

fn single<'f>(field: &'f Field, var: &str) -> Result<Option<&'f str>, MamError> {
    match field.values.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(bad_value(var, "more than one value")),
    }
}

fn date(var: &str, value: &str) -> Result<std::time::SystemTime, MamError> {
    datetime::parse(value).map_err(|_| bad_value(var, "not an XEP-0082 date-time"))
}

fn id(var: &str, value: &str) -> Result<String, MamError> {
    if value.is_empty() {
        Err(bad_value(var, "an empty id"))
    } else {
        Ok(value.to_owned())
    }
}

fn read_rsm(el: &Element) -> Result<Rsm, MamError> {
    let (mut max, mut after, mut before, mut index) = (None, None, None, None);
    for child in el.children().filter(|c| c.ns() == ns::RSM) {
        let slot = match child.name() {
            "max" => &mut max,
            "after" => &mut after,
            "before" => &mut before,
            "index" => &mut index,
            other => {
                return Err(MamError::UnexpectedChild {
                    parent: "set",
                    child: other.to_owned(),
                });
            }
        };
        if slot.is_some() {
            return Err(MamError::UnexpectedChild {
                parent: "set",
                child: child.name().to_owned(),
            });
        }
        if child.nodes().iter().any(|n| matches!(n, Node::Element(_))) {
            return Err(bad_value(child.name(), "holds elements"));
        }
        *slot = Some(child.text());
    }
    let number = |name: &str, text: Option<String>| {
        text.map(|t| {
            t.parse::<usize>()
                .map_err(|_| bad_value(name, "not a number"))
        })
        .transpose()
    };
    let max = number("max", max)?;
    let index = number("index", index)?;
    if after.as_deref() == Some("") {
        return Err(bad_value("after", "an empty id"));
    }
    let position = match (before, after) {
        (Some(_), Some(_)) => return Err(MamError::BeforeAndAfter),
        (Some(b), None) if b.is_empty() => Position::Last,
        (Some(b), None) => Position::Before(b),
        (None, Some(a)) => Position::After(a),
        (None, None) => Position::First,
    };
    match (index, &position) {
        (None, _) | (Some(0), Position::First) => Ok(Rsm { max, position }),
        (Some(_), _) => Err(MamError::IndexUnsupported),
    }
}

fn write_form(filter: &Filter) -> Form {
    let mut form = Form::with_form_type(FormKind::Submit, ns::MAM);
    let mut text = |var: &str, value: Option<String>| {
        if let Some(value) = value {
            form.fields.push(Field::submitted(var, value));
        }
    };
    text(WITH, filter.with.as_ref().map(|j| j.as_str().to_owned()));
    text(START, filter.start.map(|t| datetime::format_utc(t, true)));
    text(END, filter.end.map(|t| datetime::format_utc(t, true)));
    text(BEFORE_ID, filter.before_id.clone());
    text(AFTER_ID, filter.after_id.clone());
    if !filter.ids.is_empty() {
        let mut ids = Field::new(IDS, FieldType::ListMulti);
        ids.values.clone_from(&filter.ids);
        form.fields.push(ids);
    }
    form
}

fn write_rsm(rsm: &Rsm) -> Element {
    let mut set = Element::new("set", ns::RSM);
    if let Some(max) = rsm.max {
        set.append_child(Element::new("max", ns::RSM).with_text(max.to_string()));
    }
    match &rsm.position {
        Position::First => {}
        Position::After(id) => {
            set.append_child(Element::new("after", ns::RSM).with_text(id.as_str()));
        }
        Position::Before(id) => {
            set.append_child(Element::new("before", ns::RSM).with_text(id.as_str()));
        }
        Position::Last => {
            set.append_child(Element::new("before", ns::RSM));
        }
    }
    set
}

#[cfg(test)]
mod tests;
