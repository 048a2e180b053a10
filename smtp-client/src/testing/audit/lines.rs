//! The checks on command-line framing: a bare LF inside a line, and a line longer
//! than the limit.
//!
//! Both send one line that a strict server reads as one command (and answers once,
//! usually with an error) and a lax one as two; a `QUIT` after the first reply
//! collects what else was answered.

use super::report::{CheckResult, Status};
use super::{Check, Ended, session, until_quit};
use crate::testing::{ServerReply, TestClient, TestError, Transcript};
use std::net::SocketAddr;

const BARE_LF: &str = "bare LF in commands";

/// `NOOP<LF>NOOP<CR><LF>`: RFC 5321 §2.3.8 "Lines consist of zero or more data
/// characters terminated by the sequence ASCII character "CR" ... followed immediately
/// by ASCII character "LF"", and a bare LF "MUST NOT" end one. A server that splits
/// there answers twice, and disagrees with every strict relay about where commands
/// end (the pipelining form of smuggling).
pub(super) async fn bare_lf(addr: SocketAddr, opts: &super::AuditOptions) -> CheckResult {
    let mut c = match session(addr, opts, opts.starttls).await {
        Ok(s) => s.client,
        Err(stop) => return stop.result(Check::BareLf, BARE_LF),
    };
    let (status, detail) = match one_line(&mut c, b"NOOP\nNOOP\r\n", "NOOP<LF>NOOP<CR><LF>").await {
        Outcome::Replies(all, _) if all.len() >= 2 => {
            let d = format!("ran one line as two commands: {}", summaries(&all));
            (Status::Vulnerable, d)
        }
        Outcome::Replies(_, Ended::Stuck(why)) => (Status::Inconclusive, format!("QUIT: {why}")),
        Outcome::Replies(all, _) => (Status::Pass, format!("one reply: {}", summaries(&all))),
        Outcome::Closed => (Status::Pass, "closed the connection".into()),
        Outcome::Failed(why) => (Status::Inconclusive, why),
    };
    CheckResult::new(Check::BareLf, BARE_LF, status, detail, c.into_transcript())
}

/// What one line got.
enum Outcome {
    /// The replies to the line (the first, and any others before QUIT's `221`), and
    /// how the QUIT probe ended.
    Replies(Vec<ServerReply>, Ended),
    /// The server closed the connection instead of answering.
    Closed,
    /// No answer in time, or another failure (in words).
    Failed(String),
}

/// Sends `line`, reads the first reply, then QUIT: the replies before QUIT's `221`.
async fn one_line(c: &mut TestClient, line: &[u8], what: &str) -> Outcome {
    c.note(format!("one line: {what}"));
    if let Err(e) = c.send(line).await {
        return match e {
            TestError::Closed => Outcome::Closed,
            e => Outcome::Failed(format!("sending: {e}")),
        };
    }
    let first = match c.read_reply().await {
        Ok(r) => r,
        Err(TestError::Closed) => return Outcome::Closed,
        Err(e) => return Outcome::Failed(format!("reply: {e}")),
    };
    let (more, ended) = until_quit(c).await;
    let mut all = vec![first];
    all.extend(more);
    Outcome::Replies(all, ended)
}

fn summaries(replies: &[ServerReply]) -> String {
    let all: Vec<String> = replies.iter().map(ServerReply::summary).collect();
    all.join(" / ")
}

const LONG_LINE: &str = "over-long command line";

/// Where the tail of the long line starts: the RFC 5321 §4.5.3.1.4 limit (512 octets
/// with the CRLF, so 510 of text), the off-by-ones a 512-octet buffer gives (511 with a
/// NUL, 512 without the CRLF), and the sizes of common larger buffers.
const CUTS: [usize; 7] = [510, 511, 512, 1000, 1024, 2048, 4096];

/// RFC 5321 §4.5.3.1.4: "The maximum total length of a command line including the
/// command word and the <CRLF> is 512 octets." A longer line must be refused (`500`,
/// §4.5.3.1.10) or taken whole; a server that reads it in fixed-size pieces and runs
/// each piece runs whatever an attacker put past the limit. The line is `NOOP xxx...`
/// with `RSET` starting at each of [`CUTS`], one connection each; the tail running
/// shows as a positive reply after the first. (Error replies after the first mean
/// the line was split at another offset, into pieces that are no commands: the cut
/// at that offset shows whether its tail runs.)
pub(super) async fn long_line(addr: SocketAddr, opts: &super::AuditOptions) -> CheckResult {
    let result = |status, detail: String, t: Transcript| {
        CheckResult::new(Check::LongLine, LONG_LINE, status, detail, t)
    };
    let mut kept: Option<(String, Transcript)> = None;
    let mut split = Vec::new();
    for cut in CUTS {
        let mut c = match session(addr, opts, opts.starttls).await {
            Ok(s) => s.client,
            Err(stop) => return stop.result(Check::LongLine, LONG_LINE),
        };
        let mut line = b"NOOP ".to_vec();
        line.resize(cut, b'x');
        line.extend_from_slice(b"RSET\r\n");
        let what = format!("NOOP and {} octets, RSET from octet {cut}", cut - 5);
        match one_line(&mut c, &line, &what).await {
            Outcome::Replies(all, _) if all[1..].iter().any(ServerReply::is_positive) => {
                let d = format!(
                    "the tail from octet {cut} ran as a command: {}",
                    summaries(&all)
                );
                return result(Status::Vulnerable, d, c.into_transcript());
            }
            Outcome::Replies(_, Ended::Stuck(why)) => {
                return result(
                    Status::Inconclusive,
                    format!("at {cut}, QUIT: {why}"),
                    c.into_transcript(),
                );
            }
            Outcome::Failed(why) => {
                return result(
                    Status::Inconclusive,
                    format!("at {cut}: {why}"),
                    c.into_transcript(),
                );
            }
            Outcome::Replies(all, _) => {
                if all.len() > 1 {
                    split.push(cut);
                }
                if cut == 512 {
                    kept = Some((summaries(&all[..1]), c.into_transcript()));
                }
            }
            Outcome::Closed if cut == 512 => {
                kept = Some(("closed the connection".into(), c.into_transcript()));
            }
            Outcome::Closed => {}
        }
    }
    let (first, transcript) = kept.unwrap_or_default();
    let mut detail = format!("no tail ran (cuts at {CUTS:?}); at 512: {first}");
    if !split.is_empty() {
        detail.push_str(&format!("; split without effect at {split:?}"));
    }
    result(Status::Pass, detail, transcript)
}
