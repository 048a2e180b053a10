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
//!   certificate chain, verified or why not, the policy and the rule that chose it),
//!   and typed [`Error`]s that tell transient from permanent ([`Error::is_transient`])
//!   and still carry the report when the session failed half-way ([`Error::report`]).
//! - TLS: policies `none`, `may`, `encrypt`, `verify` (the default), `secure` and
//!   `dane` (TLSA records the caller resolved, RFC 7672), one for all or per
//!   destination ([`ClientOptions::with_policy_map`]); trust anchors from
//!   `webpki-roots`, the system store or given CA certificates ([`TrustAnchors`]).
//!   Plaintext injected after the STARTTLS reply is detected and the session dropped.
//! - AUTH PLAIN, LOGIN and XOAUTH2, never over plaintext unless
//!   [`ClientOptions::auth_without_tls`] says so.
//! - MX delivery: [`dns::MxDelivery`] tries a domain's mail hosts in order through a
//!   DNSSEC-aware [`dns::Resolver`], each host under the policy that decides for it (a
//!   local rule, DANE, MTA-STS, the default), and says what happened at each.
//!
//! This crate builds no messages: give [`Connection::send`] the bytes of one (RFC 5322),
//! e.g. from the `mail-builder` crate (see the workspace README).
//!
//! ```no_run
//! use smtp_client::{ClientOptions, Connection, Envelope, TlsPolicy, TrustAnchors};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let opts = ClientOptions::new("client.example.org", TlsPolicy::Verify)
//!     .with_trust(TrustAnchors::webpki())
//!     .with_plain_auth("user", "secret");
//! let mut conn = Connection::connect("smtp.example.com:587", opts).await?;
//! println!("tls: {}", conn.report().tls_line());
//! let env = Envelope::new("me@example.org", ["you@example.com"])?;
//! let delivery = conn.send(env, "Subject: hi\r\n\r\nHello.\r\n").await?;
//! println!("{delivery}"); // you@example.com: 250 2.0.0 Ok: queued as 4F2A
//! conn.quit().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Results
//!
//! A message accepted for every recipient, for some, or for none gives the same
//! per-recipient view: a [`Delivery`] whose [`status`](Delivery::status) says which,
//! one [`RecipientResult`] per recipient (the address as the caller wrote it, its
//! reply), and a `Display` of one line per recipient. Only the wholly refused message
//! comes as an error, [`Error::MessageRefused`], so that `?` never takes it for a
//! success; its [`Error::delivery`] is that same `Delivery`, and
//! `.or_else(Error::into_delivery)` gives a `Delivery` in all three cases:
//!
//! ```
//! use smtp_client::{ClientOptions, Connection, DeliveryStatus, Envelope, Error, TlsPolicy};
//! # use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! # /// A server on the other end of a pipe: each reply once the client's bytes end so.
//! # async fn server(mut io: tokio::io::DuplexStream, script: &[(&str, &str)]) {
//! #     let (mut seen, mut buf) = (Vec::new(), [0; 4096]);
//! #     for (expect, reply) in script {
//! #         while !seen.ends_with(expect.as_bytes()) {
//! #             match io.read(&mut buf).await { Ok(0) | Err(_) => return, Ok(n) => seen.extend_from_slice(&buf[..n]) }
//! #         }
//! #         io.write_all(reply.as_bytes()).await.unwrap();
//! #     }
//! # }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let (stream, far) = tokio::io::duplex(64 * 1024);
//! # tokio::spawn(async move { server(far, &[
//! #     ("", "220 mx.example.com ESMTP\r\n"), ("\r\n", "250 mx.example.com\r\n"),
//! #     ("MAIL FROM:<alice@example.org>\r\n", "250 2.1.0 Ok\r\n"),
//! #     ("RCPT TO:<bob@example.com>\r\n", "250 2.1.5 Ok\r\n"),
//! #     ("RCPT TO:<carol@example.com>\r\n", "550 5.1.1 No such user\r\n"),
//! #     ("DATA\r\n", "354 Go ahead\r\n"), ("\r\n.\r\n", "250 2.0.0 Queued\r\n"),
//! #     ("MAIL FROM:<alice@example.org>\r\n", "250 2.1.0 Ok\r\n"),
//! #     ("RCPT TO:<carol@example.com>\r\n", "550 5.1.1 No such user\r\n"),
//! #     ("RSET\r\n", "250 2.0.0 Ok\r\n"),
//! #     ("MAIL FROM:<alice@example.org>\r\n", "250 2.1.0 Ok\r\n"),
//! #     ("RCPT TO:<carol@example.com>\r\n", "550 5.1.1 No such user\r\n"),
//! #     ("RSET\r\n", "250 2.0.0 Ok\r\n"), ("QUIT\r\n", "221 2.0.0 Bye\r\n"),
//! # ]).await });
//! let opts = ClientOptions::new("client.example.org", TlsPolicy::None); // a test server without TLS
//! let mut conn = Connection::from_stream(stream, "mx.example.com", opts).await?;
//! let message = "Subject: hi\r\n\r\nHello.\r\n";
//!
//! // Partly refused: `Ok`, and each recipient's fate.
//! let both = Envelope::new("alice@example.org", ["bob@example.com", "<carol@example.com>"])?;
//! let delivery = conn.send(both, message).await?;
//! assert_eq!(delivery.status(), DeliveryStatus::PartlyRefused);
//! assert_eq!(
//!     delivery.to_string(),
//!     "bob@example.com: 250 2.0.0 Queued\n<carol@example.com>: 550 5.1.1 No such user"
//! );
//!
//! // Wholly refused: an error, carrying the same view.
//! let carol = Envelope::new("alice@example.org", ["carol@example.com"])?;
//! let error = conn.send(carol.clone(), message).await.unwrap_err();
//! assert!(error.is_permanent());
//! assert_eq!(error.delivery().map(|d| d.status()), Some(DeliveryStatus::Refused));
//!
//! // A `Delivery` whatever became of the message; other errors still stop at `?`.
//! let delivery = conn.send(carol, message).await.or_else(Error::into_delivery)?;
//! assert_eq!(delivery.to_string(), "carol@example.com: 550 5.1.1 No such user");
//! conn.quit().await?;
//! # Ok(())
//! # }
//! ```
//!
//! For a queue, [`outcomes`] gives one typed [`Outcome`] per recipient of the envelope
//! whatever the result was (delivered with its queue id, or a transient or permanent
//! failure and its [`Reason`]: recipient or message refused, TLS policy,
//! authentication, rate-limited or greylisted, connection, timeout, local), and
//! [`RecipientResult::outcome`] and [`Error::outcome`] give one each.
//!
//! # Features
//!
//! The crypto provider, chosen at build time ([`default_provider`] builds it):
//!
//! - `aws-lc-rs` (default): rustls' aws-lc-rs provider. The client offers the
//!   post-quantum hybrid key exchange X25519MLKEM768 (ML-KEM-768 with X25519) first,
//!   with an X25519 key share beside it, so a server without ML-KEM picks X25519 at no
//!   extra round trip; [`TlsReport::key_exchange`] says which one was agreed. DANE's
//!   SHA-256/512 digests come from aws-lc-rs too, so this build does not need ring.
//!   Building it compiles AWS-LC's C sources (a C compiler is enough on the common
//!   targets).
//! - `ring`: rustls' ring provider (and ring's digests), for a smaller build: X25519
//!   first, no post-quantum group. Use `--no-default-features --features ring`.
//!
//! With both on (`--all-features`), aws-lc-rs is used; with neither, the build stops
//! with an error that names them.
//!
//! - `dns` (off by default): `dns::HickoryResolver`, a [`dns::Resolver`] on
//!   `hickory-resolver` with the system's configuration, and that dependency. It does
//!   not validate DNSSEC: every answer is insecure, so DANE never applies. The rest of
//!   the [`dns`] module ([`dns::MxDelivery`], [`dns::mail_hosts`], the `Resolver`
//!   trait) needs no feature.
//! - `dane` (off by default; includes `dns`): DNSSEC validation inside
//!   `dns::HickoryResolver` (hickory's `dnssec-ring`), from the root trust anchors or
//!   given ones (`dns::DnssecAnchors`), so that MX delivery applies DANE (RFC 7672).
//! - `tls-rpt` (off by default): the `tlsrpt` module (TLS reporting, RFC 8460):
//!   results recorded per policy and each domain's JSON aggregate report, with
//!   `serde_json`. The record parser and the result names are the core's, always there
//!   (`proto::client::tlsrpt`).
//! - `mta-sts` (off by default): the `mta_sts` module (MTA-STS, RFC 8461): each
//!   domain's policy fetched over HTTPS (hyper and hyper-rustls, on this crate's crypto
//!   provider and trust anchors), cached, and turned into the plan for its MX hosts.
//!   The policy rules are the core's, always there (`proto::client::sts`).
//! - `testing` (off by default): the `testing` module, for testing servers: a hostile,
//!   scripted SMTP client that records every exchange, and a server audit (SMTP
//!   smuggling, STARTTLS injection, bare LF, long lines, AUTH before TLS, limits).
//! - `serde` (off by default): `Serialize` and `Deserialize` for [`Outcome`] and
//!   [`RecipientOutcome`] (reasons by name, replies as their wire text), for queues
//!   and logs.
//!
//! # Types from the core
//!
//! The `smtp-proto` types this crate's API uses are re-exported here (replies,
//! capabilities, paths, parameters, TLS policies); the whole core is [`proto`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod certs;
mod conn;
mod dane;
mod delivery;
pub mod dns;
mod error;
#[cfg(feature = "mta-sts")]
pub mod mta_sts;
mod net;
mod options;
mod outcome;
pub mod pool;
mod report;
mod resume;
#[cfg(feature = "testing")]
pub mod testing;
mod tls;
#[cfg(feature = "tls-rpt")]
pub mod tlsrpt;
mod transport;
mod verify;

