//! The `smtp-audit` program against our smtp-server on 127.0.0.1: a server with the
//! defaults passes (exit 0, text and `--json`), a lax one is found (exit 1, with the
//! transcript), no server is a temporary failure (75), bad arguments are usage (2).

mod common;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::run;
use smtp_proto::{LineEndings, Mechanism};
use support::{Ca, Cert, Recorder, Running, dead_port, options, serve};

const AUDIT: &str = env!("CARGO_BIN_EXE_smtp-audit");

async fn server(o: smtp_proto::ServerOptions) -> (Recorder, Running) {
    let rec = Recorder::default();
    let srv = serve(&rec, o, false, Some(Ca::new().issue(Cert::Valid).tls())).await;
    (rec, srv)
}

#[tokio::test]
async fn a_server_with_the_defaults_passes_in_text_and_json() {
    let (rec, srv) = server(options()).await;
    let target = srv.addr().to_string();
    let r = run(AUDIT, &[&target]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let first = r.stdout.lines().next().unwrap();
    assert_eq!(first, format!("audit of {target}: 220 mx.test ESMTP"));
    assert!(
        r.line("pass          smuggling <LF>.<LF>: refused: 550")
            .is_some(),
        "{r:?}"
    );
    assert!(
        r.line("pass          STARTTLS injection (CVE-2011-0411): refused")
            .is_some(),
        "{r:?}"
    );
    assert!(
        r.line("n/a           AUTH before TLS: no AUTH offered")
            .is_some(),
        "{r:?}"
    );
    assert!(
        r.line("pass          junk command limit: closed after 101 NOOPs")
            .is_some(),
        "{r:?}"
    );
    assert_eq!(
        r.stdout.lines().last(),
        Some("summary: 13 pass, 0 vulnerable, 1 not applicable, 0 inconclusive")
    );
    // No transcript for passing checks, unless asked for.
    assert!(!r.stdout.contains("\n    "), "{}", r.stdout);
    let v = run(AUDIT, &[&target, "--verbose", "--check", "bare-lf"]).await;
    assert_eq!(v.code, 0, "{v:?}");
    assert!(
        v.stdout
            .contains("\n    C~ NOOP\\n\n    C~ NOOP\\r\\n\n    S~ 500 "),
        "{}",
        v.stdout
    );

    let j = run(
        AUDIT,
        &[
            &target,
            "--json",
            "--check",
            "smuggling",
            "--check",
            "long-line",
        ],
    )
    .await;
    assert_eq!(j.code, 0, "{j:?}");
    let json: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(json["target"], target);
    assert_eq!(json["vulnerable"], false);
    assert_eq!(json["starttls"], true);
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 9, "{json}");
    assert!(results.iter().all(|r| r["status"] == "pass"), "{json}");
    assert_eq!(results[8]["check"], "long-line");
    assert!(results[0]["transcript"].as_array().unwrap().len() > 10);
    // The messages went from the default addresses; the smuggled one never on its own.
    let events = rec.events();
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("mail <a@example.test>")),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e == "rcpt <b@example.test>"),
        "{events:?}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn a_lax_server_is_found_and_the_options_are_used() {
    let mut o = options();
    o.command_line_endings = LineEndings::AllowBareLf;
    o.auth_mechanisms = vec![Mechanism::PLAIN];
    o.auth_without_tls = true;
    let (rec, srv) = server(o).await;
    let target = srv.addr().to_string();
    let args = [
        &target[..],
        "--check",
        "bare-lf",
        "--check",
        "auth-before-tls",
        "--check",
        "smuggling",
        "--helo",
        "audit.test",
        "--from",
        "<x@example.test>",
        "--to",
        "y@example.test",
        "--timeout",
        "20",
        "--no-starttls",
    ];
    let r = run(AUDIT, &args).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.line("VULNERABLE    bare LF in commands: ran one line as two commands: 250")
            .is_some(),
        "{r:?}"
    );
    assert!(
        r.line("VULNERABLE    AUTH before TLS: AUTH PLAIN offered before TLS")
            .is_some(),
        "{r:?}"
    );
    // The transcript that shows it, in plaintext (--no-starttls).
    assert!(r.stdout.contains("\n    C: NOOP\\n\n    C: NOOP\\r\\n\n    S: 250 2.0.0 Ok\\r\\n\n    C: QUIT\\r\\n\n    S: 250 2.0.0 Ok\\r\\n\n    S: 221 "), "{}", r.stdout);
    assert!(
        r.stdout
            .ends_with("summary: 8 pass, 2 vulnerable, 0 not applicable, 0 inconclusive\n"),
        "{}",
        r.stdout
    );
    let events = rec.events();
    assert!(
        events.iter().any(|e| e == "hello Ehlo audit.test plain"),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("mail <x@example.test>")),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e == "rcpt <y@example.test>"),
        "{events:?}"
    );
    assert!(!events.iter().any(|e| e.contains("TLS")), "{events:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn no_server_is_a_temporary_failure_and_bad_arguments_are_usage() {
    let target = format!("127.0.0.1:{}", dead_port().await);
    let r = run(AUDIT, &[&target, "--check", "bare-lf"]).await;
    assert_eq!(r.code, 75, "{r:?}");
    assert!(r.line("no session: cannot connect").is_some(), "{r:?}");
    assert!(
        r.line("inconclusive  bare-lf: cannot connect").is_some(),
        "{r:?}"
    );
    let j = run(AUDIT, &[&target, "--json"]).await;
    assert_eq!(j.code, 75, "{j:?}");
    let json: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .starts_with("cannot connect"),
        "{json}"
    );
    assert_eq!(json["summary"]["inconclusive"], 7);

    for bad in [
        &["127.0.0.1"][..],
        &["127.0.0.1:x"],
        &[&target, "--check", "everything"],
        &[&target, "--timeout", "0"],
        &[],
    ] {
        let r = run(AUDIT, bad).await;
        assert_eq!(r.code, 2, "{bad:?}: {r:?}");
        assert!(r.stdout.is_empty(), "{bad:?}: {r:?}");
    }
}
