//! Commands: parse one line (RFC 5321 §4.1.1 and extensions) and emit.

use super::{Cursor, Encode, PResult};
use crate::error::{ParseError, ParseErrorKind as K};
use crate::framing::line::{LineEndings, LineReader};
use crate::limits::Limits;
use crate::secret::Secret;
use crate::types::command::{Command, Mechanism, SaslResponse};
use crate::types::str::class;
use crate::types::text::Text;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Session facts the command grammar depends on.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// UTF-8 addresses are allowed in RCPT (the transaction's MAIL carried `SMTPUTF8`,
    /// RFC 6531 §3.4) and in MAIL without the parameter. Default off: a MAIL with a
    /// non-ASCII path must carry `SMTPUTF8` itself.
    pub smtputf8: bool,
}

impl ParseOptions {
    /// Sets [`ParseOptions::smtputf8`].
    pub const fn with_smtputf8(mut self, on: bool) -> Self {
        self.smtputf8 = on;
        self
    }
}

/// Parses one complete command line, without its CRLF.
///
/// The result owns its values (short ones inline), so `line` may be reused at once.
pub fn decode_command(line: &[u8], opts: &ParseOptions) -> Result<Command, ParseError> {
    let mut c = Cursor::new(line);
    // Verbs are 4 or 8 letters: a short loop beats a vectorised search here.
    let verb_len = line
        .iter()
        .take(9)
        .position(|&b| b == b' ')
        .unwrap_or(line.len());
    let v = &line[..verb_len];
    c.advance(verb_len);
    match verb_len {
        4 => {
            // ASCII letters upper-cased by clearing bit 5; no other byte becomes a letter.
            let key = [v[0] & 0xDF, v[1] & 0xDF, v[2] & 0xDF, v[3] & 0xDF];
            match &key {
                b"MAIL" => mail(&mut c, opts),
                b"RCPT" => rcpt(&mut c, opts),
                b"EHLO" => hello(&mut c).map(|host| Command::Ehlo { host }),
                b"HELO" => hello(&mut c).map(|host| Command::Helo { host }),
                b"LHLO" => hello(&mut c).map(|host| Command::Lhlo { host }),
                b"DATA" => c.end().map(|()| Command::Data),
                b"BDAT" => bdat(&mut c).map_err(ParseError::closing),
                b"RSET" => c.end().map(|()| Command::Rset),
                b"QUIT" => c.end().map(|()| Command::Quit),
                b"NOOP" => optional_text(&mut c).map(|text| Command::Noop { text }),
                b"HELP" => optional_text(&mut c).map(|topic| Command::Help { topic }),
                b"VRFY" => {
                    lookup(&mut c).map(|(target, smtputf8)| Command::Vrfy { target, smtputf8 })
                }
                b"EXPN" => {
                    lookup(&mut c).map(|(target, smtputf8)| Command::Expn { target, smtputf8 })
                }
                b"AUTH" => auth(&mut c),
                _ => c.fail_at(0, K::UnknownCommand),
            }
        }
        8 if v.eq_ignore_ascii_case(b"STARTTLS") => c.end().map(|()| Command::StartTls),
        _ => c.fail_at(0, K::UnknownCommand),
    }
}

/// Requires one or more SP before an argument.
fn sp(c: &mut Cursor<'_>, what: &'static str) -> PResult<()> {
    if c.spaces() && !c.at_end() {
        Ok(())
    } else {
        c.fail(K::Expected(what))
    }
}

fn hello(c: &mut Cursor<'_>) -> PResult<crate::types::domain::Host> {
    sp(c, "a space and the client's domain")?;
    let at = c.pos();
    let host = c.host()?;
    if !host.is_ascii() {
        // RFC 6531 §3.7.1: the EHLO argument is an A-label domain, never a U-label.
        return c.fail_at(at, K::InvalidHost("non-ASCII domain in HELO/EHLO"));
    }
    c.end()?;
    Ok(host)
}

