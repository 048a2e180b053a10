//! Fault rules: which stage of a session a rule matches, and what it does there; with
//! the one text syntax shared by [`Rule::from_str`](std::str::FromStr), `smtp-sink
//! --fault` and the HTTP API.

use smtp_proto::Reply;
use std::fmt;
use std::time::Duration;

/// The point of a session a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// A client connected (before the greeting; with implicit TLS, after the handshake).
    Connect,
    /// The `220` greeting.
    Greeting,
    /// `EHLO`, `HELO` or `LHLO` (the pattern matches the name the client gave).
    Ehlo,
    /// `STARTTLS`.
    StartTls,
    /// Each TLS handshake (STARTTLS or implicit TLS): the certificate actions.
    Cert,
    /// `AUTH`.
    Auth,
    /// `MAIL FROM` (the pattern matches the sender).
    Mail,
    /// `RCPT TO` (the pattern matches the recipient).
    Rcpt,
    /// The `DATA` command (its `354`).
    Data,
    /// Each `BDAT` chunk command.
    Bdat,
    /// The end of a message (after the final dot, or `BDAT … LAST`): its final reply.
    /// The pattern matches any recipient the client gave in the transaction.
    EndOfData,
    /// `RSET`.
    Rset,
    /// `QUIT`.
    Quit,
    /// `NOOP`.
    Noop,
    /// `VRFY`, `EXPN` and `HELP`.
    Other,
}

impl Stage {
    const NAMES: [(&'static str, Stage); 18] = [
        ("connect", Stage::Connect),
        ("greeting", Stage::Greeting),
        ("banner", Stage::Greeting),
        ("ehlo", Stage::Ehlo),
        ("helo", Stage::Ehlo),
        ("lhlo", Stage::Ehlo),
        ("starttls", Stage::StartTls),
        ("cert", Stage::Cert),
        ("auth", Stage::Auth),
        ("mail", Stage::Mail),
        ("rcpt", Stage::Rcpt),
        ("data", Stage::Data),
        ("bdat", Stage::Bdat),
        ("eod", Stage::EndOfData),
        ("rset", Stage::Rset),
        ("quit", Stage::Quit),
        ("noop", Stage::Noop),
        ("other", Stage::Other),
    ];

    /// The stage's name in the rule syntax (`rcpt`, `eod`, …).
    pub fn name(self) -> &'static str {
        match self {
            Stage::EndOfData => "eod",
            _ => Self::NAMES
                .iter()
                .find(|(_, s)| *s == self)
                .map_or("other", |(n, _)| n),
        }
    }

    fn parse(s: &str) -> Option<Stage> {
        let s = s.to_ascii_lowercase();
        match s.as_str() {
            "end-of-data" | "dot" => Some(Stage::EndOfData),
            _ => Self::NAMES.iter().find(|(n, _)| *n == s).map(|(_, st)| *st),
        }
    }
}

/// A certificate to present instead of the good one (generated at start, from the
/// test server's CA unless said otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertKind {
    /// Valid (for `localhost` and 127.0.0.1, from the test CA): the default.
    Good,
    /// Expired in 2001.
    Expired,
    /// Valid only from 2090.
    NotYetValid,
    /// Self-signed: no CA vouches for it.
    SelfSigned,
    /// For `wrong-name.invalid`, not `localhost` or 127.0.0.1.
    WrongName,
    /// Signed with ECDSA over SHA-1 (refused by current verifiers), by a fixed test CA
    /// whose certificate [`TestServer::ca_pem`](super::TestServer::ca_pem) includes, so
    /// that the weak signature is the only fault.
    Weak,
}

impl CertKind {
    const NAMES: [(&'static str, CertKind); 6] = [
        ("good", CertKind::Good),
        ("expired", CertKind::Expired),
        ("not-yet-valid", CertKind::NotYetValid),
        ("self-signed", CertKind::SelfSigned),
        ("wrong-name", CertKind::WrongName),
        ("weak", CertKind::Weak),
    ];

    /// The kind's name (`expired`, `self-signed`, …).
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("good", |(n, _)| n)
    }
}

impl std::str::FromStr for CertKind {
    type Err = RuleError;
    fn from_str(s: &str) -> Result<Self, RuleError> {
        Self::NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, k)| *k)
            .ok_or_else(|| RuleError(format!("unknown certificate kind {s:?}")))
    }
}

