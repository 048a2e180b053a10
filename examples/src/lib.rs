//! Runnable programs of the SMTP toolkit, built only on its public API:
//!
//! - `smtp-sink`: a receiving server for tests and labs (STARTTLS, implicit TLS,
//!   messages stored as `.eml` files);
//! - `smtp-send`: a sending client as handy as swaks, with TLS policies and exit codes;
//! - `smtp-tls-check`: "does this server do STARTTLS properly?" in one command;
//! - `smtp-parse`, `smtp-session`, `smtp-pair`: the sans-IO core on scripted input.
//!
//! This library holds what the programs share.

#![forbid(unsafe_code)]

use smtp_client::TrustAnchors;
use smtp_proto::Capabilities;
use std::path::Path;

/// Exit status: everything went well.
pub const EXIT_OK: u8 = 0;
/// Exit status: a permanent rejection, or (for `smtp-tls-check`) a problem found.
pub const EXIT_PROBLEM: u8 = 1;
/// Exit status: bad arguments (what `clap` uses too).
pub const EXIT_USAGE: u8 = 2;
/// Exit status: the TLS policy was not met.
pub const EXIT_TLS: u8 = 3;
/// Exit status: a temporary failure, or the connection failed (`EX_TEMPFAIL`).
pub const EXIT_TEMPFAIL: u8 = 75;

/// Logs to stderr (colours only on a terminal) with `default` as the filter;
/// `RUST_LOG` overrides it. `smtp_client::wire=debug` shows the SMTP transcript.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Mozilla's roots plus the CA certificates of `ca`, if given.
pub fn trust(ca: Option<&Path>) -> Result<TrustAnchors, String> {
    let t = TrustAnchors::webpki();
    match ca {
        Some(p) => t.add_pem_file(p).map_err(|e| e.to_string()),
        None => Ok(t),
    }
}

/// The extensions of an EHLO reply on one line: `PIPELINING SIZE=10485760 AUTH=PLAIN,LOGIN`.
pub fn capability_list(caps: &Capabilities) -> Vec<String> {
    caps.extensions
        .iter()
        .map(|e| match e.keyword() {
            "SIZE" => match caps.max_size() {
                Some(n) => format!("SIZE={n}"),
                None => "SIZE".to_owned(),
            },
            "AUTH" => {
                let mechs: Vec<&str> = caps.auth_mechanisms().map(|m| m.as_str()).collect();
                format!("AUTH={}", mechs.join(","))
            }
            k => k.to_owned(),
        })
        .collect()
}

/// `host` and `port` of `HOST[:PORT]` (`[v6]:port` too); `None` when malformed.
pub fn host_port(s: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, tail) = rest.split_once(']')?;
        let port = match tail.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if tail.is_empty() => default_port,
            None => return None,
        };
        return Some((h.to_owned(), port));
    }
    match s.rsplit_once(':') {
        Some((h, _)) if h.contains(':') => Some((s.to_owned(), default_port)),
        Some((h, p)) if !h.is_empty() => Some((h.to_owned(), p.parse().ok()?)),
        Some(_) => None,
        None if s.is_empty() => None,
        None => Some((s.to_owned(), default_port)),
    }
}

/// `2026-12-03T17:08:48Z` for seconds since the epoch (UTC); the number itself when
/// out of the calendar's range.
pub fn iso_date(secs: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => secs.to_string(),
    }
}

/// The validating (DNSSEC) resolver of the `--dns` and `--trust-anchor` flags: at
/// `dns` or the system's servers, anchored at `trust_anchor` or the root.
pub fn validating_resolver(
    dns: Option<std::net::SocketAddr>,
    trust_anchor: Option<&Path>,
) -> Result<smtp_client::dns::HickoryResolver, String> {
    use smtp_client::dns::{DnssecAnchors, HickoryResolver};
    let anchors = match trust_anchor {
        Some(path) => DnssecAnchors::from_file(path)
            .map_err(|e| format!("--trust-anchor {}: {e}", path.display()))?,
        None => DnssecAnchors::root(),
    };
    match dns {
        Some(addr) => HickoryResolver::validating(addr, anchors).map_err(|e| e.to_string()),
        None if trust_anchor.is_some() => Err("--trust-anchor needs --dns".into()),
        None => HickoryResolver::validating_from_system().map_err(|e| e.to_string()),
    }
}

/// The MTA-STS fetch options of the flags: `trust`, the policy host's `https_port`, a
/// time limit, and with `--dns` (`lab`) the policy host's address from `resolver`
/// only, so that nothing else is reached.
pub async fn sts_fetch_options(
    resolver: &smtp_client::dns::HickoryResolver,
    domain: &str,
    trust: TrustAnchors,
    https_port: u16,
    timeout: std::time::Duration,
    lab: bool,
) -> smtp_client::mta_sts::FetchOptions {
    use smtp_client::dns::{Answer, Resolver};
    let mut fetch = smtp_client::mta_sts::FetchOptions::default()
        .with_trust(trust)
        .with_https_port(https_port)
        .with_timeout(timeout);
    if lab {
        let host = format!("mta-sts.{domain}");
        if let Answer::Records(ips, _) = resolver.addrs(&host).await.answer
            && let Some(ip) = ips.first()
        {
            fetch = fetch.resolve(&host, std::net::SocketAddr::new(*ip, https_port));
        }
        fetch = fetch.only_resolved();
    }
    fetch
}

/// A session report as JSON: server, greeting, policy, capabilities, TLS and chain.
pub fn report_json(r: &smtp_client::SessionReport) -> serde_json::Value {
    use serde_json::json;
    let reply = |r: &smtp_proto::Reply| r.to_string().trim_end().to_owned();
    json!({
        "server_name": r.server,
        "address": r.addr.map(|a| a.to_string()),
        "greeting": r.greeting.as_ref().map(reply),
        "greeting_name": r.greeting_name(),
        "destination": r.destination,
        "policy": r.policy.name(),
        "policy_rule": r.policy_rule.as_ref().map(|p| p.to_string()),
        "reason": r.reason,
        "authenticated": r.authenticated,
        "capabilities_before_tls": r.capabilities_before_tls.as_ref().map(capability_list),
        "capabilities": r.capabilities.as_ref().map(capability_list),
        "tls_failure": r.tls_failure,
        "tls": r.tls.as_ref().map(|t| json!({
            "version": t.version,
            "cipher": t.cipher,
            "key_exchange": t.key_exchange,
            "sni": t.sni,
            "starttls": t.starttls,
            "verified": t.verified,
            "chain_verified": t.chain_verified,
            "name_matched": t.name_matched,
            "verification": t.verification,
            "chain": t.chain.iter().map(|c| json!({
                "subject": c.subject,
                "issuer": c.issuer,
                "names": c.names,
                "not_before": iso_date(c.not_before),
                "not_after": iso_date(c.not_after),
                "days_left": c.days_left(now_secs()),
                "key_type": c.key_type,
                "key_bits": c.key_bits,
            })).collect::<Vec<_>>(),
        })),
    })
}

/// Seconds since the epoch, now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::{host_port, iso_date};

    #[test]
    fn dates() {
        assert_eq!(iso_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_date(1_796_000_000), "2026-11-30T00:53:20Z");
        assert_eq!(iso_date(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn hosts() {
        assert_eq!(
            host_port("mx.example:26", 25),
            Some(("mx.example".into(), 26))
        );
        assert_eq!(host_port("mx.example", 25), Some(("mx.example".into(), 25)));
        assert_eq!(host_port("[::1]:26", 25), Some(("::1".into(), 26)));
        assert_eq!(host_port(":1", 25), None);
    }
}
