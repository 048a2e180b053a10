//! An MTA-STS policy host on 127.0.0.1 for the `mta_sts_fetch` tests: TLS (tokio-rustls,
//! a certificate from the test CA), one HTTP/1.1 request per connection, answered by
//! its `Host` field from a table of byte scripts that a test can change while the host
//! runs. It counts the requests per host, and how much of an endless body went out
//! before the client closed.
//!
//! The responses are written as bytes, not built by an HTTP server library: a test
//! says exactly what goes on the wire (an endless body, a stall, a redirect), as the
//! other tests of this crate script their SMTP peers.
#![allow(unreachable_pub, dead_code)]

use crate::support::Pki;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// What the host answers for one `Host`.
#[derive(Debug, Clone)]
pub enum Answer {
    /// These bytes, then close.
    Bytes(Vec<u8>),
    /// `200`, `text/plain`, a chunked body that never ends.
    Endless,
    /// Nothing, ever (the connection stays open).
    Stall,
}

/// A `200 OK` with this `Content-Type` and body.
pub fn ok(content_type: &str, body: &str) -> Answer {
    response("200 OK", &[("Content-Type", content_type)], body.as_bytes())
}

/// A `200 OK` `text/plain` policy.
pub fn policy(body: &str) -> Answer {
    ok("text/plain; charset=utf-8", body)
}

/// A response with this status line, these header fields and this body
/// (`Content-Length` and `Connection: close` added).
pub fn response(status: &str, fields: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in fields {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    Answer::Bytes(bytes)
}

/// One request as the host read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The request line, e.g. `GET /.well-known/mta-sts.txt HTTP/1.1`.
    pub line: String,
    /// The `Host` field's value.
    pub host: String,
}

#[derive(Default)]
struct State {
    answers: Mutex<HashMap<String, Answer>>,
    seen: Mutex<Vec<Seen>>,
    /// Octets of endless bodies written, and whether a write failed (the client
    /// closed).
    endless_sent: AtomicUsize,
    endless_closed: AtomicBool,
}

/// A running policy host.
pub struct PolicyHost {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PolicyHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PolicyHost {
    /// Starts a host with this certificate and these answers (by `Host`).
    pub async fn start(pki: &Pki, answers: &[(&str, Answer)]) -> Self {
        let acceptor = TlsAcceptor::from(pki.tls().current());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        for (host, answer) in answers {
            state
                .answers
                .lock()
                .unwrap()
                .insert(host.to_string(), answer.clone());
        }
        let s = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, s) = (acceptor.clone(), s.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake.
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        serve(tls, &s).await;
                    }
                });
            }
        });
        Self { addr, state, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Changes the answer for `host`.
    pub fn set(&self, host: &str, answer: Answer) {
        self.state
            .answers
            .lock()
            .unwrap()
            .insert(host.to_owned(), answer);
    }

    /// Every request read so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// How many requests came for `host`.
    pub fn requests(&self, host: &str) -> usize {
        self.seen().iter().filter(|s| s.host == host).count()
    }

    /// Octets of endless bodies written so far, and whether a write failed.
    pub fn endless(&self) -> (usize, bool) {
        (
            self.state.endless_sent.load(Ordering::SeqCst),
            self.state.endless_closed.load(Ordering::SeqCst),
        )
    }
}

/// One connection: read the request head, answer by its `Host`.
async fn serve<S>(mut io: S, state: &State)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match io.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or("").to_owned();
    let host = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    state.seen.lock().unwrap().push(Seen {
        line,
        host: host.clone(),
    });
    let answer = state.answers.lock().unwrap().get(&host).cloned();
    match answer {
        Some(Answer::Bytes(bytes)) => {
            let _ = io.write_all(&bytes).await;
            let _ = io.shutdown().await;
        }
        Some(Answer::Endless) => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
                        Transfer-Encoding: chunked\r\n\r\n";
            if io.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let line = "mx: mx.example.com\r\n".repeat(800); // 16,000 octets
            let chunk = format!("{:x}\r\n{line}\r\n", line.len());
            loop {
                if io.write_all(chunk.as_bytes()).await.is_err() || io.flush().await.is_err() {
                    state.endless_closed.store(true, Ordering::SeqCst);
                    return;
                }
                state.endless_sent.fetch_add(line.len(), Ordering::SeqCst);
            }
        }
        Some(Answer::Stall) => tokio::time::sleep(Duration::from_secs(3600)).await,
        None => {
            let not_found =
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            let _ = io.write_all(not_found).await;
            let _ = io.shutdown().await;
        }
    }
}

/// A certificate for `names` from a CA of its own, named `ca_name` (not the test
/// CA's name, so that a client trusting only the test CA finds no issuer at all).
pub fn foreign_pki(ca_name: &str, names: &[&str]) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}
