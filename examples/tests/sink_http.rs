//! smtp-sink's HTTP API (`--http`): exercised with curl, and by a harness written for
//! Mailpit's API (Python's urllib making the requests Mailpit's client libraries make).

mod common;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::*;
use serde_json::Value;
use support::postfix::need;
use support::temp_dir;

const MAILPIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/scripts/mailpit_client.py"
);

async fn start() -> (Sink, String, String) {
    let dir = temp_dir("sink-http");
    let ca = s(&dir.join("ca.pem"));
    let sink = Sink::start(&["--write-cert", &ca, "--http", "127.0.0.1:0"]).await;
    let base = format!("http://{}", sink.http.expect("an `http on` line"));
    (sink, ca, base)
}

/// swaks over verified STARTTLS: 0 when accepted.
async fn swaks(sink: &Sink, ca: &str, to: &str, subject: &str, body: &str) -> Ran {
    let swaks = need("/usr/bin/swaks", "swaks");
    let port = sink.port().to_string();
    let header = format!("Subject: {subject}");
    run(
        &swaks,
        &[
            "-s",
            "127.0.0.1",
            "-p",
            &port,
            "-f",
            "sender@example.test",
            "-t",
            to,
            "--tls",
            "--tls-verify",
            "--tls-ca-path",
            ca,
            "--tls-sni",
            "localhost",
            "--header",
            &header,
            "--body",
            body,
        ],
    )
    .await
}

/// curl: the status and the body.
async fn curl(args: &[&str]) -> (u16, String) {
    let curl = need("/usr/bin/curl", "curl");
    let mut all = vec!["-s", "-w", "\n%{http_code}"];
    all.extend(args);
    let r = run(&curl, &all).await;
    assert_eq!(r.code, 0, "{r:?}");
    let (body, code) = r.stdout.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_owned())
}

async fn json(args: &[&str]) -> Value {
    let (code, body) = curl(args).await;
    assert!((200..300).contains(&code), "{code} {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn curl_lists_fetches_waits_for_and_deletes_messages() {
    let (sink, ca, base) = start().await;
    assert_eq!(
        swaks(&sink, &ca, "bob@example.test", "one", "first body")
            .await
            .code,
        0
    );
    let list = json(&[&format!("{base}/api/messages")]).await;
    assert_eq!(list["count"], 1, "{list}");
    let m = &list["messages"][0];
    assert_eq!(
        (m["from"].as_str(), m["to"][0].as_str()),
        (Some("sender@example.test"), Some("bob@example.test")),
        "{m}"
    );
    assert_eq!(m["tls"]["version"], "TLSv1.3", "{m}");
    assert_eq!(m["subject"], "one", "{m}");
    let id = m["id"].as_str().unwrap().to_owned();

    let one = json(&[&format!("{base}/api/messages/{id}")]).await;
    assert!(
        one["text"].as_str().unwrap().contains("first body"),
        "{one}"
    );
    let transcript: Vec<&str> = one["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    assert!(transcript.contains(&"C: STARTTLS"), "{one}");
    let (code, raw) = curl(&[&format!("{base}/api/messages/{id}/raw")]).await;
    assert_eq!(code, 200);
    assert!(raw.contains("Subject: one\r\n"), "{raw}");

    // A long poll answers when the message it waits for arrives.
    let wait_url = format!("{base}/api/wait?count=1&to=carol@example.test&timeout=30");
    let waiting = tokio::spawn(async move { json(&[&wait_url]).await });
    assert_eq!(
        swaks(&sink, &ca, "carol@example.test", "two", "second body")
            .await
            .code,
        0
    );
    let waited = waiting.await.unwrap();
    assert_eq!(
        waited["messages"][0]["to"][0], "carol@example.test",
        "{waited}"
    );
    let (code, _) = curl(&[&format!("{base}/api/wait?count=5&timeout=0.2")]).await;
    assert_eq!(code, 408);
    for bad in ["nan", "inf", "-1", "soon"] {
        let (code, _) = curl(&[&format!("{base}/api/wait?timeout={bad}")]).await;
        assert_eq!(code, 400, "{bad}");
    }
    // Mailpit's delete by IDs, the key in any case; a wrong shape deletes nothing.
    let url = format!("{base}/api/v1/messages");
    let (code, _) = curl(&["-X", "DELETE", "--data-binary", r#"{"ids": "all"}"#, &url]).await;
    assert_eq!(code, 400);
    assert_eq!(json(&[&format!("{base}/api/messages")]).await["count"], 2);
    let one = format!(r#"{{"ids": ["{id}"]}}"#);
    let (code, _) = curl(&["-X", "DELETE", "--data-binary", &one, &url]).await;
    assert_eq!(code, 200);
    assert_eq!(json(&[&format!("{base}/api/messages")]).await["count"], 1);

    let (code, _) = curl(&[&format!("{base}/api/messages/{id}")]).await;
    assert_eq!(code, 404);
    let (code, _) = curl(&["-X", "DELETE", &format!("{base}/api/messages/latest")]).await;
    assert_eq!(code, 204);
    let (code, _) = curl(&["-X", "DELETE", &format!("{base}/api/messages")]).await;
    assert_eq!(code, 204);
    assert_eq!(json(&[&format!("{base}/api/messages")]).await["count"], 0);
    let sessions = json(&[&format!("{base}/api/sessions")]).await;
    assert_eq!(
        sessions["count"], 0,
        "cleared with the messages: {sessions}"
    );
}

#[tokio::test]
async fn curl_adds_and_clears_fault_rules_while_the_sink_runs() {
    let (sink, ca, base) = start().await;
    let url = format!("{base}/api/faults");
    let rules = json(&[
        "-X",
        "POST",
        "--data-binary",
        "rcpt:*@bounce.test=550 5.1.1 No such user\nmail:nth=2=451 4.3.0 Later",
        &url,
    ])
    .await;
    assert_eq!(rules["rules"].as_array().unwrap().len(), 2, "{rules}");
    let r = swaks(&sink, &ca, "x@bounce.test", "s", "b").await;
    assert_ne!(r.code, 0);
    assert!(r.stdout.contains("550 5.1.1 No such user"), "{r:?}");
    let (code, body) = curl(&["-X", "POST", "--data-binary", "nowhere=close", &url]).await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("unknown stage"), "{body}");
    assert_eq!(
        json(&["-X", "DELETE", &url]).await["rules"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(swaks(&sink, &ca, "x@bounce.test", "s", "b").await.code, 0);
    let sessions = json(&[&format!("{base}/api/sessions")]).await;
    let all = sessions["sessions"].as_array().unwrap();
    assert!(
        all.iter().any(|s| s["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("fault at rcpt"))),
        "{sessions}"
    );
}

#[tokio::test]
async fn a_harness_written_for_mailpit_works_unchanged() {
    let (sink, ca, base) = start().await;
    assert_eq!(
        swaks(&sink, &ca, "bob@example.test", "first", "body one")
            .await
            .code,
        0
    );
    assert_eq!(
        swaks(&sink, &ca, "bob@example.test", "second", "body two")
            .await
            .code,
        0
    );
    let python = need("/usr/bin/python3", "python3");
    let r = run(&python, &[MAILPIT, &base]).await;
    assert_eq!((r.code, r.stdout.trim()), (0, "ok"), "{r:?}");
}
