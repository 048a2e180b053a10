//! `--dane` and `--mta-sts DOMAIN`: what the DNS (validated) and the policy host say
//! about the server, each with a verdict.

use super::{Args, Findings};
use smtp_client::dns::{Answer, Dnssec, HickoryResolver, Resolver};
use smtp_client::proto::client::policy::tlsa_names;
use smtp_client::{ClientOptions, Connection, TlsPolicy, Tlsa};
use std::net::SocketAddr;

/// The validating resolver the flags ask for.
pub(super) fn resolver(args: &Args) -> Result<HickoryResolver, String> {
    smtp_examples::validating_resolver(args.dns, args.trust_anchor.as_deref())
}

/// The server's first address, as the resolver finds it.
pub(super) async fn address(
    r: &HickoryResolver,
    host: &str,
    port: u16,
) -> Result<SocketAddr, smtp_client::Error> {
    if let Ok(ip) = host.parse() {
        return Ok(SocketAddr::new(ip, port));
    }
    match r.addrs(host).await.answer {
        Answer::Records(ips, _) if !ips.is_empty() => Ok(SocketAddr::new(ips[0], port)),
        other => Err(smtp_client::Error::Dns {
            reason: format!("{host}: no address ({})", state(&other)),
            permanent: false,
        }),
    }
}

fn state<T>(a: &Answer<T>) -> &'static str {
    match a {
        Answer::Records(_, Dnssec::Secure) => "Secure",
        Answer::Records(_, Dnssec::Insecure) => "Insecure",
        Answer::Records(_, Dnssec::Bogus) | Answer::NoRecords(Dnssec::Bogus) => "Bogus",
        Answer::NoRecords(Dnssec::Secure) => "none, Secure denial",
        Answer::NoRecords(Dnssec::Insecure) => "none, Insecure",
        Answer::Failed => "lookup failed",
    }
}

fn tlsa_text(t: &Tlsa) -> String {
    let hex: String = t.data.iter().map(|b| format!("{b:02x}")).collect();
    format!("{} {} {} {hex}", t.usage, t.selector, t.matching)
}

/// `--dane`: the TLSA records at `_port._tcp.host` and whether the served certificate
/// matches one (RFC 7672 §3): a second handshake under the DANE policy decides.
pub(super) async fn dane(
    r: &HickoryResolver,
    host: &str,
    addr: SocketAddr,
    name: &str,
    opts: &ClientOptions,
    f: &mut Findings,
) {
    let addrs = r.addrs(host).await;
    let names = tlsa_names(host, addr.port(), addrs.secure_cname_target.as_deref());
    let mut found = None;
    for owner in &names {
        let answer = r.tlsa(owner).await;
        f.say(format!("TLSA {owner}: {}", state(&answer)));
        match answer {
            Answer::Records(records, Dnssec::Secure) => {
                for t in &records {
                    let usable = if t.is_usable() {
                        ""
                    } else {
                        " (unusable for SMTP)"
                    };
                    f.say(format!("  {}{usable}", tlsa_text(t)));
                }
                found = Some(records);
                break;
            }
            Answer::NoRecords(Dnssec::Secure) => continue,
            Answer::Records(_, Dnssec::Insecure) | Answer::NoRecords(Dnssec::Insecure) => {
                f.say("DANE: does not apply (the records are not signed)".into());
                return;
            }
            _ => {
                f.problem(format!(
                    "DANE: the TLSA lookup for {owner} is {}: senders that use DANE defer",
                    state(&answer)
                ));
                return;
            }
        }
    }
    let Some(records) = found else {
        f.say("DANE: no TLSA records (a Secure denial): DANE is not offered".into());
        return;
    };
    if !records.iter().any(Tlsa::is_usable) {
        f.problem("DANE: no usable TLSA record (SMTP uses DANE-TA(2) and DANE-EE(3))".into());
        return;
    }
    let mut o = opts.clone();
    o.tls_policy = TlsPolicy::Dane { records };
    match Connection::connect_addr(addr, name, o).await {
        Ok(conn) => {
            let how = conn
                .report()
                .tls
                .as_ref()
                .map_or(String::new(), |t| t.verification.clone());
            f.say(format!("DANE: the certificate matches ({how})"));
            let _ = conn.quit().await;
        }
        Err(e) => f.problem(format!("DANE: the certificate matches no TLSA record: {e}")),
    }
}

/// `--mta-sts DOMAIN`: the domain's `_mta-sts` TXT record, its policy, and whether
/// the server is one of the policy's MX hosts.
pub(super) async fn mta_sts(
    r: &HickoryResolver,
    args: &Args,
    domain: &str,
    host: &str,
    f: &mut Findings,
) {
    crate::sts::check(r, args, domain, host, f).await;
}
