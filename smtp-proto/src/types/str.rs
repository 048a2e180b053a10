//! `Str`: immutable UTF-8 text, stored inline when short.
//!
//! Command fields (local parts, domains, keywords) are nearly always short, so they are
//! copied into the value itself: decoding a command takes no allocation and no atomic
//! reference count, and the decoded value does not pin the receive buffer. Longer text
//! is held in shared [`Bytes`] (cloning it is a reference count, not a copy), and
//! constants are `&'static str`.

use bytes::Bytes;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Longest text stored inline: the enum is 40 bytes either way (a `Bytes` is 32 plus the
/// tag), so 38 bytes of text and a length byte fit for free.
const INLINE: usize = 38;

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE] },
    Static(&'static str),
    Shared(Bytes),
}

/// Immutable UTF-8 text. Invariant: the bytes are valid UTF-8.
#[derive(Clone)]
pub(crate) struct Str(Repr);

impl Str {
    pub(crate) const fn from_static(s: &'static str) -> Self {
        Self(Repr::Static(s))
    }

    pub(crate) fn from_string(s: String) -> Self {
        if s.len() <= INLINE {
            Self::inline(s.as_bytes())
        } else {
            Self(Repr::Shared(Bytes::from(s)))
        }
    }

    /// A copy of `s`: inline when short, so no allocation (where `from_string` would
    /// take an owned `String`, allocated by the caller).
    pub(crate) fn copy(s: &str) -> Self {
        Self::copy_checked(s.as_bytes())
    }

    fn inline(b: &[u8]) -> Self {
        let mut buf = [0u8; INLINE];
        buf[..b.len()].copy_from_slice(b);
        Self(Repr::Inline {
            len: b.len() as u8,
            buf,
        })
    }

    /// A copy of bytes the caller has checked: ASCII, or validated UTF-8. (`as_str`
    /// still validates, so a broken promise yields an empty string, never undefined
    /// behaviour.)
    pub(crate) fn copy_checked(b: &[u8]) -> Self {
        debug_assert!(std::str::from_utf8(b).is_ok());
        if b.len() <= INLINE {
            Self::inline(b)
        } else {
            Self(Repr::Shared(Bytes::copy_from_slice(b)))
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..usize::from(*len)],
            Repr::Static(s) => s.as_bytes(),
            Repr::Shared(b) => b,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            // The invariant makes this infallible; forbid(unsafe_code) rules out the
            // unchecked conversion, and validating short ASCII is a few nanoseconds.
            _ => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
        }
    }

    /// `self[a..b]`; both ends must be char boundaries (callers cut at ASCII bytes).
    pub(crate) fn slice(&self, a: usize, b: usize) -> Self {
        match &self.0 {
            Repr::Shared(bytes) if b - a > INLINE => Self(Repr::Shared(bytes.slice(a..b))),
            _ => Self::copy_checked(self.as_bytes().get(a..b).unwrap_or_default()),
        }
    }

    /// The first `n` bytes.
    pub(crate) fn slice_to(&self, n: usize) -> Self {
        self.slice(0, n)
    }

    /// The bytes from `n` on.
    pub(crate) fn slice_from(&self, n: usize) -> Self {
        self.slice(n, self.as_bytes().len())
    }
}

impl Default for Str {
    fn default() -> Self {
        Self::from_static("")
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for Str {}

impl Hash for Str {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Str {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
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

    /// Whether every byte of `s` is in [`TEXT`], in one pass without an early exit (it
    /// compiles to vector compares; [`first_not`] finds the offender when it fails).
    #[inline]
    pub(crate) fn all_text(s: &[u8]) -> bool {
        let bad = s.iter().fold(0u8, |acc, &b| {
            acc | u8::from((b < 32 && b != 9) || b == 127)
        });
        bad == 0
    }

    /// Offset of the first byte of `s` not in `t`, if any.
    #[inline]
    pub(crate) fn first_not(s: &[u8], t: &[bool; 256]) -> Option<usize> {
        s.iter().position(|&b| !t[b as usize])
    }
}
