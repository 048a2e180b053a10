//! [`audit`]: the checks, their options, and what they share (a session set up to the
//! point a check starts from, the QUIT probe that counts replies).

mod limits;
mod lines;
pub(crate) mod report;
mod smuggling;
mod tls;

use super::client::TestClient;
use super::options::TestOptions;
use super::reply::ServerReply;
use super::transcript::Transcript;
use super::{TestError, accept_any_certificate, server_name, server_name_for};
use report::{AuditReport, CheckResult, Status};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use smuggling::SMUGGLING_VARIANTS;

/// One kind of check ([`AuditOptions::checks`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// SMTP smuggling: does a look-alike of the end of data (`<LF>.<LF>`,
    /// `<CR>.<CR>`, ... [`SMUGGLING_VARIANTS`]) end a message, so that what follows
    /// it is taken as a second one? (CVE-2023-51764, -51765, -51766; SEC Consult,
    /// "SMTP Smuggling - Spoofing E-Mails Worldwide", 2023.) One result per variant.
    Smuggling,
    /// STARTTLS command injection (CVE-2011-0411): is a command pipelined behind
    /// STARTTLS in plaintext run, and answered, inside TLS?
    StartTlsInjection,
    /// Is `NOOP<LF>NOOP<CR><LF>` run as two commands? (RFC 5321 §2.3.8: only CRLF
    /// ends a line.)
    BareLf,
    /// Is the tail of a command line past 512 octets (RFC 5321 §4.5.3.1.4) run as a
    /// command of its own?
    LongLine,
    /// Are AUTH PLAIN or LOGIN offered, or credentials checked, before TLS? (RFC 4954
    /// §4 and RFC 8314 §3: no cleartext password without TLS.)
    AuthBeforeTls,
    /// Does the server close the connection after enough bad commands?
    ErrorLimit,
    /// Does the server close the connection after enough commands that do nothing?
    JunkLimit,
}

impl Check {
    /// Every check, in the order [`audit`] runs them.
    pub const ALL: [Check; 7] = [
        Check::Smuggling,
        Check::StartTlsInjection,
        Check::BareLf,
        Check::LongLine,
        Check::AuthBeforeTls,
        Check::ErrorLimit,
        Check::JunkLimit,
    ];

    /// The check's name: `smuggling`, `starttls-injection`, `bare-lf`, `long-line`,
    /// `auth-before-tls`, `error-limit`, `junk-limit`.
    pub fn name(self) -> &'static str {
        match self {
            Check::Smuggling => "smuggling",
            Check::StartTlsInjection => "starttls-injection",
            Check::BareLf => "bare-lf",
            Check::LongLine => "long-line",
            Check::AuthBeforeTls => "auth-before-tls",
            Check::ErrorLimit => "error-limit",
            Check::JunkLimit => "junk-limit",
        }
    }

    /// The check of that [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// What [`audit`] does and with which addresses. Start from
/// [`AuditOptions::default`].
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The name sent in EHLO. Default `smtp-audit.example.test`.
    pub helo: String,
    /// The sender of the smuggling checks' messages, with or without `<>`. Default
    /// `a@example.test`: give one the server accepts.
    pub from: String,
    /// Their recipient. Default `b@example.test`: give one the server accepts.
    pub to: String,
    /// The wait for each connect, reply and handshake. Default 30 s.
    pub timeout: Duration,
    /// The most one check may take in all (a check that does not finish in time is
    /// [`Status::Inconclusive`]). Default 10 minutes: the limit checks send up to
    /// [`max_junk`](Self::max_junk) commands, one round trip each, and a server may
    /// slow its answers down as errors mount (Postfix's `smtpd_error_sleep_time`).
    pub check_timeout: Duration,
    /// Use STARTTLS, when offered, for the checks that do not test plaintext itself
    /// (smuggling, bare LF, long lines, limits), as a sender would. Default on.
    pub starttls: bool,
    /// TLS from the first byte (RFC 8314 §3, port 465): every check runs inside TLS;
    /// STARTTLS injection does not apply and AUTH is never in plaintext. Default off.
    pub implicit_tls: bool,
    /// The TLS configuration (`None`: [`accept_any_certificate`]: the audit is not
    /// about certificates).
    pub tls_config: Option<Arc<ClientConfig>>,
    /// The name for TLS (SNI and verification). Default: the IP address (no SNI).
    pub server_name: Option<String>,
    /// The checks to run, in this order. Default [`Check::ALL`].
    pub checks: Vec<Check>,
    /// Bad commands sent before [`Check::ErrorLimit`] calls the server unlimited.
    /// Default 100: five times Postfix's `smtpd_hard_error_limit` (20) and four times
    /// sendmail's `MAXBADCOMMANDS` (25). RFC 5321 §7.8 lets a server close a
    /// connection that keeps failing; it sets no number.
    pub max_errors: usize,
    /// NOOPs sent before [`Check::JunkLimit`] calls the server unlimited. Default
    /// 1,000: ten times Postfix's `smtpd_junk_command_limit` (100, after which each
    /// junk command counts as an error, so Postfix closes by about the 120th) and fifty
    /// times sendmail's `MAXNOOPCOMMANDS` (20).
    pub max_junk: usize,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            helo: "smtp-audit.example.test".into(),
            from: "a@example.test".into(),
            to: "b@example.test".into(),
            timeout: Duration::from_secs(30),
            check_timeout: Duration::from_secs(600),
            starttls: true,
            implicit_tls: false,
            tls_config: None,
            server_name: None,
            checks: Check::ALL.to_vec(),
            max_errors: 100,
            max_junk: 1000,
        }
    }
}

