//! TLS reporting from real MX deliveries (RFC 8460 with RFC 7672 and RFC 8461): each
//! host tried is filed under the policy that decided for it, DANE deferrals and TLSA
//! mismatches and MTA-STS skips included.
#![cfg(all(feature = "dane", feature = "tls-rpt"))]

mod support;

use smtp_client::dns::MxDelivery;
use smtp_client::proto::client::sts::{Mode, MxPattern, StsPolicy};
use smtp_client::tlsrpt::{ReportMeta, TlsRptLog};
use smtp_client::{Envelope, TlsPolicy};
use support::lab::{Lab, LabSpec, spki_sha256};
use support::*;

const NAMES: &[&str] = &[
    "mx1.dane.test",
    "mx2.dane.test",
    "mxt.dane.test",
    "mx.insecure.test",
];

#[tokio::test]
async fn each_host_tried_is_reported_under_its_policy() {
    let ca = Ca::new();
    let pki = ca.issue_for(NAMES, Cert::Valid);
    let lab_spec = LabSpec {
        smtp_port: 0,
        ee_spki_sha256: spki_sha256(&pki.cert_pem),
        ta_spki_sha256: spki_sha256(&ca.pem),
    };
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let lab = Lab::start(&LabSpec {
        smtp_port: srv.addr().port(),
        ..lab_spec
    });
    let resolver = lab.resolver();
    let env = Envelope::new("a@sender.test", ["b@fallback.dane.test"]).unwrap();
    let log = TlsRptLog::default();

    // MX: mxt (bogus TLSA: deferred), mx2 (TLSA mismatch), mx1 (match: delivered).
    let sent = MxDelivery::new("fallback.dane.test", client(&ca, TlsPolicy::May))
        .resolver(&resolver)
        .port(srv.addr().port())
        .send(&env, "Subject: r\r\n\r\nhi\r\n")
        .await
        .unwrap();
    log.record(
        "fallback.dane.test",
        None,
        &sent.attempts,
        b"Subject: r\r\n\r\nhi\r\n",
    );
    // The delivery of a report is not itself reported (RFC 8460 §3).
    let report = b"TLS-Report-Domain: fallback.dane.test\r\nTLS-Report-Submitter: s\r\n\r\n{}";
    log.record("fallback.dane.test", None, &sent.attempts, report);

    // An insecure zone under an enforced MTA-STS policy that does not list its host.
    let sts = StsPolicy::new(
        Mode::Enforce,
        86_400,
        vec![MxPattern::parse("*.example.test").unwrap()],
    )
    .unwrap();
    let env2 = Envelope::new("a@sender.test", ["b@insecure.test"]).unwrap();
    let refused = MxDelivery::new("insecure.test", client(&ca, TlsPolicy::May))
        .resolver(&resolver)
        .port(srv.addr().port())
        .mta_sts(sts.clone())
        .send(&env2, "Subject: r\r\n\r\nhi\r\n")
        .await
        .unwrap_err();
    log.record(
        "insecure.test",
        Some(&sts),
        &refused.attempts,
        b"Subject: r\r\n\r\nhi\r\n",
    );
    srv.shutdown().await;

    let meta = ReportMeta {
        organization_name: "Sender".into(),
        contact_info: "mailto:tlsrpt@sender.test".into(),
        report_id: "r1".into(),
        start: 1_796_515_200,
        end: 1_796_601_599,
    };
    let json = log.report("fallback.dane.test", &meta).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let policies = v["policies"].as_array().unwrap();
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut successes = 0;
    for p in policies {
        assert_eq!(p["policy"]["policy-type"], "tlsa", "{json}");
        successes += p["summary"]["total-successful-session-count"]
            .as_u64()
            .unwrap();
        for d in p["failure-details"].as_array().cloned().unwrap_or_default() {
            failures.push((
                d["result-type"].as_str().unwrap().to_owned(),
                d["receiving-mx-hostname"].as_str().unwrap().to_owned(),
            ));
        }
    }
    failures.sort();
    assert_eq!(
        failures,
        [
            ("dnssec-invalid".to_owned(), "mxt.dane.test".to_owned()),
            ("tlsa-invalid".to_owned(), "mx2.dane.test".to_owned()),
        ],
        "{json}"
    );
    assert_eq!(successes, 1, "{json}");

    let json = log.report("insecure.test", &meta).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let p = &v["policies"][0];
    assert_eq!(p["policy"]["policy-type"], "sts", "{json}");
    assert_eq!(p["policy"]["mx-host"][0], "*.example.test", "{json}");
    assert_eq!(
        p["failure-details"][0]["result-type"], "validation-failure",
        "{json}"
    );
    assert_eq!(
        p["failure-details"][0]["receiving-mx-hostname"],
        "mx.insecure.test"
    );
}
