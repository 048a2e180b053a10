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
pub(crate) async fn connection<H: Handler>(
    shared: Arc<Shared<H>>,
    gate: Arc<Gate>,
    stream: TcpStream,
    peer: Peer,
    proxy: bool,
    shutdown: watch::Receiver<Phase>,
) {
    let span = info_span!("smtp", id = peer.id, peer = %peer.peer, listener = ?peer.kind);
    async move {
        // One write per reply batch: never let Nagle hold a reply back (PEERS.md).
        let _ = stream.set_nodelay(true);
        let mut stream = stream;
        let mut peer = peer;
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
                    return;
                }
                Err(_) => {
                    info!("no PROXY header in time");
                    return;
                }
            }
        }
        let Some(_ticket) = gate.enter(peer.peer.ip()) else {
            shared.counters.refused.fetch_add(1, Relaxed);
            info!("connection limit reached");
            if peer.kind == ListenerKind::ImplicitTls {
                // A plaintext 421 written into a TLS port is garbage to the client's TLS
                // stack, and a handshake would spend the very resources the limit
                // protects: close at once (RFC 8314 §3.1 clients retry later).
                return;
            }
            let r = replies::too_many_connections();
            driver::refuse(&shared, Transport::Plain(Box::new(stream)), r).await;
            return;
        };
        driver::run(shared, Box::new(stream), peer, early, Some(shutdown)).await;
    }
    .instrument(span)
    .await
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