impl AuditOptions {
    /// These options with this sender and recipient.
    pub fn with_addresses(mut self, from: &str, to: &str) -> Self {
        self.from = from.to_owned();
        self.to = to.to_owned();
        self
    }

    /// These options with only these checks.
    pub fn with_checks(mut self, checks: &[Check]) -> Self {
        self.checks = checks.to_vec();
        self
    }

    /// These options with this wait for each step.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Audits the server at `addr`: a first connection for its greeting and EHLO reply,
/// then each check in [`AuditOptions::checks`] on connections of its own, one after
/// the other. Every step is bounded ([`AuditOptions::timeout`],
/// [`AuditOptions::check_timeout`]); nothing a server sends makes it panic. When no
/// session can be had at all (no connection, a refusing greeting), the report says so
/// in [`AuditReport::error`] and every check is [`Status::Inconclusive`].
pub async fn audit(addr: SocketAddr, opts: &AuditOptions) -> AuditReport {
    let mut report = AuditReport::new(addr);
    match session(addr, opts, false).await {
        Ok(s) => {
            report.greeting = Some(s.greeting.summary());
            report.starttls = Some(s.ehlo.offers("STARTTLS"));
            let mut c = s.client;
            let _ = c.quit().await;
        }
        Err(stop) => {
            report.error = Some(stop.why.clone());
            for &check in &opts.checks {
                report
                    .results
                    .push(stop.clone().result(check, check.name()));
            }
            return report;
        }
    }
    let mut seen = Vec::new();
    for &check in &opts.checks {
        if seen.contains(&check) {
            continue;
        }
        seen.push(check);
        let run = run(check, addr, opts);
        match tokio::time::timeout(opts.check_timeout, run).await {
            Ok(results) => report.results.extend(results),
            Err(_) => report.results.push(CheckResult::new(
                check,
                check.name(),
                Status::Inconclusive,
                format!("not done within {:?}", opts.check_timeout),
                Transcript::new(),
            )),
        }
    }
    report
}

async fn run(check: Check, addr: SocketAddr, opts: &AuditOptions) -> Vec<CheckResult> {
    match check {
        Check::Smuggling => {
            let mut out = Vec::new();
            for (name, variant) in SMUGGLING_VARIANTS {
                out.push(smuggling::check(addr, opts, name, variant).await);
            }
            out
        }
        Check::StartTlsInjection => vec![tls::injection(addr, opts).await],
        Check::BareLf => vec![lines::bare_lf(addr, opts).await],
        Check::LongLine => vec![lines::long_line(addr, opts).await],
        Check::AuthBeforeTls => vec![tls::auth_before_tls(addr, opts).await],
        Check::ErrorLimit => vec![limits::errors(addr, opts).await],
        Check::JunkLimit => vec![limits::junk(addr, opts).await],
    }
}

/// Why a check could not get where it starts from, and the transcript up to there.
#[derive(Debug, Clone)]
pub(super) struct Stop {
    why: String,
    transcript: Transcript,
}

impl Stop {
    fn new(c: TestClient, why: String) -> Self {
        Self {
            why,
            transcript: c.into_transcript(),
        }
    }

