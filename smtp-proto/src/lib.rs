//! # smtp-proto: the sans-IO SMTP core
//!
//! Parses and emits every SMTP command and reply by the RFC 5321 grammar and its
//! extensions, with no sockets, no async runtime and no clock. A binding (our
//! `smtp-server` and `smtp-client`, or your own) moves the bytes; this crate decides what
//! they mean.
//!
//! ## Layers
//! - [`types`]: validated values. [`Command`], [`Reply`], [`Capabilities`], [`Mailbox`],
//!   [`ReversePath`], [`ForwardPath`], [`Domain`], MAIL/RCPT parameters. A constructor
//!   refuses anything the grammar does not allow, in particular CR, LF and NUL, so no
//!   value can be emitted as a forged protocol line.
//! - [`framing`]: splitting bytes into lines. CRLF-strict, length-capped ([`Limits`]),
//!   incremental (only new bytes are scanned); lines are parsed in place.
//! - [`codec`]: one complete line in, one typed value out ([`decode_command`],
//!   [`ReplyDecoder`], [`decode_capabilities`]), and back ([`Encode`]).
//! - [`server`]: the server session state machine, [`ServerSession`]: every protocol
//!   rule (sequencing, PIPELINING, STARTTLS, DATA/BDAT framing, AUTH, LMTP), with the
//!   application deciding on each sender, recipient, message and credential.
//! - [`client`]: the client session state machine, [`client::ClientSession`]: greeting,
//!   EHLO/HELO, STARTTLS as the [`client::policy`] decides (none/may/encrypt/verify/
//!   secure/DANE, per-destination map), AUTH, pipelined transactions with per-recipient
//!   results, dot-stuffing ([`framing::stuff`]) or BDAT, LMTP.
//! - [`proxy`]: the HAProxy PROXY protocol header (v1 and v2) a listener behind a load
//!   balancer reads before SMTP starts.
//! - [`session`]: what both roles share: [`Output`], [`UpgradeToken`], [`TlsInfo`],
//!   [`Timeout`].
//!
//! ## Driving a session
//! A binding owns the socket and runs one loop per connection; the session owns every
//! protocol decision and keeps the only input buffer:
//!
//! ```text
//! loop {
//!     match session.poll()? {
//!         Output::Transmit(bytes) => write all of `bytes`,
//!         Output::Event(ev)       => hand `ev` to the application; for a decision event
//!                                    call accept / accept_with / reject (or challenge),
//!         Output::NeedInput       => read; session.feed(&bytes) (or feed_eof() on EOF),
//!         Output::StartTls(token) => TLS handshake on the raw socket;
//!                                    session.tls_established(token, tls_info)?,
//!         Output::Close           => flush and close,
//!     }
//! }
//! ```
//!
//! - Feed every byte read, in full: a binding that buffers on its own could carry
//!   plaintext across the STARTTLS upgrade (CVE-2011-0411 class). The session refuses
//!   bytes that arrive after `STARTTLS` with [`PeerMisbehaved::PlaintextAfterStartTls`].
//! - `poll` returns `Err` once for a peer error after the final reply's `Transmit`;
//!   polling again gives `Close`. [`ApiMisuse`] errors leave the session unchanged.
//! - The core has no clock: [`ServerSession::timeout`] says which RFC 5321 §4.5.3.2
//!   timeout the binding should run while it waits.
//!
//! ## Streaming
//! Decoders take a `BytesMut` that the caller appends received bytes to, and return
//! `Ok(Some(value))`, `Ok(None)` for "need more input", or a typed [`ParseError`] saying
//! what was wrong and where. The same bytes split anywhere decode the same.
//!
//! ```
//! use bytes::BytesMut;
//! use smtp_proto::{Command, CommandDecoder, Encode, ReversePath};
//!
//! let mut decoder = CommandDecoder::default();
//! let mut buf = BytesMut::from(&b"MAIL FROM:<\"a> ORCPT=rfc822;x@y\"@example.com> SIZE=1000\r\nRC"[..]);
//! let Some(Command::Mail { from, params }) = decoder.decode(&mut buf)? else { panic!() };
//! // The quoted local part is one local part: nothing inside it became a parameter.
//! assert_eq!(from.mailbox().unwrap().local_part().as_str(), "a> ORCPT=rfc822;x@y");
//! assert_eq!(params.size, Some(1000));
//! assert!(params.other().is_empty());
//! // "RC" is an incomplete line: need more input.
//! assert_eq!(decoder.decode(&mut buf)?, None);
//! // Emitting quotes the local part again.
//! let cmd = Command::Mail { from, params };
//! assert_eq!(&cmd.to_bytes()[..], &b"MAIL FROM:<\"a> ORCPT=rfc822;x@y\"@example.com> SIZE=1000\r\n"[..]);
//! # Ok::<(), smtp_proto::ParseError>(())
//! ```
//!
//! ## Security stance
//! - Paths are parsed and emitted by the grammar, never by searching for `>`
//!   (CVE-2025-59937 class).
//! - Only CRLF ends a line; a bare CR or LF is an error unless
//!   [`LineEndings::AllowBareLf`] is chosen. A message ends only at `<CRLF>.<CRLF>`;
//!   a bare CR or LF in a body gets the message refused (or normalised, by option), so
//!   `<LF>.<LF>` and its variants can never end one (SMTP smuggling, CVE-2023-51764).
//! - Bytes pipelined after `STARTTLS` are never interpreted: the session closes with a
//!   typed error (CVE-2011-0411 class). The client does the same with bytes after the
//!   server's `220` ([`PeerMisbehaved::PlaintextAfterStartTlsReply`]), and refuses to go
//!   on in plaintext when its policy requires TLS (a stripped `STARTTLS` is a
//!   [`client::policy::PolicyViolation`], not a silent downgrade). After the handshake it forgets the greeting,
//!   authentication and transaction (RFC 3207 §4.2).
//! - `BDAT` chunks are always consumed by their declared size, even when refused, so
//!   their content is never read as commands.
//! - Every buffer is bounded by [`Limits`]; over-long lines are typed errors and are
//!   discarded through their end so a pipelining peer stays in sync.
//! - AUTH payloads are [`Secret`]s: redacted from `Debug`.
//!
//! ## RFCs
//! | RFC | what | where |
//! |---|---|---|
//! | 5321 | SMTP: commands, paths, replies, limits | [`types`], [`codec`], [`Limits`] |
//! | 1870 | SIZE | [`MailParams::size`], [`Extension::Size`] |
//! | 2033 | LMTP `LHLO`, one reply per recipient | [`Command::Lhlo`], [`ServerOptions::lmtp`] |
//! | 2034, 3463 | enhanced status codes | [`EnhancedCode`] |
//! | 2920 | PIPELINING | [`Extension::Pipelining`] |
//! | 3030 | CHUNKING `BDAT`, BINARYMIME | [`Command::Bdat`], [`Body`] |
//! | 3207 | STARTTLS | [`Command::StartTls`], [`Output::StartTls`] |
//! | 3848, 6531 §3.7.3, 8314 §4.3 | `Received:` protocol names and TLS clause | [`Received`] |
//! | 3461 | DSN: NOTIFY, ORCPT, RET, ENVID, xtext | [`RcptParams`], [`MailParams`] |
//! | 4954, 4616 | AUTH, PLAIN, LOGIN | [`Command::Auth`], [`SaslResponse`], [`MailAuth`], [`Credentials`] |
//! | 5321 §4.5.2 | DATA transparency (dot-stuffing) | [`DotDecoder`] |
//! | 6152 | 8BITMIME | [`Body`] |
//! | 6531 | SMTPUTF8 | [`ParseOptions::smtputf8`], [`MailParams::smtputf8`] |
//! | 8689 | REQUIRETLS | [`MailParams::requiretls`] |
//! | 9422 | LIMITS | [`LimitsExt`] |
//! | 7672, 6698 | DANE for SMTP, TLSA | [`client::policy::TlsPolicy::Dane`] |

