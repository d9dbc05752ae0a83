//! One client's traffic during a round: with stream management on, it sends chat messages to
//! its peer as fast as the window allows, each followed by `<r/>`, and reads the server's
//! `<a h='…'/>` answers. Every stanza it sends after `<enabled/>` is logged in order, so that
//! the server's `h` names exactly which of them the server has acknowledged.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use xmpp_core::{Element, ns};

use crate::client::{Conn, Error, Got, Reader, Writer};

/// A stanza the client sent after enabling stream management.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Presence, a ping, an error answer to the server's IQ: counted by the server's `h`,
    /// not checked.
    Other,
    /// A chat message, by its key (its `id`, its origin-id, and the end of its body).
    Message(String),
}

/// What one client saw during a round; shared by its reader and writer tasks.
#[derive(Debug, Default)]
pub(crate) struct Log {
    /// Every stanza sent since `<enabled/>`, in order.
    pub(crate) sent: Vec<Sent>,
    /// The highest `h` the server acknowledged (stanzas of `sent` it has handled).
    pub(crate) h: u64,
    /// Messages the server answered with an error: it told the sender, so they may be
    /// missing without breaking "ack means durable".
    pub(crate) errors: HashSet<String>,
    /// Keys of the messages with a body received from the peer while the round ran.
    pub(crate) received: Vec<String>,
    /// Stanzas received since `<enabled/>` (the `h` this client reports).
    inbound: u64,
    /// The connection is over.
    pub(crate) closed: bool,
    /// Why, if the server said (a stream error) or the XML was bad.
    pub(crate) close_reason: Option<String>,
}

impl Log {
    /// The messages among the first `h` stanzas sent.
    pub(crate) fn acked_messages(&self) -> impl Iterator<Item = &str> {
        let h = usize::try_from(self.h).unwrap_or(usize::MAX);
        self.sent.iter().take(h).filter_map(|s| match s {
            Sent::Message(key) => Some(key.as_str()),
            Sent::Other => None,
        })
    }

    /// Every message sent.
    pub(crate) fn messages(&self) -> impl Iterator<Item = &str> {
        self.sent.iter().filter_map(|s| match s {
            Sent::Message(key) => Some(key.as_str()),
            Sent::Other => None,
        })
    }

    fn in_flight(&self) -> u64 {
        (self.sent.len() as u64).saturating_sub(self.h)
    }
}

fn lock(log: &Mutex<Log>) -> std::sync::MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The key of a message: `alice-2-17` is alice's 18th message in round 2.
pub(crate) fn message_key(from: &str, round: u32, n: u64) -> String {
    format!("{from}-{round}-{n}")
}

/// The text of a message.
pub(crate) fn body(key: &str) -> String {
    format!("crash test {key}")
}

/// The key of a message the server gave back (live, from the archive or the offline store):
/// its origin-id, else its id, else the end of its body.
pub(crate) fn key_of(message: &Element) -> Option<String> {
    if let Some(id) = message
        .get_child("origin-id", ns::SID)
        .and_then(|o| o.attr("id"))
    {
        return Some(id.to_owned());
    }
    if let Some(id) = message.attr("id") {
        return Some(id.to_owned());
    }
    message
        .child_text("body", ns::JABBER_CLIENT)
        .and_then(|b| b.strip_prefix("crash test ").map(str::to_owned))
}

/// What the writer is told to send besides messages.
#[derive(Debug)]
enum Control {
    /// Not a stanza (`<a/>`): not counted, not logged.
    Nonza(String),
    /// A stanza (an error answer to an IQ): counted by the server, so logged.
    Stanza(String),
}

