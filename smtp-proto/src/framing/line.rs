//! [`LineReader`]: CRLF-strict, length-capped, incremental line framing.
//!
//! RFC 5321 §2.3.8: "Lines consist of zero or more data characters terminated by the
//! sequence ASCII character "CR" (hex value 0D) followed immediately by ASCII character
//! "LF" (hex value 0A)." A CR or LF anywhere else is an error by default.

use crate::error::{ParseError, ParseErrorKind};
use bytes::{Buf, Bytes, BytesMut};

/// What a lone LF means on a command or reply line.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LineEndings {
    /// Only CRLF ends a line; a bare LF or bare CR is [`ParseErrorKind::BareLf`] /
    /// [`ParseErrorKind::BareCr`]. The default.
    #[default]
    Strict,
    /// A bare LF also ends a line (a bare CR is still an error).
    ///
    /// Background: some hand-written scripts and old clients send LF-terminated
    /// commands. Accepting them on *command* lines is harmless for framing, but it is a
    /// deliberate deviation from RFC 5321 §2.3.8, so it must be chosen explicitly. It never
    /// affects message bodies, whose end-of-data rules are separate.
    AllowBareLf,
}

/// Splits lines off the front of a buffer, scanning only bytes not seen before.
///
/// `next_line` returns `Ok(Some(line))` without its CRLF, `Ok(None)` when more input is
/// needed, or an error for the line at the front. After [`ParseErrorKind::LineTooLong`] or
/// [`ParseErrorKind::BareCr`] the rest of that line (through the next LF) is discarded, so
/// the following call starts at the next line and a pipelining peer stays in sync.
#[derive(Debug, Clone)]
pub struct LineReader {
    /// Bytes at the front of the buffer already known to hold no line end.
    scanned: usize,
    /// Skipping the rest of a rejected line.
    discarding: bool,
    endings: LineEndings,
}

impl LineReader {
    /// A reader with the given line-ending policy.
    pub fn new(endings: LineEndings) -> Self {
        Self {
            scanned: 0,
            discarding: false,
            endings,
        }
    }

    /// Whether the reader is skipping the rest of a rejected line.
    pub fn is_discarding(&self) -> bool {
        self.discarding
    }

    /// Drops the rest of a rejected line from the front of `buf`. Returns whether `buf`
    /// now starts at a fresh line (false: still inside the rejected line, `buf` emptied).
    pub fn skip_discarded(&mut self, buf: &mut BytesMut) -> bool {
        if !self.discarding {
            return true;
        }
        match memchr::memchr(b'\n', buf) {
            Some(i) => {
                buf.advance(i + 1);
                self.discarding = false;
                self.scanned = 0;
                true
            }
            None => {
                buf.clear();
                false
            }
        }
    }

    /// Takes the next line off the front of `buf`. `max` is the longest line allowed,
    /// including CRLF. The returned `Bytes` shares `buf`'s memory (no copy).
    pub fn next_line(
        &mut self,
        buf: &mut BytesMut,
        max: usize,
    ) -> Result<Option<Bytes>, ParseError> {
        if !self.skip_discarded(buf) {
            return Ok(None);
        }
        let max = max.max(2);
        let window = buf.len().min(max);
        let from = self.scanned.min(window);
        match memchr::memchr2(b'\r', b'\n', &buf[from..window]) {
            Some(off) => {
                let i = from + off;
                if buf[i] == b'\n' {
                    self.scanned = 0;
                    let line = buf.split_to(i + 1);
                    if self.endings == LineEndings::AllowBareLf {
                        return Ok(Some(line.freeze().slice(..i)));
                    }
                    return Err(ParseError::new(ParseErrorKind::BareLf, i));
                }
                // A CR: the line is complete only if LF follows immediately.
                match buf.get(i + 1) {
                    Some(b'\n') if i + 2 <= max => {
                        self.scanned = 0;
                        let line = buf.split_to(i + 2).freeze();
                        Ok(Some(line.slice(..i)))
                    }
                    Some(b'\n') => self.too_long(buf, max),
                    Some(_) => {
                        self.scanned = 0;
                        self.discarding = true;
                        buf.advance(i + 1);
                        Err(ParseError::new(ParseErrorKind::BareCr, i))
                    }
                    None if i + 2 > max => self.too_long(buf, max),
                    None => {
                        self.scanned = i;
                        Ok(None)
                    }
                }
            }
            None if buf.len() + 2 > max => self.too_long(buf, max),
            None => {
                self.scanned = buf.len();
                Ok(None)
            }
        }
    }

