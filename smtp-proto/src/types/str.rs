//! `Str`: an immutable, cheaply cloned, UTF-8-validated byte string.
//!
//! Values decoded from the wire are slices of the received line (`Bytes::slice_ref`), so
//! decoding does not copy; values built by the program own their bytes.

use bytes::Bytes;
use std::fmt;

/// Immutable UTF-8 text backed by [`Bytes`]. Invariant: the bytes are valid UTF-8.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub(crate) struct Str(Bytes);

impl Str {
    pub(crate) const fn from_static(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }

    pub(crate) fn from_string(s: String) -> Self {
        Self(Bytes::from(s))
    }

    /// From bytes already checked to be UTF-8 (ASCII grammar, or validated by the caller).
    pub(crate) fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Self(bytes))
    }

    pub(crate) fn as_str(&self) -> &str {
        // The invariant makes this infallible; forbid(unsafe_code) rules out the unchecked
        // conversion, and validation of short ASCII runs is a few nanoseconds.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Byte classes of the SMTP grammar as lookup tables (one load per byte, no branches).
/// Tables whose name ends in `8` also accept every byte >= 0x80 (RFC 6531
/// `UTF8-non-ascii`); the UTF-8 itself is validated when the value is built.
pub(crate) mod class {
    macro_rules! table {
        (|$b:ident| $e:expr) => {{
            let mut t = [false; 256];
            let mut i = 0;
            while i < 256 {
                let $b = i as u8;
                t[i] = $e;
                i += 1;
            }
            t
        }};
    }

    /// RFC 5322 §3.2.3 `atext` (RFC 5321 §4.1.2 `Atom`).
    pub(crate) static ATEXT: [bool; 256] = table!(|b| b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'/'
                | b'='
                | b'?'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'~'
        ));
    /// `atext` plus UTF-8 (RFC 6531 §3.3 `atext =/ UTF8-non-ascii`).
    pub(crate) static ATEXT8: [bool; 256] = table!(|b| b >= 0x80 || ATEXT[b as usize]);
    /// RFC 5321 §4.1.2 `qtextSMTP = %d32-33 / %d35-91 / %d93-126`, plus UTF-8.
    pub(crate) static QTEXT8: [bool; 256] =
        table!(|b| matches!(b, 32..=33 | 35..=91 | 93..=126) || b >= 0x80);
    /// `ALPHA / DIGIT / "-"`.
    pub(crate) static LDH: [bool; 256] = table!(|b| b.is_ascii_alphanumeric() || b == b'-');
    /// `ALPHA / DIGIT / "-"` plus UTF-8 (U-labels, RFC 6531 §3.3).
    pub(crate) static LDH8: [bool; 256] =
        table!(|b| b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80);
    /// RFC 5321 §4.1.3 `dcontent = %d33-90 / %d94-126`.
    pub(crate) static DCONTENT: [bool; 256] = table!(|b| matches!(b, 33..=90 | 94..=126));
    /// RFC 5321 §4.1.2 `esmtp-value = 1*(%d33-60 / %d62-126)`.
    pub(crate) static ESMTP_VALUE: [bool; 256] = table!(|b| matches!(b, 33..=60 | 62..=126));
    /// `esmtp-value` plus UTF-8 (RFC 6531 §3.3).
    pub(crate) static ESMTP_VALUE8: [bool; 256] =
        table!(|b| matches!(b, 33..=60 | 62..=126) || b >= 0x80);
    /// RFC 3461 §4 `xchar`: 33-126 except "+" and "=".
    pub(crate) static XCHAR: [bool; 256] =
        table!(|b| matches!(b, 33..=126) && b != b'+' && b != b'=');
    /// RFC 4422 §3.1 `mech-char` (lower case accepted on input and upper-cased).
    pub(crate) static MECH: [bool; 256] =
        table!(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    /// RFC 5321 §4.2 `textstring = 1*(%d09 / %d32-126)`, plus UTF-8 (RFC 6531).
    pub(crate) static TEXT: [bool; 256] = table!(|b| b == 9 || (b >= 32 && b != 127));
    /// RFC 5321 §4.1.1.1 `ehlo-param = 1*(%d33-126)`.
    pub(crate) static VCHAR: [bool; 256] = table!(|b| matches!(b, 33..=126));

    /// Length of the prefix of `s` whose bytes are all in `t`.
    #[inline]
    pub(crate) fn span(s: &[u8], t: &[bool; 256]) -> usize {
        s.iter().position(|&b| !t[b as usize]).unwrap_or(s.len())
    }

    /// Offset of the first byte of `s` not in `t`, if any.
    #[inline]
    pub(crate) fn first_not(s: &[u8], t: &[bool; 256]) -> Option<usize> {
        s.iter().position(|&b| !t[b as usize])
    }
}
