//! One XMPP connection's bytes: the transport (plain or TLS), the framer that turns the
//! server's bytes into stream events, and the writer for our side.
//!
//! Generic over the underlying byte stream so that tests can run the whole client against a
//! scripted server over `tokio::io::duplex`.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use xmpp_core::{Element, ns};
use xmpp_sasl::ChannelBindings;
use xmpp_stream::{FrameEvent, Framer, Limits, StreamHeader};

use crate::error::{Error, Phase};

/// Bytes read from the socket at once.
const READ_CHUNK: usize = 4096;

/// Plain or TLS, over any byte stream.
#[derive(Debug)]
pub(crate) enum Transport<S> {
    Plain(S),
    Tls(Box<TlsStream<S>>),
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Transport<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Transport<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Runs the TLS handshake over `io`.
pub(crate) async fn tls_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
) -> Result<Transport<S>, Error> {
    TlsConnector::from(config)
        .connect(name, io)
        .await
        .map(|s| Transport::Tls(Box::new(s)))
        .map_err(|e| match e.get_ref() {
            Some(inner) if inner.is::<rustls::Error>() => Error::Tls(inner.to_string()),
            _ => Error::io(Phase::Tls, e),
        })
}

/// An XMPP stream over a transport: stream events in, elements out.
#[derive(Debug)]
pub(crate) struct XmppConn<S> {
    io: Transport<S>,
    framer: Framer,
    /// Bytes read but not yet framed: `rbuf[rpos..rlen]`.
    rbuf: Box<[u8]>,
    rpos: usize,
    rlen: usize,
    wbuf: BytesMut,
}

impl<S: AsyncRead + AsyncWrite + Unpin> XmppConn<S> {
    pub(crate) fn new(io: Transport<S>) -> Self {
        Self {
            io,
            framer: Framer::new(Limits::default()),
            rbuf: vec![0; READ_CHUNK].into_boxed_slice(),
            rpos: 0,
            rlen: 0,
            wbuf: BytesMut::with_capacity(512),
        }
    }

    /// Whether the transport is TLS.
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self.io, Transport::Tls(_))
    }

    /// Channel-binding data from the TLS layer: `tls-exporter` on TLS 1.3 (RFC 9266).
    pub(crate) fn channel_bindings(&self) -> ChannelBindings {
        let Transport::Tls(tls) = &self.io else {
            return ChannelBindings::none();
        };
        let (_, conn) = tls.get_ref();
        if conn.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
            return ChannelBindings::none();
        }
        ChannelBindings {
            tls_exporter: conn
                .export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
                .ok()
                .map(|k| k.to_vec()),
            tls_server_end_point: None,
        }
    }

    /// Opens our stream (or reopens it after STARTTLS or SASL) and resets the framer for the
    /// server's.
    pub(crate) async fn open_stream(&mut self, domain: &str, phase: Phase) -> Result<(), Error> {
        self.framer.restart();
        let header = StreamHeader {
            to: Some(domain.to_owned()),
            version: Some("1.0".to_owned()),
            lang: Some("en".to_owned()),
            content_ns: ns::JABBER_CLIENT.to_owned(),
            ..StreamHeader::default()
        };
        self.wbuf.clear();
        header.write_open(&mut self.wbuf);
        self.flush_wbuf(phase).await
    }

    /// Sends one element (a stanza or nonza).
    pub(crate) async fn send(&mut self, element: &Element, phase: Phase) -> Result<(), Error> {
        self.wbuf.clear();
        xmpp_stream::write::write_element(&mut self.wbuf, element, ns::JABBER_CLIENT);
        self.flush_wbuf(phase).await
    }

    /// Sends raw bytes (whitespace keep-alives).
    pub(crate) async fn send_raw(&mut self, bytes: &[u8], phase: Phase) -> Result<(), Error> {
        self.wbuf.clear();
        self.wbuf.extend_from_slice(bytes);
        self.flush_wbuf(phase).await
    }

    /// Sends `</stream:stream>`.
    pub(crate) async fn send_close(&mut self) -> Result<(), Error> {
        self.wbuf.clear();
        xmpp_stream::write::write_close(&mut self.wbuf);
        self.flush_wbuf(Phase::Close).await
    }

    async fn flush_wbuf(&mut self, phase: Phase) -> Result<(), Error> {
        self.io
            .write_all(&self.wbuf)
            .await
            .map_err(|e| Error::io(phase, e))?;
        self.io.flush().await.map_err(|e| Error::io(phase, e))
    }

    /// The next event from the server. Cancel-safe: dropping the future loses no bytes.
    ///
    /// A connection closed without `</stream:stream>` is [`Error::Closed`].
    pub(crate) async fn next_event(&mut self, phase: Phase) -> Result<FrameEvent, Error> {
        loop {
            if self.rpos < self.rlen {
                let mut unread = &self.rbuf[self.rpos..self.rlen];
                let before = unread.len();
                let event = self.framer.poll_event(&mut unread)?;
                self.rpos += before - unread.len();
                if let Some(event) = event {
                    return Ok(event);
                }
            }
            if self.framer.is_closed() {
                return Err(Error::Closed(phase));
            }
            self.rpos = 0;
            self.rlen = 0;
            let n = self
                .io
                .read(&mut self.rbuf)
                .await
                .map_err(|e| Error::io(phase, e))?;
            if n == 0 {
                return Err(Error::Closed(phase));
            }
            self.rlen = n;
        }
    }

    /// Whether bytes the server sent are buffered but not framed yet.
    pub(crate) fn has_buffered_input(&self) -> bool {
        self.rpos < self.rlen
    }

    /// Upgrades to TLS after `<proceed/>`. Bytes the server pipelined behind `<proceed/>` are
    /// refused (RFC 6120 §5.4.3.3): they would have been injected in plaintext.
    pub(crate) async fn starttls(
        self,
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<Self, Error> {
        if self.has_buffered_input() {
            return Err(Error::Protocol("data after <proceed/>"));
        }
        let Transport::Plain(io) = self.io else {
            return Err(Error::Protocol("STARTTLS on a TLS stream"));
        };
        let io = tls_handshake(io, config, name).await?;
        Ok(Self::new(io))
    }

    /// Frees the framer's scratch space while the session idles.
    pub(crate) fn release_temporaries(&mut self) {
        self.framer.release_temporaries();
    }

    /// Shuts the transport down (TLS `close_notify`, then FIN).
    pub(crate) async fn shutdown(&mut self) -> Result<(), Error> {
        self.io
            .shutdown()
            .await
            .map_err(|e| Error::io(Phase::Close, e))
    }
}
