//! Delivery without `--server`: to the mail hosts (MX) of the recipients' domain, each
//! host under the policy that decides for it (a `--policy` rule, DANE, MTA-STS, else
//! `--tls`, default `may`), with what happened at each host tried.

use super::{
    Args, Level, delivery_status, envelope, level, message, policy_map, print_text, refused_status,
    status, to_json, usage,
};
use serde_json::json;
use smtp_client::dns::{Answer, HickoryResolver, HostAttempt, MxDelivery, Resolver, mail_hosts};
use smtp_client::mta_sts::{MtaSts, StsOutcome, dns_txt_from_answer, txt_name};
use smtp_client::{ClientAuth, ClientOptions};
use std::process::ExitCode;
use std::time::Duration;

/// The domain's MTA-STS policy (RFC 8461): its `_mta-sts` TXT record through the
/// resolver, the policy from `https://mta-sts.<domain>/` (port `--https-port`,
/// `--ca` trusted too). With `--dns`, the policy host's address comes from that DNS
/// server as well, and nothing else is reached.
async fn mta_sts(
    args: &Args,
    r: &HickoryResolver,
    domain: &str,
    trust: smtp_client::TrustAnchors,
) -> Result<StsOutcome, String> {
    let timeout = Duration::from_secs(args.timeout);
    let fetch = smtp_examples::sts_fetch_options(
        r,
        domain,
        trust,
        args.https_port,
        timeout,
        args.dns.is_some(),
    )
    .await;
    let sts = MtaSts::https(fetch).map_err(|e| e.to_string())?;
    let txt = dns_txt_from_answer(&r.txt(&txt_name(domain)).await);
    let hosts = match r.mx(domain).await {
        Answer::Records(mx, _) => mail_hosts(mx, domain).unwrap_or_default(),
        _ => vec![domain.to_owned()],
    };
    Ok(sts
        .plan(domain, &txt, &hosts, smtp_examples::now_secs() as u64)
        .await)
}

/// The recipients' one domain.
fn domain(env: &smtp_client::Envelope) -> Result<String, String> {
    let mut domains = env
        .recipients
        .iter()
        .map(|(to, _)| to.domain().map(|d| d.as_str().to_ascii_lowercase()));
    let Some(Some(first)) = domains.next() else {
        return Err("MX delivery needs recipients with a domain (or give --server)".into());
    };
    if domains.any(|d| d.as_deref() != Some(first.as_str())) {
        return Err("MX delivery takes recipients of one domain at a time".into());
    }
    Ok(first)
}

/// `policy: dane` and one `mx:` line per host tried.
fn print_attempts(attempts: &[HostAttempt]) {
    let decided = attempts
        .iter()
        .rev()
        .find_map(HostAttempt::source)
        .map_or("none".to_owned(), |s| s.name().to_owned());
    println!("policy: {decided}");
    for a in attempts {
        println!("mx: {a}");
    }
}

fn attempts_json(attempts: &[HostAttempt]) -> serde_json::Value {
    json!(
        attempts
            .iter()
            .map(|a| json!({
                "host": a.host,
                "address": a.addr.map(|a| a.to_string()),
                "policy": a.source().map(|s| s.name()),
                "rule": a.source().map(ToString::to_string),
                "deferred": a.deferred().map(|d| d.to_string()),
                "result": a.to_string(),
            }))
            .collect::<Vec<_>>()
    )
}

pub(super) async fn run(args: Args) -> ExitCode {
    if let Err(e) = smtp_client::proto::Host::new(&args.ehlo) {
        return usage(format!("--ehlo {}: {e}", args.ehlo));
    }
    let envelope = match envelope(&args) {
        Ok(e) => e,
        Err(e) => return usage(e),
    };
    let domain = match domain(&envelope) {
        Ok(d) => d,
        Err(e) => return usage(e),
    };
    let trust = match smtp_examples::trust(args.ca.as_deref()) {
        Ok(t) => t,
        Err(e) => return usage(format!("--ca: {e}")),
    };
    let resolver = match smtp_examples::validating_resolver(args.dns, args.trust_anchor.as_deref())
    {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let sts = match mta_sts(&args, &resolver, &domain, trust.clone()).await {
        Ok(s) => s,
        Err(e) => return usage(format!("MTA-STS: {e}")),
    };
    if let Some(f) = &sts.failure {
        // Not fatal (RFC 8461 §5): without a valid policy, MTA-STS has no say.
        eprintln!("MTA-STS for {domain}: {f}");
    }
    let message = match message(&args) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    // `secure` without --server: the domain and its subdomains (Postfix's nexthop).
    let policy = match args.tls.unwrap_or(Level::May) {
        Level::Secure => smtp_client::TlsPolicy::Secure { names: Vec::new() },
        l => level(l, &domain),
    };
    let mut opts = ClientOptions::new(&args.ehlo, policy).with_trust(trust);
    if !args.policy.is_empty() {
        match policy_map(&args.policy, &domain) {
            Ok(map) => opts = opts.with_policy_map(map, &domain),
            Err(e) => return usage(e),
        }
    }
    opts.timeouts = smtp_client::Timeouts::all(Duration::from_secs(args.timeout));
    if let Some(a) = &args.auth {
        let Some((u, p)) = a.split_once(':') else {
            return usage("--auth must be USER:PASS".into());
        };
        opts.auth = Some(ClientAuth::password(u, p));
    }
    let mut delivery = MxDelivery::new(&domain, opts)
        .resolver(&resolver)
        .port(args.port);
    if let Some(p) = sts.policy.clone() {
        delivery = delivery.mta_sts(p);
    }
    let sent = delivery.send(&envelope, &message).await;
    let (report, delivery, error, exit, attempts) = match sent {
        Ok(s) => {
            let code = delivery_status(&s.delivery);
            (Some(s.report), Some(s.delivery), None, code, s.attempts)
        }
        Err(e) => {
            let d = e.error.delivery().cloned();
            let code = d.as_ref().map_or_else(|| status(&e.error), refused_status);
            let report = e.report().cloned();
            (report, d, Some(e.error), code, e.attempts)
        }
    };
    if args.json {
        let mut v = to_json(
            &args,
            report.as_ref(),
            delivery.as_ref(),
            error.as_ref(),
            exit,
        );
        v["domain"] = json!(domain);
        v["mta_sts"] = json!({
            "policy": sts.policy.as_ref().map(ToString::to_string),
            "failure": sts.failure.as_ref().map(ToString::to_string),
        });
        v["policy"] = json!(
            attempts
                .iter()
                .rev()
                .find_map(HostAttempt::source)
                .map(|s| s.name())
        );
        v["attempts"] = attempts_json(&attempts);
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print_attempts(&attempts);
        print_text(&args, report.as_ref(), delivery.as_ref(), error.as_ref());
    }
    ExitCode::from(exit)
}
