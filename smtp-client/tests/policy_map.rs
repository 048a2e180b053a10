//! A policy map with `Connection::connect`: the rule that matches the destination
//! decides the policy, the options' policy applies where none does, and the report
//! names the rule (Postfix semantics: `example.com` the domain itself, `.example.com`
//! and `*.example.com` its subdomains at any depth).

mod support;

use smtp_client::{
    ClientOptions, Connection, DomainPattern, Error, PolicyMap, PolicyViolation, TlsPolicy,
};
use support::*;

fn map(rules: &[(&str, TlsPolicy)]) -> PolicyMap {
    // Where no rule matches, the options' policy applies.
    let mut m = PolicyMap::new();
    for (pattern, policy) in rules {
        m.insert(DomainPattern::parse(pattern).unwrap(), policy.clone());
    }
    m
}

/// Connects under `opts` and gives (policy, rule, destination, TLS verified?).
async fn connect(srv: &Running, opts: ClientOptions) -> (String, Option<String>, String, bool) {
    let c = Connection::connect(&target(srv), opts).await.unwrap();
    let r = c.report().clone();
    c.quit().await.unwrap();
    (
        r.policy.to_string(),
        r.policy_rule.map(|p| p.to_string()),
        r.destination,
        r.tls.is_some_and(|t| t.verified),
    )
}

#[tokio::test]
async fn the_rule_for_the_destination_decides_and_the_options_policy_is_the_fallback() {
    let ca = Ca::new();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &ca.issue(Cert::Valid), options())).await;
    let rules = map(&[(".example.test", TlsPolicy::Verify)]);
    let opts = |destination: &str| {
        client(&ca, TlsPolicy::None).with_policy_map(rules.clone(), destination)
    };
    // A subdomain matches `.example.test`: verified TLS, and the report says why.
    let got = connect(&srv, opts("mail.example.test")).await;
    assert_eq!(
        got,
        (
            "verify".into(),
            Some(".example.test".into()),
            "mail.example.test".into(),
            true
        )
    );
    // Any depth below it too.
    let got = connect(&srv, opts("a.b.example.test")).await;
    assert_eq!(got.1.as_deref(), Some(".example.test"));
    // `.example.test` does not match the domain itself: the options' `none` applies.
    let got = connect(&srv, opts("example.test")).await;
    assert_eq!(
        got,
        ("none".into(), None, "example.test".into(), false),
        "{got:?}"
    );
    // Listing the domain itself covers it; the exact rule wins over the pattern.
    let both = map(&[
        (".example.test", TlsPolicy::Verify),
        ("example.test", TlsPolicy::May),
    ]);
    let o = client(&ca, TlsPolicy::None).with_policy_map(both, "example.test");
    let got = connect(&srv, o).await;
    assert_eq!(got.0, "may");
    assert_eq!(got.1.as_deref(), Some("example.test"));
    // `*.test` is written as Postfix's `.test`.
    let o = client(&ca, TlsPolicy::None)
        .with_policy_map(map(&[("*.test", TlsPolicy::Encrypt)]), "x.y.test");
    let got = connect(&srv, o).await;
    assert_eq!(
        (got.0.as_str(), got.1.as_deref()),
        ("encrypt", Some(".test"))
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn without_a_destination_the_map_is_consulted_for_the_server_name() {
    let ca = Ca::new();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &ca.issue(Cert::Valid), options())).await;
    let mut o = client(&ca, TlsPolicy::None);
    o.policy_map = Some(map(&[("localhost", TlsPolicy::Verify)]).into());
    let got = connect(&srv, o).await;
    assert_eq!(
        got,
        (
            "verify".into(),
            Some("localhost".into()),
            "localhost".into(),
            true
        )
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn a_rule_that_requires_tls_fails_a_server_without_it_and_the_error_names_the_rule() {
    let ca = Ca::new();
    let rec = Recorder::default();
    // No TLS configured: no STARTTLS offered.
    let srv = serve(&rec, options(), false, None).await;
    let o = client(&ca, TlsPolicy::May)
        .with_policy_map(map(&[("example.test", TlsPolicy::Verify)]), "example.test");
    let e = Connection::connect(&target(&srv), o).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Policy {
                violation: PolicyViolation::StartTlsNotOffered { destination, .. },
                ..
            } if destination == "example.test"
        ),
        "{e:?}"
    );
    let report = e.report().expect("the session got as far as EHLO");
    assert_eq!(report.policy, "verify");
    assert_eq!(
        report.policy_rule.as_ref().unwrap().to_string(),
        "example.test"
    );
    assert!(report.capabilities.is_some() && report.tls.is_none());
    srv.shutdown().await;
    assert!(!rec.events().iter().any(|e| e.starts_with("mail")));
}
