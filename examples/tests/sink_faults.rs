//! smtp-sink's fault rules (`--fault`, `--cert-kind`) seen by real peers on 127.0.0.1:
//! Python's smtplib (and a raw Python socket where smtplib hides the wire), swaks and
//! `openssl s_client`.

mod common;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::*;
use serde_json::Value;
use support::postfix::need;
use support::temp_dir;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/scripts/smtplib_faults.py"
);

/// A sink with these rules, and the CA file to trust.
async fn with_rules(rules: &[&str]) -> (Sink, String) {
    let dir = temp_dir("sink-faults");
    let ca = s(&dir.join("ca.pem"));
    let mut args = vec!["--write-cert", &ca];
    for r in rules {
        args.extend(["--fault", r]);
    }
    (Sink::start(&args).await, ca)
}

/// The script's JSON for `mode` against `sink`.
async fn py(sink: &Sink, ca: &str, mode: &str, args: &[&str]) -> Value {
    let python = need("/usr/bin/python3", "python3");
    let port = sink.port().to_string();
    let mut all = vec![SCRIPT, mode, &port, ca];
    all.extend(args);
    let r = run(&python, &all).await;
    assert_eq!(r.code, 0, "{r:?}");
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {r:?}"))
}

#[tokio::test]
async fn smtplib_sees_a_refused_recipient_pattern() {
    let (sink, ca) = with_rules(&["rcpt:*@bounce.test=550 5.1.1 No such user"]).await;
    let v = py(&sink, &ca, "send", &["x@bounce.test", "y@example.test"]).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["refused"]["x@bounce.test"], 550, "{v}");
    let v = py(&sink, &ca, "send", &["x@bounce.test"]).await;
    assert_eq!(
        (v["error"].as_str(), v["code"].as_u64()),
        (Some("SMTPRecipientsRefused"), Some(550)),
        "{v}"
    );
}

#[tokio::test]
async fn smtplib_sees_data_refused_twice_then_accepted() {
    let (sink, ca) = with_rules(&["data:times=2=451 4.3.0 Try later"]).await;
    for _ in 0..2 {
        let v = py(&sink, &ca, "send", &["b@example.test"]).await;
        assert_eq!(v["code"], 451, "{v}");
    }
    let v = py(&sink, &ca, "send", &["b@example.test"]).await;
    assert_eq!(v["ok"], true, "{v}");
}

#[tokio::test]
async fn smtplib_sees_starttls_hidden_and_refused() {
    let (sink, ca) = with_rules(&["starttls=hide"]).await;
    let v = py(&sink, &ca, "send", &["b@example.test"]).await;
    assert_eq!(
        (v["ok"].as_bool(), v["tls"].as_bool()),
        (Some(true), Some(false)),
        "{v}"
    );
    assert!(
        !v["extensions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "starttls"),
        "{v}"
    );
    let (sink, ca) = with_rules(&["starttls=454 4.7.0 TLS not available"]).await;
    let v = py(&sink, &ca, "send", &["b@example.test"]).await;
    assert_eq!(
        (v["error"].as_str(), v["code"].as_u64()),
        (Some("SMTPResponseException"), Some(454)),
        "{v}"
    );
}

#[tokio::test]
async fn smtplib_refuses_every_bad_certificate() {
    for (kind, why) in [
        ("expired", "expired"),
        ("not-yet-valid", "not yet valid"),
        ("self-signed", "self-signed"),
        ("wrong-name", "mismatch"),
        ("weak", ""),
    ] {
        let dir = temp_dir("sink-cert");
        let ca = s(&dir.join("ca.pem"));
        let sink = Sink::start(&["--write-cert", &ca, "--cert-kind", kind]).await;
        let v = py(&sink, &ca, "send", &["b@example.test"]).await;
        assert_eq!(v["ok"], false, "{kind}: {v}");
        assert!(v["error"].as_str().unwrap().contains("SSL"), "{kind}: {v}");
        let msg = v["message"].as_str().unwrap_or_default().to_lowercase();
        assert!(msg.contains(why), "{kind}: {v}");
    }
}

#[tokio::test]
async fn openssl_s_client_refuses_the_expired_certificate() {
    let openssl = need("/usr/bin/openssl", "openssl");
    let dir = temp_dir("sink-openssl");
    let ca = s(&dir.join("ca.pem"));
    let sink = Sink::start(&["--write-cert", &ca, "--cert-kind", "expired"]).await;
    let target = format!("127.0.0.1:{}", sink.port());
    let r = run(
        &openssl,
        &[
            "s_client",
            "-connect",
            &target,
            "-starttls",
            "smtp",
            "-servername",
            "localhost",
            "-CAfile",
            &ca,
            "-verify_return_error",
            "-brief",
        ],
    )
    .await;
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("certificate has expired"), "{r:?}");
}

