//! [`TestServer`]: a server on 127.0.0.1 for one test, with a fresh CA, that records
//! every message and plays the faults it is given.

use super::capture::{Capture, Mailbox, Message, SessionRecord, WaitTimeout};
use super::faults::Faults;
use super::rules::{Rule, RuleError};
use crate::config::Timeouts;
use crate::{Listener, Server, ServerHandle, Stats};
use smtp_proto::{Domain, Mechanism, ServerOptions};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Why a test server did not start.
#[derive(Debug, thiserror::Error)]
#[error("test server: {0}")]
pub struct StartError(pub(crate) String);

/// An SMTP server on 127.0.0.1 for a test: STARTTLS with a certificate from a CA made
/// at start ([`TestServer::ca_pem`]), every accepted message recorded, fault rules
/// applied. It stops when dropped; many run side by side in one test binary.
///
/// ```no_run
/// # async fn t() {
/// use smtp_server::testing::TestServer;
/// use std::time::Duration;
///
/// let server = TestServer::builder()
///     .fault("rcpt:*@bounce.test=550 5.1.1 No such user").unwrap()
///     .start().await.unwrap();
/// // … send to server.addr(), trusting server.ca_pem() …
/// let msgs = server.wait_for(|m| !m.is_empty(), Duration::from_secs(5)).await.unwrap();
/// assert_eq!(msgs[0].to(), ["bob@example.test"]);
/// # }
/// ```
pub struct TestServer {
    addr: SocketAddr,
    implicit: Option<SocketAddr>,
    ca_pem: String,
    mailbox: Mailbox,
    faults: Faults,
    handle: ServerHandle,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .field("implicit_tls", &self.implicit)
            .finish_non_exhaustive()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

impl TestServer {
    /// A server with the defaults of [`TestServerBuilder`]. Panics if it cannot start
    /// (no port free on 127.0.0.1): use the builder's `start` for a `Result`.
    pub async fn start() -> Self {
        match Self::builder().start().await {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// A builder.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// The STARTTLS (or plaintext) listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The implicit-TLS listener's address, when the builder asked for one.
    pub fn implicit_tls_addr(&self) -> Option<SocketAddr> {
        self.implicit
    }

    /// The CA certificates to trust (PEM): the one made at start, which signed the
    /// server's certificate (and the bad ones but `self-signed`), and the fixed CA of
    /// the `weak` certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The messages accepted so far.
    pub fn messages(&self) -> Vec<Message> {
        self.mailbox.messages()
    }

    /// The sessions that ended so far.
    pub fn sessions(&self) -> Vec<SessionRecord> {
        self.mailbox.sessions()
    }

    /// Waits until `ready` holds for the messages (no polling loop: woken at each new
    /// message), at most `timeout`.
    pub async fn wait_for(
        &self,
        ready: impl Fn(&[Message]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<Message>, WaitTimeout> {
        self.mailbox.wait_for(ready, timeout).await
    }

    /// Waits until `ready` holds for the ended sessions, at most `timeout`.
    pub async fn wait_for_sessions(
        &self,
        ready: impl Fn(&[SessionRecord]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<SessionRecord>, WaitTimeout> {
        self.mailbox.wait_for_sessions(ready, timeout).await
    }

    /// Forgets the messages and sessions recorded.
    pub fn clear(&self) {
        self.mailbox.clear();
    }

    /// The mailbox (shared: a clone sees what comes later).
    pub fn mailbox(&self) -> &Mailbox {
        &self.mailbox
    }

    /// The fault rules: add or clear them while the server runs.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Adds a fault rule in the rule syntax (see [`Rule`]).
    pub fn add_fault(&self, rule: &str) -> Result<(), RuleError> {
        self.faults.add_str(rule)
    }

    /// The server's counters.
    pub fn stats(&self) -> Stats {
        self.handle.stats()
    }
}

/// Sets a [`TestServer`] up. Defaults: 127.0.0.1 on a free port, STARTTLS offered,
/// hostname `localhost`, the extensions of [`ServerOptions`]'s defaults, no AUTH, no
/// `Received:` header (messages are recorded exactly as sent), 30-second timeouts.
#[derive(Debug)]
pub struct TestServerBuilder {
    options: ServerOptions,
    listen: SocketAddr,
    implicit: Option<SocketAddr>,
    tls: bool,
    users: HashMap<String, String>,
    faults: Faults,
    hidden: Vec<&'static str>,
    strip_enhanced: bool,
    received_header: bool,
    timeouts: Timeouts,
    names: Vec<String>,
    mailbox: Mailbox,
}

impl Default for TestServerBuilder {
    fn default() -> Self {
        let timeouts = Timeouts {
            command: Duration::from_secs(30),
            handshake: Duration::from_secs(30),
            write: Duration::from_secs(30),
            ..Timeouts::default()
        };
        Self {
            options: ServerOptions::new(Domain::new("localhost").expect("a valid name")),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            implicit: None,
            tls: true,
            users: HashMap::new(),
            faults: Faults::new(),
            hidden: Vec::new(),
            strip_enhanced: false,
            received_header: false,
            timeouts,
            names: vec!["localhost".into(), "127.0.0.1".into()],
            mailbox: Mailbox::new(),
        }
    }
}

macro_rules! switch {
    ($(#[$doc:meta])* $name:ident, $field:ident) => {
        $(#[$doc])*
        pub fn $name(mut self, on: bool) -> Self {
            self.options.$field = on;
            self
        }
    };
}

impl TestServerBuilder {
    /// Listens here instead of 127.0.0.1 on a free port.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Adds an implicit-TLS listener (RFC 8314) on 127.0.0.1, on a free port.
    pub fn implicit_tls(self) -> Self {
        self.implicit_tls_at(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Adds an implicit-TLS listener at `addr`.
    pub fn implicit_tls_at(mut self, addr: SocketAddr) -> Self {
        self.implicit = Some(addr);
        self
    }

    /// Whether STARTTLS is offered (default yes).
    pub fn starttls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// The server's name (default `localhost`; the certificate names `localhost` and
    /// 127.0.0.1 whatever it is, unless [`TestServerBuilder::certificate_names`]).
    pub fn hostname(mut self, name: &str) -> Result<Self, smtp_proto::ValueError> {
        self.options.hostname = Domain::new(name)?;
        Ok(self)
    }

    /// The names (DNS names, IP addresses) of the good certificate.
    pub fn certificate_names(mut self, names: &[&str]) -> Self {
        self.names = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Refuse MAIL before STARTTLS (`530 5.7.0`).
    pub fn require_tls(mut self, on: bool) -> Self {
        self.options.require_tls = on;
        self
    }

    /// Offers AUTH PLAIN and LOGIN (after TLS, as ever) and accepts this user.
    pub fn auth_user(mut self, user: &str, password: &str) -> Self {
        self.users.insert(user.to_owned(), password.to_owned());
        self.options.auth_mechanisms = vec![Mechanism::PLAIN, Mechanism::LOGIN];
        self
    }

    /// Largest message (advertised with SIZE).
    pub fn max_size(mut self, octets: u64) -> Self {
        self.options.max_message_size = octets;
        self
    }

    /// Most recipients per message (then `452 4.5.3`; advertised as `LIMITS RCPTMAX`).
    pub fn max_recipients(mut self, n: usize) -> Self {
        self.options.max_recipients = n;
        self
    }

    /// Most transactions per connection (RFC 9422 MAILMAX, advertised in `LIMITS`):
    /// the MAIL past them gets `421 4.5.3` and the connection closes.
    pub fn max_transactions(mut self, n: u32) -> Self {
        self.options.max_transactions = Some(n);
        self
    }

    /// Most distinct recipient domains per connection (RFC 9422 RCPTDOMAINMAX,
    /// advertised in `LIMITS`): a recipient at one domain more gets `452 4.5.3`.
    pub fn max_recipient_domains(mut self, n: u32) -> Self {
        self.options.max_recipient_domains = Some(n);
        self
    }

    /// Speak LMTP (RFC 2033).
    pub fn lmtp(mut self, on: bool) -> Self {
        self.options.lmtp = on;
        self
    }

    switch!(
        /// PIPELINING (RFC 2920).
        pipelining, pipelining
    );
    switch!(
        /// CHUNKING, BDAT (RFC 3030).
        chunking, chunking
    );
    switch!(
        /// 8BITMIME (RFC 6152).
        eight_bit_mime, eight_bit_mime
    );
    switch!(
        /// SMTPUTF8 (RFC 6531).
        smtputf8, smtputf8
    );
    switch!(
        /// DSN (RFC 3461).
        dsn, dsn
    );
    switch!(
        /// REQUIRETLS (RFC 8689).
        requiretls, requiretls
    );

    /// SIZE (RFC 1870) in the EHLO reply (default on). Off, it is left out of the
    /// list; the size limit still holds.
    pub fn size(mut self, on: bool) -> Self {
        self.hidden.retain(|k| *k != "SIZE");
        if !on {
            self.hidden.push("SIZE");
        }
        self
    }

    /// ENHANCEDSTATUSCODES (RFC 2034; default on). Off, it is left out of the EHLO
    /// reply and every reply goes without its enhanced code.
    pub fn enhanced_status_codes(mut self, on: bool) -> Self {
        self.hidden.retain(|k| *k != "ENHANCEDSTATUSCODES");
        if !on {
            self.hidden.push("ENHANCEDSTATUSCODES");
        }
        self.strip_enhanced = !on;
        self
    }

    /// Any other option of the protocol session.
    pub fn options(mut self, f: impl FnOnce(&mut ServerOptions)) -> Self {
        f(&mut self.options);
        self
    }

    /// Timeouts (default 30 seconds for commands, handshakes and writes).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Whether each message starts with our `Received:` header (default no).
    pub fn received_header(mut self, on: bool) -> Self {
        self.received_header = on;
        self
    }

    /// Adds a fault rule in the rule syntax (see [`Rule`]).
    pub fn fault(self, rule: &str) -> Result<Self, RuleError> {
        self.faults.add_str(rule)?;
        Ok(self)
    }

    /// Adds a fault rule.
    pub fn rule(self, rule: Rule) -> Self {
        self.faults.add(rule);
        self
    }

    /// Records into this mailbox (shared with, say, an HTTP API) instead of a new one.
    pub fn mailbox(mut self, mailbox: Mailbox) -> Self {
        self.mailbox = mailbox;
        self
    }

    /// Binds and starts serving (on the current tokio runtime).
    pub async fn start(mut self) -> Result<TestServer, StartError> {
        self.options.starttls = self.tls;
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let pki = self.faults.install_test_certificates(&names)?;
        for k in &self.hidden {
            self.faults.hide_keyword(k);
        }
        self.faults.strip_enhanced_codes(self.strip_enhanced);
        let capture = Arc::new(Capture {
            mailbox: self.mailbox.clone(),
            faults: self.faults.clone(),
            users: self.users,
        });
        let mut builder = Server::builder(self.options, capture)
            .listener(Listener::starttls(self.listen))
            .timeouts(self.timeouts)
            .received_header(self.received_header)
            .shutdown_grace(Duration::from_secs(1))
            .faults(self.faults.clone());
        if self.tls || self.implicit.is_some() {
            builder = builder.tls(pki.tls);
        }
        if let Some(a) = self.implicit {
            builder = builder.listener(Listener::implicit_tls(a));
        }
        let server = builder
            .bind()
            .await
            .map_err(|e| StartError(e.to_string()))?;
        let addrs = server.local_addrs();
        let handle = server.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        Ok(TestServer {
            addr: addrs[0],
            implicit: addrs.get(1).copied(),
            ca_pem: pki.ca_pem,
            mailbox: self.mailbox,
            faults: self.faults,
            handle,
            stop: Some(stop),
            task,
        })
    }
}
