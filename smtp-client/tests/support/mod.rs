//! Shared by the smtp-client tests: our own server (the smtp-server test support, with
//! its recording handler), certificates good and bad, client options, and a scripted
//! server for misbehaviour our server never shows.
#![allow(dead_code, unused_imports, unreachable_pub, missing_docs)]

#[path = "../../../smtp-server/tests/support/mod.rs"]
pub mod srv;

pub mod lab;
pub mod postfix;

pub use srv::temp_dir;
pub use srv::{Pki, Recorder, Running, builder, local, options, start};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use smtp_client::{ClientOptions, Timeouts, TlsPolicy, TrustAnchors};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Which certificate the server presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cert {
    /// Signed by the test CA, for `localhost` and 127.0.0.1.
    Valid,
    /// Self-signed, for `localhost` and 127.0.0.1.
    SelfSigned,
    /// Signed by the test CA, for `localhost`, expired in 2021.
    Expired,
    /// Signed by the test CA, for `other.test` only.
    WrongName,
    /// Signed by the test CA, for `localhost` and 127.0.0.1, expiring in 10 days.
    ExpiresSoon,
}

/// A CA and certificates of every kind, signed by it.
pub struct Ca {
    key: KeyPair,
    cert: rcgen::Certificate,
    pub pem: String,
}

impl Ca {
    pub fn new() -> Self {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(DnType::CommonName, "smtp-client test CA");
        let cert = p.self_signed(&key).unwrap();
        let pem = cert.pem();
        Self { key, cert, pem }
    }

    /// A server certificate of the given kind, as a `Pki` the server can use.
    pub fn issue(&self, kind: Cert) -> Pki {
        let names: &[&str] = if kind == Cert::WrongName {
            &["other.test"]
        } else {
            &["localhost"]
        };
        self.issue_for(names, kind)
    }

    pub fn issue_for(&self, names: &[&str], kind: Cert) -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.distinguished_name.push(DnType::CommonName, names[0]);
        if kind != Cert::WrongName {
            p.subject_alt_names
                .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        }
        if kind == Cert::Expired {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        if kind == Cert::ExpiresSoon {
            let now = time::OffsetDateTime::now_utc();
            p.not_before = now - time::Duration::days(30);
            p.not_after = now + time::Duration::days(10);
        }
        let cert = match kind {
            Cert::SelfSigned => p.self_signed(&key).unwrap(),
            _ => p.signed_by(&key, &self.cert, &self.key).unwrap(),
        };
        Pki {
            ca_pem: self.pem.clone(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    pub fn trust(&self) -> TrustAnchors {
        TrustAnchors::empty().add_pem(self.pem.as_bytes()).unwrap()
    }
}

/// Our server on 127.0.0.1 with the recording handler: one STARTTLS listener (or an
/// implicit-TLS one), and TLS when given (without it, no STARTTLS is offered).
pub async fn serve(
    rec: &Recorder,
    opts: smtp_server::proto::ServerOptions,
    implicit: bool,
    tls: Option<smtp_server::TlsConfig>,
) -> Running {
    let listener = if implicit {
        smtp_server::Listener::implicit_tls(local())
    } else {
        smtp_server::Listener::starttls(local())
    };
    let mut b = smtp_server::Server::builder(opts, rec.clone()).listener(listener);
    if let Some(tls) = tls {
        b = b.tls(tls);
    }
    start(b).await
}

/// Client options trusting only `ca`, with the given policy.
pub fn client(ca: &Ca, policy: TlsPolicy) -> ClientOptions {
    let mut o = ClientOptions::new("client.test", policy).with_trust(ca.trust());
    o.timeouts = Timeouts::all(Duration::from_secs(30));
    o
}

/// `127.0.0.1:port` of a running server, as the client is told it.
pub fn target(srv: &Running) -> String {
    format!("localhost:{}", srv.addr().port())
}

/// A scripted server for one connection: for each step, read until the client's
/// bytes end with `expect` (empty: read nothing), then write `reply` in one write.
/// Returns everything the client sent, and how many reads each step took.
pub async fn scripted(
    steps: Vec<(&'static str, &'static str)>,
) -> (SocketAddr, tokio::task::JoinHandle<(String, Vec<usize>)>) {
    let l = TcpListener::bind(local()).await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut seen = Vec::new();
        let mut reads = Vec::new();
        for (expect, reply) in steps {
            let mut n = 0;
            while !expect.is_empty() && !seen.ends_with(expect.as_bytes()) {
                let mut buf = [0u8; 4096];
                let k = s.read(&mut buf).await.unwrap_or(0);
                if k == 0 {
                    return (String::from_utf8_lossy(&seen).into_owned(), reads);
                }
                n += 1;
                seen.extend_from_slice(&buf[..k]);
            }
            reads.push(n);
            if !reply.is_empty() {
                s.write_all(reply.as_bytes()).await.unwrap();
            }
        }
        // Drain until the client closes.
        let mut buf = [0u8; 4096];
        while let Ok(k) = s.read(&mut buf).await {
            if k == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..k]);
        }
        (String::from_utf8_lossy(&seen).into_owned(), reads)
    });
    (addr, task)
}

/// A port nothing listens on (bound, then closed).
pub async fn dead_port() -> u16 {
    let l = TcpListener::bind(local()).await.unwrap();
    let p = l.local_addr().unwrap().port();
    drop(l);
    p
}

/// Whether a plain TCP connection to `addr` gets a greeting (for sanity checks).
pub async fn greets(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return false;
    };
    let mut b = [0u8; 512];
    matches!(s.read(&mut b).await, Ok(n) if n > 3 && &b[..3] == b"220")
}
