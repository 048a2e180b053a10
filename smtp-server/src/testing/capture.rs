//! What a [`TestServer`](super::TestServer) records: every accepted message with its
//! envelope, TLS facts, AUTH identity and the session's transcript, and every session.

use super::faults::Faults;
use super::transcript::Transcript;
use crate::body::Body;
use crate::handler::{
    Context, Decision, Handler, Outcome, Recipient, Session, TlsFacts, Transaction,
};
use bytes::Bytes;
use smtp_proto::{Credentials, EnhancedCode, HelloVerb, Host, MailParams, Reply, ReversePath};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// One accepted message.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Message {
    /// The queue id (also in the `250` reply: `250 2.0.0 Ok: queued as ID`).
    pub id: String,
    /// The sender.
    pub from: ReversePath,
    /// The sender's parameters.
    pub params: MailParams,
    /// The recipients accepted, with their parameters.
    pub recipients: Vec<Recipient>,
    /// The message as received (dot-unstuffed; no `Received:` header of ours unless the
    /// builder turned it on).
    pub data: Bytes,
    /// TLS facts, when the session had TLS.
    pub tls: Option<TlsFacts>,
    /// The authenticated identity, after AUTH.
    pub auth: Option<String>,
    /// The greeting (HELO/EHLO/LHLO and the name).
    pub hello: Option<(HelloVerb, Host)>,
    /// The client's address.
    pub peer: SocketAddr,
    /// The session's transcript up to the end of this message.
    pub transcript: Transcript,
    /// When its body was complete.
    pub received: std::time::SystemTime,
}

impl Message {
    /// A record of the message a [`Session::data`] hook is receiving: `ctx` and
    /// `envelope` as the hook got them, `data` the body it read, `transcript` the
    /// session's so far ([`Faults::transcript`] of `ctx.id()`, with fault rules on).
    pub fn from_parts(
        ctx: &Context,
        envelope: &Transaction,
        data: Bytes,
        transcript: Transcript,
    ) -> Self {
        Self {
            id: ctx.queue_id().unwrap_or("unknown").to_owned(),
            from: envelope.from.clone(),
            params: envelope.params.clone(),
            recipients: envelope.recipients.clone(),
            data,
            tls: ctx.tls().cloned(),
            auth: ctx.user().map(str::to_owned),
            hello: ctx.hello().map(|(v, h)| (v, h.clone())),
            peer: ctx.peer(),
            transcript,
            received: std::time::SystemTime::now(),
        }
    }

    /// The recipients as `a@b` strings (`Postmaster` for the bare `<Postmaster>`).
    pub fn to(&self) -> Vec<String> {
        self.recipients.iter().map(|r| recipient(&r.path)).collect()
    }

    /// The sender as an `a@b` string (empty for `<>`).
    pub fn from_address(&self) -> String {
        self.from
            .mailbox()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The message as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The header fields in order, `(name, value)`, each value unfolded (RFC 5322
    /// §2.2.3: the CRLF before a continuation's white space removed) and trimmed.
    pub fn headers(&self) -> Vec<(String, String)> {
        let text = self.text();
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some((_, v)) = fields.last_mut() {
                    v.push_str(line);
                }
            } else if let Some((n, v)) = line.split_once(':') {
                fields.push((n.trim().to_owned(), v.to_owned()));
            }
        }
        for (_, v) in &mut fields {
            *v = v.trim().to_owned();
        }
        fields
    }

    /// The first header field `name` (case ignored), unfolded, without the name.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers()
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The body: what follows the header section's empty line (empty without one).
    pub fn body(&self) -> String {
        let text = self.text();
        text.split_once("\r\n\r\n")
            .map_or(String::new(), |(_, b)| b.to_owned())
    }
}

/// A recipient as `a@b` (`Postmaster` for the bare `<Postmaster>`).
pub(crate) fn recipient(path: &smtp_proto::ForwardPath) -> String {
    path.mailbox()
        .map_or_else(|| "Postmaster".to_owned(), ToString::to_string)
}

/// A session that ended: who, with what TLS, how, and its transcript.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// The connection's id.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// TLS facts, when it had TLS.
    pub tls: Option<TlsFacts>,
    /// The authenticated identity.
    pub auth: Option<String>,
    /// Messages accepted and refused, and the error that ended it.
    pub outcome: Outcome,
    /// Everything said.
    pub transcript: Transcript,
}

/// Where a test server puts what it records; clones share it.
#[derive(Clone)]
pub struct Mailbox {
    inner: Arc<Store>,
}

