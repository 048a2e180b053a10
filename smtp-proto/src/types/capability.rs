//! [`Capabilities`]: the EHLO reply, typed (RFC 5321 §4.1.1.1).
//!
//! ```text
//! ehlo-ok-rsp    = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
//!                / ( "250-" Domain [ SP ehlo-greet ] CRLF
//!                    *( "250-" ehlo-line CRLF )
//!                    "250" SP ehlo-line CRLF )
//! ehlo-line      = ehlo-keyword *( SP ehlo-param )
//! ehlo-keyword   = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//! ehlo-param     = 1*(%d33-126)
//! ```

use super::command::Mechanism;
use super::str::{Str, class};
use super::text::Text;
use crate::error::ValueError;
use std::fmt;

/// A word on an EHLO line: `1*(%d33-126)` (keyword, parameter, or the server's name).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Word(pub(crate) Str);

impl Word {
    /// Validates printable ASCII without spaces.
    pub fn new(s: &str) -> Result<Self, ValueError> {
        let b = s.as_bytes();
        if b.is_empty() {
            return Err(ValueError::Empty { what: "EHLO word" });
        }
        if let Some(at) = class::first_not(b, &class::VCHAR) {
            return Err(ValueError::ForbiddenByte {
                what: "EHLO word",
                byte: b[at],
                at,
            });
        }
        Ok(Self(Str::copy(s)))
    }

    /// The word.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `LIMITS` (RFC 9422): limits the server announces for one transaction and session.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LimitsExt {
    /// `MAILMAX=`: most transactions (MAIL commands) per session (RFC 9422 §4.1).
    pub mailmax: Option<u32>,
    /// `RCPTMAX=`: most recipients per transaction (RFC 9422 §4.2).
    pub rcptmax: Option<u32>,
    /// `RCPTDOMAINMAX=`: most distinct recipient domains per session (RFC 9422 §4.3).
    pub rcptdomainmax: Option<u32>,
    /// Limits this library does not know (`NAME` or `NAME=VALUE`), kept verbatim.
    pub other: Vec<Word>,
}

/// One EHLO keyword line.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Extension {
    /// `SIZE [n]` (RFC 1870 §3). `Some(0)` means no fixed maximum; `None` says nothing.
    Size(Option<u64>),
    /// `PIPELINING` (RFC 2920).
    Pipelining,
    /// `8BITMIME` (RFC 6152).
    EightBitMime,
    /// `SMTPUTF8` (RFC 6531).
    SmtpUtf8,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mech...` (RFC 4954 §3).
    Auth(Vec<Mechanism>),
    /// `CHUNKING` (RFC 3030).
    Chunking,
    /// `BINARYMIME` (RFC 3030).
    BinaryMime,
    /// `DSN` (RFC 3461).
    Dsn,
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    EnhancedStatusCodes,
    /// `REQUIRETLS` (RFC 8689).
    RequireTls,
    /// `LIMITS` (RFC 9422).
    Limits(LimitsExt),
    /// Any other line, kept verbatim (also a known keyword whose parameters do not parse).
    Other {
        /// The keyword as received.
        keyword: Word,
        /// Its parameters.
        params: Vec<Word>,
    },
}

impl Extension {
    /// The keyword, upper case for known extensions.
    pub fn keyword(&self) -> &str {
        match self {
            Self::Size(_) => "SIZE",
            Self::Pipelining => "PIPELINING",
            Self::EightBitMime => "8BITMIME",
            Self::SmtpUtf8 => "SMTPUTF8",
            Self::StartTls => "STARTTLS",
            Self::Auth(_) => "AUTH",
            Self::Chunking => "CHUNKING",
            Self::BinaryMime => "BINARYMIME",
            Self::Dsn => "DSN",
            Self::EnhancedStatusCodes => "ENHANCEDSTATUSCODES",
            Self::RequireTls => "REQUIRETLS",
            Self::Limits(_) => "LIMITS",
            Self::Other { keyword, .. } => keyword.as_str(),
        }
    }
}

/// The parsed EHLO (or LHLO) reply: the server's name, its greeting, and its extensions
/// in the order received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// The server's name for itself (first word of the first line).
    pub server: Word,
    /// The rest of the first line.
    pub greeting: Option<Text>,
    /// One entry per extension line, in order.
    pub extensions: Vec<Extension>,
}

impl Capabilities {
    /// Capabilities with no extensions.
    pub fn new(server: Word) -> Self {
        Self {
            server,
            greeting: None,
            extensions: Vec::new(),
        }
    }

    fn find(&self, f: impl Fn(&Extension) -> bool) -> Option<&Extension> {
        self.extensions.iter().find(|e| f(e))
    }

    /// Whether the server advertised this keyword (case-insensitive).
    pub fn has(&self, keyword: &str) -> bool {
        self.find(|e| e.keyword().eq_ignore_ascii_case(keyword))
            .is_some()
    }

    /// `STARTTLS` advertised.
    pub fn starttls(&self) -> bool {
        self.find(|e| matches!(e, Extension::StartTls)).is_some()
    }
    /// `PIPELINING` advertised.
    pub fn pipelining(&self) -> bool {
        self.find(|e| matches!(e, Extension::Pipelining)).is_some()
    }
    /// `8BITMIME` advertised.
    pub fn eight_bit_mime(&self) -> bool {
        self.find(|e| matches!(e, Extension::EightBitMime))
            .is_some()
    }
    /// `SMTPUTF8` advertised.
    pub fn smtputf8(&self) -> bool {
        self.find(|e| matches!(e, Extension::SmtpUtf8)).is_some()
    }
    /// `CHUNKING` advertised.
    pub fn chunking(&self) -> bool {
        self.find(|e| matches!(e, Extension::Chunking)).is_some()
    }
    /// `BINARYMIME` advertised.
    pub fn binary_mime(&self) -> bool {
        self.find(|e| matches!(e, Extension::BinaryMime)).is_some()
    }
    /// `DSN` advertised.
    pub fn dsn(&self) -> bool {
        self.find(|e| matches!(e, Extension::Dsn)).is_some()
    }
    /// `ENHANCEDSTATUSCODES` advertised.
    pub fn enhanced_status_codes(&self) -> bool {
        self.find(|e| matches!(e, Extension::EnhancedStatusCodes))
            .is_some()
    }
    /// `REQUIRETLS` advertised.
    pub fn requiretls(&self) -> bool {
        self.find(|e| matches!(e, Extension::RequireTls)).is_some()
    }

    /// The fixed maximum message size: `None` when SIZE is absent, has no number, or is
    /// 0 ("no fixed maximum", RFC 1870 §3).
    pub fn max_size(&self) -> Option<u64> {
        self.extensions.iter().find_map(|e| match e {
            Extension::Size(Some(n)) if *n > 0 => Some(*n),
            _ => None,
        })
    }

    /// The advertised SASL mechanisms (all AUTH lines together).
    pub fn auth_mechanisms(&self) -> impl Iterator<Item = &Mechanism> {
        self.extensions
            .iter()
            .filter_map(|e| match e {
                Extension::Auth(m) => Some(m.iter()),
                _ => None,
            })
            .flatten()
    }

    /// The `LIMITS` line, if any.
    pub fn limits(&self) -> Option<&LimitsExt> {
        self.extensions.iter().find_map(|e| match e {
            Extension::Limits(l) => Some(l),
            _ => None,
        })
    }
}
