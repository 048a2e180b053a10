//! Shared by the smtp-server tests: certificates, a recording handler, a server on
//! 127.0.0.1 and a raw SMTP client that can pipeline anything and upgrade to TLS.
#![allow(dead_code, unreachable_pub, missing_docs)]

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::ServerName;
use smtp_server::proto::{
    Credentials, Domain, EnhancedCode, ForwardPath, HelloVerb, Host, MailParams, RcptParams, Reply,
    ReversePath, ServerOptions,
};
use smtp_server::{
    Body, Context, Decision, Handler, Listener, Outcome, Server, ServerBuilder, ServerHandle,
    Session, TlsConfig, Transaction,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// A CA and a leaf certificate for `localhost` and 127.0.0.1 signed by it.
pub struct Pki {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Pki {
    pub fn new(names: &[&str]) -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "smtp-server test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut leaf =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        leaf.distinguished_name.push(DnType::CommonName, names[0]);
        leaf.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
        Self {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    pub fn localhost() -> Self {
        Self::new(&["localhost"])
    }

    pub fn tls(&self) -> TlsConfig {
        TlsConfig::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes()).unwrap()
    }

    /// A client configuration trusting only this CA.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(smtp_server::default_provider());
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    /// A client configuration trusting `self` and presenting `client`'s certificate.
    pub fn client_config_with_cert(&self, client: &Pki) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let chain = rustls::pki_types::CertificateDer::pem_slice_iter(client.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key =
            rustls::pki_types::PrivateKeyDer::from_pem_slice(client.key_pem.as_bytes()).unwrap();
        let provider = Arc::new(smtp_server::default_provider());
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_client_auth_cert(chain, key)
                .unwrap(),
        )
    }

    /// Writes ca.pem, cert.pem and key.pem into `dir`.
    pub fn write(&self, dir: &std::path::Path) {
        std::fs::write(dir.join("ca.pem"), &self.ca_pem).unwrap();
        std::fs::write(dir.join("cert.pem"), &self.cert_pem).unwrap();
        std::fs::write(dir.join("key.pem"), &self.key_pem).unwrap();
    }
}

/// The `unix` services of a private Postfix instance's master.cf (the `inet` lines
/// are each test's own); shared with the smtp-client and example tests.
pub const POSTFIX_UNIX_SERVICES: &[&str] = &[
    "pickup unix n - n 60 1 pickup",
    "cleanup unix n - n - 0 cleanup",
    "qmgr unix n - n 300 1 qmgr",
    "tlsmgr unix - - n 1000? 1 tlsmgr",
    "rewrite unix - - n - - trivial-rewrite",
    "bounce unix - - n - 0 bounce",
    "defer unix - - n - 0 bounce",
    "trace unix - - n - 0 bounce",
    "verify unix - - n - 1 verify",
    "flush unix n - n 1000? 0 flush",
    "proxymap unix - - n - - proxymap",
    "smtp unix - - n - - smtp",
    "relay unix - - n - - smtp",
    "showq unix n - n - - showq",
    "error unix - - n - - error",
    "retry unix - - n - - error",
    "discard unix - - n - - discard",
    "anvil unix - - n - 1 anvil",
    "scache unix - - n - 1 scache",
    "postlog unix-dgram n - n - 1 postlogd",
    "tlsproxy unix - - n - 0 tlsproxy",
];

/// master.cf: the given `inet` lines, then [`POSTFIX_UNIX_SERVICES`].
pub fn postfix_master_cf(inet: &[String]) -> String {
    let mut lines: Vec<&str> = inet.iter().map(String::as_str).collect();
    lines.extend_from_slice(POSTFIX_UNIX_SERVICES);
    lines.join("\n") + "\n"
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "smtp-server-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// What the recording handler saw.
#[derive(Debug, Default)]
pub struct Log {
    pub events: Vec<String>,
    pub messages: Vec<Vec<u8>>,
    pub outcomes: Vec<Outcome>,
    pub tls_versions: Vec<Option<String>>,
    /// Per connection: (client certificates, verified).
    pub client_certs: Vec<(usize, bool)>,
    /// `Context::queue_id` of each message, as `data` saw it.
    pub queue_ids: Vec<String>,
    /// `Context::tls` of each message, as `data` saw it.
    pub data_tls: Vec<Option<smtp_server::TlsFacts>>,
}

/// A reply decision from parts that are known to agree.
pub fn refusal(code: u16, (c, s, d): (u8, u16, u16), text: &str) -> Decision {
    Decision::reply(code, EnhancedCode::new(c, s, d).unwrap(), text).unwrap()
}

/// A handler that records everything; refuses recipients starting with `reject`,
/// accepts `user`/`pass` credentials.
#[derive(Clone, Default)]
pub struct Recorder {
    pub log: Arc<Mutex<Log>>,
    /// Refuse every connection with 554.
    pub refuse: bool,
    /// What `data` passes to `read_all` (default 64 MiB).
    pub body_limit: Option<usize>,
}

pub struct RecSession {
    log: Arc<Mutex<Log>>,
    body_limit: usize,
}

impl Recorder {
    pub fn events(&self) -> Vec<String> {
        self.log.lock().unwrap().events.clone()
    }
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.log.lock().unwrap().messages.clone()
    }
    pub fn outcomes(&self) -> Vec<Outcome> {
        self.log.lock().unwrap().outcomes.clone()
    }
}

impl Handler for Recorder {
    type Session = RecSession;
    async fn connect(&self, ctx: &Context) -> Result<RecSession, Reply> {
        let mut log = self.log.lock().unwrap();
        log.events.push(format!("connect {}", ctx.peer().ip()));
        if self.refuse {
            return Err(Reply::with_text(
                554,
                Some(smtp_server::EnhancedCode::new(5, 7, 1).unwrap()),
                ["Go away"],
            )
            .unwrap());
        }
        log.tls_versions
            .push(ctx.tls().map(|t| t.info.version().to_string()));
        if let Some(t) = ctx.tls() {
            let n = t.client_certificates.len();
            log.client_certs.push((n, t.info.peer_verified()));
        }
        Ok(RecSession {
            log: self.log.clone(),
            body_limit: self.body_limit.unwrap_or(64 << 20),
        })
    }
}

impl RecSession {
    fn push(&self, s: String) {
        self.log.lock().unwrap().events.push(s);
    }
}

impl Session for RecSession {
    async fn hello(&mut self, ctx: &Context, verb: HelloVerb, host: &Host) -> Decision {
        let tls = ctx
            .tls()
            .map_or("plain".to_string(), |t| t.info.version().to_string());
        self.push(format!("hello {verb:?} {host} {tls}"));
        Decision::Accept
    }
    async fn auth(&mut self, _: &Context, c: &Credentials) -> Decision {
        self.push(format!("auth {}", c.username));
        if c.username == "user" && c.password.expose() == "pass" {
            Decision::Accept
        } else {
            refusal(535, (5, 7, 8), "Bad credentials")
        }
    }
    async fn mail(&mut self, ctx: &Context, from: &ReversePath, p: &MailParams) -> Decision {
        let requiretls = if p.requiretls { " REQUIRETLS" } else { "" };
        self.push(format!("mail {from} user={:?}{requiretls}", ctx.user()));
        Decision::Accept
    }
    async fn rcpt(&mut self, _: &Context, to: &ForwardPath, _: &RcptParams) -> Decision {
        self.push(format!("rcpt {to}"));
        if to.to_string().starts_with("<reject") {
            refusal(550, (5, 1, 1), "No such user")
        } else {
            Decision::Accept
        }
    }
    async fn data(&mut self, ctx: &Context, env: &Transaction, body: &mut Body<'_>) -> Decision {
        let n = env.recipients.len();
        if let Some(id) = ctx.queue_id() {
            self.log.lock().unwrap().queue_ids.push(id.to_owned());
        }
        self.log.lock().unwrap().data_tls.push(ctx.tls().cloned());
        match body.read_all(self.body_limit).await {
            Ok(m) => {
                self.push(format!("data {n} rcpts {} bytes", m.len()));
                self.log.lock().unwrap().messages.push(m);
                refusal(250, (2, 0, 0), "Queued as TEST1")
            }
            Err(e) => {
                self.push(format!("data error {e}"));
                Decision::Accept
            }
        }
    }
    async fn data_lmtp(
        &mut self,
        ctx: &Context,
        env: &Transaction,
        body: &mut Body<'_>,
    ) -> Vec<Decision> {
        let rcpts: Vec<String> = env.recipients.iter().map(|r| r.to_string()).collect();
        let _ = self.data(ctx, env, body).await;
        rcpts
            .iter()
            .map(|r| {
                if r.starts_with("<fail") {
                    refusal(550, (5, 2, 1), "Mailbox disabled")
                } else {
                    Decision::Accept
                }
            })
            .collect()
    }
    fn reset(&mut self, _: &Context) {
        self.push("reset".into());
    }
    fn close(&mut self, _: &Context, outcome: &Outcome) {
        self.push("close".into());
        self.log.lock().unwrap().outcomes.push(outcome.clone());
    }
}

pub fn options() -> ServerOptions {
    ServerOptions::new(Domain::new("mx.test").unwrap())
}

/// A running server on 127.0.0.1 port 0.
pub struct Running {
    pub addrs: Vec<SocketAddr>,
    pub handle: ServerHandle,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }
    /// Starts a graceful shutdown and waits for it to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap();
    }
    /// Starts a graceful shutdown without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
    pub async fn join(self) {
        self.task.await.unwrap();
    }
}