/// What a rule does when it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Answer with this reply instead of the normal one (any code, enhanced code and
    /// text, multi-line too). A `421` also closes the connection. A command that has no
    /// decision of its own (`STARTTLS`, `RSET`, `QUIT`, `NOOP`, `BDAT`) is not obeyed.
    Reply(Reply),
    /// Send the normal reply after this pause.
    Delay(Duration),
    /// Send the normal reply one octet at a time, with this pause between octets.
    Drip(Duration),
    /// Close the connection at this stage, without a reply.
    Close,
    /// `data`, `bdat`: close the connection once this many octets of the body came.
    CloseAfter(u64),
    /// Leave `STARTTLS` out of the EHLO reply (a man in the middle stripping it).
    HideStartTls,
    /// Present this certificate in the handshake.
    Certificate(CertKind),
    /// `starttls`: send these octets right after the `220`, before the handshake (a
    /// response injection the client must refuse).
    Inject(Vec<u8>),
    /// Send this reply after the normal one, unasked.
    Unsolicited(Reply),
    /// Replace the reply with a malformed one (a continuation line with another code).
    Malformed,
    /// Replace the reply with a multi-line reply that never ends (until the client
    /// closes or 64 MiB went out).
    Endless,
}

/// When a rule fires among the occurrences it matches.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum When {
    /// Every time.
    Always,
    /// The first `n` times only (`4xx` three times, then the normal reply).
    Times(u64),
    /// The `n`-th time only (from 1).
    Nth(u64),
    /// Every `n`-th time: the `n`-th, the `2n`-th, … (`421` to every 100th MAIL).
    Every(u64),
    /// Each time with this probability, from a generator seeded with `seed`: the same
    /// seed fires on the same occurrences in every run.
    Probability {
        /// From 0 to 1.
        p: f64,
        /// The generator's seed.
        seed: u64,
    },
}

/// One fault: a stage, an optional address pattern, when it fires, and its action.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The stage it matches.
    pub stage: Stage,
    /// A pattern (`*` any run, `?` one character, no case) on the stage's address or
    /// name; `None` matches all.
    pub pattern: Option<String>,
    /// Among the matching occurrences (counted over the whole server), which fire.
    pub when: When,
    /// What it does.
    pub action: Action,
}

/// A rule's text that does not parse, with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault rule: {0}")]
pub struct RuleError(pub(crate) String);

fn err<T>(s: impl Into<String>) -> Result<T, RuleError> {
    Err(RuleError(s.into()))
}

impl Rule {
    /// A rule for `stage` that always fires.
    pub fn new(stage: Stage, action: Action) -> Self {
        Self {
            stage,
            pattern: None,
            when: When::Always,
            action,
        }
    }

    /// Whether the action can act at the stage: a certificate only at `cert` (which
    /// takes nothing else), hiding STARTTLS at `starttls` or `ehlo`, an injection at
    /// `starttls`, a close after body octets at `data` or `bdat`.
    pub fn check(&self) -> Result<(), RuleError> {
        let at = |stages: &[Stage], what: &str| {
            if stages.contains(&self.stage) {
                Ok(())
            } else {
                let names: Vec<&str> = stages.iter().map(|s| s.name()).collect();
                err(format!(
                    "{what} acts only at {}, not at {}",
                    names.join(" or "),
                    self.stage.name()
                ))
            }
        };
        match &self.action {
            Action::Certificate(_) => at(&[Stage::Cert], "a certificate"),
            _ if self.stage == Stage::Cert => err(
                "the cert stage takes a certificate kind (expired, not-yet-valid, self-signed, wrong-name, weak)",
            ),
            Action::HideStartTls => at(&[Stage::StartTls, Stage::Ehlo], "hide"),
            Action::Inject(_) => at(&[Stage::StartTls], "inject"),
            Action::CloseAfter(_) => at(&[Stage::Data, Stage::Bdat], "close-after"),
            // Where the session decides, a reply goes through its decision: DATA takes
            // a refusal (its 354 is the session's), the others no intermediate reply.
            Action::Reply(r) if self.stage == Stage::Data && r.code().class() < 4 => {
                err("a reply at data must refuse (4xx or 5xx)")
            }
            Action::Reply(r)
                if r.code().class() == 3
                    && matches!(
                        self.stage,
                        Stage::Connect
                            | Stage::Greeting
                            | Stage::Ehlo
                            | Stage::Auth
                            | Stage::Mail
                            | Stage::Rcpt
                            | Stage::EndOfData
                    ) =>
            {
                err(format!("a 3xx reply cannot answer {}", self.stage.name()))
            }
            _ => Ok(()),
        }
    }

