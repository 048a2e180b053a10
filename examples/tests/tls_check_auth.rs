//! `smtp-tls-check` holds AUTH offered before TLS to be a problem (result and exit
//! status), as the README's security stance does: credentials could cross the network
//! in plaintext, whatever the server offers after STARTTLS.

mod common;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::*;
use smtp_server::proto::Mechanism;
use support::{Ca, Cert, Recorder, serve, temp_dir};

#[tokio::test]
async fn auth_before_tls_is_a_problem_even_when_tls_is_fine() {
    let dir = temp_dir("check-auth-plain");
    let ca = Ca::new();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let pki = ca.issue(Cert::Valid);
    let mut opts = support::options();
    opts.auth_mechanisms = vec![Mechanism::PLAIN];
    opts.auth_without_tls = true;
    let srv = serve(&Recorder::default(), opts, false, Some(pki.tls())).await;
    let t = support::target(&srv);

    let r = run(CHECK, &[&t, "--ca", &s(&ca_file)]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .contains("PROBLEM: AUTH offered before TLS (credentials could be sent in plaintext)"),
        "{r:?}"
    );
    assert!(r.stdout.contains("chain: verified"), "{r:?}");
    assert!(r.line("result: 1 problem(s)").is_some(), "{r:?}");

    let r = run(CHECK, &[&t, "--ca", &s(&ca_file), "--json"]).await;
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(
        v["problems"][0],
        "AUTH offered before TLS (credentials could be sent in plaintext)"
    );
}
