//! [`Command`]: every client command this library speaks.

use super::domain::Host;
use super::params::{MailParams, RcptParams};
use super::path::{ForwardPath, ReversePath};
use super::str::{Str, class};
use super::text::Text;
use crate::error::ValueError;
use crate::secret::Secret;
use bytes::Bytes;
use std::fmt;

/// One SMTP command line. Verbs are case-insensitive on input (RFC 5321 §2.4) and emitted
/// in upper case. Each variant's fields are validated types, so encoding cannot fail and
/// cannot produce a forged line.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `helo = "HELO" SP Domain CRLF` (RFC 5321 §4.1.1.1). An address literal is also
    /// accepted, as clients behind NAT send one; HELO disables extensions.
    Helo {
        /// The client's name for itself.
        host: Host,
    },
    /// `ehlo = "EHLO" SP ( Domain / address-literal ) CRLF` (RFC 5321 §4.1.1.1).
    ///
    /// The domain of HELO, EHLO and LHLO is ASCII (A-labels, RFC 6531 §3.7.1): the
    /// decoder refuses a U-label there, so a `Host` with one encodes to a line no
    /// conforming server (this library's included) accepts. Give the A-label form.
    Ehlo {
        /// The client's name for itself.
        host: Host,
    },
    /// `LHLO` (RFC 2033 §4.1): LMTP's EHLO.
    Lhlo {
        /// The client's name for itself.
        host: Host,
    },
    /// `mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF` (RFC 5321 §4.1.1.2).
    Mail {
        /// The sender, or `<>`.
        from: ReversePath,
        /// ESMTP parameters.
        params: MailParams,
    },
    /// `rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
    /// [SP Rcpt-parameters] CRLF` (RFC 5321 §4.1.1.3).
    Rcpt {
        /// The recipient.
        to: ForwardPath,
        /// ESMTP parameters.
        params: RcptParams,
    },
    /// `data = "DATA" CRLF` (RFC 5321 §4.1.1.4).
    Data,
    /// `bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF` (RFC 3030 §2).
    Bdat {
        /// The chunk size in octets.
        size: u64,
        /// `LAST`: this chunk ends the message.
        last: bool,
    },
    /// `rset = "RSET" CRLF` (RFC 5321 §4.1.1.5).
    Rset,
    /// `vrfy = "VRFY" SP String [SP "SMTPUTF8"] CRLF` (RFC 5321 §4.1.1.6,
    /// RFC 6531 §3.7.4.2). The target is the rest of the line; an empty target, or one
    /// that itself ends in ` SMTPUTF8`, has no wire form of its own.
    Vrfy {
        /// The user name or mailbox asked about.
        target: Text,
        /// `SMTPUTF8`: the client accepts a UTF-8 answer.
        smtputf8: bool,
    },
    /// `expn = "EXPN" SP String [SP "SMTPUTF8"] CRLF` (RFC 5321 §4.1.1.7).
    Expn {
        /// The list asked about.
        target: Text,
        /// `SMTPUTF8`: the client accepts a UTF-8 answer.
        smtputf8: bool,
    },
    /// `help = "HELP" [ SP String ] CRLF` (RFC 5321 §4.1.1.8). The topic is everything
    /// after the first space, verbatim.
    Help {
        /// The topic.
        topic: Option<Text>,
    },
    /// `noop = "NOOP" [ SP String ] CRLF` (RFC 5321 §4.1.1.9); the argument is ignored.
    Noop {
        /// The ignored argument.
        text: Option<Text>,
    },
    /// `quit = "QUIT" CRLF` (RFC 5321 §4.1.1.10).
    Quit,
    /// `STARTTLS` with no parameters (RFC 3207 §4).
    StartTls,
    /// `AUTH SP sasl-mech [SP initial-response]` (RFC 4954 §4).
    Auth {
        /// The SASL mechanism.
        mechanism: Mechanism,
        /// The base64-decoded initial response. `Some` of an empty value is the `=` form
        /// (an empty initial response); `None` means no initial response was sent.
        initial: Option<Secret<Bytes>>,
    },
}

impl Command {
    /// The verb as emitted, e.g. `"MAIL"`.
    pub fn verb(&self) -> &'static str {
        self.kind().as_str()
    }

    /// Which verb this is.
    pub fn kind(&self) -> Verb {
        match self {
            Self::Helo { .. } => Verb::Helo,
            Self::Ehlo { .. } => Verb::Ehlo,
            Self::Lhlo { .. } => Verb::Lhlo,
            Self::Mail { .. } => Verb::Mail,
            Self::Rcpt { .. } => Verb::Rcpt,
            Self::Data => Verb::Data,
            Self::Bdat { .. } => Verb::Bdat,
            Self::Rset => Verb::Rset,
            Self::Vrfy { .. } => Verb::Vrfy,
            Self::Expn { .. } => Verb::Expn,
            Self::Help { .. } => Verb::Help,
            Self::Noop { .. } => Verb::Noop,
            Self::Quit => Verb::Quit,
            Self::StartTls => Verb::StartTls,
            Self::Auth { .. } => Verb::Auth,
        }
    }
}

