//! The programs show the key-exchange group: smtp-send and smtp-tls-check against
//! smtp-sink agree on the post-quantum hybrid X25519MLKEM768 (the bindings' default
//! `aws-lc-rs` feature), smtp-tls-check prints it in its `TLS:` line and its JSON, and
//! the stored message's `Received:` header names it.

mod common;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::*;
use support::temp_dir;

#[tokio::test]
async fn the_programs_agree_on_x25519mlkem768_and_say_so() {
    let dir = temp_dir("pq-programs");
    let ca = dir.join("ca.pem");
    let mail = dir.join("mail");
    let sink = Sink::start(&["--write-cert", &s(&ca), "--out", &s(&mail)]).await;
    let t = sink.target();

    let r = run(CHECK, &[&t, "--servername", "localhost", "--ca", &s(&ca)]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.line("TLS: "),
        Some("TLS: TLSv1.3 TLS_AES_256_GCM_SHA384 X25519MLKEM768"),
        "{r:?}"
    );
    let r = run(
        CHECK,
        &[&t, "--servername", "localhost", "--ca", &s(&ca), "--json"],
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["session"]["tls"]["key_exchange"], "X25519MLKEM768", "{v}");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .contains(&"TLS: TLSv1.3 TLS_AES_256_GCM_SHA384 X25519MLKEM768".into()),
        "{v}"
    );

    let r = send_b(&t, &["--ca", &s(&ca)]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.line("tls: "),
        Some("tls: TLSv1.3 TLS_AES_256_GCM_SHA384 X25519MLKEM768 verified"),
        "{r:?}"
    );
    let stored = files(&mail);
    let m = std::fs::read_to_string(&stored[0]).unwrap();
    assert!(
        m.contains(
            "\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384\r\n\
             \t key-exchange X25519MLKEM768)\r\n"
        ),
        "{m}"
    );
    assert!(sink.stop().await.success());
}
