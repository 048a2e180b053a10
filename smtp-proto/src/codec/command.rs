//! Commands: parse one line (RFC 5321 §4.1.1 and extensions) and emit.

use super::{Cursor, Encode, PResult};
use crate::error::{AddressPart, ParseError, ParseErrorKind as K};
use crate::framing::line::{LineEndings, LineReader};
use crate::limits::{AddressLimits, Limits};
use crate::secret::Secret;
use crate::types::command::{Command, Mechanism, SaslResponse, Verb};
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
    /// Address length limits for MAIL, RCPT and VRFY (RFC 5321 §4.5.3.1.1–3).
    pub address: AddressLimits,
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
    c.address = opts.address;
    let Some(verb) = Verb::of_line(line) else {
        return c.fail_at(0, K::UnknownCommand);
    };
    c.advance(verb.as_str().len());
    match verb {
        Verb::Mail => mail(&mut c, opts),
        Verb::Rcpt => rcpt(&mut c, opts),
        Verb::Ehlo => hello(&mut c).map(|host| Command::Ehlo { host }),
        Verb::Helo => hello(&mut c).map(|host| Command::Helo { host }),
        Verb::Lhlo => hello(&mut c).map(|host| Command::Lhlo { host }),
        Verb::Data => c.end().map(|()| Command::Data),
        Verb::Bdat => bdat(&mut c).map_err(ParseError::closing),
        Verb::Rset => c.end().map(|()| Command::Rset),
        Verb::Quit => c.end().map(|()| Command::Quit),
        Verb::Noop => optional_text(&mut c).map(|text| Command::Noop { text }),
        Verb::Help => optional_text(&mut c).map(|topic| Command::Help { topic }),
        Verb::Vrfy => lookup(&mut c).map(|(target, smtputf8)| Command::Vrfy { target, smtputf8 }),
        Verb::Expn => lookup(&mut c).map(|(target, smtputf8)| Command::Expn { target, smtputf8 }),
        Verb::Auth => auth(&mut c),
        Verb::StartTls => c.end().map(|()| Command::StartTls),
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
    let host = c.host().map_err(|e| match e.kind() {
        // Not an address: the EHLO argument's limits are the DNS ones, a syntax error.
        K::AddressTooLong { .. } => {
            ParseError::new(K::InvalidHost("domain or label too long"), e.offset())
        }
        _ => e,
    })?;
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
    let from = c.reverse_path().map_err(ParseError::of_sender)?;
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
    let at = c.pos();
    let text = c.text_to_end()?;
    let s = text.as_str();
    let cut = s.len().saturating_sub(" SMTPUTF8".len());
    let (target, smtputf8) =
        if cut > 0 && s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(" SMTPUTF8") {
            (Text(text.0.slice_to(cut)), true)
        } else {
            (text, false)
        };
    check_lookup_address(target.as_str().as_bytes(), c.address).map_err(|e| e.shifted(at))?;
    Ok((target, smtputf8))
}

