//! Listeners and what happens between `accept` and the first SMTP byte: `TCP_NODELAY`,
//! the PROXY header (when the listener takes one) and the connection limits.

use crate::config::ConnectionLimits;
use crate::conn::Phase;
use crate::driver::{self, Peer, Shared};
use crate::handler::{Handler, ListenerKind};
use crate::transport::Transport;
use bytes::Bytes;
use smtp_proto::proxy;
use smtp_proto::server::replies;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::{Instrument, info, info_span};

/// Where and how to accept connections.
#[derive(Debug)]
pub struct Listener {
    pub(crate) addr: SocketAddr,
    pub(crate) kind: ListenerKind,
    pub(crate) proxy: bool,
    pub(crate) bound: Option<std::net::TcpListener>,
}

impl Listener {
    /// Plaintext with STARTTLS offered (when the server has a TLS configuration): ports
    /// 25 and 587. Port 0 picks a free port ([`crate::Server::local_addrs`] tells it).
    pub fn starttls(addr: SocketAddr) -> Self {
        Self {
            addr,
            kind: ListenerKind::StartTls,
            proxy: false,
            bound: None,
        }
    }

    /// TLS from the first byte: port 465 (RFC 8314 §3.3).
    pub fn implicit_tls(addr: SocketAddr) -> Self {
        Self {
            kind: ListenerKind::ImplicitTls,
            ..Self::starttls(addr)
        }
    }

    /// A socket already bound (e.g. handed over by a service manager).
    pub fn from_std(listener: std::net::TcpListener, kind: ListenerKind) -> std::io::Result<Self> {
        Ok(Self {
            addr: listener.local_addr()?,
            kind,
            proxy: false,
            bound: Some(listener),
        })
    }

    /// Expect a HAProxy PROXY protocol header (v1 or v2) before anything else, and take
    /// the client's address from it. Only for listeners behind a trusted proxy: the
    /// header is believed.
    pub fn proxy_protocol(mut self, on: bool) -> Self {
        self.proxy = on;
        self
    }
}

/// Counts connections, globally and per client address.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    limits: ConnectionLimits,
    state: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// A connection counted by the [`Gate`]; uncounted on drop.
pub(crate) struct Ticket {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Gate {
    pub(crate) fn new(limits: ConnectionLimits) -> Self {
        Self {
            limits,
            state: Mutex::default(),
        }
    }

    fn enter(self: &Arc<Self>, ip: IpAddr) -> Option<Ticket> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let per_ip = st.1.get(&ip).copied().unwrap_or(0);
        if st.0 >= self.limits.max_connections || per_ip >= self.limits.max_per_ip {
            return None;
        }
        st.0 += 1;
        st.1.insert(ip, per_ip + 1);
        Some(Ticket {
            gate: self.clone(),
            ip,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut st = self.gate.state.lock().unwrap_or_else(|e| e.into_inner());
        st.0 = st.0.saturating_sub(1);
        if let Some(n) = st.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                st.1.remove(&self.ip);
            }
        }
    }
}

/// One accepted TCP connection, to its end.
///
/// A plain function returning the future, not an `async fn`: the spawned task then
/// holds the session and nothing twice (its arguments, the admission's locals), which
/// matters when a server holds thousands of idle sessions.
pub(crate) fn connection<H: Handler>(
    shared: Arc<Shared<H>>,
    gate: Arc<Gate>,
    stream: TcpStream,
    peer: Peer,
    proxy: bool,
    shutdown: watch::Receiver<Phase>,
) -> impl Future<Output = ()> + Send {
    let span = info_span!("smtp", id = peer.id, peer = %peer.peer, listener = ?peer.kind);
    async move {
        // Admission in a boxed future of its own, gone once it is done.
        let admitted = Box::pin(admit(&shared, &gate, stream, peer, proxy)).await;
        let Some((stream, peer, early, ticket)) = admitted else {
            return;
        };
        driver::run(shared, Box::new(stream), peer, early, Some(shutdown)).await;
        drop(ticket);
    }
    .instrument(span)
}

