//! Delivery to a domain through a resolver: MX preference order, the implicit MX,
//! null MX, hosts that are down or refuse, and the per-domain policy on every host.

mod support;

use smtp_client::dns::{MxDelivery, MxHost, Resolver, mail_hosts};
use smtp_client::{DomainPattern, Envelope, Error, PolicyMap, PolicyViolation, TlsPolicy, Tlsa};
use std::collections::HashMap;
use std::net::SocketAddr;
use support::*;

/// A resolver from tables: MX per domain, one address per host.
struct Table {
    mx: HashMap<&'static str, Vec<MxHost>>,
    addrs: HashMap<String, SocketAddr>,
    /// The TLSA answer for every host: `None` a failed lookup.
    tlsa: Option<Option<Vec<Tlsa>>>,
}

impl Resolver for Table {
    async fn mx(&self, domain: &str) -> Result<Vec<MxHost>, Error> {
        match self.mx.get(domain) {
            Some(v) => Ok(v.clone()),
            None => Err(Error::Dns {
                reason: format!("{domain} does not exist"),
                permanent: true,
            }),
        }
    }
    async fn addrs(&self, host: &str, _port: u16) -> Result<Vec<SocketAddr>, Error> {
        self.addrs
            .get(host)
            .map(|a| vec![*a])
            .ok_or_else(|| Error::Dns {
                reason: format!("no address for {host}"),
                permanent: false,
            })
    }
    async fn tlsa(&self, _host: &str, _port: u16) -> Result<Option<Vec<Tlsa>>, Error> {
        self.tlsa.clone().ok_or_else(|| Error::Dns {
            reason: "SERVFAIL".into(),
            permanent: false,
        })
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
async fn the_first_reachable_host_gets_the_message_under_the_domains_policy() {
    let ca = Ca::new();
    // The backup MX's certificate names it; the primary is down.
    let pki = ca.issue_for(&["mx2.example.test"], Cert::Valid);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let dead: SocketAddr = format!("127.0.0.1:{}", dead_port().await).parse().unwrap();
    let table = Table {
        mx: HashMap::from([(
            "example.test",
            vec![mx(20, "mx2.example.test"), mx(10, "mx1.example.test")],
        )]),
        addrs: HashMap::from([
            ("mx1.example.test".to_string(), dead),
            ("mx2.example.test".to_string(), srv.addr()),
        ]),
        tlsa: Some(None),
    };
    let mut policies = PolicyMap::new();
    policies.insert(DomainPattern::parse(".test").unwrap(), TlsPolicy::Verify);
    let opts = client(&ca, TlsPolicy::None).with_policy_map(policies, "ignored.test");
    let to_domain = MxDelivery::new("example.test", opts.clone()).resolver(&table);
    let (d, report) = to_domain
        .send(&env(), b"Subject: x\r\n\r\nhi\r\n")
        .await
        .unwrap();
    assert!(d.all_delivered());
    assert_eq!(report.server, "mx2.example.test");
    // The domain's rule decides, for every host of the domain.
    assert_eq!(report.destination, "example.test");
    assert_eq!(report.policy, "verify");
    assert_eq!(report.policy_rule.as_ref().unwrap().to_string(), ".test");
    assert!(report.tls.unwrap().verified);
    // Under `verify` a certificate for another name makes the host unusable: the
    // error is the TLS failure, transient (deferred, never sent in plaintext).
    let table = Table {
        mx: HashMap::from([("example.test", vec![mx(10, "mx9.example.test")])]),
        addrs: HashMap::from([("mx9.example.test".to_string(), srv.addr())]),
        tlsa: Some(None),
    };
    let e = MxDelivery::new("example.test", opts)
        .resolver(table)
        .port(25)
        .send(&env(), b"x\r\n")
        .await
        .unwrap_err();
    assert!(e.is_tls_failure() && e.is_transient(), "{e:?}");
    // The host's report comes with the failure: which rule, which server.
    let report = e.report().expect("a report from the host tried");
    assert_eq!(report.server, "mx9.example.test");
    assert_eq!(report.policy_rule.as_ref().unwrap().to_string(), ".test");
    srv.shutdown().await;
    assert_eq!(rec.messages().len(), 1);
}

#[tokio::test]
async fn an_unknown_domain_is_permanent() {
    let table = Table {
        mx: HashMap::new(),
        addrs: HashMap::new(),
        tlsa: Some(None),
    };
    let opts = client(&Ca::new(), TlsPolicy::May);
    let e = MxDelivery::new("nowhere.test", opts)
        .resolver(&table)
        .send(&env(), b"x\r\n")
        .await
        .unwrap_err();
    assert!(!e.is_transient(), "{e:?}");
    assert!(e.report().is_none(), "no connection was made: {e:?}");
}

#[tokio::test]
async fn dane_destinations_use_the_hosts_tlsa_records_and_defer_when_the_lookup_fails() {
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
    let mut policies = PolicyMap::new();
    policies.insert(
        DomainPattern::parse("example.test").unwrap(),
        TlsPolicy::Dane { records: vec![] },
    );
    let opts = client(&ca, TlsPolicy::None).with_policy_map(policies, "example.test");
    let table = |tlsa| Table {
        mx: HashMap::from([("example.test", vec![mx(10, "mx.example.test")])]),
        addrs: HashMap::from([("mx.example.test".to_string(), srv.addr())]),
        tlsa,
    };
    let (_, report) = MxDelivery::new("example.test", opts.clone())
        .resolver(table(Some(Some(vec![record]))))
        .send(&env(), b"x\r\n")
        .await
        .unwrap();
    let tls = report.tls.unwrap();
    assert!(
        tls.verified && tls.verification.contains("DANE-EE(3)"),
        "{tls:?}"
    );
    // A failed TLSA lookup: this host is deferred without a connection.
    let before = rec.events().len();
    let e = MxDelivery::new("example.test", opts)
        .resolver(table(None))
        .send(&env(), b"x\r\n")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Policy {
                violation: PolicyViolation::TlsaLookupFailed { .. },
                ..
            }
        ) && e.is_transient(),
        "{e:?}"
    );
    assert_eq!(rec.events().len(), before);
    srv.shutdown().await;
}
