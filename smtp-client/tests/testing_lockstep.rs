//! The test server's fault engine keeps the session's defences and the client's view
//! in step, whatever the client sends: found by review, each pinned here with a raw
//! client (`smtp_client::testing::TestClient`).
#![cfg(feature = "testing")]

use smtp_client::testing::{ServerReply, TestClient};
use smtp_client::{Connection, Envelope, TlsPolicy, TrustAnchors};
use smtp_server::testing::TestServer;
use std::time::Duration;

async fn raw(server: &TestServer) -> TestClient {
    let mut c = TestClient::connect(server.addr()).await.unwrap();
    assert_eq!(c.read_reply().await.unwrap().code(), Some(220));
    assert_eq!(c.command("EHLO raw.test").await.unwrap().code(), Some(250));
    c
}

/// The codes of the next `n` replies.
async fn codes(c: &mut TestClient, n: usize) -> Vec<u16> {
    let mut v = Vec::new();
    for _ in 0..n {
        let r: ServerReply = c.read_reply().await.unwrap();
        v.push(r.code().unwrap_or(0));
    }
    v
}

async fn server(rules: &[&str]) -> TestServer {
    let mut b = TestServer::builder().chunking(true);
    for r in rules {
        b = b.fault(r).unwrap();
    }
    b.start().await.unwrap()
}

#[tokio::test]
async fn a_bdat_hidden_in_a_bare_lf_line_does_not_smuggle_plaintext_past_starttls() {
    let server = server(&["noop=250 2.0.0 fine"]).await;
    let mut c = raw(&server).await;
    // One line for the session (only CRLF ends one): a 500, and the BDAT in it is no
    // command; STARTTLS then arrives with plaintext behind it.
    c.send(b"NOOP\nBDAT 10\r\nSTARTTLS\r\nMAIL FROM:<evil@x.test>\r\n")
        .await
        .unwrap();
    let replies = codes(&mut c, 2).await;
    assert_eq!(replies[0], 500, "{replies:?}");
    assert_ne!(replies[1], 220, "{replies:?}");
    assert_eq!(server.stats().plaintext_injections, 1);
}

#[tokio::test]
async fn a_refused_chunk_fails_the_rest_of_the_transaction() {
    let server = server(&["bdat:nth=2=554 5.6.0 Refused"]).await;
    let mut c = raw(&server).await;
    c.send(
        b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nBDAT 5\r\nAAAAABDAT 5\r\nBBBBB\
          BDAT 5 LAST\r\nCCCCC",
    )
    .await
    .unwrap();
    assert_eq!(codes(&mut c, 5).await, [250, 250, 250, 554, 554]);
    assert_eq!(c.command("RSET").await.unwrap().code(), Some(250));
    assert_eq!(c.command("QUIT").await.unwrap().code(), Some(221));
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn commands_after_a_final_dot_split_across_writes_still_meet_the_rules() {
    let server = server(&["rcpt:*@bounce.test=550 5.1.1 No such user"]).await;
    let mut c = raw(&server).await;
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n")
        .await
        .unwrap();
    assert_eq!(codes(&mut c, 3).await, [250, 250, 354]);
    c.send(b"Subject: t\r\n\r\nhello\r\n.").await.unwrap();
    // However the two writes are read, the RCPT after the dot meets its rule.
    c.send(b"\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<c@bounce.test>\r\n")
        .await
        .unwrap();
    assert_eq!(codes(&mut c, 3).await, [250, 250, 550]);
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn a_rule_counts_only_the_decisions_the_session_asks_for() {
    let server = server(&["rcpt:nth=1=550 5.1.1 No such user"]).await;
    let mut c = raw(&server).await;
    // RCPT before MAIL: the session refuses it itself; the rule does not count it.
    assert_eq!(
        c.command("RCPT TO:<b@x.test>").await.unwrap().code(),
        Some(503)
    );
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\n")
        .await
        .unwrap();
    assert_eq!(codes(&mut c, 3).await, [250, 550, 250]);
}

#[tokio::test]
async fn a_positive_ehlo_rule_replaces_the_list() {
    let server = server(&["ehlo=250 custom.test\\nPIPELINING"]).await;
    let mut c = TestClient::connect(server.addr()).await.unwrap();
    c.read_reply().await.unwrap();
    let r = c.command("EHLO raw.test").await.unwrap();
    assert_eq!(r.texts(), ["custom.test", "PIPELINING"]);
    // The session goes on as after its own list.
    assert_eq!(
        c.command("MAIL FROM:<a@x.test>").await.unwrap().code(),
        Some(250)
    );
}

fn opts(server: &TestServer) -> smtp_client::ClientOptions {
    let trust = TrustAnchors::empty()
        .add_pem(server.ca_pem().as_bytes())
        .unwrap();
    smtp_client::ClientOptions::new("client.test", TlsPolicy::Verify).with_trust(trust)
}

#[tokio::test]
async fn close_after_is_for_its_message_only() {
    let server = server(&["data:times=1=close-after=1000"]).await;
    let target = format!("localhost:{}", server.addr().port());
    let mut c = Connection::connect(&target, opts(&server)).await.unwrap();
    for _ in 0..2 {
        let env = Envelope::new("a@x.test", ["b@x.test"]).unwrap();
        c.send(env, "Subject: short\r\n\r\nhi\r\n").await.unwrap();
    }
    let msgs = server
        .wait_for(|m| m.len() == 2, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(msgs.len(), 2);
}

#[tokio::test]
async fn lmtp_keeps_no_message_its_only_recipient_was_refused() {
    let server = TestServer::builder()
        .lmtp(true)
        .fault("rcpt:*@bounce.test=550 5.1.1 No such user")
        .unwrap()
        .fault("eod=554 5.6.0 Refused")
        .unwrap()
        .start()
        .await
        .unwrap();
    let mut o = opts(&server);
    o.lmtp = true;
    let target = format!("localhost:{}", server.addr().port());
    let mut c = Connection::connect(&target, o).await.unwrap();
    let env = Envelope::new("a@x.test", ["b@x.test", "x@bounce.test"]).unwrap();
    assert!(c.send(env, "Subject: t\r\n\r\nhi\r\n").await.is_err());
    c.quit().await.unwrap();
    server
        .wait_for_sessions(|s| s.len() == 1, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(server.messages().is_empty());
}
