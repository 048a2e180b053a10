//! Replies: streaming multiline decode (RFC 5321 §4.2) and emit.

use super::Encode;
use crate::error::{ParseError, ParseErrorKind as K};
use crate::framing::line::{LineEndings, LineReader};
use crate::limits::Limits;
use crate::types::reply::{EnhancedCode, Lines, Reply, ReplyCode};
use crate::types::str::{Str, class};
use crate::types::text::Text;
use bytes::{Buf, BufMut, BytesMut};

/// Streaming reply decoder: bytes in, whole replies out, `Ok(None)` for "need more input".
///
/// Every line goes through the same code: `Reply-code ("-" / SP / end) [textstring]`.
/// Lines are capped by [`Limits::reply_line`] (`334` SASL challenges by
/// [`Limits::auth_line`], RFC 4954 §4), their number by [`Limits::reply_lines`], and all
/// lines of one reply must carry the same code (RFC 5321 §4.2.1), so a hostile server
/// cannot make a client buffer without bound: one reply holds at most
/// `reply_lines × reply_line` octets of text (`auth_line` for a `334` line), and its
/// lines are consumed as they are read.
///
/// **An error is terminal**: every later call returns the same error. A reply stream that
/// broke mid-reply cannot be re-synchronised safely (the rest of a broken multiline reply
/// would be read as the answer to the next pipelined command), so a client must close
/// the connection. [`ReplyDecoder::reset`] starts over, for a new connection only.
#[derive(Debug, Clone)]
pub struct ReplyDecoder {
    lines: LineReader,
    limits: Limits,
    code: Option<ReplyCode>,
    texts: Vec<Text>,
    failed: Option<ParseError>,
}

impl ReplyDecoder {
    /// A decoder with the given limits and strict line endings.
    pub fn new(limits: Limits) -> Self {
        Self {
            lines: LineReader::new(LineEndings::Strict),
            limits,
            code: None,
            texts: Vec::new(),
            failed: None,
        }
    }

    /// Sets the line-ending policy (see [`LineEndings`]).
    pub fn with_line_endings(mut self, endings: LineEndings) -> Self {
        self.lines = LineReader::new(endings);
        self
    }

    /// Whether part of a multiline reply has been read.
    pub fn is_mid_reply(&self) -> bool {
        self.code.is_some()
    }

    /// The error that ended decoding, if any.
    pub fn error(&self) -> Option<&ParseError> {
        self.failed.as_ref()
    }

    /// Forgets all state, including a past error.
    pub fn reset(&mut self) {
        self.lines.reset();
        self.code = None;
        self.texts.clear();
        self.failed = None;
    }

    /// Takes the next complete reply from the front of `buf`. The consumed lines are
    /// removed from `buf`; bytes after the reply stay.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Reply>, ParseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.decode_inner(buf);
        if let Err(e) = &r {
            self.code = None;
            self.texts.clear();
            self.failed = Some(e.clone());
        }
        r
    }

    fn decode_inner(&mut self, buf: &mut BytesMut) -> Result<Option<Reply>, ParseError> {
        loop {
            let max = if buf.starts_with(b"334") {
                self.limits.auth_line.max(self.limits.reply_line)
            } else {
                self.limits.reply_line
            };
            let Some((len, total)) = self.lines.find(buf, max)? else {
                return Ok(None);
            };
            let line = &buf[..len];
            let head = parse_head(line);
            let text = text(line.get(4..).unwrap_or_default());
            buf.advance(total);
            let (code, last) = head?;
            if self.code.is_some_and(|c| c != code) {
                return Err(ParseError::new(K::MixedReplyCodes, 0));
            }
            self.code = Some(code);
            if self.texts.len() >= self.limits.reply_lines {
                return Err(ParseError::new(
                    K::TooManyReplyLines {
                        limit: self.limits.reply_lines,
                    },
                    0,
                ));
            }
            if self.texts.is_empty() && !last {
                // A multiline reply (an EHLO reply, typically): room for its lines at once.
                self.texts.reserve(12);
            }
            self.texts.push(text);
            if last {
                // A one-line reply (nearly all of them) takes no allocation: its line
                // is held inline, and the vector keeps its room for the next reply.
                let lines = if self.texts.len() == 1 {
                    Lines::one(self.texts.pop().unwrap_or_default())
                } else {
                    Lines::from(std::mem::take(&mut self.texts))
                };
                self.code = None;
                return Ok(Some(build(code, lines)));
            }
        }
    }
}

