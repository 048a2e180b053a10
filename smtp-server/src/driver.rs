//! One connection from accept to close: the optional implicit-TLS handshake, the
//! handler's `connect`, then events from the core dispatched to the handler's hooks and
//! their decisions handed back. No protocol logic lives here.

use crate::body::{Body, BodyError, End};
use crate::config::Timeouts;
use crate::conn::{Conn, Phase};
use crate::handler::{
    AuthStep, Context, Decision, Handler, ListenerKind, Outcome, Recipient, Session, Transaction,
};
use crate::stats::{Counters, HandshakeFailure};
use crate::tls::TlsConfig;
use crate::transport::{BoxIo, Prefixed, Transport};
use bytes::Bytes;
use smtp_proto::server::replies;
use smtp_proto::{ServerEvent, ServerOptions, ServerSession, TransportSecurity, Word};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::SystemTime;
use tokio::sync::watch;
use tracing::{info, warn};

/// What every connection of a server shares.
pub(crate) struct Shared<H> {
    pub(crate) handler: H,
    pub(crate) options: Arc<ServerOptions>,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) timeouts: Arc<Timeouts>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) received_header: bool,
    /// When the server started, in microseconds since the epoch: the first part of
    /// every queue id, so ids stay unique across restarts.
    pub(crate) started: u64,
    /// Fault rules ([`crate::testing`]).
    #[cfg(feature = "testing")]
    pub(crate) faults: Option<crate::testing::Faults>,
}

/// Where a connection came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    pub(crate) local: SocketAddr,
    pub(crate) proxied: Option<SocketAddr>,
    pub(crate) kind: ListenerKind,
}

/// Runs one connection to its end. `early` holds bytes read past a PROXY header: they
/// are the client's first SMTP bytes and go to the core like any others.
pub(crate) async fn run<H: Handler>(
    shared: Arc<Shared<H>>,
    io: BoxIo,
    peer: Peer,
    early: Bytes,
    shutdown: Option<watch::Receiver<Phase>>,
) {
    // The start (implicit TLS, the connect hook) runs in a future of its own, boxed and
    // gone once it is done: an idle session's task then holds the driver and the wait
    // for the next command, not the start's locals as well (memory per idle session).
    let start = Box::pin(start(&shared, io, peer, early, shutdown));
    // `let else`, not `if let`: the `Option` would live through the whole block beside
    // the driver moved out of it, doubling the task's size.
    let Some(mut d) = start.await else {
        return;
    };
    d.run().await;
}

/// Everything before the first command: the implicit-TLS handshake, the connect hook.
/// `None` when the connection ended there.
async fn start<H: Handler>(
    shared: &Shared<H>,
    io: BoxIo,
    peer: Peer,
    early: Bytes,
    shutdown: Option<watch::Receiver<Phase>>,
) -> Option<Driver<'_, H>> {
    let mut ctx = Context {
        id: peer.id,
        peer: peer.peer,
        local: peer.local,
        proxied: peer.proxied,
        listener: peer.kind,
        tls: None,
        hello: None,
        user: None,
        transaction: None,
        queue_id: None,
    };
    let mut transport = Transport::Plain(io);
    let mut security = TransportSecurity::Plain;
    #[cfg(feature = "testing")]
    let mut tap = shared.faults.as_ref().map(|f| {
        let endings = shared.options.command_line_endings;
        Box::new(crate::testing::tap::Tap::new(f.clone(), peer.id, endings))
    });
    if peer.kind == ListenerKind::ImplicitTls {
        let tls = shared.tls.as_ref()?;
        if !early.is_empty() {
            // The start of the handshake came in the same read as the PROXY header.
            let Transport::Plain(io) = transport else {
                return None;
            };
            transport = Transport::Plain(Box::new(Prefixed::new(early.clone(), io)));
        }
        let config = tls.current();
        #[cfg(feature = "testing")]
        let config = tap.as_ref().and_then(|t| t.certificate()).unwrap_or(config);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        match tokio::time::timeout(
            shared.timeouts.handshake,
            transport.upgrade(acceptor, false),
        )
        .await
        {
            Ok(Ok(facts)) => {
                security = TransportSecurity::ImplicitTls(facts.info.clone());
                ctx.tls = Some(Box::new(facts));
            }
            Ok(Err(e)) => {
                let why = HandshakeFailure::classify(&e);
                shared.counters.handshake_failed(why);
                info!(reason = ?why, error = %e, "TLS handshake failed");
                return None;
            }
            Err(_) => {
                shared.counters.handshake_failed(HandshakeFailure::Timeout);
                info!("TLS handshake timed out");
                return None;
            }
        }
    }
    #[cfg(feature = "testing")]
    if let Some(tap) = tap.as_mut() {
        match crate::testing::wire::at_connect(tap).await {
            crate::testing::wire::Start::Go => {}
            crate::testing::wire::Start::Close => return None,
            crate::testing::wire::Start::Refuse(r) => {
                shared.counters.refused.fetch_add(1, Relaxed);
                refuse(shared, transport, r).await;
                return None;
            }
        }
    }
    let connect = bounded(
        shared.timeouts.handler,
        shared.handler.connect(&ctx),
        || Err(replies::local_error_closing()),
    )
    .await;
    let handler_session = match connect {
        Ok(s) => s,
        Err(r) => {
            shared.counters.refused.fetch_add(1, Relaxed);
            info!(reply = %r.code().get(), "connection refused by the handler");
            refuse(shared, transport, r).await;
            return None;
        }
    };
    let session = ServerSession::new(shared.options.clone(), security);
    let mut conn = conn(shared, transport, session, shutdown);
    #[cfg(feature = "testing")]
    {
        conn.tap = tap;
    }
    if peer.kind == ListenerKind::StartTls {
        #[cfg(feature = "testing")]
        if let Some(tap) = conn.tap.as_mut() {
            tap.pending.extend_from_slice(&early);
        } else {
            conn.session.feed(&early);
        }
        #[cfg(not(feature = "testing"))]
        conn.session.feed(&early);
    }
    Some(Driver {
        conn,
        ctx,
        hs: handler_session,
        shared,
        decisions: VecDeque::new(),
        outcome: Outcome::default(),
        messages: 0,
    })
}