pub use certs::CertificateSummary;
pub use conn::Connection;
pub use delivery::{Delivery, DeliveryStatus, RecipientResult};
pub use error::Error;
pub use options::{ClientCert, ClientOptions, Timeouts, TrustAnchors};
pub use outcome::{Outcome, OutcomeStatus, RecipientOutcome, outcomes};
pub use report::{SessionReport, TlsReport};
pub use tls::default_provider;
pub use transport::Io;
pub use verify::CertFailure;

/// rustls, whose types [`ClientOptions`] takes (protocol versions, cipher suites,
/// key-exchange groups).
pub use rustls;
pub use smtp_proto as proto;
/// The core's error, inside [`Error::Protocol`].
pub use smtp_proto::Error as ProtocolError;
pub use smtp_proto::Stage;
pub use smtp_proto::client::outcome::Reason;
pub use smtp_proto::client::policy::{
    DomainPattern, Level, PolicyMap, PolicyViolation, RequireTlsMissing, TlsPolicy, Tlsa,
};
pub use smtp_proto::client::{ClientAuth, Envelope};
pub use smtp_proto::framing::stuff::BareEndingsOut;
pub use smtp_proto::{
    AddressLiteral, ApiMisuse, Capabilities, Domain, EnhancedCode, Extension, ForwardPath, Host,
    Limits, LimitsExt, LocalPart, MailParams, Mailbox, Mechanism, PeerMisbehaved, RcptParams,
    Reply, ReplyCode, ReversePath, Secret, Text, Timeout, ValueError, Word,
};

/// The values of MAIL and RCPT parameters, for an [`Envelope`]'s
/// [`params`](Envelope::params) ([`MailParams`]) and each recipient's [`RcptParams`]:
/// `BODY=` (RFC 6152, 3030), `RET=`, `ENVID=`, `NOTIFY=`, `ORCPT=` (RFC 3461), `AUTH=`
/// (RFC 4954), and extension parameters kept as they are.
pub mod params {
    pub use smtp_proto::{Body, Envid, Keyword, MailAuth, Notify, Orcpt, Param, Ret, Value};
}

/// The workspace README's examples (core, server and client), compiled and run as
/// doctests here, where every crate they use is a (dev-)dependency.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// Connects, sends one message and quits: the convenience for a single message.
/// Returns the delivery and what the connection got; a failure carries the report
/// so far ([`Error::report`]).
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
