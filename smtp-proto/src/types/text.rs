//! [`Text`]: human-readable text on a protocol line.

use super::str::{Str, class};
use crate::error::ValueError;
use std::fmt;

/// Text that may stand on an SMTP line: reply text, `NOOP`/`HELP`/`VRFY` arguments.
///
/// RFC 5321 §4.2 `textstring = 1*(%d09 / %d32-126)`, plus UTF-8 (RFC 6531). CR, LF, NUL
/// and every other control character (C1 controls, U+2028/U+2029, bidirectional controls
/// included) are refused, so a `Text` can never end a line early or forge another one.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(pub(crate) Str);

impl Text {
    /// Validates `s`.
    pub fn new(s: &str) -> Result<Self, ValueError> {
        check(s)?;
        Ok(Self(Str::copy(s)))
    }

    /// A text known at compile time; invalid input gives an empty text.
    pub fn from_static(s: &'static str) -> Self {
        match check(s) {
            Ok(()) => Self(Str::from_static(s)),
            Err(_) => Self::default(),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.as_bytes().is_empty()
    }
}

fn check(s: &str) -> Result<(), ValueError> {
    let at = class::first_not(s.as_bytes(), &class::TEXT).or_else(|| super::str::forbidden_char(s));
    match at {
        Some(at) => Err(ValueError::ForbiddenByte {
            what: "text",
            byte: s.as_bytes()[at],
            at,
        }),
        None => Ok(()),
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Text {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}