/// `"MAIL FROM:" Reverse-path [SP Mail-parameters]`. A space after the colon is tolerated
/// (Postfix's default `strict_rfc821_envelopes = no`); the path itself is never guessed at.
fn mail(c: &mut Cursor<'_>, opts: &ParseOptions) -> PResult<Command> {
    sp(c, "a space and FROM:")?;
    if !c.eat_ci(b"FROM:") {
        return c.fail(K::Expected("FROM:"));
    }
    c.spaces();
    let at = c.pos();
    let from = c.reverse_path()?;
    let params = c.mail_params()?;
    // RFC 6531 §3.3/§3.4: UTF-8 in the path or in parameter values only with SMTPUTF8.
    if !(params.smtputf8 || opts.smtputf8 || c.line_from(at).is_ascii())
        && let Some(i) = c.line_from(at).iter().position(|b| !b.is_ascii())
    {
        return c.fail_at(at + i, K::Utf8NotAllowed { in_mail: true });
    }
    Ok(Command::Mail { from, params })
}

/// `"RCPT TO:" ( "<Postmaster>" / Forward-path ) [SP Rcpt-parameters]`.
fn rcpt(c: &mut Cursor<'_>, opts: &ParseOptions) -> PResult<Command> {
    sp(c, "a space and TO:")?;
    if !c.eat_ci(b"TO:") {
        return c.fail(K::Expected("TO:"));
    }
    c.spaces();
    let at = c.pos();
    let to = c.forward_path()?;
    let params = c.rcpt_params()?;
    if !opts.smtputf8
        && !c.line_from(at).is_ascii()
        && let Some(i) = c.line_from(at).iter().position(|b| !b.is_ascii())
    {
        return c.fail_at(at + i, K::Utf8NotAllowed { in_mail: false });
    }
    Ok(Command::Rcpt { to, params })
}

/// `"BDAT" SP chunk-size [ SP end-marker ]`, `chunk-size ::= 1*DIGIT`,
/// `end-marker ::= "LAST"` (RFC 3030 §2).
fn bdat(c: &mut Cursor<'_>) -> PResult<Command> {
    sp(c, "a space and the chunk size")?;
    let start = c.pos();
    let n = c.span(&DIGIT);
    if n == 0 {
        return c.fail(K::Expected("the chunk size"));
    }
    let size = c.rest_digits(start, n)?;
    let last = if c.spaces() && !c.at_end() {
        if !c.eat_ci(b"LAST") {
            return c.fail(K::Expected("LAST"));
        }
        true
    } else {
        false
    };
    c.end()?;
    Ok(Command::Bdat { size, last })
}

static DIGIT: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = b'0';
    while i <= b'9' {
        t[i as usize] = true;
        i += 1;
    }
    t
};

impl Cursor<'_> {
    fn rest_digits(&self, start: usize, n: usize) -> PResult<u64> {
        let mut v: u64 = 0;
        for &d in &self.line_from(start)[..n] {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .ok_or_else(|| ParseError::new(K::NumberOutOfRange, start))?;
        }
        Ok(v)
    }

    /// The rest of the line as text, verbatim (so emitting it gives the same line).
    fn text_to_end(&mut self) -> PResult<Text> {
        let start = self.pos();
        let rest = self.rest();
        if let Some(i) = class::first_not(rest, &class::TEXT) {
            return self.fail_at(start + i, K::ControlCharacter);
        }
        let end = start + rest.len();
        self.set_pos(end);
        Ok(Text(self.str(start, end)?))
    }
}

/// `[ SP String ]` of NOOP and HELP: absent, or everything after the one SP, verbatim.
fn optional_text(c: &mut Cursor<'_>) -> PResult<Option<Text>> {
    if c.at_end() {
        return Ok(None);
    }
    c.expect(b' ', "a space before the argument")?;
    c.text_to_end().map(Some)
}

/// `SP String [SP "SMTPUTF8"]` of VRFY and EXPN (RFC 6531 §3.7.4.2). The string is taken
/// verbatim (RFC 5321 §3.5.3 shows user names with spaces); a final ` SMTPUTF8` is the
/// parameter.
fn lookup(c: &mut Cursor<'_>) -> PResult<(Text, bool)> {
    c.expect(b' ', "a space and the name")?;
    if c.at_end() {
        return c.fail(K::Expected("the name"));
    }
    let text = c.text_to_end()?;
    let s = text.as_str();
    let cut = s.len().saturating_sub(" SMTPUTF8".len());
    if cut > 0 && s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(" SMTPUTF8") {
        let target = Text(text.0.slice_to(cut));
        return Ok((target, true));
    }
    Ok((text, false))
}