    /// An [`Status::Inconclusive`] result saying why.
    pub(super) fn result(self, check: Check, name: &str) -> CheckResult {
        CheckResult::new(check, name, Status::Inconclusive, self.why, self.transcript)
    }
}

/// A session ready for a check.
pub(super) struct Session {
    pub(super) client: TestClient,
    pub(super) greeting: ServerReply,
    /// The last EHLO reply (inside TLS when STARTTLS was done).
    pub(super) ehlo: ServerReply,
}

/// Connects, reads the greeting, sends EHLO; with `tls` and STARTTLS offered, starts
/// TLS and sends EHLO again (RFC 3207 §4.2).
pub(super) async fn session(
    addr: SocketAddr,
    opts: &AuditOptions,
    tls: bool,
) -> Result<Session, Stop> {
    let mut c = match TestClient::connect_with(addr, TestOptions::with_timeout(opts.timeout)).await
    {
        Ok(c) => c,
        Err(e) => {
            let why = e.to_string();
            return Err(Stop {
                why,
                transcript: Transcript::new(),
            });
        }
    };
    if opts.implicit_tls {
        let (config, name) = match tls_setup(addr, opts) {
            Ok(x) => x,
            Err(why) => return Err(Stop::new(c, why)),
        };
        if let Err(e) = c.handshake(config, name).await {
            return Err(Stop::new(c, format!("TLS handshake (implicit TLS): {e}")));
        }
    }
    let greeting = match c.read_reply().await {
        Ok(r) if r.is_positive() => r,
        Ok(r) => return Err(Stop::new(c, format!("greeting: {}", r.summary()))),
        Err(e) => return Err(Stop::new(c, format!("greeting: {e}"))),
    };
    let helo = format!("EHLO {}", opts.helo);
    let mut ehlo = match expect(&mut c, &helo, ServerReply::is_positive).await {
        Ok(r) => r,
        Err(why) => return Err(Stop::new(c, why)),
    };
    if tls && ehlo.offers("STARTTLS") {
        let (config, name) = match tls_setup(addr, opts) {
            Ok(x) => x,
            Err(why) => return Err(Stop::new(c, why)),
        };
        match c.starttls(config, name).await {
            Ok(s) if s.upgraded => {}
            Ok(s) => return Err(Stop::new(c, format!("STARTTLS: {}", s.reply.summary()))),
            Err(e) => return Err(Stop::new(c, format!("STARTTLS: {e}"))),
        }
        ehlo = match expect(&mut c, &helo, ServerReply::is_positive).await {
            Ok(r) => r,
            Err(why) => return Err(Stop::new(c, why)),
        };
    }
    Ok(Session {
        client: c,
        greeting,
        ehlo,
    })
}

/// The TLS configuration and server name the options ask for.
pub(super) fn tls_setup(
    addr: SocketAddr,
    opts: &AuditOptions,
) -> Result<(Arc<ClientConfig>, ServerName<'static>), String> {
    let config = match &opts.tls_config {
        Some(c) => c.clone(),
        None => accept_any_certificate().map_err(|e| e.to_string())?,
    };
    let name = match &opts.server_name {
        Some(n) => server_name(n).map_err(|e| e.to_string())?,
        None => server_name_for(addr),
    };
    Ok((config, name))
}

/// Sends `line`, reads its reply; `Err` (in words) unless `ok` holds for it.
pub(super) async fn expect(
    c: &mut TestClient,
    line: &str,
    ok: fn(&ServerReply) -> bool,
) -> Result<ServerReply, String> {
    let verb = line.split(' ').next().unwrap_or(line);
    match c.command(line).await {
        Ok(r) if ok(&r) => Ok(r),
        Ok(r) => Err(format!("{verb}: {}", r.summary())),
        Err(e) => Err(format!("{verb}: {e}")),
    }
}

/// How the QUIT probe ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ended {
    /// QUIT was answered (`221`).
    Quit,
    /// The server closed the connection first.
    Closed,
    /// No answer in time, or another failure (in words).
    Stuck(String),
}

/// Sends QUIT and reads replies up to its `221`: the replies before it answer what
/// was sent before QUIT and had no answer yet. A server runs commands in order and
/// answers in order (RFC 2920 §3.1), so counting them needs no wait for silence.
pub(super) async fn until_quit(c: &mut TestClient) -> (Vec<ServerReply>, Ended) {
    let mut replies = Vec::new();
    if c.is_closed() {
        return (replies, Ended::Closed);
    }
    match c.send_line("QUIT").await {
        Ok(()) => {}
        Err(TestError::Closed) => return (replies, Ended::Closed),
        Err(e) => return (replies, Ended::Stuck(e.to_string())),
    }
    // A few replies at most are owed; more means the server is talking to itself.
    for _ in 0..32 {
        match c.read_reply().await {
            Ok(r) if r.is(221) => {
                c.close().await;
                return (replies, Ended::Quit);
            }
            Ok(r) => replies.push(r),
            Err(TestError::Closed) => return (replies, Ended::Closed),
            Err(e) => return (replies, Ended::Stuck(e.to_string())),
        }
    }
    (
        replies,
        Ended::Stuck("more than 32 replies before QUIT's".into()),
    )
}

/// The path `<addr>` for MAIL or RCPT, whether `addr` came with brackets or not.
pub(super) fn path(addr: &str) -> String {
    let bare = addr.trim().trim_start_matches('<').trim_end_matches('>');
    format!("<{bare}>")
}

/// Codes of replies, for details: `250, 354, 250`.
pub(super) fn codes(replies: &[ServerReply]) -> String {
    let codes: Vec<String> = replies
        .iter()
        .map(|r| r.code().map_or_else(|| "???".to_owned(), |c| c.to_string()))
        .collect();
    codes.join(", ")
}
