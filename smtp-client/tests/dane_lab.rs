//! DANE for MX delivery (RFC 7672) against real DNSSEC: zones signed at test time and
//! served by NSD on 127.0.0.1 (`support/lab.rs` has the layout), validated in-process
//! by `HickoryResolver::validating`, and our SMTP server behind every MX name.
//!
//! What each test shows: a matching TLSA record authenticates the server, a
//! mismatching one never lets mail go in plaintext, bogus TLSA or MX records defer,
//! insecure zones and a Secure denial leave the decision to the default policy, and
//! the order local rule, DANE, MTA-STS, default holds.
#![cfg(feature = "dane")]

mod support;

use smtp_client::dns::{
    Answer, DaneDefer, Dnssec, HickoryResolver, HostOutcome, HostPlan, MxDelivery, MxError, MxSent,
    PolicySource, Resolver,
};
use smtp_client::proto::client::sts::{Mode, MxPattern, StsPolicy};
use smtp_client::{
    ClientOptions, DomainPattern, Envelope, Error, PolicyMap, PolicyViolation, TlsPolicy,
};
use support::lab::{Lab, LabServer, MX_NAMES};
use support::*;

/// Our server, the lab whose zones point at it, and a resolver validating them.
struct World {
    ca: Ca,
    rec: Recorder,
    srv: Running,
    lab: Lab,
    resolver: HickoryResolver,
}

impl World {
    async fn new() -> Self {
        let LabServer { ca, rec, srv, lab } = LabServer::start(MX_NAMES).await;
        eprintln!("DNSSEC lab ready on {} in {:?}", lab.addr, lab.startup);
        let resolver = lab.resolver();
        Self {
            ca,
            rec,
            srv,
            lab,
            resolver,
        }
    }

    /// Options trusting the test CA, with this default policy.
    fn opts(&self, default: TlsPolicy) -> ClientOptions {
        client(&self.ca, default)
    }

    fn to(&self, domain: &str, opts: ClientOptions) -> MxDelivery<&HickoryResolver> {
        MxDelivery::new(domain, opts)
            .resolver(&self.resolver)
            .port(self.srv.addr().port())
    }

    async fn send(&self, domain: &str, opts: ClientOptions) -> Result<MxSent, MxError> {
        self.to(domain, opts).send(&env(), MESSAGE).await
    }

    fn owner(&self, host: &str) -> String {
        format!("_{}._tcp.{host}", self.srv.addr().port())
    }
}

const MESSAGE: &[u8] = b"Subject: dane\r\n\r\nhi\r\n";

fn env() -> Envelope {
    Envelope::new("<a@sender.test>", ["<b@dane.test>"]).unwrap()
}

fn rule(pattern: &str, policy: TlsPolicy) -> PolicyMap {
    let mut map = PolicyMap::new();
    map.insert(DomainPattern::parse(pattern).unwrap(), policy);
    map
}

/// An enforced MTA-STS policy listing these MX patterns.
fn sts_enforce(mx: &[&str]) -> StsPolicy {
    let mx = mx.iter().map(|p| MxPattern::parse(p).unwrap()).collect();
    StsPolicy::new(Mode::Enforce, 86_400, mx).unwrap()
}

