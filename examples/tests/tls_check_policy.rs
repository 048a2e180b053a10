//! `smtp-tls-check --dane` and `--mta-sts DOMAIN` against the DNSSEC lab (NSD on
//! 127.0.0.1, our trust anchor) and a local MTA-STS policy host: each finding with a
//! clear verdict, and exit 1 when DANE or MTA-STS would make senders refuse the server.

mod common;
#[path = "../../smtp-client/tests/support/policy_host.rs"]
mod policy_host;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::*;
use policy_host::{PolicyHost, policy};
use support::lab::LabServer;
use support::{Cert, temp_dir};

const NAMES: &[&str] = &[
    "mx1.dane.test",
    "mx2.dane.test",
    "mx3.dane.test",
    "mxt.dane.test",
    "mx.insecure.test",
];

#[tokio::test]
async fn dane_and_mta_sts_findings_with_verdicts() {
    let LabServer {
        ca,
        rec: _rec,
        srv,
        lab,
    } = LabServer::start(NAMES).await;
    let port = srv.addr().port();
    let ca_file = temp_dir("check-policy").join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let enforce = "version: STSv1\r\nmode: enforce\r\nmx: mx3.dane.test\r\nmax_age: 86400\r\n";
    let ph = PolicyHost::start(
        &ca.issue_for(&["mta-sts.sts.test"], Cert::Valid),
        &[("mta-sts.sts.test", policy(enforce))],
    )
    .await;
    let (dns, anchor, ca_file) = (lab.addr.to_string(), s(&lab.anchor), s(&ca_file));
    let https = ph.addr().port().to_string();
    let check = |host: &str, extra: &[&str]| {
        let target = format!("{host}:{port}");
        let mut args: Vec<String> = vec![
            target,
            "--dns".into(),
            dns.clone(),
            "--trust-anchor".into(),
            anchor.clone(),
            "--ca".into(),
            ca_file.clone(),
            "--https-port".into(),
            https.clone(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(CHECK, &args).await
        }
    };

    let r = check("mx1.dane.test", &["--dane"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.line(&format!("TLSA _{port}._tcp.mx1.dane.test: Secure"))
            .is_some(),
        "{r:?}"
    );
    assert!(r.line("DANE: the certificate matches").is_some(), "{r:?}");

    let r = check("mx2.dane.test", &["--dane"]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.line("PROBLEM: DANE: the certificate matches no TLSA record")
            .is_some(),
        "{r:?}"
    );

    let r = check("mxt.dane.test", &["--dane"]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("is Bogus: senders that use DANE defer"),
        "{r:?}"
    );

    let r = check("mx3.dane.test", &["--dane"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.line("DANE: no TLSA records").is_some(), "{r:?}");

    let r = check("mx3.dane.test", &["--mta-sts", "sts.test"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.line("MTA-STS record _mta-sts.sts.test: id 1").is_some(),
        "{r:?}"
    );
    assert!(r.line("MTA-STS policy: mode: enforce").is_some(), "{r:?}");
    assert!(
        r.line("MTA-STS: mx3.dane.test is listed (enforce)")
            .is_some(),
        "{r:?}"
    );

    let r = check("mx.insecure.test", &["--mta-sts", "sts.test", "--json"]).await;
    assert_eq!(r.code, 1, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        v["problems"][0]
            .as_str()
            .unwrap()
            .contains("matches no mx pattern of the enforced policy"),
        "{v}"
    );
    srv.shutdown().await;
}