#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations)]
#![warn(unreachable_pub)]

pub mod client;
pub mod codec;
pub mod date;
pub mod error;
pub mod framing;
pub mod limits;
pub mod proxy;
pub mod secret;
pub mod server;
pub mod session;
pub mod types;

pub use codec::{
    CommandDecoder, Encode, ParseOptions, ReplyDecoder, decode_capabilities, decode_command,
    decode_sasl_response, encode_capabilities,
};
pub use error::{
    AddressPart, ApiMisuse, Error, ParseError, ParseErrorKind, PeerMisbehaved, Stage, ValueError,
};
pub use framing::data::{BareLineEndings, BodyDefect, BodyStep, ChunkDecoder, DotDecoder};
pub use framing::line::{LineEndings, LineReader};
pub use limits::{AddressLimits, Limits};
pub use secret::Secret;
pub use server::{
    AbortReason, Credentials, HelloVerb, Protocol, Received, ServerEvent, ServerOptions,
    ServerSession,
};
pub use session::{Output, Timeout, TlsInfo, TransportSecurity, UpgradeToken};
pub use types::capability::{Capabilities, Extension, LimitsExt, Word};
pub use types::command::{Command, Mechanism, SaslResponse, Verb};
pub use types::domain::{AddressLiteral, Domain, GeneralLiteral, Host};
pub use types::params::{
    Body, Envid, Keyword, MailAuth, MailParams, Notify, Orcpt, Param, RcptParams, Ret, Value,
};
pub use types::path::{ForwardPath, LocalPart, Mailbox, ReversePath};
pub use types::reply::{EnhancedCode, Reply, ReplyCode};
pub use types::text::Text;