/// `"AUTH" SP sasl-mech [SP initial-response]`, `initial-response = base64 / "="`
/// (RFC 4954 §4, §8).
fn auth(c: &mut Cursor<'_>) -> PResult<Command> {
    sp(c, "a space and the SASL mechanism")?;
    let start = c.pos();
    let n = c.span(&class::MECH);
    if n == 0 || n > Mechanism::MAX_LEN || !(c.at_end() || c.peek() == Some(b' ')) {
        return c.fail_at(
            start,
            K::Expected("a SASL mechanism name (1*20 of A-Z 0-9 - _)"),
        );
    }
    let name = c.str(start, c.pos())?;
    let mechanism = if name.as_bytes().iter().any(u8::is_ascii_lowercase) {
        Mechanism(crate::types::str::Str::from_string(
            name.as_str().to_ascii_uppercase(),
        ))
    } else {
        Mechanism(name)
    };
    let initial = if c.spaces() && !c.at_end() {
        let at = c.pos();
        let n = c.span(&class::VCHAR);
        let resp = base64_response(&c.line_from(at)[..n]).map_err(|k| ParseError::new(k, at))?;
        Some(resp)
    } else {
        None
    };
    c.end()?;
    Ok(Command::Auth { mechanism, initial })
}

/// `base64 / "="`: `=` is the empty response.
fn base64_response(s: &[u8]) -> Result<Secret<Bytes>, K> {
    if s == b"=" {
        return Ok(Secret::new(Bytes::new()));
    }
    BASE64
        .decode(s)
        .map(|v| Secret::new(Bytes::from(v)))
        .map_err(|_| K::InvalidBase64)
}

/// Parses a client line during an AUTH exchange (RFC 4954 §4): base64, or `*` to cancel.
/// An empty line is an empty response.
pub fn decode_sasl_response(line: &[u8]) -> Result<SaslResponse, ParseError> {
    if line == b"*" {
        return Ok(SaslResponse::Cancel);
    }
    if line.is_empty() {
        return Ok(SaslResponse::Data(Secret::new(Bytes::new())));
    }
    BASE64
        .decode(line)
        .map(|v| SaslResponse::Data(Secret::new(Bytes::from(v))))
        .map_err(|_| ParseError::new(K::InvalidBase64, 0))
}

impl Encode for SaslResponse {
    fn encode(&self, out: &mut BytesMut) {
        match self {
            SaslResponse::Cancel => out.put_slice(b"*"),
            SaslResponse::Data(d) => out.put_slice(BASE64.encode(d.expose()).as_bytes()),
        }
        out.put_slice(b"\r\n");
    }
}

impl Encode for Command {
    /// The command line with CRLF, e.g. `MAIL FROM:<a@b> SIZE=10\r\n`.
    fn encode(&self, out: &mut BytesMut) {
        out.put_slice(self.verb().as_bytes());
        match self {
            Command::Helo { host } | Command::Ehlo { host } | Command::Lhlo { host } => {
                out.put_u8(b' ');
                host.encode(out);
            }
            Command::Mail { from, params } => {
                out.put_slice(b" FROM:");
                from.encode(out);
                params.encode(out);
            }
            Command::Rcpt { to, params } => {
                out.put_slice(b" TO:");
                to.encode(out);
                params.encode(out);
            }
            Command::Bdat { size, last } => {
                let _ = std::fmt::Write::write_fmt(out, format_args!(" {size}"));
                if *last {
                    out.put_slice(b" LAST");
                }
            }
            Command::Vrfy { target, smtputf8 } | Command::Expn { target, smtputf8 } => {
                out.put_u8(b' ');
                out.put_slice(target.0.as_bytes());
                if *smtputf8 {
                    out.put_slice(b" SMTPUTF8");
                }
            }
            Command::Help { topic: Some(t) } | Command::Noop { text: Some(t) } => {
                out.put_u8(b' ');
                out.put_slice(t.0.as_bytes());
            }
            Command::Auth { mechanism, initial } => {
                out.put_u8(b' ');
                out.put_slice(mechanism.0.as_bytes());
                if let Some(r) = initial {
                    out.put_u8(b' ');
                    if r.expose().is_empty() {
                        out.put_u8(b'=');
                    } else {
                        out.put_slice(BASE64.encode(r.expose()).as_bytes());
                    }
                }
            }
            Command::Data
            | Command::Rset
            | Command::Quit
            | Command::StartTls
            | Command::Help { topic: None }
            | Command::Noop { text: None } => {}
        }
        out.put_slice(b"\r\n");
    }
}