/// A command verb without its arguments: what a server's sequencing rules look at
/// before (and whether or not) the arguments parse.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `HELO`
    Helo,
    /// `EHLO`
    Ehlo,
    /// `LHLO` (LMTP)
    Lhlo,
    /// `MAIL`
    Mail,
    /// `RCPT`
    Rcpt,
    /// `DATA`
    Data,
    /// `BDAT`
    Bdat,
    /// `RSET`
    Rset,
    /// `VRFY`
    Vrfy,
    /// `EXPN`
    Expn,
    /// `HELP`
    Help,
    /// `NOOP`
    Noop,
    /// `QUIT`
    Quit,
    /// `STARTTLS`
    StartTls,
    /// `AUTH`
    Auth,
}

impl Verb {
    /// The verb of a command line (case-insensitive, RFC 5321 §2.4): the bytes up to the
    /// first SP or the end. `None` for anything this library does not know.
    pub fn of_line(line: &[u8]) -> Option<Verb> {
        // Verbs are 4 or 8 letters: a short loop beats a vectorised search here.
        let n = line
            .iter()
            .take(9)
            .position(|&b| b == b' ')
            .unwrap_or(line.len());
        match n {
            4 => {
                // ASCII letters upper-cased by clearing bit 5; no other byte becomes a
                // letter.
                let v = &line[..4];
                let key = [v[0] & 0xDF, v[1] & 0xDF, v[2] & 0xDF, v[3] & 0xDF];
                Some(match &key {
                    b"MAIL" => Verb::Mail,
                    b"RCPT" => Verb::Rcpt,
                    b"EHLO" => Verb::Ehlo,
                    b"HELO" => Verb::Helo,
                    b"LHLO" => Verb::Lhlo,
                    b"DATA" => Verb::Data,
                    b"BDAT" => Verb::Bdat,
                    b"RSET" => Verb::Rset,
                    b"QUIT" => Verb::Quit,
                    b"NOOP" => Verb::Noop,
                    b"HELP" => Verb::Help,
                    b"VRFY" => Verb::Vrfy,
                    b"EXPN" => Verb::Expn,
                    b"AUTH" => Verb::Auth,
                    _ => return None,
                })
            }
            8 if line[..8].eq_ignore_ascii_case(b"STARTTLS") => Some(Verb::StartTls),
            _ => None,
        }
    }

    /// The verb in upper case, e.g. `"MAIL"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Helo => "HELO",
            Verb::Ehlo => "EHLO",
            Verb::Lhlo => "LHLO",
            Verb::Mail => "MAIL",
            Verb::Rcpt => "RCPT",
            Verb::Data => "DATA",
            Verb::Bdat => "BDAT",
            Verb::Rset => "RSET",
            Verb::Vrfy => "VRFY",
            Verb::Expn => "EXPN",
            Verb::Help => "HELP",
            Verb::Noop => "NOOP",
            Verb::Quit => "QUIT",
            Verb::StartTls => "STARTTLS",
            Verb::Auth => "AUTH",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SASL mechanism name: `sasl-mech = 1*20mech-char`,
/// `mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE` (RFC 4422 §3.1).
/// Lower case is accepted and upper-cased.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mechanism(pub(crate) Str);

impl Mechanism {
    /// `PLAIN` (RFC 4616).
    pub const PLAIN: Mechanism = Mechanism(Str::from_static("PLAIN"));
    /// `LOGIN` (draft-murchison-sasl-login).
    pub const LOGIN: Mechanism = Mechanism(Str::from_static("LOGIN"));
    /// `XOAUTH2` (Google / Microsoft OAuth 2.0 bearer tokens).
    pub const XOAUTH2: Mechanism = Mechanism(Str::from_static("XOAUTH2"));
    /// `CRAM-MD5` (RFC 2195).
    pub const CRAM_MD5: Mechanism = Mechanism(Str::from_static("CRAM-MD5"));

    /// Most characters in a mechanism name.
    pub const MAX_LEN: usize = 20;

    /// Validates and upper-cases a mechanism name.
    pub fn new(s: &str) -> Result<Self, ValueError> {
        let b = s.as_bytes();
        if b.is_empty() {
            return Err(ValueError::Empty {
                what: "SASL mechanism",
            });
        }
        if b.len() > Self::MAX_LEN {
            return Err(ValueError::TooLong {
                what: "SASL mechanism",
                max: Self::MAX_LEN,
            });
        }
        if let Some(at) = class::first_not(b, &class::MECH) {
            return Err(ValueError::Syntax {
                what: "SASL mechanism",
                at,
            });
        }
        Ok(Self(Str::from_string(s.to_ascii_uppercase())))
    }

    /// The name, upper case.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mechanism({})", self.as_str())
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client line during an AUTH exchange (RFC 4954 §4): a base64 response, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslResponse {
    /// The decoded response (possibly empty).
    Data(Secret<Bytes>),
    /// `*`: the client cancels; the server answers 501.
    Cancel,
}
