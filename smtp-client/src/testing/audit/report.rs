//! [`AuditReport`]: one [`CheckResult`] per check, as text and as JSON.

use super::Check;
use crate::testing::Transcript;
use serde_json::{Value, json};
use std::fmt;
use std::net::SocketAddr;

/// What a check concluded.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The server did what it should.
    Pass,
    /// The server has the flaw; the transcript shows it.
    Vulnerable,
    /// The check does not apply (no STARTTLS to inject into, no AUTH to protect).
    NotApplicable,
    /// The check could not decide: the network failed, a step timed out, the server
    /// refused the setup the check needs (a sender or recipient), or answered in a
    /// way the check cannot read.
    Inconclusive,
}

impl Status {
    /// `pass`, `vulnerable`, `not-applicable` or `inconclusive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Vulnerable => "vulnerable",
            Status::NotApplicable => "not-applicable",
            Status::Inconclusive => "inconclusive",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Vulnerable => "VULNERABLE",
            Status::NotApplicable => "n/a",
            Status::Inconclusive => "inconclusive",
        })
    }
}

/// One finding.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The kind of check.
    pub check: Check,
    /// Its name in the report: the check's name, and the variant for the smuggling
    /// checks (`smuggling <LF>.<LF>`).
    pub name: String,
    /// The verdict.
    pub status: Status,
    /// One line saying why.
    pub detail: String,
    /// The connection that shows it (long ones shortened to their start and end).
    pub transcript: Transcript,
}

impl CheckResult {
    /// A result.
    pub fn new(
        check: Check,
        name: &str,
        status: Status,
        detail: impl Into<String>,
        transcript: Transcript,
    ) -> Self {
        Self {
            check,
            name: name.to_owned(),
            status,
            detail: detail.into(),
            transcript,
        }
    }

    /// The result as JSON: `check`, `name`, `status`, `detail`, `transcript` (see
    /// [`Transcript::to_json`]).
    pub fn to_json(&self) -> Value {
        json!({
            "check": self.check.name(),
            "name": self.name,
            "status": self.status.as_str(),
            "detail": self.detail,
            "transcript": self.transcript.to_json(),
        })
    }
}

/// What [`audit`](super::audit) found.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct AuditReport {
    /// The address audited.
    pub target: SocketAddr,
    /// The server's greeting (first line), when one came.
    pub greeting: Option<String>,
    /// Whether the server offers STARTTLS before TLS (`None`: no EHLO reply).
    pub starttls: Option<bool>,
    /// Why no session could be had at all (no connection, a refusing greeting):
    /// nothing could be checked.
    pub error: Option<String>,
    /// One result per check (per variant, for smuggling), in the order run.
    pub results: Vec<CheckResult>,
}

impl AuditReport {
    /// An empty report for `target`.
    pub fn new(target: SocketAddr) -> Self {
        Self {
            target,
            greeting: None,
            starttls: None,
            error: None,
            results: Vec::new(),
        }
    }

    /// Whether any check found a flaw.
    pub fn is_vulnerable(&self) -> bool {
        self.count(Status::Vulnerable) > 0
    }

    /// Whether every check decided (a session was had, nothing inconclusive).
    pub fn is_complete(&self) -> bool {
        self.error.is_none() && self.count(Status::Inconclusive) == 0
    }

    /// How many results have this status.
    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    /// The results of one kind of check.
    pub fn of(&self, check: Check) -> impl Iterator<Item = &CheckResult> {
        self.results.iter().filter(move |r| r.check == check)
    }

    /// The result of that name ([`CheckResult::name`]).
    pub fn result(&self, name: &str) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.name == name)
    }

    /// The report as JSON: `target`, `greeting`, `starttls`, `error`, `vulnerable`,
    /// `summary` (a count per status) and `results` (see [`CheckResult::to_json`]).
    pub fn to_json(&self) -> Value {
        json!({
            "target": self.target.to_string(),
            "greeting": self.greeting,
            "starttls": self.starttls,
            "error": self.error,
            "vulnerable": self.is_vulnerable(),
            "summary": {
                "pass": self.count(Status::Pass),
                "vulnerable": self.count(Status::Vulnerable),
                "not-applicable": self.count(Status::NotApplicable),
                "inconclusive": self.count(Status::Inconclusive),
            },
            "results": self.results.iter().map(CheckResult::to_json).collect::<Vec<_>>(),
        })
    }
}

/// A line per result; under each vulnerable or inconclusive one, its transcript
/// (under every one with `{:#}`); a summary line last.
impl fmt::Display for AuditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit of {}", self.target)?;
        if let Some(g) = &self.greeting {
            write!(f, ": {g}")?;
        }
        writeln!(f)?;
        if let Some(e) = &self.error {
            writeln!(f, "no session: {e}")?;
        }
        for r in &self.results {
            writeln!(f, "{:<13} {}: {}", r.status.to_string(), r.name, r.detail)?;
            let show =
                f.alternate() || matches!(r.status, Status::Vulnerable | Status::Inconclusive);
            if show && !r.transcript.is_empty() {
                for line in r.transcript.to_string().lines() {
                    writeln!(f, "    {line}")?;
                }
            }
        }
        write!(
            f,
            "summary: {} pass, {} vulnerable, {} not applicable, {} inconclusive",
            self.count(Status::Pass),
            self.count(Status::Vulnerable),
            self.count(Status::NotApplicable),
            self.count(Status::Inconclusive),
        )
    }
}
