//! Building the answers to MAM iqs: result messages, the final `<fin/>`, the query form,
//! preferences and archive metadata (XEP-0313 §4.2, §4.3, §4.1.5, §5; XEP-0441).
//!
//! Every answer is built from the request iq, addressed back the way
//! [`Stanza::iq_result`] does it: `to` the requester, `from` the address the query was sent
//! to. A query to one's own account has no `to`, so its results have no `from`, which a client
//! reads as its own account; a query sent to the bare JID gets results from the bare JID, as
//! XEP-0313 §8.2 asks clients to check. The `*_answer` functions return `None`, as
//! [`Stanza::iq_result`] does, for an iq that is not a `get` or `set`.

use std::time::{SystemTime, UNIX_EPOCH};

use xmpp_core::dataform::{Field, FieldType, Form, FormKind};
use xmpp_core::stanza::StanzaNs;
use xmpp_core::{Element, Stanza, datetime};

use crate::ns;
use crate::page::Page;
use crate::prefs::Prefs;
use crate::query::{AFTER_ID, BEFORE_ID, END, IDS, START, WITH};
use crate::store::{ArchivedMessage, Bounds};

/// One result (§4.2): `<message to='requester' [from='archive']><result xmlns='urn:xmpp:mam:2'
/// [queryid] id><forwarded xmlns='urn:xmpp:forward:0'><delay stamp/><message…/></forwarded>
/// </result></message>`, in the namespace of the query's stream.
///
/// The archived message goes in as it was archived, moved into `jabber:client` if it was
/// stored from a server-to-server stream (XEP-0297 forwards client stanzas). The delay stamp
/// is when it was archived, in UTC, with milliseconds when it has any.
pub fn result_message(iq: &Stanza, query_id: Option<&str>, message: &ArchivedMessage) -> Stanza {
    let mut archived = message.stanza.clone();
    if StanzaNs::from_uri(archived.ns()).is_some_and(|n| n != StanzaNs::Client) {
        archived.set_ns_deep(&StanzaNs::Client.namespace());
    }
    let forwarded = Element::new("forwarded", ns::FORWARD)
        .with_child(Element::new("delay", ns::DELAY).with_attr("stamp", stamp(message.timestamp)))
        .with_child(archived);
    let mut result = Element::new("result", ns::MAM).with_attr("id", message.id.as_str());
    if let Some(query_id) = query_id {
        result.set_attr("queryid", query_id);
    }
    result.append_child(forwarded);
    let mut el = Element::new("message", iq.ns().namespace());
    if let Some(to) = iq.from() {
        el.set_attr("to", to.as_str());
    }
    if let Some(from) = iq.to() {
        el.set_attr("from", from.as_str());
    }
    el.append_child(result);
    // A message in a stanza namespace, with addresses that came from a checked stanza and no
    // type, passes every check.
    Stanza::from_element(el).expect("a result message built from a checked iq is valid")
}

/// Every result message of a page, in the page's order.
pub fn result_messages<'a>(
    iq: &'a Stanza,
    query_id: Option<&'a str>,
    page: &'a Page,
) -> impl Iterator<Item = Stanza> + 'a {
    page.messages
        .iter()
        .map(move |m| result_message(iq, query_id, m))
}

/// The `<fin/>` that ends a query (§4.3): `complete='true'` on the last page, and an RSM
/// `<set/>` with the page's `<first/>` and `<last/>`, empty for an empty page (XEP-0059 §2.2:
/// no `<first/>`/`<last/>` without items). No `<count/>` and no `index`: see
/// [`crate::page`] for why.
pub fn fin_element(page: &Page) -> Element {
    let mut set = Element::new("set", ns::RSM);
    if let (Some(first), Some(last)) = (&page.first, &page.last) {
        set.append_child(Element::new("first", ns::RSM).with_text(first.as_str()));
        set.append_child(Element::new("last", ns::RSM).with_text(last.as_str()));
    }
    let mut fin = Element::new("fin", ns::MAM);
    if page.complete {
        fin.set_attr("complete", "true");
    }
    fin.with_child(set)
}

/// The iq result that ends a query, sent after the page's result messages: [`fin_element`].
pub fn fin_answer(iq: &Stanza, page: &Page) -> Option<Stanza> {
    iq.iq_result(Some(fin_element(page)))
}

/// The query form (§4.1.5): `FORM_TYPE` (hidden), `with` (jid-single), `start`, `end`,
/// `before-id`, `after-id` (text-single) and `ids` (list-multi, open to any value through an
/// XEP-0122 `<validate/>`, since listing the ids of an archive is out of the question). None
/// is required (§4.1).
pub fn query_form() -> Form {
    let validate = Element::new("validate", ns::XDATA_VALIDATE)
        .with_attr("datatype", "xs:string")
        .with_child(Element::new("open", ns::XDATA_VALIDATE));
    Form::with_form_type(FormKind::Form, ns::MAM)
        .with_field(Field::new(WITH, FieldType::JidSingle))
        .with_field(Field::new(START, FieldType::TextSingle))
        .with_field(Field::new(END, FieldType::TextSingle))
        .with_field(Field::new(BEFORE_ID, FieldType::TextSingle))
        .with_field(Field::new(AFTER_ID, FieldType::TextSingle))
        .with_field(Field::new(IDS, FieldType::ListMulti).with_payload(validate))
}

/// The answer to a form request: `<query xmlns='urn:xmpp:mam:2'>` holding [`query_form`].
pub fn form_answer(iq: &Stanza) -> Option<Stanza> {
    iq.iq_result(Some(
        Element::new("query", ns::MAM).with_child(query_form().to_element()),
    ))
}

/// The answer to a preferences get or set: the preferences in force, as
/// [`Prefs::to_element`] writes them (XEP-0441 §2.1).
pub fn prefs_answer(iq: &Stanza, prefs: &Prefs) -> Option<Stanza> {
    iq.iq_result(Some(prefs.to_element()))
}

/// The archive metadata (§5): `<metadata xmlns='urn:xmpp:mam:2'><start id timestamp/><end id
/// timestamp/></metadata>`. An empty archive has neither and gets an empty `<metadata/>`,
/// which is what clients (and xmpp-parsers) expect: there is no first or last message to name.
pub fn metadata_element(bounds: Option<&Bounds>) -> Element {
    let mut el = Element::new("metadata", ns::MAM);
    if let Some(bounds) = bounds {
        for (name, (id, at)) in [("start", &bounds.first), ("end", &bounds.last)] {
            el.append_child(
                Element::new(name, ns::MAM)
                    .with_attr("id", id.as_str())
                    .with_attr("timestamp", stamp(*at)),
            );
        }
    }
    el
}

/// The answer to a metadata request: [`metadata_element`].
pub fn metadata_answer(iq: &Stanza, bounds: Option<&Bounds>) -> Option<Stanza> {
    iq.iq_result(Some(metadata_element(bounds)))
}

/// An XEP-0082 stamp: milliseconds only when the time has any, so that whole seconds read as
/// they always have.
fn stamp(at: SystemTime) -> String {
    let millis = at
        .duration_since(UNIX_EPOCH)
        .map_or(true, |d| d.subsec_millis() != 0);
    datetime::format_utc(at, millis)
}

#[cfg(test)]
mod tests;
