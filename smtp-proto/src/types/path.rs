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

use super::domain::{Domain, Host};
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
        Ok(Self(Str::copy(s)))
    }

    /// The unquoted local part.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether it is all ASCII, i.e. usable without SMTPUTF8.
    pub fn is_ascii(&self) -> bool {
        self.0.as_bytes().is_ascii()
    }

    /// Compares with `other` ignoring ASCII case. Only the host that owns the mailbox's
    /// domain may do this (RFC 5321 §2.4: "the local-part MUST be interpreted and
    /// assigned semantics only by the host specified in the domain part"); anyone
    /// else, a relay in particular, must compare exactly (`==`).
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        self.as_str().eq_ignore_ascii_case(other)
    }

    /// Whether this is `Postmaster`, in any case (RFC 5321 §4.5.1).
    pub fn is_postmaster(&self) -> bool {
        self.eq_ignore_case("postmaster")
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

/// `local == "bob"` compares the unquoted local part exactly: local parts are case
/// sensitive (RFC 5321 §2.4); see [`LocalPart::eq_ignore_case`] for the final host.
impl PartialEq<str> for LocalPart {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}
impl PartialEq<&str> for LocalPart {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

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

    /// The domain, unless the mailbox is at an address literal (`user@[192.0.2.1]`).
    /// It compares with a `&str` ignoring case:
    ///
    /// ```
    /// use smtp_proto::Mailbox;
    /// let m = Mailbox::parse("Bob@Example.COM").unwrap();
    /// assert!(m.domain().is_some_and(|d| d == "example.com"));
    /// assert!(m.local_part() == "Bob" && m.local_part() != "bob"); // case sensitive
    /// assert!(m == "Bob@example.com"); // the local part exactly, the domain in any case
    /// ```
    pub fn domain(&self) -> Option<&Domain> {
        self.host.domain()
    }

    /// Whether the mailbox is all ASCII. A non-ASCII mailbox needs SMTPUTF8 (RFC 6531).
    pub fn is_ascii(&self) -> bool {
        self.local.is_ascii() && self.host.is_ascii()
    }
}

/// `mailbox == "bob@example.com"`: the string is parsed by the same grammar (quoted
/// local parts unquoted); the local part compares exactly, the domain without case. A
/// string that is not a mailbox equals nothing.
impl PartialEq<str> for Mailbox {
    fn eq(&self, other: &str) -> bool {
        Mailbox::parse(other).is_ok_and(|m| m == *self)
    }
}
impl PartialEq<&str> for Mailbox {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
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

    /// The sender's domain (none for `<>` or an address literal), comparable with a
    /// `&str` ignoring case.
    pub fn domain(&self) -> Option<&Domain> {
        self.mailbox().and_then(Mailbox::domain)
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

    /// The mailbox's domain (none for `<Postmaster>` or an address literal); compare
    /// it with a `&str` directly: `to.domain().is_some_and(|d| d == "example.com")`.
    pub fn domain(&self) -> Option<&Domain> {
        self.mailbox().and_then(Mailbox::domain)
    }

    /// Whether this is the bare `<Postmaster>` or `<Postmaster@domain>`, in any case
    /// (RFC 5321 §4.5.1).
    pub fn is_postmaster(&self) -> bool {
        self.mailbox()
            .is_none_or(|m| m.local_part().is_postmaster())
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