struct Store {
    messages: Mutex<Vec<Message>>,
    sessions: Mutex<Vec<SessionRecord>>,
    /// Bumped at each change, for waiters.
    changed: watch::Sender<u64>,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("messages", &lock(&self.inner.messages).len())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// [`Mailbox::wait_for`] gave up.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no match within {waited:?}; {count} recorded")]
pub struct WaitTimeout {
    /// How long it waited.
    pub waited: Duration,
    /// Messages (or sessions, for [`Mailbox::wait_for_sessions`]) recorded when it gave
    /// up.
    pub count: usize,
}

impl Default for Mailbox {
    fn default() -> Self {
        Self {
            inner: Arc::new(Store {
                messages: Mutex::default(),
                sessions: Mutex::default(),
                changed: watch::channel(0).0,
            }),
        }
    }
}

impl SessionRecord {
    /// A record of the session a [`Session::close`] hook is closing.
    pub fn from_parts(ctx: &Context, outcome: &Outcome, transcript: Transcript) -> Self {
        Self {
            id: ctx.id(),
            peer: ctx.peer(),
            tls: ctx.tls().cloned(),
            auth: ctx.user().map(str::to_owned),
            outcome: outcome.clone(),
            transcript,
        }
    }
}

impl Mailbox {
    /// An empty mailbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<Message> {
        lock(&self.inner.messages).clone()
    }

    /// The sessions that ended so far, in order.
    pub fn sessions(&self) -> Vec<SessionRecord> {
        lock(&self.inner.sessions).clone()
    }

    /// Forgets every message and session.
    pub fn clear(&self) {
        lock(&self.inner.messages).clear();
        lock(&self.inner.sessions).clear();
        self.inner.changed.send_modify(|n| *n += 1);
    }

    /// Removes the message with this id; whether it was there.
    pub fn remove(&self, id: &str) -> bool {
        let mut m = lock(&self.inner.messages);
        let before = m.len();
        m.retain(|x| x.id != id);
        before != m.len()
    }

    /// Records a message (and wakes the waiters).
    pub fn push(&self, message: Message) {
        lock(&self.inner.messages).push(message);
        self.inner.changed.send_modify(|n| *n += 1);
    }

    /// Records a session that ended.
    pub fn push_session(&self, s: SessionRecord) {
        lock(&self.inner.sessions).push(s);
        self.inner.changed.send_modify(|n| *n += 1);
    }

    /// Waits until `ready` holds for the messages recorded (checked now and at each
    /// change), at most `timeout`; gives the messages then.
    pub async fn wait_for(
        &self,
        ready: impl Fn(&[Message]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<Message>, WaitTimeout> {
        self.wait_on(&self.inner.messages, ready, timeout).await
    }

    /// Waits for the sessions the same way.
    pub async fn wait_for_sessions(
        &self,
        ready: impl Fn(&[SessionRecord]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<SessionRecord>, WaitTimeout> {
        self.wait_on(&self.inner.sessions, ready, timeout).await
    }

    /// Checks `ready` on `list` now and at each change of the mailbox, for at most
    /// `timeout`.
    async fn wait_on<T: Clone>(
        &self,
        list: &Mutex<Vec<T>>,
        ready: impl Fn(&[T]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<T>, WaitTimeout> {
        let mut rx = self.inner.changed.subscribe();
        let wait = async {
            loop {
                {
                    let items = lock(list);
                    if ready(&items) {
                        return items.clone();
                    }
                }
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| WaitTimeout {
                waited: timeout,
                count: lock(list).len(),
            })
    }
}

/// The test server's handler: accepts everything the rules and limits let through,
/// checks AUTH against its users, records into its [`Mailbox`].
pub(crate) struct Capture {
    pub(crate) mailbox: Mailbox,
    pub(crate) faults: Faults,
    pub(crate) users: HashMap<String, String>,
}

pub(crate) struct CaptureSession {
    capture: Arc<Capture>,
}

impl Handler for Arc<Capture> {
    type Session = CaptureSession;
    async fn connect(&self, _: &Context) -> Result<CaptureSession, Reply> {
        Ok(CaptureSession {
            capture: self.clone(),
        })
    }
}

impl Session for CaptureSession {
    async fn auth(&mut self, _: &Context, c: &Credentials) -> Decision {
        match self.capture.users.get(&c.username) {
            Some(p) if p == c.password.expose() => Decision::Accept,
            _ => Decision::auth_failed(),
        }
    }

    async fn data(&mut self, ctx: &Context, env: &Transaction, body: &mut Body<'_>) -> Decision {
        let mut data = Vec::new();
        if tokio::io::copy(body, &mut data).await.is_err() {
            return Decision::temporary_failure();
        }
        let id = ctx.queue_id().unwrap_or("unknown").to_owned();
        if !body.refused_by_fault(env) {
            let transcript = self.capture.faults.transcript(ctx.id()).unwrap_or_default();
            let m = Message::from_parts(ctx, env, data.into(), transcript);
            self.capture.mailbox.push(m);
        }
        Decision::reply(250, EnhancedCode::OK, &format!("Ok: queued as {id}"))
            .unwrap_or(Decision::Accept)
    }

    fn close(&mut self, ctx: &Context, outcome: &Outcome) {
        let transcript = self.capture.faults.transcript(ctx.id()).unwrap_or_default();
        let record = SessionRecord::from_parts(ctx, outcome, transcript);
        self.capture.mailbox.push_session(record);
    }
}