    /// Only for addresses (or names) matching `pattern`.
    pub fn matching(mut self, pattern: &str) -> Self {
        self.pattern = Some(pattern.to_owned());
        self
    }

    /// Only the first `n` times.
    pub fn times(mut self, n: u64) -> Self {
        self.when = When::Times(n);
        self
    }

    /// Only the `n`-th time (from 1).
    pub fn nth(mut self, n: u64) -> Self {
        self.when = When::Nth(n);
        self
    }

    /// Every `n`-th time (the `n`-th, the `2n`-th, …).
    pub fn every(mut self, n: u64) -> Self {
        self.when = When::Every(n);
        self
    }

    /// With probability `p`, seeded.
    pub fn probability(mut self, p: f64, seed: u64) -> Self {
        self.when = When::Probability { p, seed };
        self
    }
}

/// The rule syntax: `STAGE[:QUALIFIER]...=ACTION`.
///
/// - STAGE: `connect`, `greeting`, `ehlo` (also `helo`, `lhlo`), `starttls`, `cert`,
///   `auth`, `mail`, `rcpt`, `data`, `bdat`, `eod` (end of data; also `dot`), `rset`,
///   `quit`, `noop`, `other` (VRFY, EXPN, HELP).
/// - QUALIFIER: `times=N` (the first N times), `nth=N` (the N-th time), `every=N`
///   (the N-th, 2N-th, … time), `p=0.25` with
///   an optional `seed=S` (seeded probability), or an address pattern (`*@bounce.test`;
///   `*` and `?` wildcards, no case; no `:` or `=` in it).
/// - ACTION: a reply (`550 5.1.1 No such user`; `\n` between the lines of a
///   multi-line one), `delay=2s` (also `ms`), `drip` or `drip=20ms`, `close`,
///   `close-after=N` (body octets), `hide` (`starttls=hide`: STARTTLS left out of EHLO),
///   a certificate kind after `cert=` (`expired`, `not-yet-valid`, `self-signed`,
///   `wrong-name`, `weak`), `inject=TEXT` (after the STARTTLS `220`; `\r`, `\n`
///   escapes), `unsolicited=REPLY`, `malformed`, `endless`.
///
/// ```
/// use smtp_server::testing::{Action, Rule, Stage, When};
///
/// let r: Rule = "rcpt:*@bounce.test=550 5.1.1 No such user".parse().unwrap();
/// assert_eq!((r.stage, r.pattern.as_deref()), (Stage::Rcpt, Some("*@bounce.test")));
/// assert!(matches!(r.action, Action::Reply(ref reply) if reply.to_string() == "550 5.1.1 No such user"));
/// let r: Rule = "data:times=2=451 4.3.0 Try later".parse().unwrap();
/// assert_eq!(r.when, When::Times(2));
/// assert_eq!("starttls=hide".parse::<Rule>().unwrap().action, Action::HideStartTls);
/// assert!("rcpt=999 nonsense".parse::<Rule>().is_err());
/// ```
impl std::str::FromStr for Rule {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<Self, RuleError> {
        let (stage, mut rest) = match s.find([':', '=']) {
            Some(i) => (&s[..i], &s[i..]),
            None => return err(format!("{s:?}: no `=ACTION`")),
        };
        let stage = Stage::parse(stage.trim()).ok_or_else(|| {
            RuleError(format!("unknown stage {stage:?} (connect, greeting, ehlo, starttls, cert, auth, mail, rcpt, data, bdat, eod, rset, quit, noop, other)"))
        })?;
        let mut rule = Rule::new(stage, Action::Close);
        let mut seed = None;
        let mut p = None;
        while let Some(q) = rest.strip_prefix(':') {
            // A qualifier: `key=value` for the counters, else a pattern up to `:` or `=`.
            let end = q.find([':', '=']).unwrap_or(q.len());
            let key = &q[..end];
            let counter = matches!(
                key.to_ascii_lowercase().as_str(),
                "times" | "nth" | "every" | "p" | "seed"
            );
            if counter && q[end..].starts_with('=') {
                let after = &q[end + 1..];
                let stop = after.find([':', '=']).unwrap_or(after.len());
                let v = &after[..stop];
                let bad = || RuleError(format!("{key}={v:?}: not a number"));
                match key.to_ascii_lowercase().as_str() {
                    "times" => rule.when = When::Times(v.parse().map_err(|_| bad())?),
                    "nth" => rule.when = When::Nth(v.parse().map_err(|_| bad())?),
                    "every" => match v.parse() {
                        Ok(n) if n > 0 => rule.when = When::Every(n),
                        _ => return Err(RuleError(format!("every={v:?}: not a number over 0"))),
                    },
                    "p" => p = Some(v.parse::<f64>().map_err(|_| bad())?),
                    _ => seed = Some(v.parse::<u64>().map_err(|_| bad())?),
                }
                rest = &after[stop..];
            } else {
                if key.is_empty() {
                    return err("empty qualifier");
                }
                rule.pattern = Some(key.to_owned());
                rest = &q[end..];
            }
        }
        if let Some(p) = p {
            if !(0.0..=1.0).contains(&p) {
                return err(format!("p={p}: not between 0 and 1"));
            }
            rule.when = When::Probability {
                p,
                seed: seed.unwrap_or(0),
            };
        }
        let Some(action) = rest.strip_prefix('=') else {
            return err(format!("{s:?}: no `=ACTION`"));
        };
        rule.action = parse_action(stage, action)?;
        rule.check()?;
        Ok(rule)
    }
}

