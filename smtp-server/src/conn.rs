//! One connection's I/O loop around the core: transmit what it says, read when it needs
//! input, run the handshake it asks for, and hand every event up. No protocol logic
//! lives here.

use crate::config::Timeouts;
use crate::handler::TlsFacts;
use crate::stats::{Counters, HandshakeFailure};
use crate::tls::TlsConfig;
use crate::transport::Transport;
use smtp_proto::server::replies;
use smtp_proto::{Error, Output, PeerMisbehaved, ServerEvent, ServerSession, UpgradeToken};
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::Poll;
use tokio::io::ReadBuf;
use tokio::sync::watch;
use tokio::time::timeout;
use tracing::{debug, info};

/// Where a graceful shutdown stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    /// Idle sessions close; sessions in a transaction finish it first.
    Draining,
    /// Every session closes now.
    Now,
}

/// Octets taken from the stream per read at most: one TLS record's worth of plaintext.
/// The buffer lives on the stack of the poll that reads and the bytes go straight to the
/// core, so a waiting session holds no read buffer at all, and none is zeroed or
/// resized between transactions.
const READ_SIZE: usize = 16 * 1024;
/// Body bytes that count as one block of progress: each block (and each command) must
/// arrive within [`Timeouts::command`] of the previous one.
const BODY_BLOCK: usize = 64 * 1024;

/// What [`Conn::next_event`] waits on next.
enum Next {
    Transmit(bytes::Bytes),
    Receive,
    StartTls(UpgradeToken),
    Close,
}

pub(crate) struct Conn {
    pub(crate) io: Transport,
    pub(crate) session: ServerSession,
    pub(crate) timeouts: Arc<Timeouts>,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) shutdown: Option<watch::Receiver<Phase>>,
    /// The handshake the session asked for succeeded: facts for the context.
    pub(crate) new_tls: Option<Box<TlsFacts>>,
    /// Why the session ended, when not by QUIT or EOF.
    pub(crate) error: Option<String>,
    /// The connection broke: nothing more can be written.
    dead: bool,
    /// When the command (or body block) being waited for must be complete: one deadline
    /// per command, not per read, so a client trickling a byte at a time cannot hold the
    /// connection open (RFC 5321 §4.5.3.2.7 times the wait for a command).
    deadline: Option<tokio::time::Instant>,
    /// Body bytes since the deadline was last renewed.
    body_progress: usize,
    /// Fault rules in force ([`crate::testing`]): the connection runs in lock step.
    #[cfg(feature = "testing")]
    pub(crate) tap: Option<Box<crate::testing::tap::Tap>>,
}

impl Conn {
    pub(crate) fn new(
        io: Transport,
        session: ServerSession,
        timeouts: Arc<Timeouts>,
        tls: Option<TlsConfig>,
        counters: Arc<Counters>,
        shutdown: Option<watch::Receiver<Phase>>,
    ) -> Self {
        Self {
            io,
            session,
            timeouts,
            tls,
            counters,
            shutdown,
            new_tls: None,
            error: None,
            dead: false,
            deadline: None,
            body_progress: 0,
            #[cfg(feature = "testing")]
            tap: None,
        }
    }

    /// The client completed something: the next wait gets a fresh deadline.
    pub(crate) fn progress(&mut self) {
        self.deadline = None;
        self.body_progress = 0;
    }

