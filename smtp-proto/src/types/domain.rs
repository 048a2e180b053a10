//! Domains and address literals (RFC 5321 §4.1.2, §4.1.3).
//!
//! ```text
//! Domain         = sub-domain *("." sub-domain)
//! sub-domain     = Let-dig [Ldh-str]            ; RFC 6531 §3.3: sub-domain =/ U-label
//! Ldh-str        = *( ALPHA / DIGIT / "-" ) Let-dig
//! address-literal  = "[" ( IPv4-address-literal /
//!                    IPv6-address-literal /
//!                    General-address-literal ) "]"
//! General-address-literal  = Standardized-tag ":" 1*dcontent
//! ```

use super::str::Str;
use crate::codec::Cursor;
use crate::error::ValueError;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};

/// A domain name as SMTP carries it: LDH labels (or UTF-8 U-labels, RFC 6531), at most
/// 63 octets a label (RFC 1035 §2.3.4) and 255 octets in all (RFC 5321 §4.5.3.1.2).
///
/// Equality and hashing ignore ASCII case: "Mailbox domains follow normal DNS rules and
/// are hence not case sensitive" (RFC 5321 §2.4). `Display` keeps the case received.
#[derive(Clone)]
pub struct Domain(pub(crate) Str);

impl Domain {
    /// Validates `s` as a domain.
    pub fn new(s: &str) -> Result<Self, ValueError> {
        Cursor::parse_value(s, "domain", |c| c.domain())
    }

    /// The domain as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the domain is all ASCII (no U-labels), i.e. usable without SMTPUTF8.
    pub fn is_ascii(&self) -> bool {
        self.0.as_bytes().is_ascii()
    }

    /// Whether this domain is `zone` or a name below it, ignoring case:
    /// `mx.Example.com` is within `example.com`; `badexample.com` is not. A leading or
    /// trailing dot of `zone` is ignored.
    ///
    /// ```
    /// use smtp_proto::Domain;
    /// let d = Domain::new("Mail.Example.COM").unwrap();
    /// assert!(d == "mail.example.com" && d.is_within("example.com"));
    /// assert!(!Domain::new("badexample.com").unwrap().is_within("example.com"));
    /// ```
    pub fn is_within(&self, zone: &str) -> bool {
        // `.example.com` and `example.com.` name the same zone.
        let (name, zone) = (self.as_str(), zone.trim_matches('.'));
        if same_domain(name, zone) {
            return true;
        }
        // `.zone` at the end, on a character boundary (U-labels are multi-byte).
        name.len() > zone.len() + 1
            && name.is_char_boundary(name.len() - zone.len() - 1)
            && name.as_bytes()[name.len() - zone.len() - 1] == b'.'
            && same_domain(&name[name.len() - zone.len()..], zone)
    }
}

/// Domains compare without case (RFC 5321 §2.4): ASCII case for A-labels, and the
/// Unicode lower case for U-labels (IDNA2008 maps them to lower case before use).
fn same_domain(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

impl PartialEq for Domain {
    fn eq(&self, other: &Self) -> bool {
        same_domain(self.as_str(), other.as_str())
    }
}
impl Eq for Domain {}

/// `domain == "Example.COM"` ignores case, as DNS does.
impl PartialEq<str> for Domain {
    fn eq(&self, other: &str) -> bool {
        same_domain(self.as_str(), other)
    }
}
impl PartialEq<&str> for Domain {
    fn eq(&self, other: &&str) -> bool {
        same_domain(self.as_str(), other)
    }
}
impl PartialEq<Domain> for str {
    fn eq(&self, other: &Domain) -> bool {
        same_domain(self, other.as_str())
    }
}
impl PartialEq<Domain> for &str {
    fn eq(&self, other: &Domain) -> bool {
        same_domain(self, other.as_str())
    }
}

impl Hash for Domain {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Consistent with `eq`: the lower-cased characters, as UTF-8.
        let mut buf = [0; 4];
        for c in self.as_str().chars().flat_map(char::to_lowercase) {
            state.write(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}

impl fmt::Debug for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Domain({:?})", self.as_str())
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Domain {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// An address literal: `[192.0.2.1]`, `[IPv6:2001:db8::1]` or `[tag:content]`
/// (RFC 5321 §4.1.3).
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum AddressLiteral {
    /// `IPv4-address-literal = Snum 3("." Snum)`.
    Ipv4(Ipv4Addr),
    /// `IPv6-address-literal = "IPv6:" IPv6-addr`.
    Ipv6(Ipv6Addr),
    /// `General-address-literal = Standardized-tag ":" 1*dcontent` (boxed: rare, and
    /// it would triple the size of every address).
    General(Box<GeneralLiteral>),
}

/// A general address literal `[tag:content]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GeneralLiteral {
    pub(crate) tag: Str,
    pub(crate) content: Str,
}

impl GeneralLiteral {
    /// The `Standardized-tag` (an `Ldh-str`, not `IPv6`).
    pub fn tag(&self) -> &str {
        self.tag.as_str()
    }

    /// The content: printable ASCII except `[`, `\`, `]`.
    pub fn content(&self) -> &str {
        self.content.as_str()
    }
}

impl AddressLiteral {
    /// Parses the bracketed form, e.g. `"[IPv6:::1]"`.
    pub fn new(s: &str) -> Result<Self, ValueError> {
        Cursor::parse_value(s, "address literal", |c| c.address_literal())
    }

    /// A general address literal from its tag and content.
    pub fn general(tag: &str, content: &str) -> Result<Self, ValueError> {
        if let Some(at) = tag.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            return Err(ValueError::Syntax {
                what: "address literal tag",
                at,
            });
        }
        Self::new(&format!("[{tag}:{content}]"))
    }
}

impl fmt::Display for AddressLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ipv4(a) => write!(f, "[{a}]"),
            Self::Ipv6(a) => write!(f, "[IPv6:{a}]"),
            Self::General(g) => write!(f, "[{}:{}]", g.tag, g.content),
        }
    }
}

impl fmt::Debug for AddressLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AddressLiteral({self})")
    }
}

impl From<std::net::IpAddr> for AddressLiteral {
    fn from(ip: std::net::IpAddr) -> Self {
        match ip {
            std::net::IpAddr::V4(a) => Self::Ipv4(a),
            std::net::IpAddr::V6(a) => Self::Ipv6(a),
        }
    }
}

/// The host part of a mailbox, or the argument of EHLO: a domain or an address literal.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name.
    Domain(Domain),
    /// An address literal.
    Literal(AddressLiteral),
}

impl Host {
    /// Parses a domain or a bracketed address literal.
    pub fn new(s: &str) -> Result<Self, ValueError> {
        Cursor::parse_value(s, "host", |c| c.host())
    }

    /// The domain, unless the host is an address literal.
    pub fn domain(&self) -> Option<&Domain> {
        match self {
            Self::Domain(d) => Some(d),
            Self::Literal(_) => None,
        }
    }

    /// Whether the host is all ASCII.
    pub fn is_ascii(&self) -> bool {
        match self {
            Self::Domain(d) => d.is_ascii(),
            Self::Literal(_) => true,
        }
    }
}

impl From<Domain> for Host {
    fn from(d: Domain) -> Self {
        Self::Domain(d)
    }
}

impl From<AddressLiteral> for Host {
    fn from(a: AddressLiteral) -> Self {
        Self::Literal(a)
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain(d) => d.fmt(f),
            Self::Literal(a) => a.fmt(f),
        }
    }
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Host({self})")
    }
}

impl std::str::FromStr for Host {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}
