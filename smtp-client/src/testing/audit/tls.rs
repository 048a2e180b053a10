//! The checks about plaintext and TLS: STARTTLS command injection and AUTH before TLS.

use super::report::{CheckResult, Status};
use super::{Check, Ended, session, tls_setup, until_quit};
use crate::testing::{TestClient, TestError};
use std::net::SocketAddr;

const INJECTION: &str = "STARTTLS injection (CVE-2011-0411)";

/// STARTTLS command injection (CVE-2011-0411, Wietse Venema's 2011 advisory): a
/// server that reads `STARTTLS\r\nNOOP\r\n` from one segment, answers `220` and keeps
/// the `NOOP` in its input buffer runs it after the handshake, as though the client
/// had sent it under TLS: an attacker in the path can prefix commands to a protected
/// session. RFC 3207 §4.2 has the server discard such input; refusing STARTTLS, or
/// closing, is as good.
///
/// After the handshake the client sends only `QUIT`: any reply before its `221` is
/// the server answering the injected `NOOP`.
pub(super) async fn injection(addr: SocketAddr, opts: &super::AuditOptions) -> CheckResult {
    let result = |status, detail: String, c: TestClient| {
        CheckResult::new(
            Check::StartTlsInjection,
            INJECTION,
            status,
            detail,
            c.into_transcript(),
        )
    };
    let s = match session(addr, opts, false).await {
        Ok(s) => s,
        Err(stop) => return stop.result(Check::StartTlsInjection, INJECTION),
    };
    let mut c = s.client;
    if !s.ehlo.offers("STARTTLS") {
        return result(Status::NotApplicable, "STARTTLS is not offered".into(), c);
    }
    let (config, name) = match tls_setup(addr, opts) {
        Ok(x) => x,
        Err(why) => return result(Status::Inconclusive, why, c),
    };
    c.note("STARTTLS with NOOP behind it, in one write");
    let st = match c.starttls_pipelined(b"NOOP\r\n", config, name).await {
        Ok(st) => st,
        Err(TestError::Closed) => {
            let d = "closed the connection: nothing ran under TLS".to_owned();
            return result(Status::Pass, d, c);
        }
        Err(e) => return result(Status::Inconclusive, format!("STARTTLS: {e}"), c),
    };
    if !st.upgraded {
        let d = format!(
            "refused STARTTLS with a command behind it: {}",
            st.reply.summary()
        );
        return result(Status::Pass, d, c);
    }
    let plaintext = if st.after_reply.is_empty() {
        ""
    } else {
        "; it answered in plaintext after its 220, before the handshake"
    };
    let (replies, ended) = until_quit(&mut c).await;
    match (replies.first(), ended) {
        (Some(r), _) => {
            let d = format!(
                "the NOOP sent before TLS was answered inside TLS: {}",
                r.summary()
            );
            result(Status::Vulnerable, d, c)
        }
        (None, Ended::Quit | Ended::Closed) => {
            let d = format!("the NOOP behind STARTTLS was discarded{plaintext}");
            result(Status::Pass, d, c)
        }
        (None, Ended::Stuck(why)) => result(Status::Inconclusive, format!("QUIT: {why}"), c),
    }
}

const AUTH: &str = "AUTH before TLS";

/// `\0smtp-audit\0not-a-password`: AUTH PLAIN credentials no server should accept.
const FAKE_PLAIN: &str = "AHNtdHAtYXVkaXQAbm90LWEtcGFzc3dvcmQ=";

/// AUTH before TLS: cleartext mechanisms (PLAIN, LOGIN) offered in the plaintext EHLO
/// reply, or credentials checked over plaintext, put passwords on the wire in the
/// clear (RFC 4954 §4 "SHOULD NOT advertise [PLAIN] ... unless a strong encryption
/// layer is active"; RFC 8314 §3). When not offered, a made-up AUTH PLAIN is sent
/// anyway: `235`, `334` or `535` mean the server looked at it.
pub(super) async fn auth_before_tls(addr: SocketAddr, opts: &super::AuditOptions) -> CheckResult {
    let result = |status, detail: String, c: TestClient| {
        CheckResult::new(
            Check::AuthBeforeTls,
            AUTH,
            status,
            detail,
            c.into_transcript(),
        )
    };
    let s = match session(addr, opts, false).await {
        Ok(s) => s,
        Err(stop) => return stop.result(Check::AuthBeforeTls, AUTH),
    };
    let mut c = s.client;
    if opts.implicit_tls {
        let d = "implicit TLS: nothing, AUTH included, is sent in plaintext".to_owned();
        let _ = until_quit(&mut c).await;
        return result(Status::Pass, d, c);
    }
    let before = s.ehlo.auth_mechanisms();
    let clear: Vec<&String> = before
        .iter()
        .filter(|m| *m == "PLAIN" || *m == "LOGIN")
        .collect();
    if !clear.is_empty() {
        let d = format!("AUTH {} offered before TLS", join(&before));
        return result(Status::Vulnerable, d, c);
    }
    c.note("AUTH PLAIN with made-up credentials, in plaintext");
    let answer = match c.command(&format!("AUTH PLAIN {FAKE_PLAIN}")).await {
        Ok(r) if r.is_positive() || r.is_intermediate() || r.is(535) => {
            if r.is_intermediate() {
                let _ = c.command("*").await;
            }
            let d = format!("credentials are checked over plaintext: {}", r.summary());
            return result(Status::Vulnerable, d, c);
        }
        Ok(r) => r.summary(),
        Err(TestError::Closed) => "the server closed the connection".to_owned(),
        Err(e) => return result(Status::Inconclusive, format!("AUTH: {e}"), c),
    };
    let after = if s.ehlo.offers("STARTTLS") && !c.is_closed() {
        match after_starttls(&mut c, addr, opts).await {
            Ok(m) => m,
            Err(why) => return result(Status::Inconclusive, why, c),
        }
    } else {
        Vec::new()
    };
    let (status, detail) = match (before.is_empty(), after.is_empty()) {
        (true, true) => (
            Status::NotApplicable,
            "no AUTH offered, before TLS or after".into(),
        ),
        (true, false) => (
            Status::Pass,
            format!(
                "AUTH {} only after STARTTLS; before it AUTH PLAIN got: {answer}",
                join(&after)
            ),
        ),
        (false, _) => (
            Status::Pass,
            format!(
                "before TLS only AUTH {} (no cleartext mechanism)",
                join(&before)
            ),
        ),
    };
    result(status, detail, c)
}

/// STARTTLS, EHLO: the mechanisms then offered.
async fn after_starttls(
    c: &mut TestClient,
    addr: SocketAddr,
    opts: &super::AuditOptions,
) -> Result<Vec<String>, String> {
    let (config, name) = tls_setup(addr, opts)?;
    match c.starttls(config, name).await {
        Ok(s) if s.upgraded => {}
        Ok(s) => return Err(format!("STARTTLS: {}", s.reply.summary())),
        Err(e) => return Err(format!("STARTTLS: {e}")),
    }
    let ehlo = super::expect(c, &format!("EHLO {}", opts.helo), |r| r.is_positive()).await?;
    let _ = c.quit().await;
    Ok(ehlo.auth_mechanisms())
}

fn join(list: &[String]) -> String {
    list.join(" ")
}