/// Sends `reply` instead of a greeting and closes (a limit, or the handler said no).
pub(crate) async fn refuse<H>(shared: &Shared<H>, transport: Transport, reply: smtp_proto::Reply) {
    let session = ServerSession::refused(shared.options.clone(), reply);
    let mut conn = conn(shared, transport, session, None);
    while conn.next_event().await.is_some() {}
}

/// Runs a handler hook under [`Timeouts::handler`]; a late hook's answer is `late()`.
async fn bounded<T>(
    limit: std::time::Duration,
    hook: impl Future<Output = T>,
    late: impl FnOnce() -> T,
) -> T {
    tokio::time::timeout(limit, hook).await.unwrap_or_else(|_| {
        warn!("handler did not decide in time");
        late()
    })
}

fn handler_timeout() -> Decision {
    Decision::Reply(replies::decision_timeout())
}

/// The replies the binding sends for its own failures.
fn is_local_failure(r: &smtp_proto::Reply) -> bool {
    *r == replies::decision_timeout() || *r == replies::auth_temporary_failure()
}

fn conn<H>(
    shared: &Shared<H>,
    transport: Transport,
    session: ServerSession,
    shutdown: Option<watch::Receiver<Phase>>,
) -> Conn {
    Conn::new(
        transport,
        session,
        shared.timeouts.clone(),
        shared.tls.clone(),
        shared.counters.clone(),
        shutdown,
    )
}

struct Driver<'s, H: Handler> {
    conn: Conn,
    ctx: Context,
    hs: H::Session,
    shared: &'s Shared<H>,
    /// LMTP: decisions for the recipients still to be answered.
    decisions: VecDeque<Decision>,
    outcome: Outcome,
    messages: u64,
}

