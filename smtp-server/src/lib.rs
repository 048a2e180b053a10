//! # smtp-server
//!
//! A thin tokio + rustls binding of the [`smtp_proto`] server state machine. It holds no
//! protocol logic of its own: each connection's loop is read → feed → act → write, and
//! the application decides through a [`Handler`] (one [`Session`] per connection, in the
//! shape of go-smtp's `Backend`/`Session`).
//!
//! - Listeners with STARTTLS (ports 25/587) and implicit TLS (465, RFC 8314), several
//!   at once, optionally behind a PROXY-protocol load balancer.
//! - TLS from a rustls `ServerConfig` or PEM files, certificates chosen by SNI, and
//!   [`TlsConfig::reload`] for renewal without dropping live sessions.
//! - RFC 5321 §4.5.3.2 timeouts, global and per-IP connection limits (`421 4.7.0`),
//!   graceful shutdown, `tracing` spans, counters ([`Stats`]) that show whether TLS is
//!   actually used, and our `Received:` header (with the TLS clause) on every message.
//! - The STARTTLS swap keeps no buffer: every byte read goes to the core, which refuses
//!   plaintext pipelined behind STARTTLS (CVE-2011-0411); the core's DATA decoder ends a
//!   message only at `<CRLF>.<CRLF>` (no SMTP smuggling).
//!
//! ```no_run
//! use smtp_server::{Body, Context, Decision, Handler, Listener, Server, Session, TlsConfig};
//! use smtp_server::{ForwardPath, Domain, RcptParams, Reply, ServerOptions, Transaction};
//!
//! struct Sink;
//! struct Conn;
//! impl Handler for Sink {
//!     type Session = Conn;
//!     async fn connect(&self, _: &Context) -> Result<Conn, Reply> {
//!         Ok(Conn)
//!     }
//! }
//! impl Session for Conn {
//!     async fn rcpt(&mut self, _: &Context, to: &ForwardPath, _: &RcptParams) -> Decision {
//!         // Domains compare without case: `<bob@Example.COM>` is ours too.
//!         match to.domain() {
//!             Some(d) if d == "example.com" => Decision::Accept,
//!             _ => Decision::policy_refusal(),
//!         }
//!     }
//!     async fn data(&mut self, ctx: &Context, env: &Transaction, body: &mut Body<'_>) -> Decision {
//!         // The body is an AsyncRead (or take its chunks with `body.next()`).
//!         let mut file = Vec::new();
//!         if tokio::io::copy(body, &mut file).await.is_err() {
//!             return Decision::temporary_failure(); // ignored if the client aborted
//!         }
//!         let id = ctx.queue_id().unwrap_or_default(); // also in our Received: header
//!         println!("{id}: {} bytes for {} recipients", file.len(), env.recipients.len());
//!         Decision::Accept
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let options = ServerOptions::new(Domain::new("mx.example.com")?);
//! let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
//! let server = Server::builder(options, Sink)
//!     .listener(Listener::starttls("127.0.0.1:2525".parse()?))
//!     .listener(Listener::implicit_tls("127.0.0.1:4650".parse()?))
//!     .tls(tls)
//!     .bind()
//!     .await?;
//! server.serve(async { let _ = tokio::signal::ctrl_c().await; }).await;
//! # Ok(())
//! # }
//! ```
//!
//! ## What comes from where
//!
//! The protocol types a handler meets (paths, parameters, replies, options) are the
//! core's, re-exported here at the crate root so these docs show them; the whole core
//! is [`proto`].
//!
//! ## Features: the crypto provider
//!
//! TLS is rustls with one of its crypto providers, chosen here at build time;
//! [`default_provider`] builds it and [`TlsBuilder`] starts from it.
//!
//! - `aws-lc-rs` (default): rustls' aws-lc-rs provider, which puts the post-quantum
//!   hybrid key exchange X25519MLKEM768 (ML-KEM-768 with X25519) first, then X25519,
//!   secp256r1 and secp384r1, as rustls does by default. A client without ML-KEM
//!   (OpenSSL before 3.5, Postfix on it) gets X25519. Building it compiles AWS-LC's C
//!   sources (a C compiler is enough on the common targets).
//! - `ring`: rustls' ring provider, for a smaller build: X25519 first, no post-quantum
//!   group. Use `--no-default-features --features ring`.
//!
//! With both on (`--all-features`), aws-lc-rs is used; with neither, the build stops
//! with an error that names them. The group each handshake agreed on is in
//! [`TlsFacts::key_exchange`], [`TlsInfo::key_exchange`] and our `Received:` header
//! (`key-exchange X25519MLKEM768`, as Postfix writes it).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod body;
mod config;
mod conn;
mod date;
mod driver;
mod error;
mod handler;
mod listener;
mod server;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;
mod tls;
mod transport;

pub use body::{Body, BodyError};
pub use config::{ConnectionLimits, Timeouts};
pub use error::ConfigError;
pub use handler::{
    AuthStep, Context, Decision, Handler, ListenerKind, Outcome, Recipient, Session, TlsFacts,
    Transaction,
};
pub use listener::Listener;
pub use server::{Server, ServerBuilder, ServerHandle};
pub use smtp_proto as proto;
// The core's types a handler meets, re-exported (and so documented) here.
pub use smtp_proto::{
    AbortReason, Credentials, Domain, EnhancedCode, ForwardPath, HelloVerb, Host, LocalPart,
    MailParams, Mailbox, Mechanism, RcptParams, Reply, ReplyCode, ReversePath, Secret,
    ServerOptions, Text, TlsInfo, ValueError,
};
// What `ServerOptions`' fields take.
pub use smtp_proto::{AddressLimits, BareLineEndings, Limits, LineEndings};

/// The values of MAIL and RCPT parameters, as a [`Transaction`] carries them in
/// [`MailParams`] and each [`Recipient`]'s [`RcptParams`]: `BODY=` (RFC 6152, 3030),
/// `RET=`, `ENVID=`, `NOTIFY=`, `ORCPT=` (RFC 3461), `AUTH=` (RFC 4954), and extension
/// parameters kept as they are.
pub mod params {
    pub use smtp_proto::{Body, Envid, Keyword, MailAuth, Notify, Orcpt, Param, Ret, Value};
}
pub use stats::{HandshakeFailure, Stats};
pub use tls::{TlsBuilder, TlsConfig, default_provider};
pub use transport::Io;

/// The RFC 5322 §3.3 date-time of `t` in UTC, e.g. `Thu, 03 Dec 2026 17:08:48 +0000`
/// (as in our `Received:` header; handy for a `Date:` header too).
pub fn rfc5322_date(t: std::time::SystemTime) -> String {
    date::rfc5322(t)
}
