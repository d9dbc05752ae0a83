//! TLS for c2s: the handshake (chosen by SNI) and the channel-binding data it yields.

use tokio::net::TcpStream;
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;
use xmpp_sasl::ChannelBindings;

use crate::ServerContext;

/// RFC 9266: the exporter label for `tls-exporter`.
const EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

/// The binding data this TLS session can offer SCRAM-*-PLUS: `tls-exporter` on TLS 1.3 only
/// (RFC 9266 §3), `tls-server-end-point` from the certificate we presented.
fn bindings(stream: &TlsStream<TcpStream>, end_point: Option<Vec<u8>>) -> ChannelBindings {
    let (_, conn) = stream.get_ref();
    let tls_exporter = (conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3))
        .then(|| {
            conn.export_keying_material([0u8; 32], EXPORTER_LABEL, None)
                .ok()
                .map(|k| k.to_vec())
        })
        .flatten();
    ChannelBindings {
        tls_exporter,
        tls_server_end_point: end_point,
    }
}

/// Completes a Direct TLS handshake (XEP-0368, ALPN `xmpp-client`). The stream comes boxed:
/// rustls' connection state is 1.2 KiB that would otherwise take room in every state of the
/// session's task.
pub(crate) async fn accept_direct(
    ctx: &ServerContext,
    tcp: TcpStream,
) -> std::io::Result<(Box<TlsStream<TcpStream>>, ChannelBindings)> {
    let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp).await?;
    let material = ctx.tls.select(start.client_hello().server_name());
    let end_point = material.tls_server_end_point.clone();
    let stream = start.into_stream(material.config_direct.clone()).await?;
    let cb = bindings(&stream, end_point);
    Ok((Box::new(stream), cb))
}

/// Completes the handshake after `<proceed/>`. The SNI picks the certificate; without one, the
/// domain the stream was opened to. Boxed, as for [`accept_direct`].
pub(crate) async fn accept_starttls(
    ctx: &ServerContext,
    tcp: TcpStream,
    stream_domain: Option<&str>,
) -> std::io::Result<(Box<TlsStream<TcpStream>>, ChannelBindings)> {
    let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp).await?;
    let material = ctx
        .tls
        .select(start.client_hello().server_name().or(stream_domain));
    let end_point = material.tls_server_end_point.clone();
    let stream = start.into_stream(material.config_starttls.clone()).await?;
    let cb = bindings(&stream, end_point);
    Ok((Box::new(stream), cb))
}
