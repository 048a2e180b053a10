//! # smtp-client
//!
//! The tokio + rustls binding of the `smtp-proto` client state machine: submit or
//! relay mail with a chosen TLS policy, and learn exactly what happened.
//!
//! - [`Connection::connect`] sets a session up (greeting, EHLO, STARTTLS or implicit
//!   TLS as the [`TlsPolicy`] says, AUTH); [`Connection::send`] /
//!   [`Connection::send_reader`] deliver messages on it (pipelined when the server
//!   offers PIPELINING, one write per burst, `TCP_NODELAY`); [`Connection::quit`] ends
//!   it. [`send`] does all three for one message.
//! - Results: a [`Delivery`] with every recipient's reply and the message's reply, a
//!   [`SessionReport`] with what the connection got (TLS version, cipher, key exchange,
//!   certificate chain, verified or why not, policy applied), and typed [`Error`]s
//!   that tell transient from permanent ([`Error::is_transient`]).
//! - TLS: policies `none`, `may`, `encrypt`, `verify` (the default), `secure` and
//!   `dane` (TLSA records the caller resolved, RFC 7672); trust anchors from
//!   `webpki-roots`, the system store or given CA certificates ([`TrustAnchors`]).
//!   Plaintext injected after the STARTTLS reply is detected and the session dropped.
//! - AUTH PLAIN, LOGIN and XOAUTH2, never over plaintext unless
//!   [`ClientOptions::auth_without_tls`] says so.
//! - With the `dns` feature, [`dns`] resolves MX records and tries each host in order.
//!
//! ```no_run
//! use smtp_client::{ClientOptions, Connection, Envelope, TlsPolicy, TrustAnchors};
//!
//! # async fn run() -> Result<(), smtp_client::Error> {
//! let opts = ClientOptions::new("client.example.org", TlsPolicy::Verify)
//!     .with_trust(TrustAnchors::webpki())
//!     .with_plain_auth("user", "secret");
//! let mut conn = Connection::connect("smtp.example.com:587", opts).await?;
//! println!("tls: {}", conn.report().tls_line());
//! let env = Envelope::new("<me@example.org>", ["<you@example.com>"]).expect("valid paths");
//! let delivery = conn.send(env, "Subject: hi\r\n\r\nHello.\r\n").await?;
//! for r in &delivery.recipients {
//!     println!("{}: {:?}", r.address, r.reply);
//! }
//! conn.quit().await
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod certs;
mod conn;
mod dane;
pub mod dns;
mod error;
mod net;
mod options;
mod report;
mod tls;
mod transport;
mod verify;

pub use certs::CertificateSummary;
pub use conn::Connection;
pub use error::Error;
pub use options::{ClientCert, ClientOptions, Timeouts, TrustAnchors};
pub use report::{Delivery, RecipientResult, SessionReport, TlsReport};
pub use smtp_proto as proto;
pub use smtp_proto::client::policy::{DomainPattern, PolicyMap, PolicyViolation, TlsPolicy, Tlsa};
pub use smtp_proto::client::{ClientAuth, Envelope};
pub use tls::default_provider;

/// The workspace README's examples (core, server and client), compiled and run as
/// doctests here, where every crate they use is a (dev-)dependency.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
pub use transport::Io;

/// Connects, sends one message and quits: the convenience for a single message.
/// Returns the delivery and what the connection got.
pub async fn send(
    server: &str,
    opts: ClientOptions,
    envelope: Envelope,
    message: impl AsRef<[u8]>,
) -> Result<(Delivery, SessionReport), Error> {
    let mut conn = Connection::connect(server, opts).await?;
    let delivery = conn.send(envelope, message).await;
    let report = conn.report().clone();
    // The message's fate is known; a failing QUIT changes nothing about it.
    let _ = conn.quit().await;
    Ok((delivery?, report))
}