impl fmt::Display for Rule {
    /// The rule in the rule syntax: `rcpt:*@bounce.test:times=2=550 5.1.1 No such user`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.stage.name())?;
        if let Some(p) = &self.pattern {
            write!(f, ":{p}")?;
        }
        match self.when {
            When::Always => {}
            When::Times(n) => write!(f, ":times={n}")?,
            When::Nth(n) => write!(f, ":nth={n}")?,
            When::Every(n) => write!(f, ":every={n}")?,
            When::Probability { p, seed } => write!(f, ":p={p}:seed={seed}")?,
        }
        let escape = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .replace('\r', "\\r")
                .replace('\n', "\\n")
        };
        match &self.action {
            Action::Reply(r) => write!(f, "={}", reply_text(r)),
            Action::Delay(d) => write!(f, "=delay={}ms", d.as_millis()),
            Action::Drip(d) => write!(f, "=drip={}ms", d.as_millis()),
            Action::Close => f.write_str("=close"),
            Action::CloseAfter(n) => write!(f, "=close-after={n}"),
            Action::HideStartTls => f.write_str("=hide"),
            Action::Certificate(k) if self.stage == Stage::Cert => write!(f, "={}", k.name()),
            Action::Certificate(k) => write!(f, "=cert={}", k.name()),
            Action::Inject(b) => write!(f, "=inject={}", escape(b)),
            Action::Unsolicited(r) => write!(f, "=unsolicited={}", reply_text(r)),
            Action::Malformed => f.write_str("=malformed"),
            Action::Endless => f.write_str("=endless"),
        }
    }
}

/// `550 5.1.1 No such user`, with `\n` between lines: what [`parse_reply`] reads.
fn reply_text(r: &Reply) -> String {
    let mut s = r.code().get().to_string();
    for (i, line) in r.lines().iter().enumerate() {
        s.push_str(if i == 0 { " " } else { "\\n" });
        if i == 0
            && let Some(e) = r.enhanced()
        {
            s.push_str(&format!("{e} "));
        }
        s.push_str(line.as_str());
    }
    s
}

/// `raw` as written after `=`: trimmed, but for the octets of `inject=`, where white
/// space is meant.
fn parse_action(stage: Stage, raw: &str) -> Result<Action, RuleError> {
    let a = raw.trim();
    let (word, value) = a.split_once('=').unwrap_or((a, ""));
    let action = match word.to_ascii_lowercase().as_str() {
        "close" => Action::Close,
        "close-after" => Action::CloseAfter(
            value
                .parse()
                .map_err(|_| RuleError(format!("close-after={value:?}: not a number")))?,
        ),
        "hide" | "hide-starttls" => Action::HideStartTls,
        "delay" => Action::Delay(duration(value)?),
        "drip" if value.is_empty() => Action::Drip(Duration::from_millis(20)),
        "drip" => Action::Drip(duration(value)?),
        "inject" => {
            let value = raw.trim_start().get(word.len() + 1..).unwrap_or_default();
            Action::Inject(unescape(value).into_bytes())
        }
        "unsolicited" => Action::Unsolicited(parse_reply(value)?),
        "malformed" => Action::Malformed,
        "endless" => Action::Endless,
        _ if stage == Stage::Cert => Action::Certificate(a.parse()?),
        "cert" => Action::Certificate(value.parse()?),
        _ if a.starts_with(|c: char| c.is_ascii_digit()) => Action::Reply(parse_reply(a)?),
        _ => return err(format!("unknown action {a:?}")),
    };
    Ok(action)
}

