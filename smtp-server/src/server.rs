//! The server: a builder, the accept loop over every listener, and graceful shutdown.

use crate::config::{ConnectionLimits, Timeouts};
use crate::conn::Phase;
use crate::driver::{self, Peer, Shared};
use crate::error::ConfigError;
use crate::handler::{Handler, ListenerKind};
use crate::listener::{self, Gate, Listener};
use crate::stats::{Counters, Stats};
use crate::tls::TlsConfig;
use crate::transport::Io;
use bytes::Bytes;
use smtp_proto::ServerOptions;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::info;

/// Sets a [`Server`] up.
#[derive(Debug)]
pub struct ServerBuilder<H> {
    handler: H,
    options: ServerOptions,
    listeners: Vec<Listener>,
    tls: Option<TlsConfig>,
    timeouts: Timeouts,
    limits: ConnectionLimits,
    grace: Duration,
    received_header: bool,
    #[cfg(feature = "testing")]
    faults: Option<crate::testing::Faults>,
}

impl<H: Handler> ServerBuilder<H> {
    /// Adds a listener; a server may have several (25, 587 and 465 at once).
    pub fn listener(mut self, listener: Listener) -> Self {
        self.listeners.push(listener);
        self
    }

    /// The TLS configuration: STARTTLS is offered only with one, and implicit-TLS
    /// listeners need one. Keep a clone to [`TlsConfig::reload`] it later.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Timeouts (default: [`Timeouts::default`], the RFC 5321 §4.5.3.2 values).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Connection limits (default: [`ConnectionLimits::default`]).
    pub fn limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// How long a graceful shutdown lets sessions in a transaction finish before every
    /// session gets `421` (default 30 seconds).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Whether each message starts with our `Received:` header (default: yes).
    pub fn received_header(mut self, on: bool) -> Self {
        self.received_header = on;
        self
    }

    /// Fault rules for tests ([`crate::testing`]): every connection consults them and
    /// runs in lock step (one command at a time given to the session). Keep a clone to
    /// add or clear rules while the server runs.
    #[cfg(feature = "testing")]
    pub fn faults(mut self, faults: crate::testing::Faults) -> Self {
        self.faults = Some(faults);
        self
    }

    /// Binds the listeners. STARTTLS is advertised only when a TLS configuration is set.
    pub async fn bind(self) -> Result<Server<H>, ConfigError> {
        if self.listeners.is_empty() {
            return Err(ConfigError::NoListener);
        }
        let mut options = self.options;
        if self.tls.is_none() {
            if self
                .listeners
                .iter()
                .any(|l| l.kind == ListenerKind::ImplicitTls)
            {
                return Err(ConfigError::NoTls);
            }
            options.starttls = false;
        }
        let mut bound = Vec::new();
        for l in self.listeners {
            let tcp = match l.bound {
                Some(std) => {
                    std.set_nonblocking(true)
                        .map_err(|e| ConfigError::Bind(l.addr, e))?;
                    TcpListener::from_std(std).map_err(|e| ConfigError::Bind(l.addr, e))?
                }
                None => listen(l.addr).map_err(|e| ConfigError::Bind(l.addr, e))?,
            };
            bound.push((tcp, l.kind, l.proxy));
        }
        Ok(Server {
            shared: Arc::new(Shared {
                handler: self.handler,
                options: Arc::new(options),
                tls: self.tls,
                timeouts: Arc::new(self.timeouts),
                counters: Arc::new(Counters::default()),
                received_header: self.received_header,
                #[cfg(feature = "testing")]
                faults: self.faults,
                started: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros() as u64),
            }),
            listeners: bound,
            gate: Arc::new(Gate::new(self.limits)),
            grace: self.grace,
            next_id: AtomicU64::new(1),
        })
    }
}

/// An SMTP server: listeners bound, ready to [`Server::serve`].
pub struct Server<H> {
    shared: Arc<Shared<H>>,
    listeners: Vec<(TcpListener, ListenerKind, bool)>,
    gate: Arc<Gate>,
    grace: Duration,
    next_id: AtomicU64,
}

impl<H> std::fmt::Debug for Server<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listeners", &self.listeners.len())
            .finish_non_exhaustive()
    }
}