#[tokio::test]
async fn the_validating_resolver_tells_secure_insecure_bogus_and_failed_apart() {
    let w = World::new().await;
    let r = &w.resolver;
    let t = std::time::Instant::now();
    let secure_mx = r.mx("dane.test").await;
    let Answer::Records(hosts, Dnssec::Secure) = &secure_mx else {
        panic!("{secure_mx:?}")
    };
    assert_eq!(hosts.len(), 4);
    assert!(matches!(
        r.mx("insecure.test").await,
        Answer::Records(_, Dnssec::Insecure)
    ));
    assert_eq!(r.mx("bogus.test").await, Answer::NoRecords(Dnssec::Bogus));
    // Each RRset counts alone: bogus.test's addresses were not edited.
    let a = r.addrs("mx.bogus.test").await;
    assert_eq!(a.answer.dnssec(), Some(Dnssec::Secure), "{a:?}");
    let tlsa = r.tlsa(&w.owner("mx1.dane.test")).await;
    let Answer::Records(records, Dnssec::Secure) = &tlsa else {
        panic!("{tlsa:?}")
    };
    assert_eq!((records[0].usage, records[0].selector), (3, 1));
    for bogus in ["mxt.dane.test", "mxs.dane.test", "mx.bogus.test"] {
        let answer = r.tlsa(&w.owner(bogus)).await;
        assert_eq!(answer, Answer::NoRecords(Dnssec::Bogus), "{bogus}");
    }
    // Secure denials: NODATA and NXDOMAIN.
    let nodata = r.tlsa("mx3.dane.test").await;
    assert_eq!(nodata, Answer::NoRecords(Dnssec::Secure));
    let nx = r.addrs("nx.dane.test").await;
    assert_eq!(nx.answer, Answer::NoRecords(Dnssec::Secure));
    let nx = r.addrs("nx.insecure.test").await;
    assert_eq!(nx.answer, Answer::NoRecords(Dnssec::Insecure));
    // Insecure data is returned, marked so.
    let tlsa = r.tlsa(&w.owner("mx.insecure.test")).await;
    assert!(
        matches!(tlsa, Answer::Records(_, Dnssec::Insecure)),
        "{tlsa:?}"
    );
    // A Secure CNAME chain names its target (RFC 7672 §2.2.2).
    let c = r.addrs("mxc.dane.test").await;
    assert_eq!(c.answer.dnssec(), Some(Dnssec::Secure));
    assert_eq!(c.secure_cname_target.as_deref(), Some("mx1.dane.test"));
    let txt = r.txt("_mta-sts.dane.test").await;
    assert_eq!(
        txt,
        Answer::Records(vec!["v=STSv1; id=20261202T000000;".into()], Dnssec::Secure)
    );
    // Outside the anchored zone nothing validates: NSD refuses, the lookup failed.
    assert_eq!(r.mx("example.com").await, Answer::Failed);
    eprintln!("20 validated lookups in {:?}", t.elapsed());
    // Another key as the anchor: every answer of the lab is bogus, none insecure.
    let stranger = std::fs::read_to_string(&w.lab.anchor).unwrap();
    let other_dir = temp_dir("other-anchor");
    let out = std::process::Command::new("/usr/bin/ldns-keygen")
        .args(["-a", "ECDSAP256SHA256", "-k", "test."])
        .current_dir(&other_dir)
        .output()
        .unwrap();
    let base = String::from_utf8(out.stdout).unwrap();
    let other = std::fs::read_to_string(other_dir.join(format!("{}.key", base.trim()))).unwrap();
    assert_ne!(stranger, other);
    let anchors = smtp_client::dns::DnssecAnchors::parse(&other).unwrap();
    let wrong = HickoryResolver::validating(w.lab.addr, anchors).unwrap();
    assert_eq!(
        wrong.mx("dane.test").await,
        Answer::NoRecords(Dnssec::Bogus)
    );
    assert_eq!(
        wrong.mx("insecure.test").await,
        Answer::NoRecords(Dnssec::Bogus)
    );
}

#[tokio::test]
async fn a_matching_dane_ee_record_authenticates_the_server() {
    let w = World::new().await;
    let t = std::time::Instant::now();
    // The default is `none`: DANE decides, so TLS it is.
    let sent = w.send("dane.test", w.opts(TlsPolicy::None)).await.unwrap();
    assert!(sent.delivery.all_delivered());
    let report = &sent.report;
    assert_eq!(report.server, "mx1.dane.test");
    assert_eq!(report.policy, "dane");
    assert_eq!(report.policy_source, Some(PolicySource::Dane));
    assert_eq!(report.policy_source.as_ref().unwrap().to_string(), "dane");
    let tls = report.tls.as_ref().expect("TLS");
    assert!(
        tls.verified && tls.verification.contains("DANE-EE(3) 1 1"),
        "{tls:?}"
    );
    let [a] = &sent.attempts[..] else {
        panic!("{:?}", sent.attempts)
    };
    assert_eq!(
        (a.host.as_str(), &a.outcome),
        ("mx1.dane.test", &HostOutcome::Answered)
    );
    // An MX host that is a CNAME: the TLSA records of the chain's Secure target
    // (mx1) apply; the certificate is checked against them, and the session is with
    // the TLSA base domain (its name, and the SNI: RFC 7672 §8.1).
    let sent = w
        .send("cname.dane.test", w.opts(TlsPolicy::None))
        .await
        .unwrap();
    assert_eq!(sent.attempts[0].host, "mxc.dane.test");
    assert_eq!(sent.report.server, "mx1.dane.test");
    assert_eq!(sent.report.policy_source, Some(PolicySource::Dane));
    assert!(sent.report.tls.as_ref().unwrap().verified);
    assert_eq!(w.rec.messages().len(), 2);
    eprintln!("two DANE deliveries in {:?}", t.elapsed());
}

