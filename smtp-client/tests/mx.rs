//! Delivery to a domain through a resolver: MX preference order, the implicit MX,
//! null MX, hosts that are down or refuse, the policy order per host (local rule,
//! DANE, default) and what each host's attempt records. The answers come from tables
//! with the DNSSEC state each test needs; `dane_lab.rs` does the same against real
//! signed zones.

mod support;

use smtp_client::dns::{
    Answer, DaneDefer, Dnssec, HostAddrs, HostOutcome, HostPlan, MxDelivery, MxHost, PolicySource,
    Resolver, mail_hosts,
};
use smtp_client::{DomainPattern, Envelope, Error, PolicyMap, PolicyViolation, TlsPolicy, Tlsa};
use std::collections::HashMap;
use std::net::IpAddr;
use support::*;

/// A resolver from tables: MX per domain, one address per host, one TLSA answer for
/// every host; every answer in the same DNSSEC state.
struct Table {
    mx: Answer<MxHost>,
    addrs: HashMap<&'static str, IpAddr>,
    tlsa: Answer<Tlsa>,
    dnssec: Dnssec,
}

impl Table {
    /// Insecure answers (a resolver that does not validate): `example.test` has `mx`.
    fn insecure(mx: Vec<MxHost>, addrs: &[(&'static str, &str)]) -> Self {
        Self {
            mx: Answer::Records(mx, Dnssec::Insecure),
            addrs: addrs
                .iter()
                .map(|(h, a)| (*h, a.parse().unwrap()))
                .collect(),
            tlsa: Answer::NoRecords(Dnssec::Insecure),
            dnssec: Dnssec::Insecure,
        }
    }

    /// The same answers, Secure, with this TLSA answer.
    fn secure(mut self, tlsa: Answer<Tlsa>) -> Self {
        self.dnssec = Dnssec::Secure;
        if let Answer::Records(mx, _) = self.mx {
            self.mx = Answer::Records(mx, Dnssec::Secure);
        }
        self.tlsa = tlsa;
        self
    }
}

impl Resolver for Table {
    async fn mx(&self, domain: &str) -> Answer<MxHost> {
        match domain {
            "example.test" => self.mx.clone(),
            _ => Answer::NoRecords(self.dnssec),
        }
    }
    async fn addrs(&self, host: &str) -> HostAddrs {
        HostAddrs::new(match self.addrs.get(host) {
            Some(a) => Answer::Records(vec![*a], self.dnssec),
            None => Answer::NoRecords(self.dnssec),
        })
    }
    async fn tlsa(&self, _owner: &str) -> Answer<Tlsa> {
        self.tlsa.clone()
    }
}

fn mx(preference: u16, host: &str) -> MxHost {
    MxHost {
        preference,
        host: host.into(),
    }
}

fn env() -> Envelope {
    Envelope::new("<a@example.test>", ["<b@example.test>"]).unwrap()
}

#[test]
fn hosts_in_preference_order_with_the_rfc_5321_fallbacks() {
    let hosts = mail_hosts(
        vec![
            mx(20, "b.example.test."),
            mx(10, "a.example.test"),
            mx(20, "c.example.test"),
        ],
        "example.test",
    )
    .unwrap();
    assert_eq!(
        hosts,
        ["a.example.test", "b.example.test", "c.example.test"]
    );
    // No MX: the domain itself is the implicit MX (RFC 5321 §5.1).
    assert_eq!(
        mail_hosts(vec![], "example.test.").unwrap(),
        ["example.test"]
    );
    // Null MX (RFC 7505): permanent.
    let e = mail_hosts(vec![mx(0, "")], "example.test").unwrap_err();
    assert!(!e.is_transient(), "{e}");
}

#[tokio::test]
async fn the_first_reachable_host_gets_the_message_under_the_domains_rule() {
    let ca = Ca::new();
    // The backup MX's certificate names it; the primary (127.0.0.2) is down.
    let pki = ca.issue_for(&["mx2.example.test"], Cert::Valid);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let port = srv.addr().port();
    let table = Table::insecure(
        vec![mx(20, "mx2.example.test"), mx(10, "mx1.example.test")],
        &[
            ("mx1.example.test", "127.0.0.2"),
            ("mx2.example.test", "127.0.0.1"),
        ],
    );
    let mut policies = PolicyMap::new();
    policies.insert(DomainPattern::parse(".test").unwrap(), TlsPolicy::Verify);
    let opts = client(&ca, TlsPolicy::None).with_policy_map(policies, "ignored.test");
    let to_domain = MxDelivery::new("example.test", opts.clone())
        .resolver(&table)
        .port(port);
    let sent = to_domain
        .send(&env(), b"Subject: x\r\n\r\nhi\r\n")
        .await
        .unwrap();
    assert!(sent.delivery.all_delivered());
    let each = sent.outcomes();
    assert!(!each.is_empty() && each.iter().all(|r| r.outcome.is_delivered()));
    let report = &sent.report;
    assert_eq!(report.server, "mx2.example.test");
    // The domain's rule decides, for every host of the domain.
    assert_eq!(report.destination, "example.test");
    assert_eq!(report.policy, "verify");
    assert_eq!(report.policy_rule.as_ref().unwrap().to_string(), ".test");
    assert_eq!(report.policy_source.as_ref().unwrap().name(), "local");
    assert!(report.tls.as_ref().unwrap().verified);
    // What happened at each host, in order.
    let [first, second] = &sent.attempts[..] else {
        panic!("{:?}", sent.attempts)
    };
    assert_eq!(first.host, "mx1.example.test");
    assert!(
        matches!(
            first.outcome,
            HostOutcome::Failed {
                transient: true,
                ..
            }
        ),
        "{first}"
    );
    assert_eq!(second.host, "mx2.example.test");
    assert_eq!(second.outcome, HostOutcome::Answered);
    assert!(
        matches!(second.source(), Some(PolicySource::Local(r)) if r.to_string() == ".test"),
        "{second}"
    );
    assert!(
        second.to_string().starts_with(&format!(
            "mx2.example.test [127.0.0.1:{port}] verify (local (.test)): answered"
        )),
        "{second}"
    );
    // Under `verify` a certificate for another name makes the host unusable: the
    // error is the TLS failure, transient (deferred, never sent in plaintext).
    let table = Table::insecure(
        vec![mx(10, "mx9.example.test")],
        &[("mx9.example.test", "127.0.0.1")],
    );
    let e = MxDelivery::new("example.test", opts)
        .resolver(table)
        .port(port)
        .send(&env(), b"x\r\n")
        .await
        .unwrap_err();
    assert!(e.error.is_tls_failure() && e.is_transient(), "{e:?}");
    // Each recipient: transient, for the TLS policy.
    let each = e.outcomes(&env());
    assert_eq!(each.len(), env().recipients.len());
    assert!(
        each.iter().all(|r| r.outcome.is_transient()
            && r.outcome.reason() == Some(smtp_client::Reason::TlsPolicy))
    );
    // The host's report comes with the failure: which rule, which server.
    let report = e.report().expect("a report from the host tried");
    assert_eq!(report.server, "mx9.example.test");
    assert_eq!(report.policy_rule.as_ref().unwrap().to_string(), ".test");
    assert_eq!(report.policy_source.as_ref().unwrap().name(), "local");
    assert_eq!(e.attempts.len(), 1);
    srv.shutdown().await;
    assert_eq!(rec.messages().len(), 1);
}

#[tokio::test]
async fn an_unknown_domain_is_permanent() {
    let table = Table::insecure(vec![], &[]);
    let opts = client(&Ca::new(), TlsPolicy::May);
    let e = MxDelivery::new("nowhere.test", opts)
        .resolver(&table)
        .send(&env(), b"x\r\n")
        .await
        .unwrap_err();
    assert!(!e.is_transient(), "{e:?}");
    assert!(e.outcomes(&env()).iter().all(|r| r.outcome.is_permanent()));
    assert!(e.report().is_none(), "no connection was made: {e:?}");
    // The implicit MX was tried, and has no address.
    let [a] = &e.attempts[..] else {
        panic!("{:?}", e.attempts)
    };
    assert_eq!(a.host, "nowhere.test");
    assert!(
        matches!(
            a.outcome,
            HostOutcome::NoAddress {
                transient: false,
                ..
            }
        ),
        "{a}"
    );
    // A failed MX lookup defers the domain (there is no host to try).
    let mut failed = Table::insecure(vec![], &[]);
    failed.mx = Answer::Failed;
    let e = MxDelivery::new("example.test", client(&Ca::new(), TlsPolicy::May))
        .resolver(failed)
        .send(&env(), b"x\r\n")
        .await
        .unwrap_err();
    assert!(e.is_transient() && e.attempts.is_empty(), "{e:?}");
}

#[tokio::test]
async fn secure_tlsa_records_make_dane_decide_and_a_failed_lookup_defers_the_host() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::SelfSigned);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let leaf = {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        CertificateDer::pem_slice_iter(pki.cert_pem.as_bytes())
            .next()
            .unwrap()
            .unwrap()
            .to_vec()
    };
    let record = Tlsa {
        usage: 3,
        selector: 0,
        matching: 1,
        data: ring::digest::digest(&ring::digest::SHA256, &leaf)
            .as_ref()
            .to_vec(),
    };
    let table = || {
        Table::insecure(
            vec![mx(10, "mx.example.test")],
            &[("mx.example.test", "127.0.0.1")],
        )
    };
    let deliver = |opts, table| {
        MxDelivery::new("example.test", opts)
            .resolver(table)
            .port(srv.addr().port())
    };
    // The default is `none`; Secure TLSA records make DANE decide (TLS, verified).
    let sent = deliver(
        client(&ca, TlsPolicy::None),
        table().secure(Answer::Records(vec![record.clone()], Dnssec::Secure)),
    )
    .send(&env(), b"x\r\n")
    .await
    .unwrap();
    let tls = sent.report.tls.as_ref().unwrap();
    assert!(
        tls.verified && tls.verification.contains("DANE-EE(3)"),
        "{tls:?}"
    );
    assert_eq!(sent.report.policy, "dane");
    assert_eq!(sent.report.policy_source, Some(PolicySource::Dane));
    // The same records from a resolver that does not validate (Insecure): ignored,
    // the default decides.
    let mut insecure = table();
    insecure.tlsa = Answer::Records(vec![record.clone()], Dnssec::Insecure);
    let sent = deliver(client(&ca, TlsPolicy::None), insecure)
        .send(&env(), b"x\r\n")
        .await
        .unwrap();
    assert!(sent.report.tls.is_none());
    assert_eq!(sent.report.policy_source, Some(PolicySource::Default));
    // A local `dane` rule without records: DANE from DNS, under the rule's name.
    let mut policies = PolicyMap::new();
    policies.insert(
        DomainPattern::parse("example.test").unwrap(),
        TlsPolicy::Dane { records: vec![] },
    );
    let local = client(&ca, TlsPolicy::None).with_policy_map(policies, "example.test");
    let sent = deliver(
        local,
        table().secure(Answer::Records(vec![record], Dnssec::Secure)),
    )
    .send(&env(), b"x\r\n")
    .await
    .unwrap();
    assert!(sent.report.tls.as_ref().unwrap().verified);
    assert_eq!(sent.report.policy_source.as_ref().unwrap().name(), "local");
    // A failed TLSA lookup: this host is deferred without a connection.
    let before = rec.events().len();
    let e = deliver(client(&ca, TlsPolicy::May), table().secure(Answer::Failed))
        .send(&env(), b"x\r\n")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.error,
            Error::Policy {
                violation: PolicyViolation::TlsaLookupFailed { .. },
                ..
            }
        ) && e.is_transient(),
        "{e:?}"
    );
    let [a] = &e.attempts[..] else {
        panic!("{:?}", e.attempts)
    };
    assert_eq!(a.plan, HostPlan::Defer(DaneDefer::TlsaLookupFailed));
    assert_eq!(a.outcome, HostOutcome::NotTried);
    assert_eq!(
        a.to_string(),
        "mx.example.test: deferred (DANE: the TLSA lookup failed)"
    );
    assert_eq!(rec.events().len(), before);
    srv.shutdown().await;
}