#[tokio::test]
async fn a_raw_socket_sees_injected_unsolicited_malformed_and_endless_replies() {
    let (sink, ca) = with_rules(&["starttls=inject=250 2.0.0 injected\\r\\n"]).await;
    let v = py(&sink, &ca, "raw", &["EHLO python.test", "STARTTLS"]).await;
    let after = v["replies"][2].as_str().unwrap();
    assert!(
        after.starts_with("220") && after.contains("\r\n250 2.0.0 injected\r\n"),
        "{v}"
    );

    let (sink, ca) = with_rules(&["greeting=unsolicited=250 2.0.0 nobody asked"]).await;
    let v = py(&sink, &ca, "raw", &[]).await;
    let greeting = v["replies"][0].as_str().unwrap();
    assert!(
        greeting.starts_with("220 ") && greeting.ends_with("250 2.0.0 nobody asked\r\n"),
        "{v}"
    );

    let (sink, ca) = with_rules(&["noop=malformed"]).await;
    let v = py(&sink, &ca, "raw", &["NOOP"]).await;
    assert_eq!(
        v["replies"][1],
        "250-This reply is malformed on purpose\r\n521 and its last line has another code\r\n",
        "{v}"
    );

    let (sink, ca) = with_rules(&["ehlo=endless"]).await;
    let v = py(&sink, &ca, "raw", &["EHLO python.test"]).await;
    let lines = v["replies"][1].as_str().unwrap().lines().count();
    assert!(lines > 1000, "{lines} lines");
}

#[tokio::test]
async fn smtplib_sees_closes_a_421_and_slow_replies() {
    for (rule, error) in [
        ("rcpt=close", "SMTPServerDisconnected"),
        ("eod=close", "SMTPServerDisconnected"),
        ("data=close-after=4", "SMTPServerDisconnected"),
        ("mail=421 4.4.2 Going down", "SMTPSenderRefused"),
    ] {
        let (sink, ca) = with_rules(&[rule]).await;
        let v = py(&sink, &ca, "send", &["b@example.test"]).await;
        assert_eq!(v["error"], error, "{rule}: {v}");
    }
    let (sink, ca) = with_rules(&["mail=delay=300ms", "rcpt=drip=2ms", "greeting=drip=1ms"]).await;
    let v = py(&sink, &ca, "send", &["b@example.test"]).await;
    assert_eq!(
        (v["ok"].as_bool(), v["tls"].as_bool()),
        (Some(true), Some(true)),
        "{v}"
    );
}

#[tokio::test]
async fn swaks_sees_a_refused_greeting_and_a_refused_auth() {
    let swaks = need("/usr/bin/swaks", "swaks");
    let (sink, _) = with_rules(&["greeting=554 5.3.2 Not accepting mail"]).await;
    let port = sink.port().to_string();
    let r = run(
        &swaks,
        &["-s", "127.0.0.1", "-p", &port, "-t", "b@example.test"],
    )
    .await;
    assert_ne!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("<** 554 5.3.2 Not accepting mail"),
        "{r:?}"
    );

    let dir = temp_dir("sink-auth-fault");
    let ca = s(&dir.join("ca.pem"));
    let sink = Sink::start(&[
        "--write-cert",
        &ca,
        "--auth",
        "u:p",
        "--fault",
        "auth=454 4.7.0 Try again later",
    ])
    .await;
    let port = sink.port().to_string();
    let r = run(
        &swaks,
        &[
            "-s",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "b@example.test",
            "--tls",
            "--tls-verify",
            "--tls-ca-path",
            &ca,
            "--tls-sni",
            "localhost",
            "--auth",
            "PLAIN",
            "--auth-user",
            "u",
            "--auth-password",
            "p",
        ],
    )
    .await;
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("<~* 454 4.7.0 Try again later"), "{r:?}");
}

#[tokio::test]
async fn a_bad_rule_is_a_usage_error() {
    let r = run(
        SINK,
        &["--listen", "127.0.0.1:0", "--fault", "nowhere=close"],
    )
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("--fault nowhere=close") && r.stderr.contains("unknown stage"),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_message_refused_by_a_rule_is_not_written_to_out() {
    let dir = temp_dir("sink-out-fault");
    let (ca, out) = (s(&dir.join("ca.pem")), dir.join("mail"));
    let out_arg = s(&out);
    for http in [false, true] {
        let mut args = vec![
            "--write-cert",
            &ca,
            "--out",
            &out_arg,
            "--fault",
            "eod:nth=1=554 5.7.1 Spam",
        ];
        if http {
            args.extend(["--http", "127.0.0.1:0"]);
        }
        let _ = std::fs::remove_dir_all(&out);
        let sink = Sink::start(&args).await;
        let v = py(&sink, &ca, "send", &["b@example.test"]).await;
        assert_eq!(v["code"], 554, "{v}");
        assert!(files(&out).is_empty(), "http {http}: {:?}", files(&out));
        let v = py(&sink, &ca, "send", &["b@example.test"]).await;
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(files(&out).len(), 1, "http {http}");
    }
}
