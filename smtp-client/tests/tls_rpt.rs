//! TLS reporting (RFC 8460): failed sessions against our server classified into the
//! §4.3 result types, and a day's aggregate report in the §4.4 JSON shape with
//! successes and every failure type.
#![cfg(feature = "tls-rpt")]

mod support;

use smtp_client::tlsrpt::{Failure, ReportMeta, ReportPolicy, ResultType, TlsRptLog};
use smtp_client::{Connection, Error, TlsPolicy, Tlsa};
use smtp_proto::client::sts::StsPolicy;
use support::*;

/// The error of a connection to a server presenting `kind` under `policy`.
async fn failure(kind: Cert, policy: TlsPolicy, starttls: bool) -> Error {
    let ca = Ca::new();
    let pki = ca.issue(kind);
    let rec = Recorder::default();
    let srv = serve(&rec, options(), false, starttls.then(|| pki.tls())).await;
    let Err(e) = Connection::connect(&target(&srv), client(&ca, policy)).await else {
        panic!("the policy refuses this server");
    };
    srv.shutdown().await;
    e
}

#[tokio::test]
async fn failed_sessions_get_the_result_type_of_rfc_8460() {
    let cases = [
        (
            Cert::Expired,
            TlsPolicy::Verify,
            true,
            ResultType::CertificateExpired,
        ),
        (
            Cert::WrongName,
            TlsPolicy::Verify,
            true,
            ResultType::CertificateHostMismatch,
        ),
        (
            Cert::SelfSigned,
            TlsPolicy::Verify,
            true,
            ResultType::CertificateNotTrusted,
        ),
        (
            Cert::Valid,
            TlsPolicy::Verify,
            false,
            ResultType::StartTlsNotSupported,
        ),
    ];
    for (kind, policy, starttls, want) in cases {
        let e = failure(kind, policy, starttls).await;
        assert_eq!(
            Failure::result_type_of(&e, false),
            Some(want),
            "{kind:?}: {e}"
        );
    }
    // Under DANE: a certificate no TLSA record matches, and a host without STARTTLS.
    let dane = TlsPolicy::Dane {
        records: vec![Tlsa {
            usage: 3,
            selector: 1,
            matching: 1,
            data: vec![0; 32],
        }],
    };
    let e = failure(Cert::Valid, dane.clone(), true).await;
    assert_eq!(
        Failure::result_type_of(&e, true),
        Some(ResultType::TlsaInvalid),
        "{e}"
    );
    let e = failure(Cert::Valid, dane, false).await;
    assert_eq!(
        Failure::result_type_of(&e, true),
        Some(ResultType::DaneRequired),
        "{e}"
    );
}

fn meta() -> ReportMeta {
    ReportMeta {
        organization_name: "Sender Org".into(),
        contact_info: "mailto:tlsrpt@sender.test".into(),
        report_id: "2026-12-06T00:00:00Z_dane.test".into(),
        start: 1_796_515_200,
        end: 1_796_601_599,
    }
}

#[test]
fn a_days_report_has_the_rfc_8460_shape() {
    let log = TlsRptLog::default();
    let sts = StsPolicy::parse(
        "version: STSv1\r\nmode: testing\r\nmx: *.dane.test\r\nmax_age: 86400\r\n",
    )
    .unwrap();
    let sts = ReportPolicy::sts("dane.test", &sts);
    let tlsa = ReportPolicy::tlsa(
        "dane.test",
        &[Tlsa {
            usage: 3,
            selector: 1,
            matching: 1,
            data: vec![0xab; 32],
        }],
    );
    let none = ReportPolicy::no_policy_found("dane.test");
    for _ in 0..5 {
        log.success(&sts);
    }
    log.success(&tlsa);
    for (i, t) in ResultType::ALL.into_iter().enumerate() {
        let policy = match t {
            ResultType::TlsaInvalid | ResultType::DnssecInvalid | ResultType::DaneRequired => &tlsa,
            ResultType::StartTlsNotSupported => &none,
            _ => &sts,
        };
        let f = Failure::new(t)
            .mx("MX1.dane.test.")
            .receiving_ip("127.0.0.1".parse().unwrap());
        for _ in 0..=i {
            log.failure(policy, f.clone());
        }
    }
    // Another domain stays out of this one's report.
    log.success(&ReportPolicy::no_policy_found("other.test"));
    assert_eq!(log.domains(), ["dane.test", "other.test"]);
    assert!(log.report("nothing.test", &meta()).is_none());

    let json = log.report("DANE.test", &meta()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["organization-name"], "Sender Org");
    assert_eq!(v["contact-info"], "mailto:tlsrpt@sender.test");
    assert_eq!(v["report-id"], "2026-12-06T00:00:00Z_dane.test");
    assert_eq!(v["date-range"]["start-datetime"], "2026-12-06T00:00:00Z");
    assert_eq!(v["date-range"]["end-datetime"], "2026-12-06T23:59:59Z");
    let policies = v["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 3);
    let by_type = |t: &str| {
        policies
            .iter()
            .find(|p| p["policy"]["policy-type"] == t)
            .unwrap_or_else(|| panic!("{t}: {json}"))
    };
    let s = by_type("sts");
    assert_eq!(s["policy"]["policy-domain"], "dane.test");
    assert_eq!(
        s["policy"]["policy-string"],
        serde_json::json!([
            "version: STSv1",
            "mode: testing",
            "mx: *.dane.test",
            "max_age: 86400"
        ])
    );
    assert_eq!(s["policy"]["mx-host"], serde_json::json!(["*.dane.test"]));
    assert_eq!(s["summary"]["total-successful-session-count"], 5);
    let t = by_type("tlsa");
    assert_eq!(
        t["policy"]["policy-string"][0],
        format!("3 1 1 {}", "ab".repeat(32))
    );
    assert!(t["policy"].get("mx-host").is_none());
    let n = by_type("no-policy-found");
    assert!(n["policy"].get("policy-string").is_none());
    assert_eq!(n["summary"]["total-successful-session-count"], 0);
    // Every result type once, with its count, host and address; totals add up.
    let mut seen = Vec::new();
    for p in policies {
        let details = p["failure-details"].as_array().cloned().unwrap_or_default();
        let sum: u64 = details
            .iter()
            .map(|d| d["failed-session-count"].as_u64().unwrap())
            .sum();
        assert_eq!(p["summary"]["total-failure-session-count"], sum);
        for d in details {
            assert_eq!(d["receiving-mx-hostname"], "mx1.dane.test");
            assert_eq!(d["receiving-ip"], "127.0.0.1");
            seen.push((
                d["result-type"].as_str().unwrap().to_owned(),
                d["failed-session-count"].as_u64().unwrap(),
            ));
        }
    }
    seen.sort();
    let mut want: Vec<(String, u64)> = ResultType::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str().to_owned(), i as u64 + 1))
        .collect();
    want.sort();
    assert_eq!(seen, want);
    log.clear();
    assert!(log.domains().is_empty());
}