impl<H: Handler> Driver<'_, H> {
    async fn run(&mut self) {
        loop {
            // `let else`, not `while let`: the `Option` would stay beside the boxed
            // dispatch, in every idle session's task.
            let Some(ev) = self.conn.next_event().await else {
                break;
            };
            self.sync_tls();
            // Boxed: a handler's futures (a message being stored, a lookup) live only
            // while their event is handled, so an idle session does not carry their
            // size in its task (memory per idle session).
            Box::pin(self.dispatch(ev)).await;
        }
        self.sync_tls();
        self.finish();
    }

    fn sync_tls(&mut self) {
        if let Some(facts) = self.conn.new_tls.take() {
            // RFC 3207 §4.2: everything learnt before the handshake is forgotten.
            self.ctx.tls = Some(facts);
            self.ctx.hello = None;
            self.ctx.user = None;
            self.end_transaction();
        }
    }

    async fn dispatch(&mut self, ev: ServerEvent) {
        let ctx = &self.ctx;
        match ev {
            ServerEvent::Hello { verb, host } => {
                let d = bounded(
                    self.shared.timeouts.handler,
                    self.hs.hello(ctx, verb, &host),
                    handler_timeout,
                )
                .await;
                // The core writes the greeting lines itself: a positive reply is an accept.
                let d = match self.overridden(d) {
                    Decision::Reply(r) if r.is_positive() => Decision::Accept,
                    d => d,
                };
                if self.decide(d) {
                    self.ctx.hello = Some((verb, host));
                    self.end_transaction();
                }
            }
            ServerEvent::Auth(creds) => {
                let d = bounded(
                    self.shared.timeouts.handler,
                    self.hs.auth(ctx, &creds),
                    handler_timeout,
                )
                .await;
                if self.decide(d) {
                    // The identity the handler authorised: the authzid when the session
                    // let one through (ServerOptions::auth_proxy), else the user name.
                    self.ctx.user = Some(creds.identity().to_owned());
                }
            }
            ServerEvent::AuthStep {
                mechanism,
                response,
            } => {
                let response = response.as_ref().map(|r| r.expose().as_ref());
                let step = self.hs.auth_step(ctx, &mechanism, response);
                let late = || AuthStep::Done(handler_timeout());
                match bounded(self.shared.timeouts.handler, step, late).await {
                    AuthStep::Challenge(c) => {
                        if self.conn.session.challenge(&c).is_err() {
                            self.decide(Decision::Reply(replies::auth_temporary_failure()));
                        }
                    }
                    AuthStep::Done(d) => {
                        self.decide(d);
                    }
                    AuthStep::Authenticated(user) => {
                        if self.decide(Decision::Accept) {
                            self.ctx.user = Some(user);
                        }
                    }
                }
            }
            ServerEvent::Mail { from, params } => {
                let d = bounded(
                    self.shared.timeouts.handler,
                    self.hs.mail(ctx, &from, &params),
                    handler_timeout,
                )
                .await;
                if self.decide(d) {
                    self.ctx.transaction = Some(Box::new(Transaction {
                        from,
                        params,
                        recipients: Vec::new(),
                    }));
                    // The queue id, as Postfix gives one, at the accepted MAIL. Letters
                    // and digits only (an RFC 5322 atom, as RFC 5321 §4.4 wants for the
                    // `id` clause): the server's start, the connection, the transaction.
                    self.messages += 1;
                    self.ctx.queue_id = Some(format!(
                        "{:X}S{:X}M{}",
                        self.shared.started, self.ctx.id, self.messages
                    ));
                }
            }
            ServerEvent::Rcpt { to, params } => {
                let d = bounded(
                    self.shared.timeouts.handler,
                    self.hs.rcpt(ctx, &to, &params),
                    handler_timeout,
                )
                .await;
                if self.decide(d)
                    && let Some(t) = self.ctx.transaction.as_mut()
                {
                    t.recipients.push(Recipient { path: to, params });
                }
            }
            ServerEvent::Data if self.decide(Decision::Accept) => {
                self.message(None).await;
            }
            ServerEvent::MessageEnd { .. } if !self.decisions.is_empty() => {
                // LMTP: the next recipient's reply.
                if let Some(d) = self.decisions.pop_front() {
                    self.decide(d);
                }
            }
            // BDAT: the body starts without a DATA decision.
            ev @ (ServerEvent::Body(_) | ServerEvent::MessageEnd { .. }) => {
                self.message(Some(ev)).await
            }
            ServerEvent::MessageAborted(_) => self.aborted(),
            ServerEvent::Reset => {
                self.end_transaction();
                self.hs.reset(&self.ctx);
            }
            _ => {}
        }
    }

    /// A fault rule's reply in place of the handler's decision ([`crate::testing`]).
    fn overridden(&mut self, d: Decision) -> Decision {
        #[cfg(feature = "testing")]
        if let Some(r) = self.conn.tap.as_mut().and_then(|t| t.take_override()) {
            return Decision::Reply(r);
        }
        d
    }

    /// Hands a decision to the core; whether it accepted.
    fn decide(&mut self, d: Decision) -> bool {
        let d = self.overridden(d);
        let s = &mut self.conn.session;
        let (result, positive) = match d {
            Decision::Accept => (s.accept(), true),
            Decision::Reply(r) if r.is_positive() => (s.accept_with(r), true),
            // The binding's own failures (a hook too slow, a challenge that could not
            // be sent) are not held against the client.
            Decision::Reply(r) if is_local_failure(&r) => (s.reject_local(r), false),
            Decision::Reply(r) => (s.reject(r), false),
        };
        if let Err(e) = result {
            // A reply of the wrong class for this step (a 354 to MAIL): refuse safely.
            warn!(error = %e, "handler decision not usable here");
            if s.reject_local(replies::local_error()).is_err() {
                s.close_with(replies::local_error_closing());
            }
            return false;
        }
        positive
    }

    async fn message(&mut self, first: Option<ServerEvent>) {
        let header = self.received_header();
        let lmtp = self.shared.options.lmtp;
        let mut body = Body::new(&mut self.conn, first, header);
        let none;
        let envelope = match self.ctx.transaction.as_deref() {
            Some(t) => t,
            None => {
                // The core starts a body only inside a transaction; never reached.
                none = Transaction {
                    from: smtp_proto::ReversePath::Null,
                    params: Default::default(),
                    recipients: Vec::new(),
                };
                &none
            }
        };
        let decisions = if lmtp {
            self.hs.data_lmtp(&self.ctx, envelope, &mut body).await
        } else {
            vec![self.hs.data(&self.ctx, envelope, &mut body).await]
        };
        let too_large = body.too_large();
        match body.finish().await {
            End::Complete => {
                let decisions = if too_large {
                    // RFC 3463 §3.4: X.3.4 "message too big for system".
                    let big = Decision::Reply(replies::message_too_big());
                    vec![big; decisions.len().max(1)]
                } else {
                    decisions
                };
                let rcpts = self
                    .ctx
                    .transaction
                    .as_ref()
                    .map_or(1, |t| t.recipients.len());
                self.end_transaction();
                let mut decisions = decisions;
                if lmtp {
                    // One decision per recipient (RFC 2033 §4.2); a missing one is a
                    // temporary failure, never a silent acceptance.
                    decisions.resize(rcpts.max(1), Decision::Reply(replies::no_decision()));
                }
                let accepted = decisions.iter().any(|d| match d {
                    Decision::Accept => true,
                    Decision::Reply(r) => r.is_positive(),
                });
                let counter = if accepted {
                    self.outcome.accepted += 1;
                    &self.shared.counters.accepted
                } else {
                    self.outcome.rejected += 1;
                    &self.shared.counters.rejected
                };
                counter.fetch_add(1, Relaxed);
                let mut decisions: VecDeque<Decision> = decisions.into();
                let first = decisions
                    .pop_front()
                    .unwrap_or_else(|| Decision::Reply(replies::no_decision()));
                // LMTP: the other recipients' decisions answer the next MessageEnd events.
                self.decisions = decisions;
                self.decide(first);
            }
            End::Failed(e) => {
                if e == BodyError::Closed {
                    self.outcome.rejected += 1;
                    self.shared.counters.rejected.fetch_add(1, Relaxed);
                    self.end_transaction();
                    self.hs.reset(&self.ctx);
                } else {
                    self.aborted();
                }
            }
        }
    }

    /// The transaction is over: its envelope and queue id go.
    fn end_transaction(&mut self) {
        self.ctx.transaction = None;
        self.ctx.queue_id = None;
    }

    fn aborted(&mut self) {
        self.outcome.rejected += 1;
        self.shared.counters.rejected.fetch_add(1, Relaxed);
        self.end_transaction();
        self.hs.reset(&self.ctx);
    }

    /// RFC 5321 §4.4 trace header for the message starting now, with the TLS clause.
    fn received_header(&self) -> Option<Bytes> {
        if !self.shared.received_header {
            return None;
        }
        let mut r = self.conn.session.received();
        r.peer_addr = Some(self.ctx.peer.ip());
        r.id = self
            .ctx
            .queue_id
            .as_deref()
            .and_then(|id| Word::new(id).ok());
        let date = crate::date::rfc5322(SystemTime::now());
        r.to_header(&date).ok().map(Bytes::from)
    }

    fn finish(&mut self) {
        self.outcome.error = self.conn.error.take();
        self.outcome.refused_recipients = self.conn.session.refused_recipients();
        let counter = match &self.ctx.tls {
            None => &self.shared.counters.plain,
            Some(t) if t.starttls => &self.shared.counters.starttls,
            Some(_) => &self.shared.counters.implicit,
        };
        counter.fetch_add(1, Relaxed);
        let tls = self.ctx.tls.as_ref();
        info!(
            tls = tls.map_or("none", |t| t.info.version()),
            cipher = tls.map_or("", |t| t.info.cipher()),
            accepted = self.outcome.accepted,
            rejected = self.outcome.rejected,
            refused_recipients = self.outcome.refused_recipients,
            error = self.outcome.error.as_deref().unwrap_or(""),
            "session closed"
        );
        self.hs.close(&self.ctx, &self.outcome);
    }
}
