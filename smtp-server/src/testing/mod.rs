//! A test-harness kit (feature `testing`): [`TestServer`], an in-process SMTP server for
//! other programs' tests, and scripted, deterministic faults for it or any server.
//!
//! ```no_run
//! # async fn t() {
//! use smtp_server::testing::TestServer;
//! use std::time::Duration;
//!
//! let server = TestServer::builder()
//!     .fault("data:times=2=451 4.3.0 Try later").unwrap() // 4xx twice, then 250
//!     .fault("starttls=hide").unwrap()                    // STARTTLS stripped
//!     .start().await.unwrap();
//! // … the code under test sends to server.addr() …
//! let msgs = server.wait_for(|m| m.len() == 1, Duration::from_secs(10)).await.unwrap();
//! assert!(msgs[0].tls.is_none());
//! # }
//! ```
//!
//! # Faults
//!
//! A [`Rule`] matches a [`Stage`] (connect, greeting, EHLO, STARTTLS, the handshake's
//! certificate, AUTH, MAIL, RCPT, DATA, each BDAT, the end of data, RSET, QUIT, NOOP),
//! optionally an address pattern, and fires always, the first N times, the N-th time,
//! or with a seeded probability ([`When`]). Its [`Action`]: any reply (multi-line too;
//! `421` also closes), a delay, a drip a byte at a time, a close at that stage or after
//! N body octets, STARTTLS left out of EHLO, an expired, not-yet-valid, self-signed,
//! wrong-name or weak certificate ([`CertKind`]), bytes injected after the STARTTLS
//! `220`, an unsolicited reply, a malformed or endless multi-line reply. The text
//! syntax (`rcpt:*@bounce.test=550 5.1.1 No such user`) is on [`Rule`]'s `FromStr`.
//!
//! Rules work with any handler: [`ServerBuilder::faults`](crate::ServerBuilder::faults).
//! With rules the connection runs in lock step (the session gets one command at a
//! time), so each reply belongs to one stage and a rule acts on it alone; the session's
//! own defences (plaintext pipelined after STARTTLS, bare line endings) are untouched.
//! A reply given to a command with a decision (EHLO, AUTH, MAIL, RCPT, DATA, the end
//! of data) goes through the session like the handler's own, so what the session
//! holds is what the client was told; these stages meet the rules when the session
//! asks for the decision, so a command it refuses itself (bad syntax, wrong order)
//! counts for no rule. A positive reply to EHLO replaces the capability list on the
//! wire. Commands without a decision (STARTTLS, RSET, QUIT, NOOP, BDAT) meet the rules
//! as they arrive and a rule's reply answers them instead of the session: a refused
//! BDAT chunk is read and dropped, and the later chunks of its transaction get the
//! same reply (RFC 3030 §3).
//!
//! Not counted: commands a rule answers do not count toward the session's error and
//! junk limits, and a connection refused at `connect` or `greeting` leaves no
//! [`SessionRecord`] (it is in the server's `connections_refused` counter).

mod capture;
mod certs;
mod edit;
mod faults;
#[cfg(test)]
mod props;
mod rules;
mod server;
pub(crate) mod tap;
mod transcript;
pub(crate) mod wire;

pub use capture::{Mailbox, Message, SessionRecord, WaitTimeout};
pub use certs::TestCertificates;
pub use faults::Faults;
pub use rules::{Action, CertKind, Rule, RuleError, Stage, When};
pub use server::{StartError, TestServer, TestServerBuilder};
pub use transcript::{Line, Side, Transcript};