    /// Drives the session to its next event; `None` once it has closed (after the last
    /// reply went out).
    pub(crate) async fn next_event(&mut self) -> Option<ServerEvent> {
        loop {
            // The core's output is as large as its largest event: only what the waits
            // below need leaves this block, so it is not kept in every waiting
            // session's task (memory per idle session).
            let next = {
                let out = match self.session.poll() {
                    Ok(o) => o,
                    Err(e) => {
                        self.note_error(&e);
                        continue;
                    }
                };
                match out {
                    Output::Event(ev) => {
                        if !matches!(ev, ServerEvent::Body(_)) {
                            self.progress();
                        }
                        #[cfg(feature = "testing")]
                        if let Some(tap) = &mut self.tap {
                            tap.event(&ev);
                        }
                        return Some(ev);
                    }
                    Output::Transmit(bytes) => Next::Transmit(bytes),
                    Output::NeedInput => Next::Receive,
                    Output::StartTls(token) => Next::StartTls(token),
                    Output::Close => Next::Close,
                }
            };
            match next {
                Next::Transmit(bytes) => {
                    self.progress();
                    #[cfg(feature = "testing")]
                    if self.tap.is_some() {
                        self.transmit_tapped(&bytes).await;
                        continue;
                    }
                    self.transmit(&bytes).await
                }
                Next::Receive => self.receive().await,
                Next::StartTls(token) => {
                    #[cfg(feature = "testing")]
                    if let Some(tap) = &mut self.tap
                        && !tap.pending.is_empty()
                    {
                        // Plaintext still held when the handshake starts was sent
                        // before it: the core counts it and refuses the session.
                        self.session.feed(&tap.pending.split());
                    }
                    match Box::pin(self.handshake()).await {
                        Some(facts) => {
                            #[cfg(feature = "testing")]
                            if let Some(tap) = &self.tap {
                                tap.note(format!(
                                    "TLS {} {} {}",
                                    facts.info.version(),
                                    facts.info.cipher(),
                                    facts.key_exchange.as_deref().unwrap_or("-")
                                ));
                            }
                            info!(
                                version = facts.info.version(),
                                cipher = facts.info.cipher(),
                                "STARTTLS"
                            );
                            match self.session.tls_established(token, facts.info.clone()) {
                                Ok(()) => self.new_tls = Some(Box::new(facts)),
                                Err(e) => self.note_error(&e),
                            }
                        }
                        None => self.session.tls_failed(token),
                    }
                }
                Next::Close => {
                    if !self.dead {
                        // A client that stops reading must not hold the close either.
                        let _ = timeout(self.timeouts.write, self.io.shutdown()).await;
                    }
                    return None;
                }
            }
        }
    }

    /// Whether the client has already closed the connection, found without waiting: one
    /// read if something is ready (bytes are given to the session, so nothing piles up;
    /// a client still sending is not gone). At the end of a message this tells a client
    /// that sent the final dot and left without waiting for the reply (it will not count
    /// the message as delivered, RFC 5321 §4.1.1.4, so keeping it would make a
    /// duplicate).
    pub(crate) async fn peer_gone(&mut self) -> bool {
        if self.dead {
            return true;
        }
        // One turn of the runtime, so that its I/O driver has noted what arrived.
        tokio::task::yield_now().await;
        #[cfg(feature = "testing")]
        let mut held = self.tap.as_deref_mut().map(|t| &mut t.pending);
        #[cfg(not(feature = "testing"))]
        let mut held: Option<&mut bytes::BytesMut> = None;
        let (io, session) = (&mut self.io, &mut self.session);
        let polled =
            std::future::poll_fn(|cx| Poll::Ready(poll_feed(io, session, held.as_deref_mut(), cx)))
                .await;
        match polled {
            Poll::Pending => false,
            Poll::Ready(Ok(0)) => {
                #[cfg(feature = "testing")]
                if let Some(tap) = &mut self.tap {
                    tap.eof = true;
                    if !tap.pending.is_empty() {
                        return false;
                    }
                }
                self.session.feed_eof();
                // A client that pipelined commands after the dot (QUIT, the next MAIL)
                // and only closed its sending side still reads the replies: not gone.
                self.session.buffered() == 0
            }
            Poll::Ready(Ok(_)) => false,
            Poll::Ready(Err(e)) => {
                self.broken(format!("read: {e}"));
                self.session.feed_eof();
                true
            }
        }
    }

    fn note_error(&mut self, e: &Error) {
        if matches!(
            e,
            Error::Peer(PeerMisbehaved::PlaintextAfterStartTls { .. })
        ) {
            self.counters.injections.fetch_add(1, Relaxed);
        }
        info!(error = %e, "session error");
        self.error.get_or_insert_with(|| e.to_string());
    }

