//! [`Reply`]: a server reply, single or multiline (RFC 5321 §4.2).
//!
//! ```text
//! Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
//!                  Reply-code [ SP textstring ] CRLF
//! Reply-code     = %x32-35 %x30-35 %x30-39
//! ```

use super::text::Text;
use crate::error::ValueError;
use std::fmt;

/// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets, code and CRLF included.
const MAX_LINE: usize = 512;

/// A three-digit reply code: first digit 2–5, second 0–5, third 0–9 (RFC 5321 §4.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplyCode(u16);

impl ReplyCode {
    /// 220 Service ready.
    pub const READY: ReplyCode = ReplyCode(220);
    /// 221 Service closing transmission channel.
    pub const CLOSING: ReplyCode = ReplyCode(221);
    /// 235 Authentication succeeded (RFC 4954).
    pub const AUTH_OK: ReplyCode = ReplyCode(235);
    /// 250 Requested mail action okay, completed.
    pub const OK: ReplyCode = ReplyCode(250);
    /// 334 SASL challenge (RFC 4954).
    pub const AUTH_CHALLENGE: ReplyCode = ReplyCode(334);
    /// 354 Start mail input.
    pub const START_DATA: ReplyCode = ReplyCode(354);
    /// 421 Service not available, closing transmission channel.
    pub const UNAVAILABLE: ReplyCode = ReplyCode(421);
    /// 500 Syntax error, command unrecognized.
    pub const SYNTAX_ERROR: ReplyCode = ReplyCode(500);
    /// 501 Syntax error in parameters or arguments.
    pub const SYNTAX_ERROR_PARAMS: ReplyCode = ReplyCode(501);
    /// 502 Command not implemented.
    pub const NOT_IMPLEMENTED: ReplyCode = ReplyCode(502);
    /// 503 Bad sequence of commands.
    pub const BAD_SEQUENCE: ReplyCode = ReplyCode(503);
    /// 451 Requested action aborted: local error in processing.
    pub const LOCAL_ERROR: ReplyCode = ReplyCode(451);
    /// 452 Requested action not taken: insufficient system storage.
    pub const INSUFFICIENT_STORAGE: ReplyCode = ReplyCode(452);
    /// 550 Requested action not taken: mailbox unavailable.
    pub const MAILBOX_UNAVAILABLE: ReplyCode = ReplyCode(550);
    /// 554 Transaction failed.
    pub const TRANSACTION_FAILED: ReplyCode = ReplyCode(554);

    /// Validates a reply code.
    pub const fn new(code: u16) -> Result<Self, ValueError> {
        let (a, b) = (code / 100, code / 10 % 10);
        if a >= 2 && a <= 5 && b <= 5 {
            Ok(Self(code))
        } else {
            Err(ValueError::OutOfRange { what: "reply code" })
        }
    }

    /// The code as a number.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// 2yz: positive completion.
    pub const fn is_positive(self) -> bool {
        self.0 / 100 == 2
    }

    /// 3yz: positive intermediate (354 after DATA, 334 during AUTH).
    pub const fn is_intermediate(self) -> bool {
        self.0 / 100 == 3
    }

    /// 4yz: transient negative; the same command may succeed later.
    pub const fn is_transient(self) -> bool {
        self.0 / 100 == 4
    }

    /// 5yz: permanent negative.
    pub const fn is_permanent(self) -> bool {
        self.0 / 100 == 5
    }

    /// The first digit (2–5).
    pub const fn class(self) -> u8 {
        (self.0 / 100) as u8
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplyCode({})", self.0)
    }
}

/// An enhanced status code `class.subject.detail` (RFC 3463 §2): class 2, 4 or 5;
/// subject and detail 0–999.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnhancedCode {
    class: u8,
    subject: u16,
    detail: u16,
}

impl EnhancedCode {
    /// Validates an enhanced code.
    pub const fn new(class: u8, subject: u16, detail: u16) -> Result<Self, ValueError> {
        if matches!(class, 2 | 4 | 5) && subject <= 999 && detail <= 999 {
            Ok(Self {
                class,
                subject,
                detail,
            })
        } else {
            Err(ValueError::OutOfRange {
                what: "enhanced status code",
            })
        }
    }

    /// `2.0.0`: success, nothing more to say.
    pub const OK: EnhancedCode = EnhancedCode::known(2, 0, 0);
    /// `5.1.1`: bad destination mailbox address (no such user).
    pub const UNKNOWN_USER: EnhancedCode = EnhancedCode::known(5, 1, 1);
    /// `4.2.2`: mailbox full, a persistent transient failure (RFC 3463 §3.3).
    pub const MAILBOX_FULL: EnhancedCode = EnhancedCode::known(4, 2, 2);
    /// `4.3.0`: other or undefined mail system status, transient.
    pub const TEMPORARY_FAILURE: EnhancedCode = EnhancedCode::known(4, 3, 0);
    /// `4.7.1`: delivery not authorized, for now: what greylisting answers (RFC 3463
    /// X.7.1 with the transient class).
    pub const GREYLISTED: EnhancedCode = EnhancedCode::known(4, 7, 1);
    /// `5.7.1`: delivery not authorized, message refused (policy).
    pub const POLICY_REFUSAL: EnhancedCode = EnhancedCode::known(5, 7, 1);

