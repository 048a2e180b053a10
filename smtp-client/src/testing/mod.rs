//! Testing servers (feature `testing`): a hostile SMTP client and a server audit.
//!
//! - [`TestClient`] speaks raw, scripted SMTP to any server: it writes exactly the
//!   bytes it is given (bare LF, bare CR, NUL, over-long lines, pipelined commands),
//!   in one write, split at chosen offsets or slowly; it reads replies without
//!   trusting them (every read bounded in time and size, malformed replies kept as
//!   raw lines beside what smtp-proto's decoder makes of them); it starts TLS when
//!   asked, also with commands pipelined behind STARTTLS; and it records a
//!   [`Transcript`] of every write and every reply.
//! - [`audit`] runs the checks a receiving server should pass against one address and
//!   returns an [`AuditReport`]: SMTP smuggling end-of-data look-alikes
//!   (CVE-2023-51764 class), STARTTLS command injection (CVE-2011-0411), bare LF in
//!   commands, over-long command lines, AUTH before TLS, and limits on errors and
//!   junk commands. Each finding comes with the transcript that shows it; the report
//!   prints as text and as JSON ([`AuditReport::to_json`]).
//!
//! The audit sends real mail (the smuggling checks deliver a test message, two where
//! the server is vulnerable) and a made-up AUTH: point it at servers you run, with
//! sender and recipient addresses they accept ([`AuditOptions::from`],
//! [`AuditOptions::to`]).
//!
//! TLS configurations come from this crate's crypto provider ([`trust_ca_pem`],
//! [`accept_any_certificate`]), or any rustls `ClientConfig` the caller builds.

mod audit;
mod client;
mod error;
mod options;
mod reply;
mod tls;
mod transcript;

pub use audit::report::{AuditReport, CheckResult, Status};
pub use audit::{AuditOptions, Check, SMUGGLING_VARIANTS, audit};
pub use client::{StartTls, TestClient};
pub use error::TestError;
pub use options::TestOptions;
pub use reply::ServerReply;
pub use tls::{accept_any_certificate, server_name, server_name_for, trust_ca_pem};
pub use transcript::{Direction, Exchange, Transcript, escape};
