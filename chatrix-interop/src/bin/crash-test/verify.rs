//! After the last restart: what each account's archive (XEP-0313) and offline store hold.

use std::collections::HashSet;
use std::time::Duration;

use xmpp_core::{Element, ns};

use crate::client::{Conn, Error, Got};
use crate::traffic::key_of;

/// Messages per MAM page asked for (the server's default maximum).
const PAGE: usize = 250;

/// How long the offline store may take to arrive after initial presence, once the server
/// has answered a ping sent after it.
const OFFLINE_QUIET: Duration = Duration::from_secs(1);

/// What the server holds for one account.
#[derive(Debug, Default)]
pub(crate) struct Holdings {
    /// Keys of the messages in its archive, both directions.
    pub(crate) archive: HashSet<String>,
    /// Archive entries (a key found twice counts twice).
    pub(crate) archive_entries: usize,
    /// Keys of the messages the offline store delivered after initial presence.
    pub(crate) offline: HashSet<String>,
}

/// Logs in on a fresh session (no stream management), pages through the whole archive, then
/// sends initial presence and collects the offline messages.
pub(crate) async fn holdings(mut conn: Conn) -> Result<Holdings, Error> {
    let mut found = Holdings::default();
    let mut after: Option<String> = None;
    for page in 0.. {
        let query_id = format!("q{page}");
        let iq_id = format!("mam-{page}");
        let after_xml = after
            .as_deref()
            .map(|a| format!("<after>{a}</after>"))
            .unwrap_or_default();
        conn.writer
            .send(&format!(
                "<iq type='set' id='{iq_id}'><query xmlns='{}' queryid='{query_id}'>\
                 <set xmlns='{}'><max>{PAGE}</max>{after_xml}</set></query></iq>",
                ns::MAM,
                ns::RSM
            ))
            .await?;
        let fin = loop {
            let e = conn.reader.recv().await?;
            if e.is("iq", ns::JABBER_CLIENT) && e.attr("id") == Some(iq_id.as_str()) {
                break e;
            }
            if let Some(message) = result_message(&e, &query_id) {
                let key = key_of(message)
                    .ok_or_else(|| format!("an archived message without a key: {e:?}"))?;
                found.archive.insert(key);
                found.archive_entries += 1;
            }
        };
        if fin.attr("type") != Some("result") {
            return Err(format!("the archive query failed: {fin:?}").into());
        }
        let fin = fin
            .get_child("fin", ns::MAM)
            .ok_or_else(|| format!("no <fin/>: {fin:?}"))?;
        if matches!(fin.attr("complete"), Some("true" | "1")) {
            break;
        }
        let last = fin
            .get_child("set", ns::RSM)
            .and_then(|s| s.child_text("last", ns::RSM))
            .ok_or_else(|| format!("an incomplete page without <last/>: {fin:?}"))?;
        if after.as_deref() == Some(last.as_str()) {
            return Err(format!("the archive does not advance past {last}").into());
        }
        after = Some(last);
    }

    conn.writer.send("<presence/>").await?;
    conn.writer
        .send(&format!(
            "<iq type='get' id='offline' to='localhost'><ping xmlns='{}'/></iq>",
            ns::PING
        ))
        .await?;
    let mut ponged = false;
    loop {
        let next = if ponged {
            match tokio::time::timeout(OFFLINE_QUIET, conn.reader.next()).await {
                Err(_) => break,
                Ok(next) => next?,
            }
        } else {
            Got::Element(conn.reader.recv().await?)
        };
        let Got::Element(e) = next else {
            return Err("the server closed the stream while delivering offline messages".into());
        };
        if e.is("iq", ns::JABBER_CLIENT) && e.attr("id") == Some("offline") {
            ponged = true;
        } else if e.is("message", ns::JABBER_CLIENT)
            && e.attr("type") != Some("error")
            && e.has_child("body", ns::JABBER_CLIENT)
            && let Some(key) = key_of(&e)
        {
            found.offline.insert(key);
        }
    }
    conn.close().await;
    Ok(found)
}

/// The archived message in a MAM result for this query.
fn result_message<'a>(e: &'a Element, query_id: &str) -> Option<&'a Element> {
    if !e.is("message", ns::JABBER_CLIENT) {
        return None;
    }
    let result = e.get_child("result", ns::MAM)?;
    if result.attr("queryid") != Some(query_id) {
        return None;
    }
    result
        .get_child("forwarded", ns::FORWARD)?
        .get_child("message", ns::JABBER_CLIENT)
}