    /// A code known to be valid at compile time (the constants above).
    const fn known(class: u8, subject: u16, detail: u16) -> Self {
        assert!(matches!(class, 2 | 4 | 5) && subject <= 999 && detail <= 999);
        Self {
            class,
            subject,
            detail,
        }
    }

    /// The class: 2 success, 4 persistent transient failure, 5 permanent failure.
    pub const fn class(self) -> u8 {
        self.class
    }
    /// The subject.
    pub const fn subject(self) -> u16 {
        self.subject
    }
    /// The detail.
    pub const fn detail(self) -> u16 {
        self.detail
    }
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl fmt::Debug for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnhancedCode({self})")
    }
}

/// A reply: a code, an optional enhanced status code, and one or more lines of text.
///
/// On the wire, every line carries the code (RFC 5321 §4.2.1: "the reply code on each of
/// the lines MUST be the same") and, when present, the enhanced code at the start of its
/// text (RFC 2034 §4: "the same status code must appear at the beginning of the text in
/// each line").
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reply {
    code: ReplyCode,
    enhanced: Option<EnhancedCode>,
    lines: Lines,
}

/// A reply's lines: one inline (nearly every reply, and then no allocation), or many.
#[derive(Clone)]
pub(crate) enum Lines {
    One(Text),
    Many(Vec<Text>),
}

impl Lines {
    pub(crate) fn one(t: Text) -> Self {
        Self::One(t)
    }

    pub(crate) fn as_slice(&self) -> &[Text] {
        match self {
            Self::One(t) => std::slice::from_ref(t),
            Self::Many(v) => v,
        }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [Text] {
        match self {
            Self::One(t) => std::slice::from_mut(t),
            Self::Many(v) => v,
        }
    }
}

impl From<Vec<Text>> for Lines {
    fn from(mut v: Vec<Text>) -> Self {
        match v.len() {
            0 => Self::One(Text::default()),
            1 => Self::One(v.pop().unwrap_or_default()),
            _ => Self::Many(v),
        }
    }
}

impl PartialEq for Lines {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for Lines {}

impl std::hash::Hash for Lines {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl Reply {
    /// A reply from validated lines; no lines means one empty line. Without `enhanced`,
    /// a first line that starts with an enhanced code of the reply's class (`2.1.0 Ok`)
    /// is read as that code, exactly as the decoder reads it; with it, a line that
    /// starts with that same code loses it (the code is sent once).
    ///
    /// `Err` when the codes disagree (RFC 3463 §2: the class is the reply's first
    /// digit), also when a line starts with an enhanced code of another class (`250
    /// 5.1.1 …`), and when a line with its code, enhanced code and CRLF would pass
    /// the 512 octets of RFC 5321 §4.5.3.1.5.
    pub fn new(
        code: ReplyCode,
        enhanced: Option<EnhancedCode>,
        lines: Vec<Text>,
    ) -> Result<Self, ValueError> {
        let mismatch = |e: EnhancedCode| ValueError::EnhancedCodeMismatch {
            code: code.get(),
            enhanced: e,
        };
        if let Some(e) = enhanced
            && e.class() != code.class()
        {
            return Err(mismatch(e));
        }
        let mut lines = Lines::from(lines);
        for line in lines.as_mut_slice() {
            match crate::codec::reply::enhanced_prefix(line.as_str().as_bytes()) {
                Some((e, _)) if code.class() != 3 && e.class() != code.class() => {
                    return Err(mismatch(e));
                }
                Some((e, n)) if Some(e) == enhanced => {
                    *line = Text::new(line.as_str()[n..].trim_start_matches(' '))?;
                }
                _ => {}
            }
        }
        let enhanced = crate::codec::reply::canonical(code, enhanced, lines.as_mut_slice());
        // "500 5.5.1 " and CRLF around each line's text.
        let overhead = 4 + enhanced.map_or(0, |e| e.to_string().len() + 1) + 2;
        if lines
            .as_slice()
            .iter()
            .any(|l| overhead + l.as_str().len() > MAX_LINE)
        {
            return Err(ValueError::TooLong {
                what: "reply line",
                max: MAX_LINE,
            });
        }
        Ok(Self {
            code,
            enhanced,
            lines,
        })
    }

    /// A reply whose text lines are given as strings (each validated as [`Text`]).
    pub fn with_text<'a>(
        code: u16,
        enhanced: Option<EnhancedCode>,
        lines: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, ValueError> {
        let code = ReplyCode::new(code)?;
        let lines = lines
            .into_iter()
            .map(Text::new)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(code, enhanced, lines)
    }

