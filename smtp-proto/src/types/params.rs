//! MAIL and RCPT parameters (RFC 5321 §4.1.2 `esmtp-param`).
//!
//! ```text
//! esmtp-param    = esmtp-keyword ["=" esmtp-value]
//! esmtp-keyword  = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//! esmtp-value    = 1*(%d33-60 / %d62-126)   ; RFC 6531 §3.3: =/ UTF8-non-ascii
//! ```
//!
//! Known parameters are typed; unknown ones are kept verbatim in `other`, in order, so a
//! server can answer `555` for the ones it did not advertise (RFC 5321 §4.1.1.11).
//! Keywords are case-insensitive (RFC 5321 §2.4); xtext values (RFC 3461 §4) are held
//! decoded and re-encoded on output.

use super::path::Mailbox;
use super::str::{Str, class};
use crate::codec::xtext;
use crate::error::ValueError;
use std::fmt;

/// `BODY=` (RFC 6152, RFC 3030).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// `7BIT`.
    SevenBit,
    /// `8BITMIME` (RFC 6152).
    EightBitMime,
    /// `BINARYMIME` (RFC 3030; only with BDAT).
    BinaryMime,
}

/// `RET=` (RFC 3461 §4.3): what a failure DSN returns of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// `FULL`: the whole message.
    Full,
    /// `HDRS`: the headers only.
    Hdrs,
}

/// `NOTIFY=` (RFC 3461 §4.1): `"NEVER" / 1#("SUCCESS" / "FAILURE" / "DELAY")`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notify {
    /// `NEVER` ("MUST appear by itself").
    Never,
    /// A list. With no flag set it means the same as `Never`, and is emitted as `NEVER`.
    On {
        /// `SUCCESS`.
        success: bool,
        /// `FAILURE`.
        failure: bool,
        /// `DELAY`.
        delay: bool,
    },
}

/// `ENVID=` (RFC 3461 §4.4), held decoded. At most 100 characters encoded.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Envid(pub(crate) Str);

impl Envid {
    /// Longest encoded ENVID parameter value (RFC 3461 §4.4).
    pub const MAX_ENCODED: usize = 100;

    /// Validates a decoded envelope id: not empty (`esmtp-value` is `1*`), "printable
    /// (graphic and white space) characters from the US-ASCII repertoire" (RFC 3461 §4.4).
    pub fn new(s: &str) -> Result<Self, ValueError> {
        if s.is_empty() {
            return Err(ValueError::Empty { what: "ENVID" });
        }
        if let Some(at) = s.bytes().position(|b| !(32..=126).contains(&b)) {
            return Err(ValueError::ForbiddenByte {
                what: "ENVID",
                byte: s.as_bytes()[at],
                at,
            });
        }
        if xtext::encoded_len(s.as_bytes()) > Self::MAX_ENCODED {
            return Err(ValueError::TooLong {
                what: "ENVID",
                max: Self::MAX_ENCODED,
            });
        }
        Ok(Self(Str::copy(s)))
    }

    /// The decoded id.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Envid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Envid({:?})", self.as_str())
    }
}

/// `ORCPT=addr-type;xtext` (RFC 3461 §4.2), held decoded. At most 500 characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Orcpt {
    pub(crate) addr_type: Str,
    pub(crate) address: Str,
}

impl Orcpt {
    /// Longest encoded ORCPT parameter ("MAY be up to 500 characters", RFC 3461 §4.2).
    pub const MAX_ENCODED: usize = 500;

    /// An original recipient: `addr_type` is an atom such as `rfc822`; `address` is the
    /// decoded address (UTF-8 allowed, control characters refused).
    pub fn new(addr_type: &str, address: &str) -> Result<Self, ValueError> {
        if addr_type.is_empty() {
            return Err(ValueError::Empty {
                what: "ORCPT address type",
            });
        }
        // addr-type = atom, and as part of an esmtp-value it cannot hold "=".
        let bad = addr_type
            .bytes()
            .position(|b| !class::ATEXT[b as usize] || b == b'=');
        if let Some(at) = bad {
            return Err(ValueError::Syntax {
                what: "ORCPT address type",
                at,
            });
        }
        check_printable(address, "ORCPT")?;
        // Raw UTF-8 (RFC 6533) or +HH escapes must not smuggle C1 or bidi controls into a
        // DSN's Original-Recipient field.
        if let Some(at) = super::str::forbidden_char(address) {
            let byte = address.as_bytes()[at];
            return Err(ValueError::ForbiddenByte {
                what: "ORCPT",
                byte,
                at,
            });
        }
        if "ORCPT=;".len() + addr_type.len() + xtext::encoded_len(address.as_bytes())
            > Self::MAX_ENCODED
        {
            return Err(ValueError::TooLong {
                what: "ORCPT",
                max: Self::MAX_ENCODED,
            });
        }
        Ok(Self {
            addr_type: Str::copy(addr_type),
            address: Str::copy(address),
        })
    }

    /// The address type, e.g. `rfc822`.
    pub fn addr_type(&self) -> &str {
        self.addr_type.as_str()
    }

    /// The decoded original address.
    pub fn address(&self) -> &str {
        self.address.as_str()
    }
}

impl fmt::Debug for Orcpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Orcpt({};{:?})", self.addr_type(), self.address())
    }
}

/// `AUTH=` on MAIL (RFC 4954 §5): the decoded xtext is "either a `<mailbox>` or the two
/// characters `<>`".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MailAuth {
    /// `AUTH=<>`: the original submitter is not known.
    Unknown,
    /// The authenticated submitter (boxed: rare, and it would double the size of every
    /// `MailParams`).
    Submitter(Box<Mailbox>),
}

