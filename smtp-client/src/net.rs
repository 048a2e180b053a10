//! What [`Connection`](crate::Connection) needs around the session: address parsing,
//! the TCP connect, the TLS handshake, and small helpers.

use crate::error::Error;
use crate::options::ClientOptions;
use crate::tls;
use crate::transport::Transport;
use crate::verify::CertFailure;
use smtp_proto::client::policy::Verification;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Splits `host:port`, `[v6]:port`, `host` or a bare IPv6 address.
pub(crate) fn split_server(server: &str, default_port: u16) -> Result<(String, u16), Error> {
    let bad = || Error::Config(format!("bad server address: {server}"));
    if let Some(rest) = server.strip_prefix('[') {
        let (host, tail) = rest.split_once(']').ok_or_else(bad)?;
        let port = match tail.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if tail.is_empty() => default_port,
            None => return Err(bad()),
        };
        return Ok((host.to_owned(), port));
    }
    match server.rsplit_once(':') {
        Some((host, _)) if host.contains(':') => Ok((server.to_owned(), default_port)),
        Some((host, port)) if !host.is_empty() => {
            Ok((host.to_owned(), port.parse().map_err(|_| bad())?))
        }
        Some(_) => Err(bad()),
        None if server.is_empty() => Err(bad()),
        None => Ok((server.to_owned(), default_port)),
    }
}

pub(crate) async fn tcp(addr: SocketAddr, wait: Duration) -> std::io::Result<TcpStream> {
    let stream = timeout(wait, TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    // One burst per write: never let Nagle hold a pipelined group back.
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The TLS handshake on the plaintext stream, verifying as `v` says.
pub(crate) async fn handshake(
    io: &mut Transport,
    opts: &ClientOptions,
    server: &str,
    v: Verification,
    starttls: bool,
) -> Result<(smtp_proto::TlsInfo, crate::report::TlsReport), Error> {
    let (config, record) = tls::config(opts, server, v)?;
    let sni = tls::server_name(server)?;
    let Transport::Plain(plain) = std::mem::replace(io, Transport::Gone) else {
        return Err(Error::Closed);
    };
    let connector = tokio_rustls::TlsConnector::from(config);
    let tls_error = |reason: String, certificate: Option<CertFailure>| Error::Tls {
        server: server.to_owned(),
        policy: opts.tls_policy.level(),
        reason,
        certificate,
        report: None,
    };
    let stream = match timeout(
        opts.timeouts.tls_handshake,
        connector.connect(sni.clone(), plain),
    )
    .await
    {
        Err(_) => {
            return Err(Error::Timeout {
                stage: "in the TLS handshake".into(),
                report: None,
            });
        }
        Ok(Err(e)) => {
            // The connection is gone: the verifier's last finding is this handshake's
            // (or, when handshakes with this server run at once, one like it).
            let check = record.lock().unwrap_or_else(|p| p.into_inner()).last();
            let (reason, certificate) = match check {
                Some(c) if c.enforced => (c.detail, c.failure),
                _ => (format!("handshake failed: {e}"), None),
            };
            return Err(tls_error(reason, certificate));
        }
        Ok(Ok(s)) => s,
    };
    let conn = stream.get_ref().1;
    let resumed = conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
    // The finding for the certificate this session has: for a resumed session, the
    // one its first handshake verified (the chain is the original one).
    let check = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|leaf| {
            let findings = record.lock().unwrap_or_else(|p| p.into_inner());
            findings.for_leaf(leaf.as_ref())
        });
    let (info, mut report) = tls::facts(conn, check, &sni, starttls);
    report.resumed = resumed;
    *io = Transport::Tls(Box::new(stream));
    Ok((info, report))
}

#[cfg(test)]
mod tests {
    use super::split_server;

    #[test]
    fn server_forms() {
        let s = |x| split_server(x, 25).ok();
        assert_eq!(s("mx.example.com"), Some(("mx.example.com".into(), 25)));
        assert_eq!(
            s("mx.example.com:587"),
            Some(("mx.example.com".into(), 587))
        );
        assert_eq!(s("127.0.0.1:2525"), Some(("127.0.0.1".into(), 2525)));
        assert_eq!(s("[::1]:2525"), Some(("::1".into(), 2525)));
        assert_eq!(s("[::1]"), Some(("::1".into(), 25)));
        assert_eq!(s("::1"), Some(("::1".into(), 25)));
        assert_eq!(s(""), None);
        assert_eq!(s(":25"), None);
        assert_eq!(s("host:x"), None);
    }
}