pub fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A STARTTLS listener on 127.0.0.1 with `pki`'s certificate and the recorder.
pub fn builder(rec: &Recorder, pki: &Pki, opts: ServerOptions) -> ServerBuilder<Recorder> {
    Server::builder(opts, rec.clone())
        .listener(Listener::starttls(local()))
        .tls(pki.tls())
}

pub async fn start<H: Handler>(b: ServerBuilder<H>) -> Running {
    let server = b.bind().await.unwrap();
    let addrs = server.local_addrs();
    let handle = server.handle();
    let (stop, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(async move {
        let _ = rx.await;
    }));
    Running {
        addrs,
        handle,
        stop: Some(stop),
        task,
    }
}

pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A raw client: writes exactly what it is told, reads whole replies.
pub struct Raw {
    pub io: Box<dyn Stream>,
    buf: Vec<u8>,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Self {
        let s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        Self {
            io: Box::new(s),
            buf: Vec::new(),
        }
    }

    pub fn from_stream(io: Box<dyn Stream>) -> Self {
        Self {
            io,
            buf: Vec::new(),
        }
    }

    /// Connects with TLS from the first byte (implicit TLS).
    pub async fn connect_tls(addr: SocketAddr, pki: &Pki, sni: &str) -> Self {
        let s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        let tls = tokio_rustls::TlsConnector::from(pki.client_config())
            .connect(ServerName::try_from(sni.to_string()).unwrap(), s)
            .await
            .unwrap();
        Self {
            io: Box::new(tls),
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, s: &str) {
        self.io.write_all(s.as_bytes()).await.unwrap();
        self.io.flush().await.unwrap();
    }

    pub async fn send_bytes(&mut self, b: &[u8]) {
        self.io.write_all(b).await.unwrap();
        self.io.flush().await.unwrap();
    }

    /// One whole reply (all its lines), or `None` at EOF.
    pub async fn reply(&mut self) -> Option<String> {
        let mut out = String::new();
        loop {
            while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let line = String::from_utf8_lossy(&line).to_string();
                let last = line.as_bytes().get(3) != Some(&b'-');
                out.push_str(&line);
                if last {
                    return Some(out);
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.io.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return if out.is_empty() { None } else { Some(out) };
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a line and returns the reply.
    pub async fn cmd(&mut self, line: &str) -> String {
        self.send(&format!("{line}\r\n")).await;
        self.reply().await.unwrap_or_default()
    }

    /// Whether the server closed the connection (EOF with nothing more).
    pub async fn closed(&mut self) -> bool {
        self.reply().await.is_none()
    }

    /// STARTTLS then the handshake; returns self over TLS.
    pub async fn starttls(mut self, pki: &Pki, sni: &str) -> Self {
        let r = self.cmd("STARTTLS").await;
        assert!(r.starts_with("220 "), "{r}");
        assert!(self.buf.is_empty());
        let tls = tokio_rustls::TlsConnector::from(pki.client_config())
            .connect(ServerName::try_from(sni.to_string()).unwrap(), self.io)
            .await
            .unwrap();
        Self {
            io: Box::new(tls),
            buf: Vec::new(),
        }
    }

    /// Greeting, EHLO; returns the EHLO reply.
    pub async fn hello(&mut self) -> String {
        let g = self.reply().await.unwrap();
        assert!(g.starts_with("220 "), "{g}");
        self.cmd("EHLO client.test").await
    }

    /// A whole transaction; returns the final reply.
    pub async fn message(&mut self, from: &str, to: &[&str], body: &str) -> String {
        let r = self.cmd(&format!("MAIL FROM:<{from}>")).await;
        assert!(r.starts_with("250"), "{r}");
        for t in to {
            self.cmd(&format!("RCPT TO:<{t}>")).await;
        }
        let r = self.cmd("DATA").await;
        assert!(r.starts_with("354"), "{r}");
        self.send(body).await;
        self.send("\r\n.\r\n").await;
        self.reply().await.unwrap_or_default()
    }
}
