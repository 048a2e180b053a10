//! What smtp-send reports per recipient and per session: addresses as they were given
//! (plain or `<path>`), a wholly refused message with the session it happened in, and
//! the `--policy` rule that chose the TLS policy.

mod common;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::*;
use support::{Ca, Cert, Recorder, builder, options, start, temp_dir};

/// Our server (it refuses recipients starting with `reject`) and its CA file.
async fn server(name: &str) -> (support::Running, std::path::PathBuf) {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let ca_file = temp_dir(name).join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let srv = start(builder(&Recorder::default(), &pki, options())).await;
    (srv, ca_file)
}

fn json(r: &Ran) -> serde_json::Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"))
}

#[tokio::test]
async fn recipients_are_named_as_given_and_a_refused_message_keeps_its_session() {
    let (srv, ca) = server("send-results").await;
    let target = format!("localhost:{}", srv.addr().port());
    let args = |extra: &[&'static str]| {
        let mut v = vec!["--server", &target, "--ca", ca.to_str().unwrap(), "--json"];
        v.extend_from_slice(extra);
        v.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run_with = |a: Vec<String>| async move {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        run(SEND, &a).await
    };
    // Partly refused: exit 1, each recipient as written.
    let r = run_with(args(&[
        "--from",
        "<a@example.test>",
        "--to",
        "b@example.test",
        "--to",
        "<reject@example.test>",
    ]))
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    let v = json(&r);
    let d = &v["delivery"];
    assert_eq!(d["status"], "PartlyRefused", "{v}");
    assert_eq!(d["recipients"][0]["address"], "b@example.test");
    assert_eq!(d["recipients"][1]["address"], "<reject@example.test>");
    assert_eq!(d["recipients"][1]["path"], "<reject@example.test>");
    assert_eq!(d["recipients"][1]["transient"], false);
    // Wholly refused: the same per-recipient view, and the session it happened in.
    let r = run_with(args(&["--to", "reject@example.test"])).await;
    assert_eq!(r.code, 1, "{r:?}");
    let v = json(&r);
    assert_eq!(v["delivery"]["status"], "Refused", "{v}");
    assert_eq!(
        v["delivery"]["recipients"][0]["address"],
        "reject@example.test"
    );
    assert_eq!(v["session"]["tls"]["verified"], true, "{v}");
    assert!(v["error"].as_str().unwrap().contains("550"), "{v}");
    // A quoted local part stays one local part; a path cut short is a usage error.
    let r = run_with(args(&["--to", "\"a> ORCPT=x\"@example.test"])).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        json(&r)["delivery"]["recipients"][0]["path"],
        "<\"a> ORCPT=x\"@example.test>"
    );
    let r = run_with(args(&["--to", "<b@example.test"])).await;
    assert_eq!(r.code, 2, "{r:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn the_policy_rule_for_the_destination_is_reported() {
    let (srv, ca) = server("send-policy").await;
    let target = format!("localhost:{}", srv.addr().port());
    let ca = s(&ca);
    // `.example.test` matches subdomains only: mail for example.test itself falls back
    // to --tls none.
    let base = [
        "--ca",
        ca.as_str(),
        "--tls",
        "none",
        "--policy",
        ".example.test=verify",
    ];
    let r = send_b(&target, &base).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.line("policy: "),
        Some("policy: none for example.test (no rule: --tls)"),
        "{r:?}"
    );
    assert_eq!(r.line("tls: "), Some("tls: none"));
    // A subdomain matches; --json names the rule.
    let mut sub = base.to_vec();
    sub.extend(["--destination", "mx.example.test"]);
    let r = send_b(&target, &sub).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.line("policy: "),
        Some("policy: verify for mx.example.test (rule .example.test)"),
        "{r:?}"
    );
    assert!(r.line("tls: ").unwrap().ends_with(" verified"), "{r:?}");
    sub.push("--json");
    let v = json(&send_b(&target, &sub).await);
    assert_eq!(v["session"]["policy_rule"], ".example.test", "{v}");
    assert_eq!(v["session"]["destination"], "mx.example.test", "{v}");
    // A malformed rule is a usage error.
    let r = send_b(&target, &["--policy", "example.test"]).await;
    assert_eq!(r.code, 2, "{r:?}");
    srv.shutdown().await;
}
