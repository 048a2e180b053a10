//! Delivery to a domain through a resolver: MX preference order, the implicit MX,
//! null MX, hosts that are down or refuse, and the per-domain policy on every host.

mod support;

use smtp_client::dns::{MxHost, Resolver, deliver, mail_hosts};
use smtp_client::{DomainPattern, Envelope, Error, PolicyMap, TlsPolicy};
use std::collections::HashMap;
use std::net::SocketAddr;
use support::*;

/// A resolver from tables: MX per domain, one address per host.
struct Table {
    mx: HashMap<&'static str, Vec<MxHost>>,
    addrs: HashMap<String, SocketAddr>,
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
    };
    let mut policies = PolicyMap::new(TlsPolicy::May);
    policies.insert(DomainPattern::parse(".test").unwrap(), TlsPolicy::Verify);
    let opts = client(&ca, TlsPolicy::None);
    let (d, report) = deliver(
        "example.test",
        &policies,
        &opts,
        &env(),
        b"Subject: x\r\n\r\nhi\r\n",
        &table,
        25,
    )
    .await
    .unwrap();
    assert!(d.all_delivered());
    assert_eq!(report.server, "mx2.example.test");
    assert_eq!(report.policy, "verify");
    assert!(report.tls.unwrap().verified);
    // Under `verify` a certificate for another name makes the host unusable: the
    // error is the TLS failure, transient (deferred, never sent in plaintext).
    let table = Table {
        mx: HashMap::from([("example.test", vec![mx(10, "mx9.example.test")])]),
        addrs: HashMap::from([("mx9.example.test".to_string(), srv.addr())]),
    };
    let e = deliver(
        "example.test",
        &policies,
        &opts,
        &env(),
        b"x\r\n",
        &table,
        25,
    )
    .await
    .unwrap_err();
    assert!(e.is_tls_failure() && e.is_transient(), "{e:?}");
    srv.shutdown().await;
    assert_eq!(rec.messages().len(), 1);
}

#[tokio::test]
async fn an_unknown_domain_is_permanent() {
    let table = Table {
        mx: HashMap::new(),
        addrs: HashMap::new(),
    };
    let opts = client(&Ca::new(), TlsPolicy::May);
    let e = deliver(
        "nowhere.test",
        &PolicyMap::new(TlsPolicy::May),
        &opts,
        &env(),
        b"x\r\n",
        &table,
        25,
    )
    .await
    .unwrap_err();
    assert!(!e.is_transient(), "{e:?}");
}