    /// Drops the over-long line at the front: through its LF if that is in `buf`, else
    /// everything (keeping a final CR) and the rest of the line as it arrives.
    fn too_long(&mut self, buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, ParseError> {
        self.scanned = 0;
        match memchr::memchr(b'\n', buf) {
            Some(j) => buf.advance(j + 1),
            None => {
                let keep = usize::from(buf.last() == Some(&b'\r'));
                buf.advance(buf.len() - keep);
                self.discarding = true;
            }
        }
        Err(ParseError::new(
            ParseErrorKind::LineTooLong { limit: max },
            0,
        ))
    }
}

impl Default for LineReader {
    fn default() -> Self {
        Self::new(LineEndings::Strict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(
        input: &[u8],
        max: usize,
        endings: LineEndings,
    ) -> Vec<Result<Vec<u8>, ParseErrorKind>> {
        let mut r = LineReader::new(endings);
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match r.next_line(&mut buf, max) {
                Ok(Some(l)) => out.push(Ok(l.to_vec())),
                Ok(None) => return out,
                Err(e) => out.push(Err(e.kind().clone())),
            }
        }
    }

    #[test]
    fn crlf_only() {
        let got = lines(b"a\r\nb\nc\rd\r\ne\r\n", 100, LineEndings::Strict);
        assert_eq!(
            got,
            vec![
                Ok(b"a".to_vec()),
                Err(ParseErrorKind::BareLf),
                Err(ParseErrorKind::BareCr),
                Ok(b"e".to_vec())
            ]
        );
    }

    #[test]
    fn bare_lf_allowed() {
        let got = lines(b"a\nb\r\n", 100, LineEndings::AllowBareLf);
        assert_eq!(got, vec![Ok(b"a".to_vec()), Ok(b"b".to_vec())]);
    }

    #[test]
    fn limit_counts_crlf() {
        assert_eq!(
            lines(b"abc\r\n", 5, LineEndings::Strict),
            vec![Ok(b"abc".to_vec())]
        );
        let got = lines(b"abcd\r\nok\r\n", 5, LineEndings::Strict);
        assert_eq!(
            got,
            vec![
                Err(ParseErrorKind::LineTooLong { limit: 5 }),
                Ok(b"ok".to_vec())
            ]
        );
    }

    #[test]
    fn too_long_is_reported_before_the_line_ends_and_discarded() {
        let mut r = LineReader::default();
        let mut buf = BytesMut::from(&b"xxxxxxxxxx"[..]);
        assert!(matches!(
            r.next_line(&mut buf, 8).unwrap_err().kind(),
            ParseErrorKind::LineTooLong { .. }
        ));
        assert!(buf.is_empty());
        buf.extend_from_slice(b"yyyy\r");
        assert_eq!(r.next_line(&mut buf, 8).unwrap(), None);
        buf.extend_from_slice(b"\nQUIT\r\n");
        assert_eq!(&r.next_line(&mut buf, 8).unwrap().unwrap()[..], b"QUIT");
    }

    #[test]
    fn too_long_keeps_the_pipelined_lines_after_it() {
        let got = lines(b"xxxxxxxxxxxx\r\nNOOP\r\nQUIT\r\n", 8, LineEndings::Strict);
        assert_eq!(
            got,
            vec![
                Err(ParseErrorKind::LineTooLong { limit: 8 }),
                Ok(b"NOOP".to_vec()),
                Ok(b"QUIT".to_vec())
            ]
        );
        let got = lines(b"xxxxxx\r\nNOOP\r\n", 7, LineEndings::Strict);
        assert_eq!(
            got,
            vec![
                Err(ParseErrorKind::LineTooLong { limit: 7 }),
                Ok(b"NOOP".to_vec())
            ]
        );
    }

    #[test]
    fn split_crlf_waits() {
        let mut r = LineReader::default();
        let mut buf = BytesMut::from(&b"NOOP\r"[..]);
        assert_eq!(r.next_line(&mut buf, 512).unwrap(), None);
        buf.extend_from_slice(b"\n");
        assert_eq!(&r.next_line(&mut buf, 512).unwrap().unwrap()[..], b"NOOP");
    }
}
