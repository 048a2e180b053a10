//! The key-exchange group on the server side: the default provider offers the
//! post-quantum hybrid X25519MLKEM768 first (aws-lc-rs) or X25519 (ring alone), a rustls
//! client gets it, `openssl s_client -starttls smtp` still interoperates (X25519 when
//! its OpenSSL has no ML-KEM), and every message's `Received:` header names the group.

mod support;

use std::path::Path;
use std::time::Duration;
use support::*;
use tokio::process::Command;

/// What the default provider offers first, and so what a client with the same
/// provider gets.
const DEFAULT_GROUP: &str = if cfg!(feature = "aws-lc-rs") {
    "X25519MLKEM768"
} else {
    "X25519"
};

#[test]
fn the_default_provider_offers_the_hybrid_first() {
    let groups: Vec<&str> = smtp_server::default_provider()
        .kx_groups
        .iter()
        .map(|g| g.name().as_str().unwrap_or("unknown"))
        .collect();
    if cfg!(feature = "aws-lc-rs") {
        assert_eq!(groups[..2], ["X25519MLKEM768", "X25519"], "{groups:?}");
    } else {
        assert_eq!(groups[0], "X25519", "{groups:?}");
        assert!(!groups.iter().any(|g| g.contains("MLKEM")), "{groups:?}");
    }
}

/// The `Received:` header's TLS comment with the group on its folded line.
fn assert_received_names(message: &[u8], group: &str) {
    let m = String::from_utf8_lossy(message);
    assert!(m.starts_with("Received: "), "{m}");
    assert!(
        m.contains(&format!(
            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384\r\n\t key-exchange {group})\r\n"
        )),
        "{m}"
    );
}

#[tokio::test]
async fn a_rustls_client_with_the_default_provider_gets_the_default_group() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello().await;
    let mut c = c.starttls(&pki, "localhost").await;
    c.cmd("EHLO client.test").await;
    let r = c
        .message("a@x.test", &["b@y.test"], "Subject: pq\r\n\r\nhello")
        .await;
    assert!(r.starts_with("250 "), "{r}");
    c.cmd("QUIT").await;
    srv.shutdown().await;
    let facts = rec.log.lock().unwrap().data_tls[0].clone().unwrap();
    assert_eq!(facts.key_exchange.as_deref(), Some(DEFAULT_GROUP));
    assert_eq!(facts.info.key_exchange(), Some(DEFAULT_GROUP));
    assert_received_names(&rec.messages()[0], DEFAULT_GROUP);
}

fn need(program: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let p = Path::new(dir).join(program);
        if p.exists() {
            return p.display().to_string();
        }
    }
    panic!("{program} is not installed: run `bash scripts/install-peers` (Debian packages)");
}

/// Whether this OpenSSL has ML-KEM (3.5 and later): then it offers X25519MLKEM768 too.
async fn openssl_has_ml_kem(openssl: &str) -> bool {
    let out = Command::new(openssl)
        .args(["list", "-kem-algorithms"])
        .output()
        .await
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains("ML-KEM-768")
}

/// The group `openssl s_client -brief` reports: `Negotiated TLS1.3 group: NAME` (OpenSSL
/// 3.2 and later, for any group) or `Server Temp Key: X25519, 253 bits`.
fn openssl_group(out: &str) -> Option<String> {
    out.lines().find_map(|l| {
        let l = l.trim();
        l.strip_prefix("Negotiated TLS1.3 group: ")
            .or_else(|| {
                l.strip_prefix("Server Temp Key: ")
                    .and_then(|k| k.split(',').next())
            })
            .map(str::to_owned)
    })
}

#[tokio::test]
async fn openssl_s_client_interoperates_and_the_group_is_recorded() {
    let openssl = need("openssl");
    let with_ml_kem = openssl_has_ml_kem(&openssl).await;
    let pki = Pki::localhost();
    let dir = temp_dir("s_client-pq");
    pki.write(&dir);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let mut child = Command::new(&openssl)
        .args(["s_client", "-connect", &srv.addr().to_string()])
        .args(["-starttls", "smtp", "-servername", "localhost"])
        .args(["-brief", "-quiet", "-tls1_3", "-verify_return_error"])
        .arg("-CAfile")
        .arg(dir.join("ca.pem"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use tokio::io::AsyncWriteExt;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(
            b"EHLO openssl.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n\
              Subject: from openssl\r\n\r\nhello\r\n.\r\nQUIT\r\n",
        )
        .await
        .unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("openssl did not finish within 60 s")
        .unwrap();
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    srv.shutdown().await;
    assert!(all.contains("Verification: OK"), "{all}");
    assert!(all.contains("221 2.0.0"), "{all}");
    // Our server offers the hybrid first; an OpenSSL without ML-KEM (3.0 to 3.4)
    // offers only classical groups, X25519 first, and that is what both agree on.
    let want = if with_ml_kem && cfg!(feature = "aws-lc-rs") {
        "X25519MLKEM768"
    } else {
        "X25519"
    };
    assert_eq!(openssl_group(&all).as_deref(), Some(want), "{all}");
    let facts = rec.log.lock().unwrap().data_tls[0].clone().unwrap();
    assert_eq!(facts.key_exchange.as_deref(), Some(want), "{facts:?}");
    assert_eq!(facts.info.key_exchange(), Some(want), "{facts:?}");
    assert_received_names(&rec.messages()[0], want);
}
