//! Setting a [`Connection`] up: resolving and connecting, the policy for the
//! destination, implicit TLS, and the session's way to `Ready` (greeting, EHLO,
//! STARTTLS, AUTH).

use super::{Connection, READ_BUF, Step};
use crate::error::Error;
use crate::net::{handshake, split_server, tcp};
use crate::options::ClientOptions;
use crate::report::SessionReport;
use crate::transport::{Io, Transport};
use smtp_proto::TransportSecurity;
use smtp_proto::client::policy::{DomainPattern, TlsPolicy};
use smtp_proto::client::{ClientEvent, ClientSession};
use std::net::SocketAddr;
use tokio::time::timeout;

/// Who the session is with and under which policy, settled before the first byte.
#[derive(Clone)]
pub(super) struct Plan {
    /// The name verified and sent as SNI.
    server: String,
    /// The destination the policy was chosen for.
    destination: String,
    /// The rule of the policy map that chose the policy.
    rule: Option<DomainPattern>,
}

impl Plan {
    /// Settles the names, and the policy for the destination into `opts.tls_policy`
    /// (the map is consulted once, here).
    fn new(opts: &mut ClientOptions, host: &str) -> Self {
        let server = opts.server_name.clone().unwrap_or_else(|| host.to_owned());
        // `[192.0.2.1]` (an address literal) is checked and sent as the bare address.
        let server = server
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let destination = opts.destination.clone().unwrap_or_else(|| server.clone());
        if opts.policy_map.is_some() {
            let (policy, rule) = opts.policy_for(&destination);
            let (policy, rule) = (policy.clone(), rule.cloned());
            opts.tls_policy = policy;
            opts.settled_rule = rule;
            opts.policy_map = None;
        }
        let rule = opts.settled_rule.clone();
        Self {
            server,
            destination,
            rule,
        }
    }
}

impl Connection {
    /// Connects to `server` (`host:port`, `[v6]:port`, or a host: port 25, or 465 with
    /// implicit TLS) and sets the session up: greeting, EHLO, STARTTLS and AUTH as the
    /// options say, under the policy for the options' destination. Every address the
    /// name resolves to is tried in turn.
    ///
    /// An error after the connection was made carries what the session had got
    /// ([`Error::report`]).
    pub async fn connect(server: &str, opts: ClientOptions) -> Result<Self, Error> {
        let default_port = if opts.implicit_tls { 465 } else { 25 };
        let (host, port) = split_server(server, default_port)?;
        let addrs: Vec<SocketAddr> = timeout(
            opts.timeouts.connect,
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        .map_err(|_| Error::Timeout {
            stage: format!("resolving {host}"),
            report: None,
        })?
        .map_err(|e| Error::Connect {
            server: server.to_owned(),
            source: e,
        })?
        .collect();
        let mut last = None;
        for addr in addrs {
            match tcp(addr, opts.timeouts.connect).await {
                Ok(stream) => {
                    return Self::start_or_retry(Box::new(stream), addr, &host, opts).await;
                }
                Err(e) => last = Some(e),
            }
        }
        Err(Error::Connect {
            server: server.to_owned(),
            source: last.unwrap_or_else(|| std::io::Error::other("no address")),
        })
    }

    /// Connects to one address; `server_name` is the host name it belongs to (the MX
    /// name: what the certificate is checked against unless the options name another).
    pub async fn connect_addr(
        addr: SocketAddr,
        server_name: &str,
        opts: ClientOptions,
    ) -> Result<Self, Error> {
        let stream = tcp(addr, opts.timeouts.connect)
            .await
            .map_err(|e| Error::Connect {
                server: addr.to_string(),
                source: e,
            })?;
        Self::start_or_retry(Box::new(stream), addr, server_name, opts).await
    }

    /// Runs the session over a stream that is already connected (a Unix socket, a
    /// proxy tunnel, an in-memory pipe).
    pub async fn from_stream<S: Io + 'static>(
        stream: S,
        server_name: &str,
        mut opts: ClientOptions,
    ) -> Result<Self, Error> {
        let plan = Plan::new(&mut opts, server_name);
        Self::start(Box::new(stream), None, plan, opts).await
    }