    pub(crate) async fn transmit(&mut self, bytes: &[u8]) {
        if self.dead {
            return;
        }
        match timeout(self.timeouts.write, self.io.write_all(bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.broken(format!("write: {e}")),
            Err(_) => self.broken("write timed out".into()),
        }
    }

    /// Whether the connection broke (nothing more can be written).
    #[cfg(feature = "testing")]
    pub(crate) fn is_dead(&self) -> bool {
        self.dead
    }

    pub(crate) fn broken(&mut self, why: String) {
        debug!(%why, "connection broken");
        self.error.get_or_insert(why);
        self.dead = true;
        self.io = Transport::Gone;
    }

    async fn receive(&mut self) {
        if self.dead {
            self.session.feed_eof();
            return;
        }
        let phase = self
            .shutdown
            .as_ref()
            .map_or(Phase::Running, |w| *w.borrow());
        #[cfg(feature = "testing")]
        let idle = self.session.is_idle() && self.tap.as_ref().is_none_or(|t| t.pending.is_empty());
        #[cfg(not(feature = "testing"))]
        let idle = self.session.is_idle();
        if phase == Phase::Now || (phase == Phase::Draining && idle) {
            self.session.close_with(replies::shutting_down());
            self.error
                .get_or_insert_with(|| "server shutting down".into());
            return;
        }
        #[cfg(feature = "testing")]
        if self.deliver().await {
            return;
        }
        let deadline = *self
            .deadline
            .get_or_insert_with(|| tokio::time::Instant::now() + self.timeouts.command);
        let (io, session) = (&mut self.io, &mut self.session);
        #[cfg(feature = "testing")]
        let mut held = self.tap.as_deref_mut().map(|t| &mut t.pending);
        #[cfg(not(feature = "testing"))]
        let mut held: Option<&mut bytes::BytesMut> = None;
        let read = std::future::poll_fn(|cx| poll_feed(io, session, held.as_deref_mut(), cx));
        let read = tokio::time::timeout_at(deadline, read);
        let result = match self.shutdown.as_mut() {
            Some(w) => tokio::select! {
                r = read => r,
                changed = w.changed() => {
                    if changed.is_err() {
                        self.shutdown = None;
                    }
                    return; // look at the phase again
                }
            },
            None => read.await,
        };
        match result {
            #[cfg(feature = "testing")]
            Ok(Ok(0)) if self.tap.is_some() => {
                if let Some(tap) = &mut self.tap {
                    tap.eof = true;
                }
                self.deliver().await;
            }
            Ok(Ok(0)) => self.session.feed_eof(),
            Ok(Ok(n)) => {
                #[cfg(feature = "testing")]
                self.deliver().await;
                // Body octets renew the deadline every BODY_BLOCK, whether the session
                // keeps them or drains them (an over-size message, a refused chunk).
                if self.session.timeout() == smtp_proto::Timeout::DataBlock {
                    self.body_progress += n;
                    if self.body_progress >= BODY_BLOCK {
                        self.progress();
                    }
                }
            }
            Ok(Err(e)) => {
                self.broken(format!("read: {e}"));
                self.session.feed_eof();
            }
            Err(_) => {
                // RFC 5321 §4.5.3.2: the server gives up; 421 says why (§3.8).
                self.session.close_with(replies::timeout());
                self.error.get_or_insert_with(|| "timeout".into());
            }
        }
    }

    /// The STARTTLS handshake; `None` (counted, logged) when it fails.
    async fn handshake(&mut self) -> Option<TlsFacts> {
        let config = self.tls.as_ref()?.current();
        #[cfg(feature = "testing")]
        let config = self
            .tap
            .as_ref()
            .and_then(|t| t.certificate())
            .unwrap_or(config);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        match timeout(self.timeouts.handshake, self.io.upgrade(acceptor, true)).await {
            Ok(Ok(facts)) => Some(facts),
            Ok(Err(e)) => {
                let why = HandshakeFailure::classify(&e);
                self.counters.handshake_failed(why);
                self.broken(format!("TLS handshake failed ({why:?}): {e}"));
                None
            }
            Err(_) => {
                self.counters.handshake_failed(HandshakeFailure::Timeout);
                self.broken("TLS handshake timed out".into());
                None
            }
        }
    }
}

/// One read from `io`, its bytes given to `session` at once: `Ready(Ok(n))` with the
/// number of octets, 0 at the end of the stream.
fn poll_feed(
    io: &mut Transport,
    session: &mut ServerSession,
    held: Option<&mut bytes::BytesMut>,
    cx: &mut std::task::Context<'_>,
) -> Poll<std::io::Result<usize>> {
    let mut storage = [MaybeUninit::<u8>::uninit(); READ_SIZE];
    let mut buf = ReadBuf::uninit(&mut storage);
    match io.poll_read(cx, &mut buf) {
        Poll::Ready(Ok(())) => {
            let n = buf.filled().len();
            match held {
                Some(held) => held.extend_from_slice(buf.filled()),
                None if n > 0 => session.feed(buf.filled()),
                None => {}
            }
            Poll::Ready(Ok(n))
        }
        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        Poll::Pending => Poll::Pending,
    }
}
