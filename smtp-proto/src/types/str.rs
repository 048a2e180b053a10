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

    /// The first `n` bytes; `n` must be a char boundary (callers cut at ASCII bytes).
    pub(crate) fn slice_to(&self, n: usize) -> Self {
        Self::from_utf8(self.0.slice(..n)).unwrap_or_default()
    }

    /// The bytes from `n` on; `n` must be a char boundary (callers cut at ASCII bytes).
    pub(crate) fn slice_from(&self, n: usize) -> Self {
        Self::from_utf8(self.0.slice(n..)).unwrap_or_default()
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

/// Offset of the first code point refused in any text this crate accepts or emits, beyond
/// what the byte classes already refuse: C1 controls (U+0080–U+009F, e.g. NEL, which some
/// consumers treat as a line break), U+2028/U+2029 line and paragraph separators, and
/// bidirectional controls (the "Trojan Source" spoofing of logs and headers,
/// CVE-2021-42574).
pub(crate) fn forbidden_char(s: &str) -> Option<usize> {
    if s.is_ascii() {
        return None;
    }
    s.char_indices()
        .find(|&(_, c)| is_forbidden(c))
        .map(|(i, _)| i)
}

fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{061C}' | '\u{200E}' | '\u{200F}'
                | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Offset of the first code point refused in a U-label (RFC 6531 §3.3 `sub-domain =/
/// U-label`). Without an IDNA2008 table in this crate, this refuses what is never PVALID
/// and would let two readers see different names: everything [`forbidden_char`] refuses,
/// white space, zero-width and other format characters, the soft hyphen, the ideographic
/// and fullwidth full stops that IDNA maps to "." (U+3002, U+FF0E, U+FF61), and fullwidth
/// ASCII forms (U+FF01–U+FF5E) that IDNA maps to ASCII.
pub(crate) fn forbidden_in_label(s: &str) -> Option<usize> {
    if s.is_ascii() {
        return None;
    }
    s.char_indices()
        .find(|&(_, c)| {
            is_forbidden(c)
                || c.is_whitespace()
                || matches!(
                    c,
                    '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
                        | '\u{3002}' | '\u{FF0E}' | '\u{FF61}' | '\u{FF01}'..='\u{FF5E}'
                )
        })
        .map(|(i, _)| i)
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