/// An `esmtp-keyword` (RFC 5321 §4.1.2), case preserved.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Keyword(pub(crate) Str);

impl Keyword {
    /// Validates `(ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`.
    pub fn new(s: &str) -> Result<Self, ValueError> {
        let b = s.as_bytes();
        if b.is_empty() {
            return Err(ValueError::Empty { what: "keyword" });
        }
        if !b[0].is_ascii_alphanumeric() {
            return Err(ValueError::Syntax {
                what: "keyword",
                at: 0,
            });
        }
        if let Some(at) = class::first_not(b, &class::LDH) {
            return Err(ValueError::Syntax {
                what: "keyword",
                at,
            });
        }
        Ok(Self(Str::copy(s)))
    }

    /// The keyword as received.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Case-insensitive comparison (RFC 5321 §2.4).
    pub fn is(&self, name: &str) -> bool {
        self.0.as_bytes().eq_ignore_ascii_case(name.as_bytes())
    }
}

impl fmt::Debug for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keyword({})", self.as_str())
    }
}

/// An `esmtp-value`: no SP, no `=`, no controls; UTF-8 allowed (RFC 6531 §3.3).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Value(pub(crate) Str);

impl Value {
    /// Validates `1*(%d33-60 / %d62-126 / UTF8-non-ascii)`.
    pub fn new(s: &str) -> Result<Self, ValueError> {
        let b = s.as_bytes();
        if b.is_empty() {
            return Err(ValueError::Empty {
                what: "parameter value",
            });
        }
        if let Some(at) = b
            .iter()
            .position(|&c| c < 0x80 && !class::ESMTP_VALUE[c as usize])
        {
            return Err(ValueError::ForbiddenByte {
                what: "parameter value",
                byte: b[at],
                at,
            });
        }
        Ok(Self(Str::copy(s)))
    }

    /// The value as received.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value({})", self.as_str())
    }
}

/// A parameter this library does not interpret, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    /// The keyword.
    pub keyword: Keyword,
    /// The value, if `=value` was given.
    pub value: Option<Value>,
}

impl Param {
    /// A parameter from a keyword and an optional value.
    pub fn new(keyword: &str, value: Option<&str>) -> Result<Self, ValueError> {
        Ok(Self {
            keyword: Keyword::new(keyword)?,
            value: value.map(Value::new).transpose()?,
        })
    }
}

/// Parameters of `MAIL FROM:`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MailParams {
    /// `SIZE=` declared message size in octets (RFC 1870 `1*20DIGIT`).
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152 / RFC 3030).
    pub body: Option<Body>,
    /// `SMTPUTF8`, no value (RFC 6531 §3.4).
    pub smtputf8: bool,
    /// `RET=` (RFC 3461).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461).
    pub envid: Option<Envid>,
    /// `AUTH=` (RFC 4954 §5).
    pub auth: Option<MailAuth>,
    /// `REQUIRETLS`, no value (RFC 8689 §2).
    pub requiretls: bool,
    pub(crate) other: Vec<Param>,
}

impl MailParams {
    /// Keywords with a typed field.
    pub const TYPED: &'static [&'static str] = &[
        "SIZE",
        "BODY",
        "SMTPUTF8",
        "RET",
        "ENVID",
        "AUTH",
        "REQUIRETLS",
    ];

    /// Parameters not interpreted here, in received order.
    pub fn other(&self) -> &[Param] {
        &self.other
    }

    /// Adds a parameter not interpreted here. Refuses keywords that have a typed field
    /// and keywords already present, so the emitted line never repeats a parameter.
    pub fn push_other(&mut self, param: Param) -> Result<(), ValueError> {
        push_other(&mut self.other, Self::TYPED, param)
    }
}

/// Parameters of `RCPT TO:`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RcptParams {
    /// `NOTIFY=` (RFC 3461 §4.1).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461 §4.2).
    pub orcpt: Option<Orcpt>,
    pub(crate) other: Vec<Param>,
}

impl RcptParams {
    /// Keywords with a typed field.
    pub const TYPED: &'static [&'static str] = &["NOTIFY", "ORCPT"];

    /// Parameters not interpreted here, in received order.
    pub fn other(&self) -> &[Param] {
        &self.other
    }

    /// Adds a parameter not interpreted here. Refuses keywords that have a typed field
    /// and keywords already present, so the emitted line never repeats a parameter.
    pub fn push_other(&mut self, param: Param) -> Result<(), ValueError> {
        push_other(&mut self.other, Self::TYPED, param)
    }
}

fn push_other(other: &mut Vec<Param>, typed: &[&str], param: Param) -> Result<(), ValueError> {
    let k = param.keyword.as_str();
    if typed.iter().any(|t| t.eq_ignore_ascii_case(k)) || other.iter().any(|p| p.keyword.is(k)) {
        return Err(ValueError::DuplicateParameter {
            keyword: k.to_ascii_uppercase(),
        });
    }
    other.push(param);
    Ok(())
}

/// Refuses control characters (a decoded xtext `+0D+0A` must not reach a header).
fn check_printable(s: &str, what: &'static str) -> Result<(), ValueError> {
    match s.bytes().position(|b| b < 32 || b == 127) {
        Some(at) => Err(ValueError::ForbiddenByte {
            what,
            byte: s.as_bytes()[at],
            at,
        }),
        None => Ok(()),
    }
}