/// Everything before the session: `TCP_NODELAY`, the PROXY header, the connection
/// limits. `None` when the connection ends there (a limit's `421` already sent).
async fn admit<H: Handler>(
    shared: &Shared<H>,
    gate: &Arc<Gate>,
    mut stream: TcpStream,
    mut peer: Peer,
    proxy: bool,
) -> Option<(TcpStream, Peer, Bytes, Ticket)> {
    // One write per reply batch, and Nagle never holds a reply back (against a delayed
    // ACK it costs up to 40 ms a round trip).
    let _ = stream.set_nodelay(true);
    let mut early = Bytes::new();
    if proxy {
        let read = read_proxy(&mut stream);
        match tokio::time::timeout(shared.timeouts.proxy_header, read).await {
            Ok(Ok((header, rest))) => {
                if let Some(source) = header.source {
                    peer.proxied = Some(peer.peer);
                    peer.peer = source;
                }
                if let Some(dest) = header.destination {
                    peer.local = dest;
                }
                early = rest;
                info!(client = %peer.peer, "PROXY header");
            }
            Ok(Err(e)) => {
                info!(error = %e, "bad PROXY header");
                return None;
            }
            Err(_) => {
                info!("no PROXY header in time");
                return None;
            }
        }
    }
    let Some(ticket) = gate.enter(peer.peer.ip()) else {
        shared.counters.refused.fetch_add(1, Relaxed);
        info!("connection limit reached");
        if peer.kind == ListenerKind::ImplicitTls {
            // A plaintext 421 written into a TLS port is garbage to the client's TLS
            // stack, and a handshake would spend the very resources the limit
            // protects: close at once (RFC 8314 §3.1 clients retry later).
            return None;
        }
        let r = replies::too_many_connections();
        driver::refuse(shared, Transport::Plain(Box::new(stream)), r).await;
        return None;
    };
    Some((stream, peer, early, ticket))
}

/// Reads exactly the PROXY header; what was read past it comes back with it.
async fn read_proxy(stream: &mut TcpStream) -> Result<(proxy::ProxyHeader, Bytes), String> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        match proxy::parse(&buf) {
            Ok(Some((header, used))) => return Ok((header, Bytes::copy_from_slice(&buf[used..]))),
            Ok(None) if buf.len() >= proxy::MAX_HEADER => return Err("header too long".into()),
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;
    use crate::handler::{Context, Decision, Session, Transaction};
    use smtp_proto::{Reply, ServerOptions};

    struct Sink;
    struct Idle;
    impl Session for Idle {
        async fn data(&mut self, _: &Context, _: &Transaction, body: &mut Body<'_>) -> Decision {
            // A handler that stores the message keeps a large future: it must not
            // count while the session waits.
            let mut store = [0u8; 4096];
            while let Ok(n) = tokio::io::AsyncReadExt::read(body, &mut store).await {
                if n == 0 {
                    break;
                }
            }
            Decision::Accept
        }
    }
    impl Handler for Sink {
        type Session = Idle;
        async fn connect(&self, _: &Context) -> Result<Idle, Reply> {
            Ok(Idle)
        }
    }

    /// A waiting client costs the server its session's task and little else (reads go
    /// through a buffer on the polling stack, the core keeps no buffer between
    /// transactions), so the task's size is the memory per idle session. It was 9.5 KiB
    /// when the start of a connection (PROXY header, implicit TLS, the connect hook) and
    /// every handler hook's future were part of it; boxing those and the TLS facts
    /// brought it to about 2 KiB in a release build, 2.4 KiB in a test build. This
    /// keeps it there.
    #[tokio::test]
    async fn an_idle_session_task_stays_small() {
        let shared = Arc::new(Shared {
            handler: Sink,
            options: Arc::new(ServerOptions::default()),
            tls: None,
            timeouts: Default::default(),
            counters: Default::default(),
            received_header: true,
            started: 0,
            #[cfg(feature = "testing")]
            faults: None,
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let stream = TcpStream::from_std(server).unwrap();
        let peer = Peer {
            id: 1,
            peer: client.local_addr().unwrap(),
            local: addr,
            proxied: None,
            kind: ListenerKind::StartTls,
        };
        let (_phase, rx) = watch::channel(Phase::Running);
        let gate = Arc::new(Gate::new(ConnectionLimits::default()));
        let task = connection(shared, gate, stream, peer, false, rx);
        let size = std::mem::size_of_val(&task);
        assert!(size <= 3072, "a session's task is {size} octets");
    }
}