/// `550 5.1.1 No such user`, lines separated by `\n` (a backslash and an `n`, or a
/// newline).
pub(crate) fn parse_reply(s: &str) -> Result<Reply, RuleError> {
    let s = s.replace("\\n", "\n");
    let bad = |e: &dyn fmt::Display| RuleError(format!("reply {s:?}: {e}"));
    let (code, text) = s.split_at(s.find(' ').unwrap_or(s.len()));
    let code: u16 = code.parse().map_err(|e| bad(&e))?;
    let lines: Vec<&str> = text.trim_start().split('\n').map(str::trim_end).collect();
    Reply::with_text(code, None, lines).map_err(|e| bad(&e))
}

fn duration(s: &str) -> Result<Duration, RuleError> {
    let bad = || RuleError(format!("duration {s:?}: use e.g. 500ms or 2s"));
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n.parse().map_err(|_| bad())?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        _ => Err(bad()),
    }
}

fn unescape(s: &str) -> String {
    s.replace("\\r", "\r").replace("\\n", "\n")
}

/// `*` any run, `?` one character, ASCII case ignored.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (
        pattern.to_lowercase().chars().collect(),
        text.to_lowercase().chars().collect(),
    );
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*@bounce.test", "Bob@Bounce.TEST"));
        assert!(glob("a?c*", "abcdef"));
        assert!(!glob("*@bounce.test", "bob@example.test"));
        assert!(glob("*", ""));
    }

    #[test]
    fn rules_parse() {
        let r: Rule = "data:times=2=451 4.3.0 Try later".parse().unwrap();
        assert_eq!((r.stage, r.when), (Stage::Data, When::Times(2)));
        let r: Rule = "rcpt:*@x.test:nth=3=421 4.4.2 Bye".parse().unwrap();
        assert_eq!(r.pattern.as_deref(), Some("*@x.test"));
        assert_eq!(r.when, When::Nth(3));
        let r: Rule = "mail:p=0.5:seed=7=delay=250ms".parse().unwrap();
        assert_eq!(r.when, When::Probability { p: 0.5, seed: 7 });
        assert_eq!(r.action, Action::Delay(Duration::from_millis(250)));
        let r: Rule = "cert=expired".parse().unwrap();
        assert_eq!(r.action, Action::Certificate(CertKind::Expired));
        let r: Rule = "ehlo=250 first\\nsecond".parse().unwrap();
        assert!(matches!(r.action, Action::Reply(ref x) if x.lines().len() == 2));
        let r: Rule = "starttls=inject=250 oops\\r\\n".parse().unwrap();
        assert_eq!(r.action, Action::Inject(b"250 oops\r\n".to_vec()));
        assert!("nowhere=close".parse::<Rule>().is_err());
        assert!("rcpt".parse::<Rule>().is_err());
        assert!("rcpt=dance".parse::<Rule>().is_err());
        assert!("rcpt:p=2=close".parse::<Rule>().is_err());
        for bad in [
            "starttls=cert=expired",
            "cert=close",
            "mail=hide",
            "rcpt=inject=x",
            "mail=close-after=3",
            "data=250 Ok",
            "mail=354 Go",
        ] {
            let e = bad.parse::<Rule>().unwrap_err().to_string();
            assert!(
                ["acts only at", "cert stage", "must refuse", "cannot answer"]
                    .iter()
                    .any(|w| e.contains(w)),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn rules_print_as_they_parse() {
        for text in [
            "rcpt:*@bounce.test:times=2=550 5.1.1 No such user",
            "ehlo=250 first\\nsecond",
            "mail:p=0.5:seed=7=delay=250ms",
            "cert=weak",
            "starttls=hide",
            "starttls=inject=250 oops\\r\\n",
            "data=close-after=10",
            "eod:nth=3=unsolicited=250 2.0.0 extra",
        ] {
            let rule: Rule = text.parse().unwrap();
            assert_eq!(rule.to_string().parse::<Rule>().unwrap(), rule, "{text}");
        }
    }
}
