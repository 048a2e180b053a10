//! The application's side: a [`Handler`] makes one [`Session`] per connection, and the
//! binding calls the session's hooks as the SMTP dialogue goes (the shape of go-smtp's
//! `Backend`/`Session` and aiosmtpd's `handle_*` hooks). Every hook but
//! [`Session::data`] has a default, so a sink is a few lines.

use crate::body::Body;
use smtp_proto::{
    Credentials, EnhancedCode, ForwardPath, HelloVerb, Host, MailParams, Mechanism, RcptParams,
    Reply, ReplyCode, ReversePath, Text, TlsInfo, ValueError,
};
use std::future::Future;
use std::net::SocketAddr;

/// The answer to a hook.
///
/// A reply can only be built valid: its code is a reply code (RFC 5321 §4.2: `2yz` to
/// `5yz`), its enhanced code agrees with it (RFC 3463 §2: `5.1.1` goes with `5yz`), and
/// its text cannot forge another line. The replies handlers write most have names:
///
/// ```
/// use smtp_server::Decision;
/// use smtp_server::proto::EnhancedCode;
///
/// assert_eq!(Decision::unknown_user().to_string(), "550 5.1.1 No such user here");
/// assert_eq!(Decision::greylisted().to_string(), "451 4.7.1 Greylisted, try again later");
/// let queued = Decision::reply(250, EnhancedCode::OK, "Ok: queued as 4F2A").unwrap();
/// assert_eq!(queued.to_string(), "250 2.0.0 Ok: queued as 4F2A");
/// // A code and an enhanced code that disagree are an error, never a silent rewrite.
/// let bad = EnhancedCode::new(5, 1, 1).unwrap();
/// assert!(Decision::reply(250, bad, "Refused").is_err());
/// assert!(Decision::reply(650, EnhancedCode::OK, "Ok").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go on with the standard positive reply (`250 2.1.0 Ok`, the EHLO list, `235`…).
    Accept,
    /// Answer with this reply: a positive one (2xx) accepts with custom text (`250 2.0.0
    /// queued as 4F2A`), a transient (4xx) or permanent (5xx) one refuses. `421` also
    /// closes the connection. To a greeting, a positive reply accepts like
    /// [`Decision::Accept`] (the EHLO reply lists the server's capabilities). A reply of
    /// a class the step cannot take (a `354` to MAIL) is answered with `451 4.3.0`
    /// and logged.
    Reply(Reply),
}

impl Decision {
    /// A reply from its parts, checked: `Err` when `code` is not a reply code, when
    /// `enhanced` disagrees with it (or `text` starts with a code that does), or when
    /// `text` is not reply text (CR, LF, other controls) or makes the line longer than
    /// RFC 5321's 512 octets.
    pub fn reply(code: u16, enhanced: EnhancedCode, text: &str) -> Result<Self, ValueError> {
        let code = ReplyCode::new(code)?;
        let reply = Reply::new(code, Some(enhanced), vec![Text::new(text)?])?;
        Ok(Self::Reply(reply))
    }

    /// `550 5.1.1 No such user here` ([`Reply::unknown_user`]).
    pub fn unknown_user() -> Self {
        Self::Reply(Reply::unknown_user())
    }

    /// `452 4.2.2 Mailbox full, try again later` ([`Reply::mailbox_full`]).
    pub fn mailbox_full() -> Self {
        Self::Reply(Reply::mailbox_full())
    }

    /// `451 4.7.1 Greylisted, try again later` ([`Reply::greylisted`]).
    pub fn greylisted() -> Self {
        Self::Reply(Reply::greylisted())
    }

    /// `550 5.7.1 Refused by policy` ([`Reply::policy_refusal`]; set your own text with
    /// [`Reply::with_message`]).
    pub fn policy_refusal() -> Self {
        Self::Reply(Reply::policy_refusal())
    }

    /// `451 4.3.0 Temporary failure, try again later` ([`Reply::temporary_failure`]).
    pub fn temporary_failure() -> Self {
        Self::Reply(Reply::temporary_failure())
    }

    /// `535 5.7.8 Authentication credentials invalid` (RFC 4954 §6), for [`Session::auth`].
    pub fn auth_failed() -> Self {
        Self::Reply(smtp_proto::server::replies::auth_failed())
    }

    /// Whether this accepts (an accept, or a positive reply).
    pub fn is_accept(&self) -> bool {
        match self {
            Self::Accept => true,
            Self::Reply(r) => r.is_positive(),
        }
    }
}