/// Readies a logged-in connection for a round: `<enable/>`, initial presence, a ping whose
/// answer shows that both were handled, and `<r/>`, whose `<a h='2'/>` checks where the
/// server's count starts. Returns the log that counts them.
pub(crate) async fn prepare(conn: &mut Conn) -> Result<Log, Error> {
    conn.enable_sm().await?;
    let mut log = Log::default();
    conn.writer.send("<presence/>").await?;
    log.sent.push(Sent::Other);
    conn.writer
        .send(&format!(
            "<iq type='get' id='ready' to='localhost'><ping xmlns='{}'/></iq>",
            ns::PING
        ))
        .await?;
    log.sent.push(Sent::Other);
    conn.writer
        .send(&format!("<r xmlns='{}'/>", ns::SM))
        .await?;
    let (mut ponged, mut acked) = (false, false);
    loop {
        let e = conn.reader.recv().await?;
        if is_stanza(&e) {
            log.inbound += 1;
        }
        // The server asks no more while one request waits, so none may go unanswered.
        if e.is("r", ns::SM) {
            conn.writer
                .send(&format!("<a xmlns='{}' h='{}'/>", ns::SM, log.inbound))
                .await?;
        }
        // Offline messages from an earlier round arrive after initial presence.
        if e.is("message", ns::JABBER_CLIENT)
            && e.attr("type") != Some("error")
            && e.has_child("body", ns::JABBER_CLIENT)
            && let Some(key) = key_of(&e)
        {
            log.received.push(key);
        }
        if e.is("iq", ns::JABBER_CLIENT) && e.attr("id") == Some("ready") {
            if e.attr("type") != Some("result") {
                return Err(format!("the ping failed: {e:?}").into());
            }
            ponged = true;
        }
        if e.is("a", ns::SM) {
            // The base of the count: the server's h must name exactly the presence and the
            // ping, or every later ack would be read against the wrong stanzas.
            let h = e.attr("h").and_then(|h| h.parse::<u64>().ok());
            if h != Some(log.sent.len() as u64) {
                return Err(format!(
                    "after presence and a ping the server acknowledged {h:?} stanzas, not {}",
                    log.sent.len()
                )
                .into());
            }
            log.h = log.sent.len() as u64;
            acked = true;
        }
        if ponged && acked {
            return Ok(log);
        }
    }
}

fn is_stanza(e: &Element) -> bool {
    e.ns() == ns::JABBER_CLIENT && matches!(e.name(), "message" | "presence" | "iq")
}

/// A client's round in progress.
#[derive(Debug)]
pub(crate) struct Running {
    pub(crate) log: Arc<Mutex<Log>>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Running {
    /// Starts the reader and writer tasks: `me` sends to `peer`, at most `window` stanzas
    /// unacknowledged at a time.
    pub(crate) fn start(
        conn: Conn,
        log: Log,
        me: &str,
        peer: &str,
        round: u32,
        window: u64,
    ) -> Self {
        let log = Arc::new(Mutex::new(log));
        let acked = Arc::new(Notify::new());
        let (control, controls) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_loop(
            conn.reader,
            Arc::clone(&log),
            Arc::clone(&acked),
            control,
        ));
        let writer = tokio::spawn(write_loop(
            conn.writer,
            Arc::clone(&log),
            acked,
            controls,
            Party {
                me: me.to_owned(),
                to: format!("{peer}@localhost"),
                round,
                window,
            },
        ));
        Self {
            log,
            reader,
            writer,
        }
    }

    /// Messages acknowledged so far.
    pub(crate) fn acked(&self) -> usize {
        lock(&self.log).acked_messages().count()
    }

    /// Whether the connection is over.
    pub(crate) fn closed(&self) -> bool {
        lock(&self.log).closed
    }

    /// After the server is gone: lets the reader take in everything the server wrote before
    /// it died (its last `<a/>`s count), then stops the writer.
    pub(crate) async fn finish(self) -> Result<Log, Error> {
        let read = tokio::time::timeout(crate::client::READ_TIMEOUT, self.reader).await;
        self.writer.abort();
        let _ = self.writer.await;
        match read {
            Err(_) => return Err("the connection stayed open after the server was killed".into()),
            Ok(Err(e)) => return Err(format!("the reader task failed: {e}").into()),
            Ok(Ok(())) => {}
        }
        let log = Arc::try_unwrap(self.log)
            .map_err(|_| "the log is still shared")?
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(log)
    }
}