    /// [`Connection::start`], and under policy `may` (or DANE without TLSA records)
    /// one retry in plaintext after a failed STARTTLS handshake, as Postfix does: the
    /// policy accepts plaintext, and a server whose TLS we cannot speak (only TLS 1.0,
    /// no common cipher) would otherwise never get its mail. The report says so.
    async fn start_or_retry(
        stream: Box<dyn Io>,
        addr: SocketAddr,
        host: &str,
        mut opts: ClientOptions,
    ) -> Result<Self, Error> {
        let plan = Plan::new(&mut opts, host);
        let retry = opts.tls_policy.retries_in_plaintext(opts.implicit_tls);
        match Self::start(stream, Some(addr), plan.clone(), opts.clone()).await {
            Err(Error::Tls { reason, .. }) if retry => {
                tracing::info!(%addr, %reason, "TLS handshake failed; retrying in plaintext (policy may)");
                let stream =
                    tcp(addr, opts.timeouts.connect)
                        .await
                        .map_err(|e| Error::Connect {
                            server: addr.to_string(),
                            source: e,
                        })?;
                let mut plain = opts.clone();
                plain.tls_policy = TlsPolicy::None;
                let mut conn = Self::start(Box::new(stream), Some(addr), plan, plain).await?;
                conn.report.policy = opts.tls_policy.level();
                conn.report.tls_failure = Some(reason.clone());
                conn.report.reason = format!(
                    "TLS handshake failed ({reason}); retried in plaintext as the policy allows"
                );
                Ok(conn)
            }
            other => other,
        }
    }

    async fn start(
        stream: Box<dyn Io>,
        addr: Option<SocketAddr>,
        plan: Plan,
        opts: ClientOptions,
    ) -> Result<Self, Error> {
        let Plan {
            server,
            destination,
            rule,
        } = plan;
        let mut core =
            smtp_proto::client::ClientOptions::new(&opts.hello_name, &server, &destination);
        core.tls_policy = opts.tls_policy.clone();
        core.auth = opts.auth.clone();
        core.auth_without_tls = opts.auth_without_tls;
        core.chunking = opts.chunking;
        core.bare_endings = opts.bare_endings;
        core.limits = opts.limits;
        core.lmtp = opts.lmtp;
        let report = SessionReport {
            server: server.clone(),
            addr,
            destination: destination.clone(),
            policy: opts.tls_policy.level(),
            policy_rule: rule,
            ..SessionReport::default()
        };
        let mut io = Transport::Plain(stream);
        let mut tls_report = None;
        let security = if opts.implicit_tls {
            // RFC 8314: the same policy judges the certificate as under STARTTLS.
            let v = (opts.tls_policy)
                .implicit_tls_verification(&server, &destination)
                .map_err(|v| Error::from(v).with_report(&report))?;
            let (info, r) = handshake(&mut io, &opts, &server, v, false)
                .await
                .map_err(|e| e.with_report(&report))?;
            tls_report = Some(r);
            TransportSecurity::ImplicitTls(info)
        } else {
            TransportSecurity::Plain
        };
        let mut conn = Self {
            session: ClientSession::new(core, security),
            io,
            opts,
            report,
            buf: vec![0; READ_BUF],
            closed: false,
            busy: false,
            transactions: 0,
            domains: Vec::new(),
            ended_by: None,
            cap: None,
            deadline: None,
        };
        conn.report.tls = tls_report;
        match conn.until_ready().await {
            Ok(()) => Ok(conn),
            Err(e) => {
                conn.note_progress();
                Err(e.with_report(&conn.report))
            }
        }
    }

    /// Drives the session to `Ready` and fills the report in.
    async fn until_ready(&mut self) -> Result<(), Error> {
        loop {
            match self.step().await? {
                Step::Event(ClientEvent::Ready { capabilities, tls }) => {
                    self.note_progress();
                    self.report.capabilities = capabilities;
                    self.report.reason = tls.reason;
                    self.report.authenticated =
                        self.session.auth_mechanism().map(|m| m.as_str().to_owned());
                    tracing::info!(
                        server = %self.report.server,
                        tls = %self.report.tls_line(),
                        policy = self.report.policy.name(),
                        rule = ?self.report.policy_rule.as_ref().map(ToString::to_string),
                        reason = %self.report.reason,
                        "session ready"
                    );
                    return Ok(());
                }
                Step::Event(ClientEvent::AuthChallenge(_)) => {
                    // Application-driven SASL needs the sans-IO core directly.
                    self.session.auth_cancel()?;
                }
                Step::Event(_) => {}
                Step::Idle | Step::Closed => return Err(Error::Closed),
            }
        }
    }

    /// Copies what the session has learnt so far into the report (on the way to
    /// `Ready`, or when setting up failed half-way): greeting and capabilities, and
    /// how TLS came about.
    fn note_progress(&mut self) {
        self.report.greeting = self.session.greeting().cloned();
        self.report.capabilities_before_tls = self.session.capabilities_before_tls().cloned();
        if self.report.capabilities.is_none() {
            self.report.capabilities = self.session.capabilities().cloned();
        }
        if self.report.reason.is_empty()
            && let Some(tls) = &self.report.tls
        {
            self.report.reason = if tls.starttls {
                format!("STARTTLS, policy {}", self.report.policy)
            } else {
                "implicit TLS".to_owned()
            };
        }
    }
}
