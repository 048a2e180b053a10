//! Our client against our server's own RFC 9422 LIMITS (no LIMITS line added by hand):
//! the server advertises RCPTMAX, MAILMAX and RCPTDOMAINMAX from its options and the
//! client keeps to them, on 127.0.0.1.

mod kit;

use kit::{connect, many, messages};
use smtp_client::DeliveryStatus;
use smtp_server::testing::{TestServer, TestServerBuilder};

const MSG: &str = "Subject: limits\r\n\r\nhello\r\n";

async fn start(builder: TestServerBuilder) -> TestServer {
    builder.start().await.unwrap()
}

#[tokio::test]
async fn rcptmax_from_max_recipients_splits_250_recipients_into_three_transactions() {
    let server = start(TestServer::builder().max_recipients(100)).await;
    let mut c = connect(&server).await;
    let limits = c.server_limits().cloned().unwrap();
    assert_eq!(
        (limits.rcptmax, limits.mailmax, limits.rcptdomainmax),
        (Some(100), None, None)
    );
    let d = c.send(many(250, |_| "x.test".into()), MSG).await.unwrap();
    assert_eq!(d.status(), DeliveryStatus::Accepted, "{d}");
    assert_eq!(d.recipients.len(), 250);
    let sizes: Vec<usize> = messages(&server, 3)
        .await
        .iter()
        .map(|m| m.recipients.len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    // The client never went past RCPTMAX, so the server never said 452.
    assert!(
        d.recipients
            .iter()
            .all(|r| r.rcpt_reply.as_ref().unwrap().code().get() == 250)
    );
}

#[tokio::test]
async fn mailmax_from_max_transactions_stops_the_client_before_the_421() {
    let server = start(TestServer::builder().max_transactions(2)).await;
    let mut c = connect(&server).await;
    assert_eq!(c.server_limits().and_then(|l| l.mailmax), Some(2));
    assert_eq!(c.transactions_left(), Some(2));
    for _ in 0..2 {
        let d = c.send(many(1, |_| "x.test".into()), MSG).await.unwrap();
        assert_eq!(d.status(), DeliveryStatus::Accepted, "{d}");
    }
    assert_eq!(c.transactions_left(), Some(0));
    // The third message is not sent on this connection: nothing untried is lost.
    let e = c.send(many(1, |_| "x.test".into()), MSG).await.unwrap_err();
    assert!(matches!(e, smtp_client::Error::LimitReached { .. }), "{e}");
    assert!(e.is_transient());
    assert!(
        e.delivery()
            .unwrap()
            .recipients
            .iter()
            .all(|r| r.rcpt_reply.is_none())
    );
    assert_eq!(messages(&server, 2).await.len(), 2);
    // Another connection takes it.
    let mut other = connect(&server).await;
    other.send(many(1, |_| "x.test".into()), MSG).await.unwrap();
    assert_eq!(messages(&server, 3).await.len(), 3);
}

#[tokio::test]
async fn rcptdomainmax_from_max_recipient_domains_leaves_a_third_domain_untried() {
    let server = start(TestServer::builder().max_recipient_domains(2)).await;
    let mut c = connect(&server).await;
    assert_eq!(c.server_limits().and_then(|l| l.rcptdomainmax), Some(2));
    let d = c
        .send(many(3, |i| format!("d{i}.test")), MSG)
        .await
        .unwrap();
    assert_eq!(d.status(), DeliveryStatus::PartlyRefused, "{d}");
    let left: Vec<&str> = d.failed().map(|r| r.address.as_str()).collect();
    assert_eq!(left, ["r2@d2.test"]);
    // Untried, not refused: the server never answered a RCPT with 452.
    assert!(
        d.failed()
            .all(|r| r.is_transient() && r.rcpt_reply.is_none())
    );
    let got = messages(&server, 1).await;
    assert_eq!(got[0].recipients.len(), 2);
}
