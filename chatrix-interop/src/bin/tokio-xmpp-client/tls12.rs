//! A tokio-xmpp `ServerConnector` that speaks TLS 1.2 only.
//!
//! tokio-xmpp's own connectors let rustls pick the version (TLS 1.3 against Chatrix), and on
//! TLS 1.3 they always hand `tls-exporter` channel-binding data to the SASL layer, whose SCRAM
//! then only ever names itself `SCRAM-*-PLUS`: plain `SCRAM-SHA-1` and `SCRAM-SHA-256` are
//! unreachable. On TLS 1.2 tokio-xmpp has no channel binding at all (it does not implement
//! `tls-server-end-point`), so it uses plain SCRAM. This connector is the stock STARTTLS and
//! Direct TLS connector with the protocol version pinned to 1.2: the same trust roots
//! (`SSL_CERT_FILE`, as `rustls-native-certs` reads it), the same stream headers, and
//! `ChannelBinding::None` as tokio-xmpp itself returns on TLS 1.2. Everything after the TLS
//! handshake (features, SASL, bind, stanzas) is tokio-xmpp's.

use std::borrow::Cow;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use futures::{SinkExt as _, StreamExt as _};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use sasl::common::ChannelBinding;
use tokio::io::BufStream;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_xmpp::connect::ServerConnector;
use tokio_xmpp::error::{Error, ProtocolError};
use tokio_xmpp::jid::Jid;
use tokio_xmpp::parsers::starttls;
use tokio_xmpp::xmlstream::{
    FallibleStreamElement, PendingFeaturesRecv, ReadError, StreamHeader, Timeouts,
    XmppStreamElement, initiate_stream,
};

/// How TLS starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Plaintext stream, `<starttls/>`, then TLS (RFC 6120 §5).
    StartTls,
    /// TLS from the first byte (XEP-0368).
    Direct,
}

/// Connects to one address with TLS 1.2 only.
#[derive(Debug, Clone)]
pub(crate) struct Tls12Connector {
    addr: String,
    start: Start,
    config: Arc<rustls::ClientConfig>,
}

impl Tls12Connector {
    /// Trust roots from `SSL_CERT_FILE`, as `rustls-native-certs` loads them when it is set.
    pub(crate) fn new(addr: &str, start: Start) -> Result<Self, String> {
        let path = std::env::var_os("SSL_CERT_FILE")
            .map(PathBuf::from)
            .ok_or("--tls 1.2 takes its trust roots from SSL_CERT_FILE, which is unset")?;
        let mut roots = rustls::RootCertStore::empty();
        let certs =
            CertificateDer::pem_file_iter(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            addr: addr.to_owned(),
            start,
            config: Arc::new(config),
        })
    }

    async fn handshake(&self, tcp: TcpStream, domain: &str) -> Result<TlsStream<TcpStream>, Error> {
        let name = ServerName::try_from(domain.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let tls = TlsConnector::from(Arc::clone(&self.config))
            .connect(name, tcp)
            .await?;
        debug_assert_eq!(
            tls.get_ref().1.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_2)
        );
        Ok(tls)
    }
}

fn header(jid: &Jid, with_from: bool) -> StreamHeader<'_> {
    StreamHeader {
        to: Some(Cow::Borrowed(jid.domain().as_str())),
        // tokio-xmpp's Direct TLS connector names the account in `from`; its STARTTLS one does
        // not.
        from: with_from.then(|| Cow::Owned(jid.to_bare().to_string())),
        id: None,
    }
}

impl ServerConnector for Tls12Connector {
    type Stream = BufStream<TlsStream<TcpStream>>;

    async fn connect(
        &self,
        jid: &Jid,
        ns: &'static str,
        timeouts: Timeouts,
    ) -> Result<(PendingFeaturesRecv<Self::Stream>, ChannelBinding), Error> {
        let tcp = TcpStream::connect(self.addr.as_str()).await?;
        let domain = jid.domain().as_str();
        let tcp = match self.start {
            Start::Direct => tcp,
            Start::StartTls => {
                let pending =
                    initiate_stream(BufStream::new(tcp), ns, header(jid, false), timeouts).await?;
                let (features, mut stream) =
                    pending.recv_features::<FallibleStreamElement>().await?;
                if !features.can_starttls() {
                    return Err(ProtocolError::NoTls.into());
                }
                stream
                    .send(&XmppStreamElement::Starttls(starttls::Nonza::Request(
                        starttls::Request,
                    )))
                    .await?;
                loop {
                    match stream
                        .next()
                        .await
                        .map(|r| r.and_then(FallibleStreamElement::into_read_error))
                    {
                        Some(Ok(XmppStreamElement::Starttls(starttls::Nonza::Proceed(_)))) => {
                            break;
                        }
                        Some(Ok(_) | Err(ReadError::SoftTimeout)) => {}
                        Some(Err(ReadError::HardError(e))) => return Err(e.into()),
                        Some(Err(ReadError::ParseError(e))) => {
                            return Err(io::Error::new(io::ErrorKind::InvalidData, e).into());
                        }
                        None | Some(Err(ReadError::StreamFooterReceived)) => {
                            return Err(Error::Disconnected);
                        }
                    }
                }
                stream.into_inner().into_inner()
            }
        };
        let tls = self.handshake(tcp, domain).await?;
        let with_from = self.start == Start::Direct;
        let pending =
            initiate_stream(BufStream::new(tls), ns, header(jid, with_from), timeouts).await?;
        Ok((pending, ChannelBinding::None))
    }
}
