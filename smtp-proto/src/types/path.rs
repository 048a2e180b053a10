//! Mailboxes and paths (RFC 5321 §4.1.2).
//!
//! ```text
//! Reverse-path   = Path / "<>"
//! Forward-path   = Path
//! Path           = "<" [ A-d-l ":" ] Mailbox ">"
//! Mailbox        = Local-part "@" ( Domain / address-literal )
//! Local-part     = Dot-string / Quoted-string
//! ```
//!
//! A path is always parsed by this grammar and emitted from the typed value, never by
//! searching for `>`: a quoted local part such as `"a> ORCPT=rfc822;x@y"@example.com` is
//! one local part, and it is emitted quoted again (the CVE-2025-59937 class of bug).

use super::domain::Host;
use super::str::{Str, class};
use crate::codec::Cursor;
use crate::error::ValueError;
use std::fmt;

/// The local part of a mailbox, held *unquoted*: `"john doe"@x` holds `john doe`.
///
/// "The local-part of a mailbox MUST BE treated as case sensitive" (RFC 5321 §2.4), so
/// equality is exact. On the wire it is emitted as a Dot-string when it is one, and as a
/// Quoted-string (with `"` and `\` escaped) otherwise.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LocalPart(pub(crate) Str);

impl LocalPart {
    /// Validates an unquoted local part: printable ASCII and space (anything a
    /// Quoted-string can carry), or UTF-8 (RFC 6531). Control characters are refused.
    pub fn new(s: &str) -> Result<Self, ValueError> {
        let bad = class::first_not(s.as_bytes(), &LOCAL_CONTENT)
            .or_else(|| super::str::forbidden_char(s));
        if let Some(at) = bad {
            return Err(ValueError::ForbiddenByte {
                what: "local part",
                byte: s.as_bytes()[at],
                at,
            });
        }
        Ok(Self(Str::from_string(s.to_owned())))
    }

    /// The unquoted local part.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether it is all ASCII, i.e. usable without SMTPUTF8.
    pub fn is_ascii(&self) -> bool {
        self.0.as_bytes().is_ascii()
    }

    /// Whether the wire form is a `Dot-string` (no quoting needed).
    pub fn is_dot_string(&self) -> bool {
        let b = self.0.as_bytes();
        !b.is_empty()
            && b[0] != b'.'
            && b[b.len() - 1] != b'.'
            && !b.windows(2).any(|w| w == b"..")
            && b.iter()
                .all(|&c| c == b'.' || c >= 0x80 || class::ATEXT[c as usize])
    }
}

/// What a Quoted-string can carry once unquoted: %d32-126 and UTF-8.
static LOCAL_CONTENT: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 32;
    while i < 256 {
        t[i] = i != 127;
        i += 1;
    }
    t
};

impl fmt::Display for LocalPart {
    /// The wire form: Dot-string, or Quoted-string with `"` and `\` escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_dot_string() {
            return f.write_str(self.as_str());
        }
        f.write_str("\"")?;
        for ch in self.as_str().chars() {
            if ch == '"' || ch == '\\' {
                f.write_str("\\")?;
            }
            fmt::Write::write_char(f, ch)?;
        }
        f.write_str("\"")
    }
}

impl fmt::Debug for LocalPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalPart({:?})", self.as_str())
    }
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mailbox {
    local: LocalPart,
    host: Host,
}

impl Mailbox {
    /// A mailbox from its parts.
    pub fn new(local: LocalPart, host: Host) -> Self {
        Self { local, host }
    }

    /// Parses the wire form without brackets, e.g. `"john doe"@example.com` or
    /// `user@[192.0.2.1]`. UTF-8 is accepted (whether it may be sent is decided by the
    /// session, see [`Mailbox::is_ascii`]).
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        Cursor::parse_value(s, "mailbox", |c| c.mailbox())
    }

    /// The local part.
    pub fn local_part(&self) -> &LocalPart {
        &self.local
    }

    /// The domain or address literal.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Whether the mailbox is all ASCII. A non-ASCII mailbox needs SMTPUTF8 (RFC 6531).
    pub fn is_ascii(&self) -> bool {
        self.local.is_ascii() && self.host.is_ascii()
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.host)
    }
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mailbox({self})")
    }
}

impl std::str::FromStr for Mailbox {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The argument of `MAIL FROM:`: a mailbox, or the null path `<>` used for bounces.
/// A source route (`<@a,@b:user@c>`) is accepted and discarded (RFC 5321 §4.1.1.2,
/// Appendix C).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum ReversePath {
    /// `<>`.
    Null,
    /// `<mailbox>`.
    Mailbox(Mailbox),
}

impl ReversePath {
    /// The mailbox, unless this is the null path.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match self {
            Self::Null => None,
            Self::Mailbox(m) => Some(m),
        }
    }
}

impl From<Mailbox> for ReversePath {
    fn from(m: Mailbox) -> Self {
        Self::Mailbox(m)
    }
}

impl fmt::Display for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("<>"),
            Self::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

impl fmt::Debug for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReversePath({self})")
    }
}

/// The argument of `RCPT TO:`: a mailbox, or the bare `<Postmaster>` that every server
/// must accept (RFC 5321 §4.1.1.3, §4.5.1). A source route is accepted and discarded.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum ForwardPath {
    /// `<Postmaster>` without a domain (the name is case-insensitive).
    Postmaster,
    /// `<mailbox>` (including `<Postmaster@domain>`).
    Mailbox(Mailbox),
}

impl ForwardPath {
    /// The mailbox, unless this is the bare `<Postmaster>`.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match self {
            Self::Postmaster => None,
            Self::Mailbox(m) => Some(m),
        }
    }
}

impl From<Mailbox> for ForwardPath {
    fn from(m: Mailbox) -> Self {
        Self::Mailbox(m)
    }
}

impl fmt::Display for ForwardPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Postmaster => f.write_str("<Postmaster>"),
            Self::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

impl fmt::Debug for ForwardPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ForwardPath({self})")
    }
}