/// A handle on a running server: counters and the TLS configuration to reload.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    counters: Arc<Counters>,
    tls: Option<TlsConfig>,
}

impl ServerHandle {
    /// The counters now.
    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }

    /// The TLS configuration, to [`TlsConfig::reload`] (new handshakes only).
    pub fn tls(&self) -> Option<&TlsConfig> {
        self.tls.as_ref()
    }
}

impl<H: Handler> Server<H> {
    /// A builder for a server with these protocol options and this handler.
    pub fn builder(options: ServerOptions, handler: H) -> ServerBuilder<H> {
        ServerBuilder {
            handler,
            options,
            listeners: Vec::new(),
            tls: None,
            timeouts: Timeouts::default(),
            limits: ConnectionLimits::default(),
            grace: Duration::from_secs(30),
            received_header: true,
            #[cfg(feature = "testing")]
            faults: None,
        }
    }

    /// The bound addresses, in the order the listeners were added.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|(l, _, _)| l.local_addr().ok())
            .collect()
    }

    /// A handle for counters and certificate reload; usable while [`Server::serve`] runs.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            counters: self.shared.counters.clone(),
            tls: self.shared.tls.clone(),
        }
    }

    /// Runs one session on a stream the program accepted itself (a socket from elsewhere,
    /// an in-memory pipe in tests), without limits or shutdown.
    pub async fn serve_connection(
        &self,
        io: impl Io + 'static,
        peer: SocketAddr,
        local: SocketAddr,
        kind: ListenerKind,
    ) {
        let peer = Peer {
            id: self.next_id.fetch_add(1, Relaxed),
            peer,
            local,
            proxied: None,
            kind,
        };
        driver::run(self.shared.clone(), Box::new(io), peer, Bytes::new(), None).await;
    }

    /// Accepts connections on every listener until `shutdown` completes, then shuts down
    /// gracefully: listeners close at once; sessions between transactions get `421 4.3.2`
    /// and close; sessions in a transaction may finish it within the grace period, after
    /// which every remaining session gets `421` and closes. Returns when all have ended.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let (phase, phase_rx) = watch::channel(Phase::Running);
        let (tx, mut rx) = mpsc::channel(64);
        let mut acceptors = JoinSet::new();
        for (l, kind, proxy) in self.listeners {
            let tx = tx.clone();
            acceptors.spawn(async move {
                loop {
                    match l.accept().await {
                        Ok((s, peer)) => {
                            if tx.send((s, peer, kind, proxy)).await.is_err() {
                                return;
                            }
                        }
                        // EMFILE and the like: back off instead of spinning.
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            });
        }
        drop(tx);
        let mut sessions = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                next = rx.recv() => {
                    let Some((stream, peer, kind, proxy)) = next else { break };
                    let local = stream.local_addr().unwrap_or(peer);
                    let p = Peer {
                        id: self.next_id.fetch_add(1, Relaxed),
                        peer,
                        local,
                        proxied: None,
                        kind,
                    };
                    sessions.spawn(listener::connection(
                        self.shared.clone(),
                        self.gate.clone(),
                        stream,
                        p,
                        proxy,
                        phase_rx.clone(),
                    ));
                    while sessions.try_join_next().is_some() {}
                }
            }
        }
        acceptors.shutdown().await;
        info!(sessions = sessions.len(), "shutting down");
        let _ = phase.send(Phase::Draining);
        let drained = tokio::time::timeout(self.grace, async {
            while sessions.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            let _ = phase.send(Phase::Now);
            // Sessions waiting for input close at once; one stuck in a handler or a
            // write gets a little longer, then is dropped.
            let last = tokio::time::timeout(Duration::from_secs(10), async {
                while sessions.join_next().await.is_some() {}
            })
            .await;
            if last.is_err() {
                sessions.shutdown().await;
            }
        }
    }
}

/// Connections the kernel may hold completed but not yet accepted. A burst of clients
/// larger than the backlog loses its final handshake ACKs (the client believes it is
/// connected, the server never sees it), so it is sized for the default connection
/// limit rather than std's 128.
const BACKLOG: u32 = 1024;

/// A listening socket on `addr` with [`BACKLOG`] (address reuse on, as servers need
/// to restart while old connections linger in TIME-WAIT).
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}
