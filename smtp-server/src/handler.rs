//! The application's side: a [`Handler`] makes one [`Session`] per connection, and the
//! binding calls the session's hooks as the SMTP dialogue goes (the shape of go-smtp's
//! `Backend`/`Session` and aiosmtpd's `handle_*` hooks). Every hook but
//! [`Session::data`] has a default, so a sink is a few lines.

use crate::body::Body;
use smtp_proto::{
    Credentials, ForwardPath, HelloVerb, Host, MailParams, Mechanism, RcptParams, Reply,
    ReversePath, TlsInfo,
};
use std::future::Future;
use std::net::SocketAddr;

/// The answer to a hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go on with the standard positive reply (`250 2.1.0 Ok`, the EHLO list, `235`…).
    Accept,
    /// Answer with this reply: a positive one (2xx) accepts with custom text (`250 2.0.0
    /// queued as 4F2A`), a transient (4xx) or permanent (5xx) one refuses. `421` also
    /// closes the connection.
    Reply(Reply),
}

impl Decision {
    /// A refusal (or custom acceptance) from parts; text that is not valid reply text
    /// (control characters) is replaced by a generic one.
    pub fn reply(code: u16, enhanced: (u8, u16, u16), text: &str) -> Self {
        let reply = Reply::with_text(code, Some(enhanced), [text])
            .or_else(|_| Reply::with_text(code, None, ["Refused"]))
            .unwrap_or_else(|_| {
                Reply::with_text(554, Some((5, 0, 0)), ["Refused"]).expect("static reply")
            });
        Self::Reply(reply)
    }
}

/// The answer to one step of a SASL mechanism the core does not decode itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// Send this challenge (`334 base64`) and wait for the next response.
    Challenge(Vec<u8>),
    /// Finish: accept (`235`) or refuse.
    Done(Decision),
    /// Finish with success, naming the authenticated user (kept in [`Context::user`]).
    Authenticated(String),
}

/// Which kind of listener accepted the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListenerKind {
    /// Plaintext first, with STARTTLS offered when TLS is configured (ports 25 and 587).
    StartTls,
    /// TLS from the first byte (port 465, RFC 8314 §3).
    ImplicitTls,
}

/// What the TLS handshake gave, beyond the core's [`TlsInfo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFacts {
    /// Version, cipher suite (IANA name), SNI and whether a client certificate verified.
    pub info: TlsInfo,
    /// The key-exchange group (e.g. `X25519`), when known.
    pub key_exchange: Option<String>,
    /// The client's certificate chain (DER, leaf first), when it sent one and the
    /// configured verifier accepted it.
    pub client_certificates: Vec<Vec<u8>>,
    /// Whether TLS came by STARTTLS (false: implicit TLS).
    pub starttls: bool,
}

/// The envelope of the transaction in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The accepted sender.
    pub from: ReversePath,
    /// The sender's parameters.
    pub params: MailParams,
    /// The accepted recipients, in order.
    pub recipients: Vec<ForwardPath>,
}

/// What the binding knows about a connection; every hook gets it.
#[derive(Debug, Clone)]
pub struct Context {
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    pub(crate) local: SocketAddr,
    pub(crate) proxied: Option<SocketAddr>,
    pub(crate) listener: ListenerKind,
    pub(crate) tls: Option<TlsFacts>,
    pub(crate) hello: Option<(HelloVerb, Host)>,
    pub(crate) user: Option<String>,
    pub(crate) transaction: Option<Transaction>,
}

impl Context {
    /// A number unique to this connection within the server.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// The client's address (from the PROXY header when the listener takes one).
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }
    /// The address the client connected to.
    pub fn local(&self) -> SocketAddr {
        self.local
    }
    /// With the PROXY protocol: the address of the proxy that connected to us.
    pub fn proxy(&self) -> Option<SocketAddr> {
        self.proxied
    }
    /// The kind of listener.
    pub fn listener(&self) -> ListenerKind {
        self.listener
    }
    /// TLS facts, once TLS is active.
    pub fn tls(&self) -> Option<&TlsFacts> {
        self.tls.as_ref()
    }
    /// The accepted greeting (verb and name).
    pub fn hello(&self) -> Option<(HelloVerb, &Host)> {
        self.hello.as_ref().map(|(v, h)| (*v, h))
    }
    /// The authenticated user, after a successful AUTH.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
    /// The transaction in progress (sender and accepted recipients).
    pub fn transaction(&self) -> Option<&Transaction> {
        self.transaction.as_ref()
    }
}