    /// A one-line reply from parts fixed in this crate (the named replies); codes that
    /// disagree are a bug here, never a rewrite of what a caller asked for.
    pub(crate) fn from_static(
        code: ReplyCode,
        enhanced: Option<EnhancedCode>,
        text: &'static str,
    ) -> Self {
        debug_assert!(enhanced.is_none_or(|e| e.class() == code.class()));
        let mut lines = Lines::one(Text::from_static(text));
        let enhanced = crate::codec::reply::canonical(code, enhanced, lines.as_mut_slice());
        Self {
            code,
            enhanced,
            lines,
        }
    }

    /// `550 5.1.1 No such user here`: the recipient does not exist (RFC 3463 X.1.1).
    pub fn unknown_user() -> Self {
        Self::from_static(
            ReplyCode::MAILBOX_UNAVAILABLE,
            Some(EnhancedCode::UNKNOWN_USER),
            "No such user here",
        )
    }

    /// `452 4.2.2 Mailbox full, try again later`: over quota. RFC 3463 §3.3 makes X.2.2
    /// a persistent *transient* failure (the owner can make room); for a permanent
    /// refusal build `552 5.2.2` with [`Reply::new`] or [`Reply::with_text`].
    pub fn mailbox_full() -> Self {
        Self::from_static(
            ReplyCode::INSUFFICIENT_STORAGE,
            Some(EnhancedCode::MAILBOX_FULL),
            "Mailbox full, try again later",
        )
    }

    /// `451 4.7.1 Greylisted, try again later`: a first attempt deferred on purpose
    /// (RFC 6647 §2: a greylisting refusal is always transient).
    pub fn greylisted() -> Self {
        Self::from_static(
            ReplyCode::LOCAL_ERROR,
            Some(EnhancedCode::GREYLISTED),
            "Greylisted, try again later",
        )
    }

    /// `550 5.7.1 Refused by policy`: a permanent refusal for local policy (a block
    /// list, a relay not allowed). [`Reply::with_message`] sets a text of your own.
    pub fn policy_refusal() -> Self {
        Self::from_static(
            ReplyCode::MAILBOX_UNAVAILABLE,
            Some(EnhancedCode::POLICY_REFUSAL),
            "Refused by policy",
        )
    }

    /// `451 4.3.0 Temporary failure, try again later`: something local failed (a
    /// database, a disk); the client keeps the message and retries.
    pub fn temporary_failure() -> Self {
        Self::from_static(
            ReplyCode::LOCAL_ERROR,
            Some(EnhancedCode::TEMPORARY_FAILURE),
            "Temporary failure, try again later",
        )
    }

    /// The same code and enhanced code with `text` as the only line; `Err` when `text`
    /// is not valid reply text (CR, LF, other controls) or makes the line longer than
    /// 512 octets.
    ///
    /// ```
    /// use smtp_proto::Reply;
    /// let r = Reply::policy_refusal().with_message("Relay access denied").unwrap();
    /// assert_eq!(r.to_string(), "550 5.7.1 Relay access denied");
    /// assert!(Reply::unknown_user().with_message("a\r\n250 ok").is_err());
    /// ```
    pub fn with_message(self, text: &str) -> Result<Self, ValueError> {
        Self::new(self.code, self.enhanced, vec![Text::new(text)?])
    }

    pub(crate) fn from_parts(
        code: ReplyCode,
        enhanced: Option<EnhancedCode>,
        lines: Lines,
    ) -> Self {
        Self {
            code,
            enhanced,
            lines,
        }
    }

    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The enhanced status code, when the reply carries one.
    pub fn enhanced(&self) -> Option<EnhancedCode> {
        self.enhanced
    }

    /// The text lines, without code or enhanced code.
    pub fn lines(&self) -> &[Text] {
        self.lines.as_slice()
    }

    /// All text lines joined with a space.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for (i, l) in self.lines().iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(l.as_str());
        }
        s
    }

    /// 2yz.
    pub fn is_positive(&self) -> bool {
        self.code.is_positive()
    }
    /// 3yz.
    pub fn is_intermediate(&self) -> bool {
        self.code.is_intermediate()
    }
    /// 4yz: try again later.
    pub fn is_transient(&self) -> bool {
        self.code.is_transient()
    }
    /// 5yz: do not retry.
    pub fn is_permanent(&self) -> bool {
        self.code.is_permanent()
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut t = f.debug_tuple("Reply");
        t.field(&self.code.0);
        if let Some(e) = self.enhanced {
            t.field(&format_args!("{e}"));
        }
        for l in self.lines() {
            t.field(l);
        }
        t.finish()
    }
}

impl fmt::Display for Reply {
    /// The first line as it appears on the wire, e.g. `250 2.1.0 Ok`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(e) = self.enhanced {
            write!(f, " {e}")?;
        }
        write!(f, " {}", self.text())
    }
}
