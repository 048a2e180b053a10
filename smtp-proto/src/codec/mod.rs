//! Parse and emit: one complete line in, one typed value out, and back.
//!
//! Framing (finding line ends, enforcing length limits, bare CR/LF) lives in
//! [`crate::framing`]; the parsers here only ever see one complete line without its CRLF
//! (STYLE rule 5).
//!
//! The parsers are hand-written recursive descent over a cursor with byte-class
//! lookup tables rather than `nom` combinators. The grammar is LL(1), so nothing is lost in
//! clarity, and three things are won: every error carries a precise [`ParseErrorKind`] and
//! offset, the line is parsed where it lies in the receive buffer (values are copied out
//! inline, without allocation or reference counts, when short), and the hot loops are
//! single table loads per byte.

pub(crate) mod capability;
pub(crate) mod command;
pub(crate) mod params;
pub(crate) mod path;
pub(crate) mod reply;
pub(crate) mod xtext;

pub use capability::{decode_capabilities, encode_capabilities};
pub use command::{CommandDecoder, ParseOptions, decode_command, decode_sasl_response};
pub use reply::ReplyDecoder;

use crate::error::{ParseError, ParseErrorKind, ValueError};
use crate::types::str::Str;
use bytes::{Bytes, BytesMut};

/// Types with a wire form. Encoding cannot fail: the values are validated when built.
pub trait Encode {
    /// Appends the wire form (with CRLF for whole lines) to `out`.
    fn encode(&self, out: &mut BytesMut);

    /// The wire form as fresh bytes.
    fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(64);
        self.encode(&mut out);
        out.freeze()
    }
}

pub(crate) type PResult<T> = Result<T, ParseError>;

/// Decodes exactly one value from `bytes`: incomplete input and trailing bytes are errors.
pub(crate) fn one_shot<T>(
    bytes: &[u8],
    decode: impl FnOnce(&mut BytesMut) -> PResult<Option<T>>,
) -> PResult<T> {
    let mut buf = BytesMut::from(bytes);
    match decode(&mut buf)? {
        None => Err(ParseError::new(ParseErrorKind::Incomplete, bytes.len())),
        Some(_) if !buf.is_empty() => Err(ParseError::new(
            ParseErrorKind::TrailingBytes,
            bytes.len() - buf.len(),
        )),
        Some(v) => Ok(v),
    }
}

/// A read position in one complete line.
pub(crate) struct Cursor<'a> {
    line: &'a [u8],
    pos: usize,
    /// Limits on the parts of domains and paths (RFC 5321 §4.5.3.1).
    pub(crate) address: crate::limits::AddressLimits,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Self {
            line,
            pos: 0,
            address: crate::limits::AddressLimits::RFC,
        }
    }

    /// Runs a parser over a whole local string (for validating constructors).
    pub(crate) fn parse_value<T>(
        s: &str,
        what: &'static str,
        f: impl FnOnce(&mut Cursor<'_>) -> PResult<T>,
    ) -> Result<T, ValueError> {
        let mut c = Cursor::new(s.as_bytes());
        // A value stands alone: a session's limits on local parts and paths (RFC 5321
        // §4.5.3.1.1/3, applied where a command is received) are not its grammar; the
        // DNS limits on labels and domains are.
        c.address.local_part = usize::MAX;
        c.address.path = usize::MAX;
        let v = f(&mut c).map_err(|e| ValueError::Syntax {
            what,
            at: e.offset(),
        })?;
        if !c.at_end() {
            return Err(ValueError::Syntax { what, at: c.pos });
        }
        Ok(v)
    }

    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    #[inline]
    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }
    #[inline]
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.line[self.pos..]
    }
    #[inline]
    pub(crate) fn line_from(&self, pos: usize) -> &'a [u8] {
        &self.line[pos..]
    }
    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.line.get(self.pos).copied()
    }
    #[inline]
    pub(crate) fn peek_at(&self, n: usize) -> Option<u8> {
        self.line.get(self.pos + n).copied()
    }
    #[inline]
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.line.len()
    }
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos += n;
    }
    #[inline]
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `s` (upper-case ASCII) case-insensitively.
    #[inline]
    pub(crate) fn eat_ci(&mut self, s: &[u8]) -> bool {
        let r = self.rest();
        if r.len() >= s.len() && r[..s.len()].eq_ignore_ascii_case(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    #[inline]
    pub(crate) fn expect(&mut self, b: u8, what: &'static str) -> PResult<()> {
        if self.eat(b) {
            Ok(())
        } else {
            self.fail(ParseErrorKind::Expected(what))
        }
    }

    /// Consumes one or more SP (RFC 5321 says one; runs of spaces are tolerated as
    /// Postfix does, since they cannot change how a line is split into arguments).
    #[inline]
    pub(crate) fn spaces(&mut self) -> bool {
        let n = self.span(&SP);
        n > 0
    }

    /// Skips trailing spaces and requires the end of the line.
    pub(crate) fn end(&mut self) -> PResult<()> {
        self.span(&SP);
        if self.at_end() {
            Ok(())
        } else {
            self.fail(ParseErrorKind::UnexpectedArgument)
        }
    }

    pub(crate) fn fail<T>(&self, kind: ParseErrorKind) -> PResult<T> {
        Err(ParseError::new(kind, self.pos))
    }

    pub(crate) fn fail_at<T>(&self, pos: usize, kind: ParseErrorKind) -> PResult<T> {
        Err(ParseError::new(kind, pos))
    }

    /// Advances over bytes of class `t`; returns how many.
    #[inline]
    pub(crate) fn span(&mut self, t: &[bool; 256]) -> usize {
        let n = crate::types::str::class::span(self.rest(), t);
        self.pos += n;
        n
    }

    /// `line[start..end]`.
    #[inline]
    pub(crate) fn bytes(&self, start: usize, end: usize) -> &'a [u8] {
        &self.line[start..end]
    }

    /// `line[start..end]` as validated UTF-8 text (inline when short).
    #[inline]
    pub(crate) fn str(&self, start: usize, end: usize) -> PResult<Str> {
        let raw = &self.line[start..end];
        // ASCII is UTF-8, and every byte class that calls this refuses ASCII controls:
        // one scan, no re-validation (the common case).
        if !raw.is_ascii() {
            let s = std::str::from_utf8(raw).map_err(|e| {
                ParseError::new(ParseErrorKind::InvalidUtf8, start + e.valid_up_to())
            })?;
            if let Some(i) = crate::types::str::forbidden_char(s) {
                return Err(ParseError::new(ParseErrorKind::ControlCharacter, start + i));
            }
        }
        Ok(Str::copy_checked(raw))
    }
}

static SP: [bool; 256] = {
    let mut t = [false; 256];
    t[b' ' as usize] = true;
    t
};