/// RFC 5321 §4.5.3.1: the address limits hold for VRFY as for MAIL and RCPT. The string
/// may be a user name rather than a mailbox; when it is a mailbox (bare or in `<>`), its
/// parts are measured, and any string is held to the path limit.
fn check_lookup_address(target: &[u8], limits: AddressLimits) -> PResult<()> {
    if target.len() > limits.path {
        return Err(ParseError::new(
            K::AddressTooLong {
                part: AddressPart::Path,
                limit: limits.path,
                sender: false,
            },
            0,
        ));
    }
    let mut m = Cursor::new(target);
    m.address = limits;
    let r = if m.peek() == Some(b'<') {
        m.forward_path().map(drop)
    } else {
        m.mailbox().map(drop)
    };
    match r {
        Err(e) if matches!(e.kind(), K::AddressTooLong { .. }) => Err(e),
        _ => Ok(()),
    }
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
        if c.rest() == b"*" {
            // RFC 4954 §4: `*` cancels the exchange, wherever it comes.
            return c.fail_at(at, K::AuthCancelled);
        }
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
/// `=` and an empty line are the empty response (RFC 4954 §4 gives `=` for an empty
/// initial response; an empty line is how a response to a challenge is empty).
pub fn decode_sasl_response(line: &[u8]) -> Result<SaslResponse, ParseError> {
    if line == b"*" {
        return Ok(SaslResponse::Cancel);
    }
    if line.is_empty() || line == b"=" {
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
/// It frames lines with [`LineReader`] (CRLF-strict by default) and parses each with
/// [`decode_command`]. Line limits depend on the verb: [`Limits::command_line`] (512,
/// RFC 5321 §4.5.3.1.4) for every command, `AUTH` included (RFC 4954 §4: "the AUTH
/// command is still subject to the line length limitations"), except `MAIL` and `RCPT`,
/// which grow to [`CommandDecoder::set_parameter_lines`] when extensions lengthen them
/// (SIZE RFC 1870, DSN RFC 3461 §5, AUTH= RFC 4954 §5), and an `AUTH` line given more
/// room with [`CommandDecoder::with_auth_command_line`]. After an error it stays usable:
/// a bad line is discarded through its end, so the next call starts at the next command.
#[derive(Debug, Clone)]
pub struct CommandDecoder {
    lines: LineReader,
    limits: Limits,
    mail_line: usize,
    rcpt_line: usize,
    auth_command_line: usize,
    last_bare_lf: bool,
    last_verb: Option<Verb>,
    /// Options passed to [`decode_command`] for every line.
    pub options: ParseOptions,
}

impl CommandDecoder {
    /// A decoder with the given limits and strict line endings.
    pub fn new(limits: Limits) -> Self {
        Self {
            lines: LineReader::new(LineEndings::Strict),
            limits,
            mail_line: limits.command_line,
            rcpt_line: limits.command_line,
            auth_command_line: limits.command_line,
            last_bare_lf: false,
            last_verb: None,
            options: ParseOptions::default(),
        }
    }

    /// Sets the line-ending policy (see [`LineEndings`]).
    pub fn with_line_endings(mut self, endings: LineEndings) -> Self {
        self.lines = LineReader::new(endings);
        self
    }

    /// Sets the longest `MAIL` and `RCPT` lines (including CRLF), for the parameters the
    /// extensions in force add to each. Neither goes below [`Limits::command_line`].
    pub fn set_parameter_lines(&mut self, mail: usize, rcpt: usize) {
        self.mail_line = mail;
        self.rcpt_line = rcpt;
    }

    /// Lets an `AUTH` command line (with its initial response) be up to `limit` octets
    /// (including CRLF) instead of [`Limits::command_line`].
    pub fn with_auth_command_line(mut self, limit: usize) -> Self {
        self.auth_command_line = limit;
        self
    }

    /// Takes the next command from the front of `buf`, or `Ok(None)` if `buf` holds no
    /// complete line yet. The consumed line is removed from `buf`; bytes after it stay.
    /// The line is parsed where it lies in `buf`: nothing is split off or copied except
    /// the values kept in the command.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Command>, ParseError> {
        self.last_verb = None;
        let Some((len, total)) = self.find(buf)? else {
            return Ok(None);
        };
        self.last_bare_lf = total - len == 1;
        self.last_verb = Verb::of_line(&buf[..len]);
        let r = decode_command(&buf[..len], &self.options);
        buf.advance(total);
        r.map(Some)
    }

    /// The verb of the line the last [`CommandDecoder::decode`] call consumed, also when
    /// its arguments did not parse (`None` for an unknown verb or a framing error). A
    /// server's sequencing rules apply to it before the argument error does.
    pub fn last_verb(&self) -> Option<Verb> {
        self.last_verb
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
        let base = self.limits.command_line;
        let max = if verb(b"AUTH ") {
            self.auth_command_line.max(base)
        } else if verb(b"MAIL ") {
            self.mail_line.max(base)
        } else if verb(b"RCPT ") {
            self.rcpt_line.max(base)
        } else {
            base
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