async fn read_loop(
    mut reader: Reader,
    log: Arc<Mutex<Log>>,
    acked: Arc<Notify>,
    control: mpsc::UnboundedSender<Control>,
) {
    loop {
        let e = match reader.next().await {
            Ok(Got::Element(e)) => e,
            Ok(Got::Closed) => break,
            Err(e) => {
                lock(&log).close_reason = Some(e.to_string());
                break;
            }
        };
        let mut log = lock(&log);
        if e.is("a", ns::SM) {
            if let Some(h) = e.attr("h").and_then(|h| h.parse::<u64>().ok()) {
                // Counts stay far below 2^32 here, so no wrap-around to handle.
                log.h = log.h.max(h);
            } else {
                log.close_reason = Some(format!("an <a/> without a valid h: {e:?}"));
            }
            acked.notify_one();
        } else if e.is("r", ns::SM) {
            let _ = control.send(Control::Nonza(format!(
                "<a xmlns='{}' h='{}'/>",
                ns::SM,
                log.inbound
            )));
        } else if is_stanza(&e) {
            log.inbound += 1;
            match e.name() {
                "message" if e.attr("type") == Some("error") => {
                    if let Some(id) = e.attr("id") {
                        log.errors.insert(id.to_owned());
                    }
                }
                "message" if e.has_child("body", ns::JABBER_CLIENT) => {
                    if let Some(key) = key_of(&e) {
                        log.received.push(key);
                    }
                }
                "iq" if matches!(e.attr("type"), Some("get" | "set")) => {
                    // The server's keep-alive pings get their answer; anything else an error.
                    let id = e.attr("id").unwrap_or_default();
                    let answer = if e.has_child("ping", ns::PING) {
                        format!("<iq type='result' id='{id}'/>")
                    } else {
                        format!(
                            "<iq type='error' id='{id}'><error type='cancel'>\
                             <service-unavailable xmlns='{}'/></error></iq>",
                            ns::XMPP_STANZAS
                        )
                    };
                    let _ = control.send(Control::Stanza(answer));
                }
                _ => {}
            }
        } else if e.is("error", ns::STREAM) {
            log.close_reason = Some(format!("stream error: {e:?}"));
        }
    }
    lock(&log).closed = true;
    acked.notify_one();
}

/// Who sends what in a writer task.
#[derive(Debug)]
struct Party {
    me: String,
    to: String,
    round: u32,
    window: u64,
}

async fn write_loop(
    mut writer: Writer,
    log: Arc<Mutex<Log>>,
    acked: Arc<Notify>,
    mut controls: mpsc::UnboundedReceiver<Control>,
    party: Party,
) {
    let mut n = 0u64;
    loop {
        let can_send = {
            let log = lock(&log);
            !log.closed && log.in_flight() < party.window
        };
        let data = tokio::select! {
            biased;
            control = controls.recv() => match control {
                Some(Control::Nonza(data)) => data,
                Some(Control::Stanza(data)) => {
                    lock(&log).sent.push(Sent::Other);
                    data
                }
                None => return,
            },
            () = acked.notified(), if !can_send => continue,
            () = std::future::ready(()), if can_send => {
                let key = message_key(&party.me, party.round, n);
                n += 1;
                let data = format!(
                    "<message type='chat' to='{}' id='{key}'><body>{}</body>\
                     <origin-id xmlns='{}' id='{key}'/></message><r xmlns='{}'/>",
                    party.to,
                    body(&key),
                    ns::SID,
                    ns::SM
                );
                // Logged before it is written: a stanza the server may have read must have
                // its place in the sequence; one it never read is simply never acknowledged.
                lock(&log).sent.push(Sent::Message(key));
                data
            }
        };
        if writer.send(&data).await.is_err() {
            return;
        }
    }
}
