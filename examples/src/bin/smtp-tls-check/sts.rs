//! `--mta-sts DOMAIN`: the `_mta-sts` TXT record (RFC 8461 §3.1), the policy from the
//! policy host (§3.2, §3.3), and whether the server checked is one of its MX hosts
//! (§4.1).

use super::{Args, Findings};
use smtp_client::dns::{Answer, HickoryResolver, Resolver};
use smtp_client::mta_sts::{MtaSts, txt_name};
use smtp_client::proto::client::sts::{Mode, RecordSelection, StsRecord};
use std::time::Duration;

pub(super) async fn check(
    r: &HickoryResolver,
    args: &Args,
    domain: &str,
    host: &str,
    f: &mut Findings,
) {
    let name = txt_name(domain);
    let records = match r.txt(&name).await {
        Answer::Records(txts, _) => txts,
        Answer::NoRecords(_) => Vec::new(),
        _ => {
            f.problem(format!("MTA-STS: the TXT lookup for {name} failed"));
            return;
        }
    };
    match StsRecord::select(&records) {
        RecordSelection::Found(rec) => f.say(format!("MTA-STS record {name}: id {}", rec.id())),
        RecordSelection::Absent => {
            f.say(format!(
                "MTA-STS: no record at {name}: {domain} has no policy"
            ));
            return;
        }
        other => {
            f.problem(format!(
                "MTA-STS record {name}: {other:?}: senders see no policy"
            ));
            return;
        }
    }
    let trust = match smtp_examples::trust(args.ca.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            f.problem(format!("--ca: {e}"));
            return;
        }
    };
    let timeout = Duration::from_secs(args.timeout);
    let opts = smtp_examples::sts_fetch_options(
        r,
        domain,
        trust,
        args.https_port,
        timeout,
        args.dns.is_some(),
    )
    .await;
    let sts = match MtaSts::https(opts) {
        Ok(s) => s,
        Err(e) => {
            f.problem(format!("MTA-STS: {e}"));
            return;
        }
    };
    let policy = match sts.fetch_policy(domain).await {
        Ok(p) => p,
        Err(e) => {
            f.problem(format!("MTA-STS policy of {domain}: {e}"));
            return;
        }
    };
    for line in policy.to_string().lines() {
        f.say(format!("MTA-STS policy: {line}"));
    }
    let listed = policy.matches_mx(host);
    match (policy.mode(), listed) {
        (Mode::Enforce, true) => f.say(format!(
            "MTA-STS: {host} is listed (enforce): senders require TLS with a valid certificate for it"
        )),
        (Mode::Enforce, false) => f.problem(format!(
            "MTA-STS: {host} matches no mx pattern of the enforced policy: senders will not use it"
        )),
        (Mode::Testing, true) => f.say(format!("MTA-STS: {host} is listed (testing)")),
        (Mode::Testing, false) => f.problem(format!(
            "MTA-STS: {host} matches no mx pattern (testing: reported, not yet enforced)"
        )),
        _ => f.say("MTA-STS: mode none (the policy is withdrawn)".into()),
    }
}
