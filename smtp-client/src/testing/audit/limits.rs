//! The limit checks: does the server end a session that only fails, or only idles?
//!
//! RFC 5321 §7.8 lets a server defend itself against a client that keeps failing
//! ("it would be reasonable for the server to close the connection after generating an
//! appropriate number of 5yz ... replies"); it sets no number. Common servers do:
//! Postfix closes after `smtpd_hard_error_limit` (20) errors and counts each command
//! past `smtpd_junk_command_limit` (100 NOOP, RSET, VRFY, ETRN) as an error; sendmail
//! has `MAXBADCOMMANDS` (25) and `MAXNOOPCOMMANDS` (20). A server with no limit lets
//! one connection probe addresses or hold a slot for ever.
//!
//! Commands go one at a time, each after the last reply: NOOP must end a pipelined
//! group (RFC 2920 §3.1), and a server may rightly close on a client that breaks that.

use super::report::{CheckResult, Status};
use super::{AuditOptions, Check, session};
use crate::testing::TestError;
use std::net::SocketAddr;

/// Bad commands: an unknown verb, over and over.
pub(super) async fn errors(addr: SocketAddr, opts: &AuditOptions) -> CheckResult {
    limit(
        addr,
        opts,
        Check::ErrorLimit,
        opts.max_errors,
        "XAUDITBADCOMMAND",
        "bad commands",
    )
    .await
}

/// Junk: NOOP, over and over.
pub(super) async fn junk(addr: SocketAddr, opts: &AuditOptions) -> CheckResult {
    limit(addr, opts, Check::JunkLimit, opts.max_junk, "NOOP", "NOOPs").await
}

/// Sends `line` up to `bound` times; passes when the server answers `421` or closes.
async fn limit(
    addr: SocketAddr,
    opts: &AuditOptions,
    check: Check,
    bound: usize,
    line: &str,
    what: &str,
) -> CheckResult {
    let name = match check {
        Check::ErrorLimit => "error limit",
        _ => "junk command limit",
    };
    let mut c = match session(addr, opts, opts.starttls).await {
        Ok(s) => s.client,
        Err(stop) => return stop.result(check, name),
    };
    c.note(format!("{line}, up to {bound} times"));
    let mut outcome = None;
    for i in 1..=bound {
        match c.command(line).await {
            Ok(r) if r.is(421) => {
                let d = format!("closed after {i} {what}: {}", r.summary());
                outcome = Some((Status::Pass, d));
                break;
            }
            Ok(_) => {}
            Err(TestError::Closed) => {
                let d = format!("closed the connection after {} {what}", i - 1);
                outcome = Some((Status::Pass, d));
                break;
            }
            Err(e) => {
                outcome = Some((Status::Inconclusive, format!("after {} {what}: {e}", i - 1)));
                break;
            }
        }
    }
    let (status, detail) = outcome.unwrap_or_else(|| {
        let d = format!("still answering after {bound} {what}: no limit");
        (Status::Vulnerable, d)
    });
    if status == Status::Vulnerable {
        let _ = c.quit().await;
    }
    let transcript = c.into_transcript().excerpt(12, 8);
    CheckResult::new(check, name, status, detail, transcript)
}