/// Streaming command decoder: bytes in, commands out, `Ok(None)` for "need more input".
///
/// It frames lines with [`LineReader`] (CRLF-strict by default, length-capped by
/// [`Limits::command_line`], `AUTH` lines by [`Limits::auth_line`]) and parses each with
/// [`decode_command`]. After an error it stays usable: an over-long line is discarded
/// through its end, so the next call starts at the next command.
#[derive(Debug, Clone)]
pub struct CommandDecoder {
    lines: LineReader,
    limits: Limits,
    last_bare_lf: bool,
    /// Options passed to [`decode_command`] for every line.
    pub options: ParseOptions,
}

impl CommandDecoder {
    /// A decoder with the given limits and strict line endings.
    pub fn new(limits: Limits) -> Self {
        Self {
            lines: LineReader::new(LineEndings::Strict),
            limits,
            last_bare_lf: false,
            options: ParseOptions::default(),
        }
    }

    /// Sets the line-ending policy (see [`LineEndings`]).
    pub fn with_line_endings(mut self, endings: LineEndings) -> Self {
        self.lines = LineReader::new(endings);
        self
    }

    /// Takes the next command from the front of `buf`, or `Ok(None)` if `buf` holds no
    /// complete line yet. The consumed line is removed from `buf`; bytes after it stay.
    /// The line is parsed where it lies in `buf`: nothing is split off or copied except
    /// the values kept in the command.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Command>, ParseError> {
        let Some((len, total)) = self.find(buf)? else {
            return Ok(None);
        };
        self.last_bare_lf = total - len == 1;
        let r = decode_command(&buf[..len], &self.options);
        buf.advance(total);
        r.map(Some)
    }

    /// Takes the next complete line (without CRLF) without parsing it.
    pub fn next_line(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, ParseError> {
        Ok(self.find(buf)?.map(|(len, total)| {
            let mut line = buf.split_to(total);
            line.truncate(len);
            line.freeze()
        }))
    }

    fn find(&mut self, buf: &mut BytesMut) -> Result<Option<(usize, usize)>, ParseError> {
        // The limit depends on the line's verb, so look at it only once `buf` starts at a
        // line: otherwise the result would depend on how the input was split.
        if !self.lines.skip_discarded(buf) {
            return Ok(None);
        }
        let verb = |v: &[u8]| buf.len() >= 5 && buf[..5].eq_ignore_ascii_case(v);
        let max = if verb(b"AUTH ") {
            self.limits.auth_line.max(self.limits.command_line)
        } else {
            self.limits.command_line
        };
        let bdat = verb(b"BDAT ");
        // An over-long BDAT line hides its chunk size: see ParseError::must_close.
        self.lines
            .find(buf, max)
            .map_err(|e| if bdat { e.closing() } else { e })
    }

    /// Takes the next SASL response line (limit [`Limits::auth_line`]) and parses it.
    pub fn decode_sasl(&mut self, buf: &mut BytesMut) -> Result<Option<SaslResponse>, ParseError> {
        let Some((len, total)) = self.lines.find(buf, self.limits.auth_line)? else {
            return Ok(None);
        };
        let r = decode_sasl_response(&buf[..len]);
        buf.advance(total);
        r.map(Some)
    }

    /// Whether the last line [`CommandDecoder::decode`] returned ended in a bare LF
    /// (only under [`LineEndings::AllowBareLf`]).
    pub fn last_line_ended_in_bare_lf(&self) -> bool {
        self.last_bare_lf
    }

    /// Whether the decoder is skipping the rest of an over-long or malformed line.
    pub fn is_discarding(&self) -> bool {
        self.lines.is_discarding()
    }
}

impl Default for CommandDecoder {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl Command {
    /// Parses exactly one complete command line (with CRLF) under the default limits and
    /// options.
    pub fn from_bytes(bytes: &[u8]) -> Result<Command, ParseError> {
        super::one_shot(bytes, |buf| CommandDecoder::default().decode(buf))
    }
}