impl From<Reply> for Decision {
    fn from(r: Reply) -> Self {
        Self::Reply(r)
    }
}

impl std::fmt::Display for Decision {
    /// The reply's first line (`550 5.1.1 No such user here`), or `accept`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Accept => f.write_str("accept"),
            Self::Reply(r) => r.fmt(f),
        }
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

/// The envelope of the transaction in progress: what [`Session::data`] receives.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The accepted sender.
    pub from: ReversePath,
    /// The sender's parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH=, REQUIRETLS).
    pub params: MailParams,
    /// The accepted recipients, in order.
    pub recipients: Vec<Recipient>,
}

/// One accepted recipient and its parameters (DSN's NOTIFY and ORCPT, RFC 3461).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The path from `RCPT TO:`.
    pub path: ForwardPath,
    /// Its parameters.
    pub params: RcptParams,
}

impl Recipient {
    /// The mailbox's domain (none for `<Postmaster>` or an address literal),
    /// comparable with a `&str` ignoring case: `r.domain().is_some_and(|d| d ==
    /// "example.com")`.
    pub fn domain(&self) -> Option<&smtp_proto::Domain> {
        self.path.domain()
    }
}

impl std::fmt::Display for Recipient {
    /// The path as on the wire: `<bob@example.com>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.path.fmt(f)
    }
}

/// What the binding knows about a connection; every hook gets it.
#[derive(Debug, Clone)]
pub struct Context {
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    pub(crate) local: SocketAddr,
    pub(crate) proxied: Option<SocketAddr>,
    pub(crate) listener: ListenerKind,
    // Boxed, like `transaction`: most sessions wait without them, and an idle session's
    // task should be small (memory per idle session).
    pub(crate) tls: Option<Box<TlsFacts>>,
    pub(crate) hello: Option<(HelloVerb, Host)>,
    pub(crate) user: Option<String>,
    pub(crate) transaction: Option<Box<Transaction>>,
    pub(crate) queue_id: Option<String>,
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
        self.tls.as_deref()
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
        self.transaction.as_deref()
    }
    /// The identifier of the transaction in progress, from its accepted MAIL to its end
    /// (the reply to its message, RSET, an abort): the `id` of our `Received:` header.
    /// Use it as your queue id, or log it, so the header, your log and your reply name
    /// the same message. Unique within the server and across restarts; letters and
    /// digits only (an RFC 5322 atom), e.g. `18C3F1A2B3C4DS1M1`.
    pub fn queue_id(&self) -> Option<&str> {
        self.queue_id.as_deref()
    }
}

/// How a connection ended, for [`Session::close`] and the logs.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Messages accepted (in LMTP: messages with at least one accepted recipient).
    pub accepted: u64,
    /// Messages refused or aborted after their body started.
    pub rejected: u64,
    /// RCPT commands refused, by a hook or by the session's own checks (RCPT before
    /// MAIL, bad syntax, parameters not offered, more than `max_recipients`).
    pub refused_recipients: u64,
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

    /// The message of the transaction `envelope` (its sender and the recipients
    /// accepted, with their parameters): read the body from `body` and decide.
    ///
    /// The body comes dot-unstuffed (DATA) or as chunked (BDAT), with CRLF line
    /// endings and our `Received:` header first (unless turned off). Read it chunk by
    /// chunk with [`Body::next`] (zero-copy `Bytes`), or as a `tokio::io::AsyncRead`
    /// (`tokio::io::copy(body, &mut file)`). Returning before the end is fine: the rest
    /// is read and dropped before the reply is sent. If the body is aborted (bare LF,
    /// too big, connection lost) reading it says so and the decision is ignored: the
    /// core has already answered.
    fn data(
        &mut self,
        ctx: &Context,
        envelope: &Transaction,
        body: &mut Body<'_>,
    ) -> impl Future<Output = Decision> + Send;

    /// LMTP (RFC 2033 §4.2): one decision per accepted recipient of `envelope`, in
    /// order. The default gives [`Session::data`]'s decision to every recipient.
    fn data_lmtp(
        &mut self,
        ctx: &Context,
        envelope: &Transaction,
        body: &mut Body<'_>,
    ) -> impl Future<Output = Vec<Decision>> + Send {
        async move {
            let d = self.data(ctx, envelope, body).await;
            vec![d; envelope.recipients.len()]
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