/// How a connection ended, for [`Session::close`] and the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Messages accepted (in LMTP: messages with at least one accepted recipient).
    pub accepted: u64,
    /// Messages refused or aborted after their body started.
    pub rejected: u64,
    /// Why the session ended, when not by QUIT or the client closing.
    pub error: Option<String>,
}

/// Makes one [`Session`] per connection; shared by every connection of a server.
pub trait Handler: Send + Sync + 'static {
    /// The per-connection state.
    type Session: Session;

    /// A client connected (after the PROXY header, and after the handshake on an
    /// implicit-TLS listener), before the greeting. `Err(reply)` refuses the connection
    /// with that reply (`554 5.7.1` or `421 4.7.0`) and closes it.
    fn connect(&self, ctx: &Context) -> impl Future<Output = Result<Self::Session, Reply>> + Send;
}

/// One connection's hooks. The binding calls them in protocol order and answers the
/// client from their result; the core has already checked syntax, sequence, limits and
/// the TLS requirements of the [`smtp_proto::ServerOptions`].
pub trait Session: Send + 'static {
    /// `HELO`/`EHLO`/`LHLO` with the name the client gave.
    fn hello(
        &mut self,
        ctx: &Context,
        verb: HelloVerb,
        host: &Host,
    ) -> impl Future<Output = Decision> + Send {
        let _ = (ctx, verb, host);
        async { Decision::Accept }
    }

    /// `AUTH PLAIN` or `AUTH LOGIN` credentials, decoded. The default refuses
    /// (`535 5.7.8`): a server that offers AUTH must check passwords.
    fn auth(
        &mut self,
        ctx: &Context,
        credentials: &Credentials,
    ) -> impl Future<Output = Decision> + Send {
        let _ = (ctx, credentials);
        async { Decision::Reply(smtp_proto::server::replies::auth_failed()) }
    }

    /// One step of another SASL mechanism (`response` is `None` when the client sent no
    /// initial response). The default refuses.
    fn auth_step(
        &mut self,
        ctx: &Context,
        mechanism: &Mechanism,
        response: Option<&[u8]>,
    ) -> impl Future<Output = AuthStep> + Send {
        let _ = (ctx, mechanism, response);
        async { AuthStep::Done(Decision::Reply(smtp_proto::server::replies::auth_failed())) }
    }

    /// `MAIL FROM` (parameters already checked against what the server offers).
    fn mail(
        &mut self,
        ctx: &Context,
        from: &ReversePath,
        params: &MailParams,
    ) -> impl Future<Output = Decision> + Send {
        let _ = (ctx, from, params);
        async { Decision::Accept }
    }

    /// `RCPT TO`.
    fn rcpt(
        &mut self,
        ctx: &Context,
        to: &ForwardPath,
        params: &RcptParams,
    ) -> impl Future<Output = Decision> + Send {
        let _ = (ctx, to, params);
        async { Decision::Accept }
    }

    /// The message: read the body from `body` (chunks, dot-unstuffed, with the
    /// `Received:` header first unless turned off) and decide. Returning before the end
    /// is fine: the rest is read and dropped before the reply is sent. If the body is
    /// aborted (bare LF, too big, connection lost) [`Body::next`] says so and the
    /// decision is ignored: the core has already answered.
    fn data(&mut self, ctx: &Context, body: &mut Body<'_>)
    -> impl Future<Output = Decision> + Send;

    /// LMTP (RFC 2033 §4.2): one decision per accepted recipient, in order. The default
    /// gives [`Session::data`]'s decision to every recipient.
    fn data_lmtp(
        &mut self,
        ctx: &Context,
        body: &mut Body<'_>,
    ) -> impl Future<Output = Vec<Decision>> + Send {
        async move {
            let n = ctx.transaction().map_or(0, |t| t.recipients.len());
            let d = self.data(ctx, body).await;
            vec![d; n]
        }
    }

    /// The transaction was discarded (`RSET`, a new `EHLO`, an aborted body, the end of
    /// the connection in the middle of a transaction).
    fn reset(&mut self, ctx: &Context) {
        let _ = ctx;
    }

    /// The connection is over.
    fn close(&mut self, ctx: &Context, outcome: &Outcome) {
        let _ = (ctx, outcome);
    }
}