#[tokio::test]
async fn a_dane_ta_record_for_the_issuing_ca_authenticates_the_server() {
    let w = World::new().await;
    // mxa.dane.test has no MX: it is its own (implicit) MX, and DANE applies to it
    // (a Secure denial of MX records, RFC 7672 §2.2.1).
    let sent = w
        .send("mxa.dane.test", w.opts(TlsPolicy::May))
        .await
        .unwrap();
    let tls = sent.report.tls.as_ref().unwrap();
    assert!(
        tls.verified && tls.verification.contains("DANE-TA(2) 1 1"),
        "{tls:?}"
    );
    assert_eq!(sent.report.policy_source, Some(PolicySource::Dane));
}

#[tokio::test]
async fn behind_a_cname_dane_ta_checks_the_tlsa_base_domain() {
    let w = World::new().await;
    // cnameta.dane.test: MX mxac, a CNAME to mxa (DANE-TA). The certificate names mxa,
    // not mxac: the TLSA base domain is the name checked and sent as SNI.
    let sent = w
        .send("cnameta.dane.test", w.opts(TlsPolicy::May))
        .await
        .unwrap();
    let tls = sent.report.tls.as_ref().unwrap();
    assert!(
        tls.verified && tls.verification.contains("DANE-TA(2)"),
        "{tls:?}"
    );
    assert_eq!(tls.sni.as_deref(), Some("mxa.dane.test"), "{tls:?}");
    assert_eq!(sent.attempts[0].host, "mxac.dane.test");
}

#[tokio::test]
async fn a_mismatching_record_is_never_answered_with_plaintext() {
    let w = World::new().await;
    // Only mx2: its certificate matches no TLSA record. Deferred, nothing sent.
    let e = w
        .send("mx2.dane.test", w.opts(TlsPolicy::May))
        .await
        .unwrap_err();
    assert!(e.is_transient() && e.error.is_tls_failure(), "{e:?}");
    assert!(matches!(e.error, Error::Tls { .. }), "{e:?}");
    let report = e.report().expect("the session report");
    assert_eq!(report.policy_source, Some(PolicySource::Dane));
    assert!(
        report.tls_failure.is_none(),
        "no plaintext retry: {report:?}"
    );
    let [a] = &e.attempts[..] else {
        panic!("{:?}", e.attempts)
    };
    assert!(
        matches!(
            a.outcome,
            HostOutcome::Failed {
                transient: true,
                ..
            }
        ),
        "{a}"
    );
    assert!(w.rec.messages().is_empty());
    // With other hosts: the bogus one is deferred, the mismatching one fails, the
    // matching one gets the message; each attempt says so.
    let sent = w
        .send("fallback.dane.test", w.opts(TlsPolicy::May))
        .await
        .unwrap();
    let lines: Vec<String> = sent.attempts.iter().map(ToString::to_string).collect();
    let [mxt, mx2, mx1] = &sent.attempts[..] else {
        panic!("{lines:#?}")
    };
    assert_eq!(
        mxt.plan,
        HostPlan::Defer(DaneDefer::TlsaBogus),
        "{lines:#?}"
    );
    assert_eq!(mx2.host, "mx2.dane.test");
    assert_eq!(mx2.source(), Some(&PolicySource::Dane));
    assert!(
        matches!(&mx2.outcome, HostOutcome::Failed { reason, transient: true } if reason.contains("TLS")),
        "{lines:#?}"
    );
    assert_eq!(mx1.outcome, HostOutcome::Answered);
    assert_eq!(
        lines[0],
        "mxt.dane.test: deferred (DANE: the TLSA records failed DNSSEC validation)"
    );
    assert!(lines[2].ends_with(" dane (dane): answered"), "{lines:#?}");
    assert_eq!(w.rec.messages().len(), 1);
}

#[tokio::test]
async fn bogus_tlsa_records_defer_the_host_without_connecting() {
    let w = World::new().await;
    for domain in ["mxt.dane.test", "mxs.dane.test"] {
        // Even with `none` as the default: never plaintext.
        let e = w.send(domain, w.opts(TlsPolicy::None)).await.unwrap_err();
        assert!(
            matches!(
                e.error,
                Error::Policy {
                    violation: PolicyViolation::TlsaLookupFailed { .. },
                    ..
                }
            ) && e.is_transient(),
            "{domain}: {e:?}"
        );
        let [a] = &e.attempts[..] else {
            panic!("{:?}", e.attempts)
        };
        assert_eq!(a.deferred(), Some(DaneDefer::TlsaBogus), "{a}");
        assert_eq!(a.outcome, HostOutcome::NotTried);
    }
    assert!(w.rec.events().is_empty(), "{:?}", w.rec.events());
}

