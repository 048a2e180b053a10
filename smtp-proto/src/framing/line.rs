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
/// needed, or an error for the line at the front. After any error
/// ([`ParseErrorKind::LineTooLong`], [`ParseErrorKind::BareLf`], [`ParseErrorKind::BareCr`])
/// the rest of that line is discarded through its end, so the following call starts at the
/// next line and a pipelining peer stays in sync: one bad line is one error.
///
/// The end of a line is what [`LineEndings`] says it is, for rejected lines too. Under
/// [`LineEndings::Strict`] only CRLF ends a line (RFC 5321 §2.3.8), so a bare LF inside a
/// command never splits it in two: `EHLO x<LF>MAIL FROM:<a@b><CRLF>` is one bad line,
/// never a rejected EHLO followed by an obeyed MAIL (the pipelining desync a relay that
/// splits on LF would see differently).
#[derive(Debug, Clone)]
pub struct LineReader {
    /// Bytes at the front of the buffer already known to hold no line end.
    scanned: usize,
    /// Skipping the rest of a rejected line.
    discarding: bool,
    /// While discarding: the last byte dropped was a CR (its LF may come next).
    after_cr: bool,
    endings: LineEndings,
}

impl LineReader {
    /// A reader with the given line-ending policy.
    pub fn new(endings: LineEndings) -> Self {
        Self {
            scanned: 0,
            discarding: false,
            after_cr: false,
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
        if buf.is_empty() {
            return false;
        }
        let crlf_only = self.endings == LineEndings::Strict;
        if crlf_only && self.after_cr && buf[0] == b'\n' {
            return self.discarded_through(buf, 0);
        }
        let mut from = 0;
        while let Some(off) = memchr::memchr(b'\n', &buf[from..]) {
            let i = from + off;
            if !crlf_only || (i > 0 && buf[i - 1] == b'\r') {
                return self.discarded_through(buf, i);
            }
            from = i + 1;
        }
        self.after_cr = buf[buf.len() - 1] == b'\r';
        buf.clear();
        false
    }

    /// The rejected line ended with the LF at `buf[i]`.
    fn discarded_through(&mut self, buf: &mut BytesMut, i: usize) -> bool {
        buf.advance(i + 1);
        self.discarding = false;
        self.after_cr = false;
        self.scanned = 0;
        true
    }

    /// Starts discarding the rejected line (`buf` now starts inside it) and drops what of
    /// it is in `buf`.
    fn reject_rest(&mut self, buf: &mut BytesMut, kind: ParseErrorKind, at: usize) -> ParseError {
        self.scanned = 0;
        self.discarding = true;
        self.after_cr = false;
        self.skip_discarded(buf);
        ParseError::new(kind, at)
    }

    /// Takes the next line off the front of `buf`. `max` is the longest line allowed,
    /// including CRLF. The returned `Bytes` shares `buf`'s memory (no copy).
    pub fn next_line(
        &mut self,
        buf: &mut BytesMut,
        max: usize,
    ) -> Result<Option<Bytes>, ParseError> {
        Ok(self.find(buf, max)?.map(|(len, total)| {
            let mut line = buf.split_to(total);
            line.truncate(len);
            line.freeze()
        }))
    }

    /// Like [`LineReader::next_line`], but leaves a complete line in `buf`: returns
    /// `(len, total)`, the line being `buf[..len]` and its terminator ending at `total`.
    /// The caller must `buf.advance(total)` before the next call. Errors consume the
    /// offending bytes as `next_line` does. This lets a parser read the line in place.
    pub fn find(
        &mut self,
        buf: &mut BytesMut,
        max: usize,
    ) -> Result<Option<(usize, usize)>, ParseError> {
        if !self.skip_discarded(buf) {
            return Ok(None);
        }
        let max = max.max(2);
        // Only appending to `buf` between calls keeps `scanned` meaningful; a buffer that
        // shrank underneath us is rescanned from the start (see `reset`).
        if self.scanned > buf.len() {
            self.scanned = 0;
        }
        let lf_ends = self.endings == LineEndings::AllowBareLf;
        let window = buf.len().min(max);
        let from = self.scanned.min(window);
        match memchr::memchr2(b'\r', b'\n', &buf[from..window]) {
            Some(off) => {
                let i = from + off;
                let lf = buf[i] == b'\n';
                // Length first: a CR or LF where the line is already over the limit is
                // "too long" however the bytes were split (a byte-by-byte feed sees the
                // limit pass before it sees the CR or LF).
                let terminator = if lf && lf_ends { 1 } else { 2 };
                if i + terminator > max {
                    return self.too_long(buf, max);
                }
                if lf {
                    self.scanned = 0;
                    if lf_ends {
                        return Ok(Some((i, i + 1)));
                    }
                    // RFC 5321 §2.3.8: not a line end. The line goes on to its CRLF and is
                    // rejected whole.
                    buf.advance(i + 1);
                    return Err(self.reject_rest(buf, ParseErrorKind::BareLf, i));
                }
                // A CR: the line is complete only if LF follows immediately.
                match buf.get(i + 1) {
                    Some(b'\n') => {
                        self.scanned = 0;
                        Ok(Some((i, i + 2)))
                    }
                    Some(_) => {
                        buf.advance(i + 1);
                        Err(self.reject_rest(buf, ParseErrorKind::BareCr, i))
                    }
                    None => {
                        self.scanned = i;
                        Ok(None)
                    }
                }
            }
            // The earliest possible end is a terminator right after what we have.
            None if buf.len() + if lf_ends { 1 } else { 2 } > max => self.too_long(buf, max),
            None => {
                self.scanned = buf.len();
                Ok(None)
            }
        }
    }

    /// Forgets all state. Call it when the buffer is replaced rather than appended to,
    /// e.g. when the transport changes under STARTTLS.
    pub fn reset(&mut self) {
        self.scanned = 0;
        self.discarding = false;
        self.after_cr = false;
    }

    /// Drops the over-long line at the front: through its end if that is in `buf`, else
    /// everything, and the rest of the line as it arrives. Memory stays bounded however
    /// long the line is.
    fn too_long<T>(&mut self, buf: &mut BytesMut, max: usize) -> Result<Option<T>, ParseError> {
        Err(self.reject_rest(buf, ParseErrorKind::LineTooLong { limit: max }, 0))
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
        // `b<LF>c<CR>d<CRLF>` is one line: one error, nothing of it read as a line.
        assert_eq!(
            got,
            vec![
                Ok(b"a".to_vec()),
                Err(ParseErrorKind::BareLf),
                Ok(b"e".to_vec())
            ]
        );
        let got = lines(b"c\rd\ne\r\nf\r\n", 100, LineEndings::Strict);
        assert_eq!(got, vec![Err(ParseErrorKind::BareCr), Ok(b"f".to_vec())]);
        // Under AllowBareLf an LF ends the rejected line.
        let got = lines(b"c\rd\ne\r\n", 100, LineEndings::AllowBareLf);
        assert_eq!(got, vec![Err(ParseErrorKind::BareCr), Ok(b"e".to_vec())]);
    }

    #[test]
    fn a_bare_lf_never_splits_a_command() {
        let input = b"EHLO x\nMAIL FROM:<a@b>\r\nQUIT\r\n";
        let got = lines(input, 512, LineEndings::Strict);
        assert_eq!(got, vec![Err(ParseErrorKind::BareLf), Ok(b"QUIT".to_vec())]);
        same_for_every_split(input, 512, LineEndings::Strict);
        // An over-long line is discarded through its CRLF, not through a bare LF in it.
        let got = lines(b"xxxxxxxxxx\nNOOP\r\nQUIT\r\n", 8, LineEndings::Strict);
        assert_eq!(
            got,
            vec![
                Err(ParseErrorKind::LineTooLong { limit: 8 }),
                Ok(b"QUIT".to_vec())
            ]
        );
        // A CR at the end of one read, its LF at the start of the next.
        same_for_every_split(b"a\nbb\r\r\n\nc\r\nok\r\n", 512, LineEndings::Strict);
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

    /// Every split of `input` gives the same results as feeding it whole.
    fn same_for_every_split(input: &[u8], max: usize, endings: LineEndings) {
        let whole = lines(input, max, endings);
        let mut r = LineReader::new(endings);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for &b in input {
            buf.extend_from_slice(&[b]);
            loop {
                match r.next_line(&mut buf, max) {
                    Ok(Some(l)) => out.push(Ok(l.to_vec())),
                    Ok(None) => break,
                    Err(e) => out.push(Err(e.kind().clone())),
                }
            }
        }
        assert_eq!(out, whole, "{:?}", String::from_utf8_lossy(input));
    }

    #[test]
    fn results_at_the_limit_do_not_depend_on_splitting() {
        for endings in [LineEndings::Strict, LineEndings::AllowBareLf] {
            for n in 0..12 {
                for tail in [&b"\r\n"[..], b"\n", b"\rX\r\n", b"\nX\r\n", b"\r", b""] {
                    let mut input = vec![b'x'; n];
                    input.extend_from_slice(tail);
                    input.extend_from_slice(b"ok\r\n");
                    same_for_every_split(&input, 8, endings);
                }
            }
        }
    }

    #[test]
    fn bare_lf_line_may_use_the_whole_limit() {
        let got = lines(b"1234567\n", 8, LineEndings::AllowBareLf);
        assert_eq!(got, vec![Ok(b"1234567".to_vec())]);
        let got = lines(b"123456\r\n", 8, LineEndings::AllowBareLf);
        assert_eq!(got, vec![Ok(b"123456".to_vec())]);
    }

    #[test]
    fn reset_after_the_buffer_is_replaced() {
        let mut r = LineReader::default();
        let mut buf = BytesMut::from(&b"NOOP"[..]);
        assert_eq!(r.next_line(&mut buf, 512).unwrap(), None);
        buf.clear();
        r.reset();
        buf.extend_from_slice(b"EH\r\nLO x\r\n");
        assert_eq!(&r.next_line(&mut buf, 512).unwrap().unwrap()[..], b"EH");
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