impl Default for ReplyDecoder {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

/// `Reply-code` then `-` (more lines follow), SP or the end (last line); the text must be
/// `textstring` (HT, SP, printable; UTF-8 tolerated).
fn parse_head(line: &[u8]) -> Result<(ReplyCode, bool), ParseError> {
    let digits = line.get(..3).filter(|d| d.iter().all(u8::is_ascii_digit));
    let Some(d) = digits else {
        return Err(ParseError::new(K::InvalidReplyCode, 0));
    };
    let n = d.iter().fold(0u16, |a, &b| a * 10 + u16::from(b - b'0'));
    let code = ReplyCode::new(n).map_err(|_| ParseError::new(K::InvalidReplyCode, 0))?;
    let last = match line.get(3) {
        None | Some(b' ') => true,
        Some(b'-') => false,
        Some(_) => {
            return Err(ParseError::new(
                K::Expected("' ' or '-' after the reply code"),
                3,
            ));
        }
    };
    let text = line.get(4..).unwrap_or_default();
    // Nearly every reply line is printable ASCII: one branch-free pass says so, and
    // only other lines are searched for the offending byte or checked as UTF-8.
    if text.is_ascii() && class::all_text(text) {
        return Ok((code, last));
    }
    let bad = class::first_not(text, &class::TEXT).or_else(|| {
        std::str::from_utf8(text)
            .ok()
            .and_then(crate::types::str::forbidden_char)
    });
    if let Some(i) = bad {
        return Err(ParseError::new(K::ControlCharacter, 4 + i));
    }
    Ok((code, last))
}

/// `class "." subject "." detail` at the start of `t`, followed by SP or the end
/// (RFC 3463 §2; RFC 2034 §4). Returns the code and its length.
pub(crate) fn enhanced_prefix(t: &[u8]) -> Option<(EnhancedCode, usize)> {
    let class = match t.first()? {
        c @ (b'2' | b'4' | b'5') => c - b'0',
        _ => return None,
    };
    if t.get(1) != Some(&b'.') {
        return None;
    }
    let mut i = 2;
    let num = |i: &mut usize| -> Option<u16> {
        let start = *i;
        while *i < t.len() && t[*i].is_ascii_digit() && *i - start < 3 {
            *i += 1;
        }
        if *i == start {
            return None;
        }
        Some(
            t[start..*i]
                .iter()
                .fold(0u16, |a, &b| a * 10 + u16::from(b - b'0')),
        )
    };
    let subject = num(&mut i)?;
    if t.get(i) != Some(&b'.') {
        return None;
    }
    i += 1;
    let detail = num(&mut i)?;
    match t.get(i) {
        None | Some(b' ') => Some((EnhancedCode::new(class, subject, detail).ok()?, i)),
        _ => None,
    }
}

/// A line's text, copied out of the receive buffer (inline when short).
fn text(b: &[u8]) -> Text {
    if b.is_ascii() {
        return Text(Str::copy_checked(b));
    }
    match std::str::from_utf8(b) {
        Ok(_) => Text(Str::copy_checked(b)),
        // Reply text is for humans: a server's stray Latin-1 must not fail a delivery.
        Err(_) => Text(Str::from_string(String::from_utf8_lossy(b).into_owned())),
    }
}

/// Builds the reply from the decoded line texts.
fn build(code: ReplyCode, mut lines: Lines) -> Reply {
    let enhanced = canonical(code, None, lines.as_mut_slice());
    Reply::from_parts(code, enhanced, lines)
}

/// The one reading of a reply's lines, shared by the decoder and [`Reply::new`] so that
/// decoding what was encoded gives the same value: without an explicit enhanced code, one
/// at the start of the first line whose class matches the reply code is taken (RFC 3463
/// §2, RFC 2034 §4) and stripped from every line that starts with it. In place.
pub(crate) fn canonical(
    code: ReplyCode,
    enhanced: Option<EnhancedCode>,
    lines: &mut [Text],
) -> Option<EnhancedCode> {
    if enhanced.is_some() {
        return enhanced;
    }
    let found = lines
        .first()
        .and_then(|t| enhanced_prefix(t.0.as_bytes()))
        .filter(|(e, _)| e.class() == code.class());
    let (e, _) = found?;
    for t in lines.iter_mut() {
        if let Some((e2, n)) = enhanced_prefix(t.0.as_bytes())
            && e2 == e
        {
            *t = Text(t.0.slice_from((n + 1).min(t.0.as_bytes().len())));
        }
    }
    Some(e)
}

impl Encode for Reply {
    /// All lines in one buffer (one write: some clients read a reply with one `recv`).
    fn encode(&self, out: &mut BytesMut) {
        let code = self.code().get();
        let digits = [
            (code / 100) as u8 + b'0',
            (code / 10 % 10) as u8 + b'0',
            (code % 10) as u8 + b'0',
        ];
        let n = self.lines().len();
        for (i, line) in self.lines().iter().enumerate() {
            out.put_slice(&digits);
            let sep = if i + 1 < n { b'-' } else { b' ' };
            let mut first = true;
            if let Some(e) = self.enhanced() {
                out.put_u8(sep);
                let _ = std::fmt::Write::write_fmt(out, format_args!("{e}"));
                first = false;
            }
            if !line.is_empty() {
                out.put_u8(if first { sep } else { b' ' });
                out.put_slice(line.0.as_bytes());
            } else if first && sep == b'-' {
                out.put_u8(b'-');
            }
            out.put_slice(b"\r\n");
        }
    }
}

impl Reply {
    /// Parses exactly one complete reply (with CRLFs) under the default limits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Reply, ParseError> {
        super::one_shot(bytes, |buf| ReplyDecoder::default().decode(buf))
    }
}