#[tokio::test]
async fn bogus_mx_records_defer_the_domain_even_under_a_local_rule() {
    let w = World::new().await;
    let local = w
        .opts(TlsPolicy::May)
        .with_policy_map(rule("bogus.test", TlsPolicy::Encrypt), "bogus.test");
    for opts in [w.opts(TlsPolicy::May), local] {
        let e = w.send("bogus.test", opts).await.unwrap_err();
        assert!(
            matches!(&e.error, Error::Dns { reason, permanent: false } if reason.contains("DNSSEC")),
            "{e:?}"
        );
        assert!(e.attempts.is_empty() && e.report().is_none(), "{e:?}");
    }
    assert!(w.rec.events().is_empty());
}

#[tokio::test]
async fn insecure_zones_and_secure_denials_leave_it_to_the_default_policy() {
    let w = World::new().await;
    // insecure.test publishes a matching TLSA record, unsigned: ignored.
    let sent = w
        .send("insecure.test", w.opts(TlsPolicy::May))
        .await
        .unwrap();
    assert_eq!(sent.report.server, "mx.insecure.test");
    assert_eq!(sent.report.policy, "may");
    assert_eq!(sent.report.policy_source, Some(PolicySource::Default));
    let tls = sent.report.tls.as_ref().unwrap();
    assert!(!tls.verification.contains("DANE"), "{tls:?}");
    // The default `none`: plaintext, as asked.
    let sent = w
        .send("insecure.test", w.opts(TlsPolicy::None))
        .await
        .unwrap();
    assert!(sent.report.tls.is_none());
    assert_eq!(sent.report.policy_source, Some(PolicySource::Default));
    // mx3.dane.test: Secure, but no TLSA records (a Secure denial): no DANE.
    let sent = w
        .send("mx3.dane.test", w.opts(TlsPolicy::Verify))
        .await
        .unwrap();
    assert_eq!(sent.report.policy, "verify");
    assert_eq!(sent.report.policy_source, Some(PolicySource::Default));
    assert!(sent.report.tls.as_ref().unwrap().verified);
    assert_eq!(w.rec.messages().len(), 3);
}

#[tokio::test]
async fn the_policy_order_is_local_rule_dane_mta_sts_default() {
    let w = World::new().await;
    // 1. A local rule wins over DANE: bogus TLSA (mxt) and a mismatch (mx2) no longer
    //    stop delivery when the operator's rule says `encrypt` or `may`.
    for (domain, policy) in [
        ("mxt.dane.test", TlsPolicy::Encrypt),
        ("mx2.dane.test", TlsPolicy::May),
    ] {
        let level = policy.level();
        let opts = w
            .opts(TlsPolicy::Verify)
            .with_policy_map(rule(domain, policy), domain);
        let sent = w.send(domain, opts).await.unwrap();
        assert_eq!(sent.report.policy, level);
        let source = sent.report.policy_source.as_ref().unwrap();
        assert_eq!(
            (source.name(), source.to_string()),
            ("local", format!("local ({domain})"))
        );
        assert_eq!(
            sent.report.policy_rule.as_ref().unwrap().to_string(),
            domain
        );
    }
    // 2. DANE wins over MTA-STS: an enforced policy that lists no host of dane.test
    //    would skip them all; DANE decides first.
    let sent = w
        .to("dane.test", w.opts(TlsPolicy::May))
        .mta_sts(sts_enforce(&["mx9.dane.test"]))
        .send(&env(), MESSAGE)
        .await
        .unwrap();
    assert_eq!(sent.report.policy_source, Some(PolicySource::Dane));
    // 3. MTA-STS wins over the default where DANE does not apply (insecure.test):
    //    `secure` with the host's name, the certificate checked against the CA.
    let sent = w
        .to("insecure.test", w.opts(TlsPolicy::None))
        .mta_sts(sts_enforce(&["mx.insecure.test"]))
        .send(&env(), MESSAGE)
        .await
        .unwrap();
    assert_eq!(sent.report.policy_source, Some(PolicySource::MtaSts));
    assert_eq!(sent.report.policy, "secure");
    assert!(sent.report.tls.as_ref().unwrap().verified);
    // A host the enforced policy does not list is skipped: deferred, not sent.
    let before = w.rec.events().len();
    let e = w
        .to("insecure.test", w.opts(TlsPolicy::None))
        .mta_sts(sts_enforce(&["mx9.insecure.test"]))
        .send(&env(), MESSAGE)
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert_eq!(e.attempts[0].plan, HostPlan::Skip);
    assert_eq!(w.rec.events().len(), before);
    // 4. Neither: the default (`encrypt` here).
    let sent = w
        .send("insecure.test", w.opts(TlsPolicy::Encrypt))
        .await
        .unwrap();
    assert_eq!(sent.report.policy, "encrypt");
    assert_eq!(sent.report.policy_source, Some(PolicySource::Default));
}
