//! `smtp-send` without `--server`: MX delivery with DANE against a DNSSEC-signed lab zone
//! (NSD on 127.0.0.1, our own trust anchor), our server behind every MX name. It says
//! which policy decided and what happened at each host, and exits 0 delivered, 3 TLS
//! policy not met, 75 deferred (bogus DNS included).

mod common;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::*;
use support::lab::{Lab, LabServer, MX_NAMES};
use support::{Ca, Cert, Recorder, temp_dir};

struct World {
    ca: Ca,
    _srv: support::Running,
    rec: Recorder,
    lab: Lab,
    ca_file: String,
    port: u16,
}

async fn world(name: &str) -> World {
    let LabServer { ca, rec, srv, lab } = LabServer::start(MX_NAMES).await;
    let port = srv.addr().port();
    let ca_file = temp_dir(name).join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    World {
        ca,
        _srv: srv,
        rec,
        lab,
        ca_file: s(&ca_file),
        port,
    }
}

impl World {
    async fn send(&self, to: &str, extra: &[&str]) -> Ran {
        let (dns, anchor, port) = (
            self.lab.addr.to_string(),
            s(&self.lab.anchor),
            self.port.to_string(),
        );
        let mut args = vec![
            "--to",
            to,
            "--dns",
            &dns,
            "--trust-anchor",
            &anchor,
            "--port",
            &port,
            "--ca",
            &self.ca_file,
        ];
        args.extend_from_slice(extra);
        run(SEND, &args).await
    }
}

#[tokio::test]
async fn dane_decides_and_each_host_tried_is_told() {
    let w = world("send-mx-dane").await;
    let r = w.send("b@dane.test", &[]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.line("policy: dane").is_some(), "{r:?}");
    assert!(r.line("mx: mx1.dane.test").is_some(), "{r:?}");
    assert!(
        r.line("tls: TLSv1.3")
            .is_some_and(|l| l.ends_with(" verified")),
        "{r:?}"
    );
    assert_eq!(w.rec.messages().len(), 1);

    // A bogus host first and a mismatching one next: neither gets the message, the
    // third does, and each line says why.
    let r = w.send("b@fallback.dane.test", &["--json"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["policy"], "dane", "{v}");
    let hosts: Vec<&str> = v["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["host"].as_str().unwrap())
        .collect();
    assert_eq!(
        hosts,
        ["mxt.dane.test", "mx2.dane.test", "mx1.dane.test"],
        "{v}"
    );
    assert!(v["attempts"][0]["deferred"].is_string(), "{v}");
    assert_eq!(w.rec.messages().len(), 2);
}

#[tokio::test]
async fn bogus_records_defer_and_insecure_zones_get_the_default() {
    let w = world("send-mx-bogus").await;
    let r = w.send("b@bogus.test", &[]).await;
    assert_eq!(r.code, 75, "{r:?}");
    assert!(w.rec.messages().is_empty());

    let r = w.send("b@insecure.test", &[]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.line("policy: default").is_some(), "{r:?}");

    // A local rule wins over DANE, and `--tls` is the default.
    let r = w
        .send("b@dane.test", &["--policy", "dane.test=encrypt", "--json"])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["policy"], "local", "{v}");

    // Recipients of two domains at once are a usage error.
    let r = w.send("b@dane.test", &["--to", "c@insecure.test"]).await;
    assert_eq!(r.code, 2, "{r:?}");
}

#[path = "../../smtp-client/tests/support/policy_host.rs"]
mod policy_host;

#[tokio::test]
async fn mta_sts_decides_where_dane_does_not() {
    use policy_host::{PolicyHost, policy, response};
    let w = world("send-mx-sts").await;
    // The policy host's certificate, from the test CA the --ca file holds.
    let host_pki = w.ca.issue_for(&["mta-sts.sts.test"], Cert::Valid);
    let enforce = "version: STSv1\r\nmode: enforce\r\nmx: mx3.dane.test\r\nmax_age: 86400\r\n";
    let ph = PolicyHost::start(&host_pki, &[("mta-sts.sts.test", policy(enforce))]).await;
    let https = ph.addr().port().to_string();

    // enforce: mx3 is listed (and must present a certificate for its name), the
    // insecure zone's host is not and is skipped.
    let r = w
        .send("b@sts.test", &["--https-port", &https, "--json"])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["policy"], "mta-sts", "{v}");
    assert_eq!(v["attempts"][0]["host"], "mx3.dane.test", "{v}");
    assert_eq!(ph.requests("mta-sts.sts.test"), 1);

    // A policy that lists neither host: both skipped, the message stays queued.
    let other = "version: STSv1\r\nmode: enforce\r\nmx: *.example.test\r\nmax_age: 86400\r\n";
    ph.set("mta-sts.sts.test", policy(other));
    let r = w.send("b@sts.test", &["--https-port", &https]).await;
    assert_eq!(r.code, 75, "{r:?}");
    assert_eq!(r.stdout.matches("skipped").count(), 2, "{r:?}");

    // testing: delivered as usual, still filed under MTA-STS.
    let testing = "version: STSv1\r\nmode: testing\r\nmx: *.example.test\r\nmax_age: 86400\r\n";
    ph.set("mta-sts.sts.test", policy(testing));
    let r = w.send("b@sts.test", &["--https-port", &https]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.line("policy: mta-sts").is_some(), "{r:?}");

    // A redirect is not followed: no policy, the default decides, and it is said why.
    ph.set(
        "mta-sts.sts.test",
        response(
            "301 Moved Permanently",
            &[("Location", "https://elsewhere.test/")],
            b"",
        ),
    );
    let r = w.send("b@sts.test", &["--https-port", &https]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.line("policy: default").is_some(), "{r:?}");
    assert!(r.stderr.contains("MTA-STS for sts.test"), "{r:?}");
}

#[tokio::test]
async fn tls_required_no_sets_dane_aside_but_requiretls_keeps_it() {
    let w = world("send-mx-tls-required-no").await;
    let dir = temp_dir("send-mx-tls-required-no-msg");
    let msg = dir.join("msg.eml");
    std::fs::write(&msg, "TLS-Required: No\r\nSubject: t\r\n\r\nhello\r\n").unwrap();
    // fallback.dane.test: its first host's TLSA records are bogus. With the header
    // (RFC 8689 §5) DANE is not applied: the first host takes it under the default.
    let r = w
        .send("b@fallback.dane.test", &["--data", &s(&msg), "--json"])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["policy"], "default", "{v}");
    assert_eq!(v["attempts"][0]["host"], "mxt.dane.test", "{v}");
    // The header is ignored for a REQUIRETLS message (§4.1): DANE defers that host.
    let r = w
        .send(
            "b@fallback.dane.test",
            &["--data", &s(&msg), "--require-tls", "--json"],
        )
        .await;
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v["attempts"][0]["deferred"].is_string(), "{v}");
}

#[tokio::test]
async fn requiretls_refuses_an_mx_name_nothing_vouches_for() {
    let w = world("send-mx-requiretls-insecure").await;
    // insecure.test: its MX answer is not signed, so a certificate valid for the MX
    // name proves nothing about the domain (RFC 8689 §4.2.1): not even tried.
    let r = w
        .send(
            "b@insecure.test",
            &["--require-tls", "--tls", "verify", "--json"],
        )
        .await;
    assert_eq!(r.code, 3, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        v["attempts"][0]["result"]
            .as_str()
            .unwrap()
            .contains("REQUIRETLS: the identity of mx.insecure.test is not vouched for"),
        "{v}"
    );
    assert!(w.rec.messages().is_empty());
}
